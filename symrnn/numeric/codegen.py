"""Code generation: matrix-level SymPy expressions to NumPy functions over a batch of column vectors.

A vector with n entries is an ``(n, B)`` array at run time (B columns, one per batch item), so ``U @ h``
works on a whole batch and an ``(n, 1)`` vector such as a bias broadcasts against it.  A scalar (a ``Symbol``
or an :class:`EntryMax`) is a ``(1, B)`` row, or a plain float, and broadcasts the same way.

The generated code comes from SymPy objects only: argument names are rewritten to safe identifiers
(``h_{t-1}`` becomes ``h_t_1``), every other free symbol is refused, and the expression is vetted by
:func:`symrnn.numeric.guard.vet` (functions from the allow-list or the table of operations only, every printed name a
safe identifier) before SymPy prints it, so no user text reaches the compiler.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence

import numpy
import sympy as sp
from sympy.core.function import Application, FunctionClass
from sympy.matrices.expressions import MatrixExpr
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.printing.numpy import NumPyPrinter

from symrnn.notation import Vec, apply_entrywise
from symrnn.numeric import guard
from symrnn.ops import Rule, find

_CONSTANT_MATRICES = (sp.OneMatrix, sp.ZeroMatrix, sp.Identity)
_TAG_VARIABLE = sp.Dummy("e")  # every elementwise function binds this one, so equal bodies compare equal


def safe_name(name: str) -> str:
    """A Python identifier for a SymPy name: ``h_{t-1}`` -> ``h_t_1``; never starts with ``_`` (ours)."""
    return guard.safe_identifier(name)


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


class BatchSum(MatrixExpr):
    """A row with an entry per batch column, summed over the batch: 1 x 1 here, a float at run time (a step's loss
    over the batch).  Printed as one dot product, with no array in between, where the row is ``c 1^T (a o b)`` or
    ``1^T f(a)`` with ``f(e) = c e^2`` (a squared error, a cross-entropy); else as ``numpy.sum``."""

    def __new__(cls, row: MatrixExpr):
        if row.shape != (1, 1):
            raise ValueError(f"BatchSum takes a row with one entry per batch column (1 x 1), not {row.shape}")
        return super().__new__(cls, row)

    shape = property(lambda self: (1, 1))


class MatrixNumPyPrinter(NumPyPrinter):
    """NumPy printer for matrix expressions: ``@`` products, elementwise functions, ``*`` for Hadamard."""

    def __init__(self, settings=None, batch: Sequence[sp.Basic] = ()):
        super().__init__(settings)
        self._bound: dict[sp.Basic, str] = {}  # elementwise function variable -> printed argument
        self._targets: dict[sp.Basic, str] = {}  # elementwise function variable -> the name of a fresh argument
        self._batch = set(batch)  # what holds the batch's columns: arguments and (by _cse) the locals made of them
        self._names = 0

    # ---- writing into a fresh array: what an operation computes goes into one of its operands' new arrays ----

    def batch_wide(self, expr: sp.Basic) -> bool:
        """``expr`` has a column per batch item at run time (it holds an argument that does): an array of the
        result's full shape, in a sum or an entrywise product whose terms share its symbolic shape."""
        return bool(self._batch) and isinstance(expr, MatrixExpr) and expr.has(*self._batch)

    def fresh(self, expr: sp.Basic) -> bool:
        """``expr`` prints as a new batch-wide array that nothing else holds, which an operation may overwrite."""
        if not self.batch_wide(expr):
            return False
        if isinstance(expr, (sp.MatAdd, sp.HadamardProduct, sp.HadamardPower, sp.MatMul)):
            return True
        if isinstance(expr, ElementwiseApplyFunction) and isinstance(expr.function, sp.Lambda):
            (var,), body = expr.function.variables, expr.function.expr
            return self._print_bound(body, var, "_probe") != "_probe"  # all but a body printed as its argument
        return False

    def hold_batch(self, symbol: sp.Basic) -> None:
        """``symbol`` (a local the generated code assigns) holds the batch's columns."""
        self._batch.add(symbol)

    def in_place(self, var: sp.Basic) -> str | None:
        """The name of the fresh array an elementwise function's variable is bound to, if it may be overwritten
        (the function's own numpy code reads it: ``sigmoid``); else None."""
        return self._targets.get(var)

    def _name(self) -> str:
        self._names += 1
        return f"_a{self._names - 1}"

    def _accumulate(self, terms: list, ufunc: str, inverse: str | None) -> str | None:
        """``t0 op t1 op ...`` computed in the array of a fresh batch-wide term: ``numpy.add((_a := t0), t1,
        out=_a)`` and so on, the parameters-only terms (columns, scalars) combined first; None if no term is fresh."""
        first = next((i for i, t in enumerate(terms) if self.fresh(t) and not (inverse and _negative(t))), None)
        if first is None:
            return None
        name, rest = self._name(), terms[:first] + terms[first + 1:]
        out = f"({name} := {self._print(terms[first])})"
        narrow = [t for t in rest if not self.batch_wide(t)]
        wide = [t for t in rest if self.batch_wide(t)]
        np_ = self._module_format("numpy")
        if narrow:
            out = f"{np_}.{ufunc}({out}, {self._join(narrow, ufunc)}, out={name})"
        for term in wide:
            if inverse and _negative(term):
                out = f"{np_}.{inverse}({out}, {self._print(-term)}, out={name})"
            else:
                out = f"{np_}.{ufunc}({out}, {self._print(term)}, out={name})"
        return out

    def _join(self, terms: list, ufunc: str) -> str:
        if ufunc == "multiply":
            return "*".join(self.operand(t) for t in terms)
        terms = sorted(terms, key=_negative)  # lead with a term without a minus sign
        out = self._print(terms[0])
        for term in terms[1:]:
            out += f" - {self.operand(-term)}" if _negative(term) else f" + {self._print(term)}"
        return out

    def _print_Symbol(self, expr):
        return self._bound[expr] if expr in self._bound else super()._print_Symbol(expr)

    def _print_Dummy(self, expr):
        return self._bound[expr] if expr in self._bound else super()._print_Dummy(expr)

    def _print_Vec(self, expr: Vec) -> str:
        return safe_name(f"{expr.base}_{expr.time}")

    def _print(self, expr, **kwargs) -> str:
        """A node whose table entry (:mod:`symrnn.ops`) has NumPy code prints through it; the rest as usual."""
        entry = find(expr)
        if isinstance(entry, Rule) and entry.numpy is not None:
            return entry.numpy(expr, self)
        return super()._print(expr, **kwargs)

    def operand(self, expr: sp.Basic) -> str:
        """``expr`` printed as an operand of ``*``, ``@``, ``**`` or ``-``: parenthesised unless atomic."""
        text = self._print(expr)
        entry = find(expr)  # elementwise functions print as a call, a name or a parenthesised expression
        atomic = isinstance(expr, (sp.Symbol, sp.MatrixSymbol, Vec)) or (expr.is_Number and expr >= 0) \
            or (isinstance(entry, Rule) and entry.atomic_code)
        return text if atomic else f"({text})"

    def _print_ElementwiseApplyFunction(self, expr: ElementwiseApplyFunction) -> str:
        fn = expr.function
        if isinstance(fn, FunctionClass):
            var = sp.Dummy("e")
            body = fn(var)
        else:
            (var,), body = fn.variables, fn.expr
        arg = self._print(expr.expr)
        if isinstance(body, Application) and body.args == (var,) and self.fresh(expr.expr):
            in_place = self._function_in_place(body, var, arg)
            if in_place is not None:
                return in_place
        if arg.isidentifier() or body.count(var) <= 1:
            text = self._print_bound(body, var, arg if arg.isidentifier() else f"({arg})")
            return text if body.is_Function or body == var else f"({text})"
        name = f"_e{len(self._bound)}"  # evaluate a repeated argument once, inside a Python lambda
        return f"(lambda {name}: {self._print_bound(body, var, name)})({arg})"

    def _function_in_place(self, body: sp.Expr, var: sp.Basic, arg: str) -> str | None:
        """``f(arg)`` written into ``arg``'s new array, or None: a function NumPy computes as one ufunc call
        (``numpy.tanh(x)``, read off its printed code) gets ``out=``; a function whose own code asks the printer
        (:meth:`in_place`) writes there itself (the sigmoid)."""
        name = self._name()
        target = f"({name} := {arg})"
        call = _UFUNC_CALL.fullmatch(self._print_bound(body, var, "_probe"))
        if call and isinstance(getattr(numpy, call.group(1), None), numpy.ufunc):
            return f"{self._module_format('numpy.' + call.group(1))}({target}, out={name})"
        self._targets[var] = name
        try:
            text = self._print_bound(body, var, target)
        finally:
            del self._targets[var]
        return text if f"out={name}" in text else None

    def _print_bound(self, body: sp.Expr, var: sp.Basic, text: str) -> str:
        self._bound[var] = text
        try:
            return self._print(body)
        finally:
            del self._bound[var]

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        coeff, mats = expr.as_coeff_matrices()
        product = self._product(mats)
        if coeff == 1:
            return product
        return f"{self.operand(coeff)}*{product if len(mats) == 1 else f'({product})'}"

    def _product(self, mats: Sequence[sp.Basic]) -> str:
        """``A @ B @ ...``, with a ones matrix beside other factors printed as sums: ``1 1^T X`` costs O(nB)."""
        first, last = mats[0], mats[-1]
        np_repeat = self._module_format("numpy.repeat")
        if len(mats) > 1 and isinstance(first, sp.OneMatrix) and first.shape[1] != 1:
            rows = _numeric_shape(first)[0]
            sums = f"({self._product(mats[1:])}).sum(axis=0, keepdims=True)"  # every row of 1 X is X's column sums
            return sums if rows == 1 else f"{np_repeat}({sums}, {rows}, axis=0)"
        if len(mats) > 1 and isinstance(last, sp.OneMatrix) and last.shape[0] != 1:
            cols = _numeric_shape(last)[1]
            sums = f"({self._product(mats[:-1])}).sum(axis=1, keepdims=True)"
            return sums if cols == 1 else f"{np_repeat}({sums}, {cols}, axis=1)"
        return " @ ".join(self.operand(m) for m in mats)

    def _print_BatchSum(self, expr: BatchSum) -> str:
        (row,) = expr.args
        coeff, mats = row.as_coeff_matrices() if isinstance(row, sp.MatMul) else (sp.S.One, [row])
        pair = None
        if len(mats) == 2 and isinstance(mats[0], sp.OneMatrix):
            pair, scale = _dot_pair(mats[1])
        if pair is None:
            return f"{self._module_format('numpy.sum')}({self._print(row)})"
        vdot = self._module_format("numpy.vdot")
        a, b = self._print(pair[0]), self._print(pair[1])
        if pair[0] == pair[1] and not a.isidentifier():  # evaluate the argument once
            name = f"_e{len(self._bound)}"
            text = f"(lambda {name}: {vdot}({name}, {name}))({a})"
        else:
            text = f"{vdot}({a}, {b})"
        factor = coeff * scale
        return text if factor == 1 else f"{self.operand(factor)}*{text}"

    def _print_MatAdd(self, expr: sp.MatAdd) -> str:
        # a term ``c * 1`` beside a full-shape term is printed as the scalar c, left to NumPy's broadcasting
        scalars = [_broadcast_scalar(term) for term in expr.args]
        if all(s is not None for s in scalars):
            scalars = [None] * len(scalars)
        terms = [s if s is not None else term for s, term in zip(scalars, expr.args, strict=True)]
        in_place = self._accumulate(terms, "add", "subtract")
        return in_place if in_place is not None else self._join(terms, "add")

    def _print_HadamardProduct(self, expr: sp.HadamardProduct) -> str:
        in_place = self._accumulate(list(expr.args), "multiply", None)
        return in_place if in_place is not None else self._join(list(expr.args), "multiply")

    def _print_HadamardPower(self, expr: sp.HadamardPower) -> str:
        return f"{self.operand(expr.base)}**{self.operand(expr.exp)}"

    def _print_OneMatrix(self, expr):
        return f"{self._module_format('numpy.ones')}({_numeric_shape(expr)})"

    def _print_ZeroMatrix(self, expr):
        return f"{self._module_format('numpy.zeros')}({_numeric_shape(expr)})"

    def _print_Identity(self, expr):
        return f"{self._module_format('numpy.eye')}({_numeric_shape(expr)[0]})"


