"""Grammar: what a factor starts with (a number, a letter, a command, an environment, ``(...)``) and argument lists.

Each kind is handed on to its construct's rules: ``P(`` to :mod:`.relations`, ``\\frac``/``\\sum``/``\\max``/
``\\partial``/``\\nabla`` to :mod:`.calculus`, names and function application to :mod:`.functions`, environments to
:mod:`.matrices`.  Norms (``\\|v\\|^2``, ``\\lVert v \\rVert_2^2``) are read here.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.latex.parse.core import ParserCore
from symrnn.latex.parse.errors import Unexpected
from symrnn.latex.parse.tokens import ACCENTS, GREEK, Token, deadline_check

_CLOSERS = {"Vert": "Vert", "lVert": "rVert"}  # a norm's opening bar and its closing one


class PrimariesMixin(ParserCore):
    """Primaries, parenthesised groups and argument lists."""

    norm_depth = 0  # inside \\|...\\|, the next \\| closes the norm (it does not start a factor)

    def primary(self):
        tok = self.peek()
        if tok.kind == "num":
            self.take()
            return self.number(tok)
        if tok.kind == "letter":
            return self.letter()
        if tok.kind == "begin":
            return self.environment()
        if tok.kind == "text":
            return self.text_command()
        if tok.kind == "sym" and tok.value == "(":
            return self.group()
        if tok.kind == "cmd":
            return self.command()
        raise self.error(f"expected an expression, found {self.describe(tok)}")

    def group(self):
        """``(...)`` or ``\\left(...\\right)``: one expression (a comma list only as function arguments)."""
        items = self.arguments()
        if len(items) != 1:
            raise self.error("a comma list in parentheses is only allowed as function arguments")
        return items[0]

    def at_open(self) -> bool:
        return self.at_sym("(") or (self.at("cmd", "left") and self.peek().arg in "([")

    def arguments(self) -> list:
        saved, self.norm_depth = self.norm_depth, 0  # inside parentheses \\| opens a norm again
        try:
            return self.argument_list()
        finally:
            self.norm_depth = saved

    def argument_list(self) -> list:
        tok = self.take()
        left = tok.kind == "cmd"
        if left and tok.arg == "[":
            closer = "]"
        else:
            closer = ")"
        items = [self.relation()]
        while self.at_sym(","):
            self.take()
            items.append(self.relation())
        end = self.peek()
        if left:
            if not (end.kind == "cmd" and end.value == "right" and end.arg == closer):
                raise self.error(f"expected \\right{closer}, found {self.describe(end)}")
        elif not (end.kind == "sym" and end.value == closer):
            raise self.error(f"expected {closer!r}, found {self.describe(end)}")
        self.take()
        return items

    def letter(self):
        tok = self.take()
        name = tok.value
        if name == "P" and self.at_open():
            return self.probability()
        if name == "e" and self.at_sym("^"):
            self.take()
            return sp.exp(self.script(), evaluate=False)
        if name == "e" and not self.at_sym("_"):
            return sp.E  # as SymPy prints exp(1); the lecture writes e only as the base of exp
        if name == "g" and (self.at_open() or self.at_sym("{")):
            return self.apply("g", None, tok)
        if name == "O" and self.at_open():
            return self.order()
        if self.function_ahead(name):
            return self.apply(name, None, tok)
        indices = self.subscripts()
        if name == "g" and indices is not None and self.at_open():
            return self.apply("g", indices, tok)
        return self.name(name, indices, tok)

    def command(self):
        tok = self.peek()
        name = tok.value
        if name in GREEK:
            self.take()
            if name == "sigma" and (self.at_open() or self.at_sym("{")):
                return self.apply("sigma", None, tok)
            if self.function_ahead(name):
                return self.apply(name, None, tok)
            indices = self.subscripts()
            if name == "sigma" and indices is not None and self.at_open():
                return self.apply("sigmoid", indices, tok)
            return self.name(name, indices, tok)
        if name == "left":
            if tok.arg not in "([":
                raise self.error(f"\\left{tok.arg} is not supported here", tok)
            return self.group()
        if name in ("exp", "ln", "log", "tanh"):
            self.take()
            return self.named_function(name, tok)
        if name == "frac":
            self.take()
            return self.fraction(tok)
        if name == "vec":
            self.take()
            inner = self.take_group_name(tok)
            return self.name(inner, self.subscripts(), tok, vector=True)
        if name in ACCENTS:  # \\tilde{\\mathbf{h}}: the tokeniser leaves the braced name to the grammar
            self.take()
            return self.accented(tok)
        if name in _CLOSERS:
            self.take()
            return self.norm(tok)
        if name == "ell":
            self.take()
            if self.function_ahead(name):
                return self.apply(name, None, tok)
            return self.name(name, self.subscripts(), tok)
        if name in ("partial", "nabla"):
            self.take()
            return self.operator_derivative(tok)
        if name in ("sum", "prod"):
            self.take()
            return self.big_operator(name, tok)
        if name == "max":
            self.take()
            return self.maximum(tok)
        if name in ("dots", "ldots"):
            self.take()
            return nt.Dots()
        if name == "cdot":
            self.take()
            return sp.Symbol(r"\cdot")
        if name == "infty":
            self.take()
            return sp.oo
        raise self.error(f"{self.describe(tok)} cannot start an expression here", tok)

    def take_group_name(self, tok: Token) -> str:
        """The name inside ``\\vec{...}``: a letter, a Greek command or an accented letter (``\\vec{\\tilde{h}}``,
        the vector named ``htilde``)."""
        braced = self.at_sym("{")
        if braced:
            self.take()
        inner = self.take()
        if inner.kind == "letter":
            name = inner.value
        elif inner.kind == "cmd" and inner.value in GREEK:
            name = inner.value
        elif inner.kind == "text" and inner.value in ACCENTS and inner.arg.isalpha() and len(inner.arg) == 1:
            name = inner.arg + inner.value
        else:
            raise self.error("\\vec takes a letter or a Greek letter", inner)
        if braced:
            self.expect_sym("}", "after the vector's name")
        return name

    # -- abstract functions and norms --
    def function_ahead(self, name: str) -> bool:
        """``f(x)``, ``\\phi(z)``, ``\\ell(y, o)``: a letter of ``Sizes.functions`` before parentheses (or SymPy's
        ``f{\\left(x \\right)}``), or any lower-case or Greek letter before a comma list (``h(x, y)``)."""
        if len(name) == 1 and name.isupper():
            return False
        if name in self.sizes.functions:
            return self.at_open() or (self.at_sym("{") and self.at("cmd", "left", ahead=1))
        return self.at_open() and self.comma_list_ahead()

    def comma_list_ahead(self) -> bool:
        """True if the parenthesised group that starts here holds a comma at its own level."""
        level, ahead = 0, 0
        while True:
            tok = self.peek(ahead)
            if tok.kind == "eof":
                return False
            if ahead % 256 == 255:
                deadline_check(self.deadline, tok.pos, self.text)
            if (tok.kind == "sym" and tok.value in "([{") or (tok.kind == "cmd" and tok.value == "left"):
                level += 1
            elif (tok.kind == "sym" and tok.value in ")]}") or (tok.kind == "cmd" and tok.value == "right"):
                level -= 1
                if level == 0:
                    return False
            elif level == 1 and tok.kind == "sym" and tok.value == ",":
                return True
            ahead += 1

    def norm(self, tok: Token):
        """``\\|v\\|``, ``\\lVert v \\rVert``, with an optional ``_2``: the Euclidean norm of a vector.  Squared
        (``^2``) it is ``v^T v`` (a 1 x 1 matrix, as the notation's products of vectors are); unsquared, the entrywise
        square root of that."""
        self.norm_depth += 1
        try:
            inner = self.expr()
        finally:
            self.norm_depth -= 1
        close = self.peek()
        if not (close.kind == "cmd" and close.value == _CLOSERS[tok.value]):
            raise self.error(f"expected the norm's closing bar, found {self.describe(close)}", close)
        self.take()
        if self.at_sym("_"):
            sub = self.take()
            order = self.script()
            if order != 2:
                raise self.error("only the Euclidean norm (_2) is read", sub, Unexpected)
        if not isinstance(inner, MatrixExpr) or inner.shape[1] != 1:
            raise self.error("a norm \\|...\\| is read of a vector only", tok, Unexpected)
        square = sp.MatMul(sp.Transpose(inner), inner)
        for pattern in ((("sym", "^"), ("num", "2")), (("sym", "^"), ("sym", "{"), ("num", "2"), ("sym", "}"))):
            if all(self.at(kind, value, ahead=n) for n, (kind, value) in enumerate(pattern)):
                for _ in pattern:
                    self.take()
                return square
        return sp.HadamardPower(square, sp.S.Half)
