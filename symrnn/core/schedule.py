"""Verify derivations with a proof cache, worker processes and a progress display; results in the steps' order.

Verdicts found in the cache are reported as cached; the rest run in this process (``jobs=1``) or in ``jobs``
worker processes (:mod:`symrnn.core.parallel`), and each new verdict is stored as soon as it arrives.  The results
are the same whatever ``jobs`` is: each step's random points come from its own seed, not from the order of work.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence

from symrnn.core.cache import Entry, ProofCache
from symrnn.core.derivation import Derivation, Step
from symrnn.core.parallel import Builder, Task, run_parallel, start_method
from symrnn.core.progress import Progress, Silent
from symrnn.core.verify import Result, statement_latex, verify_step


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on every platform
        return max(1, os.cpu_count() or 1)


def _from_cache(step: Step, section: str, entry: Entry) -> Result:
    out = entry.outcome
    computed = {"at": entry.computed_at, "by": entry.computed_by, "seconds": entry.seconds}
    return Result(step.id, section, step.title, statement_latex(step), out.evidence.value, out.passed, out.detail,
                  0.0, cached=True, computed=computed)


#: Dispatch order for workers: checks that build many identities or run a computation tend to be the long ones,
#: and starting the longest first shortens the whole run; results keep the steps' order whatever this is.
_FIRST = {"Instances": 0, "Computation": 1}


def dispatch_order(steps: Sequence[Step]) -> list[int]:
    """Positions of ``steps`` with Instances first, then Computations, then the rest, each in step order."""
    return sorted(range(len(steps)), key=lambda k: (_FIRST.get(type(steps[k].check).__name__, 2), k))


def _in_process(tasks: Sequence[Task], steps: Sequence[Step], seed: int, on_start: Callable[[int], None],
                on_result: Callable[[int, Result], None]) -> None:
    for number, task in enumerate(tasks):
        on_start(number)
        on_result(number, verify_step(steps[number], task.section, seed))


def verify_all(derivations: Sequence[Derivation], seed: int = 0, jobs: int = 1, cache: ProofCache | None = None,
               progress: Progress | None = None, builders: Mapping[str, Builder] | None = None,
               method: str | None = None) -> list[Result]:
    """Every step's result, in order; ``builders`` (section -> builder(seed)) lets spawned workers rebuild."""
    progress = progress or Silent()
    flat = [(d.section, i, step) for d in derivations for i, step in enumerate(d.steps)]
    keys = [cache.key(step, section, seed) if cache else None for section, _, step in flat]
    results: list[Result | None] = [None] * len(flat)
    for n, (section, _, step) in enumerate(flat):
        entry = cache.get(keys[n]) if cache else None
        if entry is not None:
            results[n] = _from_cache(step, section, entry)
    todo = [n for n, r in enumerate(results) if r is None]
    tasks = [Task(flat[n][1], flat[n][0], flat[n][2].id) for n in todo]

    def on_start(number: int) -> None:
        progress.started(tasks[number].section, tasks[number].step_id)

    def on_result(number: int, result: Result) -> None:
        n = todo[number]
        step = flat[n][2]
        if not result.title:  # a failure no check produced: name the step as the document does
            result = dataclasses.replace(result, title=step.title, statement=statement_latex(step))
        results[n] = result
        if cache is not None:
            cache.put(keys[n], result.outcome, result.seconds)
        progress.finished(result)

    def begin() -> None:
        sizes: dict[str, int] = {}
        for section, _, _ in flat:
            sizes[section] = sizes.get(section, 0) + 1
        progress.begin(sizes)
        for r in results:
            if r is not None:
                progress.finished(r)

    method = method or start_method()
    parallel = jobs > 1 and len(tasks) > 1 and (method == "fork" or builders is not None)
    try:
        if parallel:
            run_parallel(tasks, derivations, builders or {}, seed, jobs, on_start, on_result, begin, method,
                         dispatch_order([flat[n][2] for n in todo]))
        else:
            begin()
            _in_process(tasks, [flat[n][2] for n in todo], seed, on_start, on_result)
    finally:
        progress.end()
    return [r for r in results if r is not None]
