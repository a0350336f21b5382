"""Checks of section ``rnn``'s general claims: the RNN's update and its nonlinearities, and the RNN derived as
linearised, normalised log belief propagation (symbolic where the claim is general, and on the HMM section's cases,
whose probabilities come from enumerating every state sequence)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import numpy as np
import sympy as sp

from symrnn import notation as nt
from symrnn.core.derivation import Computation, Evidence, Identity, Outcome
from symrnn.lecture25.common import dec, fail, ok
from symrnn.lecture25.hmm import checks as hmm_checks
from symrnn.lecture25.rnn.example import Example
from symrnn.models import bayesnet, belief_propagation, nonlinearities, pos_tagging, rnn
from symrnn.models.hmm import HMM

t, N, i, j = nt.t, nt.N, nt.i, nt.j
Y, Is, P = nt.Y, nt.Is, nt.P
DIGITS = 50


SOFTMAX_SHIFTED = r"$\operatorname{softmax}(\vec{\xi} - 2) = g(\vec{\xi})$"
SOFTMAX_PLAIN = r"$\operatorname{softmax}(\vec{\xi} - 1) = \operatorname{softmax}(\vec{\xi})$"

def close(a, b) -> bool:
    """Equal to 40 digits (values with nested exponentials are compared at 50)."""
    return abs(nt.numeric(sp.sympify(a) - b, DIGITS)) < sp.Float("1e-40", DIGITS)


def explicit(formula: sp.Expr, size: int, xi: sp.Matrix, index: int) -> sp.Expr:
    """A displayed entry formula (``xi_j``, sums to N) at explicit size, index and entries ``xi``."""
    base = sp.IndexedBase("xi", real=True)
    expr = formula.subs({N: size, j: index}).doit()
    return expr.replace(lambda e: isinstance(e, sp.Indexed) and e.base == base,
                        lambda e: xi[int(e.indices[0]) - 1])


# ---- the RNN ---------------------------------------------------------------------------------------------------------


def flowgraph_instances() -> Iterator[Identity]:
    """exp(ln(U h) + ln(W x_k)) against belief propagation's multiply-add step, N=3, every observed k."""
    model = HMM.symbolic(3, 4)
    h = nt.entry_vector("h", 3)
    for kk in range(1, 5):
        lhs = ((model.U * h).applyfunc(sp.log) + (model.W * nt.one_hot(kk, 4)).applyfunc(sp.log)).applyfunc(sp.exp)
        yield Identity(lhs, belief_propagation.step(model, h, kk), "simplify", label=f"$k = {kk}$")


def _symbolic_rnn(n: int, n_inputs: int, steps: int):
    U = nt.entry_matrix("u", n, n, positive=False)  # noqa: N806
    W = nt.entry_matrix("w", n, n_inputs, positive=False)  # noqa: N806
    h0 = sp.Matrix([nt.entry("h", r + 1, 0, positive=False) for r in range(n)])
    inputs = [sp.Matrix([nt.entry("x", r + 1, s, positive=False) for r in range(n_inputs)])
              for s in range(1, steps + 1)]
    return U, W, h0, inputs


def causality(rng: random.Random) -> Outcome:
    """The unrolled general form: h_t is g(U h_{t-1}, W x_t) of the previous state and uses x_1..x_t only."""
    steps, n, n_inputs = 4, 2, 3
    U, W, h0, inputs = _symbolic_rnn(n, n_inputs, steps)  # noqa: N806
    g2 = rnn.generic_two("g")
    hs = rnn.unroll(U, W, h0, inputs, g2)
    for s, h in enumerate(hs, start=1):
        prev = h0 if s == 1 else hs[s - 2]
        if h != g2(U * prev, W * inputs[s - 1]):
            return fail(Evidence.SYMBOLIC, rf"$\vec{{h}}_{s}$ is not $g(U\vec{{h}}_{s - 1}, W\vec{{x}}_{s})$")
        used = {r for r, x in enumerate(inputs, start=1) if x.free_symbols & h.free_symbols}
        if used != set(range(1, s + 1)):
            return fail(Evidence.SYMBOLIC, rf"$\vec{{h}}_{s}$ depends on the inputs at times {sorted(used)}")
    return ok(Evidence.SYMBOLIC, f"unrolled for $T = {steps}$ ($N = {n}$, $V + 1 = {n_inputs}$, an undefined $g$): "
                                  r"each $\vec{h}_t$ is $g(U\vec{h}_{t-1}, W\vec{x}_t)$ of the previous state, and "
                                  r"depends on $\vec{x}_1, \dots, \vec{x}_t$ and on no later input")


