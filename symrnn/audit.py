"""``symrnn audit FILE.md``: the checks a careful reader makes of a lecture, by machine.

Every ``$...$``/``$$...$$`` span is read with :mod:`symrnn.parse`; the document's own definitions (explicit
matrices, the one-hot vectors and their vocabulary, the states named by ``h_t ~ [P(Y_t = tag | ...)]``, the
nonlinearity ``g``, the recurrence ``h_t = g(U h_{t-1} + W x_t)``) become a model, and then:

* every number shown is recomputed from that model to the precision shown (worked lines and ``P(...) ~ 0.44``);
* sizes are checked against each other and against the definitions (ragged matrices, ``W x_t``, ``h_t``);
* distributions defined as ``u_{j,i} = P(Y_t = j | Y_{t-1} = i)`` must sum to 1 over the event's index;
* free indices must agree on both sides of an equation (a sum that is missing, an index that appears once);
* derivative equations are evaluated on a small RNN of the document's form with a random loss;
* a gradient-descent update must step against the gradient of the loss the text names;
* a worked line's symbolic form must be the recurrence the document defines.

Nothing is specific to one lecture: another sentence, other matrices or another nonlinearity are read the same way.
The RNN is run with :class:`symrnn.rnn.RNN`; the nonlinearity is built from the document's own formula.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sympy as sp
from sympy.core.relational import Relational
from sympy.matrices.expressions import MatrixExpr
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symrnn import notation as nt
from symrnn.latex.parse import ParseError, ShapeMismatch, canonical, parse
from symrnn.lecture25 import source as lecture
from symrnn.models.nonlinearities import Nonlinearity
from symrnn.models.rnn import RNN

LEVELS = ("ok", "warning", "error")


@dataclass(frozen=True)
class Finding:
    """One verdict: the 1-based line, ``ok``/``warning``/``error``, a one-line reason, and what was checked."""

    line: int
    level: str
    message: str
    check: str = "equation"

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Span:
    line: int
    text: str
    expr: Any = None
    error: ParseError | None = None
    pieces: list = field(default_factory=list)  # (text, expr) of a chain read piece by piece after an error


@dataclass
class _Document:
    """What the document defines, in the order it defines it."""

    spans: list[_Span]
    prose: str
    matrices: dict[str, list[tuple[int, sp.Matrix]]] = field(default_factory=dict)
    vectors: dict[tuple[str, int], tuple[int, sp.Matrix]] = field(default_factory=dict)
    vocabulary: tuple[str, ...] = ()
    vocabulary_line: int = 0
    states: tuple[str, ...] = ()
    g_rows: list | None = None
    g_entry: dict[str, tuple[Any, Any, Any]] = field(default_factory=dict)  # name -> (index, arg, formula)
    recurrence: tuple[int, Any] | None = None  # line, rhs of h_t = ...
    interprets_h: bool = False
    explicit_sums: bool = False
    loss: str | None = None

    def matrix(self, name: str, line: int) -> sp.Matrix | None:
        """The explicit definition of ``name`` in force at ``line`` (the latest one before it, else the first)."""
        defs = self.matrices.get(name, [])
        before = [m for ln, m in defs if ln <= line]
        return before[-1] if before else (defs[0][1] if defs else None)


# ---- reading ---------------------------------------------------------------------------------------------------


def _split_top(text: str) -> list[str]:
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


def _read(source: str) -> list[_Span]:
    spans = []
    for eq in lecture.equations(source):
        span = _Span(eq.line, eq.text)
        try:
            span.expr = parse(eq.text, backend="none")
        except ParseError as exc:
            span.error = exc
            for piece in _split_top(eq.text):
                try:
                    span.pieces.append((piece, parse(piece, backend="none")))
                except ParseError as inner:
                    span.pieces.append((piece, inner))
        spans.append(span)
    return spans


def _relations(expr) -> list:
    if isinstance(expr, tuple):
        return [r for e in expr for r in _relations(e)]
    return [expr]


def _value(m) -> sp.Matrix | None:
    """An explicit matrix's exact value (Rounded entries at their exact shown value), else None."""
    try:
        if isinstance(m, nt.ScaledMatrix):
            m = m.as_explicit()
        if isinstance(m, MatrixExpr) and not m.atoms(sp.MatrixSymbol, nt.Vec, nt.Applied):
            m = m.doit()
        if isinstance(m, sp.MatrixBase):
            out = sp.Matrix(m).applyfunc(lambda e: e.value if isinstance(e, nt.Rounded) else e)
            return out if all(e.is_number for e in out) else None
    except (TypeError, ValueError, AttributeError, sp.ShapeError):
        return None
    return None


