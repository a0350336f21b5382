"""BPTT for a cell checked three ways: one step proved symbolically, a 50-digit exact check of the whole
gradient, and central finite differences on the generated float64 code."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from symrnn.autodiff import bptt, training
from symrnn.core.derivation import Evidence, Identity
from symrnn.core.verify import run_identity
from symrnn.models.cells import Cell
from symrnn.models.losses import Loss
from symrnn.numeric import gradcheck


@dataclass(frozen=True)
class Part:
    """One of the three checks: ``symbolic``, ``exact`` or ``numeric``, its verdict, what it found, its time."""

    kind: str
    passed: bool
    detail: str
    seconds: float


@dataclass(frozen=True)
class ThreeWay:
    """The checks run, in order; ``numeric`` is the finite-difference result in full."""

    parts: tuple[Part, ...]
    numeric: gradcheck.GradcheckResult | None = None

    @property
    def passed(self) -> bool:
        return all(p.passed for p in self.parts)


def numeric_case(cell: Cell, loss: Loss, T: int, batch: int, seed: int):  # noqa: N803
    """Random float64 weights, inputs, targets for the generated code (targets as class indices or vectors)."""
    rng = np.random.default_rng(seed)
    params = {p.name: rng.normal(0, 0.5, (p.rows, p.cols)) for p in cell.params}
    inputs = rng.normal(0, 1, (T, cell.n_input, batch))
    if loss.name == "cross-entropy":
        targets = rng.integers(0, cell.n_output, (T, batch))
    else:
        targets = rng.normal(0, 1, (T, cell.n_output, batch))
    return params, inputs, targets


def symbolic_step(cell: Cell, loss: Loss, seed: int = 0) -> tuple[bool, str]:
    """One step of the derived recursion against entry-level differentiation, proved with the zero test."""
    rng = random.Random(seed)
    local = bptt.local_identities(bptt.derive(cell, loss), rng)
    outcomes = [run_identity(Identity(d, r, simplifier="atoms"), rng) for _, d, r in local]
    # an identity between numbers (an output state's error, 0 = 0: nothing feeds it back) is settled exactly
    constant = [not (_symbols(d) or _symbols(r)) for _, d, r in local]
    proved = all(o.passed and (o.evidence is Evidence.SYMBOLIC or (c and o.evidence is Evidence.EXACT))
                 for o, c in zip(outcomes, constant, strict=True))
    return proved, f"one step against entry-level differentiation ({len(local)} products)"


def _symbols(expr) -> bool:
    return bool(getattr(expr, "free_symbols", ()))


def three_way(cell: Cell, loss: Loss, T: int, *, symbolic: bool = True, exact_T: int | None = None,  # noqa: N803
              batch: int = 2, seed: int = 0, max_entries: int | None = 500,
              progress: Callable[[int, int], None] | None = None,
              on_part: Callable[[Part], None] | None = None) -> ThreeWay:
    """Check BPTT for ``cell`` under ``loss``: the symbolic one-step proof (if ``symbolic``), the 50-digit exact
    check at ``exact_T`` steps (default T), and finite differences on the generated code at T steps.

    ``on_part`` is called as each check finishes; ``progress(done, total)`` after each finite-difference entry.
    """
    parts: list[Part] = []

    def record(kind: str, start: float, passed: bool, detail: str) -> None:
        parts.append(Part(kind, passed, detail, time.perf_counter() - start))
        if on_part is not None:
            on_part(parts[-1])

    if symbolic:
        start = time.perf_counter()
        record("symbolic", start, *symbolic_step(cell, loss, seed))
    start = time.perf_counter()
    ok, _worst, msg = bptt.exact_check(cell, loss, T if exact_T is None else exact_T, seed=seed)
    record("exact", start, ok, msg)
    start = time.perf_counter()
    params, inputs, targets = numeric_case(cell, loss, T, batch, seed)
    res = gradcheck.gradcheck(training.compile_bptt(cell, loss), params, inputs, targets,
                              max_entries=max_entries, seed=seed, progress=progress)
    record("numeric", start, res.passed, res.message)
    return ThreeWay(tuple(parts), res)
