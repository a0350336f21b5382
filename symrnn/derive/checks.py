"""The checks of a user's cell, derived by ``symrnn derive``: the same machinery as the lecture's BPTT section
(:mod:`symrnn.lecture25.bptt.checks`), run on the cell read from the user's text.

A :class:`Spec` names everything a verdict depends on (the text, the name, the loss, the sizes asked for), so the
checks are plain functions of it: the proof cache keys them by its fields, and a worker process rebuilds the cell
from it.  The pieces several checks share (the derived BPTT at a size, the whole gradient at T = 3) are made once per
process; the one-step proofs of the printed recursion and gradients are :mod:`.textbook`'s.

- the cell as read: the equations, intermediates substituted, are the step the engine differentiates;
- the loss's gradient in the output, against differentiation of its entry-level form;
- ``dL/dh_t`` from the recursion against direct differentiation of the loss from t on (T = 3, N = 2);
- every parameter's whole gradient against direct differentiation of the unrolled loss, as algebra (T = 3, N = 2);
- 50-digit directional derivatives at N = 16, T = 64;
- the generated code (the standalone module written beside the document, from :func:`compile_bptt`'s kernels)
  against central finite differences, and equal to :func:`compile_bptt` itself.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import sympy as sp

from symrnn import notation as nt
from symrnn.autodiff import bptt, matcalc
from symrnn.autodiff.scalar_reverse import jacobian_row
from symrnn.core.derivation import Evidence, Identity, Outcome
from symrnn.derive.cell_reading import loss_equation, read_cell
from symrnn.derive.errors import ShapesDisagree
from symrnn.derive.loss_reading import LossEquation
from symrnn.models import losses
from symrnn.models.cells import Cell
from symrnn.numeric.binding import bind

#: ``--loss`` choices and the loss each names.
LOSSES = {"squared": losses.squared_error, "cross-entropy": losses.cross_entropy}
LOCAL_SIZES = (2, 4, 8)  #: state sizes of the one-step proofs
WHOLE_SIZE, WHOLE_STEPS = 2, 3  #: the whole gradient, proved against the unrolled loss
EXACT_SIZE, EXACT_STEPS = 16, 64  #: the 50-digit directional check
NUMERIC_STEPS, NUMERIC_BATCH = 6, 2  #: the generated code against finite differences
#: ``quick``: the same checks, smaller (one step at N = 2, 4; the whole gradient at T = 2; 50 digits at N = 8, T = 16)
QUICK = {"local": (2, 4), "whole": 2, "exact": (8, 16)}


@dataclass(frozen=True)
class Spec:
    """A cell to derive: its text, name, loss (a key of :data:`LOSSES`; None: squared error), the sizes asked for
    (None: as the text declares them, else :func:`read_cell`'s defaults) and the output (None: :func:`read_cell`'s
    choice).  A loss equation in the text (``L = ...``, :mod:`symrnn.derive.loss_reading`) decides the loss, and
    ``loss`` is then not used: it applies only to a text without one (:attr:`loss_key`)."""

    text: str
    name: str = "cell"
    loss: str | None = None
    n_state: int | None = None
    n_input: int | None = None
    quick: bool = False
    output: str | None = None
    n_output: int | None = None

    @property
    def local_sizes(self) -> tuple[int, ...]:
        return QUICK["local"] if self.quick else LOCAL_SIZES

    @property
    def whole_steps(self) -> int:
        return QUICK["whole"] if self.quick else WHOLE_STEPS

    @property
    def exact_sizes(self) -> tuple[int, int]:
        """N and T of the 50-digit check."""
        return QUICK["exact"] if self.quick else (EXACT_SIZE, EXACT_STEPS)

    @staticmethod
    @functools.lru_cache(maxsize=16)
    def stated_loss(text: str) -> LossEquation | None:
        """The text's loss equation (:func:`symrnn.derive.cell_reading.loss_equation`), or None."""
        return loss_equation(text)

    @property
    def loss_key(self) -> str:
        """The loss used: the text's loss equation's, else ``loss``, else squared error."""
        if self.loss is not None and self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}: choose one of {', '.join(LOSSES)}")
        stated = self.stated_loss(self.text)
        if stated is not None:
            return stated.kind
        return self.loss if self.loss is not None else "squared"

    def loss_object(self) -> losses.Loss:
        """The loss used, with the loss equation's factor (``1/T`` for a loss averaged over t) when the text has one."""
        loss = LOSSES[self.loss_key]()
        stated = self.stated_loss(self.text)
        return loss if stated is None or stated.scale == 1 else loss.scaled(stated.scale)

    def cell(self) -> Cell:
        """The cell at the sizes asked for: the one the document shows and the standalone module computes."""
        return cell_at(self, self.n_state)


