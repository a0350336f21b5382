"""Chain-rule claims about abstract functions (``h_t = f(x_t, h_{t-1}, w)``, ``o_t = g(h_t, w)``, a per-step loss
``l``), checked for every ``f``, ``g``, ``l`` at once: both sides are valued on the model unrolled over T = 3 and 4
steps with SymPy undefined functions (:mod:`.abstract_values`) at t = 1..T, scalars as scalars and vectors with two
entries (Jacobians as matrices of symbols, so a wrong order of factors shows).

A claim is a relation whose first side is a derivative of the loss, a quantity or a function of the model.  Every
later side equal to it for any functions is ``ok``; one that is not is an ``error`` at its own line, with the correct
statement in the document's notation (:mod:`.abstract_suggest`, offered only once it checks), or a ``warning`` when
stated with ``\\approx``.  What cannot be valued (a name the model does not define, sizes that fit in no layout) is a
``warning`` saying what.  ``\\partial_w f(x_t, h_{t-1}, w) \\partial_w h_{t-1}`` is read with each ``\\partial_w``
applying to the function or quantity right after it, as such texts mean it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp

from symrnn import notation as nt
from symrnn.audit.abstract_model import AbstractModel, read_abstract, ref
from symrnn.audit.abstract_values import OutOfRange, Setting, ShapeError, Unknown, Values
from symrnn.audit.findings import Finding
from symrnn.audit.reading import Span, relations, split_top
from symrnn.latex.parse import ParseError, parse

CHECK = "chain rule"
STEPS = (3, 4)  #: the unrollings tried (T)
_DERIVATIVE_TEXT = re.compile(r"\\partial|\\nabla|\\frac\s*\{\s*d")
_DERIVATIVES = (nt.TotalDerivative, nt.VecDerivative)


@dataclass
class Outcome:
    """Per later side: ``ok``, ``differs`` (with the detail), ``unknown`` or ``sizes`` (with what)."""

    verdicts: list[tuple[str, str]]
    setting: str


def check_abstract(span: Span, doc, out: list[Finding]) -> None:
    """Every chain-rule claim of one span about the abstract model in force at its line (nothing when the document
    states none, or the span makes no claim about it)."""
    if span.expr is None or not _DERIVATIVE_TEXT.search(span.text) or \
            ("=" not in span.text and r"\approx" not in span.text):
        return
    model = read_abstract(doc.spans, span.line)
    if model is None:
        return
    prose = getattr(doc, "prose", "")
    expr = span.expr
    if model.vector:  # read with plain names: products of Jacobians keep the order they are written in
        try:
            expr = parse(_BOLD.sub(r"\1", span.text), backend="none")
        except ParseError:
            return
    expr = scoped(expr)
    rels = [r for r in relations(expr) if isinstance(r, (sp.Eq, nt.Approx, nt.Chain)) and not isinstance(r, nt.Assign)]
    lines = term_lines(span, prose, len(_terms(rels[0])[0]) if len(rels) == 1 else 0)
    layouts = ("num", "den") if "denominator" in prose.lower() else ("num",)
    for rel in rels:
        if model.vector and _TRANSPOSE.search(_BOUNDS.sub(" ", span.text)) and subject(model, _terms(rel)[0][0]):
            out.append(Finding(span.line, "warning", "not checked: a claim about Jacobians with a transpose (symrnn "
                               "checks products of abstract Jacobians written without transposes)", CHECK))
            continue
        check_relation(model, rel, span, lines, out, layouts)


_BOLD = re.compile(r"\\(?:mathbf|boldsymbol|bm|vec)\s*\{([^{}]*)\}")
_BOUNDS = re.compile(r"\\(?:sum|prod)\s*_\s*\{[^{}]*\}\s*\^\s*(?:\{[^{}]*\}|\S)")
_TRANSPOSE = re.compile(r"\^\s*\{?\s*(?:\\top|\\intercal|T\b)")


def check_relation(model: AbstractModel, rel, span: Span, lines: list[int], out: list[Finding],
                   layouts: tuple[str, ...] = ("num",)) -> None:
    """One relation: nothing when its first side is not a derivative about the model, else a finding per later
    side."""
    from symrnn.audit.abstract_suggest import correction

    terms, kinds = _terms(rel)
    what = subject(model, terms[0])
    if what is None:
        return
    outcome = compare(model, terms, layouts)
    for n, (verdict, detail) in enumerate(outcome.verdicts, start=1):
        line = lines[n] if n < len(lines) else span.line
        if verdict == "ok":
            out.append(Finding(line, "ok", f"{what} holds for any {_functions(model)} (the chain rule over "
                               f"{outcome.setting})", CHECK))
        elif verdict in ("unknown", "sizes"):
            out.append(Finding(line, "warning", f"not checked: {what}: {detail}", CHECK))
        elif kinds[n - 1] == "approx":
            out.append(Finding(line, "warning", f"an approximation of {what} (stated with \\approx): {detail}", CHECK))
        else:
            fix = correction(model, terms[0], terms[n], span.text, layouts)
            out.append(Finding(line, "error", f"{what} does not hold for general {_functions(model)}: {detail}",
                               CHECK, fix))


def holds(model: AbstractModel, text: str, layouts: tuple[str, ...] = ("num",)) -> bool:
    """Whether every side of the relation ``text`` (symrnn's own LaTeX) equals its first for any functions (a
    suggestion is offered only if so)."""
    try:
        rel = parse(_BOLD.sub(r"\1", text), backend="none")
    except ParseError:
        return False
    terms, _ = _terms(scoped(rel))
    return all(v == "ok" for v, _ in compare(model, terms, layouts).verdicts)


def _terms(rel) -> tuple[list, list[str]]:
    if isinstance(rel, nt.Chain):
        return list(rel.terms), list(rel.relations)
    return [rel.lhs, rel.rhs], ["approx" if isinstance(rel, nt.Approx) else "="]


def _functions(model: AbstractModel) -> str:
    names = sorted(model.functions)
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def subject(model: AbstractModel, term) -> str | None:
    """``"dL/dw"``, ``"dh_t/dw"``: what a claim's first side is the derivative of, when it is about the model."""
    if not isinstance(term, _DERIVATIVES):
        return None
    num, var = term.expr, term.variable
    v = ref(var, frozenset({"i", "j", "k"}))
    if v is None or not (v.name in model.params or v.name in model.quantities or v.name in model.inputs):
        return None
    of = ref(num, frozenset({"i", "j", "k"}))
    loss = model.loss.name if model.loss else None
    if isinstance(num, sp.Symbol) and num.name == loss or (of is not None and of.kind == "p" and of.name == loss):
        name = loss
    elif of is not None and of.kind == "q" and of.name in model.quantities:
        name = f"{of.name}_{sp.sstr(of.time).replace(' ', '')}"
    else:
        return None
    at = v.name if v.kind == "p" else f"{v.name}_{sp.sstr(v.time).replace(' ', '')}"
    return f"d{name}/d{at}"


