"""The entrywise ratio ``a / b`` (the lecture would write ``\\oslash``), with its rules."""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn.ops.registry import Rule, register


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


def _explicit(node, recurse):
    num, den = recurse(node.num), recurse(node.den)
    return sp.ImmutableMatrix(num.shape[0], num.shape[1], lambda i, j: num[i, j] / den[i, j])


register(Rule(Ratio, split="operands",
              vjp=lambda node, g: [(node.num, Ratio(g, node.den)),
                                   (node.den, -sp.HadamardProduct(g, Ratio(node, node.den)))],
              explicit=_explicit,
              evaluate=lambda node, recurse, numbers: recurse(node.num) / recurse(node.den)))
