"""Section ``rnn``: the update ``h_t = g(U h_{t-1} + W x_t)``, the part-of-speech example, and the RNN as
approximate log belief propagation.

Every number of the worked example is computed from the model in :mod:`symrnn.pos_tagging`; where the lecture's
printed line differs, the note beside it is generated from the computed values.  The derivation that connects the
HMM section to the RNN is checked symbolically (for general N where the claim is general) and on the HMM section's
test cases, whose probabilities come from enumerating every state sequence.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import numpy as np
import sympy as sp

from symrnn import notation as nt
from symrnn.core.derivation import Computation, Derivation, Evidence, Identity, Instances, Outcome, Step
from symrnn.lecture25 import hmm_section
from symrnn.models import bayesnet, belief_propagation, nonlinearities, pos_tagging, rnn
from symrnn.models.hmm import HMM, joint, paths

t, N, V, i, j, k = nt.t, nt.N, nt.V, nt.i, nt.j, nt.k
Y, X, Is, P, Text = nt.Y, nt.X, nt.Is, nt.P, nt.Text
U_, W_ = rnn.U_, rnn.W_
XI = sp.MatrixSymbol("xi", N, 1)  # prints \vec{\xi}
DIGITS = 50


def eq(lhs, rhs) -> sp.Eq:
    return sp.Eq(lhs, rhs, evaluate=False)


def dec(value, places: int = 2) -> str:
    return nt.decimal_text(value, places)


def _ok(evidence: Evidence, detail: str) -> Outcome:
    return Outcome(True, evidence, detail)


def _fail(evidence: Evidence, detail: str) -> Outcome:
    return Outcome(False, evidence, detail)


def _close(a, b) -> bool:
    """Equal to 40 digits (values with nested exponentials are compared at 50)."""
    return abs(nt.numeric(sp.sympify(a) - b, DIGITS)) < sp.Float("1e-40", DIGITS)


def _explicit(formula: sp.Expr, size: int, xi: sp.Matrix, index: int) -> sp.Expr:
    """A displayed entry formula (``xi_j``, sums to N) at explicit size, index and entries ``xi``."""
    base = sp.IndexedBase("xi", real=True)
    expr = formula.subs({N: size, j: index}).doit()
    return expr.replace(lambda e: isinstance(e, sp.Indexed) and e.base == base,
                        lambda e: xi[int(e.indices[0]) - 1])


# ---- the worked example, computed once per build ---------------------------------------------------------------


class Example:
    """The lecture's example: the RNN's exact h_t, the exact filtering posterior, and the closed forms."""

    def __init__(self) -> None:
        self.model = pos_tagging.hmm()
        self.words = pos_tagging.SENTENCE
        self.xs = self.model.encode(list(self.words))
        self.steps = pos_tagging.worked_example(self.words)
        self.hs = [s.h for s in self.steps]
        self.posterior = pos_tagging.filtering(self.model, self.xs)
        self.forms = pos_tagging.closed_forms(self.steps)
        self.tags = pos_tagging.TAGS

    def top(self, vec: sp.Matrix) -> int:
        return pos_tagging.argmax(list(vec))

    def one_step_linearised(self) -> list[sp.Matrix]:
        """``softmax(U p_{t-1} + W x_t - 2)`` from the exact ``p_{t-1}`` (``U p_0`` read as pi)."""
        out = []
        for n, kk in enumerate(self.xs):
            carried = self.model.pi if n == 0 else self.model.U * self.posterior[n - 1]
            out.append(nonlinearities.softmax(carried + self.model.W[:, kk - 1], -2))
        return out


# ---- checks ----------------------------------------------------------------------------------------------------


def _flowgraph_instances() -> Iterator[Identity]:
    """exp(ln(U h) + ln(W x_k)) against belief propagation's multiply-add step, N=3, every observed k."""
    model = HMM.symbolic(3, 4)
    h = nt.entry_vector("h", 3)
    for kk in range(1, 5):
        lhs = ((model.U * h).applyfunc(sp.log) + (model.W * nt.one_hot(kk, 4)).applyfunc(sp.log)).applyfunc(sp.exp)
        yield Identity(lhs, belief_propagation.step(model, h, kk), "simplify", label=f"k={kk}")


def _symbolic_rnn(n: int, n_inputs: int, steps: int):
    U = nt.entry_matrix("u", n, n, positive=False)  # noqa: N806
    W = nt.entry_matrix("w", n, n_inputs, positive=False)  # noqa: N806
    h0 = sp.Matrix([nt.entry("h", r + 1, 0, positive=False) for r in range(n)])
    inputs = [sp.Matrix([nt.entry("x", r + 1, s, positive=False) for r in range(n_inputs)])
              for s in range(1, steps + 1)]
    return U, W, h0, inputs


