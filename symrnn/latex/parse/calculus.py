"""Grammar: fractions and derivatives (``d`` versus ``\\partial``, gradients), ``\\sum``, ``\\prod``, ``\\max_i``
and SymPy's ``O(...)``.

A fraction whose parts both start with ``d`` (or ``\\partial``) is a derivative; a scalar's derivative in a vector
or matrix is a gradient of that shape (:class:`symrnn.notation.VecDerivative`).  An unparenthesised ``\\sum_i``,
``\\max_i`` or bounded ``\\sum``/``\\prod`` takes the rest of the product as its body.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.latex.parse.core import ParserCore
from symrnn.latex.parse.errors import DivisionByZero, ShapeMismatch, Unbalanced
from symrnn.latex.parse.tokens import GREEK, Token


def _is_marker(tok: Token, marker: str) -> bool:
    if marker == "d":
        return tok.kind == "letter" and tok.value == "d"
    return tok.kind == "cmd" and tok.value == "partial"


class CalculusMixin(ParserCore):
    """Fractions, derivatives, sums, products and maxima."""

    def fraction(self, tok: Token):
        (a0, a1), (b0, b1) = self.brace_span(), self.brace_span()
        first_num, first_den = self.toks[a0], self.toks[b0]
        for marker in ("d", "partial"):
            if _is_marker(first_num, marker) and _is_marker(first_den, marker) and a1 - a0 > 1 and b1 - b0 > 1:
                numer = self.sub_parse(a0 + 1, a1, self.expr)
                var = self.sub_parse(b0 + 1, b1, self.factor)
                if isinstance(var, MatrixExpr) and not isinstance(numer, MatrixExpr):  # a gradient: shaped as var
                    return nt.VecDerivative(numer, var, partial=marker == "partial")
                cls = nt.TotalDerivative if marker == "d" else nt.PartialDerivative
                return cls(numer, var)
        numer = self.sub_parse(a0, a1, self.expr)
        denom = self.sub_parse(b0, b1, self.expr)
        if isinstance(denom, MatrixExpr):
            raise self.error("division by a matrix", tok, ShapeMismatch)
        if self.is_zero(denom):  # \frac{1}{0} and \frac{x}{0} alike: never SymPy's zoo
            raise self.error("division by zero", tok, DivisionByZero)
        if numer.is_Integer and denom.is_Integer:
            value = self.sized(sp.Rational(numer, denom), tok)
            self.second_reading(a0 - 2, b1 + 1, [value], self.toks[b1])  # the whole \\frac{a}{b}
            return value
        inverse = self.power(denom, sp.S.NegativeOne, tok)
        if isinstance(numer, MatrixExpr):
            return self.sized(sp.MatMul(inverse, numer), tok)
        return self.sized(sp.Mul(numer, inverse, evaluate=False), tok)

    def brace_span(self) -> tuple[int, int]:
        """The token range inside the next ``{...}`` (skipped over; parsed later by :meth:`sub_parse`)."""
        self.expect_sym("{", "to open a fraction's part")
        start, level = self.i, 1
        while True:
            tok = self.take()
            if tok.kind == "sym" and tok.value == "{":
                level += 1
            elif tok.kind == "sym" and tok.value == "}":
                level -= 1
                if level == 0:
                    if self.i - 1 == start:
                        raise self.error("an empty fraction part", tok)
                    return start, self.i - 1
            elif tok.kind == "eof":
                raise self.error("a fraction part is never closed", tok, Unbalanced)

    def big_operator(self, name: str, tok: Token):
        if not self.at_sym("_"):
            raise self.error(f"\\{name} needs a subscript", tok)
        self.take()
        if self.at_sym("{") and self.peek(2).kind == "sym" and self.peek(2).value == "=":
            return self.bounded(name, tok)
        (index,) = self.script(index=True)
        if self.at_sym("^"):
            raise self.error(f"\\{name}_{index}^... needs a start: \\{name}_{{{index}=1}}^...", tok)
        if name == "prod":
            raise self.error("\\prod needs bounds: \\prod_{t=1}^T", tok)
        return nt.StateSum(self.term(), index)

    def bounded(self, name: str, tok: Token):
        """``\\sum_{t=1}^{T} body`` or ``\\prod_{t=1}^{T} body`` (after the ``_``)."""
        self.take()
        var_tok = self.take()
        if var_tok.kind == "letter":
            var = self.letter_symbol(var_tok.value)
        elif var_tok.kind == "cmd" and var_tok.value in GREEK:
            var = self.greek(var_tok.value)
        else:
            raise self.error(f"\\{name}'s index must be a letter", var_tok)
        self.expect_sym("=")
        lo = self.index_expr()
        self.expect_sym("}")
        if not self.at_sym("^"):
            raise self.error(f"\\{name}_{{{var}=...}} needs an upper bound ^...", tok)
        self.take()
        hi = self.script()
        body = self.term()
        return (sp.Sum if name == "sum" else sp.Product)(body, (var, lo, hi))

    def maximum(self, tok: Token):
        """``\\max_i body``: the largest over the states."""
        if not self.at_sym("_"):
            raise self.error("\\max needs an index: \\max_i", tok)
        self.take()
        (index,) = self.script(index=True)
        return nt.StateMax(self.term(), index)

    def order(self):
        """SymPy's ``O\\left(expr; z\\rightarrow a\\right)``: terms of the order of ``expr`` as ``z -> a``."""
        self.take()
        body = self.expr()
        point = None
        if self.at_sym(";"):
            self.take()
            var = self.expr()
            if not (self.at("cmd", "rightarrow") and isinstance(var, sp.Symbol)):
                raise self.error("expected 'z \\rightarrow a' in O(...)")
            self.take()
            point = (var, self.expr())
        end = self.take()
        if not ((end.kind == "cmd" and end.value == "right") or (end.kind == "sym" and end.value == ")")):
            raise self.error(f"expected ')' to close O(, found {self.describe(end)}", end)
        return sp.Order(body, point) if point else sp.Order(body)
