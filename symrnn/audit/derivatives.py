"""Derivatives: a derivative equation evaluated on a small RNN of the document's form with a random loss, and a
gradient-descent update that must step against the gradient of the loss the text names."""

from __future__ import annotations

import itertools
import random
from typing import Any

import sympy as sp

from symrnn import notation as nt
from symrnn.audit.findings import Finding, shown
from symrnn.audit.indices import free_indices
from symrnn.audit.model import Document
from symrnn.audit.reading import Span, replace
from symrnn.models.nonlinearities import Nonlinearity
from symrnn.numeric.finite_difference import central

DIGITS = 50
MAX_TERMS = 1_000  #: terms of one sum the probe expands


class TooManyTerms(Exception):
    """A sum in a derivative equation has more terms than the probe expands."""


def check_update(span: Span, rel, doc: Document, out: list[Finding]) -> None:
    """``theta <- theta - eta dQ/dtheta``: a descent step on the loss the text names."""
    if not isinstance(rel, nt.Assign):
        return
    theta = rel.lhs
    derivs = list(rel.rhs.atoms(nt.TotalDerivative)) or \
        list({n for n in sp.preorder_traversal(rel.rhs) if isinstance(n, nt.VecDerivative)})
    if len(derivs) != 1 or derivs[0].variable != theta:
        out.append(Finding(span.line, "warning", "an update whose gradient is not taken in the updated "
                           "variable", "update"))
        return
    d = derivs[0]
    if bool(getattr(rel.rhs, "is_Matrix", False)) != bool(getattr(theta, "is_Matrix", False)):
        kinds = ("a matrix or vector", "a number")
        lhs_kind, rhs_kind = (kinds[0], kinds[1]) if getattr(theta, "is_Matrix", False) else (kinds[1], kinds[0])
        out.append(Finding(span.line, "error", f"the update sets {shown(theta)} ({lhs_kind}) to {rhs_kind}",
                           "sizes"))
        return
    step, coeff = _step(rel.rhs, theta, d)
    if step is None:
        out.append(Finding(span.line, "warning", "an update that is not the variable plus a multiple of its "
                           "gradient", "update"))
        return
    if not (coeff.could_extract_minus_sign()):
        out.append(Finding(span.line, "error", f"the step {shown(step)} goes up the gradient, not down",
                           "update"))
        return
    named = doc.loss
    numer = d.expr.name if isinstance(d.expr, sp.Symbol) else str(d.expr)
    from symrnn.latex.printer import latex

    name = latex(d.expr)
    if named and name.replace(" ", "") != named.replace(" ", ""):
        out.append(Finding(span.line, "warning", f"descends the gradient of {name}, but the text names {named} "
                           f"as the loss and never defines {name}", "update"))
    else:
        out.append(Finding(span.line, "ok", f"a gradient-descent step on {numer}", "update"))


def _step(rhs, theta, d) -> tuple[Any, Any]:
    """``(step, c)`` of ``rhs = theta + step`` with ``step = c d``; ``(None, None)`` when ``rhs`` is not of that form
    (a matrix or vector update is matched term by term, its coefficient a scalar)."""
    if not isinstance(d, nt.VecDerivative):
        step = sp.expand(rhs - theta)
        return step, step.coeff(d)
    terms = list(rhs.args) if isinstance(rhs, sp.MatAdd) else [rhs]
    if theta not in terms:
        return None, None
    terms.remove(theta)
    if len(terms) != 1:
        return None, None
    coeff, mats = terms[0].as_coeff_mmul() if isinstance(terms[0], sp.MatMul) else (sp.S.One, terms[0])
    mats = mats.args if isinstance(mats, sp.MatMul) else (mats,)
    scalars = [m for m in mats if not isinstance(m, sp.MatrixExpr)]
    if [m for m in mats if isinstance(m, sp.MatrixExpr)] != [d]:
        return None, None
    return terms[0], sp.Mul(coeff, *scalars)


