"""Numbers: every number a worked line or a probability claim shows, recomputed from the document's model to the
precision shown (a worked line's symbolic form must also be the recurrence the document defines)."""

from __future__ import annotations

import sympy as sp

from symrnn import notation as nt
from symrnn.audit.findings import Finding, worse
from symrnn.audit.model import Document, matrix_value
from symrnn.audit.reading import Span, replace, split_top
from symrnn.latex.parse import ParseError, canonical
from symrnn.latex.parse.errors import is_defect
from symrnn.models.hmm import ModelError, SequenceError
from symrnn.models.nonlinearities import Nonlinearity
from symrnn.models.rnn import RNN

WORKED = "worked example"
HISTORY_DIGITS = 60  #: a state carried to the next step (a worked step's: exact when rational): nested exact
#: exponentials grow with every step, and 60 digits decide any shown decimal that is not within 1e-30 of a tie
BIG = sp.Integer(10) ** 24  #: values from here on are compared to 12 significant digits, not to the last place


def _terms(span: Span) -> list:
    return list(span.expr.terms) if isinstance(span.expr, nt.Chain) else \
        [e for _, e in span.pieces] if span.pieces else []


def worked_time(span: Span) -> int | None:
    """The time t of a worked line ``h_t = ...`` (a chain, or pieces read after an error); else None."""
    terms = _terms(span)
    if not terms or not isinstance(terms[0], nt.Vec) or terms[0].base != "h" or not terms[0].time.is_Integer:
        return None
    return int(terms[0].time)


def _places(value) -> int:
    return value.places if isinstance(value, nt.Rounded) else 0


def _printable(x) -> bool:
    """Whether ``x`` is small enough to be shown to a number of decimals (under 10^24 in size)."""
    try:
        return bool(abs(sp.N(x, 15)) < BIG)
    except (TypeError, ValueError):
        return False


def _real(x) -> bool:
    """Whether ``x`` evaluates to a finite real number."""
    try:
        value = sp.N(x, 30)
    except (TypeError, ValueError, ArithmeticError):
        return False
    return bool(value.is_real and value.is_finite and value.is_number)


def number_text(value, places: int = 2) -> str:
    """``value`` to ``places`` decimals; a value too large for that, to 6 significant digits."""
    return nt.decimal_text(value, places) if _printable(value) else str(sp.N(value, 6))


def compare_number(shown: nt.Rounded, exact, exact_alt=None) -> tuple[str, str]:
    """``(level, text)`` for a shown decimal against an exact value (``exact_alt``: from the line's own inputs)."""
    if not (_printable(exact) and _printable(shown.value)):
        gap = sp.N(abs(exact - shown.value) / (abs(exact) + abs(shown.value)), 15)
        if not gap.is_comparable:  # the recomputed value still holds a symbol the line left undefined
            return "warning", f"shows {number_text(shown.value, shown.places)}, but the recomputed value is not a " \
                "number (something in the line is undefined)"
        if gap < sp.Float("1e-12"):
            return "warning", f"shows {number_text(shown.value)}, agreeing with the recomputed value to 12 digits " \
                "(too large to compare to the last place)"
        return "error", f"shows {number_text(shown.value, shown.places)}, recomputed {number_text(exact)}"
    if not _real(exact):
        return "warning", f"shows {number_text(shown.value, shown.places)}, but the recomputed value is not a " \
            "finite real number (the line's model is not a probability model)"
    want = nt.decimal_text(exact, shown.places)
    got = nt.decimal_text(shown.value, shown.places)
    if want == got:
        return "ok", got
    if exact_alt is not None and _printable(exact_alt) and nt.decimal_text(exact_alt, shown.places) == got:
        return "ok", f"{got} (from the rounded inputs the line shows; {want} unrounded)"
    ulp = sp.Rational(1, 10 ** shown.places)
    level = "warning" if abs(sp.Rational(want) - shown.value) <= ulp else "error"
    return level, f"shows {got}, recomputed {want}"


def _vector_text(m: sp.Matrix, places: int = 2) -> str:
    return "[" + ", ".join(number_text(v, places) for v in m) + "]"


