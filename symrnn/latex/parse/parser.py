"""The parser assembled from its construct mixins, and the entry points :func:`parse_math` and :func:`parse`.

Any failure while building SymPy objects is reported as a :class:`ParseError` with a position; Python's recursion
limit is a :class:`TooDeep`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from symrnn.latex.parse.arithmetic import ArithmeticMixin
from symrnn.latex.parse.backends import Backend, load_backend
from symrnn.latex.parse.calculus import CalculusMixin
from symrnn.latex.parse.core import Decimal
from symrnn.latex.parse.errors import ParseError, TooDeep, Unexpected
from symrnn.latex.parse.functions import FunctionsMixin
from symrnn.latex.parse.matrices import MatricesMixin
from symrnn.latex.parse.primaries import PrimariesMixin
from symrnn.latex.parse.relations import RelationsMixin
from symrnn.latex.parse.scripts import ScriptsMixin
from symrnn.latex.parse.sizes import DEFAULT_SIZES, Sizes
from symrnn.latex.parse.tokens import DEFAULT_LIMITS, Limits


class Parser(RelationsMixin, ArithmeticMixin, ScriptsMixin, PrimariesMixin, FunctionsMixin, CalculusMixin,
             MatricesMixin):
    """Recursive descent over the tokens of one input; the entry rule is :meth:`document`."""


@dataclass(frozen=True)
class Parsed:
    """What :func:`parse_math` found: the expression, the decimals it showed, and the backend consulted."""

    expr: Any
    decimals: tuple[Decimal, ...]
    backend: str | None
    second_readings: int


def parse_math(text: str, *, notation: Sizes = DEFAULT_SIZES, limits: Limits = DEFAULT_LIMITS,
               backend: str | Backend | None = "auto") -> Parsed:
    """Read one math span; returns the expression (a tuple for a comma list) with the decimals it showed."""
    be = backend if isinstance(backend, Backend) or backend is None else load_backend(backend)
    parser = Parser(text, notation, limits, be)
    try:
        expr = parser.document()
        check_built(expr, parser)
    except RecursionError:
        raise TooDeep("expression nests too deeply", parser.peek().pos, text) from None
    except ParseError:
        raise
    except (ValueError, TypeError, ArithmeticError, sp.ShapeError, AttributeError, NotImplementedError) as exc:
        raise Unexpected(f"cannot build this expression: {exc}", parser.peek().pos, text) from None
    return Parsed(expr, tuple(parser.decimals), be.name if be else None, len(parser.readings))


def check_built(expr: Any, parser: Parser) -> None:
    """The expression built is no deeper than 6 x ``max_depth`` (so that SymPy's printers and rebuilders, which
    recurse, can handle it) and holds no number over ``max_result_digits`` digits; checked without recursing."""
    limit = 6 * parser.limits.max_depth
    stack: list[tuple[Any, int]] = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise TooDeep(f"the expression built nests deeper than {limit}", 0, parser.text)
        if isinstance(node, tuple):
            stack.extend((item, depth) for item in node)
        elif isinstance(node, sp.Basic):
            stack.extend((arg, depth + 1) for arg in node.args)
    for item in expr if isinstance(expr, tuple) else (expr,):
        parser.sized(item, parser.toks[0])


def parse(text: str, *, notation: Sizes = DEFAULT_SIZES, limits: Limits = DEFAULT_LIMITS,
          backend: str | Backend | None = "auto") -> Any:
    """The SymPy object (symrnn notation) that a LaTeX math span denotes; raises :class:`ParseError`."""
    return parse_math(text, notation=notation, limits=limits, backend=backend).expr
