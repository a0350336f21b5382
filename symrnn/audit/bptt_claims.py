"""BPTT claims checked against the cell the document defines: a recursion for the back-propagated error
(``\\frac{\\partial L}{\\partial h_t} = ... \\frac{\\partial L}{\\partial h_{t+1}}``,
``\\delta_t = ... \\delta_{t+1}`` once
the document names ``\\delta_t``), a parameter's gradient (``\\frac{\\partial L}{\\partial W} = \\sum_t ...``) and the
error at the output.

Both sides are evaluated on a small unrolled instance of the cell (:mod:`.unrolled`; the derivatives on the right
are the true ones, computed by the instance) at each binding of t; a claim that differs is an ``error`` with the
correct statement in the document's notation (:mod:`.suggest`), or a ``warning`` when the text says it is an
approximation (``\\approx``, truncated BPTT).  What cannot be evaluated is a ``warning`` saying what."""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import sympy as sp

from symrnn import notation as nt
from symrnn.audit import suggest
from symrnn.audit.cell_model import CellModel, parse_claim
from symrnn.audit.claim_values import OutOfRange, Unknown, close, value
from symrnn.audit.findings import Finding
from symrnn.audit.reading import Span, looks_like_bptt, relations, split_top
from symrnn.audit.unrolled import Instance
from symrnn.latex.parse import DEFAULT_LIMITS, ParseError, parse_math
from symrnn.latex.parse.errors import is_defect

CHECK = "bptt"


@dataclass(frozen=True)
class Subject:
    """What a claim's left side is the derivative of: a quantity at t + ``offset``, or a parameter."""

    name: str
    param: bool
    offset: int = 0
    last: bool = False  # at the last step T: nothing comes back from T+1


def subject(model: CellModel, lhs) -> Subject | None:
    """The claim's subject, or None when the left side is not a derivative of the loss symrnn reads."""
    if isinstance(lhs, nt.Vec) and lhs.base in model.aliases:
        lhs = model.aliases[lhs.base].xreplace({nt.t: lhs.time})
    if not isinstance(lhs, nt.VecDerivative) or str(lhs.expr) != model.loss_name:
        return None
    var = lhs.variable
    if isinstance(var, sp.MatrixSymbol) and str(var.name) in model.params:
        return Subject(str(var.name), True)
    if isinstance(var, nt.Vec) and var.base in model.params and var.time == 0:
        return Subject(var.base, True)
    if isinstance(var, nt.Vec) and var.base in model.quantities:
        if var.time == nt.T:
            return Subject(var.base, False, last=True)
        offset = sp.expand(var.time - nt.t)
        return Subject(var.base, False, int(offset)) if offset.is_Integer else None
    return None


def _free_t(expr) -> bool:
    """Whether ``expr`` depends on t outside every sum over t."""
    if isinstance(expr, (sp.Sum, nt.StateSum)):
        var = expr.index if isinstance(expr, nt.StateSum) else expr.limits[0][0]
        body = expr.expr if isinstance(expr, nt.StateSum) else expr.function
        return var != nt.t and _free_t(body)
    if expr == nt.t:
        return True
    return any(_free_t(a) for a in getattr(expr, "args", ()) if isinstance(a, sp.Basic))


def correct(model: CellModel, subj: Subject) -> str:
    """The correct right side, in the document's notation."""
    if subj.param:
        return suggest.shown(model, suggest.parameter_gradient(model, subj.name), summed=True)
    expr = suggest.quantity_error(model, subj.name, last=subj.last)
    if subj.last:
        return suggest.shown(model, expr.xreplace({nt.t: nt.T}))
    return suggest.shown(model, expr.xreplace({nt.t: nt.t + subj.offset}) if subj.offset else expr)


def _instance(model: CellModel) -> Instance:
    if getattr(model, "instance", None) is None:
        model.instance = Instance(model)
    return model.instance


def compare(model: CellModel, rel) -> tuple[str, str]:
    """``("ok", detail)``, ``("differs", detail)``, ``("sizes", detail)`` or ``("unknown", what)``."""
    inst = _instance(model)
    times = range(1, inst.T + 1) if _free_t(rel.lhs) or _free_t(rel.rhs) else (inst.T,)
    tried = []
    for k in times:
        env = {nt.t: k, nt.T: inst.T}
        try:
            left, right = value(rel.lhs, inst, env), value(rel.rhs, inst, env)
        except OutOfRange:
            continue
        except Unknown as exc:
            return "unknown", str(exc)
        except (ValueError, TypeError) as exc:
            return "sizes", str(exc).splitlines()[0][:160]
        if not close(left, right):
            return "differs", _difference(left, right, k if _free_t(rel.rhs) or _free_t(rel.lhs) else None)
        tried.append(k)
    if not tried:
        return "unknown", "the claim at any step of the instance"
    at = f"t = {', '.join(map(str, tried))}" if isinstance(times, range) else "once"
    return "ok", f"checked at {at}"


