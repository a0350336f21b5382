"""Activation functions a text defines by a formula (``\\phi(x) = x``, ``g(z) = \\max(0, z)``): each one that is one
of the supported functions is read as that function where the cell applies it (``\\phi(W h_{t-1} + U x_t)``).

The formula is compared with each supported function at a few points, to 30 digits (nothing of the text is
evaluated as code: the reader's SymPy objects are substituted into); a formula that is none of them leaves the name
unsupported, and the cell's error names it.
"""

from __future__ import annotations

from collections.abc import Iterable

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symrnn import notation as nt
from symrnn.ops import relu, sigmoid, softplus

_Z = sp.Symbol("z", real=True)
#: the supported functions a formula may be, by the name the cell's reader uses (:data:`symrnn.derive.terms.NAMED`)
CANDIDATES = {"identity": _Z, "relu": relu(_Z), "sigmoid": sigmoid(_Z), "tanh": sp.tanh(_Z),
              "softplus": softplus(_Z), "exp": sp.exp(_Z)}
POINTS = (sp.Rational(-17, 10), sp.Rational(-3, 10), sp.Rational(6, 10), sp.Rational(22, 10))
MAX_OPS = 200  #: a longer formula is not compared (it is none of the candidates)


def _variable(arg) -> bool:
    """A plain name (the reader makes a lower-case name in a cell's text a column: that too)."""
    return isinstance(arg, sp.Symbol) or (isinstance(arg, sp.MatrixSymbol) and arg.shape[1] == 1)


def _defined(lhs) -> tuple[str, sp.Basic] | None:
    """``(name, variable)`` of a function's definition on the left: ``\\phi(x)``, ``g(z)``."""
    if isinstance(lhs, nt.Applied) and len(lhs.arguments) == 1 and _variable(lhs.arguments[0]):
        return lhs.name, lhs.arguments[0]
    if isinstance(lhs, sp.Function) and isinstance(type(lhs), sp.core.function.UndefinedFunction) \
            and len(lhs.args) == 1 and isinstance(lhs.args[0], sp.Symbol):
        return type(lhs).__name__, lhs.args[0]
    return None


def _formula(rhs, var) -> sp.Expr | None:
    """The right side as a scalar formula in :data:`_Z` (an entrywise function applied to ``var`` included)."""
    if isinstance(rhs, ElementwiseApplyFunction) and rhs.expr == var and isinstance(rhs.function, sp.Lambda):
        (arg,), body = rhs.function.variables, rhs.function.expr
        return body.xreplace({arg: _Z})
    if isinstance(rhs, sp.Expr) and not isinstance(rhs, sp.MatrixExpr) and rhs.free_symbols <= {var}:
        formula = rhs.xreplace({var: _Z})
        return formula if formula.free_symbols <= {_Z} else None
    return None


def _which(formula: sp.Expr) -> str | None:
    if sp.count_ops(formula) > MAX_OPS:
        return None
    for name, candidate in CANDIDATES.items():
        try:
            if all(abs(sp.N((formula - candidate).xreplace({_Z: p}), 30)) < sp.Float("1e-25") for p in POINTS):
                return name
        except (TypeError, ValueError, ArithmeticError):
            return None
    return None


def defined_activations(equations: Iterable) -> dict[str, str]:
    """``{name: supported function}`` for every equation ``name(var) = formula`` whose formula is one of them."""
    out: dict[str, str] = {}
    for eq in equations:
        found = _defined(eq.lhs)
        formula = _formula(eq.rhs, found[1]) if found else None
        which = _which(formula) if formula is not None else None
        if which is not None:
            out.setdefault(found[0], which)
    return out
