"""Timing for the benchmarks: the best and the median of several rounds, every function timed in the same round so
that the machine's load moves them together."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def best_seconds(fns: dict[str, Callable[[], object]], rounds: int) -> dict[str, tuple[float, float]]:
    """``{name: (best, median)}`` wall time of each function, called in turn for ``rounds`` rounds (after a warm-up)."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: (min(ts), statistics.median(ts)) for name, ts in times.items()}
