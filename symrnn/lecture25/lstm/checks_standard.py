"""Checks of section ``lstm``'s standard LSTM: its displayed equations against the cell
:func:`symrnn.models.lstm.standard_lstm` and against PyTorch's documented forward pass
(:func:`symrnn.models.lstm_pytorch.documented_forward`), PyTorch's packing, and the side-by-side table."""

from __future__ import annotations

import random

import numpy as np
import sympy as sp

from symrnn import notation as nt
from symrnn.core.derivation import Evidence, Outcome
from symrnn.lecture25.common import fail, ok
from symrnn.models import lstm, lstm_pytorch

N = nt.N


def standard_equations_check(rng: random.Random) -> Outcome:
    """The displayed standard equations are the cell's step; the cell matches PyTorch's documented forward."""
    cell = lstm.standard_lstm()
    defs = lstm.step_definitions(cell)
    for key, shown in lstm.standard_equations().items():
        target = cell.step()[key] if key in cell.states else lstm.gates(cell)[key]
        if lstm.computational(shown.rhs, defs) != target:
            return fail(Evidence.SYMBOLIC, f"the displayed ${key}$ is not the cell's step")
    nrng = np.random.default_rng(rng.randint(0, 10**6))
    worst = 0.0
    for n, d in ((3, 2), (5, 4)):
        small = lstm.standard_lstm(n, d)
        packed = {"weight_ih_l0": nrng.normal(size=(4 * n, d)), "weight_hh_l0": nrng.normal(size=(4 * n, n)),
                  "bias_ih_l0": nrng.normal(size=4 * n), "bias_hh_l0": nrng.normal(size=4 * n)}
        xs, h0, c0 = nrng.normal(size=(12, d)), nrng.normal(size=n), nrng.normal(size=n)
        rows = lstm.trace(small, lstm_pytorch.unpack(**{k_[:-3]: v for k_, v in packed.items()}), xs, h0, c0)
        for row, (h, c) in zip(rows, lstm_pytorch.documented_forward(packed, xs, h0, c0), strict=True):
            worst = max(worst, float(np.max(np.abs(row["h"] - h))), float(np.max(np.abs(row["c"] - c))))
    if worst > 1e-12:
        return fail(Evidence.NUMERIC, f"the cell differs from PyTorch's documented formulas by {worst:.1e}")
    return ok(Evidence.SYMBOLIC, "for symbolic $N$ and $D$ each displayed equation, gates written out, is the cell's "
                                  "step; run from PyTorch's packed layout ($N = 3$, $D = 2$ and $N = 5$, $D = 4$, "
                                  "$T = 12$) the cell "
                                  f"matches the documented formulas written in NumPy to {worst:.0e} (float64)")


def packing_check(rng: random.Random) -> Outcome:
    """unpack puts each gate's rows where PyTorch stacks them; pack inverts it bit for bit."""
    H, D = 3, 2  # noqa: N806
    code = np.arange(4 * H)[:, None]  # each row names its gate and row: 1000 * gate + row
    w_ih = 1000 * (code // H) + code % H + 0.01 * np.arange(D)[None, :]
    w_hh = -w_ih[:, :1] - 0.01 * np.arange(H)[None, :]
    b_ih, b_hh = w_ih[:, 0] + 0.5, w_ih[:, 0] + 0.25
    params = lstm_pytorch.unpack(w_ih, w_hh, b_ih, b_hh)
    for q, g in enumerate(("i", "f", "g", "o")):
        rows = slice(q * H, (q + 1) * H)
        for name, want in ((f"W_{g}", w_ih[rows]), (f"U_{g}", w_hh[rows]), (f"b_i{g}", b_ih[rows, None]),
                           (f"b_h{g}", b_hh[rows, None])):
            if not np.array_equal(params[name], want):
                return fail(Evidence.EXACT, f"{name} is not rows {q * H}..{(q + 1) * H - 1} of PyTorch's tensor")
    back = lstm_pytorch.pack(params)
    for name, want in (("weight_ih_l0", w_ih), ("weight_hh_l0", w_hh), ("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)):
        if not np.array_equal(back[name], want):
            return fail(Evidence.EXACT, f"pack(unpack(...)) changes {name}")
    return ok(Evidence.EXACT, "on tensors whose entries name their gate and row: unpack puts rows $kH$ to $(k+1)H - 1$ "
                               "of each tensor into gate $k$ of $(i, f, g, o)$, and pack(unpack(...)) returns the same "
                               "tensors bit for bit")


def differences_check(rng: random.Random) -> Outcome:
    """The table's equations are their cells' steps, and the two cells differ with equal weights."""
    lecture, standard = lstm.lecture_lstm(), lstm.standard_lstm(N, N)  # the table's input: one x_t, D = N
    for cell, shown in ((lecture, lstm.lecture_equations()), (standard, lstm.standard_equations(N, N))):
        defs = lstm.step_definitions(cell)
        for key, e in shown.items():
            target = cell.step()[key] if key in cell.states else lstm.gates(cell)[key]
            if lstm.computational(e.rhs, defs) != target:
                return fail(Evidence.SYMBOLIC, f"{cell.name}: the table's {key} is not the cell's")
    # same weights, zero biases: the two cells still differ (tanh candidate and tanh output)
    n = 2
    small_l, small_s = lstm.lecture_lstm(n), lstm.standard_lstm(n, n)
    weights = {f"{kind}_{g}": sp.Matrix(n, n, lambda *_: sp.Rational(rng.randint(-9, 9), 6))
               for kind in ("U", "W") for g in ("i", "f", "g", "o")}
    biases = {f"b_{side}{g}": sp.zeros(n, 1) for side in ("i", "h") for g in ("i", "f", "g", "o")}
    xs = [sp.Matrix(n, 1, lambda *_: sp.Rational(rng.randint(1, 9), 4))]
    h0, c0 = sp.zeros(n, 1), sp.zeros(n, 1)
    a = lstm.unroll(small_l, {q.name: weights[q.name] for q in small_l.params}, xs, h0, c0)[0]
    b = lstm.unroll(small_s, {**weights, **biases}, xs, h0, c0)[0]
    gap_c = max(abs(nt.numeric(a["c"][r] - b["c"][r], 30)) for r in range(n))
    gap_h = max(abs(nt.numeric(a["h"][r] - b["h"][r], 30)) for r in range(n))
    if not (gap_c > 1e-20 and gap_h > 1e-20):
        return fail(Evidence.EXACT, "the two cells agreed at the random point")
    return ok(Evidence.EXACT, "every equation in the table is its cell's step (symbolic $N$, $D = N$); with equal "
                               "weights and zero biases the two cells still differ at a random rational point: "
                               rf"$\vec{{c}}_1$ by up to {nt.decimal_text(gap_c, 3)}, $\vec{{h}}_1$ by up to "
                               rf"{nt.decimal_text(gap_h, 3)} (30 digits)")
