"""The recursions an HMM document states, checked against its model: the matrix form (``\\vec{\\alpha}_t =
(A^\\top \\vec{\\alpha}_{t-1}) \\odot (B\\vec{x}_t)``) evaluated on its own matrices, the scalar form
(``\\alpha_t(j) = \\sum_i \\alpha_{t-1}(i) a_{ij} b_j(o_t)``) read for its operation (sum or max), the time of the
previous value and the order of the transition entry's indices; a wrong one with the corrected statement, its text
with the one wrong piece replaced."""

from __future__ import annotations

import random
import re

import sympy as sp

from symrnn import notation as nt
from symrnn.audit.findings import Finding
from symrnn.audit.hmm_checks import step
from symrnn.audit.hmm_model import HMMDoc, _indices
from symrnn.audit.reading import Span, replace, split_top

CHECK = "recurrence"
_T = sp.Symbol("t")
_TRANSPOSE = r"\s*\^\s*(?:\{\s*)?(?:\\top|T|\\intercal|\\mathsf\{T\}|\\mathrm\{T\}|\\prime|')(?:\s*\})?"


def _offset(time) -> int | None:
    """``t-1`` -> -1; an integer time -> None."""
    syms = [s for s in getattr(time, "free_symbols", ()) if s.name == "t"]
    if len(syms) != 1:
        return None
    k = sp.simplify(time - syms[0])
    return int(k) if k.is_Integer else None


def evaluate(expr, hmm: HMMDoc, name: str, prev: sp.Matrix | None, k: int, t_: int | None,
             flip: bool = False, shift: int = 0) -> sp.Matrix | None:
    """``expr`` with the document's matrices, the previous values ``prev`` and the one-hot input of symbol ``k``
    (at time ``t_``, or symbolic t + ``shift`` when None); ``flip``: the transition matrix transposed. None if it
    has anything else."""
    rule = {}
    roles = {w[0]: r for r, w in hmm.written.items()}
    for m in expr.atoms(sp.MatrixSymbol):
        role = roles.get(m.name) or roles.get("\\" + m.name)
        if role is None:
            return None
        value = hmm.written[role][2]
        rule[m] = sp.ImmutableMatrix(value.T if (flip and role == "trans") else value)
    for v in expr.atoms(nt.Vec):
        here = _offset(v.time) if t_ is None else (int(v.time) - t_ if v.time.is_Integer else None)
        here = here - shift if here is not None and t_ is None else here
        if v.base == name and here == -1 and prev is not None:
            rule[v] = sp.ImmutableMatrix(prev)
        elif v.base == "x" and here == 0:
            rule[v] = sp.ImmutableMatrix(nt.one_hot(k + 1, hmm.canonical["emit"].cols))
        else:
            return None
    try:
        value = replace(expr, rule).doit()
        out = sp.Matrix(value.as_explicit() if isinstance(value, sp.MatrixExpr) else value)
        return out if all(e.is_number for e in out) else None
    except (TypeError, ValueError, AttributeError, NotImplementedError, sp.ShapeError):  # what SymPy cannot expand
        return None


def _toggled(text: str, letter: str) -> str | None:
    """The statement with the transition matrix's transpose toggled on its right side (``A`` <-> ``A^\\top``)."""
    pieces = split_top(text)
    if len(pieces) < 2:
        return None
    cut = text.find(pieces[1], len(pieces[0]))
    head, tail = text[:cut], text[cut:]
    name = re.escape(letter)
    with_t = re.compile(rf"(?<![A-Za-z\\]){name}{_TRANSPOSE}")
    if with_t.search(tail):
        return head + with_t.sub(letter, tail)
    bare = re.compile(rf"(?<![A-Za-z\\]){name}(?![A-Za-z^])")
    return head + bare.sub(letter + r"^\\top", tail) if bare.search(tail) else None


def check_matrix_form(span: Span, name: str, op: str, doc, out: list[Finding], shift: int = 0) -> None:
    """``\\vec{\\alpha}_t = ...``: evaluated on the model for two random previous vectors and every input symbol."""
    hmm = doc.hmm
    if op != "sum" or not all(r in hmm.canonical for r in ("trans", "emit")) or \
            not hmm.canonical["trans"].rows == hmm.canonical["trans"].cols == hmm.canonical["emit"].rows:
        return
    rng = random.Random(f"{span.line}{span.text}")
    rhs = span.expr.rhs
    ok, flipped = True, True
    for _ in range(2):
        prev = sp.Matrix([sp.Rational(rng.randint(1, 97), 97) for _ in range(hmm.n)])
        for k in range(min(hmm.canonical["emit"].cols, 8)):
            want = step(hmm.canonical["trans"], hmm.canonical["emit"], prev, k)
            got = evaluate(rhs, hmm, name, prev, k, None, shift=shift)
            if got is None:
                return  # something the model does not define (another time index is the recurrence check's)
            ok = ok and got == want
            flipped = flipped and evaluate(rhs, hmm, name, prev, k, None, flip=True, shift=shift) == want
    if ok:
        out.append(Finding(span.line, "ok", "the forward step of the document's model", CHECK))
        return
    trans = hmm.written["trans"][0]
    d = hmm.defs.get("trans")
    why = f" ({hmm.letter('trans')} is defined on line {d.line})" if d else ""
    if flipped:
        out.append(Finding(span.line, "error", f"the step multiplies by {trans} the wrong way round: with the "
                           f"model's convention{why} the forward step needs the transpose of what is written",
                           CHECK, _toggled(span.text, trans)))
    else:
        out.append(Finding(span.line, "error", "this is not the forward step of the document's model", CHECK))