def _definitions(doc: _Document) -> None:
    loss = re.search(r"\$([^$]+)\$\s+is the loss", doc.prose)
    doc.loss = loss.group(1).strip() if loss else None
    for span in doc.spans:
        items = _relations(span.expr) if span.expr is not None else [e for _, e in span.pieces
                                                                       if not isinstance(e, ParseError)]
        for rel in items:
            if isinstance(rel, sp.Basic) and rel.atoms(sp.Sum, nt.StateSum):
                doc.explicit_sums = True
            terms = rel.terms if isinstance(rel, nt.Chain) else \
                (rel.args if isinstance(rel, (sp.Eq, nt.Approx)) else ())
            if len(terms) < 2:
                continue
            lhs, rhs = terms[0], terms[-1]
            if isinstance(lhs, sp.MatrixSymbol) and len(terms) == 2:
                value = _value(rhs) if isinstance(rhs, MatrixExpr | sp.MatrixBase) else \
                    (sp.Matrix([[rhs]]) if rhs.is_number else None)
                if value is not None:
                    doc.matrices.setdefault(lhs.name, []).append((span.line, value))
            if isinstance(lhs, nt.Vec) and lhs.time.is_Integer and isinstance(rhs, sp.MatrixBase) and \
                    _value(rhs) is not None and len(terms) == 2:
                doc.vectors[(lhs.base, int(lhs.time))] = (span.line, _value(rhs))
            if isinstance(lhs, nt.Vec) and isinstance(rhs, sp.MatrixBase) and rhs.cols == 1:
                if all(isinstance(e, nt.OneIf) for e in rhs) and not doc.vocabulary:
                    doc.vocabulary = tuple(e.event.value.name for e in rhs)
                    doc.vocabulary_line = span.line
                if all(isinstance(e, nt.P) and e.events and isinstance(e.events[0], nt.Is)
                       and isinstance(e.events[0].value, nt.Text) for e in rhs) and not doc.states:
                    doc.states = tuple(e.events[0].value.name for e in rhs)
                    doc.interprets_h = True
            if isinstance(lhs, sp.Indexed) and str(lhs.base.label) == "h" and isinstance(rhs, nt.P):
                doc.interprets_h = True
            if isinstance(lhs, nt.Applied) and lhs.name == "g" and isinstance(rhs, sp.MatrixBase):
                doc.g_rows = list(rhs)
            if isinstance(lhs, nt.Applied) and lhs.name == "g" and isinstance(rhs, ElementwiseApplyFunction):
                doc.g_rows = [rhs]
            if isinstance(lhs, nt.FunctionEntry) and not isinstance(rhs, nt.FunctionEntry):
                doc.g_entry[lhs.name] = (lhs.index, lhs.argument, rhs)
            if isinstance(lhs, nt.Vec) and lhs.base == "h" and lhs.time == nt.t and doc.recurrence is None \
                    and isinstance(terms[1], nt.Applied) and len(terms[1].arguments) == 1:
                doc.recurrence = (span.line, terms[1])


def _g(doc: _Document) -> Nonlinearity | None:
    """The nonlinearity the document defines, as a :class:`Nonlinearity` computed from its own formula."""
    rows = doc.g_rows
    if not rows:
        return None
    if len(rows) == 1 and isinstance(rows[0], ElementwiseApplyFunction):
        fn = rows[0].function
        return Nonlinearity("document", "the document's g", lambda xi: xi.applyfunc(fn), None, scalar=fn)

    uniform = all(isinstance(r, nt.FunctionEntry) and r.name == rows[0].name and r.index == n + 1
                  and r.argument == rows[0].argument for n, r in enumerate(rows))

    def vector(xi: sp.Matrix) -> sp.Matrix:
        if len(rows) != xi.rows and not uniform:
            raise ValueError(f"g is defined with {len(rows)} entries, applied to {xi.rows}")
        out = []
        for n in range(xi.rows):  # entries written as name_1, name_2, ... extend to any size
            row = rows[n] if n < len(rows) else nt.FunctionEntry(rows[0].name, n + 1, rows[0].argument)
            if not isinstance(row, nt.FunctionEntry) or row.name not in doc.g_entry:
                raise ValueError(f"no formula for the entry {row} of g")
            index, arg, formula = doc.g_entry[row.name]
            if canonical(arg) != canonical(row.argument):
                raise ValueError("g's entries use another argument than the formula defines")
            value = formula.xreplace({index: row.index}).subs(nt.N, xi.rows).doit()
            bases = {ix.base for ix in value.atoms(sp.Indexed)}
            value = value.xreplace({ix: xi[int(ix.indices[0]) - 1] for ix in value.atoms(sp.Indexed)
                                    if ix.base in bases})
            out.append(value)
        return sp.Matrix(out)

    return Nonlinearity("document", "the document's g", vector, None)


