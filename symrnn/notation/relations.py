"""Relations and displays: approximations, chains, derivatives, argmax, words, tables, decimals shown."""

from __future__ import annotations

import re

import sympy as sp
from sympy.core.sympify import _sympify  # strict: refuses strings, so no text is ever parsed here

from symrnn.notation.symbols import _name, check_name
from symrnn.numeric.graph import numeric


class Approx(sp.Expr):
    """``lhs \\approx rhs``: an approximation (the relation in the lecture's RNN slides)."""

    def __new__(cls, lhs, rhs):
        return super().__new__(cls, _sympify(lhs), _sympify(rhs))

    lhs = property(lambda self: self.args[0])
    rhs = property(lambda self: self.args[1])


class Assign(Approx):
    """``lhs \\leftarrow rhs``: an update, as in gradient descent."""


class Parenthesised(sp.Expr):
    """A value shown in parentheses, ``\\left(\\frac{1}{2}\\right)``: the lecture's 1 x 1 matrix or factor."""

    is_commutative = True

    def __new__(cls, value):
        return super().__new__(cls, _sympify(value))

    value = property(lambda self: self.args[0])

    def _lecture_latex(self, printer) -> str:
        return rf"\left({printer._print(self.value)}\right)"


# ---- the RNN section's notation ---------------------------------------------------------------------------------


class Text(sp.Expr):
    """A word or a tag written as text, ``\\text{Noun}``; the name must be a plain identifier."""

    is_commutative = True

    def __new__(cls, name: str):
        return super().__new__(cls, sp.Symbol(check_name(_name(name))))

    name = property(lambda self: self.args[0].name)


class Rounded(sp.Expr):
    """An exact value shown as a decimal with ``places`` digits after the point (``0.20``, not ``0.2``).

    The exact value is kept; only printing rounds (half away from zero, as a reader rounds).
    """

    is_commutative = True

    def __new__(cls, value, places: int = 2):
        return super().__new__(cls, _sympify(value), sp.Integer(places))

    value = property(lambda self: self.args[0])
    places = property(lambda self: int(self.args[1]))

    def decimal(self) -> str:
        return decimal_text(self.value, self.places)


def decimal_text(value, places: int = 2) -> str:
    """``value`` (exact or symbolic-numeric) rounded to ``places`` decimals, half away from zero."""
    import decimal

    digits = numeric(value, places + 30)
    if not digits.is_finite:
        return str(digits)
    if abs(digits) < sp.Rational(1, 10 ** (places + 1)):  # zero to the places shown, however tiny the exponent
        return f"{0:.{places}f}"
    with decimal.localcontext() as ctx:  # every digit of a large number, and the places asked for
        ctx.prec = max(ctx.prec, len(str(digits)) + places + 5)
        d = decimal.Decimal(str(digits)).quantize(decimal.Decimal(1).scaleb(-places), rounding=decimal.ROUND_HALF_UP)
    return str(abs(d) if d == 0 else d)


def rounded(m: sp.MatrixBase, places: int = 2) -> sp.ImmutableMatrix:
    """A matrix of exact values shown as decimals."""
    return sp.ImmutableMatrix(m.rows, m.cols, lambda r, c: Rounded(m[r, c], places))


class Chain(sp.Basic):
    """``a = b = c \\approx d``: a chain of relations; ``relations[n]`` joins ``terms[n]`` and ``terms[n + 1]``.

    Relations are ``"="`` or ``"approx"``.
    """

    RELATIONS = ("=", "approx")

    def __new__(cls, terms, relations):
        terms, relations = list(terms), list(relations)
        if len(relations) != len(terms) - 1 or not terms:
            raise ValueError(f"a chain of {len(terms)} terms needs {max(len(terms) - 1, 0)} relations")
        bad = [r for r in relations if r not in cls.RELATIONS]
        if bad:
            raise ValueError(f"unknown relation {bad[0]!r}: use one of {cls.RELATIONS}")
        codes = [sp.Integer(cls.RELATIONS.index(r)) for r in relations]
        return super().__new__(cls, sp.Tuple(*terms), sp.Tuple(*codes))

    terms = property(lambda self: tuple(self.args[0]))
    relations = property(lambda self: tuple(self.RELATIONS[int(c)] for c in self.args[1]))


# ---- derivatives and argmax (read back by symrnn.parse) ---------------------------------------------------------


class TotalDerivative(sp.Expr):
    """``\\frac{d f}{d v}``: the total derivative of ``f`` in ``v``, through every path (as in BPTT's ``d``)."""

    is_commutative = True

    def __new__(cls, expr, variable):
        return super().__new__(cls, _sympify(expr), _sympify(variable))

    expr = property(lambda self: self.args[0])
    variable = property(lambda self: self.args[1])


class PartialDerivative(TotalDerivative):
    """``\\frac{\\partial f}{\\partial v}``: the derivative of ``f`` in ``v`` with every other argument held fixed."""


class ArgMax(sp.Expr):
    """``\\operatorname{argmax}_{y_1, \\dots, y_T} f``: the values of ``variables`` that make ``f`` largest."""

    def __new__(cls, expr, variables):
        return super().__new__(cls, _sympify(expr), sp.Tuple(*variables))

    expr = property(lambda self: self.args[0])
    variables = property(lambda self: tuple(self.args[1]))


_WORDS = re.compile(r"^[A-Za-z0-9 .,;:'()+\-/=]+$")


class Words(sp.Basic):
    """A short phrase set as text inside math (a table cell): letters, digits, spaces and plain punctuation only.

    LaTeX specials (backslash, braces, ``$``, ``%``, ``&``, ``#``, ``^``, ``_``, ``~``) are refused, so the text
    needs no escaping.
    """

    def __new__(cls, text: str):
        if not isinstance(text, str) or not _WORDS.match(text):
            raise ValueError(f"invalid words {text!r}: use letters, digits, spaces and . , ; : ' ( ) + - / =")
        return super().__new__(cls, sp.Symbol(text))

    text = property(lambda self: self.args[0].name)


class Table(sp.Basic):
    """A table of math: ``header`` (Words) over ``rows``, each a sequence of cells.

    A cell is any printable SymPy object; a ``sp.Tuple`` cell prints its parts one after another (words and
    math mixed).
    """

    def __new__(cls, header, rows):
        header = sp.Tuple(*[h if isinstance(h, Words) else Words(h) for h in header])
        rows = sp.Tuple(*[sp.Tuple(*row) for row in rows])
        if any(len(row) != len(header) for row in rows):
            raise ValueError(f"every row needs {len(header)} cells")
        return super().__new__(cls, header, rows)

    header = property(lambda self: tuple(self.args[0]))
    rows = property(lambda self: [tuple(r) for r in self.args[1]])