def compare(model: AbstractModel, terms: list, layouts: tuple[str, ...] = ("num",)) -> Outcome:
    """Each later side against the first, in every layout and product order tried; the setting that makes most
    sides hold is kept."""
    names = set().union(*[{s.name for s in getattr(x, "free_symbols", ())} for x in terms])
    steps = STEPS[:1] if _vectors(model) else STEPS
    layouts = layouts if _vectors(model) else ("num",)
    orders = (True, False) if _vectors(model) and any(getattr(x, "has", lambda *a: False)(sp.Product)
                                                       for x in terms) else (True,)
    best: list[tuple[str, str]] | None = None
    values = Values(model, max(steps))
    for layout in layouts:
        for descending in orders:
            verdicts = [_side(values, terms[0], x, steps, "t" in names, layout, descending) for x in terms[1:]]
            if best is None or sum(v == "ok" for v, _ in verdicts) > sum(v == "ok" for v, _ in best):
                best = verdicts
    where = f"T = {', '.join(map(str, steps))} steps, t = 1..T" if "t" in names else \
        f"T = {', '.join(map(str, steps))} steps"
    vec = ", vectors of 2 entries" if _vectors(model) else ""
    return Outcome(best or [], f"{where}{vec}, with undefined functions")


def _vectors(model: AbstractModel) -> bool:
    return model.vector