def _negative(term: sp.Basic) -> bool:
    return isinstance(term, sp.Basic) and term.could_extract_minus_sign()


#: A function's code that is one call of a NumPy function on the argument alone (``numpy.tanh(_probe)``).
_UFUNC_CALL = re.compile(r"numpy\.([a-z0-9_]+)\(_probe\)")


def _dot_pair(expr: sp.Basic) -> tuple[tuple[sp.Basic, sp.Basic] | None, sp.Expr]:
    """``((a, b), c)`` if ``expr`` is ``c (a o b)`` entrywise: ``a o b``, ``a^2`` or ``f(a)`` with ``f(e) = c e^2``."""
    if isinstance(expr, sp.HadamardProduct) and len(expr.args) == 2:
        return (expr.args[0], expr.args[1]), sp.S.One
    if isinstance(expr, sp.HadamardPower) and expr.exp == 2:
        return (expr.base, expr.base), sp.S.One
    if isinstance(expr, ElementwiseApplyFunction) and isinstance(expr.function, sp.Lambda):
        (var,), body = expr.function.variables, expr.function.expr
        scale = sp.cancel(body / var**2)
        if scale.is_number and not scale.has(var):
            return (expr.expr, expr.expr), scale
    return None, sp.S.One


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


class _Tagged(MatrixExpr):
    """An elementwise function during CSE, named by an atom: CSE can share ``f(X)`` but never splits ``f``."""

    is_commutative = False
    shape = property(lambda self: self.args[1].shape)


