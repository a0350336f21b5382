"""The audit's long fuzz run: small documents of mutated lecture spans, counting crashes and slow cases.

    python benchmarks/fuzz_audit.py [N] [--seed S] [--seconds X] [--save DIR] [--corpus | --cells]
                                    (default: N = 100000, S = 0, X = 10)

Each case is a document of one to four mutated math spans of the lecture, half the time after the lecture's model
definitions (:mod:`symrnn.audit.fuzzing`; ``--corpus``: other authors' spans too; ``--cells``: instead, whole
documents of the planted corpora that define a model (a cell, an abstract recurrence, an HMM) and state claims
on it, a few spans mutated), audited with
:func:`symrnn.audit.audit_text` under a budget of X seconds per span.  It prints the cases, the crashes (an
exception escaping the audit, or a check failing unexpectedly: a finding of check ``internal``), the cases over 1 s,
the longest case, and the peak memory of this process and of the bounded workers (``getrusage`` maxrss).  The exit
status is 1 when there is a crash.  Ctrl-C or SIGTERM stops it early with the same report for the cases run so far.
"""

from __future__ import annotations

import argparse
import collections
import resource
import signal
import sys
import time
from pathlib import Path

from symrnn.audit.fuzzing import cases, cell_cases, run_case
from symrnn.core.budget import DEFAULT


def _stop(signum, frame) -> None:  # noqa: ARG001 - the signal handler's signature
    raise KeyboardInterrupt


def _corpus_spans() -> list[str]:
    """Every math span of the corpus in tests/data/corpus/."""
    from symrnn.latex.spans import find_spans

    folder = Path(__file__).resolve().parents[1] / "tests" / "data" / "corpus"
    return [s.text for f in sorted(folder.glob("*.md")) for s in find_spans(f.read_text(encoding="utf-8"))]


#: the planted corpora: notes that define a model (a cell, an abstract recurrence, an HMM) and state claims on it
MODEL_CORPORA = ("audit_cells", "audit_abstract", "audit_closed", "audit_hmm")


def _cell_documents() -> list[str]:
    """The documents of the planted corpora (:data:`MODEL_CORPORA`, under tests/data/)."""
    data = Path(__file__).resolve().parents[1] / "tests" / "data"
    return [f.read_text(encoding="utf-8") for name in MODEL_CORPORA for f in sorted((data / name).glob("*.md"))
            if f.name != "SOURCES.md"]


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished workers: unlike the wall clock, not inflated by
    other jobs on a shared machine."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=100_000, help="number of cases (default 100000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the mutations (default 0)")
    parser.add_argument("--seconds", type=float, default=10.0, help="budget of one span's checks (default 10)")
    parser.add_argument("--save", metavar="DIR", help="write each crashing or slow case to DIR as a .md file")
    parser.add_argument("--corpus", action="store_true",
                        help="mutate the spans of tests/data/corpus/ (other authors' notes) too")
    parser.add_argument("--cells", action="store_true",
                        help="instead, mutate whole documents of the planted corpora (tests/data/audit_cells/, "
                             "audit_abstract/, audit_closed/, audit_hmm/: a model and claims on it)")
    args = parser.parse_args(argv)
    budget = DEFAULT.override(seconds=args.seconds)
    levels: collections.Counter = collections.Counter()
    crashes, slow = [], []
    longest = (0.0, "")
    signal.signal(signal.SIGTERM, _stop)
    start = time.perf_counter()
    done = heavy = over = 0
    try:
        texts = cell_cases(args.n, _cell_documents(), args.seed) if args.cells else \
            cases(args.n, args.seed, _corpus_spans() if args.corpus else ())
        for n, text in enumerate(texts):
            cpu0 = _cpu()
            outcome = run_case(text, budget)
            cpu = _cpu() - cpu0
            heavy += cpu > 1.0
            over += outcome.seconds > budget.total_seconds
            levels.update(outcome.levels)
            if outcome.kind == "crash":
                crashes.append((text, outcome))
            if outcome.seconds > 1.0:
                slow.append((outcome.seconds, text))
            if args.save and (outcome.kind == "crash" or outcome.seconds > 1.0):
                Path(args.save).mkdir(parents=True, exist_ok=True)
                Path(args.save, f"{outcome.kind}-{n}.md").write_text(text, encoding="utf-8")
            longest = max(longest, (outcome.seconds, text))
            if (n + 1) % 1_000 == 0:
                print(f"... {n + 1} cases, {len(crashes)} crashes, {len(slow)} over 1 s, "
                      f"{time.perf_counter() - start:.0f} s", flush=True)
            done = n + 1
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: report the cases run so far
        print(f"interrupted after {done} cases", flush=True)
    total = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"cases: {done} of {args.n} (seed {args.seed}, {args.seconds:g} s per span) in {total:.0f} s "
          f"({total / max(done, 1) * 1000:.0f} ms per case)")
    print(f"crashes: {len(crashes)}")
    print(f"cases over 1 s: {len(slow)} (wall clock), {heavy} (CPU time, this process and its workers)")
    print(f"cases over the budget (longer than the whole-document limit of {budget.total_seconds:g} s): {over}")
    print(f"max time: {longest[0]:.3f} s ({longest[1][:80]!r})")
    print(f"peak memory: {own:.0f} MB (this process), {workers:.0f} MB (largest worker)")
    print("findings: " + ", ".join(f"{k} {v}" for k, v in levels.most_common()))
    for text, outcome in crashes[:20]:
        print(f"CRASH {outcome.detail[:160]} <- {text[:300]!r}")
    for seconds, text in sorted(slow, reverse=True)[:10]:
        print(f"SLOW {seconds:.2f} s <- {text[:160]!r}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