def additive_instances() -> Iterator[Identity]:
    """The general form with g(a, b) = g(a + b) equals the additive RNN, for an undefined vector function g."""
    U, W, h0, inputs = _symbolic_rnn(3, 4, 3)  # noqa: N806
    g = nonlinearities.generic("g")
    general = rnn.unroll(U, W, h0, inputs, rnn.additive(g))
    additive = rnn.RNN(U, W, g, h0).run_inputs(inputs)
    for s, (a, b) in enumerate(zip(general, additive, strict=True), start=1):
        yield Identity(a, b, label=rf"$\vec{{h}}_{s}$")


def table_check(rng: random.Random) -> Outcome:
    """Each table entry: the implementation equals the displayed formula (symbolic, N=3), SymPy equals NumPy at
    random points, and the exact Jacobian equals central finite differences of the NumPy form."""
    xi = sp.Matrix(sp.symbols("xi1:4", real=True))
    worst_value = worst_jac = 0.0
    for name, g in nonlinearities.TABLE.items():
        formula = g.entry_formula(j, N)
        got = g(xi)
        for n in range(3):
            if sp.simplify(got[n] - explicit(formula, 3, xi, n + 1)) != 0:
                return fail(Evidence.SYMBOLIC, f"{name}: entry {n + 1} differs from its formula")
        jac = g.jacobian(xi)
        for _ in range(4):
            point = [sp.Rational(rng.randint(-300, 300), 100) for _ in range(3)]
            env = dict(zip(xi, point, strict=True))
            exact = np.array([float(v.xreplace(env)) for v in got])
            x = np.array([float(p) for p in point])
            worst_value = max(worst_value, float(np.max(np.abs(g.numpy(x) - exact))))
            eps = 1e-6
            fd = np.column_stack([(g.numpy(x + eps * e) - g.numpy(x - eps * e)) / (2 * eps) for e in np.eye(3)])
            jex = np.array(jac.xreplace(env).evalf(20).tolist(), dtype=float)
            worst_jac = max(worst_jac, float(np.max(np.abs(fd - jex) / (1e-5 + 1e-3 * np.abs(jex)))))
    if worst_value > 1e-12 or worst_jac > 1:
        return fail(Evidence.NUMERIC, f"NumPy differs from exact by {worst_value:.1e}; Jacobian check ratio "
                                       f"{worst_jac:.2f}")
    return ok(Evidence.NUMERIC, f"{len(nonlinearities.TABLE)} entries: each equals its formula as algebra; "
                                 f"float64 NumPy within {worst_value:.0e} of exact; exact Jacobians agree with "
                                 "central differences (atol 1e-5, rtol 1e-3)")


def lecture_g_instances() -> Iterator[Identity]:
    """The lecture's g against the displayed softmax_j(xi - 1), entry by entry; its entries sum to 1."""
    xi = sp.Matrix(sp.symbols("xi1:4", real=True))
    shown = nonlinearities.softmax(xi, -1)  # the displayed softmax_j(xi - 1), entry by entry
    formula = nonlinearities.TABLE["lecture"].entry_formula(j, N)
    got = nonlinearities.get("lecture")(xi)
    yield Identity(got, shown, "simplify", label=r"$g(\vec{\xi}) = [\operatorname{softmax}_j(\vec{\xi} - 1)]$")
    yield Identity(got, sp.Matrix([explicit(formula, 3, xi, n) for n in (1, 2, 3)]), "simplify",
                   label=r"$\operatorname{softmax}_j(\vec{\xi} - 1) = e^{\xi_j - 1} / \sum_i e^{\xi_i - 1}$")
    yield Identity(sp.Add(*got), sp.Integer(1), "simplify", label="the entries sum to 1")


