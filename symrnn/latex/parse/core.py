"""The parser's core: token access, errors with positions, the nesting and time guards, and the second reading.

Every grammar mixin (:mod:`.relations`, :mod:`.arithmetic`, :mod:`.scripts`, :mod:`.primaries`, :mod:`.functions`,
:mod:`.calculus`, :mod:`.matrices`) derives from :class:`ParserCore`, so each construct's module stays small and
they all share one cursor.  One parser instance reads one input; no state survives a parse.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp

from symrnn import notation as nt
from symrnn.latex.parse.backends import Backend, plain_arithmetic, read_bounded
from symrnn.latex.parse.errors import BackendError, DivisionByZero, ParseError, TooDeep, TooLarge, Unexpected
from symrnn.latex.parse.magnitude import Magnitudes
from symrnn.latex.parse.sizes import Sizes
from symrnn.latex.parse.tokens import Limits, Token, deadline_check, greek_symbol, letter_symbol, tokenize

_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_PLAIN_OR_PRIMED = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)?'*")
#: symbols that are never vectors by usage: the notation's indices and sizes, the learning rate
_NOT_VECTORS = frozenset({nt.t, nt.q, nt.i, nt.j, nt.k, nt.T, nt.N, nt.V, nt.eta})


@dataclass(frozen=True)
class Decimal:
    """A decimal number as written: position, text, exact value and digits after the point."""

    pos: int
    text: str
    value: sp.Rational
    places: int


class ParserCore:
    """Recursive descent over the tokens: the cursor and the helpers every grammar rule uses."""

    def __init__(self, text: str, notation: Sizes, limits: Limits, backend: Backend | None,
                 deadline: float | None = None):
        self.text, self.sizes, self.limits, self.backend = text, notation, limits, backend
        self.deadline = time.perf_counter() + limits.seconds if deadline is None else deadline
        self.toks = tokenize(text, limits, self.deadline)
        self.i = 0
        self.depth = 0
        self.decimals: list[Decimal] = []
        self.readings: dict[str, Any] = {}
        self.in_table = 0  # inside an array's cell, \text{...} is a cell's words, not a factor
        self.magnitudes = Magnitudes()
        #: names that this reading used as vectors though they were read as numbers (``f_t \\odot c_{t-1}``,
        #: ``W x_t + b_{ih}``): name -> "gate" (written with one index) or "vector" (a bare name such as ``b_ih``)
        self.wanted: dict[str, str] = {}
        self.biases: set[str] = set()  # parameters (b) added to a vector: read again even when this reading reads

    # -- token helpers --
    def peek(self, ahead: int = 0) -> Token:
        return self.toks[min(self.i + ahead, len(self.toks) - 1)]

    def take(self) -> Token:
        tok = self.peek()
        self.i = min(self.i + 1, len(self.toks) - 1)
        if self.i % 32 == 0:
            deadline_check(self.deadline, tok.pos, self.text)
        return tok

    def at(self, kind: str, value: str | None = None, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind == kind and (value is None or tok.value == value)

    def at_sym(self, *values: str) -> bool:
        tok = self.peek()
        return tok.kind == "sym" and tok.value in values

    def expect_sym(self, value: str, what: str = "") -> Token:
        tok = self.peek()
        if tok.kind != "sym" or tok.value != value:
            raise self.error(f"expected {value!r}{' ' + what if what else ''}, found {self.describe(tok)}", tok)
        return self.take()

    def describe(self, tok: Token) -> str:
        if tok.kind == "eof":
            return "the end of the input"
        return repr(self.text[tok.pos:tok.end])

    def error(self, reason: str, tok: Token | None = None, cls: type[ParseError] = Unexpected) -> ParseError:
        return cls(reason, (tok or self.peek()).pos, self.text)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > 6 * self.limits.max_depth:
            raise self.error(f"expression nests deeper than {self.limits.max_depth}", cls=TooDeep)
        deadline_check(self.deadline, self.peek().pos, self.text)

    def sub_parse(self, start: int, stop: int, rule: Callable[[], Any]):
        """Parse tokens ``start:stop`` with ``rule``; they must be consumed exactly."""
        saved, saved_toks = self.i, self.toks
        end = saved_toks[stop]
        self.toks = saved_toks[:stop] + [Token("eof", "", end.pos, end.pos)]
        self.i = start
        try:
            value = rule()
            if self.peek().kind != "eof":
                raise self.error(f"unexpected {self.describe(self.peek())} in a fraction")
            return value
        finally:
            self.toks, self.i = saved_toks, saved

    # -- atoms --
    def number(self, tok: Token):
        if "." in tok.value:
            whole, _, frac = tok.value.partition(".")
            value = sp.Rational(int(whole or "0") * 10 ** len(frac) + int(frac), 10 ** len(frac))
            self.decimals.append(Decimal(tok.pos, tok.value, value, len(frac)))
            return nt.Rounded(value, len(frac))
        return sp.Integer(int(tok.value))

    def letter_symbol(self, name: str) -> sp.Symbol:
        return letter_symbol(name)

    def greek(self, name: str) -> sp.Symbol:
        return greek_symbol(name)

    # -- vectors by usage --
    def want_vectors(self, value) -> None:
        """Record the names in ``value`` (a number as read) that its use shows to be vectors: a name with one index
        (``c_{t-1}``: a gate, :class:`symrnn.notation.Gate`) or a bare name (``b_{ih}``, ``x``), also inside an
        entrywise function (``\\sigma(f_t)``), a sum or a product; numbers and indices are not names."""
        stack = [value]
        while stack:
            node = stack.pop()
            if isinstance(node, sp.Indexed):
                name = str(node.base.label)
                if len(node.indices) == 1 and _PLAIN.fullmatch(name):
                    self.wanted.setdefault(name, "gate")
            elif isinstance(node, sp.Symbol):
                if _PLAIN_OR_PRIMED.fullmatch(node.name) and node not in _NOT_VECTORS:
                    self.wanted.setdefault(node.name, "vector")
            elif isinstance(node, (sp.Add, sp.Mul, sp.Pow)) or (isinstance(node, sp.Function)
                                                                 and len(node.args) == 1):
                stack.extend(a for a in node.args if not a.is_number)

    # -- numbers: refused before they grow past the limits, and no division by zero --
    def sized(self, value, tok: Token):
        """``value`` (a product, sum or quotient just built), refused if a number computed from it could have more
        than ``max_result_digits`` digits."""
        if self.magnitudes.digits(value) > self.limits.max_result_digits:
            raise self.error(f"a number of more than {self.limits.max_result_digits} digits", tok, TooLarge)
        return value

    def power(self, base, exponent, tok: Token, cls: type = sp.Pow):
        """``base ** exponent`` built only once its size is known to be within the limits; ``0^{-1}`` and other
        undefined powers are a :class:`DivisionByZero`."""
        if cls is sp.Pow and not (isinstance(base, sp.Expr) and isinstance(exponent, sp.Expr)):
            raise self.error("a power of a list or a relation, or a list or relation as an exponent", tok)
        limit = self.limits.max_result_digits
        estimate = self.magnitudes.power(base, exponent)
        if estimate > limit:
            about = f"{estimate:,.0f}" if estimate < 1e12 else f"{estimate:.3g}"
            raise self.error(f"a power whose value could have about {about} digits, more than the limit of {limit}",
                             tok, TooLarge)
        if cls is sp.Pow and self.is_zero(base) and exponent.is_extended_negative:
            raise self.error("division by zero", tok, DivisionByZero)
        value = cls(base, exponent)
        if value in (sp.zoo, sp.nan) or (value.is_Pow and value.base is sp.zoo):
            raise self.error(f"an undefined power ({value})", tok, DivisionByZero)
        return value

    def is_zero(self, value) -> bool:
        """True for a number that is zero (``0``, ``1-1``); symbolic values are never taken for zero."""
        return isinstance(value, sp.Expr) and not isinstance(value, sp.MatrixExpr) and not value.free_symbols \
            and value.is_zero is True

    # -- the backend's second opinion --
    def second_reading(self, start: int, stop: int, items: list, end: Token) -> None:
        """Hand a plain-arithmetic span to the backend and insist that it reads the same value."""
        if self.backend is None or len(items) != 1:
            return
        toks = self.toks[start:stop]
        if not toks or not plain_arithmetic(toks):
            return
        source = self.text[toks[0].pos:toks[-1].end]
        own = items[0]
        if source not in self.readings:
            self.readings[source] = read_bounded(self.backend, source, own, self.text, toks[0], self.limits,
                                                 self.deadline)
            deadline_check(self.deadline, toks[0].pos, self.text)
        other, agrees = self.readings[source]
        if not agrees:
            raise BackendError(f"backend {self.backend.name} reads {source!r} as {other}, symrnn as {own}",
                               toks[0].pos, self.text)