def _difference(left, right, k: int | None) -> str:
    at = f"at t = {k}, " if k is not None else ""
    try:
        pairs = list(zip(getattr(left, "flat", [left]), getattr(right, "flat", [right])))
        worst = max(range(len(pairs)), key=lambda n: abs(pairs[n][0] - pairs[n][1]))
        a, b = pairs[worst]
        return f"{at}entry {worst + 1} is {mpmath.nstr(a, 6)} but the right side gives {mpmath.nstr(b, 6)}"
    except (TypeError, ValueError):
        return f"{at}the two sides have different sizes"


def check_bptt(span: Span, doc, out: list[Finding]) -> None:
    """Every BPTT claim of one span, against the document's cell (nothing when it defines none)."""
    model = getattr(doc, "cell", None)
    if not isinstance(model, CellModel) or not looks_like_bptt(span.text):
        return
    try:
        expr = parse_claim(model, span.text, DEFAULT_LIMITS)
    except ParseError as exc:
        _unreadable(model, span, exc, out)
        return
    rels = [r for r in relations(expr) if isinstance(r, (sp.Eq, nt.Approx)) and not isinstance(r, nt.Assign)]
    for rel in rels:
        _check(model, span, rel, len(rels) == 1, out)


def _lhs_text(model: CellModel, span: Span, rel, single: bool) -> str:
    pieces = split_top(span.text)
    if single and len(pieces) == 2:
        return pieces[0]
    return suggest.styled(suggest.latex(rel.lhs), model.style)


def _check(model: CellModel, span: Span, rel, single: bool, out: list[Finding]) -> None:
    subj = subject(model, rel.lhs)
    if subj is None:
        return
    if isinstance(rel.lhs, nt.Vec) and isinstance(rel.rhs, nt.VecDerivative):
        out.append(Finding(span.line, "ok", f"names the error {rel.lhs.base}_t", CHECK))
        return
    if model.loss is None:
        out.append(Finding(span.line, "warning", "not checked: a BPTT claim, but the document states no loss symrnn "
                           "reads (a loss equation, or squared error or cross-entropy in the text)", CHECK))
        return
    verdict, detail = compare(model, rel)
    what = f"dL/d{subj.name}" + ("" if subj.param else "_t")
    if verdict == "ok":
        out.append(Finding(span.line, "ok", f"{what} holds on the cell the document defines (N={model.n}, T=3, "
                           f"random weights, 50 digits; {detail})", CHECK))
        return
    if verdict == "unknown":
        out.append(Finding(span.line, "warning", f"not checked: symrnn cannot evaluate {detail}", CHECK))
        return
    fix = f"{_lhs_text(model, span, rel, single)} = {correct(model, subj)}"
    if isinstance(rel, nt.Approx):
        out.append(Finding(span.line, "warning", f"an approximation of {what} (stated with \\approx): {detail}",
                           CHECK, fix))
        return
    missing = " (the right side depends on t: is a sum over t missing?)" if subj.param and _free_t(rel.rhs) else ""
    why = f"sizes do not fit: {detail}" if verdict == "sizes" else f"does not hold for the cell the document " \
        f"defines: {detail}{missing}"
    out.append(Finding(span.line, "error", f"{what}: {why}", CHECK, fix))


def _unreadable(model: CellModel, span: Span, exc: ParseError, out: list[Finding]) -> None:
    """A claim whose right side is malformed (sizes that do not fit): the correct statement, when its left side
    reads as a derivative of the loss."""
    pieces = split_top(span.text)
    if not is_defect(exc) or len(pieces) != 2:
        return
    try:
        lhs = parse_math(pieces[0], notation=model.sizes, limits=DEFAULT_LIMITS, backend="none").expr
    except ParseError:
        return
    subj = subject(model, lhs)
    if subj is None or model.loss is None:
        return
    out.append(Finding(span.line, "error", f"dL/d{subj.name}: the right side cannot be read ({exc.reason})", CHECK,
                       f"{pieces[0]} = {correct(model, subj)}"))
