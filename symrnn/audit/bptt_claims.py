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
from sympy.matrices.exceptions import ShapeError

from symrnn import notation as nt
from symrnn.audit import closed_forms as closed
from symrnn.audit import suggest
from symrnn.audit.cell_model import CellModel, parse_claim
from symrnn.audit.claim_values import OutOfRange, Unknown, close, value
from symrnn.audit.declarations import doc_sizes, sizes_conflict
from symrnn.audit.findings import Finding
from symrnn.audit.reading import Span, looks_like_bptt, relations, split_top
from symrnn.audit.unrolled import STEPS, Instance
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


def correct(model: CellModel, subj: Subject, rel=None) -> str:
    """The correct right side, in the document's notation (a closed form when the claim is one and the cell has
    one)."""
    if rel is not None and not subj.param and not subj.last and not subj.offset and closed.is_closed_form(rel):
        form = closed.closed_form(model, subj.name, rel)
        if form is not None:
            return form
    if subj.param:
        return suggest.shown(model, suggest.parameter_gradient(model, subj.name), summed=True)
    expr = suggest.quantity_error(model, subj.name, last=subj.last)
    if subj.last:
        return suggest.shown(model, expr.xreplace({nt.t: nt.T}))
    return suggest.shown(model, expr.xreplace({nt.t: nt.t + subj.offset}) if subj.offset else expr)


class NotUnrolled(Exception):
    """The cell as read could not be run forward on numbers (its quantities' sizes do not fit together)."""


def _instance(model: CellModel, steps: int = STEPS) -> Instance:
    try:
        if steps == STEPS:
            if getattr(model, "instance", None) is None:
                model.instance = Instance(model)
            return model.instance
        more = model.__dict__.setdefault("more_instances", {})
        if steps not in more:
            more[steps] = Instance(model, seed=steps, steps=steps)
        return more[steps]
    except (TypeError, ValueError, ShapeError) as exc:
        raise NotUnrolled(str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__) from None


def compare(model: CellModel, rel) -> tuple[str, str]:
    """``("ok", detail)``, ``("differs", detail)``, ``("sizes", detail)`` or ``("unknown", what)``.  A closed form
    (a sum or product over another index, a power that depends on t) is checked at T = 3 and T = 4; a claim
    through Jacobians or products of them holds when one consistent reading of them (layout, order) holds."""
    lengths = closed.LENGTHS if closed.is_closed_form(rel) else (STEPS,)
    first: tuple[str, str] | None = None
    for reading in closed.readings(rel):
        verdict = _compare_at(model, rel, lengths, reading)
        if verdict[0] == "ok":
            return verdict[0], verdict[1] + closed.describe(reading)
        first = first or verdict
    return first


def _compare_at(model: CellModel, rel, lengths: tuple[int, ...], reading: dict) -> tuple[str, str]:
    tried: dict[int, list[int]] = {}
    free = _free_t(rel.lhs) or _free_t(rel.rhs)
    for steps in lengths:
        inst = _instance(model, steps)
        for k in range(1, inst.T + 1) if free else (inst.T,):
            env = {nt.t: k, nt.T: inst.T, **reading}
            try:
                left, right = value(rel.lhs, inst, env), value(rel.rhs, inst, env)
            except OutOfRange as exc:
                if len(lengths) > 1:  # a closed form that names a step the sequence does not have
                    return "differs", f"T = {inst.T}, at t = {k}, it needs {exc}, a step the sequence does not have"
                continue
            except Unknown as exc:
                return "unknown", str(exc)
            except (ValueError, TypeError) as exc:
                return "sizes", str(exc).splitlines()[0][:160]
            if not close(left, right):
                at = f"T = {inst.T}, " if len(lengths) > 1 else ""
                return "differs", at + _difference(left, right, k if free else None)
            tried.setdefault(inst.T, []).append(k)
    if not tried:
        return "unknown", "the claim at any step of the instance"
    if not free:
        return "ok", "checked once"
    if len(lengths) == 1:
        return "ok", f"checked at t = {', '.join(map(str, tried[lengths[0]]))}"
    return "ok", "checked at " + " and ".join(f"t = {', '.join(map(str, ks))} for T = {n}" for n, ks in tried.items())


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
    rels = [r for r in relations(expr) if isinstance(r, (sp.Eq, nt.Approx, nt.Chain)) and not isinstance(r, nt.Assign)]
    for rel in rels:
        if isinstance(rel, nt.Chain):
            _check_chain(model, span, rel, out)
        else:
            _check(model, span, rel, len(rels) == 1, out)


def chain_pairs(chain: nt.Chain) -> list:
    """``a = b = c \\approx d`` as ``a = b``, ``a = c``, ``a \\approx d``: each piece against the first."""
    out, approx = [], False
    first = chain.terms[0]
    for term, how in zip(chain.terms[1:], chain.relations, strict=True):
        approx = approx or how == "approx"
        out.append(nt.Approx(first, term) if approx else sp.Eq(first, term, evaluate=False))
    return out


