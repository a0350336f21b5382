"""Run steps' checks in worker processes, one step at a time per worker, results in the steps' order.

Steps hold lambdas and closures (``Instances.build``, ``Computation.run``), which do not pickle, so a worker never
receives a step: it receives ``(index, section, step id)`` and finds the step in its own copy of the derivations.
Where processes are forked (POSIX) that copy is inherited from the parent, already built; elsewhere (spawn) the
worker rebuilds each section it is asked for with the section's builder and the seed, and checks that the step at
that index has the same id.  A worker that dies (FLINT aborts the process when memory runs out) fails the step it
was running, with the exit code, and the others go on.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait

from symrnn.core.derivation import Derivation
from symrnn.core.verify import Result, failed_result, verify_step

Builder = Callable[[int], Derivation]


@dataclass(frozen=True)
class Task:
    """A step to verify, named so that a worker can find it."""

    index: int  # position in the derivation's steps
    section: str
    step_id: str


def start_method() -> str:
    """``fork`` where available (workers inherit the built derivations), else ``spawn``."""
    return "fork" if "fork" in mp.get_all_start_methods() else "spawn"


def _find(task: Task, ders: dict[str, Derivation], builders: Mapping[str, Builder], seed: int):
    if task.section not in ders:
        ders[task.section] = builders[task.section](seed)
    step = ders[task.section].steps[task.index]
    if step.id != task.step_id:
        raise RuntimeError(f"rebuilt section {task.section} has step {step.id} at {task.index}, not {task.step_id}")
    return step


def _serve(conn, known: dict[str, Derivation], builders: Mapping[str, Builder], seed: int) -> None:
    """A worker's loop: receive a task, verify its step, send the result back; stop at ``None``."""
    ders = dict(known)
    while (task := conn.recv()) is not None:
        try:
            result = verify_step(_find(task, ders, builders, seed), task.section, seed)
        except Exception as exc:  # noqa: BLE001 - a step that cannot be found is a failed check, not a crash
            result = failed_result(task.section, task.step_id, f"worker could not run it: {exc}")
        conn.send(result)


class _Pool:
    """Worker processes, each with its own pipe: the parent always knows which task each one is running."""

    def __init__(self, ctx, jobs: int, known: dict, builders: dict, seed: int):
        self.conns, self.workers = [], []
        for i in range(jobs):
            parent, child = ctx.Pipe()
            w = ctx.Process(target=_serve, args=(child, known, builders, seed), daemon=True, name=f"symrnn-worker-{i}")
            w.start()
            child.close()
            self.conns.append(parent)
            self.workers.append(w)

    def close(self) -> None:
        for conn, w in zip(self.conns, self.workers):
            try:
                conn.send(None)
            except OSError:  # already gone
                pass
            w.join(timeout=5)
            if w.is_alive():
                w.terminate()
                w.join()
            conn.close()


def _drive(pool: _Pool, tasks: Sequence[Task], order: Sequence[int], on_start, on_result) -> None:
    pending = list(order)[::-1]
    running: dict[int, int] = {}  # worker -> task number

    def dispatch(i: int) -> None:
        if pending:
            running[i] = pending.pop()
            pool.conns[i].send(tasks[running[i]])
            on_start(running[i])

    for i in range(len(pool.workers)):
        dispatch(i)
    while running:
        wait([pool.conns[i] for i in running] + [pool.workers[i].sentinel for i in running], timeout=1.0)
        for i in list(running):
            try:
                result = pool.conns[i].recv() if pool.conns[i].poll() else None
            except (EOFError, OSError):
                result = None
            if result is not None:
                on_result(running.pop(i), result)
                dispatch(i)
            elif not pool.workers[i].is_alive():
                task = tasks[running[i]]
                on_result(running.pop(i), failed_result(
                    task.section, task.step_id, f"the worker process died (exit code {pool.workers[i].exitcode})"))
        if pending and not running:  # every worker has died
            while pending:
                task = tasks[pending[-1]]
                on_result(pending.pop(), failed_result(task.section, task.step_id, "no worker process left to run it"))


def run_parallel(tasks: Sequence[Task], derivations: Sequence[Derivation], builders: Mapping[str, Builder],
                 seed: int, jobs: int, on_start: Callable[[int], None], on_result: Callable[[int, Result], None],
                 on_ready: Callable[[], None] = lambda: None, method: str | None = None,
                 order: Sequence[int] | None = None) -> None:
    """Verify ``tasks`` in ``jobs`` worker processes; ``on_start``/``on_result`` get each task's position.

    ``order`` is the order of dispatch (default: as given; results keep their positions whatever it is).
    ``on_ready`` runs once the workers exist: start threads (a live display) there, never before a fork."""
    ctx = mp.get_context(method or start_method())
    known = {d.section: d for d in derivations} if ctx.get_start_method() == "fork" else {}
    pool = _Pool(ctx, max(1, min(jobs, len(tasks))), known, dict(builders), seed)
    try:
        on_ready()
        _drive(pool, tasks, range(len(tasks)) if order is None else order, on_start, on_result)
    finally:
        pool.close()
