"""Losses summed over time, ``L = sum_t l(h_t, y_t)``, with their direct gradients ``dl/dh_t`` at matrix level.

Cross-entropy against target classes is the natural loss when the h_t are probabilities (the lecture's POS
example); squared error suits any cell; a user loss is any SymPy expression in the entries of h_t and y_t.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.ops import Ratio


@dataclass(frozen=True)
class Loss:
    """``term(h, y)``: the loss at one time step (a scalar); ``grad(h, y)``: its gradient in h (a column)."""

    name: str
    term: Callable[[sp.Matrix, sp.Matrix], sp.Expr]
    grad: Callable[[MatrixExpr, MatrixExpr], MatrixExpr]
    latex: str


def cross_entropy() -> Loss:
    """``l = -sum_j y_j ln h_j`` with one-hot targets y: ``-ln`` of the probability given to the right class."""
    def term(h, y):
        return -sp.Add(*[y[j] * sp.log(h[j]) for j in range(h.rows) if y[j] != 0])
    return Loss("cross-entropy", term, lambda h, y: -Ratio(y, h),
                r"\mathfrak{L} = -\sum_{t=1}^{T} \sum_j y_{j,t} \ln h_{j,t}")


def squared_error() -> Loss:
    """``l = (1/2) sum_j (h_j - y_j)^2``."""
    def term(h, y):
        return sp.Rational(1, 2) * sp.Add(*[(h[j] - y[j]) ** 2 for j in range(h.rows)])
    return Loss("squared error", term, lambda h, y: h - y,
                r"\mathfrak{L} = \frac{1}{2} \sum_{t=1}^{T} \sum_j (h_{j,t} - y_{j,t})^2")


def custom(name: str, expression: Callable[[list[sp.Symbol], list[sp.Symbol]], sp.Expr], size: int) -> Loss:
    """A user loss: ``expression(h_entries, y_entries)`` builds a SymPy scalar; its gradient is derived here.

    The gradient is an explicit column of the derivatives in the entries, so it needs the state size.
    """
    nt.check_name(name.replace(" ", "").replace("-", ""))
    hs = [sp.Symbol(f"h_{{{j + 1}}}", real=True) for j in range(size)]
    ys = [sp.Symbol(f"y_{{{j + 1}}}", real=True) for j in range(size)]
    body = expression(hs, ys)
    if not isinstance(body, sp.Expr):
        raise TypeError(f"the loss {name!r} must build a SymPy expression, got {type(body).__name__}")
    extra = body.free_symbols - set(hs) - set(ys)
    if extra:
        raise ValueError(f"the loss {name!r} uses symbols other than the entries of h and y: {sorted(map(str, extra))}")
    grads = [sp.diff(body, s) for s in hs]

    def term(h, y):
        return body.xreplace({**dict(zip(hs, h)), **dict(zip(ys, y))})

    def grad(h, y):
        hv, yv = sp.Matrix(h.as_explicit()), sp.Matrix(y.as_explicit())
        return sp.ImmutableMatrix([g.xreplace({**dict(zip(hs, hv)), **dict(zip(ys, yv))}) for g in grads])

    return Loss(name, term, grad, r"\mathfrak{L} = \sum_{t=1}^{T} \ell(\vec{h}_t, \vec{y}_t)")