class ProbeRNN:
    """An RNN ``h_t = g(U h_{t-1} + W x_t)`` (N=2, T=3, random weights and one-hot inputs) with a random smooth
    loss ``L = sum_t sum_j (a_jt h_jt + b_jt h_jt^2)``, at 50 digits; derivatives by central differences
    (step 1e-20, error about 1e-30)."""

    n, T = 2, 3

    def __init__(self, g: Nonlinearity, seed: int = 0) -> None:
        n, T = self.n, self.T  # noqa: N806
        rng = random.Random(seed)

        def num(a: int, b: int) -> sp.Float:
            return sp.Float(sp.Rational(rng.randint(a, b), 10), DIGITS)

        self.g = g
        self.U = sp.Matrix(n, n, lambda r, c: num(1, 9))
        self.W = sp.Matrix(n, 2, lambda r, c: num(1, 9))
        self.xs = [rng.randint(1, 2) for _ in range(T)]
        self.coef = {(j, s): (num(-9, 9), num(1, 9)) for j in range(1, n + 1) for s in range(1, T + 1)}
        self.eps = sp.Float("1e-20", DIGITS)
        self.base = self.run(self.U)

    def step(self, U, h, s: int) -> sp.Matrix:  # noqa: N803
        return self.g(U * h + self.W[:, self.xs[s - 1] - 1]).evalf(DIGITS)

    def run(self, U, start: int = 1, h=None) -> dict[int, sp.Matrix]:  # noqa: N803
        hs, h = {}, (sp.zeros(self.n, 1) if h is None else h)
        for s in range(start, self.T + 1):
            h = self.step(U, h, s)
            hs[s] = h
        return hs

    def loss_term(self, h, s: int):
        return sp.Add(*[self.coef[(j, s)][0] * h[j - 1] + self.coef[(j, s)][1] * h[j - 1] ** 2
                        for j in range(1, self.n + 1)])

    def loss(self, hs: dict[int, sp.Matrix]):
        return sp.Add(*[self.loss_term(hs[s], s) for s in range(1, self.T + 1)])

    def bump_u(self, r: int, c: int, e) -> sp.Matrix:
        U = sp.Matrix(self.U)  # noqa: N806
        U[r - 1, c - 1] += e
        return U

    def bump_h(self, s: int, a: int, e) -> sp.Matrix:
        h = sp.Matrix(self.base[s])
        h[a - 1] += e
        return h

    def derivative(self, d):
        """A total (``d``) or partial derivative of the loss or of an h entry in a u or h entry."""
        total = not isinstance(d, nt.PartialDerivative)
        var, f = d.variable, d.expr
        if not isinstance(var, sp.Indexed) or str(var.base.label) not in ("u", "h"):
            raise ValueError(f"derivative in {var}")
        if not isinstance(f, sp.Symbol) and not (isinstance(f, sp.Indexed) and str(f.base.label) == "h"
                                                 and len(f.indices) == 2):
            raise ValueError(f"derivative of {f}")
        idx = [int(x) for x in var.indices]
        if not all(1 <= x <= self.n for x in idx[:2 if str(var.base.label) == "u" else 1]):
            raise ValueError("index out of range")
        if str(var.base.label) == "u":
            return self._in_u(f, *idx)
        a, s = idx
        if not 1 <= s <= self.T:
            raise ValueError("time out of range")
        if isinstance(f, sp.Symbol):
            if total:  # through h_s's own loss term and every later step
                return central(lambda e: self.loss({**self.base, s: self.bump_h(s, a, e),
                                                    **self.run(self.U, s + 1, self.bump_h(s, a, e))}), self.eps)
            return central(lambda e: self.loss_term(self.bump_h(s, a, e), s), self.eps)
        b, r_ = (int(x) for x in f.indices)
        if total or r_ != s + 1 or not (1 <= r_ <= self.T and 1 <= b <= self.n):
            raise ValueError("only one-step partial derivatives of h are evaluated")
        return central(lambda e: self.step(self.U, self.bump_h(s, a, e), r_)[b - 1], self.eps)

    def _in_u(self, f, r: int, c: int):
        if isinstance(f, sp.Symbol):  # dL/du_{r,c}: through every step
            return central(lambda e: self.loss(self.run(self.bump_u(r, c, e))), self.eps)
        a, s = (int(x) for x in f.indices)  # partial h_{a,s} / partial u: h_{s-1} held fixed
        h_prev = self.base[s - 1] if s > 1 else sp.zeros(self.n, 1)
        return central(lambda e: self.step(self.bump_u(r, c, e), h_prev, s)[a - 1], self.eps)

    def value(self, expr, bindings: dict):
        """A side of a derivative equation with its free indices bound: sums expanded, derivatives evaluated."""
        expr = replace(expr, bindings)
        if isinstance(expr, (sp.Add, sp.Mul, sp.Pow)):
            return expr.func(*[self.value(a, bindings) for a in expr.args])
        if isinstance(expr, sp.Sum):
            (var, lo, hi), = expr.limits
            lo, hi = (int(sp.sympify(x).subs(nt.T, self.T)) for x in (lo, hi))
            if hi - lo + 1 > MAX_TERMS:
                raise TooManyTerms(f"a sum of {hi - lo + 1} terms, more than the {MAX_TERMS} the check expands")
            return sp.Add(*[self.value(replace(expr.function, {var: sp.Integer(v)}), bindings)
                            for v in range(lo, hi + 1)])
        if isinstance(expr, nt.StateSum):
            return sp.Add(*[self.value(replace(expr.expr, {expr.index: sp.Integer(v)}), bindings)
                            for v in range(1, self.n + 1)])
        if isinstance(expr, nt.TotalDerivative):
            return self.derivative(expr)
        if expr.is_number:
            return expr
        raise ValueError(f"no value for {expr}")