# ---- the RNN from belief propagation ---------------------------------------------------------------------------------


def softmax_of_logs(seed: int) -> Iterator[Identity]:
    """softmax(ln a + ln b) = (a * b) / sum(a * b), then on every HMM case: p_t by enumeration equals the softmax
    of ln(U p_{t-1}) + ln(W x_t) with p_{t-1} by enumeration (U p_0 read as pi)."""
    a, b = nt.entry_vector("a", 3), nt.entry_vector("b", 3)
    ab = a.multiply_elementwise(b)
    yield Identity(nonlinearities.softmax(a.applyfunc(sp.log) + b.applyfunc(sp.log)), ab / sp.Add(*ab), "simplify",
                   label="general, $N = 3$")
    for case in hmm_checks.cases(seed):
        ctx = bayesnet.Context(case.model, case.xs)
        post = [sp.Matrix([bayesnet.probability(ctx, P([Is(Y(s), jj)], [nt.Span(1, s, states=False)]))
                           for jj in range(1, case.model.N + 1)]) for s in range(1, len(case.xs) + 1)]
        for s, kk in enumerate(case.xs, start=1):
            carried = case.model.pi if s == 1 else case.model.U * post[s - 2]
            z = carried.applyfunc(sp.log) + case.model.W[:, kk - 1].applyfunc(sp.log)
            rhs = nonlinearities.softmax(z).applyfunc(sp.expand_power_exp)  # e^(x+y) = e^x e^y, then cancel
            yield Identity(post[s - 1], rhs, "cancel", label=f"{case.label}, $t = {s}$")


def linearisation(example: Example) -> Callable[[random.Random], Outcome]:
    """ln z -> z - 1 turns the log form into U p + W x - 2; the error it makes on the example."""
    def run(rng: random.Random) -> Outcome:
        s = sp.Symbol("s", positive=True)
        first = sp.series(sp.log(s), s, 1, 2).removeO()
        a, b = nt.entry_vector("a", 3), nt.entry_vector("b", 3)
        exact = a.applyfunc(sp.log) + b.applyfunc(sp.log)
        linear = exact.applyfunc(lambda e: e.replace(sp.log, lambda arg: first.subs(s, arg)))
        if any(sp.expand(d) != 0 for d in linear - (a + b - 2 * sp.ones(3, 1))):
            return fail(Evidence.SYMBOLIC, r"the linearised logs are not $U\vec{p} + W\vec{x} - 2$")
        errors = [max(abs(nt.numeric(x - y, 30)) for x, y in zip(p, q, strict=True))
                  for p, q in zip(example.posterior, example.one_step_linearised(), strict=True)]
        worst = max(range(len(errors)), key=lambda n: errors[n])
        return ok(Evidence.SYMBOLIC, r"replacing each $\ln z$ by $z - 1$ turns $\ln(U\vec{p}_{t-1}) + "
                                      r"\ln(W\vec{x}_t)$ into $U\vec{p}_{t-1} + W\vec{x}_t - 2$ (as algebra, $N = 3$). "
                                      r"On the worked example, one step from the exact $\vec{p}_{t-1}$, the largest "
                                      "error in a probability is "
                                      + ", ".join(f"{dec(e)} ($t = {n + 1}$)" for n, e in enumerate(errors))
                                      + f"; worst at $t = {worst + 1}$")
    return run


def shift_invariance() -> Identity:
    """softmax(xi + c) = softmax(xi) for every N and real c."""
    xi = sp.IndexedBase("xi", real=True)
    c = sp.Symbol("c", real=True)
    lhs = sp.exp(xi[j] + c) / sp.Sum(sp.exp(xi[i] + c), (i, 1, N))
    rhs = sp.exp(xi[j]) / sp.Sum(sp.exp(xi[i]), (i, 1, N))
    return Identity(lhs, rhs, "simplify", label="general $N$")


