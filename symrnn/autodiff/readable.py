"""BPTT as a textbook writes it: one named error per quantity of the cell, and every gradient in those names.

The engine (:mod:`.bptt`) differentiates the cell's one step with every intermediate substituted, which is right
but repeats each gate's bracket in every formula.  Here the same rules (:func:`.matcalc.vjp`) run backwards over
the cell's equations as written, intermediates kept by name, and each quantity gets one error:

- for a quantity ``q_t = f(a_t)`` with ``f`` entrywise (a gate, a candidate, an activated state), ``delta^q_t`` is
  the error at its pre-activation ``a_t``; ``f'`` is written through the output where the function allows it
  (``q_t \\odot (1 - q_t)`` for the sigmoid, ``1 - q_t \\odot q_t`` for tanh);
- for any other state, ``delta^q_t`` is the total derivative ``dL/dq_t``; any other quantity is named only when
  several equations use it (else its error is written where it is used).

``rho_{t-1}`` of every state and every parameter's step contribution are then short sums of products of these
names.  Substituting the names back gives expressions equal to the engine's: :func:`identities` checks that entry
by entry at a small size, so every rewrite shown is proved.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import sympy as sp
from sympy.matrices.expressions import MatrixExpr
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.printing.latex import translate

from symrnn import notation as nt
from symrnn.autodiff import matcalc
from symrnn.autodiff.bptt import BPTT, cancel_ratios, symbolic_point
from symrnn.autodiff.scalar_reverse import jacobian_row
from symrnn.numeric.binding import bind, rho_symbol
from symrnn.ops.linear import total
from symrnn.ops.softmax import Softmax


class Equation(Protocol):
    """One equation of a cell as written: ``lhs = rhs``, the intermediates in ``rhs`` kept by name."""

    lhs: nt.Vec
    rhs: MatrixExpr
    state: bool


@dataclass(frozen=True)
class Written:
    """An :class:`Equation` made here: a cell built in Python has one per state (``s_t = F_s``)."""

    lhs: nt.Vec
    rhs: MatrixExpr
    state: bool = True


def of_cell(b: BPTT) -> list[Written]:
    """The equations of a cell built in Python (no intermediates): each state's step."""
    return [Written(b.cell.current()[s], b.step[s]) for s in b.cell.states]


@dataclass(frozen=True)
class Named:
    """``symbol := value``: the error of one quantity, and what it is the derivative of (for the reader)."""

    symbol: sp.MatrixSymbol
    value: MatrixExpr
    quantity: nt.Vec
    at_preactivation: bool

    @property
    def equation(self) -> sp.Eq:
        return sp.Eq(self.symbol, self.value, evaluate=False)


@dataclass(frozen=True)
class Readable:
    """The errors in the order they are computed (backwards through the step), then the recursion of every state
    and every parameter's contribution at step t, written in them."""

    errors: tuple[Named, ...]
    recurrent: dict[str, MatrixExpr]
    grads: dict[str, MatrixExpr]

    def expanded(self, expr: MatrixExpr) -> MatrixExpr:
        """``expr`` with every error replaced by its value (the later ones first: they use the earlier ones)."""
        for named in reversed(self.errors):
            expr = expr.xreplace({named.symbol: named.value})
        return expr


def error_symbol(quantity: nt.Vec) -> sp.MatrixSymbol:
    """``\\delta^{q}_{t}`` for the quantity ``q_t``."""
    return sp.MatrixSymbol(rf"\delta^{{{translate(quantity.base)}}}_t", *quantity.shape)


