"""What the lecture's notation means on a given HMM: evaluate an equation's two sides, independently of the algorithms.

Probabilities ``P(...)`` are evaluated by enumerating state sequences through the Bayesian network's factorisation
(:func:`symrnn.models.hmm.joint`), never by belief propagation; ``h_{j,t}`` and ``v_{j,t}`` are the algorithms' outputs.
So checking ``h_{j,t} = P(\\dots, Y_t = j, X_t)`` under this meaning compares belief propagation with brute force.

Conventions (stated in the document): a bare ``X_t`` means "X_t takes its observed value"; a bare ``Y_t`` takes the
value the caller assigns (``ys``); a leading ``\\dots`` stands for every earlier observation with the earlier states
eliminated, by summing (belief propagation) or by maximising (Viterbi: ``mode="max"``); ``Y_0`` is not a variable
of the model, so conditioning on it is dropped and ``P(Y_1 | Y_0)`` is the initial distribution ``pi``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import sympy as sp
from sympy.core.sympify import _sympify
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.models import belief_propagation, viterbi
from symrnn.models.hmm import HMM


class NotationError(ValueError):
    """An expression uses notation this evaluator has no meaning for (names the offending part)."""


@dataclass(frozen=True)
class Context:
    """An HMM, an observation sequence (1-based), values for index symbols, and optional assigned states."""

    model: HMM
    xs: tuple[int, ...]
    env: Mapping[sp.Symbol, int] = field(default_factory=dict)
    ys: tuple[int, ...] | None = None
    mode: str = "sum"

    def bind(self, **values: int) -> Context:
        env = dict(self.env)
        env.update({sp.Symbol(name, integer=True, positive=True): v for name, v in values.items()})
        return replace(self, env=env)

    @cached_property
    def forward(self) -> list[sp.Matrix]:
        return belief_propagation.forward(self.model, self.xs)

    @cached_property
    def viterbi(self) -> list[sp.Matrix]:
        return viterbi.viterbi_values(self.model, self.xs)

    def index(self, expr) -> int:
        """An index expression (``t - 1``) evaluated to a Python int."""
        value = _sympify(expr).xreplace(self.sizes)
        if not value.is_Integer:
            raise NotationError(f"index {expr} has no value here (bound: {dict(self.env)})")
        return int(value)

    @cached_property
    def sizes(self) -> dict:
        sizes = {**self.env, nt.N: self.model.N, nt.V: self.model.n_symbols - 1, nt.T: len(self.xs)}
        return {s: sp.Integer(n) for s, n in sizes.items()}


def _indexed(ctx: Context, name: str, a: int, b: int) -> sp.Expr:
    m = ctx.model
    if name == "h":
        return ctx.forward[b - 1][a - 1]
    if name == "v":
        return ctx.viterbi[b - 1][a - 1]
    if name == "u":
        return m.U[a - 1, b - 1]
    if name == "w":
        return m.W[a - 1, b - 1]
    if name == "g":
        return belief_propagation.query(m, ctx.xs, b)[a - 1]
    if name == "x":
        return sp.Integer(1 if ctx.xs[b - 1] == a else 0)
    raise NotationError(f"no meaning for the indexed quantity {name}")


def _constraints(ctx: Context, items: Sequence) -> tuple[dict, dict, int | None]:
    """``(states, observations, first)``: fixed Y and X values by time; ``first`` is set by a leading ``\\dots``."""
    ys_fixed: dict[int, object] = {}
    xs_fixed: dict[int, object] = {}
    dots = False

    def put(table: dict, time: int, value) -> None:
        if time in table and table[time] != value:
            table[time] = None  # contradictory: the event is impossible
        else:
            table.setdefault(time, value)

    for item in items:
        if isinstance(item, nt.Dots):
            dots = True
        elif isinstance(item, nt.Span):
            for s in range(ctx.index(item.start), ctx.index(item.stop) + 1):
                if item.states:
                    put(ys_fixed, s, _assigned(ctx, s))
                put(xs_fixed, s, ctx.xs[s - 1])
        elif isinstance(item, (nt.RV, nt.Is)):
            rv = item.rv if isinstance(item, nt.Is) else item
            s = ctx.index(rv.time)
            if rv.name == "Y":
                if s == 0:
                    continue  # Y_0 is not in the model: P(Y_1 | Y_0) is read as pi
                put(ys_fixed, s, ctx.index(item.value) if isinstance(item, nt.Is) else _assigned(ctx, s))
            elif rv.name == "X":
                put(xs_fixed, s, ctx.index(item.value) if isinstance(item, nt.Is) else ctx.xs[s - 1])
            else:
                raise NotationError(f"unknown random variable {rv.name} (the HMM has Y and X)")
        else:
            raise NotationError(f"cannot read {item} as an event")
    first = min([*ys_fixed, *xs_fixed], default=None) if dots else None
    return ys_fixed, xs_fixed, first


def _assigned(ctx: Context, s: int) -> int:
    if ctx.ys is None or not 1 <= s <= len(ctx.ys):
        raise NotationError(f"Y_{s} appears without a value and no state sequence was assigned")
    return ctx.ys[s - 1]


def _joint(ctx: Context, ys_fixed: dict, xs_fixed: dict, first: int | None) -> sp.Expr:
    if any(v is None for v in (*ys_fixed.values(), *xs_fixed.values())):
        return sp.Integer(0)
    xs_fixed = dict(xs_fixed)
    if first is not None:  # \dots: every observation before the first named time
        for s in range(1, first):
            xs_fixed.setdefault(s, ctx.xs[s - 1])
    times = [*ys_fixed, *xs_fixed]
    if not times:
        return sp.Integer(1)
    m, model, N = max(times), ctx.model, ctx.model.N  # noqa: N806
    if m > len(ctx.xs):
        raise NotationError(f"time {m} is beyond the {len(ctx.xs)} observations")
    free = [s for s in range(1, m + 1) if s not in ys_fixed]
    outer = [s for s in free if first is not None and s < first]
    inner = [s for s in free if s not in outer]

    def prob(y: dict) -> sp.Expr:
        p = model.pi[y[1] - 1]
        for s in range(2, m + 1):
            p *= model.U[y[s] - 1, y[s - 1] - 1]
        for s, k in xs_fixed.items():
            p *= model.W[y[s] - 1, k - 1]
        return p

    values = []
    for o in itertools.product(range(1, N + 1), repeat=len(outer)):
        terms = [prob({**ys_fixed, **dict(zip(outer, o)), **dict(zip(inner, n))})
                 for n in itertools.product(range(1, N + 1), repeat=len(inner))]
        values.append(sp.Add(*terms))
    return sp.Max(*values) if ctx.mode == "max" and outer else sp.Add(*values)


def probability(ctx: Context, p: nt.P) -> sp.Expr:
    """``P(events | given)`` by enumeration: ``joint(events, given) / joint(given)``."""
    ev = _constraints(ctx, p.events + p.given)
    if not p.given:
        return _joint(ctx, *ev)
    giv = _constraints(ctx, p.given)
    return _joint(ctx, *ev) / _joint(ctx, *giv)


def evaluate(expr, ctx: Context):
    """The value of a lecture expression (scalar or matrix) on ``ctx``'s model and observations."""
    if isinstance(expr, MatrixExpr):
        return _evaluate_matrix(expr, ctx)
    if isinstance(expr, nt.P):
        return probability(ctx, expr)
    if isinstance(expr, (nt.StateSum, nt.StateMax)):
        name = expr.index.name
        vals = [evaluate(expr.expr, ctx.bind(**{name: n})) for n in range(1, ctx.model.N + 1)]
        return sp.Max(*vals) if isinstance(expr, nt.StateMax) else sp.Add(*vals)
    if isinstance(expr, sp.Indexed):
        a, b = (ctx.index(ix) for ix in expr.indices)
        return _indexed(ctx, str(expr.base.label), a, b)
    if isinstance(expr, sp.Product):
        (var, lo, hi), = expr.limits
        return sp.Mul(*[evaluate(expr.function, ctx.bind(**{var.name: n}))
                        for n in range(ctx.index(lo), ctx.index(hi) + 1)])
    if isinstance(expr, sp.Piecewise):
        for value, cond in expr.args:
            if cond is sp.true or _holds(cond, ctx):
                return evaluate(value, ctx)
        raise NotationError(f"no branch of {expr} applies")
    if isinstance(expr, sp.Symbol):
        value = ctx.sizes.get(expr)
        if value is None:
            raise NotationError(f"symbol {expr} has no value here")
        return sp.Integer(value)
    if expr.is_Number:
        return expr
    if isinstance(expr, (sp.Add, sp.Mul, sp.Pow, sp.exp, sp.log)):
        return expr.func(*[evaluate(a, ctx) for a in expr.args])
    raise NotationError(f"no meaning for {type(expr).__name__} {expr}")