@functools.lru_cache(maxsize=64)
def cell_at(spec: Spec, n: int | None, q: int | None = None) -> Cell:
    """The spec's cell with state size ``n`` (None: as read) and output size ``q`` (None: as asked for or read)."""
    return read_cell(spec.text, spec.name, n_state=n if n is not None else spec.n_state, n_input=spec.n_input,
                     output=spec.output, n_output=q if q is not None else spec.n_output)


def sized(spec: Spec, wanted: tuple[int, ...]) -> list[Cell]:
    """The cell at each wanted state size that its declarations allow; the cell as read if they fix another.

    An output layer whose size Q nothing fixes (no declaration, no ``n_output``) gets Q = N + 1 here, so that the
    checks run with Q and N distinct: a transposed or wrongly sized output weight cannot pass them."""
    out = []
    for n in wanted:
        tries = ([n + 1] if spec.n_output is None else []) + [None]
        for q in tries:
            try:
                out.append(cell_at(spec, n, q))
                break
            except ShapesDisagree:
                continue
    return out or [spec.cell()]


def sizes_label(cell: Cell) -> str:
    """``$N = 2$``, with ``$Q = 3$`` when the output's size is not N."""
    return f"$N = {cell.n_state}$" + (f", $Q = {cell.n_output}$" if cell.n_output != cell.n_state else "")


# ---- identities, made once per process ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def derived(spec: Spec, cell: Cell) -> bptt.BPTT:
    """The engine's BPTT of one of the spec's cells (:func:`cell_at`, :func:`sized`) under its loss, once per
    process."""
    return bptt.derive(cell, spec.loss_object())


@functools.lru_cache(maxsize=4)
def _whole(spec: Spec) -> tuple[Cell, dict[str, tuple[sp.Matrix, sp.Matrix]]]:
    """The cell used and ``{parameter: (BPTT's gradient, direct gradient)}`` of the unrolled loss (with the loss's
    factor: a loss averaged over t is differentiated averaged)."""
    cell = sized(spec, (WHOLE_SIZE,))[0]
    rng = random.Random(f"{spec.name}:whole")
    case = bptt.random_case(cell, spec.loss_object(), spec.whole_steps, rng, symbolic=True)
    b = derived(spec, cell)
    return cell, {name: (d, r) for name, d, r in bptt.whole_identities(b, case)}


def local_sizes(spec: Spec) -> list[int]:
    """The state sizes of the one-step proofs that the declarations allow."""
    return sorted({c.n_state for c in sized(spec, spec.local_sizes)})


# ---- the checks --------------------------------------------------------------------------------------------------


def cell_identities(spec: Spec) -> Iterator[Identity]:
    """The equations as shown (:mod:`.shown`), intermediates substituted, against the step :func:`read_cell` built,
    entry by entry with symbolic parameters and states (N = 2 where the declarations allow)."""
    from symrnn.derive.shown import cell_text

    cell = sized(spec, (WHOLE_SIZE,))[0]
    substituted = cell_text(spec.text, n_state=cell.n_state, n_input=spec.n_input, output=spec.output,
                            n_output=cell.n_output).substituted()
    step = cell.step()
    params = {p.name: nt.entry_matrix(p.name.replace("_", "").lower(), p.rows, p.cols, positive=False)
              for p in cell.params}
    prev = {s: nt.entry_vector(f"{s}prev", cell.size(s), positive=False) for s in cell.states}
    x = nt.entry_vector("x", cell.n_input, positive=False)
    vals = bind(cell, params, prev, x)
    for s in cell.states:
        yield Identity(matcalc.explicit(substituted[s], vals), matcalc.explicit(step[s], vals), simplifier="atoms",
                       trials=2, label=f"${s}_t$ at {sizes_label(cell)}")


def loss_identities(spec: Spec) -> Iterator[Identity]:
    """The loss's gradient ``dl_t/dh_t`` as the derivation writes it against the gradient of ``l_t`` entry by
    entry, at N = 2 and 4."""
    loss = spec.loss_object()
    for n in (2, 4):
        h, y = sp.MatrixSymbol("h", n, 1), sp.MatrixSymbol("y", n, 1)
        hv = nt.entry_vector("h", n, positive=True)
        yv = nt.entry_vector("y", n, positive=False)
        derived = matcalc.explicit(loss.grad(h, y), {h: hv, y: yv})
        yield Identity(derived, jacobian_row(loss.term(hv, yv), hv), simplifier="atoms", trials=2,
                       label=f"{loss.name}, $N = {n}$")


def delta_identities(spec: Spec) -> Iterator[Identity]:
    """``dL/dh_t`` of the output state from the recursion against direct differentiation of the loss from t on,
    with symbolic weights (T = 3, every t; N = 2 where the declarations allow)."""
    cell = sized(spec, (WHOLE_SIZE,))[0]
    loss = spec.loss_object()
    case = bptt.random_case(cell, loss, spec.whole_steps, random.Random(f"{spec.name}:delta"), symbolic=True)
    run = bptt.run(derived(spec, cell), case.params, case.xs, case.ys, case.h0)
    for time, ref in enumerate(bptt.total_state_gradients(cell, loss, case), start=1):
        yield Identity(run.deltas[time - 1][cell.output], ref, simplifier="atoms", trials=1,
                       label=f"{sizes_label(cell)}, $T = {spec.whole_steps}$, $t = {time}$")


