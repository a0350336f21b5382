"""Grammar: sub- and superscripts, and indices (``h_{i,t}``, ``Y_{query}``, ``X_{1}, \\dots``).

A braced script that is plain arithmetic (``t-1``, ``V+1``) is where the backend gives its second reading.  A
subscript written as text (``W_\\textrm{hh}``, ``W_{\\mathrm{xh}}``) is a :class:`TextSubscript`: part of the name,
never an index (:mod:`.functions` decides the other subscripts from :class:`.sizes.Sizes`).
"""

from __future__ import annotations

import sympy as sp

from symrnn import notation as nt
from symrnn.latex.parse.core import ParserCore
from symrnn.latex.parse.errors import RefusedName
from symrnn.latex.parse.tokens import GREEK, WORD, Token

#: Text commands whose argument, as a subscript, is part of a name (``\\textrm`` is read as ``\\text``).
NAME_TEXT = frozenset({"text", "mathrm", "operatorname", "mathit"})


class TextSubscript(sp.Symbol):
    """A subscript written as text, ``\\textrm{hh}`` in ``\\mathbf{W}_\\textrm{hh}``: always part of the name."""


class ScriptsMixin(ParserCore):
    """Scripts and indices."""

    def script_tokens(self) -> list[Token]:
        if self.at_sym("{"):
            self.take()
            out = []
            while not self.at_sym("}"):
                out.append(self.take())
            self.take()
            return out
        return [self.take()]

    def script(self, index: bool = False):
        """A sub- or superscript: a braced group (a comma list in an index) or one token."""
        tok = self.peek()
        if index and self.at_text_subscript():
            return [self.text_subscript()]
        if self.at_sym("{") and self.peek(1).kind in ("letter", "num", "cmd") and self.at("sym", "}", ahead=2) \
                and (self.peek(1).kind != "cmd" or self.peek(1).value in GREEK):
            self.take()  # {f} is f: one token in braces is read as the token alone, as TeX sets it
            value = self.script(index)
            self.expect_sym("}", "to close the script")
            return value
        if self.at_sym("{"):
            self.take()
            start = self.i
            items = [self.index_expr() if index else self.expr()]
            while index and self.at_sym(","):
                self.take()
                items.append(self.index_expr())
            end = self.expect_sym("}", "to close the script")
            self.second_reading(start, self.i - 1, items, end)
            return items if index else items[0]
        if tok.kind == "num":
            self.take()
            value = self.number(tok)
            return [value] if index else value
        if tok.kind == "letter":
            self.take()
            value = self.letter_symbol(tok.value)
            return [value] if index else value
        if tok.kind == "cmd" and tok.value in GREEK:
            self.take()
            value = self.greek(tok.value)
            return [value] if index else value
        raise self.error(f"expected a sub- or superscript, found {self.describe(tok)}")

    def at_text_subscript(self) -> bool:
        """``\\textrm{hh}`` or ``{\\mathrm{xh}}`` next."""
        ahead = 1 if self.at_sym("{") else 0
        tok = self.peek(ahead)
        if tok.kind != "text" or tok.value not in NAME_TEXT:
            return False
        return not ahead or self.at("sym", "}", ahead=2)

    def text_subscript(self) -> TextSubscript:
        braced = self.at_sym("{")
        if braced:
            self.take()
        tok = self.take()
        if braced:
            self.take()
        word = tok.arg.strip()
        if not WORD.match(word):
            raise self.error(f"a subscript \\{tok.value}{{{tok.arg}}} must be a plain word", tok, RefusedName)
        return TextSubscript(word)

    def index_expr(self):
        """An index: arithmetic in which a run of letters is one name (``Y_{query}``)."""
        if self.at("cmd", "dots") or self.at("cmd", "ldots"):
            self.take()
            return nt.Dots()
        word = []
        while self.peek().kind == "letter" and (not word or self.peek().glued):
            word.append(self.peek())
            self.i += 1
        if len(word) > 1 and not self.at_sym("_"):
            name = "".join(t_.value for t_ in word)
            value = sp.Symbol(name)
            return self.continue_index(value)
        self.i -= len(word)
        return self.expr()

    def continue_index(self, value):
        terms = [value]
        while self.at_sym("+", "-"):
            op = self.take()
            v = self.term()
            terms.append(-v if op.value == "-" else v)
        return sp.Add(*terms)

    def subscripts(self) -> list | None:
        if self.at_sym("_"):
            self.take()
            return self.script(index=True)
        return None