def _holds(cond, ctx: Context) -> bool:
    if isinstance(cond, sp.Eq):
        lhs, rhs = cond.args
        if isinstance(rhs, nt.RV):
            lhs, rhs = rhs, lhs
        if isinstance(lhs, nt.RV) and lhs.name == "X":
            return ctx.xs[ctx.index(lhs.time) - 1] == ctx.index(rhs)
    raise NotationError(f"cannot decide the condition {cond}")


def _evaluate_matrix(expr: MatrixExpr, ctx: Context) -> sp.Matrix:
    if isinstance(expr, nt.Vec):
        s = ctx.index(expr.time)
        if expr.base == "h":
            return ctx.forward[s - 1]
        if expr.base == "x":
            return nt.one_hot(ctx.xs[s - 1], ctx.model.n_symbols)
        raise NotationError(f"no meaning for the vector {expr.base} in the HMM")
    if isinstance(expr, sp.MatrixSymbol):
        named = {"U": ctx.model.U, "W": ctx.model.W, "pi": ctx.model.pi}
        if expr.name not in named:
            raise NotationError(f"no meaning for the matrix {expr.name} in the HMM")
        return named[expr.name]
    if isinstance(expr, nt.DotsMatrix):
        rows, cols = (ctx.index(n) for n in expr.shape)
        return sp.Matrix(rows, cols, lambda r, c: _indexed(
            ctx, expr.base, r + 1, ctx.index(expr.time) if expr.time is not None else c + 1))
    if isinstance(expr, sp.MatMul):
        factors = [evaluate(a, ctx) for a in expr.args]
        out = factors[0]
        for f in factors[1:]:
            out = out * f
        return out
    if isinstance(expr, sp.MatAdd):
        parts = [evaluate(a, ctx) for a in expr.args]
        return sum(parts[1:], parts[0])
    if isinstance(expr, sp.HadamardProduct):
        parts = [evaluate(a, ctx) for a in expr.args]
        out = parts[0]
        for p in parts[1:]:
            out = out.multiply_elementwise(p)
        return out
    if type(expr).__name__ == "ElementwiseApplyFunction":
        return evaluate(expr.expr, ctx).applyfunc(expr.function)
    if isinstance(expr, nt.ScaledMatrix):
        return sp.Matrix(expr.as_explicit())
    raise NotationError(f"no meaning for the matrix expression {type(expr).__name__}")
