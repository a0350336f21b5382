"""The reader's long fuzz run: mutated lecture spans, counting crashes and slow cases.

    python benchmarks/fuzz_reader.py [N] [--seed S] [--backend-every K]      (default: N = 100000, S = 0, K = 20)

Each case is a math span of the lecture with one to three mutations (:mod:`symrnn.latex.parse.fuzzing`), read with
``backend="none"``, and every K-th with the installed latex2sympy backend too (0: never).  It prints the cases, the
crashes (any exception that is not a ParseError, or a ParseError without a position), the cases over 1 s, the
longest case, and the peak memory of this process and of the backend's bounded workers (``getrusage`` maxrss).
The exit status is 1 when there is a crash.
"""

from __future__ import annotations

import argparse
import collections
import resource
import sys
import time

from symrnn.latex.parse import available_backends
from symrnn.latex.parse.fuzzing import cases, run_case


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=100_000, help="number of cases (default 100000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the mutations (default 0)")
    parser.add_argument("--backend-every", type=int, default=20, help="every K-th case also with a backend")
    args = parser.parse_args(argv)
    backend = (available_backends() or [None])[0] if args.backend_every > 0 else None
    kinds: collections.Counter = collections.Counter()
    crashes, slow = [], []
    longest = (0.0, "")
    start = time.perf_counter()
    for n, text in enumerate(cases(args.n, args.seed)):
        readers = ["none", backend] if backend and n % args.backend_every == 0 else ["none"]
        for reader in readers:
            outcome = run_case(text, reader)
            kinds[outcome.kind if outcome.kind != "refused" else f"refused {outcome.name}"] += 1
            if outcome.kind == "crash":
                crashes.append((text, outcome))
            if outcome.seconds > 1.0:
                slow.append((outcome.seconds, text))
            longest = max(longest, (outcome.seconds, text))
        if (n + 1) % 10_000 == 0:
            print(f"... {n + 1} cases, {len(crashes)} crashes, {time.perf_counter() - start:.0f} s", flush=True)
    total = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"cases: {args.n} (seed {args.seed}; {sum(kinds.values())} readings, every {args.backend_every}th also "
          f"with {backend or 'no backend'}) in {total:.0f} s")
    print(f"crashes (not a ParseError): {len(crashes)}")
    print(f"cases over 1 s: {len(slow)}")
    print(f"max time: {longest[0]:.3f} s ({longest[1][:80]!r})")
    print(f"peak memory: {own:.0f} MB (this process), {workers:.0f} MB (largest backend worker)")
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
    for text, outcome in crashes[:20]:
        print(f"CRASH {outcome.name}: {outcome.detail[:160]} <- {text[:160]!r}")
    for seconds, text in sorted(slow, reverse=True)[:10]:
        print(f"SLOW {seconds:.2f} s <- {text[:160]!r}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
