"""Declarations that give shapes: ``\\mathbf{x}_t \\in \\mathbb{R}^d``, ``W_{hx} \\in \\mathbb{R}^{h \\times d}``,
several in one span (``x_t \\in \\mathbb{R}^d, \\quad h_t \\in \\mathbb{R}^h``).

The declared name is read by the parser (so it follows the document's notation); each size is read as an expression
(a number or a symbol such as ``h``, ``N``); sizes that are never declared stay symbolic.  A span that is not a
declaration gives None: the caller reads it as an equation.
"""

from __future__ import annotations

import re
from typing import Any

import sympy as sp
from sympy.core.sympify import _sympify

from symrnn import notation as nt
from symrnn.latex.parse import DEFAULT_LIMITS, DEFAULT_SIZES, Limits, ParseError, Sizes, parse
from symrnn.latex.parse.objects import MatrixAt

_SPACE = r"(?:\\[,;:!]|\\q?quad|~|\s)*"
#: ``\in \mathbb{R}^{...}`` (also ``\in \R^...`` and ``\in \mathbf{R}``) and what follows it.
_SET = re.compile(r"\\in\s*(?:\\mathbb\s*\{\s*R\s*\}|\\R\b|\\mathbf\s*\{\s*R\s*\})\s*(?:\^\s*(\{[^{}]*\}|\\?\w))?")
_SEPARATOR = re.compile(rf"{_SPACE}(?:,|;|\\text\s*\{{\s*(?:and|,)\s*\}}|\\q?quad){_SPACE}")


class Declared(sp.Basic):
    """``name \\in R^{rows x cols}``: the object read on the left (a vector, a matrix or a scalar) and its shape."""

    def __new__(cls, obj: sp.Basic, rows: sp.Expr, cols: sp.Expr):
        return super().__new__(cls, obj, _sympify(rows), _sympify(cols))  # strict: never text

    obj = property(lambda self: self.args[0])
    shape = property(lambda self: (self.args[1], self.args[2]))

    @property
    def name(self) -> str:
        """The declared name (a vector's base letter), or "" when a whole expression (a derivative) is declared."""
        o = self.obj
        while isinstance(o, (MatrixAt, nt.LayerCopy)):  # \\mathbf{H}_t, \\mathbf{W}^{(l)}: the matrix's name
            o = o.matrix
        if isinstance(o, nt.Vec):
            return o.base
        return str(o.name) if isinstance(o, (sp.Symbol, sp.MatrixSymbol)) else ""


def _sizes(exponent: str | None, limits: Limits) -> tuple[sp.Expr, sp.Expr]:
    """``(rows, cols)`` from the exponent of R: none (a scalar), ``d`` (a vector) or ``h \\times d`` (a matrix)."""
    if exponent is None:
        return sp.S.One, sp.S.One
    inner = exponent[1:-1] if exponent.startswith("{") else exponent
    parts = re.split(r"\\times|\\cdot|×", inner)
    if len(parts) > 2:
        raise ParseError("a declared shape has more than two sizes", 0, inner)
    sizes = [_size(p.strip(), limits) for p in parts]
    if not all(isinstance(s, sp.Expr) and not isinstance(s, sp.MatrixExpr) for s in sizes):
        raise ParseError("a declared size is not a number or a symbol", 0, inner)
    return (sizes[0], sizes[1]) if len(sizes) == 2 else (sizes[0], sp.S.One)


#: A capital letter in a size (``H``, ``Q``: the reader would take it for a matrix).
_CAPITAL = re.compile(r"(?<![\\A-Za-z])([A-Z])(?![A-Za-z])")
#: Names that stand for a capital size letter while a size is read (one not written in the size is used).
_STAND_INS = ("varrho", "vartheta", "upsilon", "kappa", "iota", "chi", "psi", "zeta", "eta", "nu", "xi", "mu")


def _size(text: str, limits: Limits) -> Any:
    """One size as read: a capital letter (``H``, ``D``; not the reader's numbers T, N, V, L) read through a Greek
    stand-in and made the size symbol of that name, as ``N`` is (``\\mathbb{R}^{H \\times D}``, ``2H``, ``H + 1``)."""
    free = [g for g in _STAND_INS if f"\\{g}" not in text]
    letters: dict[str, str] = {}

    def capital(c: re.Match) -> str:
        if c.group(1) in DEFAULT_SIZES.scalar_letters or (c.group(1) not in letters and not free):
            return c.group(1)
        return f"\\{letters.setdefault(c.group(1), free.pop(0) if c.group(1) not in letters else '')} "

    value = parse(_CAPITAL.sub(capital, text), limits=limits, backend="none")
    back = {sp.Symbol(g): sp.Symbol(letter, integer=True, positive=True) for letter, g in letters.items()}
    if not isinstance(value, sp.Basic):
        return value
    return value.xreplace({s: back[sp.Symbol(s.name)] for s in value.free_symbols if sp.Symbol(s.name) in back})


def _top_level_commas(text: str) -> list[str]:
    """``text`` split at commas outside braces and brackets, each piece stripped."""
    pieces, depth, start = [], 0, 0
    for n, c in enumerate(text):
        depth += c in "{([" and not text[max(n - 1, 0)] == "\\"
        depth -= c in "})]" and not text[max(n - 1, 0)] == "\\"
        if c == "," and depth == 0:
            pieces.append(text[start:n])
            start = n + 1
    pieces.append(text[start:])
    return [p.strip() for p in pieces]


def declarations(text: str, limits: Limits = DEFAULT_LIMITS,
                 notation: Sizes = DEFAULT_SIZES) -> tuple[Declared, ...] | None:
    """The declarations a span makes, or None when it is not (only) declarations; a declaration whose name or size
    cannot be read raises :class:`ParseError`."""
    if r"\in" not in text:
        return None
    out: list[Declared] = []
    rest = text.strip().rstrip(".,; ")
    while rest:
        m = _SET.search(rest)
        if m is None:
            return None
        names = _top_level_commas(rest[:m.start()])
        if not all(names) or any("=" in n for n in names):
            return None
        rows, cols = _sizes(m.group(1), limits)
        for name_text in names:  # "W_{xr}, W_{xz} \in R^{d x h}": each name has the shape
            obj: Any = parse(name_text, notation=notation, limits=limits, backend="none")
            if not isinstance(obj, sp.Basic):
                return None
            out.append(Declared(obj, rows, cols))
        rest = rest[m.end():]
        sep = _SEPARATOR.match(rest)
        if rest.strip() and sep is None:
            return None
        rest = rest[sep.end():] if sep else ""
    return tuple(out) or None