def check_worked(span: Span, doc: Document, g: Nonlinearity | None, out: list[Finding],
                 history: dict[int, sp.Matrix]) -> None:
    """A line ``h_t = g(U h_{t-1} + W x_t) = g(numbers) = [result]``: recompute every number it shows.

    ``history`` holds the exact h_t of the worked lines so far: each step starts from the previous exact state.
    """
    t_ = worked_time(span)
    if doc.recurrence is not None and span.line == doc.recurrence[0] and doc.recurrence_fault is not None:
        fault = doc.recurrence_fault
        out.append(Finding(span.line, fault.level, fault.message, "recurrence", fault.suggestion))
    if t_ is None:
        return
    terms = _terms(span)
    if doc.hmm is not None and doc.recurrence is None and not any(isinstance(x, nt.Applied) for x in terms[1:]):
        return  # not an RNN step: an HMM's forward vector \vec{h}_t, checked by symrnn.audit.hmm_claims
    U, W = doc.matrix("U", span.line), doc.matrix("W", span.line)  # noqa: N806
    if U is None or W is None or g is None:
        out.append(Finding(span.line, "warning", "a worked step, but U, W or g is not defined as numbers: not "
                           "recomputed", WORKED))
        return
    _check_recurrence(span, terms, t_, doc, out)
    x_vec = _worked_input(doc, t_, W, out)
    _check_pieces(span, terms, U, W, out)
    h_prev = history.get(t_ - 1, sp.zeros(U.rows, 1))
    if h_prev is None:
        out.append(Finding(span.line, "warning", f"step {t_ - 1} was not checked: step {t_} not recomputed", WORKED))
        return
    if x_vec is None:
        out.append(Finding(span.line, "warning", f"\\vec{{x}}_{t_} is not defined with a valid size: step "
                           f"{t_} not recomputed", WORKED))
        return
    try:
        net = RNN(U, W, g, h0=h_prev)
        exact = net.step(h_prev, x_vec)
    except (ModelError, SequenceError, ValueError) as exc:
        out.append(_cannot_run(span, exc))
        return
    history[t_] = exact if all(e.is_Rational for e in exact) else exact.evalf(HISTORY_DIGITS)
    shown_prev = _check_preactivation(span, terms, net.preactivation(h_prev, x_vec), U, out)
    alt = None
    if shown_prev is not None and shown_prev.shape == h_prev.shape:
        alt = net.step(shown_prev, x_vec)
    _check_result(span, t_, terms[-1], exact, alt, U, out)


def _cannot_run(span: Span, exc: Exception) -> Finding:
    """The document's model cannot run (sizes that do not fit, a g that does not apply): an error on this line."""
    return Finding(span.line, "error", f"the document's model cannot run here: {exc}", "sizes")


def _check_recurrence(span: Span, terms: list, t_: int, doc: Document, out: list[Finding]) -> None:
    """Every symbolic form in the worked line must be the document's recurrence at time t_."""
    if doc.recurrence is None:
        return
    model = replace(doc.recurrence[1], {nt.t: sp.Integer(t_)})
    symbolic = [x for x in terms[1:] if isinstance(x, nt.Applied) and x.atoms(sp.MatrixSymbol)]
    for x in symbolic:
        if canonical(x) != canonical(model):
            fixed = " as corrected" if getattr(doc.recurrence_fault, "corrected", None) is not None else ""
            out.append(Finding(span.line, "error", f"the step is not the recurrence of line "
                               f"{doc.recurrence[0]}{fixed}", "recurrence"))


def _worked_input(doc: Document, t_: int, W: sp.Matrix, out: list[Finding]) -> sp.Matrix | None:  # noqa: N803
    """The input x_t as defined, or (wrong size) its one-hot reading at W's size if it has one; else None."""
    x_def = doc.vectors.get(("x", t_))
    if x_def is None:
        return None
    x_vec = x_def[1]
    if x_vec.rows == W.cols:
        return x_vec
    ones = [r for r in range(x_vec.rows) if x_vec[r] != 0]
    fallback = nt.one_hot(ones[0] + 1, W.cols) if len(ones) == 1 and ones[0] < W.cols \
        and x_vec[ones[0]] == 1 else None
    out.append(Finding(x_def[0], "error", f"\\vec{{x}}_{t_} has {x_vec.rows} entries but W has "
                       f"{W.cols} columns" + (f" and \\vec{{x}}_t is defined with {len(doc.vocabulary)} "
                                              f"(line {doc.vocabulary_line})" if doc.vocabulary else ""),
                       "sizes"))
    return fallback


def _check_pieces(span: Span, terms: list, U: sp.Matrix, W: sp.Matrix, out: list[Finding]) -> None:  # noqa: N803
    """Pieces that cannot be read, and matrices in the line that are neither U nor W."""
    for item in terms:
        if isinstance(item, ParseError):
            level, verb = ("error", "cannot be read") if is_defect(item) else ("unread", "not read")
            out.append(Finding(span.line, level, f"{verb}: {item.reason}", WORKED))
    for piece in terms[1:]:
        if isinstance(piece, ParseError):
            continue
        for m in piece.atoms(nt.ScaledMatrix) if isinstance(piece, sp.Basic) else ():
            value = m.as_explicit()
            if value != U and value != W:
                out.append(Finding(span.line, "error", "a matrix in the worked step is neither U nor W as "
                                   "defined", WORKED))