def _causality(rng: random.Random) -> Outcome:
    """The unrolled general form: h_t is g(U h_{t-1}, W x_t) of the previous state and uses x_1..x_t only."""
    steps, n, n_inputs = 4, 2, 3
    U, W, h0, inputs = _symbolic_rnn(n, n_inputs, steps)  # noqa: N806
    g2 = rnn.generic_two("g")
    hs = rnn.unroll(U, W, h0, inputs, g2)
    for s, h in enumerate(hs, start=1):
        prev = h0 if s == 1 else hs[s - 2]
        if h != g2(U * prev, W * inputs[s - 1]):
            return _fail(Evidence.SYMBOLIC, f"h_{s} is not g(U h_{s - 1}, W x_{s})")
        used = {r for r, x in enumerate(inputs, start=1) if x.free_symbols & h.free_symbols}
        if used != set(range(1, s + 1)):
            return _fail(Evidence.SYMBOLIC, f"h_{s} depends on the inputs at times {sorted(used)}")
    return _ok(Evidence.SYMBOLIC, f"unrolled for T={steps} (N={n}, V+1={n_inputs}, an undefined g): each h_t is "
                                  "g(U h_{t-1}, W x_t) of the previous state, and depends on x_1..x_t and on no "
                                  "later input")


def _additive_instances() -> Iterator[Identity]:
    """The general form with g(a, b) = g(a + b) equals the additive RNN, for an undefined vector function g."""
    U, W, h0, inputs = _symbolic_rnn(3, 4, 3)  # noqa: N806
    g = nonlinearities.generic("g")
    general = rnn.unroll(U, W, h0, inputs, rnn.additive(g))
    additive = rnn.RNN(U, W, g, h0).run_inputs(inputs)
    for s, (a, b) in enumerate(zip(general, additive, strict=True), start=1):
        yield Identity(a, b, label=f"h_{s}")


def _table_check(rng: random.Random) -> Outcome:
    """Each table entry: the implementation equals the displayed formula (symbolic, N=3), SymPy equals NumPy at
    random points, and the exact Jacobian equals central finite differences of the NumPy form."""
    xi = sp.Matrix(sp.symbols("xi1:4", real=True))
    worst_value = worst_jac = 0.0
    for name, g in nonlinearities.TABLE.items():
        formula = g.entry_formula(j, N)
        got = g(xi)
        for n in range(3):
            if sp.simplify(got[n] - _explicit(formula, 3, xi, n + 1)) != 0:
                return _fail(Evidence.SYMBOLIC, f"{name}: entry {n + 1} differs from its formula")
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
        return _fail(Evidence.NUMERIC, f"NumPy differs from exact by {worst_value:.1e}; Jacobian check ratio "
                                       f"{worst_jac:.2f}")
    return _ok(Evidence.NUMERIC, f"{len(nonlinearities.TABLE)} entries: each equals its formula as algebra; "
                                 f"float64 NumPy within {worst_value:.0e} of exact; exact Jacobians agree with "
                                 "central differences (atol 1e-5, rtol 1e-3)")


def _lecture_g_instances() -> Iterator[Identity]:
    xi = sp.Matrix(sp.symbols("xi1:4", real=True))
    shown = nonlinearities.softmax(xi, -1)  # the displayed softmax_j(xi - 1), entry by entry
    formula = nonlinearities.TABLE["lecture"].entry_formula(j, N)
    got = nonlinearities.get("lecture")(xi)
    yield Identity(got, shown, "simplify", label="g(xi) = [softmax_j(xi - 1)]")
    yield Identity(got, sp.Matrix([_explicit(formula, 3, xi, n) for n in (1, 2, 3)]), "simplify",
                   label="softmax_j(xi - 1) = e^(xi_j - 1) / sum_i e^(xi_i - 1)")
    yield Identity(sp.Add(*got), sp.Integer(1), "simplify", label="the entries sum to 1")


def _softmax_of_logs(seed: int) -> Iterator[Identity]:
    """softmax(ln a + ln b) = (a * b) / sum(a * b), then on every HMM case: p_t by enumeration equals the softmax
    of ln(U p_{t-1}) + ln(W x_t) with p_{t-1} by enumeration (U p_0 read as pi)."""
    a, b = nt.entry_vector("a", 3), nt.entry_vector("b", 3)
    ab = a.multiply_elementwise(b)
    yield Identity(nonlinearities.softmax(a.applyfunc(sp.log) + b.applyfunc(sp.log)), ab / sp.Add(*ab), "simplify",
                   label="general N=3")
    for case in hmm_section.cases(seed):
        ctx = bayesnet.Context(case.model, case.xs)
        post = [sp.Matrix([bayesnet.probability(ctx, P([Is(Y(s), jj)], [nt.Span(1, s, states=False)]))
                           for jj in range(1, case.model.N + 1)]) for s in range(1, len(case.xs) + 1)]
        for s, kk in enumerate(case.xs, start=1):
            carried = case.model.pi if s == 1 else case.model.U * post[s - 2]
            z = carried.applyfunc(sp.log) + case.model.W[:, kk - 1].applyfunc(sp.log)
            rhs = nonlinearities.softmax(z).applyfunc(sp.expand_power_exp)  # e^(x+y) = e^x e^y, then cancel
            yield Identity(post[s - 1], rhs, "cancel", label=f"{case.label}, t={s}")