# ---- checks ----------------------------------------------------------------------------------------------------


def _replace(expr, rule: dict):
    """``xreplace`` that also rebuilds notation objects whose constructors take names as text (``Applied``)."""
    if expr in rule:
        return rule[expr]
    if not isinstance(expr, sp.Basic) or not expr.args:
        return expr
    args = [_replace(a, rule) for a in expr.args]
    if args == list(expr.args):
        return expr
    if type(expr).__module__.startswith(nt.__name__ + "."):
        return sp.Basic.__new__(type(expr), *args)
    return expr.func(*args)


def _places(value) -> int:
    return value.places if isinstance(value, nt.Rounded) else 0


def _compare_number(shown: nt.Rounded, exact, exact_alt=None) -> tuple[str, str]:
    """``(level, text)`` for a shown decimal against an exact value (``exact_alt``: from the line's own inputs)."""
    want = nt.decimal_text(exact, shown.places)
    got = nt.decimal_text(shown.value, shown.places)
    if want == got:
        return "ok", got
    if exact_alt is not None and nt.decimal_text(exact_alt, shown.places) == got:
        return "ok", f"{got} (from the rounded inputs the line shows; {want} unrounded)"
    ulp = sp.Rational(1, 10 ** shown.places)
    level = "warning" if abs(sp.Rational(want) - shown.value) <= ulp else "error"
    return level, f"shows {got}, recomputed {want}"


def _vector_text(m: sp.Matrix, places: int = 2) -> str:
    return "[" + ", ".join(nt.decimal_text(v, places) for v in m) + "]"


def _check_sizes(span: _Span, expr, doc: _Document, out: list[Finding]) -> None:
    for add in sp.preorder_traversal(expr) if isinstance(expr, sp.Basic) else ():
        if isinstance(add, sp.MatAdd):
            shapes = {tuple(a.shape) for a in add.args}
            if len(shapes) > 1:
                shown = " and ".join(f"{_size(r)} x {_size(c)}" for r, c in sorted(shapes, key=str))
                ordered = sorted(shapes, key=str)
                conds = {sp.Eq(a, b) for (a, _), (b, _) in zip(ordered, ordered[1:], strict=False)}
                cond = ", ".join(f"{sp.latex(c.lhs)} = {sp.latex(c.rhs)}" for c in conds)
                out.append(Finding(span.line, "warning", f"adds vectors of sizes {shown}: holds only if {cond}",
                                   "sizes"))


def _size(n) -> str:
    return str(n) if sp.sympify(n).is_Atom else f"({n})"


def _free_indices(expr, index_symbols: frozenset = frozenset({nt.i, nt.j, nt.k})) -> list[sp.Symbol]:
    """Index symbols (i, j, k) used free in a scalar expression, with repetition within one product."""
    if isinstance(expr, (sp.Sum, sp.Product)):
        bound = {lim[0] for lim in expr.limits}
        return [s for s in _free_indices(expr.function, index_symbols) if s not in bound]
    if isinstance(expr, nt.StateSum):
        return [s for s in _free_indices(expr.expr, index_symbols) if s != expr.index]
    if isinstance(expr, sp.Indexed):
        return [s for ix in expr.indices for s in ix.free_symbols if s in index_symbols]
    if isinstance(expr, nt.P):
        return sorted(expr.free_symbols & index_symbols, key=str)
    if isinstance(expr, nt.FunctionEntry):
        return sorted(sp.sympify(expr.index).free_symbols & index_symbols, key=str)
    if isinstance(expr, (nt.RV, nt.Vec)) or not isinstance(expr, sp.Basic):
        return []
    return [s for a in expr.args for s in _free_indices(a, index_symbols)]


