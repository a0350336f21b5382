"""Code generation: matrix-level SymPy expressions to NumPy functions over a batch of column vectors.

A vector with n entries is an ``(n, B)`` array at run time (B columns, one per batch item), so ``U @ h``
works on a whole batch and an ``(n, 1)`` vector such as a bias broadcasts against it.  A scalar (a ``Symbol``
or an :class:`EntryMax`) is a ``(1, B)`` row, or a plain float, and broadcasts the same way.

The generated code comes from SymPy objects only: argument names are rewritten to safe identifiers
(``h_{t-1}`` becomes ``h_t_1``) and every other free symbol is refused, so no user text reaches the compiler.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Sequence

import sympy as sp
from sympy.core.function import FunctionClass
from sympy.matrices.expressions import MatrixExpr
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE

from .notation import Vec

#: Names the generated module already uses; an argument with one of these names gets a trailing underscore.
_TAKEN = frozenset({"numpy", "builtins", "range", "math", "scipy", "sympy"})
_CONSTANT_MATRICES = (sp.OneMatrix, sp.ZeroMatrix, sp.Identity)


class EntryMax(sp.Expr):
    """``max_j a_j``: the largest entry of a column vector (per batch column in generated code).

    A scalar, so it can shift a vector as ``a - m 1``; SymPy has no matrix-level maximum of entries.
    """

    is_commutative = True
    is_real = True

    def __new__(cls, vector: MatrixExpr):
        vector = sp.sympify(vector, strict=True)
        if not getattr(vector, "is_Matrix", False) or vector.shape[1] != 1:
            raise ValueError(f"EntryMax takes a column vector, got {vector!r}")
        return super().__new__(cls, vector)

    @property
    def vector(self) -> MatrixExpr:
        return self.args[0]

    def doit(self, **hints):
        vector = self.vector.doit(**hints) if hints.get("deep", True) else self.vector
        if vector.shape[0].is_Integer:
            return sp.Max(*vector.as_explicit())
        return self.func(vector)


def safe_name(name: str) -> str:
    """A Python identifier for a SymPy name: ``h_{t-1}`` -> ``h_t_1``; never starts with ``_`` (ours)."""
    out = re.sub(r"_+", "_", re.sub(r"[^0-9A-Za-z_]", "_", name)).strip("_")
    if not out or out[0].isdigit():
        out = "v" + out
    if keyword.iskeyword(out) or out in _TAKEN:
        out += "_"
    return out


def _numeric_shape(expr: MatrixExpr) -> tuple[int, int]:
    rows, cols = expr.shape
    if not (sp.sympify(rows).is_Integer and sp.sympify(cols).is_Integer):
        raise ValueError(f"cannot generate {type(expr).__name__} of symbolic shape {expr.shape}: "
                         "substitute the sizes first (e.g. expr.subs(N, 16))")
    return int(rows), int(cols)


def _broadcast_scalar(term: sp.Basic) -> sp.Expr | None:
    """``c`` if ``term`` is ``c * 1`` (a scalar times a column of ones), else None."""
    if isinstance(term, sp.OneMatrix) and term.shape[1] == 1:
        return sp.S.One
    if isinstance(term, sp.MatMul):
        coeff, mats = term.as_coeff_matrices()
        if len(mats) == 1 and isinstance(mats[0], sp.OneMatrix) and mats[0].shape[1] == 1:
            return coeff
    return None


class MatrixNumPyPrinter(NumPyPrinter):
    """NumPy printer for matrix expressions: ``@`` products, elementwise functions, ``*`` for Hadamard."""

    def __init__(self, settings=None):
        super().__init__(settings)
        self._bound: dict[sp.Basic, str] = {}  # elementwise function variable -> printed argument

    def _print_Symbol(self, expr):
        return self._bound[expr] if expr in self._bound else super()._print_Symbol(expr)

    def _print_Dummy(self, expr):
        return self._bound[expr] if expr in self._bound else super()._print_Dummy(expr)

    def _print_Vec(self, expr: Vec) -> str:
        return safe_name(f"{expr.base}_{expr.time}")

    def _print_EntryMax(self, expr: EntryMax) -> str:
        return f"{self.parenthesize(expr.vector, PRECEDENCE['Atom'], strict=True)}.max(axis=0, keepdims=True)"

    def _print_ElementwiseApplyFunction(self, expr: ElementwiseApplyFunction) -> str:
        fn = expr.function
        if isinstance(fn, FunctionClass):
            var = sp.Dummy("e")
            body = fn(var)
        else:
            (var,), body = fn.variables, fn.expr
        arg = self._print(expr.expr)
        if arg.isidentifier() or body.count(var) <= 1:
            return self._print_bound(body, var, arg if arg.isidentifier() else f"({arg})")
        name = f"_e{len(self._bound)}"  # evaluate a repeated argument once, inside a Python lambda
        return f"(lambda {name}: {self._print_bound(body, var, name)})({arg})"

    def _print_bound(self, body: sp.Expr, var: sp.Basic, text: str) -> str:
        self._bound[var] = text
        try:
            return self._print(body)
        finally:
            del self._bound[var]

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        coeff, mats = expr.as_coeff_matrices()
        product = " @ ".join(self.parenthesize(m, PRECEDENCE["Mul"], strict=True) for m in mats)
        if coeff == 1:
            return product
        factor = self.parenthesize(coeff, PRECEDENCE["Mul"])
        return f"{factor}*{product}" if len(mats) == 1 else f"{factor}*({product})"

    def _print_MatAdd(self, expr: sp.MatAdd) -> str:
        # a term ``c * 1`` beside a full-shape term is printed as the scalar c, left to NumPy's broadcasting
        scalars = [_broadcast_scalar(term) for term in expr.args]
        if all(s is not None for s in scalars):
            scalars = [None] * len(scalars)
        terms = [s if s is not None else term for s, term in zip(scalars, expr.args, strict=True)]
        terms.sort(key=lambda term: term.could_extract_minus_sign())  # a leading term without a minus sign
        out = self.parenthesize(terms[0], PRECEDENCE["Add"])
        for term in terms[1:]:
            if term.could_extract_minus_sign():
                out += f" - {self.parenthesize(-term, PRECEDENCE['Add'], strict=True)}"
            else:
                out += f" + {self.parenthesize(term, PRECEDENCE['Add'])}"
        return out

    def _print_HadamardProduct(self, expr: sp.HadamardProduct) -> str:
        return "*".join(self.parenthesize(arg, PRECEDENCE["Mul"], strict=True) for arg in expr.args)

    def _print_OneMatrix(self, expr):
        return f"{self._module_format('numpy.ones')}({_numeric_shape(expr)})"

    def _print_ZeroMatrix(self, expr):
        return f"{self._module_format('numpy.zeros')}({_numeric_shape(expr)})"

    def _print_Identity(self, expr):
        return f"{self._module_format('numpy.eye')}({_numeric_shape(expr)[0]})"


def _value_symbols(expr: sp.Basic) -> set[sp.Basic]:
    """Symbols and matrix symbols whose values the code needs (not sizes in shapes, not bound variables)."""
    if isinstance(expr, (sp.Symbol, sp.MatrixSymbol)):
        return {expr}
    if isinstance(expr, _CONSTANT_MATRICES):
        return set()
    if isinstance(expr, sp.Lambda):
        return _value_symbols(expr.expr) - set(expr.variables)
    if isinstance(expr, Vec):
        return {expr}
    out: set[sp.Basic] = set()
    for arg in expr.args:
        out |= _value_symbols(arg)
    return out


def _canonical_elementwise(expr: sp.Basic, var: sp.Dummy) -> sp.Basic:
    """Make every elementwise function bind the same variable, so equal functions compare equal in CSE."""
    if not expr.args or isinstance(expr, (sp.MatrixSymbol, Vec)):
        return expr
    args = [_canonical_elementwise(a, var) for a in expr.args]
    if isinstance(expr, ElementwiseApplyFunction):
        fn = expr.function
        (old,), body = fn.variables, fn.expr
        return ElementwiseApplyFunction(sp.Lambda(var, body.xreplace({old: var})), args[1])
    return expr.func(*args)


def _cse(var: sp.Dummy) -> Callable:
    """SymPy's CSE, minus replacements that would take an elementwise function's variable, or a constant
    matrix, out of place (they are put back inline)."""
    def cse(expr):
        replacements, reduced = sp.cse(expr, symbols=sp.numbered_symbols("_x"), list=False)
        inline: dict[sp.Basic, sp.Basic] = {}
        kept = []
        for sym, value in replacements:
            value = value.xreplace(inline)
            if isinstance(value, _CONSTANT_MATRICES) or value.has(var):
                inline[sym] = value
            else:
                kept.append((sym, value))
        return kept, reduced.xreplace(inline)
    return cse


def _safe_argument(arg: sp.Basic, used: set[str]) -> sp.Basic:
    if isinstance(arg, Vec):
        base, shape = f"{arg.base}_{arg.time}", arg.shape
    elif isinstance(arg, sp.MatrixSymbol):
        base, shape = arg.name, arg.shape
    elif isinstance(arg, sp.Symbol):
        base, shape = arg.name, None
    else:
        raise TypeError(f"kernel arguments must be Symbol, MatrixSymbol or Vec, not {type(arg).__name__}")
    name, n = safe_name(base), 2
    while name in used:
        name, n = f"{safe_name(base)}_{n}", n + 1
    used.add(name)
    return sp.MatrixSymbol(name, *shape) if shape else sp.Symbol(name, **arg.assumptions0)


def kernel(args: Sequence[sp.Basic], expr: sp.Basic, name: str) -> Callable:
    """A NumPy function ``name(*arrays)`` computing ``expr`` from ``args`` (Symbols, MatrixSymbols or Vecs).

    Vectors are ``(n, B)`` arrays for a batch of B columns; scalars are floats or ``(1, B)`` rows.  Common
    subexpressions are computed once.  Raises ValueError if ``expr`` needs a value that is not among ``args``.
    """
    if not (isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)):
        raise ValueError(f"kernel name {name!r} is not a Python identifier")
    args = list(args)
    if len(set(args)) != len(args):
        raise ValueError(f"kernel arguments repeat: {args}")
    expr = sp.sympify(expr, strict=True)
    missing = _value_symbols(expr) - set(args)
    if missing:
        raise ValueError(f"{name}: the expression needs {sorted(map(str, missing))}, which are not arguments")
    used: set[str] = set()
    renamed = {arg: _safe_argument(arg, used) for arg in args}
    var = sp.Dummy("e")
    body = _canonical_elementwise(expr.xreplace(renamed), var)
    fn = sp.lambdify(list(renamed.values()), body, modules="numpy", printer=MatrixNumPyPrinter,
                     cse=_cse(var), docstring_limit=0)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{name}({', '.join(str(a) for a in args)}) = {expr}  (generated by symrnn.codegen.kernel)"
    return fn
