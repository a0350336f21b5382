"""Grammar: what a factor starts with (a number, a letter, a command, an environment, ``(...)``) and argument lists.

Each kind is handed on to its construct's rules: ``P(`` to :mod:`.relations`, ``\\frac``/``\\sum``/``\\max`` to
:mod:`.calculus`, names and function application to :mod:`.functions`, environments to :mod:`.matrices`.
"""

from __future__ import annotations

import sympy as sp

from symrnn import notation as nt
from symrnn.latex.parse.core import ParserCore
from symrnn.latex.parse.tokens import GREEK, Token


class PrimariesMixin(ParserCore):
    """Primaries, parenthesised groups and argument lists."""

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
        """The name inside ``\\vec{...}``: a letter or a Greek command."""
        braced = self.at_sym("{")
        if braced:
            self.take()
        inner = self.take()
        if inner.kind == "letter":
            name = inner.value
        elif inner.kind == "cmd" and inner.value in GREEK:
            name = inner.value
        else:
            raise self.error("\\vec takes a letter or a Greek letter", inner)
        if braced:
            self.expect_sym("}", "after the vector's name")
        return name
