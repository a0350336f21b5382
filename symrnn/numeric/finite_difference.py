"""Central finite differences over a sweep of steps, in float64 (NumPy) or at any mpmath precision.

The central difference ``(f(x + e) - f(x - e)) / 2e`` has truncation error O(e^2) and rounding error about
``u |f| / e`` (u the unit roundoff).  Over a sweep of steps, the two successive estimates that agree best bracket
the derivative; their disagreement plus the rounding floor estimates the finite difference's own error.  The same
sweep serves float64 (u = 2^-53, steps 1e-2..1e-7) and mpmath (u = 2^-prec: at 90 digits a step of 1e-35 leaves
an error near 1e-55).  A function is differentiated per entry (:func:`partial`), along a direction
(:func:`directional`), or along any line ``e -> f(x + e)`` (:func:`sweep`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

FLOAT64_STEPS: tuple[float, ...] = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7)
_FLOAT64_ROUNDOFF = float(np.finfo(np.float64).eps) / 2


@dataclass(frozen=True)
class Estimate:
    """A derivative from finite differences: its value, an estimate of its error, and the step it came from."""

    value: Any
    error: Any
    step: Any


def unit_roundoff(value) -> Any:
    """The unit roundoff of ``value``'s arithmetic: mpmath's working precision for mpmath numbers, else float64's."""
    import mpmath

    if isinstance(value, (mpmath.mpf, mpmath.mpc)):
        return mpmath.eps / 2
    return _FLOAT64_ROUNDOFF


def central(f: Callable[[Any], Any], step) -> Any:
    """``(f(step) - f(-step)) / (2 step)``: the central difference at 0 of ``f``, a function of the offset."""
    return (f(step) - f(-step)) / (2 * step)


def sweep(f: Callable[[Any], Any], steps: Sequence, width: Callable[[Any], Any] | None = None) -> Estimate:
    """The derivative at 0 of ``f`` (a function of the offset e) from central differences at each step.

    ``width(e)`` is the distance actually between the two points (default ``2e``; in float64 ``(x + e) - (x - e)``
    after rounding).  Returns the mean of the best-agreeing successive pair, with half their difference plus the
    rounding floor ``4 u |f| / e`` as the error; with one step, only the rounding floor ``u |f| / e``.
    """
    if not steps or any(not (s > 0) for s in steps):
        raise ValueError(f"steps must be positive, got {steps}")
    estimates, scales = [], []
    for e in steps:
        above, below = f(e), f(-e)
        estimates.append((above - below) / (width(e) if width else 2 * e))
        scales.append(max(abs(above), abs(below)))
    u = unit_roundoff(scales[0])
    if len(estimates) == 1:
        return Estimate(estimates[0], u * scales[0] / steps[0], steps[0])
    diffs = [abs(a - b) for a, b in zip(estimates[:-1], estimates[1:], strict=True)]
    finite = [d for d in diffs if d == d]  # NaN compares unequal to itself
    k = diffs.index(min(finite)) if finite else 0
    rounding = 4 * u * (scales[k + 1] + 1e-300) / steps[k + 1]
    return Estimate((estimates[k] + estimates[k + 1]) / 2, diffs[k] / 2 + rounding, steps[k + 1])


def partial(f: Callable[[dict], Any], params: dict[str, np.ndarray], name: str, index: tuple,
            steps: Sequence = FLOAT64_STEPS) -> Estimate:
    """``df/dparams[name][index]`` by :func:`sweep`, moving that entry in place (restored afterwards).

    ``params`` holds arrays of floats or of mpmath numbers; ``f`` takes the whole dict.
    """
    array = params[name]
    x = array[index]

    def at(e):
        array[index] = x + e
        return f(params)

    try:
        return sweep(at, steps, width=lambda e: (x + e) - (x - e))
    finally:
        array[index] = x


def directional(f: Callable[[dict], Any], params: Mapping[str, Any], direction: Mapping[str, Any],
                steps: Sequence) -> Estimate:
    """The derivative of ``f`` at ``params`` along ``direction`` (the same keys): ``d/de f(params + e v)``."""
    return sweep(lambda e: f({n: params[n] + e * direction[n] for n in params}), steps)