def _linearisation(example: Example) -> Callable[[random.Random], Outcome]:
    def run(rng: random.Random) -> Outcome:
        s = sp.Symbol("s", positive=True)
        first = sp.series(sp.log(s), s, 1, 2).removeO()
        a, b = nt.entry_vector("a", 3), nt.entry_vector("b", 3)
        exact = a.applyfunc(sp.log) + b.applyfunc(sp.log)
        linear = exact.applyfunc(lambda e: e.replace(sp.log, lambda arg: first.subs(s, arg)))
        if any(sp.expand(d) != 0 for d in linear - (a + b - 2 * sp.ones(3, 1))):
            return _fail(Evidence.SYMBOLIC, "the linearised logs are not U p + W x - 2")
        errors = [max(abs(nt.numeric(x - y, 30)) for x, y in zip(p, q, strict=True))
                  for p, q in zip(example.posterior, example.one_step_linearised(), strict=True)]
        worst = max(range(len(errors)), key=lambda n: errors[n])
        return _ok(Evidence.SYMBOLIC, "replacing each ln z by z - 1 turns ln(U p_{t-1}) + ln(W x_t) into "
                                      "U p_{t-1} + W x_t - 2 (as algebra, N=3). On the worked example, one step from "
                                      "the exact p_{t-1}, the largest error in a probability is "
                                      + ", ".join(f"{dec(e)} (t={n + 1})" for n, e in enumerate(errors))
                                      + f"; worst at t={worst + 1}")
    return run


def _shift_invariance() -> Identity:
    xi = sp.IndexedBase("xi", real=True)
    c = sp.Symbol("c", real=True)
    lhs = sp.exp(xi[j] + c) / sp.Sum(sp.exp(xi[i] + c), (i, 1, N))
    rhs = sp.exp(xi[j]) / sp.Sum(sp.exp(xi[i]), (i, 1, N))
    return Identity(lhs, rhs, "simplify", label="general N")


def _rnn_from_bp(example: Example) -> Computation:
    def run(rng: random.Random) -> Outcome:
        xi = sp.Matrix(sp.symbols("xi1:4", real=True))
        lecture_g, plain = nonlinearities.get("lecture"), nonlinearities.get("softmax")
        for lhs, rhs, what in ((nonlinearities.softmax(xi, -2), lecture_g(xi), "softmax(xi - 2) = g(xi)"),
                               (lecture_g(xi), plain(xi), "softmax(xi - 1) = softmax(xi)")):
            if any(sp.simplify(d) != 0 for d in lhs - rhs):
                return _fail(Evidence.SYMBOLIC, f"{what} does not simplify to an identity")
        other = pos_tagging.network("softmax").run(example.xs, digits=DIGITS + 10)
        for s, (a, b) in enumerate(zip(example.hs, other, strict=True), start=1):
            if not all(_close(x, y) for x, y in zip(a, b, strict=True)):
                return _fail(Evidence.EXACT, f"h_{s} with softmax(xi) differs from h_{s} with softmax(xi - 1)")
        return _ok(Evidence.SYMBOLIC, "softmax(xi - 2) = softmax(xi - 1) = softmax(xi) as algebra (N=3); on the "
                                      f"worked example the RNN with plain softmax gives the same h_1..h_"
                                      f"{len(other)} (to {DIGITS} digits)")
    return Computation(run, "shift of the lecture's g")


def _x_definition_value(display: sp.Matrix, word: str) -> sp.Matrix:
    """The displayed ``[1 if X_t = w_1; ...]`` evaluated for an observed word: 1 where the named word matches."""
    return display.applyfunc(lambda e: sp.Integer(1 if e.event.value.name == word else 0))


def _x_definition(display: sp.Matrix, model: HMM) -> Computation:
    def run(rng: random.Random) -> Outcome:
        for word in model.vocabulary:
            (kk,) = model.encode([word])
            if nt.one_hot(kk, model.n_symbols) != _x_definition_value(display, word):
                return _fail(Evidence.EXACT, f"{word}: the encoder's one-hot vector differs from the definition")
        return _ok(Evidence.EXACT, f"for each of the {len(model.vocabulary)} words, the encoder's one-hot vector is "
                                   "1 exactly in the row the definition names")
    return Computation(run, "one-hot encoding vs the definition")


def _observations(example: Example, display: sp.Matrix) -> Computation:
    def run(rng: random.Random) -> Outcome:
        for s, (word, step) in enumerate(zip(example.words, example.steps, strict=True), start=1):
            if step.x != _x_definition_value(display, word):
                return _fail(Evidence.EXACT, f"x_{s} is not the one-hot vector of {word!r}")
            if example.model.W * step.x != example.model.W[:, step.k - 1]:
                return _fail(Evidence.EXACT, f"W x_{s} is not column {step.k} of W")
        return _ok(Evidence.EXACT, f"each x_t is the one-hot vector of word t with {example.model.n_symbols} entries "
                                   "(one per column of W), and W x_t picks that word's column")
    return Computation(run, "observation vectors")


def _posterior_display_values(display: sp.Matrix, example: Example, s: int) -> sp.Matrix:
    """The displayed ``[P(Y_t = Det | X_1..X_t); ...]`` at t = s, each probability by enumeration."""
    ctx = bayesnet.Context(example.model, tuple(example.xs[:s]))
    names = {Text(tag): sp.Integer(n) for n, tag in enumerate(example.tags, start=1)}  # tags -> state indices
    return display.applyfunc(lambda e: bayesnet.probability(ctx, e.xreplace(names).subs(t, s)))