def readable(b: BPTT, equations: Sequence[Equation] | None = None) -> Readable:
    """The errors, the recursion and the parameter gradients of ``b``'s cell, written over ``equations`` (the cell
    as written: in the order computed, each right side in the named quantities before it; default
    :func:`of_cell`)."""
    equations = of_cell(b) if equations is None else equations
    cell = b.cell
    prev = cell.previous(nt.t - 1)
    params = cell.symbols()
    named = {e.lhs for e in equations}
    wrt = [*named, *prev.values(), *params.values()]
    outputs = {e.rhs: e.lhs for e in equations}  # a quantity's right side, met again, is written as its name
    users = {q: sum(1 for e in equations if q in e.rhs.atoms(nt.Vec)) for q in named}
    incoming: dict[MatrixExpr, list[MatrixExpr]] = {e.lhs: [] for e in equations}
    for s in cell.states:
        cur = cell.current()[s]
        if s == cell.output:
            incoming[cur].append(b.loss.step_grad(cur, b.target))  # with the loss's factor (1/T: averaged)
        incoming[cur].append(rho_symbol(cell, s))
    errors: list[Named] = []
    out: dict[MatrixExpr, list[MatrixExpr]] = {}
    for e in reversed(equations):
        if not incoming[e.lhs]:
            continue  # nothing later in the step, nor the loss, depends on it
        grad = tidy(total(incoming[e.lhs]))
        inner, seed = _error(e, grad)
        seed = None if seed is None else tidy(cancel_ratios(seed))
        if seed is not None:
            symbol = error_symbol(e.lhs)
            errors.append(Named(symbol, seed, e.lhs, inner is not e.rhs))
            grad = symbol
        elif users[e.lhs] > 1 or e.state:
            symbol = error_symbol(e.lhs)
            errors.append(Named(symbol, grad, e.lhs, False))
            grad = symbol
        for leaf, part in matcalc.vjp(inner, grad, wrt).items():
            part = tidy(hadamard_form(part.xreplace(outputs)))
            (incoming if leaf in incoming else out).setdefault(leaf, []).append(part)
    recurrent = {s: _finish(out.get(prev[s]), prev[s]) for s in cell.states}
    grads = {name: _finish(out.get(sym), sym) for name, sym in params.items()}
    return Readable(tuple(errors), recurrent, grads)


def _error(e: Equation, grad: MatrixExpr) -> tuple[MatrixExpr, MatrixExpr | None]:
    """Where the chain continues from ``e`` (its pre-activation, or its right side) and, for an entrywise function
    or a softmax, the error at the pre-activation written through the output (None otherwise)."""
    q = e.lhs
    if type(e.rhs) is Softmax:  # (diag(q) - q q^T) g, the softmax Jacobian's usual form
        return e.rhs.args[0], sp.MatAdd(sp.HadamardProduct(q, grad), -sp.MatMul(q, q.T, grad))
    if not isinstance(e.rhs, ElementwiseApplyFunction):
        return e.rhs, None
    a = e.rhs.expr
    part = matcalc.vjp(e.rhs, grad, [a])[a]
    return a, hadamard_form(part.xreplace({e.rhs: q}))


def _finish(parts: list[MatrixExpr] | None, leaf: MatrixExpr) -> MatrixExpr:
    if not parts:
        return sp.ZeroMatrix(*leaf.shape)
    return tidy(cancel_ratios(total(parts)))


def tidy(expr: MatrixExpr) -> MatrixExpr:
    r"""Nested sums and Hadamard products flattened, and a factor that every term of a sum shares taken out
    (``-d \odot n + d \odot h`` -> ``d \odot (h - n)``); the value is unchanged."""
    if not isinstance(expr, MatrixExpr) or not expr.args:
        return expr
    args = [tidy(a) if isinstance(a, MatrixExpr) else a for a in expr.args]
    if isinstance(expr, sp.HadamardProduct):
        flat = [f for a in args for f in (a.args if isinstance(a, sp.HadamardProduct) else (a,))]
        return sp.HadamardProduct(*flat)
    if isinstance(expr, sp.MatAdd):
        flat = [f for a in args for f in (a.args if isinstance(a, sp.MatAdd) else (a,))]
        return _common_factor(flat)
    return expr.func(*args)