def _check_indices(span: _Span, rel, doc: _Document, out: list[Finding]) -> bool:
    if not isinstance(rel, (sp.Eq, nt.Approx)) or isinstance(rel.lhs, MatrixExpr):
        return True
    left = set(_free_indices(rel.lhs))
    bare = {e for p in (rel.lhs.atoms(nt.P) if isinstance(rel.lhs, sp.Basic) else ()) for e in p.events
            if isinstance(e, nt.RV)}
    rhs = rel.rhs
    left |= {e.value for e in rhs.atoms(nt.Is) if e.rv in bare}  # P(..., X_t) = ... P(X_t = k | ...): k is X_t's
    terms = rhs.args if isinstance(rhs, sp.Add) else (rhs,)
    ok = True
    for term in terms:
        used = _free_indices(term)
        for s in sorted(set(used) - left, key=str):
            if isinstance(rel.lhs, sp.Indexed) and isinstance(rhs, (nt.P, sp.Piecewise)):
                continue  # a definition such as u_{j,i} = P(...): the indices are the entry's
            repeated = used.count(s) > 1
            if repeated and not doc.explicit_sums:
                out.append(Finding(span.line, "warning", f"index {s} is summed implicitly (it repeats in one "
                                   "product but is free on the left)", "indices"))
            else:
                why = "repeats in one product as if summed, but this document writes its sums explicitly" \
                    if repeated else "appears once, on the right only"
                out.append(Finding(span.line, "error", f"index {s} is free on the right but not on the left: it "
                                   f"{why}; a \\sum_{s} is missing", "indices"))
                ok = False
    return ok


def _check_distribution(span: _Span, rel, doc: _Document, out: list[Finding]) -> None:
    """``m_{a,b} = P(Y_t = a | ...)``: the explicit matrix M must sum to 1 over the event's index a."""
    if not (isinstance(rel, sp.Eq) and isinstance(rel.lhs, sp.Indexed) and isinstance(rel.rhs, nt.P)):
        return
    name = str(rel.lhs.base.label).upper()
    events = [e for e in rel.rhs.events if isinstance(e, nt.Is)]
    if len(rel.lhs.indices) != 2 or len(events) != 1:
        return
    first, second = rel.lhs.indices
    axis = 0 if events[0].value == first else (1 if events[0].value == second else None)
    for line, m in doc.matrices.get(name, []):
        if axis is None or line != span.line:
            continue  # the definition constrains the matrix given with it, not a later example's
        sums = [sp.Add(*m[:, c]) for c in range(m.cols)] if axis == 0 else [sp.Add(*m[r, :]) for r in range(m.rows)]
        what = "column" if axis == 0 else "row"
        bad = [(n + 1, s) for n, s in enumerate(sums) if s != 1]
        if bad:
            n, s = bad[0]
            out.append(Finding(line, "error", f"{name} is defined as a distribution over its {what}s "
                               f"(line {span.line}), but {what} {n} sums to {s}", "distribution"))
        elif any(e.is_negative for e in m):
            out.append(Finding(line, "error", f"{name} has a negative entry but is a probability", "distribution"))
        else:
            out.append(Finding(line, "ok", f"every {what} of {name} sums to 1, as {sp.latex(rel.lhs)} = P(...) "
                               f"requires (line {span.line})", "distribution"))


def _check_update(span: _Span, rel, doc: _Document, out: list[Finding]) -> None:
    """``theta <- theta - eta dQ/dtheta``: a descent step on the loss the text names."""
    if not isinstance(rel, nt.Assign):
        return
    theta = rel.lhs
    derivs = list(rel.rhs.atoms(nt.TotalDerivative))
    if len(derivs) != 1 or derivs[0].variable != theta:
        out.append(Finding(span.line, "warning", "an update whose gradient is not taken in the updated "
                           "variable", "update"))
        return
    d = derivs[0]
    step = sp.expand(rel.rhs - theta)
    coeff = step.coeff(d)
    if not (coeff.could_extract_minus_sign()):
        out.append(Finding(span.line, "error", f"the step {sp.latex(step)} goes up the gradient, not down",
                           "update"))
        return
    named = doc.loss
    numer = d.expr.name if isinstance(d.expr, sp.Symbol) else str(d.expr)
    from symrnn.latex.printer import latex

    shown = latex(d.expr)
    if named and shown.replace(" ", "") != named.replace(" ", ""):
        out.append(Finding(span.line, "warning", f"descends the gradient of {shown}, but the text names {named} "
                           f"as the loss and never defines {shown}", "update"))
    else:
        out.append(Finding(span.line, "ok", f"a gradient-descent step on {numer}", "update"))


_DIGITS = 50


