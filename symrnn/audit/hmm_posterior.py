"""A posterior claim about an HMM's state, ``P(Y_4 = \\text{Noun} | X_1 = \\text{John}, ..., X_4 = \\text{ball})
\\approx 0.99`` or ``P(q_2 = S_1 \\mid O, \\lambda) = 0.62``: recomputed exactly by the forward-backward algorithm on
the observations it names (the document's whole sequence for ``O``), to the precision shown."""

from __future__ import annotations

import re

import sympy as sp

from symrnn import notation as nt
from symrnn.audit.findings import Finding
from symrnn.audit.hmm_model import HMMDoc
from symrnn.audit.hmm_sequence import state_index, symbol_index
from symrnn.audit.numbers import compare_number, number_text
from symrnn.audit.reading import Span, relations, split_top

CHECK = "claim"


def _state(value, hmm: HMMDoc) -> int | None:
    """The 0-based state an event names: ``\\text{Noun}``, ``2``, ``S_1``."""
    if isinstance(value, nt.Text):
        return state_index(value.name, hmm)
    if isinstance(value, sp.Integer):
        return int(value) - 1 if 1 <= int(value) <= hmm.n else None
    m = re.fullmatch(r"[A-Za-z]+_(\d+)", str(getattr(value, "name", "")))
    return state_index(m.group(1), hmm) if m else None


def _observed(given: tuple, hmm: HMMDoc) -> list[int] | None:
    """The observations a claim conditions on: ``X_1 = w_1, ..., X_m = w_m`` in order, or ``O`` (with ``\\lambda``)
    for the document's whole sequence; else None."""
    names = {str(getattr(g, "name", "")) for g in given}
    if names and names <= {"O", "lambda"} and "O" in names:
        return list(hmm.observations or []) or None
    seq = []
    for n, g in enumerate(given, start=1):
        if not (isinstance(g, nt.Is) and isinstance(g.rv, nt.RV) and g.rv.time == n):
            return None
        k = symbol_index(g.value, hmm)
        if k is None:
            return None
        seq.append(k)
    return seq or None


def posterior(hmm: HMMDoc, seq: list[int], t_: int, j: int) -> sp.Expr:
    """``P(state_t = j | observations seq)`` exactly, by forward-backward."""
    trans, emit, init = hmm.canonical["trans"], hmm.canonical["emit"], hmm.canonical["init"]
    n = trans.rows
    alpha = [sp.Matrix([init[i] * emit[i, seq[0]] for i in range(n)])]
    for k in seq[1:]:
        alpha.append(sp.Matrix([sum(alpha[-1][i] * trans[i, jj] for i in range(n)) * emit[jj, k] for jj in range(n)]))
    beta = sp.ones(n, 1)
    for k in reversed(seq[t_:]):
        beta = sp.Matrix([sum(trans[i, jj] * emit[jj, k] * beta[jj] for jj in range(n)) for i in range(n)])
    return alpha[t_ - 1][j] * beta[j] / sum(alpha[-1])


def check_posterior(span: Span, doc, out: list[Finding]) -> None:
    """Every posterior claim of the span about the document's HMM."""
    hmm = doc.hmm
    if not hmm.consistent or span.expr is None:
        return
    for rel in relations(span.expr):
        if not (isinstance(rel, sp.Eq | nt.Approx) and isinstance(rel.args[0], nt.P)
                and isinstance(rel.args[1], nt.Rounded)):
            continue
        p, shown = rel.args
        ev = p.events[0] if len(p.events) == 1 else None
        if not (isinstance(ev, nt.Is) and isinstance(ev.rv, nt.RV) and ev.rv.time.is_Integer):
            continue
        j, seq, t_ = _state(ev.value, hmm), _observed(tuple(p.given), hmm), int(ev.rv.time)
        if j is None or seq is None or not 1 <= t_ <= len(seq):
            out.append(Finding(span.line, "warning", "a probability claim about the HMM that names a state, a time "
                               "or observations the model does not have: not recomputed", CHECK))
            continue
        value = posterior(hmm, seq, t_, j)
        level, text = compare_number(shown, value)
        lhs = split_top(span.text)[0] if len(relations(span.expr)) == 1 else None
        relation = "=" if isinstance(rel, sp.Eq) else "\\approx"
        fix = f"{lhs} {relation} {number_text(value, shown.places)}" if level == "error" and lhs else None
        out.append(Finding(span.line, level, f"the posterior {number_text(value, shown.places)} recomputed "
                           f"by forward-backward" + (", as shown" if level == "ok" else f": {text}"), CHECK, fix))
