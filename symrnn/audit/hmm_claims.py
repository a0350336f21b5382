"""An HMM document's claims checked against its model: every worked forward or Viterbi number (``\\alpha_2(1)``,
``h_{2,2}``, ``\\vec{\\delta}_2``, ``P(O | \\lambda)``) recomputed exactly to the precision shown (a wrong one is
also explained: the transition matrix transposed, a sum for a max), and every recursion it states (scalar or matrix
form) compared with the algorithm on its model, with the corrected statement in the document's notation."""

from __future__ import annotations

import re

import sympy as sp

from symrnn import notation as nt
from symrnn.audit.findings import Finding
from symrnn.audit.hmm_checks import step, step_back, table
from symrnn.audit.hmm_forms import check_matrix_form, check_scalar_form, evaluate, max_arithmetic
from symrnn.audit.hmm_posterior import check_posterior
from symrnn.audit.hmm_sequence import quantity, state_index, terms_of
from symrnn.audit.model import Document
from symrnn.audit.numbers import compare_number, number_text
from symrnn.audit.reading import Span, split_top
from symrnn.latex.parse import ParseError

KINDS = {"alpha": "sum", "h": "sum", "delta": "max", "v": "max", "beta": "back"}  #: forward, Viterbi, backward
WHAT = {"sum": "forward", "max": "Viterbi", "back": "backward"}
CHECK = "hmm"
_TOTAL = re.compile(r"^P\s*(?:\\left)?\(\s*(?:O|\\mathbf\{O\}|\\mathcal\{O\}|X)\s*(?:(?:\\mid|\||\\vert)\s*\\lambda)?"
                    r"\s*(?:\\right)?\)$")
_BEST = re.compile(r"^P\s*\^\s*(?:\*|\{\s*\*\s*\})$")


def kind_of(name: str, doc: Document) -> str | None:
    """``sum`` (forward) or ``max`` (Viterbi) for a quantity's name; None for another quantity (``h`` is the RNN's
    state when the document defines an RNN recurrence)."""
    if name == "h" and doc.recurrence is not None:
        return None
    return KINDS.get(name)


def check_hmm(span: Span, doc: Document, out: list[Finding]) -> None:
    """Every HMM check of one span (the model's own findings with the document's first span)."""
    hmm = doc.hmm
    if hmm is None:
        return
    out.extend(_model_findings_here(span, doc))
    pieces = split_top(span.text)
    q = quantity(pieces[0])
    if q is None:
        _check_total(span, pieces[0], doc, out)
        check_posterior(span, doc, out)
        return
    name, time, state = q
    op = kind_of(name, doc)
    if op is None:
        return
    if time.isdigit():
        _check_value(span, pieces[0], (name, int(time), state), op, doc, out)
    elif re.fullmatch(r"t([+-]\d)?", time) and isinstance(span.expr, sp.Eq):
        shift = int(time[1:] or 0)  # alpha_{t+1}(j) = ... alpha_t(i) ...: Rabiner's induction step
        if state is None:
            check_matrix_form(span, name, op, doc, out, shift)
        else:
            check_scalar_form(span, name, state, op, doc, out, shift)


def _model_findings_here(span: Span, doc: Document) -> list[Finding]:
    """The model's findings reported with this span: those on its line (with the first span there), and those on
    lines with no span (a table's rows) with the document's first span."""
    first: dict[int, Span] = {}
    for s in doc.spans:
        first.setdefault(s.line, s)
    here = first.get(span.line)
    if here is None or here.text != span.text:
        return []
    opening = doc.spans[0].line == span.line
    return [f for f in doc.hmm.findings if f.line == span.line or (opening and f.line not in first)]


def _ready(span: Span, doc: Document, t_: int, out: list[Finding]) -> bool:
    hmm = doc.hmm
    missing = [w for w, r in (("transition", "trans"), ("emission", "emit"), ("initial", "init"))
               if r not in hmm.canonical]
    if not missing and hmm.observations and not hmm.consistent:
        out.append(Finding(span.line, "warning", "a worked value, but the sizes of the document's HMM do not fit "
                           "(see its size errors): not recomputed", CHECK))
        return False
    if missing or not hmm.observations:
        what = ", ".join(missing) + (" probabilities" if missing else "")
        out.append(Finding(span.line, "warning", f"a worked value, but the document's HMM has no "
                           f"{what or 'observation sequence'}: not recomputed", CHECK))
        return False
    if not 1 <= t_ <= len(hmm.observations):
        out.append(Finding(span.line, "warning", f"a worked value at t = {t_}, but the observation sequence has "
                           f"{len(hmm.observations)} symbols: not recomputed", CHECK))
        return False
    return True