def evaluate_derivative_equation(rel, doc: Document, g: Nonlinearity, bindings: dict,
                                 seed: int = 0) -> tuple[Any, Any]:
    """Both sides of a scalar derivative equation on a :class:`ProbeRNN` with the document's ``g``.

    ``d`` is the total derivative (through every later step), ``partial`` holds the other arguments of the
    quantity's own formula fixed.
    """
    probe = ProbeRNN(g, seed)
    return probe.value(rel.lhs, bindings), probe.value(rel.rhs, bindings)


def check_derivative(span: Span, rel, doc: Document, g: Nonlinearity | None, out: list[Finding]) -> None:
    """``dL/d... = ...``: both sides on a random RNN of the document's form, at every binding of i, j, t."""
    if not (isinstance(rel, sp.Eq) and isinstance(rel.lhs, nt.TotalDerivative)):
        return
    if g is None or doc.recurrence is None:
        out.append(Finding(span.line, "warning", "a derivative equation, but the document defines no recurrence "
                           "and nonlinearity to check it on", "derivative"))
        return
    every = frozenset({nt.i, nt.j, nt.t})
    free = sorted(set(free_indices(rel.lhs, every)) | set(free_indices(rel.rhs, every)), key=str)
    n, T = ProbeRNN.n, ProbeRNN.T  # noqa: N806
    ranges = {nt.i: range(1, n + 1), nt.j: range(1, n + 1), nt.t: range(1, T + 1)}
    tried = 0
    for values in itertools.product(*(ranges[s] for s in free)):
        bindings = dict(zip(free, (sp.Integer(v) for v in values), strict=False))
        try:
            left, right = evaluate_derivative_equation(rel, doc, g, bindings)
        except (ValueError, IndexError, TypeError, KeyError):
            continue  # a time outside 1..T, or a form this evaluator does not cover
        except TooManyTerms as exc:
            out.append(Finding(span.line, "warning", f"not checked: {exc}", "derivative"))
            return
        tried += 1
        if abs(left - right) > sp.Float("1e-15", DIGITS) * (1 + abs(left) + abs(right)):
            at = ", ".join(f"{s}={v}" for s, v in bindings.items())
            out.append(Finding(span.line, "error", f"does not hold for the RNN h_t = g(U h_(t-1) + W x_t) with the "
                               f"document's g and a random loss: at {at} the left side is {sp.N(left, 6)}, the "
                               f"right {sp.N(right, 6)}", "derivative"))
            return
    if tried:
        out.append(Finding(span.line, "ok", f"holds on a random RNN of the document's form ({tried} index "
                           "bindings)", "derivative"))