def rnn_from_bp(example: Example) -> Computation:
    """softmax(xi - 2) = softmax(xi - 1) = softmax(xi), and the example's h_t with plain softmax."""
    def run(rng: random.Random) -> Outcome:
        xi = sp.Matrix(sp.symbols("xi1:4", real=True))
        lecture_g, plain = nonlinearities.get("lecture"), nonlinearities.get("softmax")
        for lhs, rhs, what in ((nonlinearities.softmax(xi, -2), lecture_g(xi), SOFTMAX_SHIFTED),
                               (lecture_g(xi), plain(xi), SOFTMAX_PLAIN)):
            if any(sp.simplify(d) != 0 for d in lhs - rhs):
                return fail(Evidence.SYMBOLIC, f"{what} does not simplify to an identity")
        other = pos_tagging.network("softmax").run(example.xs, digits=DIGITS + 10)
        for s, (a, b) in enumerate(zip(example.hs, other, strict=True), start=1):
            if not all(close(x, y) for x, y in zip(a, b, strict=True)):
                return fail(Evidence.EXACT, rf"$\vec{{h}}_{s}$ with plain softmax differs from the lecture's")
        return ok(Evidence.SYMBOLIC, r"$\operatorname{softmax}(\vec{\xi} - 2) = \operatorname{softmax}(\vec{\xi} - 1) "
                                      r"= \operatorname{softmax}(\vec{\xi})$ as algebra ($N = 3$); on the worked "
                                      r"example the RNN with plain softmax gives the same "
                                      rf"$\vec{{h}}_1, \dots, \vec{{h}}_{len(other)}$ (to {DIGITS} digits)")
    return Computation(run, "shift of the lecture's g")


def ceiling(example: Example) -> Computation:
    """The bound e^2 / (e^2 + N - 1) on the RNN's largest entry: attained, never exceeded, and on the example."""
    def run(rng: random.Random) -> Outcome:
        bound = sp.exp(2) / (sp.exp(2) + N - 1)
        for n in range(2, 6):  # the bound is attained at the corner (2, 0, ..., 0)
            corner = nonlinearities.softmax(sp.Matrix([2] + [0] * (n - 1)))[0]
            if sp.simplify(corner - bound.subs(N, n)) != 0:
                return fail(Evidence.SYMBOLIC, f"$N = {n}$: the corner value is not the bound")
            for _ in range(10):
                point = sp.Matrix([sp.Rational(rng.randint(0, 200), 100) for _ in range(n)])
                if max(nt.numeric(v, 30) for v in nonlinearities.softmax(point)) > sp.N(bound.subs(N, n), 30):
                    return fail(Evidence.EXACT,
                                rf"$N = {n}$: $\operatorname{{softmax}}{tuple(point)}$ exceeds the bound")
        for s, step in enumerate(example.steps, start=1):
            if not all(0 <= nt.numeric(v, 30) <= 2 for v in step.preactivation):
                return fail(Evidence.EXACT, f"$t = {s}$: a pre-activation lies outside $[0, 2]$")
        value = bound.subs(N, example.model.N)
        top = max(max(nt.numeric(v, 30) for v in h) for h in example.hs)
        exact_top = max(max(p) for p in example.posterior)
        return ok(Evidence.EXACT, r"attained at $\vec{\xi} = (2, 0, \dots, 0)$ for $N = 2, \dots, 5$ and never "
                                   r"exceeded at 40 random points of $[0, 2]^N$; on the example every pre-activation "
                                   f"lies in $[0, 2]$. For $N = {example.model.N}$ the ceiling is {dec(value, 3)}: the "
                                   f"RNN's largest $h_{{j,t}}$ is {dec(top, 3)}, while the exact posterior reaches "
                                   f"{dec(exact_top, 3)}")
    return Computation(run, "confidence ceiling")