def _from_shown(doc: Document, name: str, t_: int, op: str, transpose: bool = False) -> sp.Matrix | None:
    """Step t_ from the values the document shows for step t_-1 (None when it does not show them all)."""
    hmm = doc.hmm
    near = t_ + 1 if op == "back" else t_ - 1  # the step this one is computed from
    prev = [hmm.shown.get((name, near, i)) for i in range(hmm.n)]
    if not 1 <= near <= len(hmm.observations) or any(v is None for v in prev):
        return None
    trans = hmm.canonical["trans"].T if transpose else hmm.canonical["trans"]
    if op == "back":
        return step_back(trans, hmm.canonical["emit"], sp.Matrix(prev), hmm.observations[t_])
    return step(trans, hmm.canonical["emit"], sp.Matrix(prev), hmm.observations[t_ - 1], op)


def _explain(doc: Document, name: str, t_: int, j: int, op: str, shown: nt.Rounded) -> str:
    """Which mistake gives the shown value: the transition matrix transposed, or the other of sum and max."""
    other = "max" if op == "sum" else "sum"
    trans = doc.hmm.written["trans"][0]
    candidates = [(f"{trans} read the wrong way round (its transpose) gives", op, True)]
    if op != "back":
        candidates.append(("a max over the previous state gives (Viterbi's step; the forward algorithm sums)"
                           if op == "sum" else "a sum over the previous state gives (the forward step; Viterbi "
                           "takes the max)", other, False))
    got = number_text(shown.value, shown.places)
    for text, kind, transpose in candidates:
        for values in (table(doc.hmm, kind, transpose)[t_ - 1], _from_shown(doc, name, t_, kind, transpose)):
            if values is not None and number_text(values[j], shown.places) == got:
                return f"; the shown value is what {text}"
    return ""


def _check_value(span: Span, lhs: str, key: tuple, op: str, doc: Document, out: list[Finding]) -> None:
    """A worked line ``\\alpha_2(1) = ... = 0.0552`` or ``\\vec{h}_2 = ... = [...]``: every number recomputed."""
    name, t_, state = key
    terms = terms_of(span)
    numeric = isinstance(terms[-1], nt.Rounded) or (isinstance(terms[-1], sp.MatrixBase) and state is None) \
        if len(terms) >= 2 else False
    if not numeric or not _ready(span, doc, t_, out):
        return
    exact = table(doc.hmm, op)[t_ - 1]
    alt = _from_shown(doc, name, t_, op)
    last = terms[-1]
    if state is None:
        if isinstance(last, sp.MatrixBase) and last.cols == 1:
            _vector_value(span, lhs, last, exact, alt, (name, t_, op), doc, out)
        _middle_forms(span, terms[1:-1], (name, t_, op), exact, doc, out)
        return
    j = state_index(state, doc.hmm)
    if j is None:
        out.append(Finding(span.line, "error", f"{lhs} names a state the model does not have "
                           f"({', '.join(doc.hmm.states) or doc.hmm.n} states)", CHECK))
        return
    if not isinstance(last, nt.Rounded):
        return
    level, text = compare_number(last, exact[j], alt[j] if alt is not None else None)
    if level == "error":
        text += _explain(doc, name, t_, j, op, last)
    fix = f"{lhs} = {number_text(exact[j], last.places)}" if level == "error" else None
    what = WHAT[op]
    out.append(Finding(span.line, level, f"{lhs}: {text}" if level != "ok" else
                       f"{lhs} = {text}, the {what} value recomputed", CHECK, fix))
    _middle_arithmetic(span, terms[1:-1], last, out)


