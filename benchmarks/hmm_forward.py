"""Time symrnn's log-domain forward against hmmlearn's ``CategoricalHMM.score`` (N=16, T=100,000).

Run from the repository root (symrnn installed, or on PYTHONPATH):

    PYTHONPATH=. python benchmarks/hmm_forward.py [--states 16] [--length 100000] [--repeats 5]

Prints the median wall time of each over the repeats and their ratio.  Not a test: the numbers depend on the
machine.  Both compute ln P(X_1..X_T) for the same model and sequence; the script checks they agree.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from hmmlearn.hmm import CategoricalHMM

from symrnn.models import log_forward


def median_seconds(fn: Callable[[], float], repeats: int) -> tuple[float, float]:
    """Median wall time of ``fn()`` over ``repeats`` calls, and its (last) result."""
    times, result = [], 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, default=16)
    parser.add_argument("--symbols", type=int, default=8)
    parser.add_argument("--length", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    n, k = args.states, args.symbols
    u = rng.dirichlet(np.ones(n), size=n).T  # columns sum to 1: u[j, i] = P(Y_t = j | Y_{t-1} = i)
    w = rng.dirichlet(np.ones(k), size=n)
    pi = rng.dirichlet(np.ones(n))
    xs = rng.integers(1, k + 1, size=args.length)

    peer = CategoricalHMM(n_components=n, n_features=k, init_params="", params="")
    peer.startprob_, peer.transmat_, peer.emissionprob_ = pi, u.T, w
    observed = (xs - 1).reshape(-1, 1)

    ours, ours_ll = median_seconds(lambda: log_forward.log_likelihood((u, w, pi), xs), args.repeats)
    theirs, theirs_ll = median_seconds(lambda: peer.score(observed), args.repeats)
    if not np.isclose(ours_ll, theirs_ll, rtol=1e-9, atol=0):
        raise SystemExit(f"log-likelihoods disagree: symrnn {ours_ll!r}, hmmlearn {theirs_ll!r}")

    print(f"N={n}, V+1={k}, T={args.length}, median of {args.repeats} runs; ln P(X) = {ours_ll:.10g}")
    print(f"symrnn log_likelihood (generated step, Python loop over t): {ours:8.3f} s  "
          f"({ours / args.length * 1e6:.2f} us/step)")
    print(f"hmmlearn CategoricalHMM.score (C++ forward_log):          {theirs:8.3f} s  "
          f"({theirs / args.length * 1e6:.2f} us/step)")
    print(f"ratio symrnn / hmmlearn: {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