def whole_identity(spec: Spec, param: str) -> Identity:
    """One parameter's whole gradient (BPTT's sum over t) against direct differentiation of the unrolled loss."""
    cell, whole = _whole(spec)
    derived, direct = whole[param]
    return Identity(derived, direct, simplifier="atoms", trials=1,
                    label=f"whole gradient, {sizes_label(cell)}, $T = {spec.whole_steps}$, "
                          f"$d\\mathfrak{{L}}/d{maths_name(param)[1:]}")


def exact(spec: Spec, rng: random.Random) -> Outcome:
    """BPTT against 50-digit directional derivatives of the loss (N = 16, T = 64 where the declarations allow; quick:
    N = 8, T = 16)."""
    size, steps = spec.exact_sizes
    cell = sized(spec, (size,))[0]
    ok, _worst, message = bptt.exact_check(cell, spec.loss_object(), steps, seed=rng.randint(0, 10**6))
    return Outcome(ok, Evidence.EXACT, message)


def numeric(spec: Spec, rng: random.Random) -> Outcome:
    """The standalone module's loss against the loss computed from the cell's equations alone (the reference
    evaluator, with the loss's factor: 1/T for a loss averaged over t), its gradients against central finite
    differences (float64), and both equal to :func:`compile_bptt`'s on the same batch (relative 1e-12)."""
    from symrnn.derive import standalone
    from symrnn.numeric.gradcheck import check_gradients, describe, gradcheck
    from symrnn.numeric.threeway import numeric_case

    made = standalone.build(spec)
    module = standalone.load(made.source, spec.name)
    cell, loss = made.compiled.cell, made.compiled.bptt.loss
    params, xs, ys = numeric_case(cell, loss, NUMERIC_STEPS, NUMERIC_BATCH, rng.randint(0, 10**6))
    value, grads = module.loss_and_grads(params, xs, ys)
    want, want_grads = made.compiled.loss_and_grads(params, xs, ys)
    worst = max([abs(value - want) / max(1.0, abs(want))]
                + [float(np.max(np.abs(grads[k] - g) / np.maximum(1.0, np.abs(g)))) for k, g in want_grads.items()])
    if worst > 1e-12:
        return Outcome(False, Evidence.NUMERIC, f"`{spec.name}_bptt.py` differs from the training module by "
                       f"{worst:.1e}")
    reference = _reference_loss(cell, loss, params, xs, ys)
    off = abs(value - reference) / max(1.0, abs(reference))
    if off > 1e-10:
        return Outcome(False, Evidence.NUMERIC, f"`{spec.name}_bptt.py`'s loss {value!r} is not the loss of the "
                       f"cell's equations, {reference!r} (relative difference {off:.1e})")
    res = check_gradients(lambda p: module.loss(p, xs, ys), params, grads, max_entries=200, seed=rng.randint(0, 99))
    if not res.passed:
        return Outcome(False, Evidence.NUMERIC, f"`{spec.name}_bptt.py`: {res.message}")
    also = gradcheck(made.compiled, params, xs, ys, max_entries=50, seed=1)
    return Outcome(also.passed, Evidence.NUMERIC,
                   f"{sizes_label(cell)}, $D = {cell.n_input}$, $T = {NUMERIC_STEPS}$, batch {NUMERIC_BATCH}: "
                   f"`{spec.name}_bptt.py` equals the training module (largest relative difference {worst:.1e}), "
                   f"its loss the loss of the equations ({off:.1e}); "
                   f"{describe(res)}" + ("" if also.passed else f"; the training module: {also.message}"))


def _reference_loss(cell: Cell, loss: losses.Loss, params: dict, xs: np.ndarray, ys: np.ndarray) -> float:
    """The loss from the cell's step and the loss's terms alone (:func:`bptt.loss_value`, float64, zero initial
    states), its factor applied: independent of the derivation and of the generated code."""
    steps, batch = xs.shape[0], xs.shape[2]
    if ys.ndim == 2:  # classes
        onehot = np.zeros((steps, cell.n_output, batch))
        onehot[np.arange(steps)[:, None], ys, np.arange(batch)[None, :]] = 1.0
        ys = onehot
    h0 = {s: np.zeros((cell.size(s), batch)) for s in cell.states}
    return float(bptt.loss_value(cell, loss, params, list(xs), list(ys), h0, mode="numpy"))


def maths_name(param: str) -> str:
    """A parameter's identifier as inline maths (``W_hr`` as ``$W_{hr}$``), for a check's label."""
    from symrnn.latex.printer import latex

    return f"${latex(sp.MatrixSymbol(param, 1, 1))}$"
