"""Numeric gradient check in float64: central finite differences of the loss against the computed gradients.

For each parameter entry checked, :func:`symrnn.numeric.finite_difference.partial` takes the central difference
``(L(p + e) - L(p - e)) / 2e`` at a sweep of steps e (1e-2 down to 1e-7); the two successive estimates that agree
best bracket the derivative, and their disagreement (plus the rounding floor ``u |L| / e``) estimates the finite
difference's own error.  An entry passes if

    |analytic - numeric| <= atol + rtol |numeric| + 2 * fd_error,

so the tolerance is never looser than torch.autograd.gradcheck's (rtol 1e-3, atol 1e-5) by more than the finite
difference can resolve on this problem.  With many entries a seeded random subset is checked, every parameter
represented.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from symrnn.autodiff.training import Compiled
from symrnn.numeric.finite_difference import FLOAT64_STEPS, partial

DEFAULT_STEPS: tuple[float, ...] = FLOAT64_STEPS


@dataclass(frozen=True)
class EntryCheck:
    """One parameter entry: the analytic value, the finite difference, its error estimate and the tolerance."""

    entry: str  # e.g. "U[2,1]" (0-based, as NumPy indexes it)
    analytic: float
    numeric: float
    fd_error: float
    step: float
    tolerance: float

    @property
    def error(self) -> float:
        return abs(self.analytic - self.numeric)

    @property
    def passed(self) -> bool:
        return self.error <= self.tolerance

    def relative_error(self, rtol: float, atol: float) -> float:
        """``|a - n| / max(|a|, |n|, atol / rtol)``: relative, except for gradients near zero."""
        return self.error / max(abs(self.analytic), abs(self.numeric), atol / rtol)


@dataclass(frozen=True)
class GradcheckResult:
    """``passed`` if every checked entry is within tolerance; ``message`` says what was checked or what failed."""

    passed: bool
    worst_relative_error: float
    entries_checked: int
    entries_total: int
    message: str
    failures: tuple[EntryCheck, ...] = ()
    worst: EntryCheck | None = None
    unresolved: int = 0  # entries whose finite difference is less certain than atol + rtol |numeric|


def describe(result: GradcheckResult) -> str:
    """A gradient check's outcome for a document, its worst entry as maths (``U_f[0,3]`` as ``$U_{f}[0,3]$``,
    NumPy's 0-based indices); a failure's own message as it is."""
    if not result.passed or result.worst is None:
        return result.message
    from symrnn.latex.printer import latex  # a document's wording: loaded only when one is written

    name, _, index = result.worst.entry.partition("[")
    return (f"gradient check passed on {result.entries_checked} of {result.entries_total} entries (float64 central "
            f"differences, the tolerances of `torch.autograd.gradcheck`); worst relative error "
            f"{result.worst_relative_error:.2e} at ${latex(sp.Symbol(name))}[{index}$")


def _entry_name(name: str, index: tuple[int, ...]) -> str:
    return f"{name}[{','.join(map(str, index))}]"


def _select(shapes: Mapping[str, tuple[int, ...]], max_entries: int | None, seed: int) -> list[tuple[str, tuple]]:
    """Every entry, or a seeded random subset of about ``max_entries`` with every parameter represented."""
    total = sum(int(np.prod(s)) for s in shapes.values())
    if max_entries is None or total <= max_entries:
        return [(name, idx) for name, shape in shapes.items() for idx in np.ndindex(*shape)]
    rng = np.random.default_rng(seed)
    chosen = []
    for name, shape in shapes.items():
        size = int(np.prod(shape))
        k = min(size, max(1, round(max_entries * size / total)))
        for flat in np.sort(rng.choice(size, size=k, replace=False)):
            chosen.append((name, tuple(int(i) for i in np.unravel_index(flat, shape))))
    return chosen


def check_gradients(loss: Callable[[dict[str, np.ndarray]], float], params: Mapping[str, np.ndarray],
                    grads: Mapping[str, np.ndarray], *, rtol: float = 1e-3, atol: float = 1e-5,
                    steps: Sequence[float] = DEFAULT_STEPS, max_entries: int | None = 500, seed: int = 0,
                    progress: Callable[[int, int], None] | None = None) -> GradcheckResult:
    """Check ``grads`` (the claimed gradient of ``loss`` at ``params``) against central finite differences.

    ``loss`` takes a dict of float64 arrays; ``progress(done, total)`` is called after each entry.
    """
    if not steps or any(not (s > 0) for s in steps):
        raise ValueError(f"steps must be positive, got {steps}")
    work: dict[str, np.ndarray] = {}
    for name, value in params.items():
        arr = np.asarray(value)
        if arr.dtype.kind == "f" and arr.dtype != np.float64:
            raise TypeError(f"gradient checks run in float64; parameter {name} is {arr.dtype}")
        work[name] = np.array(arr, dtype=np.float64)
    missing = sorted(set(work) - set(grads))
    if missing:
        raise ValueError(f"no gradient given for {missing}")
    for name, arr in work.items():
        if np.shape(grads[name]) != arr.shape:
            raise ValueError(f"gradient of {name} has shape {np.shape(grads[name])}, the parameter {arr.shape}")
    base = float(loss(work))
    if not np.isfinite(base):
        raise ValueError(f"the loss is not finite at the given parameters ({base})")
    entries = _select({n: a.shape for n, a in work.items()}, max_entries, seed)
    checks: list[EntryCheck] = []
    for done, (name, index) in enumerate(entries, start=1):
        est = partial(loss, work, name, index, steps)
        numeric, fd_error = float(est.value), float(est.error)
        checks.append(EntryCheck(_entry_name(name, index), float(np.asarray(grads[name])[index]), numeric,
                                 fd_error, est.step, atol + rtol * abs(numeric) + 2 * fd_error))
        if progress is not None:
            progress(done, len(entries))
    return _summarise(checks, sum(a.size for a in work.values()), rtol, atol)


def _summarise(checks: list[EntryCheck], total: int, rtol: float, atol: float) -> GradcheckResult:
    if not checks:
        return GradcheckResult(True, 0.0, 0, total, "no parameter entries to check")
    failures = tuple(c for c in checks if not c.passed)
    worst = max(checks, key=lambda c: (np.nan_to_num(c.error / c.tolerance, nan=np.inf)))
    worst_rel = max(c.relative_error(rtol, atol) for c in checks)
    unresolved = sum(c.fd_error > atol + rtol * abs(c.numeric) for c in checks)
    scope = f"{len(checks)} of {total} entries" if len(checks) < total else f"all {total} entries"
    note = f"; {unresolved} entries where finite differences could not resolve the tolerance" if unresolved else ""
    if failures:
        first = failures[0]
        message = (f"gradient check failed at {first.entry}: analytic {first.analytic:.12g}, finite difference "
                   f"{first.numeric:.12g} (|difference| {first.error:.3g} > tolerance {first.tolerance:.3g}, "
                   f"step {first.step:g}); {len(failures)} of {len(checks)} checked entries failed"
                   + (f": {', '.join(c.entry for c in failures[:8])}{'...' if len(failures) > 8 else ''}"
                      if len(failures) > 1 else "") + note)
    else:
        message = (f"gradient check passed on {scope} (float64 central differences, rtol {rtol:g}, atol {atol:g}); "
                   f"worst relative error {worst_rel:.3g} at {worst.entry}{note}")
    return GradcheckResult(not failures, worst_rel, len(checks), total, message, failures, worst, unresolved)


def gradcheck(compiled: Compiled, params: Mapping[str, np.ndarray], inputs, targets, h0=None, *,
              rtol: float = 1e-3, atol: float = 1e-5, steps: Sequence[float] = DEFAULT_STEPS,
              max_entries: int | None = 500, seed: int = 0,
              progress: Callable[[int, int], None] | None = None) -> GradcheckResult:
    """Check a compiled model's :meth:`~symrnn.training.Compiled.loss_and_grads` against finite differences."""
    _, grads = compiled.loss_and_grads(params, inputs, targets, h0)
    return check_gradients(lambda p: compiled.loss(p, inputs, targets, h0), params, grads, rtol=rtol, atol=atol,
                           steps=steps, max_entries=max_entries, seed=seed, progress=progress)
