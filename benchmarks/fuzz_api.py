"""The tagger's and the training API's long fuzz run: the test suite's hypothesis strategies, many more cases.

    python benchmarks/fuzz_api.py [N] [--only NAME]   (default: N = 100000 cases per entry point)

Entry points: ``parse_prior`` (prior text, then :func:`pos_tagging.hmm`), ``tag`` (words and a nonlinearity name
through :func:`pos_tagging.tag`), ``tag-prior`` (a hostile prior, then the lecture's sentence), and
``loss_and_grads/rnn|elman|lstm`` (hostile arrays, :mod:`symrnn.autodiff.training`).  A crash is any exception
other than a named one (a ``ValueError`` subclass for the tagger, an ``InputError`` for training).  Per entry point
it prints: cases, crashes (with the first of each kind), cases over 1 s, the longest case, and the peak memory of
this process so far (``getrusage`` maxrss).  Exit status 1 when there is a crash.  Ctrl-C or SIGTERM stops it early
with the report for the cases run so far.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import resource
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / "fuzz" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cpu() -> float:
    """CPU seconds of this process and its finished workers (not inflated by other jobs, unlike the wall clock)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class Stats:
    """Counts for one entry point."""

    def __init__(self, name: str) -> None:
        self.name, self.cases, self.slow, self.heavy, self.longest = name, 0, 0, 0, 0.0
        self.crashes: collections.Counter = collections.Counter()
        self.first: dict[str, str] = {}

    def run(self, fn: Callable[[], object], allowed: type[BaseException], shown: Callable[[], str]) -> None:
        start, cpu = time.perf_counter(), _cpu()
        try:
            with np.errstate(all="ignore"):
                fn()
        except allowed as exc:
            if type(exc) is ValueError or not str(exc).strip():  # a bare or silent ValueError is not named
                self._crash(f"unnamed {type(exc).__name__}: {exc}", shown)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - counting what escapes is the point
            self._crash(f"{type(exc).__name__}: {str(exc)[:120]}", shown)
        seconds = time.perf_counter() - start
        self.cases += 1
        self.slow += seconds > 1
        self.heavy += _cpu() - cpu > 1
        self.longest = max(self.longest, seconds)

    def _crash(self, kind: str, shown: Callable[[], str]) -> None:
        self.crashes[kind] += 1
        self.first.setdefault(kind, shown()[:300])

    def report(self) -> str:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        lines = [f"{self.name:<22} cases {self.cases:>7}  crashes {sum(self.crashes.values()):>4}  over 1 s "
                 f"{self.slow:>4} (CPU {self.heavy})  longest {self.longest:6.3f} s  peak memory {peak:7.1f} MB"]
        lines += [f"    {n} x {kind}\n      first: {self.first[kind]}" for kind, n in self.crashes.items()]
        return "\n".join(lines)


def _fuzz(strategy, n: int, body: Callable) -> None:
    @settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(value):
        body(value)

    run()


def tagger(n: int, only: str | None) -> list[Stats]:
    from symrnn.models import pos_tagging

    tag = _load("test_fuzz_tag")
    out = []
    if only in (None, "parse_prior"):
        s = Stats("parse_prior")
        _fuzz(tag.PRIOR, n, lambda text: s.run(lambda: pos_tagging.hmm(pos_tagging.parse_prior(text)), ValueError,
                                               lambda: repr(text)))
        out.append(s)
    if only in (None, "tag"):
        s = Stats("tag")
        _fuzz(st.tuples(st.lists(tag.WORD, max_size=8), tag.G), n,
              lambda v: s.run(lambda: tag.tag_checked(v[0], None, v[1]), ValueError, lambda: repr(v)))
        out.append(s)
    if only in (None, "tag-prior"):
        s = Stats("tag-prior")
        _fuzz(tag.PRIOR, n, lambda text: s.run(lambda: tag.tag_checked(list(pos_tagging.SENTENCE), text, "lecture"),
                                               ValueError, lambda: repr(text)))
        out.append(s)
    return out


def training(n: int, only: str | None) -> list[Stats]:
    from symrnn.autodiff.training import InputError, compile_bptt
    from symrnn.models import cells, losses, lstm

    fuzz = _load("test_fuzz_training")
    models = {"rnn": lambda: compile_bptt(cells.rnn(3, 4), losses.cross_entropy()),
              "elman": lambda: compile_bptt(cells.elman(2, 3), losses.squared_error()),
              "lstm": lambda: compile_bptt(lstm.standard_lstm(2, 2), losses.squared_error())}
    out = []
    for name, make in models.items():
        if only not in (None, f"loss_and_grads/{name}"):
            continue
        compiled, s = make(), Stats(f"loss_and_grads/{name}")
        _fuzz(fuzz.case(compiled), n, lambda args, c=compiled, s=s: s.run(lambda: c.loss_and_grads(*args),
                                                                           InputError, lambda: repr(args)))
        out.append(s)
    return out


def _stop(signum, frame) -> None:  # noqa: ARG001 - the signal handler's signature
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=100_000, help="cases per entry point (default 100000)")
    ap.add_argument("--only", help="one entry point, e.g. tag or loss_and_grads/rnn")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    start, done = time.perf_counter(), []
    print(f"fuzz_api: up to {args.n} cases per entry point", flush=True)
    try:
        for group in (tagger, training):
            for stats in group(args.n, args.only):
                done.append(stats)
                print(stats.report(), flush=True)
    except KeyboardInterrupt:
        print("stopped early: the entry points above are complete, the one running was cut short", flush=True)
    print(f"total: {sum(s.cases for s in done)} cases, {sum(sum(s.crashes.values()) for s in done)} crashes, "
          f"{time.perf_counter() - start:.0f} s", flush=True)
    return 1 if any(s.crashes for s in done) else 0


if __name__ == "__main__":
    sys.exit(main())
