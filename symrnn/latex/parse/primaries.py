"""Grammar: what a factor starts with (a number, a letter, a command, an environment, ``(...)``) and argument lists.

Each kind is handed on to its construct's rules: ``P(``, ``p(``, ``\\Pr(`` to :mod:`.relations`, ``\\frac``/``\\sum``/
``\\max``/``\\partial``/``\\nabla`` to :mod:`.calculus`, names and function application to :mod:`.functions`,
environments to :mod:`.matrices`.  Norms (``\\|v\\|^2``, ``\\lVert v \\rVert_2^2``, ``\\left\\| v \\right\\|``), groups
(``(...)``, ``[...]``, ``{...}``; a comma list is a tuple), sets ``\\{a, b\\}``, ``\\underbrace`` and the decisions
made by one scan of the tokens (a comma list ahead, ``p(...)``'s events) are read here.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.latex.parse.core import ParserCore
from symrnn.latex.parse.errors import Unexpected
from symrnn.latex.parse.functions import PLAIN_FUNCTIONS
from symrnn.latex.parse.tokens import ACCENTS, FUNCTIONS, GREEK, Token, deadline_check

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
        if tok.kind == "sym" and tok.value == "[":  # [a + b]: brackets group as parentheses do
            return self.group()
        if tok.kind == "sym" and tok.value == "{":  # {\\left(W^\\top\\right)}^{T-i}: a braced group
            return self.braced_group()
        if tok.kind == "cmd":
            return self.command()
        raise self.error(f"expected an expression, found {self.describe(tok)}")

    def group(self):
        """``(...)``, ``[...]`` or ``\\left(...\\right)``: one expression; a comma list is a tuple
        (``(x_1, \\ldots, x_T)``, a sequence: ``sp.Tuple``)."""
        start = self.peek()
        items = self.arguments()
        if len(items) != 1:
            if any(isinstance(x, sp.Basic) and not isinstance(x, sp.Expr) and not isinstance(x, MatrixExpr)
                   for x in items):
                raise self.error("a tuple holds expressions, not relations", start)
            return sp.Tuple(*items)
        return items[0]

    def braced_group(self):
        """``{...}`` standing as a factor: the expression it holds (``{\\left(W\\right)}^{2}``)."""
        self.take()
        inner = self.expr()
        self.expect_sym("}", "to close the group")
        return inner

    def set_literal(self):
        """``\\{a, b, c\\}``: the finite set of what it lists (``sp.FiniteSet``, kept unevaluated)."""
        self.take()
        items = [self.expr()]
        while self.at_sym(","):
            self.take()
            items.append(self.expr())
        if not self.at("cmd", "rbrace"):
            raise self.error(f"expected \\}} to close the set, found {self.describe(self.peek())}")
        self.take()
        if any(isinstance(x, MatrixExpr) or not isinstance(x, sp.Expr) for x in items):
            raise self.error("a set lists numbers, names or words", self.peek())
        return sp.FiniteSet(*items, evaluate=False)

    def braced_note(self, tok: Token):
        """``\\underbrace{e}_{note}`` or ``\\overbrace{e}^{note}``: e; the note (a name or a definition given to e,
        ``_{=: \\pi_2(h_2)}``) annotates it and is skipped."""
        self.expect_sym("{", f"after \\{tok.value}")
        inner = self.expr()
        self.expect_sym("}", f"to close \\{tok.value}")
        if self.at_sym("_" if tok.value == "underbrace" else "^"):
            self.take()
            if not self.at_sym("{"):
                self.take()
                return inner
            level = 0
            while True:  # balanced: the tokeniser checked the braces
                note = self.take()
                if note.kind == "eof":
                    raise self.error(f"the note of \\{tok.value} is never closed", note)
                level += (note.kind == "sym" and note.value == "{") - (note.kind == "sym" and note.value == "}")
                if level == 0:
                    break
        return inner

    def at_open(self, ahead: int = 0) -> bool:
        return self.at("sym", "(", ahead) or (self.at("cmd", "left", ahead=ahead) and self.peek(ahead).arg in "([")

    def arguments(self) -> list:
        saved, self.norm_depth = self.norm_depth, 0  # inside parentheses \\| opens a norm again
        try:
            return self.argument_list()
        finally:
            self.norm_depth = saved

    def argument_list(self) -> list:
        tok = self.take()
        left = tok.kind == "cmd"
        closer = "]" if tok.arg == "[" or tok.value == "[" else ")"
        items = [self.relation()]
        separator = ";" if closer == "]" and self.at_sym(";") else ","  # [h_{t-1}; x_t]: stacked, as with commas
        while self.at_sym(separator):
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
        word = self.plain_function(tok)
        if word:
            return self.named_function(word, tok) if word in FUNCTIONS else self.function_of(word, tok)
        if name == "P" and self.at_open():
            return self.probability()
        if name == "p" and self.at_open() and self.events_ahead():  # p(x_t | h_t); but p(1 - p) is a product
            return self.probability()
        if name == "E" and self.at_sym("[") and self.peek().glued:
            return self.expectation()
        if name == "e" and self.at_sym("^"):
            self.take()
            return sp.exp(self.script(), evaluate=False)
        if name == "e" and not self.at_sym("_"):
            return sp.E  # as SymPy prints exp(1); the lecture writes e only as the base of exp
        if name == "g" and (self.at_open() or self.at_sym("{")):
            return self.apply("g", None, tok)
        if name == "O" and self.at_open():
            return self.order()
        if self.at_prime() and name in self.sizes.functions:
            return self.function_of(name, tok)
        if self.function_ahead(name):
            return self.apply(name, None, tok)
        name += "'" * self.primes()  # h', t': a name of its own
        if self.at_label_superscript(name):  # W^{hx} (Lipton et al.): the label written above, as W_{hx}
            self.take()
            indices = self.script(index=True)
        else:
            indices = self.subscripts()
        if indices is not None and self.function_after_index(name):
            return self.apply(name, indices, tok)
        return self.name(name, indices, tok)

    def at_label_superscript(self, name: str) -> bool:
        """``^{hx}`` after a capital letter: two or more lower-case letters, glued, braced and alone, are a label
        naming the matrix (``W^{hx}``, ``W^{yh}``), never a power; ``W^{k}``, ``W^{T}``, ``W^{(t)}`` are not."""
        if not (len(name) == 1 and name.isupper() and self.at_sym("^") and self.at("sym", "{", ahead=1)):
            return False
        ahead, letters = 2, 0
        while self.peek(ahead).kind == "letter" and self.peek(ahead).value.islower() and ahead < 12:
            if letters and not self.peek(ahead).glued:
                return False
            letters, ahead = letters + 1, ahead + 1
        return letters >= 2 and self.at("sym", "}", ahead=ahead) and not self.at("sym", "_", ahead=ahead + 1)

    def function_of(self, name: str, tok: Token):
        """A function named ``name`` with its primes (``f'(x)``, ``\\sigma'(z)``) applied to what follows."""
        return self.apply(name, None, tok, self.primes())

    def at_prime(self) -> bool:
        """A prime next: ``'`` or ``^{'}``, ``^\\prime``."""
        if self.at_sym("'"):
            return True
        if not self.at_sym("^"):
            return False
        ahead = 2 if self.at("sym", "{", ahead=1) else 1
        return self.at("sym", "'", ahead=ahead) or self.at("cmd", "prime", ahead=ahead)

    def function_after_index(self, name: str) -> bool:
        """``f_W(h, x)``, ``\\phi_l(z)``, ``h_t(w, h)``: after a subscript, a function letter before parentheses or
        any lower-case or Greek name before a comma list."""
        if not self.at_open() or (name[:1].isupper() and len(name) == 1) or name in self.sizes.gates:
            return False
        return name in self.sizes.functions or self.comma_list_ahead()

    def plain_function(self, tok: Token) -> str:
        """``tanh`` written in plain letters (``tanh(x)``, ``tanh^{'}(x)``): the function's name, its letters taken;
        else "" and nothing taken.  The whole word must be one of :data:`.functions.PLAIN_FUNCTIONS`, glued, and be
        followed by ``(``, ``\\left(``, a prime or a power."""
        if tok.glued and self.i >= 2 and self.toks[self.i - 2].kind == "letter":
            return ""
        letters, ahead = [tok.value], 0
        while self.peek(ahead).kind == "letter" and self.peek(ahead).glued and ahead < 8:
            letters.append(self.peek(ahead).value)
            ahead += 1
        word = "".join(letters)
        if word not in PLAIN_FUNCTIONS or self.peek(ahead).kind == "letter":
            return ""
        nxt = self.peek(ahead)
        if not ((nxt.kind == "sym" and nxt.value in "('^") or (nxt.kind == "cmd" and nxt.value == "left")):
            return ""
        for _ in range(ahead):
            self.take()
        return word

    def greek_letter(self, tok: Token):
        """``\\sigma(x)``, ``\\sigma'(z)``, ``\\phi_l(z)``, ``\\xi_t``, ``\\alpha'``: a Greek letter, as a function or a
        name."""
        name = tok.value
        if name == "sigma" and self.at_prime():
            return self.function_of("sigma", tok)
        if name == "sigma" and (self.at_open() or self.at_sym("{")):
            return self.apply("sigma", None, tok)
        if self.at_prime() and name in self.sizes.functions:
            return self.function_of(name, tok)
        if self.function_ahead(name):
            return self.apply(name, None, tok)
        name += "'" * self.primes()
        indices = self.subscripts()
        if name == "sigma" and indices is not None and self.at_open():
            return self.apply("sigmoid", indices, tok)
        if indices is not None and self.function_after_index(name):
            return self.apply(name, indices, tok)
        return self.name(name, indices, tok)

    def command(self):
        tok = self.peek()
        name = tok.value
        if name in GREEK:
            self.take()
            return self.greek_letter(tok)
        if name == "left":
            if tok.arg == "\\|":
                self.take()
                return self.norm(tok)
            if tok.arg not in "([":
                raise self.error(f"\\left{tok.arg} is not supported here", tok)
            return self.group()
        if name in ("exp", "ln", "log", "tanh"):
            self.take()
            return self.named_function(name, tok)
        if name == "Pr" and self.at_open(1):
            self.take()
            return self.probability()
        if name == "frac":
            self.take()
            return self.fraction(tok)
        if name == "vec":
            self.take()
            if self.at_sym("{") and self.at("num", ahead=1) and self.peek(1).value in ("0", "1") \
                    and self.at("sym", "}", ahead=2):
                digit = self.peek(1).value
                self.take(), self.take(), self.take()
                return (sp.ZeroMatrix if digit == "0" else sp.OneMatrix)(nt.N, 1)
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
            if self.function_ahead(name) or self.at_prime():
                return self.function_of(name, tok)
            indices = self.subscripts()
            if indices is not None and self.function_after_index(name):
                return self.apply(name, indices, tok)
            return self.name(name, indices, tok)
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
        if name == "lbrace":
            return self.set_literal()
        if name in ("underbrace", "overbrace"):
            self.take()
            return self.braced_note(tok)
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
        if len(name) == 1 and name.isupper():  # L(x, y, w): a function; L(x) a product
            return name not in "PXY" and self.at_open() and self.comma_list_ahead()
        if name in self.sizes.functions:
            return self.at_open() or (self.at_sym("{") and self.at("cmd", "left", ahead=1))
        return self.at_open() and self.comma_list_ahead()

    def group_ahead(self) -> tuple[list[tuple[Token, int]], bool]:
        """The tokens (with their offsets) at the top level of the bracketed group that starts here, nested groups
        skipped, and whether the group closes before the end of the input.  A scan, no reading."""
        level, ahead, top = 0, 0, []
        while True:
            tok = self.peek(ahead)
            if tok.kind == "eof":
                return top, False
            if ahead % 256 == 255:
                deadline_check(self.deadline, tok.pos, self.text)
            if (tok.kind == "sym" and tok.value in "([{") or (tok.kind == "cmd" and tok.value in ("left", "lbrace")):
                level += 1
            elif (tok.kind == "sym" and tok.value in ")]}") or (tok.kind == "cmd" and tok.value in ("right",
                                                                                                     "rbrace")):
                level -= 1
                if level == 0:
                    return top, True
            elif level == 1:
                top.append((tok, ahead))
            ahead += 1

    def events_ahead(self) -> bool:
        """Whether the parenthesised group that starts here reads as a lower-case ``p``'s events: something is
        given (``|``, ``\\mid``) or a ``;`` separates events, or it holds no arithmetic at its own level
        (``p(x)``, ``p(x_1, \\ldots, x_T)``, ``p(x = 1)``), unlike ``p(1 - p)`` (a product)."""
        top, closed = self.group_ahead()
        if any(tok.kind == "sym" and tok.value in "|;" for tok, _ in top):
            return True
        arithmetic = any(
            (tok.kind == "sym" and tok.value in "+-/") or (tok.kind == "cmd" and tok.value in ("cdot", "times",
                                                                                                 "frac", "odot"))
            or (tok.kind == "num" and not any(self.at("sym", s_, ahead=ahead - 1) for s_ in "=_^"))
            for tok, ahead in top)  # a number is arithmetic unless it is a value (x = 1) or a script (x_1)
        return closed and not arithmetic

    def comma_list_ahead(self) -> bool:
        """True if the parenthesised group that starts here holds a comma at its own level."""
        return any(tok.kind == "sym" and tok.value == "," for tok, _ in self.group_ahead()[0])

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
        want = _CLOSERS.get(tok.value, "right")
        if not (close.kind == "cmd" and close.value == want and (want != "right" or close.arg == "\\|")):
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
