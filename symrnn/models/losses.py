"""Losses over time, ``L = c sum_t l(h_t, y_t)``, with their direct gradients ``dl/dh_t`` at matrix level.

Cross-entropy against target classes is the natural loss when the h_t are probabilities (the lecture's POS
example); squared error suits any cell; a user loss is any SymPy expression in the entries of h_t and y_t.

A loss is summed over t (``scale`` 1) unless :meth:`Loss.scaled` gives it a constant factor ``c``: a number times a
power of the sequence length T (:data:`symrnn.notation.T`), such as ``1/T`` for a loss averaged over t.  ``term``
and ``grad`` stay the per-step term and its gradient; every total (the loss's value, ``dL/dh_t``, the gradients)
carries ``c`` at the T of the sequence (:meth:`Loss.factor`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

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
    scale: sp.Expr = sp.S.One  #: L = scale * sum_t term: a nonzero number times a power of T
    constant: sp.Expr | None = None  #: the known losses' own factor in ``latex`` (1/2, -1), for a scaled one's LaTeX
    body: str = ""  #: the known losses' per-step sum after that factor, as LaTeX (``\sum_j (h_{j,t} - y_{j,t})^2``)

    def scaled(self, factor) -> Loss:
        """The loss times ``factor`` (a nonzero number times a power of T, :func:`check_scale`)."""
        scale = check_scale(sp.sympify(factor) * self.scale)
        if self.constant is not None:
            text = rf"\mathfrak{{L}} = {_times(scale * self.constant)}\sum_{{t=1}}^{{T}} {self.body}"
        else:
            text = rf"\mathfrak{{L}} = {_times(scale)}\sum_{{t=1}}^{{T}} \ell(\vec{{h}}_t, \vec{{y}}_t)"
        return replace(self, scale=scale, latex=text)

    def unit(self) -> Loss:
        """The same loss summed over t (scale 1)."""
        if self.summed:
            return self
        if self.constant is not None:
            text = rf"\mathfrak{{L}} = {_times(self.constant)}\sum_{{t=1}}^{{T}} {self.body}"
        else:
            text = r"\mathfrak{L} = \sum_{t=1}^{T} \ell(\vec{h}_t, \vec{y}_t)"
        return replace(self, scale=sp.S.One, latex=text)

    @property
    def summed(self) -> bool:
        """Whether the loss is the plain sum over t (no factor)."""
        return self.scale == 1

    def factor(self, steps: int) -> sp.Expr:
        """The factor at T = ``steps`` (an exact number)."""
        return self.scale.xreplace({nt.T: steps})

    def step_grad(self, h: MatrixExpr, y: MatrixExpr) -> MatrixExpr:
        """``dL/dh_t`` through the loss's own term at t: ``scale * grad``."""
        g = self.grad(h, y)
        return g if self.summed else self.scale * g


def check_scale(scale: sp.Expr) -> sp.Expr:
    """``scale`` if it is a nonzero rational number times an integer power of T, else ValueError."""
    scale = sp.sympify(scale)
    coeff, power = sp.S.One, sp.S.Zero
    for factor in sp.Mul.make_args(scale):
        base, exp = factor.as_base_exp()
        if factor.is_Rational:
            coeff *= factor
        elif base == nt.T and exp.is_Integer:
            power += exp
        else:
            raise ValueError(f"a loss's factor is a number times a power of T, got {scale}")
    if coeff == 0:
        raise ValueError("a loss's factor cannot be 0")
    return coeff * nt.T ** power


def scale_parts(scale: sp.Expr) -> tuple[sp.Rational, int]:
    """``(c, k)`` with ``scale = c T^k``."""
    scale = check_scale(scale)
    power = sp.degree(sp.numer(scale), nt.T) - sp.degree(sp.denom(scale), nt.T)
    return sp.Rational(scale / nt.T ** power), int(power)


def _times(coeff: sp.Expr) -> str:
    """``coeff`` as the LaTeX written before a sum: nothing for 1, ``-`` for -1, else its LaTeX and a space."""
    if coeff == 1:
        return ""
    if coeff == -1:
        return "-"
    return sp.latex(coeff) + " "


def cross_entropy() -> Loss:
    """``l = -sum_j y_j ln h_j`` with one-hot targets y: ``-ln`` of the probability given to the right class."""
    def term(h, y):
        return -sp.Add(*[y[j] * sp.log(h[j]) for j in range(h.rows) if y[j] != 0])
    return Loss("cross-entropy", term, lambda h, y: -Ratio(y, h),
                r"\mathfrak{L} = -\sum_{t=1}^{T} \sum_j y_{j,t} \ln h_{j,t}", constant=sp.S.NegativeOne,
                body=r"\sum_j y_{j,t} \ln h_{j,t}")


def squared_error() -> Loss:
    """``l = (1/2) sum_j (h_j - y_j)^2``."""
    def term(h, y):
        return sp.Rational(1, 2) * sp.Add(*[(h[j] - y[j]) ** 2 for j in range(h.rows)])
    return Loss("squared error", term, lambda h, y: h - y,
                r"\mathfrak{L} = \frac{1}{2} \sum_{t=1}^{T} \sum_j (h_{j,t} - y_{j,t})^2", constant=sp.Rational(1, 2),
                body=r"\sum_j (h_{j,t} - y_{j,t})^2")


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