def _tag_elementwise(expr: sp.Basic, tags: dict[sp.Lambda, sp.Dummy]) -> sp.Basic:
    """Replace each elementwise function by a tag shared by equal functions (bound variable renamed alike)."""
    if isinstance(expr, ElementwiseApplyFunction):
        (old,), body = expr.function.variables, expr.function.expr
        fn = sp.Lambda(_TAG_VARIABLE, body.xreplace({old: _TAG_VARIABLE}))
        tag = tags.setdefault(fn, sp.Dummy(f"f{len(tags)}"))
        return _Tagged(tag, _tag_elementwise(expr.expr, tags))
    if not expr.args or isinstance(expr, (sp.MatrixSymbol, Vec)):
        return expr
    return expr.func(*[_tag_elementwise(a, tags) for a in expr.args])


def _untag(expr: sp.Basic, functions: dict[sp.Dummy, sp.Lambda]) -> sp.Basic:
    if isinstance(expr, _Tagged):
        return apply_entrywise(functions[expr.args[0]], _untag(expr.args[1], functions))
    if not expr.args or isinstance(expr, (sp.MatrixSymbol, Vec)):
        return expr
    return expr.func(*[_untag(a, functions) for a in expr.args])


def _cse(tags: dict[sp.Lambda, sp.Dummy], printer: MatrixNumPyPrinter) -> Callable:
    """SymPy's CSE over tagged elementwise functions; constant matrices (``1``) are put back inline.  The printer
    learns which locals hold the batch's columns (made from an argument that does)."""
    functions = {tag: fn for fn, tag in tags.items()}

    def cse(expr):
        replacements, reduced = sp.cse(expr, symbols=sp.numbered_symbols("_x"), list=False)
        inline: dict[sp.Basic, sp.Basic] = {}
        kept = []
        for sym, value in replacements:
            value = value.xreplace(inline)
            if isinstance(value, _CONSTANT_MATRICES):
                inline[sym] = value
            else:
                kept.append((sym, _untag(value, functions)))
                if printer.batch_wide(value):
                    printer.hold_batch(sym)
        return kept, _untag(reduced.xreplace(inline), functions)
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