def _evaluate_derivative_equation(rel, doc: _Document, g: Nonlinearity, bindings: dict,
                                  seed: int = 0) -> tuple[Any, Any]:
    """Both sides of a scalar derivative equation on a small RNN of the document's form (N=2, T=3, random
    weights and inputs) with a random smooth loss ``L = sum_t sum_j (a_jt h_jt + b_jt h_jt^2)``.

    ``d`` is the total derivative (through every later step), ``partial`` holds the other arguments of the
    quantity's own formula fixed.  Derivatives are central differences at 50 digits (error about 1e-30).
    """
    n, T = 2, 3  # noqa: N806
    rng = random.Random(seed)

    def num(a: int, b: int) -> sp.Float:
        return sp.Float(sp.Rational(rng.randint(a, b), 10), _DIGITS)

    U0 = sp.Matrix(n, n, lambda r, c: num(1, 9))  # noqa: N806
    W = sp.Matrix(n, 2, lambda r, c: num(1, 9))  # noqa: N806
    xs = [rng.randint(1, 2) for _ in range(T)]
    coef = {(j, s): (num(-9, 9), num(1, 9)) for j in range(1, n + 1) for s in range(1, T + 1)}
    eps = sp.Float("1e-20", _DIGITS)

    def step(U, h, s):  # noqa: N803
        return g(U * h + W[:, xs[s - 1] - 1]).evalf(_DIGITS)

    def run(U, start: int = 1, h=None):  # noqa: N803
        hs, h = {}, (sp.zeros(n, 1) if h is None else h)
        for s in range(start, T + 1):
            h = step(U, h, s)
            hs[s] = h
        return hs

    base = run(U0)

    def loss_term(h, s):
        return sp.Add(*[coef[(j, s)][0] * h[j - 1] + coef[(j, s)][1] * h[j - 1] ** 2 for j in range(1, n + 1)])

    def loss(hs):
        return sp.Add(*[loss_term(hs[s], s) for s in range(1, T + 1)])

    def central(f):
        return (f(eps) - f(-eps)) / (2 * eps)

    def bump_u(r: int, c: int, e):
        U = sp.Matrix(U0)  # noqa: N806
        U[r - 1, c - 1] += e
        return U

    def bump_h(s: int, a: int, e):
        h = sp.Matrix(base[s])
        h[a - 1] += e
        return h

    def derivative(d):
        total = not isinstance(d, nt.PartialDerivative)
        var, f = d.variable, d.expr
        if not isinstance(var, sp.Indexed) or str(var.base.label) not in ("u", "h"):
            raise ValueError(f"derivative in {var}")
        idx = [int(x) for x in var.indices]
        if not all(1 <= x <= n for x in idx[:2 if str(var.base.label) == "u" else 1]):
            raise ValueError("index out of range")
        if str(var.base.label) == "u":
            r, c = idx
            if isinstance(f, sp.Symbol):  # dL/du_{r,c}: through every step
                return central(lambda e: loss(run(bump_u(r, c, e))))
            a, s = (int(x) for x in f.indices)  # partial h_{a,s} / partial u: h_{s-1} held fixed
            h_prev = base[s - 1] if s > 1 else sp.zeros(n, 1)
            return central(lambda e: step(bump_u(r, c, e), h_prev, s)[a - 1])
        a, s = idx
        if not 1 <= s <= T:
            raise ValueError("time out of range")
        if isinstance(f, sp.Symbol):
            if total:  # through h_s's own loss term and every later step
                return central(lambda e: loss({**base, s: bump_h(s, a, e),
                                               **run(U0, s + 1, bump_h(s, a, e))}))
            return central(lambda e: loss_term(bump_h(s, a, e), s))
        b, r_ = (int(x) for x in f.indices)
        if total or r_ != s + 1 or not (1 <= r_ <= T and 1 <= b <= n):
            raise ValueError("only one-step partial derivatives of h are evaluated")
        return central(lambda e: step(U0, bump_h(s, a, e), r_)[b - 1])

    def value(expr):
        expr = _replace(expr, bindings)
        if isinstance(expr, (sp.Add, sp.Mul, sp.Pow)):
            return expr.func(*[value(a) for a in expr.args])
        if isinstance(expr, sp.Sum):
            (var, lo, hi), = expr.limits
            lo, hi = (int(sp.sympify(x).subs(nt.T, T)) for x in (lo, hi))
            return sp.Add(*[value(_replace(expr.function, {var: sp.Integer(v)})) for v in range(lo, hi + 1)])
        if isinstance(expr, nt.StateSum):
            return sp.Add(*[value(_replace(expr.expr, {expr.index: sp.Integer(v)})) for v in range(1, n + 1)])
        if isinstance(expr, nt.TotalDerivative):
            return derivative(expr)
        if expr.is_number:
            return expr
        raise ValueError(f"no value for {expr}")

    return value(rel.lhs), value(rel.rhs)


