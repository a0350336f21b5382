"""Grammar: fractions and derivatives (``d`` versus ``\\partial``, gradients), ``\\sum``, ``\\prod``, ``\\max_i``,
``\\max(a, b)`` and SymPy's ``O(...)``.

A fraction whose parts both start with ``d`` (``\\mathrm{d}``) or ``\\partial`` is a derivative, also as an
operator (``\\frac{d}{dt} x``, ``\\frac{\\partial}{\\partial w} L``), and so are ``\\partial L / \\partial w``,
``\\partial_w L`` and ``\\nabla_{\\mathbf{W}} L`` (the gradient, a total derivative); a scalar's derivative in a
vector or matrix is a gradient of that shape (:class:`symrnn.notation.VecDerivative`).  An unparenthesised
``\\sum_i``, ``\\max_i``, derivative operator or bounded ``\\sum``/``\\prod`` takes the rest of the product as its
body; a bounded one runs over the range between its bounds, whichever way they are written (:func:`ordered`).
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.latex.parse.core import ParserCore
from symrnn.latex.parse.errors import DivisionByZero, ShapeMismatch, Unbalanced, Unexpected
from symrnn.latex.parse.objects import MatrixProduct
from symrnn.latex.parse.tokens import GREEK, Token
from symrnn.ops import relu


def _is_marker(tok: Token, marker: str) -> bool:
    if marker == "d":
        return (tok.kind == "letter" and tok.value == "d") or (tok.kind == "text" and tok.arg == "d"
                                                                 and tok.value in ("mathrm", "text", "operatorname"))
    return tok.kind == "cmd" and tok.value == "partial"


class CalculusMixin(ParserCore):
    """Fractions, derivatives, sums, products and maxima."""

    def fraction(self, tok: Token):
        (a0, a1), (b0, b1) = self.brace_span(), self.brace_span()
        first_num, first_den = self.toks[a0], self.toks[b0]
        for marker in ("d", "partial"):
            if _is_marker(first_num, marker) and _is_marker(first_den, marker) and b1 - b0 > 1:
                var = self.sub_parse(b0 + 1, b1, self.factor)
                if a1 - a0 == 1:  # \\frac{d}{dt} x: an operator on the rest of the product
                    return self.derivative(self.operand(tok), var, marker)
                return self.derivative(self.sub_parse(a0 + 1, a1, self.expr), var, marker)
        scaled = self.scaled_derivative(tok, a0, a1, b0, b1)
        if scaled is not None:
            return scaled
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

    def scaled_derivative(self, tok: Token, a0: int, a1: int, b0: int, b1: int):
        """``\\frac{\\partial \\ell}{T \\cdot \\partial \\mathbf{o}_t}``: a partial derivative divided by the factor
        written before ``\\partial`` in the denominator (``1/T`` times the derivative); None if not this form."""
        if not _is_marker(self.toks[a0], "partial"):
            return None
        depth, at = 0, None
        for k in range(b0, b1):
            kind, value = self.toks[k].kind, self.toks[k].value
            depth += (kind == "sym" and value in "([{") - (kind == "sym" and value in ")]}")
            if depth == 0 and k > b0 and kind == "cmd" and value == "partial":
                at = k
                break
        if at is None or at + 1 >= b1:
            return None
        stop = at - 1 if self.toks[at - 1].kind == "cmd" and self.toks[at - 1].value in ("cdot", "times") else at
        if stop <= b0:
            return None
        scale = self.sub_parse(b0, stop, self.expr)
        if isinstance(scale, MatrixExpr) or self.is_zero(scale):
            raise self.error("a derivative's denominator holds a factor that is not a nonzero number", tok,
                             ShapeMismatch if isinstance(scale, MatrixExpr) else DivisionByZero)
        var = self.sub_parse(at + 1, b1, self.factor)
        value = self.derivative(self.operand(tok) if a1 - a0 == 1 else self.sub_parse(a0 + 1, a1, self.expr), var,
                                "partial")
        inverse = self.power(scale, sp.S.NegativeOne, tok)
        if isinstance(value, MatrixExpr):
            return self.sized(sp.MatMul(inverse, value), tok)
        return self.sized(sp.Mul(inverse, value, evaluate=False), tok)

    def derivative(self, numer, var, marker: str):
        """``d numer / d var`` (``marker`` ``"d"``) or the partial one; of a scalar in a vector or matrix, the
        gradient, shaped as ``var``."""
        if isinstance(var, MatrixExpr) and not isinstance(numer, MatrixExpr):
            return nt.VecDerivative(numer, var, partial=marker == "partial")
        cls = nt.TotalDerivative if marker == "d" else nt.PartialDerivative
        return cls(numer, var)

    def operand(self, tok: Token):
        """What a derivative operator applies to: the rest of the product."""
        if not self.starts_factor():
            raise self.error(f"{self.describe(tok)} needs what it differentiates", tok)
        return self.term()

    def operator_derivative(self, tok: Token):
        """After ``\\partial`` or ``\\nabla``: ``\\partial_w L``, ``\\nabla_{\\mathbf{W}} L`` (the gradient: a total
        derivative, as ``\\frac{dL}{d\\mathbf{W}}``) or ``\\partial L / \\partial \\mathbf{h}_t``."""
        marker = "partial" if tok.value == "partial" else "d"
        if self.at_sym("_"):
            self.take()
            if self.at_sym("{"):
                self.take()
                var = self.expr()
                self.expect_sym("}", "after the variable")
            else:
                var = self.primary()
            if marker == "d":  # \nabla_{h} L \odot g: the gradient of one factor (the loss), then the product
                if not self.starts_factor():
                    raise self.error(f"{self.describe(tok)} needs what it differentiates", tok)
                return self.derivative(self.factor(), var, marker)
            return self.derivative(self.operand(tok), var, marker)
        if marker == "d":
            raise self.error("\\nabla needs its variable: \\nabla_{W} L", tok)
        numer = self.factor()
        slash = self.expect_sym("/", "in \\partial f / \\partial x")
        if not self.at("cmd", "partial"):
            raise self.error(f"expected \\partial after '/', found {self.describe(self.peek())}", slash)
        self.take()
        return self.derivative(numer, self.factor(), marker)

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
        indices = self.script(index=True)
        index = indices[0] if len(indices) == 1 else sp.Tuple(*indices)  # \\sum_{h_1, \\ldots, h_T}: over each
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
        if isinstance(body, sp.Basic) and any(var in inner.variables for inner in body.atoms(sp.Sum, sp.Product)):
            # SymPy would substitute into the inner sum and expand it: 10^10 terms for \sum_{t=1}^{10^{10}}
            raise self.error(f"\\{name}'s index {var} is already the index of a sum or product inside it", tok)
        if name == "prod" and MatrixProduct.takes(body):  # matrices do not commute: the bounds as written
            return MatrixProduct.over(body, (var, lo, hi))
        lo, hi = ordered(lo, hi)
        return (sp.Sum if name == "sum" else sp.Product)(body, (var, lo, hi))

    def maximum(self, tok: Token):
        """``\\max_i body``: the largest over the states; ``\\max(a, b)``: the larger of two numbers, and of 0 and a
        vector its ReLU."""
        if self.at_open():
            args = self.arguments()
            if len(args) != 2:
                raise self.error("\\max(...) takes two arguments", tok)
            vectors = [a for a in args if isinstance(a, MatrixExpr)]
            if not vectors:
                return sp.Max(*args)
            if len(vectors) == 1 and any(self.is_zero(a) for a in args):
                return nt.elementwise(relu, vectors[0])
            raise self.error("\\max(...) of vectors is read only as \\max(0, v), the entrywise ReLU", tok, Unexpected)
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


def ordered(lo, hi) -> tuple:
    """A bounded sum's or product's bounds in ascending order: it runs over the range between them, whichever way it
    is written.  ``\\prod_{j=5}^{2}`` is j = 2..5 and ``\\prod_{j=t}^{i}`` (a derivation going back in time) is
    j = i..t; an upper bound one below the lower (``\\prod_{j=t+1}^{t}``) is the empty range, as written.  When
    the difference is not a number, the later bound is the one in T, then t, then any other letter, then a number."""
    diff = hi - lo
    if diff.is_number:
        return (hi, lo) if (diff + 1).is_extended_negative else (lo, hi)
    return (hi, lo) if _lateness(lo) > _lateness(hi) else (lo, hi)


def _lateness(bound) -> int:
    names = {s.name for s in bound.free_symbols if isinstance(s, sp.Symbol)}
    return 2 if "T" in names else 1 if "t" in names else 0 if names else -1