def _lambdify(args: list, body: sp.Basic, tags: dict, batch: list) -> Callable:
    printer = MatrixNumPyPrinter(batch=batch)
    return sp.lambdify(args, body, modules="numpy", printer=printer, cse=_cse(tags, printer), docstring_limit=0)


def kernel(args: Sequence[sp.Basic], expr: sp.Basic, name: str, batch: Sequence[sp.Basic] = ()) -> Callable:
    """A NumPy function ``name(*arrays)`` computing ``expr`` from ``args`` (Symbols, MatrixSymbols or Vecs).

    Vectors are ``(n, B)`` arrays for a batch of B columns (or ``(n,)`` arrays, unbatched); scalars are
    floats or ``(1, B)`` rows.  Common subexpressions, including repeated elementwise functions, are computed
    once.  ``batch``: the arguments that hold the batch's columns (the rest, parameters, do not); a sum, an
    entrywise product or an entrywise function then writes into the new array of one of its batch-wide operands
    instead of making another (``numpy.add((_a0 := U @ h), b, out=_a0)``), and the function's ``plain`` is the
    source of the same computation printed without (``U @ h + b``), for readers.  Raises ValueError if ``expr`` needs a
    value that is not among ``args``, and :class:`~symrnn.numeric.guard.UnsafeName` (a ValueError) for a name that
    must not reach code.
    """
    guard.check_name(name, "kernel")
    args = list(args)
    if len(set(args)) != len(args):
        raise ValueError(f"kernel arguments repeat: {args}")
    expr = guard.vet(sp.sympify(expr, strict=True), symbols=False)
    missing = _value_symbols(expr) - set(args)
    if missing:
        raise ValueError(f"{name}: the expression needs {sorted(map(str, missing))}, which are not arguments")
    used: set[str] = set()
    renamed = {arg: _safe_argument(arg, used) for arg in args}
    tags: dict[sp.Lambda, sp.Dummy] = {}
    body = _tag_elementwise(guard.vet(expr.xreplace(renamed)), tags)
    if not set(batch) <= set(args):
        raise ValueError(f"{name}: batch names {sorted(map(str, set(batch) - set(args)))}, which are not arguments")
    fn = _lambdify(list(renamed.values()), body, tags, [renamed[a] for a in batch])
    if batch:  # the same computation written plainly (new arrays throughout), for a reader of the code
        fn.plain = inspect.getsource(_lambdify(list(renamed.values()), body, tags, []))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{name}({', '.join(str(a) for a in args)}): generated by symrnn.codegen.kernel from\n{expr}"
    return fn
