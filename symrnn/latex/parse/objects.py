"""Objects for textbook notation that :mod:`symrnn.notation` does not hold yet: a matrix at a time step (D2L's batch
matrices ``\\mathbf{H}_t``), an expectation ``\\mathbb{E}[x]``, the relation ``\\propto`` and a named function with
a subscript (``f_W``, ``\\phi_l``) applied to vectors.

Each is built only from SymPy objects (no text is parsed here), names are checked as the notation checks them, and
each says what it is by its arguments, so that structural comparison (:func:`.compare.same`) works on them.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.core.sympify import _sympify  # strict: refuses strings
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt

#: a function's name with a subscript, ``f_W``, ``phi_l``, ``h_t``: letters, then ``_`` and letters or digits
_SUBSCRIPTED = re.compile(r"[A-Za-z]+_[A-Za-z0-9]+")


class MatrixAt(MatrixExpr):
    """A matrix-valued quantity at a time step: D2L's ``\\mathbf{H}_t`` (one row per example of the minibatch),
    ``\\mathbf{H}_{t-1}``, ``\\tilde{\\mathbf{C}}_t``.  ``matrix`` is the named matrix (its shape), ``time`` the
    step."""

    is_commutative = False

    def __new__(cls, matrix: sp.MatrixSymbol, time):
        if not isinstance(matrix, sp.MatrixSymbol):
            raise TypeError("MatrixAt needs a named matrix")
        return super().__new__(cls, matrix, _sympify(time))

    matrix = property(lambda self: self.args[0])
    time = property(lambda self: self.args[1])
    shape = property(lambda self: self.args[0].shape)

    @property
    def name(self) -> str:
        return str(self.args[0].name)


class MatrixProduct(MatrixExpr):
    """``\\prod_{k=t+1}^{i} \\mathbf{W}^\\top``, ``\\prod_{k=T}^{t+1} \\frac{\\partial h_k}{\\partial h_{k-1}}``: a
    product of matrices (or of Jacobians between two vectors) over an index, which SymPy's ``Product`` cannot hold
    (its factors commute).  ``function`` is the factor and ``limits`` one ``(index, lo, hi)`` with the bounds as
    written: the order of the factors is the writer's, which the bounds alone do not say."""

    is_commutative = False

    def __new__(cls, function, limits):
        if not cls.takes(function):
            raise TypeError("MatrixProduct needs a matrix factor")
        return super().__new__(cls, function, sp.Tuple(*limits))

    @classmethod
    def over(cls, body, limits) -> MatrixExpr:
        """``\\prod_{j} A_j B_j v``: the product binds the factors up to the last that depends on its index; the
        ones after it (``v``) multiply the product."""
        var = limits[0]
        factors = list(body.args) if isinstance(body, sp.MatMul) else [body]
        tail = []
        while len(factors) > 1 and not factors[-1].has(var) and isinstance(factors[-1], MatrixExpr):
            tail.insert(0, factors.pop())
        inner = sp.MatMul(*factors) if len(factors) > 1 else factors[0]
        return sp.MatMul(cls(inner, limits), *tail) if tail else cls(inner, limits)

    @staticmethod
    def takes(function) -> bool:
        """Whether ``function`` is a matrix, or a derivative of one vector in another (a Jacobian)."""
        if isinstance(function, MatrixExpr):
            return True
        return isinstance(function, nt.TotalDerivative) and all(isinstance(a, nt.Vec) for a in function.args)

    function = property(lambda self: self.args[0])
    limits = property(lambda self: (tuple(self.args[1]),))

    @property
    def shape(self):
        f = self.args[0]
        return f.shape if isinstance(f, MatrixExpr) else (f.args[0].shape[0], f.args[1].shape[0])


class Expectation(sp.Expr):
    """``\\mathbb{E}[x]``, ``\\mathbf{E}[\\xi_t]``, ``E[z_t]``: the expected value of ``expr`` (kept as written)."""

    is_commutative = True

    def __new__(cls, expr):
        return super().__new__(cls, _sympify(expr))

    expr = property(lambda self: self.args[0])


class Proportional(sp.Expr):
    """``lhs \\propto rhs``: equal up to a factor that does not depend on what varies (a relation, as ``Approx``)."""

    def __new__(cls, lhs, rhs):
        return super().__new__(cls, _sympify(lhs), _sympify(rhs))

    lhs = property(lambda self: self.args[0])
    rhs = property(lambda self: self.args[1])


class SubscriptedApplied(nt.Applied):
    """:class:`symrnn.notation.Applied` for a function named with a subscript, ``\\phi_l(\\mathbf{z})``,
    ``f_W(\\mathbf{h}, \\mathbf{x})`` (``Applied`` itself takes plain identifiers); it prints and is checked as
    ``Applied``.  The name is ``letters_letters-or-digits``, as safe in LaTeX and in code."""

    def __new__(cls, name, *args):
        name = name.name if isinstance(name, sp.Symbol) else name
        if not isinstance(name, str) or not _SUBSCRIPTED.fullmatch(name) or not args:
            raise ValueError(f"invalid function name {name!r}")
        return MatrixExpr.__new__(cls, sp.Symbol(name), *args)


def applied(name: str, *args) -> nt.Applied:
    """``nt.Applied(name, *args)``, or :class:`SubscriptedApplied` for a subscripted name such as ``phi_l``."""
    return nt.Applied(name, *args) if "_" not in name else SubscriptedApplied(name, *args)
