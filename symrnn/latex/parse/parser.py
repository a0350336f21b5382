"""The parser assembled from its construct mixins, and the entry points :func:`parse_math` and :func:`parse`.

Any failure while building SymPy objects is reported as a :class:`ParseError` with a position; Python's recursion
limit is a :class:`TooDeep`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import sympy as sp

from symrnn.core.budget import alarm
from symrnn.latex.parse.arithmetic import ArithmeticMixin
from symrnn.latex.parse.backends import Backend, load_backend
from symrnn.latex.parse.calculus import CalculusMixin
from symrnn.latex.parse.core import Decimal
from symrnn.latex.parse.errors import ParseError, ShapeMismatch, Timeout, TooDeep, Unexpected
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
    """Read one math span; returns the expression (a tuple for a comma list) with the decimals it showed.

    When the span does not read as written because names read as numbers are used as vectors (``f_t \\odot
    c_{t-1}``, ``W_{ii} x_t + b_{ii}``), it is read again with those names as vectors (a name with one index as a
    gate, :class:`symrnn.notation.Gate`; a bare name as a column), until no new name turns up (at most
    :data:`INFERENCE_ROUNDS` times, within the same deadline); if that does not read either, the first reason
    stands.  A span that reads but adds a parameter (``b_{in}``) to a vector is read again the same way (its bias is
    a vector), keeping the first reading if the second does not read."""
    be = backend if isinstance(backend, Backend) or backend is None else load_backend(backend)
    # the parser checks its deadline between tokens; the alarm also stops SymPy work that one token set off
    with alarm(limits.seconds + ALARM_GRACE, lambda: Timeout("time limit reached (stopped inside SymPy)", 0, text)):
        return _read_rounds(text, notation, limits, be)


#: how long after the parser's own deadline the alarm stops work the parser cannot check (seconds)
ALARM_GRACE = 0.1


def _read_rounds(text: str, notation: Sizes, limits: Limits, be: Backend | None) -> Parsed:
    """:func:`parse_math`'s rounds of reading, as written and then with the vectors inferred."""
    deadline = time.perf_counter() + limits.seconds
    sizes = notation
    error: ParseError | None = None  # why the reading as written failed
    best: Parsed | None = None  # the last reading that read
    for round_ in range(1 + INFERENCE_ROUNDS):
        parser = Parser(text, sizes, limits, be, deadline)
        try:
            parsed = _read(parser, text, be)
        except ParseError as exc:
            error = error or exc
            new = _new_vectors(sizes, parser.wanted)
            if best is not None or type(exc) not in (ShapeMismatch, Unexpected) or not new:
                break
        else:
            best, new = parsed, _new_vectors(sizes, parser.wanted)
            if round_ == 0 and not parser.biases:
                return parsed  # read as written: nothing inferred
            if not new:
                break
        sizes = _with_vectors(sizes, new)
    if best is not None:
        return best
    raise error  # the reading as written failed, and so did every reading with the vectors inferred


#: how many times a span is read again with the names its use shows to be vectors
INFERENCE_ROUNDS = 4


def _read(parser: Parser, text: str, be: Backend | None) -> Parsed:
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


def _new_vectors(sizes: Sizes, wanted: dict[str, str]) -> dict[str, str]:
    """The names of ``wanted`` that ``sizes`` does not yet make vectors."""
    return {name: kind for name, kind in wanted.items()
            if (kind == "gate" and name not in sizes.gates) or (kind == "vector" and name not in sizes.matrices)}


def _with_vectors(sizes: Sizes, new: dict[str, str]) -> Sizes:
    """``sizes`` with the names of ``new`` as vectors of their usual length (``x``: V+1, any other N)."""
    gates = {**sizes.gates, **{n: sizes.vector_size(n) for n, k in new.items() if k == "gate"}}
    matrices = {**sizes.matrices, **{n: (sizes.vector_size(n), 1) for n, k in new.items() if k == "vector"}}
    return replace(sizes, gates=gates, matrices=matrices)


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