def _approximates(example: Example, display: sp.Matrix) -> Computation:
    def run(rng: random.Random) -> Outcome:
        diffs = []
        for s, h in enumerate(example.hs, start=1):
            p = _posterior_display_values(display, example, s)
            if example.top(h) != example.top(p):
                return _fail(Evidence.EXACT, f"t={s}: the RNN's largest entry is "
                                             f"{example.tags[example.top(h)]}, the posterior's "
                                             f"{example.tags[example.top(p)]}")
            diffs.append(max(abs(nt.numeric(a - b, 30)) for a, b in zip(h, p, strict=True)))
        tags = ", ".join(example.tags[example.top(h)] for h in example.hs)
        return _ok(Evidence.EXACT, f"on the worked example, with each P(Y_t = tag | X_1, ..., X_t) computed by "
                                   f"enumerating state sequences: the RNN's largest entry picks the posterior's "
                                   f"tag at every t ({tags}); the entries differ by up to "
                                   f"{dec(max(diffs))} (see the exact comparison below)")
    return Computation(run, "RNN h_t vs the exact posterior")


def _weights(example: Example, which: str) -> Computation:
    def run(rng: random.Random) -> Outcome:
        model = example.model
        m = model.U if which == "U" else model.W
        if nt.factored(m).as_explicit() != m:
            return _fail(Evidence.EXACT, f"the factored {which} is not the model's matrix")
        dists = [m[:, c] for c in range(m.cols)] if which == "U" else [m[r, :] for r in range(m.rows)]
        if not all(sp.Add(*d) == 1 and all(v >= 0 for v in d) for d in dists):
            return _fail(Evidence.EXACT, f"a {'column' if which == 'U' else 'row'} of {which} is not a distribution")
        ctx = bayesnet.Context(model, tuple(example.xs))
        if which == "U":
            pairs = [(nt.u(a, b), P([Is(Y(2), a)], [Is(Y(1), b)])) for a in range(1, model.N + 1)
                     for b in range(1, model.N + 1)]
            what = "u_{j,i} = P(Y_2 = j | Y_1 = i)"
        else:
            pairs = [(nt.w(a, b), P([Is(X(1), b)], [Is(Y(1), a)])) for a in range(1, model.N + 1)
                     for b in range(1, model.n_symbols + 1)]
            what = "w_{j,k} = P(X_1 = k | Y_1 = j)"
        for lhs, rhs in pairs:
            if bayesnet.evaluate(lhs, ctx) != bayesnet.evaluate(rhs, ctx):
                return _fail(Evidence.EXACT, f"{lhs} differs from {rhs}")
        return _ok(Evidence.EXACT, f"the factored form is the model's exact matrix; its "
                                   f"{'columns' if which == 'U' else 'rows'} are distributions; {what} for every "
                                   f"entry, by enumeration on the example's HMM")
    return Computation(run, f"the example's {which}")


def _worked_line_check(example: Example, s: int) -> Computation:
    def run(rng: random.Random) -> Outcome:
        step = example.steps[s - 1]
        net = pos_tagging.network()
        if step.h != net.step(step.h_prev, step.x):
            return _fail(Evidence.EXACT, f"h_{s} is not g(U h_{s - 1} + W x_{s})")
        # an independent float64 recomputation of the whole sequence up to t = s
        Uf = np.array(example.model.U.tolist(), dtype=float)  # noqa: N806
        Wf = np.array(example.model.W.tolist(), dtype=float)  # noqa: N806
        h = np.zeros(example.model.N)
        for kk in example.xs[:s]:
            z = Uf @ h + Wf[:, kk - 1] - 1.0
            h = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        err = float(np.max(np.abs(h - np.array([float(nt.numeric(v, 20)) for v in step.h]))))
        if err > 1e-12:
            return _fail(Evidence.NUMERIC, f"float64 recomputation differs by {err:.1e}")
        pre = ", ".join(dec(v, 4) for v in step.preactivation)
        shown = ", ".join(dec(v, 4) for v in step.h)
        return _ok(Evidence.EXACT, f"exact step from the exact h_{s - 1}; U h_{s - 1} + W x_{s} = [{pre}], "
                                   f"h_{s} = [{shown}] (4 decimals); a float64 recomputation agrees to {err:.0e}")
    return Computation(run, f"h_{s}")


def _closed_form_check(example: Example, s: int) -> Computation:
    def run(rng: random.Random) -> Outcome:
        expanded = pos_tagging.expand_closed_forms(example.forms[:s])[-1]
        bad = [n + 1 for n, (a, b) in enumerate(zip(expanded, example.hs[s - 1], strict=True)) if not _close(a, b)]
        if bad:
            return _fail(Evidence.EXACT, f"entries {bad} of the closed form differ from h_{s}")
        if sp.simplify(sp.Add(*example.forms[s - 1].h)) != 1:
            return _fail(Evidence.SYMBOLIC, "the closed form does not sum to 1")
        return _ok(Evidence.EXACT, f"with every Delta replaced by its value, equal to the RNN's exact h_{s} to "
                                   f"{DIGITS} digits; the entries sum to 1 as algebra")
    return Computation(run, f"closed form of h_{s}")


def _reading_check(example: Example, s: int) -> Computation:
    def run(rng: random.Random) -> Outcome:
        h, p = example.hs[s - 1], example.posterior[s - 1]
        jj = example.top(h)
        if jj != example.top(p):
            return _fail(Evidence.EXACT, f"the RNN picks {example.tags[jj]}, the exact posterior "
                                         f"{example.tags[example.top(p)]}")
        return _ok(Evidence.EXACT, f"{example.tags[jj]} is h_{s}'s largest entry, {dec(h[jj], 4)}, and also the "
                                   f"exact posterior's choice, P = {dec(p[jj], 4)}")
    return Computation(run, f"reading of h_{s}")


