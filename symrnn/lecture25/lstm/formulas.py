"""Section ``lstm``'s notation: the shorthands its displays are written with, and the displayed formulas that the
steps show and the checks compare with the engine (the cell's closed form, BPTT through (h_t, c_t))."""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.lecture25.common import LOSS, eq
from symrnn.models import lstm
from symrnn.models.lstm import Size

t, T, N, j, k = nt.t, nt.T, nt.N, nt.j, nt.k
m = sp.Symbol("m", integer=True, positive=True)  # an entry of the cell (the lecture's i is the input gate here)
ix = nt.i  # the lecture's entry index in its BPTT recursion
TAU = sp.Symbol("tau", integer=True, positive=True)  # a summation index over time
HALF = sp.Rational(1, 2)
f_, i_, c_, h_ = (sp.IndexedBase(name) for name in ("f", "i", "c", "h"))  # entries: f_{m,j} is entry m of f_j


# ---- shorthands ------------------------------------------------------------------------------------------------------


def vec(name: str, time: Size, n: Size = N) -> nt.Vec:
    """The vector ``name_time`` with n entries."""
    return nt.Vec(name, time, n)


def gate(name: str, time: Size, n: Size = N) -> nt.Gate:
    """The gate ``name_time``, printed without an arrow as the lecture does."""
    return nt.Gate(name, time, n)


def dL(v: sp.Basic, partial: bool = False) -> nt.VecDerivative:  # noqa: N802 - the lecture's d L
    """``dL/dv`` (or the partial derivative), for a vector v."""
    return nt.VecDerivative(LOSS, v, partial)


def odot(*factors: MatrixExpr) -> sp.HadamardProduct:
    """The elementwise product, kept as written."""
    return sp.HadamardProduct(*factors, evaluate=False)


def matmul(*factors: MatrixExpr) -> sp.MatMul:
    """The matrix product, kept as written."""
    return sp.MatMul(*factors, evaluate=False)


def slope(g: nt.Gate) -> tuple[MatrixExpr, MatrixExpr]:
    """``g`` and ``1 - g``: the factors of the sigmoid's derivative, written through the gate's value."""
    return g, sp.MatAdd(sp.OneMatrix(*g.shape), -g, evaluate=False)


def time_sum(summand: MatrixExpr) -> sp.Sum:
    """``sum_{t=1}^{T} summand`` with the summand kept as built (``Sum`` multiplies it by its orientation, which
    would put matrix products in canonical order)."""
    return sp.Basic.__new__(sp.Sum, summand, sp.Tuple(t, 1, T))


def tanh_slope(c: MatrixExpr) -> MatrixExpr:
    r"""``1 - tanh(c) \odot tanh(c)``: the slope of the output's tanh."""
    tc = c.applyfunc(lstm.TANH)
    return sp.MatAdd(sp.OneMatrix(*c.shape), -odot(tc, tc), evaluate=False)


# ---- the cell in closed form -----------------------------------------------------------------------------------------


def closed_form(time: Size, start: Size = 0) -> sp.Expr:
    """Entry m of c_time from c_start: ``(prod f) c_{m,start} + sum_k (prod_{j>k} f) i_{m,k} x_{m,k}``."""
    carried = sp.Mul(sp.Product(f_[m, j], (j, start + 1, time)), c_[m, start], evaluate=False)
    written = sp.Sum(sp.Mul(sp.Product(f_[m, j], (j, k + 1, time)), i_[m, k], nt.x(m, k), evaluate=False),
                     (k, start + 1, time))
    return sp.Add(carried, written, evaluate=False)


# ---- BPTT in the lecture's notation ----------------------------------------------------------------------------------


def recurrent_h(s: Size, n: Size = N) -> sp.MatAdd:
    """What h_s does to the loss through step s+1: through o_{s+1} (into h_{s+1}) and f, i (into c_{s+1})."""
    U = {g: nt.matrix(f"U_{g}", n, n) for g in lstm.LECTURE_GATES}  # noqa: N806
    f1, i1, o1 = (gate(g, s + 1, n) for g in lstm.LECTURE_GATES)
    dh, dc = dL(vec("h", s + 1, n)), dL(vec("c", s + 1, n))
    return sp.MatAdd(matmul(U["o"].T, odot(dh, vec("c", s + 1, n), *slope(o1))),
                     matmul(U["f"].T, odot(dc, vec("c", s, n), *slope(f1))),
                     matmul(U["i"].T, odot(dc, vec("x", s + 1, n), *slope(i1))), evaluate=False)


def dh_equation(s: Size = t, n: Size = N) -> sp.Eq:
    """``dL/dh_s``: directly, and through step s+1's gates."""
    return eq(dL(vec("h", s, n)), sp.MatAdd(dL(vec("h", s, n), partial=True), *recurrent_h(s, n).args,
                                            evaluate=False))


def dc_equation(s: Size = t, n: Size = N) -> sp.Eq:
    """``dL/dc_s``: through h_s = o_s c_s, and through c_{s+1}."""
    return eq(dL(vec("c", s, n)), sp.MatAdd(odot(gate("o", s, n), dL(vec("h", s, n))),
                                            odot(gate("f", s + 1, n), dL(vec("c", s + 1, n))), evaluate=False))


def param_term(name: str, s: Size = t, n: Size = N) -> sp.MatMul:
    """Step s's contribution to dL/d(name), for the lecture's six weight matrices."""
    kind, g = name.split("_")
    carry = {"f": vec("c", s - 1, n), "i": vec("x", s, n), "o": vec("c", s, n)}[g]
    error = dL(vec("h", s, n)) if g == "o" else dL(vec("c", s, n))
    source = vec("h", s - 1, n) if kind == "U" else vec("x", s, n)
    return matmul(odot(error, carry, *slope(gate(g, s, n))), source.T)


def param_equations(kind: str, n: Size = N) -> tuple[sp.Eq, ...]:
    """The gradients in the ``kind`` (U or W) weights of the three gates, summed over time."""
    return tuple(eq(dL(nt.matrix(f"{kind}_{g}", n, n)), time_sum(param_term(f"{kind}_{g}", t, n)))
                 for g in lstm.LECTURE_GATES)


def two_state_recursion() -> tuple[sp.Eq, sp.Eq]:
    """The lecture's recursion, entry by entry, for the two states: ``dL/dh_{i,t}`` and ``dL/dc_{i,t}``."""
    D, pD = nt.TotalDerivative, nt.PartialDerivative  # noqa: N806
    through_next = sp.Add(sp.Mul(D(LOSS, h_[j, t + 1]), pD(h_[j, t + 1], h_[ix, t]), evaluate=False),
                          sp.Mul(D(LOSS, c_[j, t + 1]), pD(c_[j, t + 1], h_[ix, t]), evaluate=False), evaluate=False)
    dh = eq(D(LOSS, h_[ix, t]), sp.Add(pD(LOSS, h_[ix, t]), nt.StateSum(through_next, j), evaluate=False))
    dc = eq(D(LOSS, c_[ix, t]), sp.Add(sp.Mul(D(LOSS, h_[ix, t]), pD(h_[ix, t], c_[ix, t]), evaluate=False),
                                       sp.Mul(D(LOSS, c_[ix, t + 1]), pD(c_[ix, t + 1], c_[ix, t]), evaluate=False),
                                       evaluate=False))
    return dh, dc
