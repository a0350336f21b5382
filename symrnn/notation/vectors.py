"""Vector and matrix notation: the lecture's vectors, entrywise application, factored and dotted matrices."""

from __future__ import annotations

import sympy as sp
from sympy.core.sympify import _sympify  # strict: refuses strings, so no text is ever parsed here
from sympy.matrices.expressions import MatrixExpr
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symrnn.notation.symbols import _name, check_name, entry


class Vec(MatrixExpr):
    """The lecture's column vector ``\\vec{base}_{time}`` with ``n`` entries; ``time`` may be symbolic (``t-1``)."""

    is_commutative = False

    def __new__(cls, base: str, time, n):
        base = check_name(_name(base))
        return super().__new__(cls, sp.Symbol(base), _sympify(time), _sympify(n))

    base = property(lambda self: self.args[0].name)
    time = property(lambda self: self.args[1])
    shape = property(lambda self: (self.args[2], sp.Integer(1)))

    def _entry(self, i, j, **kwargs):
        if isinstance(i, (int, sp.Integer)):
            return entry(self.base, i + 1, self.time)
        n = self.shape[0]
        if not n.is_Integer:
            raise ValueError(f"entry {i} of {self.base} needs a numeric size, got {n}")
        # a symbolic row (a summation index inside MatMul) selects among the entry symbols
        return sp.Piecewise(*[(entry(self.base, r + 1, self.time), sp.Eq(i, r)) for r in range(int(n))])


def elementwise(fn, expr: MatrixExpr) -> MatrixExpr:
    """Apply a scalar SymPy function entrywise to a matrix expression (printed ``\\exp\\left(...\\right)``)."""
    return expr.applyfunc(fn)


class _EntrywiseOnOne(ElementwiseApplyFunction):
    """An entrywise function of a 1 x 1 matrix expression, kept as one.

    SymPy's constructor passes a 1 x 1 argument to the function as if it were a scalar, and ``Lambda(y, y (1 - y))``
    of a matrix expression fails inside MatMul; this class is rebuilt (by xreplace, subs, doit) without that
    shortcut. Printers reach it through ``_print_ElementwiseApplyFunction``.
    """

    def __new__(cls, function, expr):
        return MatrixExpr.__new__(cls, function, _sympify(expr))


def apply_entrywise(fn: sp.Lambda, expr: MatrixExpr) -> MatrixExpr:
    """``ElementwiseApplyFunction(fn, expr)``, also when ``expr`` is 1 x 1."""
    if expr.shape == (1, 1):
        return _EntrywiseOnOne(fn, expr)
    return ElementwiseApplyFunction(fn, expr)


def hadamard(*factors: MatrixExpr) -> MatrixExpr:
    """The elementwise product (printed with ``\\odot``)."""
    return sp.HadamardProduct(*factors)


class ScaledMatrix(MatrixExpr):
    """A matrix shown with a scalar factor, ``\\frac{1}{10}\\begin{bmatrix}...\\end{bmatrix}``: their product."""

    def __new__(cls, factor, entries: sp.Matrix):
        return super().__new__(cls, _sympify(factor), sp.ImmutableMatrix(entries))

    factor = property(lambda self: self.args[0])
    matrix = property(lambda self: self.args[1])
    shape = property(lambda self: self.args[1].shape)

    def _entry(self, i, j, **kwargs):
        return self.factor * self.matrix[i, j]

    def as_explicit(self) -> sp.ImmutableMatrix:
        return sp.ImmutableMatrix(self.factor * self.matrix)


def factored(m: sp.Matrix) -> ScaledMatrix:
    """A rational matrix as ``(1/d) * integer matrix``, d the least common denominator (the lecture's form)."""
    d = sp.ilcm(*[sp.Rational(e).q for e in m]) if len(m) else 1
    return ScaledMatrix(sp.Rational(1, d), m * d)


class DotsMatrix(MatrixExpr):
    """A matrix or column of entry symbols of symbolic size, printed with ``\\cdots``/``\\vdots``/``\\ddots``.

    A column can carry a time index: ``\\begin{bmatrix} h_{1,t} \\\\ \\vdots \\\\ h_{N,t} \\end{bmatrix}``.
    """

    def __new__(cls, base: str, rows, cols, time=None):
        base = check_name(_name(base))
        args = (sp.Symbol(base), _sympify(rows), _sympify(cols))
        return super().__new__(cls, *args, *(() if time is None else (_sympify(time),)))

    base = property(lambda self: self.args[0].name)
    shape = property(lambda self: (self.args[1], self.args[2]))
    time = property(lambda self: self.args[3] if len(self.args) > 3 else None)

    def entry_symbol(self, r, c) -> sp.Symbol:
        """The (1-based) entry ``base_{r,c}``, or ``base_{r,time}`` for a time-indexed column."""
        if self.time is not None:
            return entry(self.base, r, self.time)
        return entry(self.base, r, c)

    def _entry(self, i, j, **kwargs):
        return self.entry_symbol(i + 1, j + 1)


