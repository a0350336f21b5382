"""Comparing meaning: :func:`canonical` forms and :func:`same` (structurally, canonically, or at exact points).

Round trips and the audit need "the same equation" to survive printing choices: term order, bound-variable names,
symbol assumptions, decimals as shown, ``(1/2)^t`` as ``2^{-t}``, a gradient held as one class or another, and a
symbol named by its LaTeX (``\\hat{y}``), which is read back with the expression's own sizes.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.core.relational import Relational
from sympy.matrices.expressions import MatrixExpr
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symrnn import notation as nt
from symrnn.latex.parse.errors import ParseError
from symrnn.latex.parse.parser import parse
from symrnn.latex.parse.sizes import Sizes, notation_of

_PLAIN_NAME = re.compile(r"^[A-Za-z]+$")


def canonical(expr: Any) -> Any:
    """A normal form for comparing meaning: symbols without assumptions, bound variables renamed, products and
    sums re-evaluated, decimals as shown, a derivative of a scalar in a vector or matrix as the gradient
    (:class:`symrnn.notation.VecDerivative`), and a symbol whose name is not a plain word (``Delta_4``,
    ``u_{1,1}``, ``\\hat{y}``, ``\\vec{h}_0``) replaced by what its printed LaTeX means, read with the sizes the
    expression gives its vectors and matrices."""
    return _canonical(expr, _Meanings(notation_of(expr, strict=False)))


@dataclass
class _Meanings:
    """What each LaTeX-named symbol of one expression means, read with that expression's sizes."""

    sizes: Sizes
    memo: dict = field(default_factory=dict)


def _symbol_meaning(sym: sp.Symbol, meanings: _Meanings):
    if _PLAIN_NAME.match(sym.name):
        return sp.Symbol(sym.name)
    memo = meanings.memo
    if sym.name not in memo:
        from symrnn.latex.printer import latex  # the printer is the parser's inverse; imported on first need

        memo[sym.name] = sp.Symbol(sym.name)  # a fixed point while it is being read
        try:
            meant = parse(latex(sym), backend=None, notation=meanings.sizes)
        except ParseError:
            meant = sp.Symbol(sym.name)
        if not (isinstance(meant, sp.Symbol) and meant.name == sym.name):
            meant = _canonical(meant, meanings)
        memo[sym.name] = meant
    return memo[sym.name]


def _canonical(expr, memo: _Meanings):
    if isinstance(expr, tuple):
        return tuple(_canonical(e, memo) for e in expr)
    if not isinstance(expr, sp.Basic) or isinstance(expr, (sp.Dummy, sp.Number, nt.Words)):
        return expr  # a table's words are text, not names to read
    if isinstance(expr, sp.Symbol):
        return _symbol_meaning(expr, memo)
    if isinstance(expr, sp.IndexedBase):
        return sp.IndexedBase(str(expr.label))
    if isinstance(expr, sp.Lambda):
        var = sp.Symbol("_lambda_")
        (old,) = expr.variables
        return sp.Lambda(var, _canonical(expr.expr.xreplace({old: var}), memo))
    if isinstance(expr, nt.Parenthesised):  # parentheses are shown, not meant
        return _canonical(expr.value, memo)
    if isinstance(expr, nt.Rounded):
        return nt.Rounded(sp.Rational(nt.decimal_text(expr.value, expr.places)), expr.places)
    if isinstance(expr, nt.Chain):
        return nt.Chain([_canonical(t_, memo) for t_ in expr.terms], expr.relations)
    if type(expr) in (nt.TotalDerivative, nt.PartialDerivative):
        of, var = _canonical(expr.expr, memo), _canonical(expr.variable, memo)
        if isinstance(var, MatrixExpr) and not isinstance(of, MatrixExpr):  # the same gradient, two classes
            return nt.VecDerivative(of, var, partial=isinstance(expr, nt.PartialDerivative))
        return type(expr)(of, var)
    if isinstance(expr, sp.MatrixBase):
        return sp.ImmutableMatrix(expr.rows, expr.cols, [_canonical(e, memo) for e in expr])
    if not expr.args:
        return expr
    return _rebuild(expr, [_canonical(a, memo) for a in expr.args])