def _check_preactivation(span: Span, terms: list, pre: sp.Matrix, U: sp.Matrix,  # noqa: N803
                         out: list[Finding]) -> sp.Matrix | None:
    """Compare a shown ``g([numbers])`` with the exact pre-activation; return the h_{t-1} shown in ``U h``."""
    shown_prev = None
    for piece in terms[1:-1]:
        if isinstance(piece, nt.Applied) and isinstance(piece.arguments[0], sp.MatrixBase):
            shown_pre = piece.arguments[0]
            for r in range(min(shown_pre.rows, pre.rows)):
                if isinstance(shown_pre[r], nt.Rounded):
                    level, text = compare_number(shown_pre[r], pre[r])
                    if level != "ok":
                        out.append(Finding(span.line, level, f"pre-activation entry {r + 1}: {text}", WORKED))
        if isinstance(piece, nt.Applied):
            for mm in piece.atoms(sp.MatMul):
                args = mm.args
                if len(args) == 2 and isinstance(args[0], nt.ScaledMatrix) and args[0].as_explicit() == U and \
                        isinstance(args[1], sp.MatrixBase):
                    shown_prev = matrix_value(args[1])
    return shown_prev


def _check_result(span: Span, t_: int, result, exact: sp.Matrix, alt: sp.Matrix | None, U: sp.Matrix,  # noqa: N803
                  out: list[Finding]) -> None:
    """The shown h_t against the exact one (or, when only that agrees, the one from the line's rounded inputs)."""
    if not isinstance(result, sp.MatrixBase):
        return
    if result.rows != U.rows:
        out.append(Finding(span.line, "error", f"\\vec{{h}}_{t_} is shown with {result.rows} entries; the model "
                           f"has {U.rows} states. Recomputed: {_vector_text(exact, _places(result[0]) or 2)}",
                           WORKED))
        return
    worst, notes = "ok", []
    for r in range(result.rows):
        if not isinstance(result[r], nt.Rounded):
            continue
        level, text = compare_number(result[r], exact[r], alt[r] if alt is not None else None)
        if level != "ok":
            notes.append(f"entry {r + 1} {text}")
            worst = worse(worst, level)
    msg = f"\\vec{{h}}_{t_} = {_vector_text(exact, _places(result[0]) or 2)} recomputed"
    out.append(Finding(span.line, worst, msg + (": " + "; ".join(notes) if notes else ", as shown"), WORKED,
                       _corrected_line(span.text, result, exact) if worst == "error" else None))


def _corrected_line(text: str, result: sp.Matrix, exact: sp.Matrix) -> str:
    """The worked line with its result vector recomputed, each entry to the places the line shows it."""
    entries = [number_text(exact[r], _places(result[r]) or 2) for r in range(exact.rows)]
    pieces = split_top(text)
    return " = ".join([*pieces[:-1], r"\begin{bmatrix}" + r"\\".join(entries) + r"\end{bmatrix}"])


def check_claim(span: Span, rel, doc: Document, g: Nonlinearity | None, out: list[Finding],
                 history: dict[int, sp.Matrix]) -> None:
    """``P(Y_t = tag | X_1 = w_1, ...) ~ 0.44``: the model's value for that tag, to the precision shown."""
    if not (isinstance(rel, nt.Approx) and isinstance(rel.lhs, nt.P) and isinstance(rel.rhs, nt.Rounded)):
        return
    ev = rel.lhs.events
    if len(ev) != 1 or not isinstance(ev[0], nt.Is) or not isinstance(ev[0].value, nt.Text) \
            or not isinstance(ev[0].rv, nt.RV):
        return
    if doc.hmm is not None and doc.recurrence is None:
        return  # a document with an HMM and no RNN: symrnn.audit.hmm_posterior checks its posteriors
    t_ = ev[0].rv.time
    words = [e.value.name for e in rel.lhs.given if isinstance(e, nt.Is) and isinstance(e.value, nt.Text)]
    tag = ev[0].value.name
    U, W = doc.matrix("U", span.line), doc.matrix("W", span.line)  # noqa: N806
    if not (doc.states and doc.vocabulary and U is not None and W is not None and g is not None and doc.interprets_h):
        out.append(Finding(span.line, "warning", "a probability claim, but the document does not define the model "
                           "to check it (states, vocabulary, U, W, g)", "claim"))
        return
    unknown = [w for w in words if w not in doc.vocabulary] + ([tag] if tag not in doc.states else [])
    if unknown or not t_.is_Integer or int(t_) != len(words):
        out.append(Finding(span.line, "error", f"the claim names {', '.join(unknown) or 'times'} that the "
                           "document's model does not have", "claim"))
        return
    if W.cols != len(doc.vocabulary):
        return
    try:
        h = RNN(U, W, g).run([doc.vocabulary.index(w) + 1 for w in words], digits=HISTORY_DIGITS)[-1]
    except (ModelError, SequenceError, ValueError) as exc:
        out.append(_cannot_run(span, exc))
        return
    value = h[doc.states.index(tag)]
    level, text = compare_number(rel.rhs, value)
    best = doc.states[max(range(h.rows), key=lambda r: sp.N(h[r], 30))]
    extra = "" if best == tag else f"; the model's most probable tag is {best}"
    msg = f"h_({tag},{t_}) = {number_text(value, rel.rhs.places)}"
    out.append(Finding(span.line, level if not extra else "error",
                       (msg + " as shown" if level == "ok" else f"{msg}: {text}") + extra, "claim"))