class VecShift(MatrixExpr):
    """``\\vec{\\xi} - 1``: a vector with a scalar added to every entry (the lecture's ``\\vec{\\xi} - 1``)."""

    def __new__(cls, vector: MatrixExpr, shift):
        return super().__new__(cls, vector, _sympify(shift))

    vector = property(lambda self: self.args[0])
    shift = property(lambda self: self.args[1])
    shape = property(lambda self: self.args[0].shape)

    def _entry(self, i, j, **kwargs):
        return self.vector[i, j] + self.shift


class Applied(MatrixExpr):
    """A named vector function applied to vectors: the RNN's ``g(U\\vec{h}_{t-1}, W\\vec{x}_t)``, ``softmax(...)``.

    Display only: what the function means is given by :mod:`symrnn.nonlinearities`.  The value has the shape of
    the first argument.
    """

    def __new__(cls, name: str, *args: MatrixExpr):
        if not args:
            raise ValueError(f"{name} needs at least one argument")
        return super().__new__(cls, sp.Symbol(check_name(_name(name))), *args)

    name = property(lambda self: self.args[0].name)
    arguments = property(lambda self: self.args[1:])
    shape = property(lambda self: self.args[1].shape)


class FunctionEntry(sp.Expr):
    """``\\operatorname{softmax}_j(\\vec{\\xi} - 1)``: entry ``index`` of a named vector function of a vector."""

    is_commutative = True

    def __new__(cls, name: str, index, argument: MatrixExpr):
        return super().__new__(cls, sp.Symbol(check_name(_name(name))), _sympify(index), argument)

    name = property(lambda self: self.args[0].name)
    index = property(lambda self: self.args[1])
    argument = property(lambda self: self.args[2])


# ---- the LSTM section's notation --------------------------------------------------------------------------------


class Gate(Vec):
    """An LSTM gate ``f_t``: a column vector the lecture writes without an arrow (``f_t``, ``i_t``, ``o_t``)."""


class Juxtaposed(MatrixExpr):
    """An elementwise product written as the lecture writes it, by juxtaposition: ``f_t \\vec{c}_{t-1}``.

    Display only; :func:`symrnn.lstm.computational` turns it into a ``HadamardProduct``.
    """

    def __new__(cls, *factors: MatrixExpr):
        if len(factors) < 2:
            raise ValueError("a product needs at least two factors")
        shapes = {f.shape for f in factors}
        if len(shapes) != 1:
            raise ValueError(f"an elementwise product needs equal shapes, got {sorted(map(str, shapes))}")
        return super().__new__(cls, *factors)

    factors = property(lambda self: self.args)
    shape = property(lambda self: self.args[0].shape)

    def _entry(self, i, j, **kwargs):
        return sp.Mul(*[f[i, j] for f in self.args])


class VecDerivative(MatrixExpr):
    """``\\frac{d\\mathfrak{L}}{d\\vec{h}_t}``: the derivative of a scalar in a vector, itself a column vector.

    Display only (``partial=True`` prints ``\\partial``); a check maps it to the quantity it names.
    """

    def __new__(cls, expr, variable: MatrixExpr, partial: bool = False):
        return super().__new__(cls, _sympify(expr), variable, sp.true if partial else sp.false)

    expr = property(lambda self: self.args[0])
    variable = property(lambda self: self.args[1])
    partial = property(lambda self: bool(self.args[2]))
    shape = property(lambda self: self.args[1].shape)


class LayerCopy(MatrixExpr):
    """``U^{(t)}``: the copy of a shared matrix used at step ``t`` when the unrolled network is read as a deep
    network (one layer per step); ``dL/dU`` is the sum over t of ``dL/dU^{(t)}``."""

    def __new__(cls, matrix: MatrixExpr, step):
        return super().__new__(cls, matrix, _sympify(step))

    matrix = property(lambda self: self.args[0])
    step = property(lambda self: self.args[1])
    shape = property(lambda self: self.args[0].shape)