def _ops(rhs) -> tuple[list, list]:
    maxes = list(rhs.atoms(nt.StateMax))
    sums = list(rhs.atoms(sp.Sum)) + [s for s in rhs.atoms(nt.StateSum) if not isinstance(s, nt.StateMax)]
    return sums, maxes


def _bound(total) -> sp.Symbol | None:
    if isinstance(total, sp.Sum):
        return total.limits[0][0]
    return getattr(total, "index", None)


_SUM = re.compile(r"\\sum\s*(?:_\s*(?:\{[^{}]*\}|\w))?(?:\s*\^\s*(?:\{[^{}]*\}|\w))?")
_MAX = re.compile(r"\\max\s*(?:_\s*(?:\{[^{}]*\}|\w))?")


def _op_fix(span: Span, op: str, index) -> Finding:
    pieces = split_top(span.text)
    cut = span.text.find(pieces[1], len(pieces[0])) if len(pieces) > 1 else len(span.text)
    head, tail = span.text[:cut], span.text[cut:]
    if op == "max":
        fixed, msg = _SUM.sub(lambda m: rf"\max_{{{index}}}", tail, count=1), "Viterbi takes the max over the " \
            "previous state, not the sum"
    else:
        fixed, msg = _MAX.sub(lambda m: rf"\sum_{{{index}=1}}^{{N}}", tail, count=1), "the forward algorithm " \
            "sums over the previous state, not the max"
    return Finding(span.line, "error", msg, CHECK, head + fixed)


def _split_tail(text: str) -> tuple[str, str]:
    pieces = split_top(text)
    cut = text.find(pieces[1], len(pieces[0])) if len(pieces) > 1 else len(text)
    return text[:cut], text[cut:]


def _time_fix(text: str, name: str, wrong: set[str], right: str = "t-1") -> str | None:
    """The statement with the previous value's time index (``\\alpha_{t}(i)``, ``h_{i,t}``) set to t-1."""
    head, tail = _split_tail(text)
    base = re.escape("\\" + name if len(name) > 1 else name)
    hits = 0

    def fix(m: re.Match) -> str:
        nonlocal hits
        parts = m.group(2).strip("{}").split(",")
        if parts[-1].replace(" ", "") not in wrong:
            return m.group(0)
        hits += 1
        parts[-1] = right
        return f"{m.group(1)}_{{{','.join(p.strip() for p in parts)}}}"

    tail = re.sub(rf"((?<![A-Za-z\\]){base})\s*_\s*(\{{[^{{}}]*\}}|\w)", fix, tail)
    return head + tail if hits else None


def _swap_fix(text: str, letter: str, wrong: str) -> str | None:
    """The statement with the transition entry's indices in the order its definition gives (``a_{ji}`` ->
    ``a_{ij}``, ``u_{i,j}`` -> ``u_{j,i}``)."""
    head, tail = _split_tail(text)
    pattern = re.compile(rf"((?<![A-Za-z\\]){re.escape(letter)})\s*_\s*\{{\s*([A-Za-z])\s*(,?)\s*([A-Za-z])\s*\}}")

    def fix(m: re.Match) -> str:
        if m.group(2) + m.group(4) != wrong:
            return m.group(0)
        return f"{m.group(1)}_{{{m.group(4)}{m.group(3)}{m.group(2)}}}"

    fixed = pattern.sub(fix, tail)
    return head + fixed if fixed != tail else None