def _check_chain(model: CellModel, span: Span, chain: nt.Chain, out: list[Finding]) -> None:
    """A chain's pieces, each against its first term: its errors, else one ``ok`` (a piece that cannot be evaluated,
    such as the chain rule's ``\\text{prod}(\\cdot, \\cdot)``, is named in it), else what could not be checked."""
    found: list[Finding] = []
    for rel in chain_pairs(chain):
        if isinstance(rel, sp.Eq) and rel in (sp.true, sp.false):
            continue
        _check(model, span, rel, False, found)
    errors = [f for f in found if f.level == "error"]
    oks = [f for f in found if f.level == "ok"]
    if errors or not oks:
        out.extend(errors or found[:1])
        return
    skipped = [f for f in found if f.level == "warning" and f.message.startswith("not checked")]
    note = f" (of the chain's {len(found)} pieces, {len(skipped)} not evaluated: " \
        f"{skipped[0].message.split(': ', 1)[-1]})" if skipped else ""
    out.append(Finding(oks[-1].line, "ok", oks[-1].message + note, CHECK))


def _lhs_text(model: CellModel, span: Span, rel, single: bool) -> str:
    pieces = split_top(span.text)
    if single and len(pieces) == 2:
        return pieces[0]
    return suggest.styled(suggest.latex(rel.lhs), model.style)


def _compared(model: CellModel, span: Span, rel, out: list[Finding]) -> tuple[str, str] | None:
    """:func:`compare`, or None (with a warning saying why) when the cell cannot be run forward on numbers."""
    try:
        return compare(model, rel)
    except NotUnrolled as exc:
        out.append(Finding(span.line, "warning", "not checked: the cell the document defines could not be run "
                           f"forward on numbers ({exc}): its quantities' sizes do not fit together", CHECK))
        return None


def _check(model: CellModel, span: Span, rel, single: bool, out: list[Finding]) -> None:
    subj = subject(model, rel.lhs)
    if subj is None:
        if closed.is_jacobian(model, rel.lhs):
            _check_jacobian(model, span, rel, out)
        return
    if isinstance(rel.lhs, nt.Vec) and isinstance(rel.rhs, nt.VecDerivative):
        out.append(Finding(span.line, "ok", f"names the error {rel.lhs.base}_t", CHECK))
        return
    if model.loss is None:
        why = f": {model.unread_loss}" if model.unread_loss else ""
        out.append(Finding(span.line, "warning", "not checked: a BPTT claim, but the document states no loss symrnn "
                           f"reads (a loss equation, or squared error or cross-entropy in the text){why}", CHECK))
        return
    what = f"dL/d{subj.name}" + ("" if subj.param else "_T" if subj.last else "_t")
    conflict = sizes_conflict(doc_sizes(model, span.line), rel)
    if conflict:
        out.append(Finding(span.line, "error", f"{what}: sizes do not fit the declarations: {conflict}",
                           CHECK, f"{_lhs_text(model, span, rel, single)} = {correct(model, subj, rel)}"))
        return
    compared = _compared(model, span, rel, out)
    if compared is None:
        return
    verdict, detail = compared
    if verdict == "ok":
        steps = " and ".join(map(str, closed.LENGTHS)) if closed.is_closed_form(rel) else "3"
        free = "; the per-step loss's gradients free random vectors" if model.per_step else ""
        out.append(Finding(span.line, "ok", f"{what} holds on the cell the document defines (N={model.n}, "
                           f"T={steps}, random weights{free}, 50 digits; {detail})", CHECK))
        return
    if verdict == "unknown":
        out.append(Finding(span.line, "warning", f"not checked: symrnn cannot evaluate {detail}", CHECK))
        return
    fix = f"{_lhs_text(model, span, rel, single)} = {correct(model, subj, rel)}"
    if isinstance(rel, nt.Approx):
        out.append(Finding(span.line, "warning", f"an approximation of {what} (stated with \\approx): {detail}",
                           CHECK, fix))
        return
    missing = " (the right side depends on t: is a sum over t missing?)" if subj.param and _free_t(rel.rhs) else ""
    why = f"sizes do not fit: {detail}" if verdict == "sizes" else f"does not hold for the cell the document " \
        f"defines: {detail}{missing}"
    if model.guessed and verdict != "sizes":  # the model is not the document's own: no error without its loss
        out.append(Finding(span.line, "warning", f"{what}: not checked against a stated loss: no equation states "
                           f"it, and with the {model.loss} of {model.output}_t its prose suggests, {why}", CHECK))
        return
    out.append(Finding(span.line, "error", f"{what}: {why}", CHECK, fix))


def _check_jacobian(model: CellModel, span: Span, rel, out: list[Finding]) -> None:
    """``\\frac{\\partial h_t}{\\partial h_{t-1}} = W``: a Jacobian of the cell, in either layout."""
    compared = _compared(model, span, rel, out)
    if compared is None:
        return
    verdict, detail = compared
    if verdict == "ok":
        out.append(Finding(span.line, "ok", f"the Jacobian holds on the cell the document defines (N={model.n}, "
                           f"T=3, random weights, 50 digits; {detail})", CHECK))
    elif verdict == "unknown":
        out.append(Finding(span.line, "warning", f"not checked: symrnn cannot evaluate {detail}", CHECK))
    elif not isinstance(rel, nt.Approx):
        out.append(Finding(span.line, "error", f"the Jacobian does not hold for the cell the document defines in "
                           f"either layout: {detail}", CHECK))


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