def _vector_value(span: Span, lhs: str, last: sp.Matrix, exact: sp.Matrix, alt, key: tuple, doc: Document,
                  out: list[Finding]) -> None:
    name, t_, op = key
    if last.rows != exact.rows:
        out.append(Finding(span.line, "error", f"{lhs} is shown with {last.rows} entries; the model has "
                           f"{exact.rows} states", "sizes"))
        return
    notes, places = [], max((e.places for e in last if isinstance(e, nt.Rounded)), default=2)
    for j, e in enumerate(last):
        if isinstance(e, nt.Rounded):
            level, text = compare_number(e, exact[j], alt[j] if alt is not None else None)
            if level != "ok":
                notes.append((level, f"entry {j + 1} {text}" + (_explain(doc, name, t_, j, op, e)
                                                               if level == "error" else "")))
    level = "error" if any(lv == "error" for lv, _ in notes) else ("warning" if notes else "ok")
    body = r" \\ ".join(number_text(v, places) for v in exact)
    fix = rf"{lhs} = \begin{{bmatrix}} {body} \end{{bmatrix}}" if level == "error" else None
    msg = f"{lhs} recomputed" + (": " + "; ".join(t for _, t in notes) if notes else ", as shown")
    out.append(Finding(span.line, level, msg, CHECK, fix))


def _middle_arithmetic(span: Span, middle: list, last: nt.Rounded, out: list[Finding]) -> None:
    """The line's own arithmetic (``0.06 \\times 0.7 + ...``, ``\\max(...)`` too) must give its last number."""
    texts = split_top(span.text)
    for n, piece in enumerate(middle, start=1):
        if isinstance(piece, ParseError) and n < len(texts) and "\\max" in texts[n]:
            value = max_arithmetic(texts[n])
        elif isinstance(piece, sp.Expr) and piece.atoms(nt.Rounded):
            value = piece.xreplace({r: r.value for r in piece.atoms(nt.Rounded)})
        else:
            continue
        if value is not None and value.is_number and \
                number_text(value, last.places) != number_text(last.value, last.places):
            out.append(Finding(span.line, "error", f"the arithmetic shown gives "
                               f"{number_text(value, last.places)}, not the "
                               f"{number_text(last.value, last.places)} the line ends with", CHECK))


def _middle_forms(span: Span, middle: list, key: tuple, exact: sp.Matrix, doc: Document,
                  out: list[Finding]) -> None:
    """A worked vector line's symbolic form (``(U\\vec{h}_1) \\odot (W\\vec{x}_2)``) must be the step."""
    name, t_, op = key
    if op == "back":
        return
    prev = table(doc.hmm, op)[t_ - 2] if t_ >= 2 else None
    for piece in middle:
        if isinstance(piece, sp.MatrixExpr) and piece.atoms(sp.MatrixSymbol):
            value = evaluate(piece, doc.hmm, name, prev, doc.hmm.observations[t_ - 1], t_)
            if value is not None and value != exact:
                out.append(Finding(span.line, "error", f"the form of step {t_} does not give the "
                                   f"{WHAT[op]} values of the document's model", CHECK))


def _check_total(span: Span, lhs: str, doc: Document, out: list[Finding]) -> None:
    """``P(O | \\lambda) = ... = 0.0336`` (the forward total) and ``P^* = 0.0131`` (the best path's)."""
    total, best = _TOTAL.match(lhs.strip()), _BEST.match(lhs.strip())
    terms = terms_of(span)
    if not (total or best) or len(terms) < 2 or not isinstance(terms[-1], nt.Rounded):
        return
    hmm = doc.hmm
    if not _ready(span, doc, len(hmm.observations or [1]), out):
        return
    last = terms[-1]
    exact = sp.Add(*table(hmm, "sum")[-1]) if total else sp.Max(*table(hmm, "max")[-1])
    level, text = compare_number(last, exact)
    what = "the likelihood of the observations (forward)" if total else "the best path's probability (Viterbi)"
    fix = f"{lhs} = {number_text(exact, last.places)}" if level == "error" else None
    out.append(Finding(span.line, level, f"{what}: {text}" if level != "ok" else f"{what} = {text} recomputed",
                       CHECK, fix))
    _middle_arithmetic(span, terms[1:-1], last, out)
