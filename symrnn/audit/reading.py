"""Reading a document's math: every ``$...$``/``$$...$$`` span parsed, a chain piece by piece after an error."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from symrnn import notation as nt
from symrnn.latex.parse import DEFAULT_LIMITS, Limits, ParseError, parse
from symrnn.latex.spans import find_spans


@dataclass
class Span:
    """One math span: its line, its text, and what it parsed to (or the error, and the pieces read after it)."""

    line: int
    text: str
    expr: Any = None
    error: ParseError | None = None
    pieces: list = field(default_factory=list)  # (text, expr) of a chain read piece by piece after an error


def split_top(text: str) -> list[str]:
    """Split a math span at top-level ``=``/``\\approx`` (outside braces and ``\\left...\\right``)."""
    out, depth, start, n = [], 0, 0, 0
    while n < len(text):
        c = text[n]
        if text.startswith(r"\left", n) or c in "{(":
            depth += 1
        elif text.startswith(r"\right", n) or c in "})":
            depth -= 1
        elif depth == 0 and (c == "=" or text.startswith(r"\approx", n)):
            out.append(text[start:n])
            n += 1 if c == "=" else len(r"\approx")
            start = n
            continue
        n += 1 + (len(r"\right") - 1 if text.startswith(r"\right", n) else 0)
    out.append(text[start:])
    return [p.strip() for p in out]


def read(source: str, limits: Limits = DEFAULT_LIMITS, found: list | None = None) -> list[Span]:
    """Every math span of a Markdown text (or the spans ``found`` in it), parsed within ``limits`` (a text that
    repeats is parsed once)."""
    spans, seen = [], {}
    for eq in find_spans(source) if found is None else found:
        if eq.text not in seen:
            seen[eq.text] = _parse(eq.text, limits)
        first = seen[eq.text]
        spans.append(Span(eq.line, eq.text, first.expr, first.error, list(first.pieces)))
    return spans


def _parse(text: str, limits: Limits) -> Span:
    """One span's reading; after an error, its chain read piece by piece."""
    span = Span(0, text)
    try:
        span.expr = parse(text, limits=limits, backend="none")
    except ParseError as exc:
        span.error = exc
        for piece in split_top(text):
            try:
                span.pieces.append((piece, parse(piece, limits=limits, backend="none")))
            except ParseError as inner:
                span.pieces.append((piece, inner))
    return span


def needs_worker(span: Span, worked: bool) -> bool:
    """Whether a span's checks evaluate something (a worked step, a claim, a derivative, an update, a
    distribution, a sum, a BPTT claim):
    those run in a bounded worker; the other checks only look at the expression's form."""
    if worked or looks_like_bptt(span.text):
        return True
    for rel in relations(span.expr) if span.error is None else ():
        if not isinstance(rel, sp.Basic):
            continue
        if isinstance(rel, nt.Assign) or (isinstance(rel, nt.Approx) and isinstance(rel.lhs, nt.P)):
            return True
        if isinstance(rel, sp.Eq) and (isinstance(rel.lhs, nt.TotalDerivative) or isinstance(rel.rhs, nt.P)):
            return True
        if rel.atoms(sp.Sum, sp.Product):
            return True
    return False


_BPTT = re.compile(r"\\partial|\\nabla|\\delta")


def looks_like_bptt(text: str) -> bool:
    """Whether a span may state a BPTT claim (a derivative, or a named error, in an equation)."""
    return ("=" in text or r"\approx" in text) and _BPTT.search(text) is not None


def relations(expr) -> list:
    """The relations of a span (a tuple of them, or one)."""
    if isinstance(expr, tuple):
        return [r for e in expr for r in relations(e)]
    return [expr]


def replace(expr, rule: dict):
    """``xreplace`` that also rebuilds notation objects whose constructors take names as text (``Applied``)."""
    if expr in rule:
        return rule[expr]
    if not isinstance(expr, sp.Basic) or not expr.args:
        return expr
    args = [replace(a, rule) for a in expr.args]
    if args == list(expr.args):
        return expr
    if type(expr).__module__.startswith(nt.__name__ + "."):
        return sp.Basic.__new__(type(expr), *args)
    return expr.func(*args)