def _check_derivative(span: _Span, rel, doc: _Document, g: Nonlinearity | None, out: list[Finding]) -> None:
    if not (isinstance(rel, sp.Eq) and isinstance(rel.lhs, nt.TotalDerivative)):
        return
    if g is None or doc.recurrence is None:
        out.append(Finding(span.line, "warning", "a derivative equation, but the document defines no recurrence "
                           "and nonlinearity to check it on", "derivative"))
        return
    every = frozenset({nt.i, nt.j, nt.t})
    free = sorted(set(_free_indices(rel.lhs, every)) | set(_free_indices(rel.rhs, every)), key=str)
    n, T = 2, 3  # noqa: N806
    ranges = {nt.i: range(1, n + 1), nt.j: range(1, n + 1), nt.t: range(1, T + 1)}
    import itertools

    tried = 0
    for values in itertools.product(*(ranges[s] for s in free)):
        bindings = dict(zip(free, (sp.Integer(v) for v in values), strict=False))
        try:
            left, right = _evaluate_derivative_equation(rel, doc, g, bindings)
        except (ValueError, IndexError, TypeError, KeyError):
            continue  # a time outside 1..T, or a form this evaluator does not cover
        tried += 1
        if abs(left - right) > sp.Float("1e-15", _DIGITS) * (1 + abs(left) + abs(right)):
            at = ", ".join(f"{s}={v}" for s, v in bindings.items())
            out.append(Finding(span.line, "error", f"does not hold for the RNN h_t = g(U h_(t-1) + W x_t) with the "
                               f"document's g and a random loss: at {at} the left side is {sp.N(left, 6)}, the "
                               f"right {sp.N(right, 6)}", "derivative"))
            return
    if tried:
        out.append(Finding(span.line, "ok", f"holds on a random RNN of the document's form ({tried} index "
                           "bindings)", "derivative"))


