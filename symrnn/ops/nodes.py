"""Operation nodes that SymPy lacks: softmax, log-softmax, entrywise ratio, the largest entry of a vector."""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr


class Softmax(MatrixExpr):
    """``softmax(a)``, column by column: ``e^{a_j} / sum_i e^{a_i}``."""

    def __new__(cls, arg: MatrixExpr):
        return super().__new__(cls, arg)

    arg = property(lambda self: self.args[0])
    shape = property(lambda self: self.args[0].shape)

    def _entry(self, i, j, **kwargs):
        n = self.shape[0]
        return sp.exp(self.arg[i, j]) / sp.Add(*[sp.exp(self.arg[r, j]) for r in range(n)])

    def as_explicit(self) -> sp.ImmutableMatrix:
        a = self.arg.as_explicit() if isinstance(self.arg, MatrixExpr) else sp.ImmutableMatrix(self.arg)
        cols = []
        for c in range(a.cols):
            e = [sp.exp(a[r, c]) for r in range(a.rows)]
            total = sp.Add(*e)
            cols.append([x / total for x in e])
        return sp.ImmutableMatrix(a.rows, a.cols, lambda r, c: cols[c][r])

    def _lecture_latex(self, printer) -> str:
        return rf"\operatorname{{softmax}}\left({printer._print(self.arg)}\right)"

    def _numpycode(self, printer) -> str:
        a = printer._print(self.arg)
        np_ = printer._module_format("numpy")
        return (f"(lambda _a: (lambda _e: _e / _e.sum(axis=0, keepdims=True))"
                f"({np_}.exp(_a - _a.max(axis=0, keepdims=True))))({a})")


class Ratio(MatrixExpr):
    """``a / b`` entrywise (the lecture would write it with ``\\oslash``)."""

    def __new__(cls, num: MatrixExpr, den: MatrixExpr):
        return super().__new__(cls, num, den)

    num = property(lambda self: self.args[0])
    den = property(lambda self: self.args[1])
    shape = property(lambda self: self.args[0].shape)

    def _entry(self, i, j, **kwargs):
        return self.num[i, j] / self.den[i, j]

    def _lecture_latex(self, printer) -> str:
        return rf"{printer._print(self.num)} \oslash {printer._print(self.den)}"

    def _numpycode(self, printer) -> str:
        return f"(({printer._print(self.num)}) / ({printer._print(self.den)}))"


class LogSoftmax(Softmax):
    """``ln softmax(a) = a - logsumexp(a)``, computed without overflow or underflow."""

    def _entry(self, i, j, **kwargs):
        return sp.log(super()._entry(i, j))

    def as_explicit(self) -> sp.ImmutableMatrix:
        return Softmax(self.arg).as_explicit().applyfunc(sp.log)

    def _lecture_latex(self, printer) -> str:
        return rf"\ln\operatorname{{softmax}}\left({printer._print(self.arg)}\right)"

    def _numpycode(self, printer) -> str:
        a = printer._print(self.arg)
        np_ = printer._module_format("numpy")
        return (f"(lambda _s: _s - {np_}.log({np_}.exp(_s).sum(axis=0, keepdims=True)))"
                f"((lambda _a: _a - _a.max(axis=0, keepdims=True))({a}))")


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

    def doit(self, **hints) -> sp.Expr:
        """``Max`` of the entries once the vector has a numeric length."""
        vector = self.vector.doit(**hints) if hints.get("deep", True) else self.vector
        if vector.shape[0].is_Integer:
            return sp.Max(*vector.as_explicit())
        return self.func(vector)
