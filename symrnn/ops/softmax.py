"""Softmax and log-softmax of each column, with their rules."""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn.ops.registry import Rule, register


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


def column_sums(expr: MatrixExpr) -> MatrixExpr:
    """``1 1^T expr``: every entry replaced by its column's sum (valid for a batch of columns)."""
    return sp.MatMul(sp.OneMatrix(expr.shape[0], expr.shape[0]), expr)


def _softmax_vjp(node, grad):
    sg = sp.HadamardProduct(node, grad)
    return [(node.arg, sg - sp.HadamardProduct(node, column_sums(sg)))]


def _log_softmax_vjp(node, grad):
    return [(node.arg, grad - sp.HadamardProduct(Softmax(node.arg), column_sums(grad)))]


def _evaluate(node, recurse, numbers):
    a = recurse(node.arg)
    a = a - numbers.column_max(a)
    e = numbers.apply(sp.exp, a)
    s = e / numbers.column_sum(e)
    return numbers.apply(sp.log, s) if isinstance(node, LogSoftmax) else s


def _explicit(node, recurse):
    return type(node)(recurse(node.arg)).as_explicit()


register(Rule(Softmax, vjp=_softmax_vjp, explicit=_explicit, evaluate=_evaluate, saves_output=True))
register(Rule(LogSoftmax, vjp=_log_softmax_vjp, explicit=_explicit, evaluate=_evaluate, saves_output=True))