def _check_worked(span: _Span, doc: _Document, g: Nonlinearity | None, out: list[Finding],
                  history: dict[int, sp.Matrix]) -> None:
    """A line ``h_t = g(U h_{t-1} + W x_t) = g(numbers) = [result]``: recompute every number it shows."""
    terms = list(span.expr.terms) if isinstance(span.expr, nt.Chain) else \
        [e for _, e in span.pieces] if span.pieces else []
    if not terms or not isinstance(terms[0], nt.Vec) or terms[0].base != "h" or not terms[0].time.is_Integer:
        return
    t_ = int(terms[0].time)
    U, W = doc.matrix("U", span.line), doc.matrix("W", span.line)  # noqa: N806
    if U is None or W is None or g is None:
        out.append(Finding(span.line, "warning", "a worked step, but U, W or g is not defined as numbers: not "
                           "recomputed", "worked example"))
        return
    if doc.recurrence is not None:
        model = _replace(doc.recurrence[1], {nt.t: sp.Integer(t_)})
        symbolic = [x for x in terms[1:] if isinstance(x, nt.Applied) and x.atoms(sp.MatrixSymbol)]
        for x in symbolic:
            if canonical(x) != canonical(model):
                out.append(Finding(span.line, "error", f"the step is not the recurrence of line "
                                   f"{doc.recurrence[0]}", "recurrence"))
    x_def = doc.vectors.get(("x", t_))
    if x_def is not None:
        x_vec = x_def[1]
        if x_vec.rows != W.cols:
            ones = [r for r in range(x_vec.rows) if x_vec[r] != 0]
            fallback = nt.one_hot(ones[0] + 1, W.cols) if len(ones) == 1 and ones[0] < W.cols \
                and x_vec[ones[0]] == 1 else None
            out.append(Finding(x_def[0], "error", f"\\vec{{x}}_{t_} has {x_vec.rows} entries but W has "
                               f"{W.cols} columns" + (f" and \\vec{{x}}_t is defined with {len(doc.vocabulary)} "
                                                      f"(line {doc.vocabulary_line})" if doc.vocabulary else ""),
                               "sizes"))
            x_vec = fallback
    else:
        x_vec = None
    for _k, item in enumerate(terms):
        if isinstance(item, ParseError):
            level = "error"
            out.append(Finding(span.line, level, f"cannot be read: {item.reason}", "worked example"))
    for piece in terms[1:]:
        if isinstance(piece, ParseError):
            continue
        for m in piece.atoms(nt.ScaledMatrix) if isinstance(piece, sp.Basic) else ():
            value = m.as_explicit()
            if value != U and value != W:
                out.append(Finding(span.line, "error", "a matrix in the worked step is neither U nor W as "
                                   "defined", "worked example"))
    h_prev = history.get(t_ - 1, sp.zeros(U.rows, 1))
    if x_vec is None:
        out.append(Finding(span.line, "warning", f"\\vec{{x}}_{t_} is not defined with a valid size: step "
                           f"{t_} not recomputed", "worked example"))
        return
    net = RNN(U, W, g, h0=h_prev)
    pre = net.preactivation(h_prev, x_vec)
    exact = net.step(h_prev, x_vec)
    history[t_] = exact
    result = terms[-1]
    shown_prev = None
    for piece in terms[1:-1]:
        if isinstance(piece, nt.Applied) and isinstance(piece.arguments[0], sp.MatrixBase):
            shown_pre = piece.arguments[0]
            for r in range(min(shown_pre.rows, pre.rows)):
                if isinstance(shown_pre[r], nt.Rounded):
                    level, text = _compare_number(shown_pre[r], pre[r])
                    if level != "ok":
                        out.append(Finding(span.line, level, f"pre-activation entry {r + 1}: {text}",
                                           "worked example"))
        if isinstance(piece, nt.Applied):
            for mm in piece.atoms(sp.MatMul):
                args = mm.args
                if len(args) == 2 and isinstance(args[0], nt.ScaledMatrix) and args[0].as_explicit() == U and \
                        isinstance(args[1], sp.MatrixBase):
                    shown_prev = _value(args[1])
    if not isinstance(result, sp.MatrixBase):
        return
    if result.rows != U.rows:
        out.append(Finding(span.line, "error", f"\\vec{{h}}_{t_} is shown with {result.rows} entries; the model "
                           f"has {U.rows} states. Recomputed: {_vector_text(exact, _places(result[0]) or 2)}",
                           "worked example"))
        return
    alt = None
    if shown_prev is not None and shown_prev.shape == h_prev.shape:
        alt = net.step(shown_prev, x_vec)
    worst, notes = "ok", []
    for r in range(result.rows):
        if not isinstance(result[r], nt.Rounded):
            continue
        level, text = _compare_number(result[r], exact[r], alt[r] if alt is not None else None)
        if level != "ok":
            notes.append(f"entry {r + 1} {text}")
            worst = level if LEVELS.index(level) > LEVELS.index(worst) else worst
    msg = f"\\vec{{h}}_{t_} = {_vector_text(exact, _places(result[0]) or 2)} recomputed"
    out.append(Finding(span.line, worst, msg + (": " + "; ".join(notes) if notes else ", as shown"),
                       "worked example"))


def _check_claim(span: _Span, rel, doc: _Document, g: Nonlinearity | None, out: list[Finding],
                 history: dict[int, sp.Matrix]) -> None:
    """``P(Y_t = tag | X_1 = w_1, ...) ~ 0.44``: the model's value for that tag, to the precision shown."""
    if not (isinstance(rel, nt.Approx) and isinstance(rel.lhs, nt.P) and isinstance(rel.rhs, nt.Rounded)):
        return
    ev = rel.lhs.events
    if len(ev) != 1 or not isinstance(ev[0], nt.Is) or not isinstance(ev[0].value, nt.Text):
        return
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
    net = RNN(U, W, g)
    h = net.run([doc.vocabulary.index(w) + 1 for w in words])[-1]
    value = h[doc.states.index(tag)]
    level, text = _compare_number(rel.rhs, value)
    best = doc.states[max(range(h.rows), key=lambda r: sp.N(h[r], 30))]
    extra = "" if best == tag else f"; the model's most probable tag is {best}"
    msg = f"h_({tag},{t_}) = {nt.decimal_text(value, rel.rhs.places)}"
    out.append(Finding(span.line, level if not extra else "error",
                       (msg + " as shown" if level == "ok" else f"{msg}: {text}") + extra, "claim"))


def _check_kinds(span: _Span, rel, out: list[Finding]) -> None:
    if isinstance(rel, sp.Eq) and isinstance(rel.lhs, MatrixExpr) and not isinstance(rel.rhs, MatrixExpr) \
            and not isinstance(rel.rhs, sp.MatrixBase) and not isinstance(rel.lhs, sp.MatrixSymbol):
        out.append(Finding(span.line, "warning", f"a vector is set equal to the scalar {sp.latex(rel.rhs)}: true "
                           "entrywise only if every entry equals it (e.g. h_0 = 1)", "kinds"))