def _rebuild(expr: sp.Basic, args: list):
    """``expr``'s node over canonical ``args``: re-evaluated where SymPy's own classes do so."""
    try:
        # a sum or product written with bounds is kept: SymPy's matrix algebra and Piecewise's conditions would
        # compute it (\prod_{t=1}^{10^6} t is a number of 5.5 million digits)
        bounded = any(isinstance(a, sp.Basic) and a.has(sp.Sum, sp.Product) for a in args)
        if isinstance(expr, (sp.MatAdd, sp.MatMul, sp.HadamardProduct)):  # \odot commutes: factors in order
            return expr.func(*args) if bounded else expr.func(*args).doit(deep=False)
        if isinstance(expr, sp.Pow) and isinstance(args[0], sp.Rational) and args[0].p == 1 and args[0].q > 1:
            return sp.Pow(sp.Integer(args[0].q), -args[1])  # (1/2)^t as 2^(-t), the form SymPy evaluates it to
        if isinstance(expr, sp.Piecewise):
            return sp.Piecewise(*[(a.args[0], a.args[1]) for a in args], evaluate=not bounded)
        if isinstance(expr, Relational):
            return expr.func(*args, evaluate=False)
        if isinstance(expr, (sp.Add, sp.Mul, sp.Pow, sp.Function, sp.Tuple, sp.Indexed, sp.Sum, sp.Product,
                             ElementwiseApplyFunction, sp.MatrixSymbol, sp.BlockMatrix, sp.Order)):
            return expr.func(*args)
    except (TypeError, ValueError, sp.ShapeError):
        pass
    return sp.Basic.__new__(type(expr), *args)  # notation classes: rebuilt as they are, names untouched


def same(a: Any, b: Any, trials: int = 4, seed: int = 0) -> str | None:
    """How ``a`` and ``b`` were found equal: ``"structural"``, ``"canonical"``, ``"exact points"``; None if not."""
    a = a[0] if isinstance(a, tuple) and len(a) == 1 else a
    b = b[0] if isinstance(b, tuple) and len(b) == 1 else b
    if isinstance(a, tuple) or isinstance(b, tuple):
        if not (isinstance(a, tuple) and isinstance(b, tuple)) or len(a) != len(b):
            return None
        ways = [same(x, y, trials, seed) for x, y in zip(a, b, strict=False)]
        if None in ways:
            return None
        order = ["structural", "canonical", "exact points"]
        return max(ways, key=order.index)
    if a == b:
        return "structural"
    ca, cb = canonical(a), canonical(b)
    if ca == cb:
        return "canonical"
    return "exact points" if _equal_at_points(ca, cb, trials, seed) else None


def _equal_at_points(a, b, trials: int, seed: int) -> bool:
    from symrnn.numeric.spot import random_point  # a numeric tool, loaded only when structure does not decide

    if isinstance(a, Relational) and isinstance(b, Relational) and type(a) is type(b):
        return _equal_at_points(a.lhs, b.lhs, trials, seed) and _equal_at_points(a.rhs, b.rhs, trials, seed)
    if not (isinstance(a, sp.Expr) and isinstance(b, sp.Expr)) or isinstance(a, MatrixExpr) \
            or isinstance(b, MatrixExpr):
        return False
    for node in (*sp.preorder_traversal(a), *sp.preorder_traversal(b)):
        if type(node).__module__.startswith(nt.__name__ + ".") or isinstance(node, (sp.Indexed, AppliedUndef)):
            return False  # names stored as symbols (Vec, RV, Applied, ...) are not values to sample
    diff = a - b
    rng = random.Random(seed)
    for _ in range(trials):
        point = random_point(diff.free_symbols, rng)
        value = diff.xreplace(point)
        if value.is_Rational:
            if value != 0:
                return False
            continue
        num = value.evalf(50)
        if not num.is_number or abs(num) > sp.Float("1e-40", 50):
            return False
    return True