def _posterior_brute_force(example: Example) -> Computation:
    def run(rng: random.Random) -> Outcome:
        model = example.model
        for s in range(1, len(example.xs) + 1):
            xs = example.xs[:s]
            marg = [sp.Integer(0)] * model.N
            for y in paths(model.N, s):
                marg[y[-1] - 1] += joint(model, y, xs)
            total = sp.Add(*marg)
            if sp.Matrix(marg) / total != example.posterior[s - 1]:
                return _fail(Evidence.EXACT, f"t={s}: belief propagation differs from enumeration")
        return _ok(Evidence.EXACT, f"normalised belief propagation equals the sum over all {model.N}^t state "
                                   "sequences of the joint probability, exactly, at every t (pi uniform)")
    return Computation(run, "filtering posterior vs brute-force enumeration")


def _confidence(example: Example) -> Computation:
    def run(rng: random.Random) -> Outcome:
        parts = []
        for s, (word, h, p) in enumerate(zip(example.words, example.hs, example.posterior, strict=True), start=1):
            jj = example.top(p)
            if example.top(h) != jj:
                return _fail(Evidence.EXACT, f"t={s}: the RNN picks another tag")
            loss = nt.numeric(p[jj] - h[jj], 30)
            if not loss > 0:
                return _fail(Evidence.EXACT, f"t={s}: the RNN is not less confident")
            parts.append(f"{word} ({example.tags[jj]}): {dec(p[jj])} exact, {dec(h[jj])} RNN, {dec(loss)} lost")
        return _ok(Evidence.EXACT, "the RNN picks the exact tag at every t and is less confident every time: "
                                   + "; ".join(parts))
    return Computation(run, "confidence lost")


def _ceiling(example: Example) -> Computation:
    def run(rng: random.Random) -> Outcome:
        bound = sp.exp(2) / (sp.exp(2) + N - 1)
        for n in range(2, 6):  # the bound is attained at the corner (2, 0, ..., 0)
            corner = nonlinearities.softmax(sp.Matrix([2] + [0] * (n - 1)))[0]
            if sp.simplify(corner - bound.subs(N, n)) != 0:
                return _fail(Evidence.SYMBOLIC, f"N={n}: the corner value is not the bound")
            for _ in range(10):
                point = sp.Matrix([sp.Rational(rng.randint(0, 200), 100) for _ in range(n)])
                if max(nt.numeric(v, 30) for v in nonlinearities.softmax(point)) > sp.N(bound.subs(N, n), 30):
                    return _fail(Evidence.EXACT, f"N={n}: softmax{list(point)} exceeds the bound")
        for s, step in enumerate(example.steps, start=1):
            if not all(0 <= nt.numeric(v, 30) <= 2 for v in step.preactivation):
                return _fail(Evidence.EXACT, f"t={s}: a pre-activation lies outside [0, 2]")
        value = bound.subs(N, example.model.N)
        top = max(max(nt.numeric(v, 30) for v in h) for h in example.hs)
        exact_top = max(max(p) for p in example.posterior)
        return _ok(Evidence.EXACT, f"attained at xi = (2, 0, ..., 0) for N = 2..5 and never exceeded at 40 random "
                                   f"points of [0, 2]^N; on the example every pre-activation lies in [0, 2]. For "
                                   f"N = 3 the ceiling is {dec(value, 3)}: the RNN's largest h_(j,t) is "
                                   f"{dec(top, 3)}, while the exact posterior reaches {dec(exact_top, 3)}")
    return Computation(run, "confidence ceiling")


def _taylor_log(z: sp.Symbol, order: int) -> sp.Expr:
    """``ln z`` as its Taylor series at 1 in powers of ``(z - 1)``, kept in that order for display."""
    s = sp.Symbol("s")
    series = sp.series(sp.log(1 + s), s, 0, order).removeO()
    terms: list[sp.Expr] = []
    for n in range(1, order):
        c = series.coeff(s, n)
        if n == 1:
            terms += [c * z, -c]  # (z - 1) written z - 1
        elif c != 0:
            terms.append(sp.Mul(c, sp.Pow(z - 1, n, evaluate=False), evaluate=False))
    return sp.Add(*terms, sp.Order((z - 1) ** order, (z, 1)), evaluate=False)


# ---- notes generated from the computation ----------------------------------------------------------------------


def _line_notes(example: Example) -> dict[int, str]:
    h, w = example.hs, example.model.W
    noun = pos_tagging.TAGS.index("Noun")
    return {
        1: (f"Two differences. The lecture's W has five entries in its first row; W is {w.rows} x {w.cols} (one "
            "column per vocabulary word) and symrnn prints it as the model holds it. The lecture rounds h_(2,1) "
            f"down: computed, h_(2,1) = {dec(h[0][noun], 4)}, which rounds to {dec(h[0][noun])}."),
        2: (f"The lecture carries h_1 into this line with its second entry one hundredth lower (see h_1); symrnn "
            f"shows the computed h_1, rounded. The result, h_2 = [{', '.join(dec(v) for v in h[1])}], is the same."),
        4: ("The lecture's line is garbled: its x_4 has a row of W spliced into it and is followed by a stray "
            f"column of zeros, and its h_4 has four entries, though there are {len(example.tags)} tags. Computed, x_4 "
            f"is the one-hot vector of '{example.words[3]}' ({w.cols} entries) and "
            f"h_4 = [{', '.join(dec(v) for v in h[3])}], which agrees "
            "with the lecture's own reading P(Y_4 = Noun | ...) below."),
    }