def _count(n: int) -> str:
    return f"{n} argument" + ("" if n == 1 else "s")


def _check_arity(doc: _Document, out: list[Finding]) -> None:
    arity: dict[str, dict[int, int]] = {}
    for span in doc.spans:
        if span.expr is None:
            continue
        for rel in _relations(span.expr):
            if isinstance(rel, sp.Basic):
                for app in rel.atoms(nt.Applied):
                    arity.setdefault(app.name, {}).setdefault(len(app.arguments), span.line)
    for name, forms in arity.items():
        if len(forms) > 1:
            (a1, l1), (a2, l2) = sorted(forms.items(), key=lambda kv: kv[1])[:2]
            out.append(Finding(l2, "warning", f"{name} takes {_count(a2)} here but {_count(a1)} on line {l1}",
                               "consistency"))


# ---- the audit -------------------------------------------------------------------------------------------------


def audit_text(source: str) -> list[Finding]:
    """Every finding for a Markdown text, in line order."""
    spans = _read(source)
    doc = _Document(spans, source)
    _definitions(doc)
    try:
        g = _g(doc)
    except (ValueError, TypeError):
        g = None
    out: list[Finding] = []
    history: dict[int, sp.Matrix] = {}
    for span in spans:
        before = len(out)
        if span.error is not None and not span.pieces[1:]:
            kind = "sizes" if isinstance(span.error, ShapeMismatch) else "syntax"
            out.append(Finding(span.line, "error", f"cannot be read: {span.error.reason} (at character "
                               f"{span.error.pos})", kind))
            continue
        if span.error is not None:
            _check_worked(span, doc, g, out, history)
            if len(out) == before:
                out.append(Finding(span.line, "error", f"cannot be read: {span.error.reason}", "syntax"))
            continue
        _check_worked(span, doc, g, out, history)
        for rel in _relations(span.expr):
            if not isinstance(rel, sp.Basic):
                continue
            _check_sizes(span, rel, doc, out)
            _check_indices(span, rel, doc, out)
            _check_distribution(span, rel, doc, out)
            _check_update(span, rel, doc, out)
            _check_derivative(span, rel, doc, g, out)
            _check_claim(span, rel, doc, g, out, history)
            _check_kinds(span, rel, out)
        if len(out) == before:
            out.append(Finding(span.line, "ok", "read: " + _describe(span.expr), "equation"))
    _check_arity(doc, out)
    for line, msg in _garbled_inline(source):
        out.append(Finding(line, "warning", msg, "syntax"))
    return sorted(out, key=lambda f: f.line)


def _garbled_inline(source: str) -> list[tuple[int, str]]:
    return []


def _describe(expr) -> str:
    if isinstance(expr, tuple):
        return f"{len(expr)} relations"
    if isinstance(expr, Relational | nt.Approx | nt.Chain):
        return type(expr).__name__.lower().replace("equality", "equation")
    return "an expression"


def audit_file(path: str | Path) -> list[Finding]:
    """The findings for a Markdown file."""
    return audit_text(Path(path).read_text(encoding="utf-8"))


def lecture_findings() -> list[Finding]:
    """The audit of the bundled lecture, for ``symrnn build``'s report."""
    return audit_text(lecture.text())


def summary(findings: Sequence[Finding]) -> str:
    counts = {lv: sum(f.level == lv for f in findings) for lv in LEVELS}
    return f"{counts['ok']} ok, {counts['warning']} warnings, {counts['error']} errors"


def cmd_audit(args: argparse.Namespace) -> int:
    """Print the findings (a table, or JSON with ``--json``); exit 1 if any is an error."""
    findings = audit_file(args.file)
    if args.json:
        print(json.dumps([f.as_dict() for f in findings], indent=2, ensure_ascii=False))
    else:
        for f in findings:
            print(f"{args.file}:{f.line}: {f.level}: {f.message}")
        print(summary(findings), file=sys.stderr)
    return 1 if any(f.level == "error" for f in findings) else 0


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``audit FILE.md [--json]`` to an argparse subparsers object."""
    a = subparsers.add_parser("audit", help="check a lecture's equations, sizes, indices and numbers")
    a.add_argument("file", help="a Markdown file with $...$ and $$...$$ math")
    a.add_argument("--json", action="store_true", help="print the findings as JSON")
    a.set_defaults(func=cmd_audit)
    return a