def _side(values: Values, first, other, steps: tuple, free_t: bool, layout: str,
          descending: bool) -> tuple[str, str]:
    tried = 0
    for big_t in steps:
        for k in range(1, big_t + 1) if free_t else (None,):
            s = Setting(big_t, (("t", k),) if k is not None else (), layout, descending)
            try:
                left, right = values.value(first, s), values.value(other, s)
            except OutOfRange:
                continue
            except Unknown as exc:
                return "unknown", f"symrnn cannot value {exc}"
            except ShapeError as exc:
                return "sizes", f"the sizes do not fit ({exc}) in any layout symrnn tries"
            same = _same(left, right)
            if same is not None:
                at = f"at T = {big_t}" + (f", t = {k}" if k is not None else "")
                hint = " (the right side depends on t: is a sum over t missing?)" \
                    if free_t and not _has_t(first) and _has_t(other) else ""
                return "differs", f"{at}, {same}{hint}"
            tried += 1
    return ("ok", "") if tried else ("unknown", "symrnn cannot value the claim at any step of the unrolling")


def _has_t(expr) -> bool:
    return any(s.name == "t" for s in getattr(expr, "free_symbols", ()))


def _same(a: sp.Matrix, b: sp.Matrix) -> str | None:
    """None when ``a`` and ``b`` are equal, else how ``b`` differs from ``a``."""
    if a.shape != b.shape:
        return f"the right side is a {b.shape[0]} x {b.shape[1]} matrix, the true derivative " \
               f"{a.shape[0]} x {a.shape[1]}"
    diff = [sp.expand(x - y) for x, y in zip(a, b, strict=True)]
    if all(d == 0 for d in diff):
        return None
    nonzero = [(sp.expand(x), sp.expand(y)) for x, y in zip(a, b, strict=True) if x != 0]
    if nonzero:
        ratio = sp.cancel(nonzero[0][1] / nonzero[0][0])
        if ratio.is_number and all(sp.expand(y - ratio * x) == 0 for x, y in zip(a, b, strict=True)):
            return f"the right side is {ratio} times the true derivative"
    true_terms = set().union(*[sp.Add.make_args(sp.expand(x)) for x in a])
    said = set().union(*[sp.Add.make_args(sp.expand(y)) for y in b])
    missing, extra = len(true_terms - said - {0}), len(said - true_terms - {0})
    parts = ([f"misses {missing} of the true derivative's {len(true_terms - {0})} terms"] if missing else []) + \
        ([f"has {extra} term{'s' if extra > 1 else ''} that the true derivative has not"] if extra else [])
    order = " (products of matrices: is the order of the factors right?)" if a.shape != (1, 1) else ""
    return "the right side " + " and ".join(parts or ["differs from the true derivative"]) + order


# -- reading --
def scoped(expr):
    """``\\partial_w f(...) \\partial_h g(...)`` read as a product of derivatives: a derivative of a product whose
    first factor is a function applied or a name is that factor's derivative times the rest."""
    if isinstance(expr, tuple):
        return tuple(scoped(e) for e in expr)
    if isinstance(expr, nt.TotalDerivative) and isinstance(expr.expr, (sp.Mul, sp.MatMul)) and expr.expr.args:
        first, *rest = expr.expr.args
        if _is_operand(first):
            return sp.Mul(type(expr)(first, expr.variable), *[scoped(r) for r in rest], evaluate=False)
    if not isinstance(expr, sp.Basic) or not expr.args or isinstance(expr, (sp.Indexed, nt.Vec, sp.MatrixSymbol)):
        return expr
    args = [scoped(a) for a in expr.args]
    if args == list(expr.args):
        return expr
    if isinstance(expr, (sp.Mul, sp.Add)):
        return expr.func(*args, evaluate=False)
    if type(expr).__module__.startswith(nt.__name__ + "."):
        return sp.Basic.__new__(type(expr), *args)
    return expr.func(*args)


def _is_operand(expr) -> bool:
    from symrnn.audit.abstract_model import application

    return application(expr) is not None or ref(expr) is not None


def term_lines(span: Span, source: str, count: int) -> list[int]:
    """The line each of a single relation's ``count`` sides starts on (the span's line when they cannot be told)."""
    pieces = split_top(span.text)
    if count == 0 or len(pieces) != count or not source:
        return []
    lines = source.split("\n")
    offset = sum(len(x) + 1 for x in lines[:span.line - 1])
    start = source.find(span.text, offset)
    if start < 0:
        return []
    out, at = [], start
    for piece in pieces:
        found = source.find(piece, at) if piece else -1
        if found < 0:
            return []
        out.append(source.count("\n", 0, found) + 1)
        at = found + len(piece)
    return out
