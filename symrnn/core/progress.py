"""Progress of a verification on stderr: a live display on a terminal, a line per section otherwise, or nothing.

Only stderr is written to, so stdout (tables, ``--json``) is the same with or without progress.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Protocol, TextIO

from symrnn.core.verify import Result


class Progress(Protocol):
    """What the verifier tells a display: the sections' sizes, each check's start and each result."""

    def begin(self, sizes: Mapping[str, int]) -> None: ...

    def started(self, section: str, step_id: str) -> None: ...

    def finished(self, result: Result) -> None: ...

    def end(self) -> None: ...


class Silent:
    """``--quiet``: nothing."""

    def begin(self, sizes: Mapping[str, int]) -> None:
        pass

    def started(self, section: str, step_id: str) -> None:
        pass

    def finished(self, result: Result) -> None:
        pass

    def end(self) -> None:
        pass


class Lines:
    """One plain line per section when all its checks are done (for logs and pipes)."""

    def __init__(self, stream: TextIO, label: str = "symrnn"):
        self.stream, self.label = stream, label
        self.sizes: dict[str, int] = {}
        self.results: dict[str, list[Result]] = {}
        self.first: dict[str, float] = {}

    def begin(self, sizes: Mapping[str, int]) -> None:
        self.sizes = dict(sizes)
        self.results = {s: [] for s in sizes}
        self.start = time.perf_counter()

    def started(self, section: str, step_id: str) -> None:
        self.first.setdefault(section, time.perf_counter())

    def finished(self, result: Result) -> None:
        done = self.results[result.section]
        done.append(result)
        if len(done) == self.sizes[result.section]:
            passed = sum(r.passed for r in done)
            cached = sum(r.cached for r in done)
            elapsed = time.perf_counter() - self.first.get(result.section, self.start)
            print(f"{self.label}: {result.section} {passed}/{len(done)} checks passed ({cached} cached) "
                  f"in {elapsed:.1f} s", file=self.stream, flush=True)

    def end(self) -> None:
        pass


class Live:
    """A rich display: per section a bar, checks done/total, the check running and the time elapsed."""

    def __init__(self, stream: TextIO):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bars

        self.bars = Bars(TextColumn("{task.description:6}"), BarColumn(), MofNCompleteColumn(),
                         TimeElapsedColumn(), TextColumn("{task.fields[check]}"),
                         console=Console(file=stream), transient=False)
        self.tasks: dict = {}
        self.running: dict[str, list[str]] = {}

    def begin(self, sizes: Mapping[str, int]) -> None:
        self.tasks = {s: self.bars.add_task(s, total=n, check="", start=False) for s, n in sizes.items()}
        self.running = {s: [] for s in sizes}
        self.bars.start()

    def _show(self, section: str) -> None:
        self.bars.update(self.tasks[section], check=", ".join(self.running[section]))

    def started(self, section: str, step_id: str) -> None:
        self.bars.start_task(self.tasks[section])
        self.running[section].append(step_id)
        self._show(section)

    def finished(self, result: Result) -> None:
        task = self.tasks[result.section]
        self.bars.start_task(task)
        if result.id in self.running[result.section]:
            self.running[result.section].remove(result.id)
        self.bars.advance(task)
        self._show(result.section)
        if self.bars.tasks[task].finished:
            self.bars.stop_task(task)
            self.bars.update(task, check="cached" if result.cached else "done")

    def end(self) -> None:
        self.bars.stop()


def display(quiet: bool = False, stream: TextIO | None = None, label: str = "symrnn") -> Progress:
    """Nothing when ``quiet``; a live display when ``stream`` (default stderr) is a terminal; else plain lines."""
    stream = sys.stderr if stream is None else stream
    if quiet:
        return Silent()
    if stream.isatty():
        return Live(stream)
    return Lines(stream, label)
