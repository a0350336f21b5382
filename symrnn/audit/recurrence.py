"""The recurrence itself: a state defined from itself at the same t, from a later step, or from two steps back in a
first-order model is wrong; the fault, its corrected form (the state at t-1) and the corrected statement written in
the document's own notation (its text with the wrong time index replaced)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.audit.reading import Span, relations, replace, split_top


@dataclass(frozen=True)
class RecurrenceFault:
    """What is wrong with ``h_t = ...`` (``message``), the right side corrected (None when no single correction is
    clear), the corrected statement as LaTeX (None likewise), and whether it is an error or only a doubt."""

    message: str
    corrected: Any
    suggestion: str | None
    level: str = "error"


def _offsets(rhs, base: str) -> dict[Any, int | None]:
    """Every time at which the state ``base`` is used on the right, with its offset from t (None if not t+k)."""
    out: dict[Any, int | None] = {}
    for v in rhs.atoms(nt.Vec) if isinstance(rhs, sp.Basic) else ():
        if v.base == base:
            scalar = isinstance(v.time, sp.Expr) and not isinstance(v.time, MatrixExpr)
            k = sp.expand(v.time - nt.t) if scalar else None  # a mutated time may be a matrix: no offset
            out[v] = int(k) if k is not None and k.is_Integer else None
    return out


def first_order(spans: list[Span], skip: int) -> int | None:
    """A line (other than ``skip``) showing that the model is first order: a quantity at t-1 beside one at t
    (``P(Y_t | Y_{t-1})``, ``\\vec{h}_{t-1}``), or a worked step from the step just before; else None."""
    for span in spans:
        if span.line == skip or span.expr is None:
            continue
        for rel in relations(span.expr):
            if not isinstance(rel, sp.Basic):
                continue
            times = {a.time for a in rel.atoms(nt.RV, nt.Vec) if isinstance(a.time, sp.Expr) and a.time.free_symbols}
            if any((a - b) == 1 for a in times for b in times):
                return span.line
    return None


def _time_text(time) -> str:
    return str(time).replace(" ", "")


def suggested_text(text: str, base: str, wrong: set[str], right: str) -> str | None:
    """``text`` (``h_t = g(...)``) with every subscript of ``base`` on the right side that reads as one of the times
    ``wrong`` replaced by ``right``; None when none is found there."""
    pieces = split_top(text)
    if len(pieces) < 2:
        return None
    left_len = text.find(pieces[1], len(pieces[0]))
    head, tail = text[:left_len], text[left_len:]
    pattern = re.compile(r"((?:\\(?:vec|mathbf|boldsymbol|bm)\{" + re.escape(base) + r"\})|(?<![A-Za-z\\])"
                         + re.escape(base) + r")\s*_\s*(\{[^{}]*\}|[A-Za-z0-9])")
    hits = 0

    def fix(m: re.Match) -> str:
        nonlocal hits
        sub = m.group(2).strip("{}").replace(" ", "")
        if sub in wrong:
            hits += 1
            return f"{m.group(1)}_{{{right}}}"
        return m.group(0)

    tail = pattern.sub(fix, tail)
    return head + tail if hits else None


def recurrence_fault(span: Span, rhs, spans: list[Span]) -> RecurrenceFault | None:
    """The fault of the recurrence ``h_t = rhs`` read on ``span``, or None when its time indices can be right."""
    if not isinstance(rhs, sp.Basic):
        return None
    base = "h"
    offsets = _offsets(rhs, base)
    if not offsets or any(k is None for k in offsets.values()):
        return None
    bad = {v: k for v, k in offsets.items() if k >= 0}
    order_line = None
    if not bad and -1 not in offsets.values():
        order_line = first_order(spans, span.line)
        bad = {v: k for v, k in offsets.items() if k <= -2}
        if order_line is None:
            return RecurrenceFault(f"the state is computed from \\vec{{{base}}}_{{t{min(offsets.values())}}} only: "
                                   "not a first-order recurrence (not checked further)", None, None, "warning")
    if not bad:
        return None
    reasons = sorted({"itself at the same t" if k == 0 else (f"a later step, t+{k}" if k > 0 else
                      f"t{k}, but the model is first order (line {order_line})") for k in bad.values()})
    message = f"the recurrence defines \\vec{{{base}}}_t from " + " and ".join(reasons)
    if -1 in offsets.values():  # the state at t-1 is already there: no single correction is clear
        return RecurrenceFault(message, None, None)
    prev = next(iter(bad)).func(base, nt.t - 1, next(iter(bad)).shape[0])
    corrected = replace(rhs, {v: prev for v in bad})
    text = suggested_text(span.text, base, {_time_text(v.time) for v in bad}, "t-1")
    return RecurrenceFault(message + "; it should use \\vec{" + base + "}_{t-1}", corrected, text)