def _common_factor(terms: list[MatrixExpr]) -> MatrixExpr:
    """``sum(terms)``, with a Hadamard factor that all of them share taken out of the sum."""
    split = []
    for term in terms:
        coeff, rest = (term.args[0], term.args[1]) if isinstance(term, sp.MatMul) and len(term.args) == 2 \
            and term.args[0].is_Number else (sp.S.One, term)
        if not isinstance(rest, sp.HadamardProduct):
            return sp.MatAdd(*terms)
        split.append((coeff, list(rest.args)))
    shared = [f for f in split[0][1] if all(f in factors for _, factors in split[1:])]
    if len(terms) < 2 or not shared:
        return sp.MatAdd(*terms)
    f = shared[0]

    def without(coeff, factors):
        factors = list(factors)
        factors.remove(f)
        body = factors[0] if len(factors) == 1 else sp.HadamardProduct(*factors)
        return body if coeff == 1 else coeff * body
    return sp.HadamardProduct(f, sp.MatAdd(*[without(c, fs) for c, fs in split]))


def hadamard_form(expr: MatrixExpr) -> MatrixExpr:
    """Every entrywise polynomial of one named vector (``y (1 - y)`` applied to ``z_t``) as Hadamard products of the
    vector (``z_t \\odot (1 - z_t)``): how a textbook writes a derivative through the output."""
    if isinstance(expr, ElementwiseApplyFunction) and isinstance(expr.expr, (nt.Vec, sp.MatrixSymbol)):
        (var,) = expr.function.variables
        body = expr.function.expr
        if body.is_polynomial(var):
            return _polynomial(body, var, expr.expr)
    if isinstance(expr, MatrixExpr) and expr.args:
        return expr.func(*[hadamard_form(a) if isinstance(a, MatrixExpr) else a for a in expr.args])
    return expr


def _polynomial(body: sp.Expr, var: sp.Symbol, v: MatrixExpr) -> MatrixExpr:
    ones = sp.OneMatrix(*v.shape)
    if body == var:
        return v
    if body.is_Number:
        return body * ones
    if body.is_Add:
        return sp.MatAdd(*[_polynomial(a, var, v) for a in body.args])
    if body.is_Mul:
        coeff, rest = body.as_coeff_Mul()
        if coeff != 1:
            return coeff * _polynomial(rest, var, v)
        return sp.HadamardProduct(*[_polynomial(a, var, v) for a in body.args])
    if body.is_Pow and body.exp.is_Integer and body.exp > 1:
        return sp.HadamardProduct(*[_polynomial(body.base, var, v)] * int(body.exp))
    raise ValueError(f"not a polynomial in {var}: {body}")


def identities(b: BPTT, r: Readable, equations: Sequence[Equation], rng: random.Random
               ) -> list[tuple[str, sp.Matrix, sp.Matrix, sp.Matrix]]:
    """``(what, readable, engine, reference)`` entry by entry at the cell's size, with symbolic parameters, states,
    input, target and rho, for every state's recursion and every parameter's contribution: the readable form (its
    errors substituted back), the engine's, and direct differentiation of ``l(F) + sum_s rho_s^T F_s`` (scalar
    reverse mode, independent of both)."""
    cell = b.cell
    params, prev, x, y, rho = symbolic_point(b, rng)
    vals = bind(cell, params, prev, x, target=y, rhos=rho)
    for e in equations:
        vals[e.lhs] = matcalc.explicit(e.rhs, vals)
    new = {s: vals[cell.current()[s]] for s in cell.states}
    phi = b.loss.scale * b.loss.term(new[cell.output], y) + sp.Add(*[(rho[s].T * new[s])[0] for s in cell.states])
    out = []
    for s in cell.states:
        out.append((f"rho_{s}", matcalc.explicit(r.expanded(r.recurrent[s]), vals),
                    matcalc.explicit(b.recurrent[s], vals), jacobian_row(phi, prev[s])))
    for name, m in params.items():
        out.append((name, matcalc.explicit(r.expanded(r.grads[name]), vals),
                    matcalc.explicit(b.param_grads[name], vals), jacobian_row(phi, m)))
    return out