def _orientation(span: Span, rhs, state: str, index, hmm: HMMDoc, back: bool = False) -> Finding | None:
    """The transition entry must have the previous state (the bound index; ``back``: the state on the left) where
    its definition puts it."""
    d = hmm.defs.get("trans")
    if d is None or index is None or d.given_pos is None:
        return None
    if back:
        state, index = str(index), sp.Symbol(state)
    for ix in rhs.atoms(sp.Indexed):
        got = _indices(ix)
        if got is None or got[0] != d.letter or len(got[1]) != 2:
            continue
        idx = [str(s) for s in got[1]]
        if idx[d.given_pos] == state and idx[d.event_pos] == str(index):
            joined = "".join(idx) if re.search(rf"{re.escape(d.letter)}_\{{\s*{''.join(idx)}\s*\}}", span.text) \
                else ",".join(idx)
            return Finding(span.line, "error", f"{d.letter}_{{{joined}}} takes the previous state as the "
                           f"{'first' if d.event_pos == 0 else 'second'} index, but line {d.line} defines "
                           f"{d.letter} with the previous state {'first' if d.given_pos == 0 else 'second'}: the "
                           "step uses the transition matrix transposed", CHECK,
                           _swap_fix(span.text, d.letter, "".join(idx)))
    return None


def check_scalar_form(span: Span, name: str, state: str, op: str, doc, out: list[Finding], shift: int = 0) -> None:
    """``\\alpha_t(j) = \\sum_i ...``: the operation, the previous value's time and the transition's orientation."""
    rhs = span.expr.rhs
    if not isinstance(rhs, sp.Basic):
        return
    sums, maxes = _ops(rhs)
    if not sums and not maxes:
        return
    index = _bound((maxes or sums)[0])
    before = len(out)
    if op == "max" and sums and not maxes or op in ("sum", "back") and maxes and not sums:
        out.append(_op_fix(span, "sum" if op == "back" else op, index))
    step_to = 1 if op == "back" else -1  # the backward variable comes from t+1
    wrong = set()
    for ix in rhs.atoms(sp.Indexed):
        if str(ix.base.label) == name:
            k = _offset(ix.indices[-1])
            if k is not None and k - shift != step_to:
                wrong.add(str(ix.indices[-1]).replace(" ", ""))
    right = "t" + (f"{shift + step_to:+d}" if shift + step_to else "")
    if wrong:
        shown_name = "\\" + name if len(name) > 1 else name
        now = "t" + (f"{shift:+d}" if shift else "")
        which = "next" if op == "back" else "previous"
        out.append(Finding(span.line, "error", f"the recursion computes {shown_name} at {now} from {shown_name} at "
                           f"{', '.join(sorted(wrong))}: it must use the {which} step, {right}", CHECK,
                           _time_fix(span.text, name, wrong, right)))
    flipped = _orientation(span, rhs, state, index, doc.hmm, op == "back")
    if flipped is not None:
        out.append(flipped)
    if len(out) == before:
        what = {"sum": "forward", "max": "Viterbi", "back": "backward"}[op]
        out.append(Finding(span.line, "ok", f"the {what} recursion, with the document's transition convention",
                           CHECK))


_MAX_CALL = re.compile(r"\\max\s*(?:\\left\s*)?\(")
MAX_ARGS = 64


def _closing(text: str, start: int) -> int | None:
    """The index of the ``)`` closing the ``(`` just before ``start``; None if it is not closed."""
    depth = 1
    for n in range(start, len(text)):
        if text[n] == "(":
            depth += 1
        elif text[n] == ")":
            depth -= 1
            if depth == 0:
                return n
    return None


def _top_commas(text: str) -> list[str]:
    out, depth, start = [], 0, 0
    for n, c in enumerate(text):
        depth += 1 if c in "({[" else (-1 if c in ")}]" else 0)
        if c == "," and depth == 0:
            out.append(text[start:n])
            start = n + 1
    return [*out, text[start:]]


def _number(text: str):
    from symrnn.latex.parse import ParseError, parse
    try:
        e = parse(text, backend="none")
    except ParseError:
        return None
    if not isinstance(e, sp.Expr):
        return None
    value = e.xreplace({r: r.value for r in e.atoms(nt.Rounded)})
    return value if value.is_number else None


def max_arithmetic(text: str):
    """The exact value of numeric arithmetic with ``\\max(a, b, ...)`` in it (``\\max(0.32 \\times 0.6, 0.02
    \\times 0.5) \\times 0.2``), read with symrnn's own reader; None if anything in it is not a number."""
    for _ in range(MAX_ARGS):
        m = _MAX_CALL.search(text)
        if m is None:
            return _number(text)
        end = _closing(text, m.end())
        if end is None:
            return None
        inner = text[m.end():end]
        inner = re.sub(r"\\right\s*$", "", inner)
        args = [_number(a) for a in _top_commas(inner)[:MAX_ARGS]]
        if not args or any(a is None for a in args):
            return None
        best = sp.Max(*args)
        if not best.is_Rational:
            return None
        text = text[:m.start()] + rf"\left(\frac{{{best.p}}}{{{best.q}}}\right)" + text[end + 1:]
    return None