def _reading_notes(example: Example) -> dict[int, str]:
    noun = pos_tagging.TAGS.index("Noun")
    return {1: f"The lecture's value is one hundredth lower: computed, h_(2,1) = {dec(example.hs[0][noun], 4)}, "
               f"which rounds to {dec(example.hs[0][noun])}."}


# ---- the derivation --------------------------------------------------------------------------------------------


def derivation(seed: int = 0) -> Derivation:
    """The section's steps: the lecture's RNN and example, then the derivation from belief propagation."""
    ex = Example()
    h_t, h_prev, x_t = nt.Vec("h", t, N), nt.Vec("h", t - 1, N), nt.Vec("x", t, V + 1)
    p_t, p_prev = nt.Vec("p", t, N), nt.Vec("p", t - 1, N)
    vocab, tags = ex.model.vocabulary, ex.tags
    x_display = sp.ImmutableMatrix([nt.OneIf(Is(X(t), Text(w))) for w in vocab])
    posterior_display = sp.ImmutableMatrix([P([Is(Y(t), Text(tag))], [nt.Span(1, t, states=False)]) for tag in tags])
    g_lecture = nonlinearities.get("lecture")
    line_notes, reading_notes = _line_notes(ex), _reading_notes(ex)
    p_jt = P([Is(Y(t), j)], [nt.Span(1, t, states=False)])
    log_vec = nt.elementwise(sp.log, U_ * p_prev) + nt.elementwise(sp.log, W_ * x_t)
    z = sp.Symbol("z", positive=True)
    w_min = min(ex.model.W)
    table = [eq(nt.FunctionEntry(g.display_name or g.name, j, XI), g.entry_formula(j, N))
             for g in nonlinearities.TABLE.values()]

    steps = [
        Step("flowgraph", "Belief propagation as a flowgraph",
             eq(h_t, nt.elementwise(sp.exp, nt.elementwise(sp.log, U_ * h_prev) + nt.elementwise(sp.log, W_ * x_t))),
             "The HMM section's log belief propagation, read as a network: the new state is a fixed function of the "
             "previous state and the current input. Checked against belief propagation's multiply-add step.",
             Instances(_flowgraph_instances, "N=3, every observed k"),
             lecture="Into a neural network with this flowgraph",
             lecture_note="The lecture writes \\ln U\\vec{h}_{t-1}: the logarithm is of the vector U h_{t-1}, "
                          "entrywise, not of the matrix U; symrnn prints the parentheses."),
        Step("update", "The recurrent neural network",
             rnn.update(form="general"),
             "An RNN's hidden state at time t is a function g of the previous hidden state, through U, and of the "
             "current input, through W. Unrolled over a sequence, h_t depends on x_1, ..., x_t only. The lecture "
             "calls g a scalar nonlinearity; its own choice below (softmax) acts on the whole vector.",
             Computation(_causality, "unrolled general form"),
             lecture="hidden nodes at time t-1:"),
        Step("update-additive", "The additive form",
             rnn.update(),
             "The usual RNN adds the two contributions before the nonlinearity: the general form with "
             "g(a, b) = g(a + b).",
             Instances(_additive_instances, "T=3, N=3, V+1=4, undefined vector function g"),
             lecture="Remember that a normal RNN computes"),
        Step("nonlinearities", "Nonlinearities",
             tuple(table),
             "The table symrnn uses here and in training (BPTT) and the LSTM: the lecture's g(xi) = "
             "softmax(xi - 1), softmax, tanh and the logistic sigmoid entrywise, and the identity (a linear RNN); "
             "a user may add an entrywise function given as a SymPy expression.",
             Computation(_table_check, "nonlinearity table")),
        Step("x-definition", "The input vector of the example",
             eq(nt.Vec("x", t, V + 1), x_display),
             f"One entry per vocabulary word, in the order [{', '.join(vocab)}]; the example's W has no column for "
             "words outside the vocabulary.",
             _x_definition(x_display, ex.model),
             lecture=r"\vec{x}_t = \begin{bmatrix} 1 \text{ if }"),
        Step("observations", "The observation sequence",
             tuple(eq(nt.Vec("x", st.t, V + 1), sp.ImmutableMatrix(st.x)) for st in ex.steps),
             f"The sentence \"{' '.join(ex.words)}\", one one-hot vector per word.",
             _observations(ex, x_display),
             lecture="so the observation sequence is",
             lecture_note="The lecture prints x_4 with five entries; with four vocabulary words and no "
                          "out-of-vocabulary column, x_4 (the word 'ball', first in the vocabulary) has four."),
        Step("h-approximates", "What h_t approximates",
             nt.Chain([h_t, nt.Applied("g", U_ * h_prev + W_ * x_t), posterior_display], ["=", "approx"]),
             "The hidden state is meant to be the filtering posterior: the probability of each tag given the words "
             "so far. Why this holds only approximately is derived below.",
             _approximates(ex, posterior_display),
             lecture=r"\vec{h}_t = g(U\vec{h}_{t-1} + W\vec{x}_t) \approx"),
        Step("g-definition", "The lecture's nonlinearity",
             (eq(nt.Applied("g", XI), sp.ImmutableMatrix([nt.FunctionEntry("softmax", n, nt.VecShift(XI, -1))
                                                          for n in range(1, len(tags) + 1)])),
              eq(nt.FunctionEntry("softmax", j, nt.VecShift(XI, -1)), g_lecture.entry_formula(j, N))),
             "A softmax of the pre-activation shifted down by 1. The shift changes nothing (shown below); the "
             "entries are positive and sum to 1, so h_t can be read as a distribution over tags.",
             Instances(_lecture_g_instances, "N=3"),
             lecture=r"g(\vec{\xi}) = "),
        Step("weights-U", "The example's transition matrix",
             (nt.Approx(h_t, posterior_display), eq(nt.u(j, i), P([Is(Y(t), j)], [Is(Y(t - 1), i)])),
              eq(U_, nt.factored(ex.model.U))),
             "Read as an HMM: a determiner is usually followed by a noun, a noun by a verb, a verb by a "
             "determiner.",
             _weights(ex, "U"),
             lecture="reasonable weight matrices might be"),
        Step("weights-W", "The example's observation matrix",
             (eq(nt.Vec("x", t, V + 1), x_display), eq(nt.w(j, k), P([Is(X(t), k)], [Is(Y(t), j)])),
              eq(W_, nt.factored(ex.model.W))),
             "Row j is the distribution of the word given the tag: 'the' is a determiner, 'hit' a verb, 'ball' and "
             "'John' nouns.",
             _weights(ex, "W"),
             lecture=r"\vec{x}_{t} = \begin{bmatrix} 1 \text{ if } X_{t}"),
    ]
    for st, form in zip(ex.steps, ex.forms, strict=True):
        s = st.t
        steps.append(Step(
            f"h{s}", f"The worked example: h_{s}",
            pos_tagging.worked_line(st),
            "Computed exactly from the previous exact state; every number is shown rounded to two decimals."
            + (" Since h_0 = 0, U h_0 is the zero vector." if s == 1 else ""),
            _worked_line_check(ex, s),
            lecture=rf"\vec{{h}}_{{{s}}} = g(U\vec{{h}}_{{{s - 1}}}", lecture_note=line_notes.get(s, "")))
        defs = tuple(eq(sym, expr) for sym, expr in form.definitions)
        steps.append(Step(
            f"h{s}-exact", f"h_{s} exactly",
            (eq(nt.Vec("h", s, N), form.display()), *defs),
            "In powers of e. Softmax ignores a constant added to every entry, so each h_t is written with its "
            "smallest pre-activation subtracted; an exponent that is not a rational number gets a name, defined "
            "from the previous step's." if s == 1 else
            f"The exponent is defined from h_{s - 1}'s, so the closed form never nests.",
            _closed_form_check(ex, s)))
    interpretation = sp.ImmutableMatrix([p_jt.subs(j, n) for n in range(1, len(tags) + 1)])
    steps.append(Step(
        "interpretation", "Reading h_t as probabilities",
        nt.Approx(nt.h(j, t), p_jt),
        "Entry j of the RNN's state is read as the filtering probability of tag j (here h_{j,t} is the RNN's, "
        "not belief propagation's).",
        _approximates(ex, interpretation),
        lecture="If we interpret"))
    for s in range(1, len(ex.steps) + 1):
        steps.append(Step(
            f"reading-{s}", f"Reading h_{s}",
            pos_tagging.reading(ex.steps, s),
            "The largest entry of h_t, read as the probability of its tag.",
            _reading_check(ex, s),
            lecture=rf"P(Y_{s} = \text", lecture_note=reading_notes.get(s, "")))
    steps += [
        Step("posterior-normalise", "From belief propagation to the filtering posterior",
             nt.Chain([sp.IndexedBase("p")[j, t], p_jt,
                       nt.h(j, t) / nt.StateSum(nt.h(i, t), i)], ["=", "="]),
             "Belief propagation's h_{j,t} is the joint probability P(..., Y_t = j, X_t); dividing by its sum over "
             "j conditions on the observations. (In this derivation h_{j,t} is belief propagation's, as in the "
             "HMM section; the RNN's state approximates p_t.)",
             hmm_section.instances(p_jt, nt.h(j, t) / nt.StateSum(nt.h(i, t), i), hmm_section.over("t", "j"),
                                   description="every t, j on the HMM section's cases", seed=seed)),
        Step("posterior-softmax", "The filtering posterior is a softmax of log belief propagation",
             eq(p_t, nt.Applied("softmax", log_vec)),
             "Normalising exp(ln(U p_{t-1}) + ln(W x_t)) is a softmax, and starting from the normalised p_{t-1} "
             "instead of h_{t-1} only scales U p_{t-1}, which the normalisation removes. At t = 1, U p_0 is read "
             "as the initial distribution pi.",
             Instances(lambda: _softmax_of_logs(seed), "the identity for N=3, and every t on the HMM section's "
                                                       "cases")),
        Step("log-linear", "Linearising the logarithm",
             nt.Chain([sp.log(z), _taylor_log(z, 3), z - 1], ["=", "approx"]),
             "The first-order Taylor term of ln z at z = 1.",
             Instances(lambda: [Identity(_taylor_log(z, 3).removeO(), sp.series(sp.log(z), z, 1, 3).removeO(),
                                         label="the series shown"),
                                Identity(sp.series(sp.log(z), z, 1, 2).removeO(), z - 1, label="first-order term")],
                       "the displayed series, and its first-order term")),
        Step("linearised", "The linearised posterior",
             nt.Approx(p_t, nt.Applied("softmax", nt.VecShift(U_ * p_prev + W_ * x_t, -2))),
             "Replace each logarithm by its linear term. The probabilities here are far from 1 (a word's "
             f"probability under a tag can be {dec(w_min)}, whose logarithm is {dec(sp.log(w_min), 1)} but whose "
             f"linear term is {dec(w_min - 1)}), so the approximation compresses the evidence.",
             Computation(_linearisation(ex), "linearisation")),
        Step("shift-invariance", "Softmax ignores a constant shift",
             eq(nt.FunctionEntry("softmax", j, nt.VecShift(XI, sp.Symbol("c", real=True))),
                nt.FunctionEntry("softmax", j, XI)),
             "e^{xi_j + c} = e^c e^{xi_j}, and the common factor e^c cancels between numerator and sum: true for "
             "every N and every real c.",
             _shift_invariance()),
        Step("rnn-from-bp", "The RNN is linearised log belief propagation",
             (eq(nt.Applied("softmax", nt.VecShift(U_ * p_prev + W_ * x_t, -2)),
                 nt.Applied("g", U_ * p_prev + W_ * x_t)),
              eq(nt.FunctionEntry("softmax", j, nt.VecShift(XI, -1)), nt.FunctionEntry("softmax", j, XI))),
             "By shift invariance, softmax(xi - 2) = softmax(xi - 1) = g(xi): feeding back its own h_{t-1} in place "
             "of the exact p_{t-1}, the network h_t = g(U h_{t-1} + W x_t) is linearised log belief propagation. "
             "The lecture's -1 changes nothing: plain softmax gives the same h_t.",
             _rnn_from_bp(ex)),
        Step("posterior-example", "The exact answer on the example",
             tuple(eq(nt.Vec("p", s, N), sp.ImmutableMatrix(p)) for s, p in enumerate(ex.posterior, start=1)),
             "The filtering posterior P(Y_t | X_1, ..., X_t) of the HMM with the same U and W and a uniform "
             "initial distribution, by belief propagation normalised at every t.",
             _posterior_brute_force(ex)),
        Step("confidence", "The RNN beside the exact posterior",
             (nt.Approx(sp.BlockMatrix([[nt.Vec("p", s, N) for s in range(1, len(ex.steps) + 1)]]),
                        nt.rounded(sp.Matrix.hstack(*ex.posterior))),
              nt.Approx(sp.BlockMatrix([[nt.Vec("h", s, N) for s in range(1, len(ex.steps) + 1)]]),
                        nt.rounded(sp.Matrix.hstack(*ex.hs)))),
             "Column t is word t; rows are Det, Noun, Verb. The lecture says the RNN \"loses some confidence\": "
             "the check below says by how much.",
             _confidence(ex)),
        Step("ceiling", "Why the RNN cannot be confident",
             sp.Le(nt.StateMax(nt.h(j, t), j), sp.exp(2) / sp.Add(sp.exp(2), N, -1, evaluate=False), evaluate=False),
             "With U's columns and W's rows distributions and h_{t-1} a distribution (or 0), every entry of "
             "U h_{t-1} lies in [0, 1] and every entry of W x_t in [0, 1], so the pre-activation lies in [0, 2]^N. "
             "A softmax entry is 1 / (1 + sum_{i != j} e^{xi_i - xi_j}) with each exponent at least -2: a ceiling "
             "that linearisation imposes and exact belief propagation does not have.",
             _ceiling(ex)),
    ]
    return Derivation("rnn", "Recurrent neural networks", INTRO, steps, notes=_notes(ex))


def _notes(example: Example) -> tuple[str, ...]:
    noun = pos_tagging.TAGS.index("Noun")
    return (
        "Differences from the lecture's printed example, found by recomputing it: the first worked line's W has "
        "an extra entry in its first row; h_(2,1) is printed one hundredth low (computed "
        f"{dec(example.hs[0][noun], 4)}, which rounds to {dec(example.hs[0][noun])}), both in h_1's line, carried "
        "into h_2's line and in the reading P(Y_1 = Noun | X_1 = John); x_4 is printed with five entries in the "
        "observation sequence; h_4's line is garbled (a row of W inside x_4, a stray zero column, and four "
        "entries in h_4).",
    )


INTRO = (
    "A recurrent neural network keeps a hidden state h_t that depends on the previous state and the current "
    "input. The lecture builds one that imitates the HMM's belief propagation on a part-of-speech example; symrnn "
    "recomputes that example exactly, compares it with the exact HMM posterior, and derives why the network is "
    "an approximation: it is log belief propagation with the logarithm linearised, ln z ~ z - 1."
)
