"""Checks of section ``rnn``'s worked example: the displays read back as the example's model and words, each line
recomputed exactly (and in float64), the closed forms, the readings, and the exact posterior beside the RNN."""

from __future__ import annotations

import random

import numpy as np
import sympy as sp

from symrnn import notation as nt
from symrnn.core.derivation import Computation, Evidence, Outcome
from symrnn.latex.printer import latex
from symrnn.lecture25.common import dec, fail, ok
from symrnn.lecture25.rnn.checks import DIGITS, close
from symrnn.lecture25.rnn.example import Example
from symrnn.models import bayesnet, pos_tagging
from symrnn.models.hmm import HMM, joint, paths

t = nt.t
Y, X, Is, P, Text = nt.Y, nt.X, nt.Is, nt.P, nt.Text


def _x_definition_value(display: sp.Matrix, word: str) -> sp.Matrix:
    """The displayed ``[1 if X_t = w_1; ...]`` evaluated for an observed word: 1 where the named word matches."""
    return display.applyfunc(lambda e: sp.Integer(1 if e.event.value.name == word else 0))


def x_definition(display: sp.Matrix, model: HMM) -> Computation:
    """The encoder's one-hot vector of each word against the displayed definition."""
    def run(rng: random.Random) -> Outcome:
        for word in model.vocabulary:
            (kk,) = model.encode([word])
            if nt.one_hot(kk, model.n_symbols) != _x_definition_value(display, word):
                return fail(Evidence.EXACT, f"{word}: the encoder's one-hot vector differs from the definition")
        return ok(Evidence.EXACT, f"for each of the {len(model.vocabulary)} words, the encoder's one-hot vector is "
                                   "1 exactly in the row the definition names")
    return Computation(run, "one-hot encoding vs the definition")


def observations(example: Example, display: sp.Matrix) -> Computation:
    """Each x_t is the one-hot vector of word t, and W x_t picks its column."""
    def run(rng: random.Random) -> Outcome:
        for s, (word, step) in enumerate(zip(example.words, example.steps, strict=True), start=1):
            if step.x != _x_definition_value(display, word):
                return fail(Evidence.EXACT, rf"$\vec{{x}}_{s}$ is not the one-hot vector of {word!r}")
            if example.model.W * step.x != example.model.W[:, step.k - 1]:
                return fail(Evidence.EXACT, rf"$W\vec{{x}}_{s}$ is not column {step.k} of $W$")
        return ok(Evidence.EXACT, rf"each $\vec{{x}}_t$ is the one-hot vector of word $t$ with "
                                   rf"{example.model.n_symbols} entries (one per column of $W$), and $W\vec{{x}}_t$ "
                                   "picks that word's column")
    return Computation(run, "observation vectors")


def _posterior_display_values(display: sp.Matrix, example: Example, s: int) -> sp.Matrix:
    """The displayed ``[P(Y_t = Det | X_1..X_t); ...]`` at t = s, each probability by enumeration."""
    ctx = bayesnet.Context(example.model, tuple(example.xs[:s]))
    names = {Text(tag): sp.Integer(n) for n, tag in enumerate(example.tags, start=1)}  # tags -> state indices
    return display.applyfunc(lambda e: bayesnet.probability(ctx, e.xreplace(names).subs(t, s)))


def approximates(example: Example, display: sp.Matrix) -> Computation:
    """The RNN's largest entry picks the posterior's tag at every t (posterior by enumeration)."""
    def run(rng: random.Random) -> Outcome:
        diffs = []
        for s, h in enumerate(example.hs, start=1):
            p = _posterior_display_values(display, example, s)
            if example.top(h) != example.top(p):
                return fail(Evidence.EXACT, f"t={s}: the RNN's largest entry is "
                                             f"{example.tags[example.top(h)]}, the posterior's "
                                             f"{example.tags[example.top(p)]}")
            diffs.append(max(abs(nt.numeric(a - b, 30)) for a, b in zip(h, p, strict=True)))
        tags = ", ".join(example.tags[example.top(h)] for h in example.hs)
        return ok(Evidence.EXACT, r"on the worked example, with each $P(Y_t = \text{tag} | X_1, \dots, X_t)$ "
                                   "computed by enumerating state sequences: the RNN's largest entry picks the "
                                   f"posterior's tag at every $t$ ({tags}); the entries differ by up to "
                                   f"{dec(max(diffs))} (see the exact comparison below)")
    return Computation(run, r"RNN $\vec{h}_t$ vs the exact posterior")


def weights(example: Example, which: str) -> Computation:
    """The example's U or W: the factored display, its distributions, and their meaning by enumeration."""
    def run(rng: random.Random) -> Outcome:
        model = example.model
        m = model.U if which == "U" else model.W
        if nt.factored(m).as_explicit() != m:
            return fail(Evidence.EXACT, f"the factored ${which}$ is not the model's matrix")
        dists = [m[:, c] for c in range(m.cols)] if which == "U" else [m[r, :] for r in range(m.rows)]
        if not all(sp.Add(*d) == 1 and all(v >= 0 for v in d) for d in dists):
            return fail(Evidence.EXACT, f"a {'column' if which == 'U' else 'row'} of ${which}$ is not a distribution")
        ctx = bayesnet.Context(model, tuple(example.xs))
        if which == "U":
            pairs = [(nt.u(a, b), P([Is(Y(2), a)], [Is(Y(1), b)])) for a in range(1, model.N + 1)
                     for b in range(1, model.N + 1)]
            what = "$u_{j,i} = P(Y_2 = j | Y_1 = i)$"
        else:
            pairs = [(nt.w(a, b), P([Is(X(1), b)], [Is(Y(1), a)])) for a in range(1, model.N + 1)
                     for b in range(1, model.n_symbols + 1)]
            what = "$w_{j,k} = P(X_1 = k | Y_1 = j)$"
        for lhs, rhs in pairs:
            if bayesnet.evaluate(lhs, ctx) != bayesnet.evaluate(rhs, ctx):
                return fail(Evidence.EXACT, f"${latex(lhs)}$ differs from ${latex(rhs)}$")
        return ok(Evidence.EXACT, f"the factored form is the model's exact matrix; its "
                                   f"{'columns' if which == 'U' else 'rows'} are distributions; {what} for every "
                                   f"entry, by enumeration on the example's HMM")
    return Computation(run, f"the example's ${which}$")


def worked_line_check(example: Example, s: int) -> Computation:
    """Worked line s: one exact step from h_{s-1}, and an independent float64 recomputation."""
    def run(rng: random.Random) -> Outcome:
        step = example.steps[s - 1]
        net = pos_tagging.network()
        if step.h != net.step(step.h_prev, step.x):
            return fail(Evidence.EXACT, rf"$\vec{{h}}_{s}$ is not $g(U\vec{{h}}_{s - 1} + W\vec{{x}}_{s})$")
        # an independent float64 recomputation of the whole sequence up to t = s
        Uf = np.array(example.model.U.tolist(), dtype=float)  # noqa: N806
        Wf = np.array(example.model.W.tolist(), dtype=float)  # noqa: N806
        h = np.zeros(example.model.N)
        for kk in example.xs[:s]:
            z = Uf @ h + Wf[:, kk - 1] - 1.0
            h = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        err = float(np.max(np.abs(h - np.array([float(nt.numeric(v, 20)) for v in step.h]))))
        if err > 1e-12:
            return fail(Evidence.NUMERIC, f"float64 recomputation differs by {err:.1e}")
        pre = ", ".join(dec(v, 4) for v in step.preactivation)
        shown = ", ".join(dec(v, 4) for v in step.h)
        return ok(Evidence.EXACT, rf"exact step from the exact $\vec{{h}}_{s - 1}$; "
                                   rf"$U\vec{{h}}_{s - 1} + W\vec{{x}}_{s} = [{pre}]$, $\vec{{h}}_{s} = [{shown}]$ "
                                   f"(4 decimals); a float64 recomputation agrees to {err:.0e}")
    return Computation(run, rf"$\vec{{h}}_{s}$")


def closed_form_check(example: Example, s: int) -> Computation:
    """h_s's closed form in powers of e against the exact h_s, and its entries sum to 1."""
    def run(rng: random.Random) -> Outcome:
        expanded = pos_tagging.expand_closed_forms(example.forms[:s])[-1]
        bad = [n + 1 for n, (a, b) in enumerate(zip(expanded, example.hs[s - 1], strict=True)) if not close(a, b)]
        if bad:
            return fail(Evidence.EXACT, rf"entries {bad} of the closed form differ from $\vec{{h}}_{s}$")
        if sp.simplify(sp.Add(*example.forms[s - 1].h)) != 1:
            return fail(Evidence.SYMBOLIC, "the closed form does not sum to 1")
        return ok(Evidence.EXACT, rf"with every $\Delta$ replaced by its value, equal to the RNN's exact "
                                   rf"$\vec{{h}}_{s}$ to {DIGITS} digits; the entries sum to 1 as algebra")
    return Computation(run, rf"closed form of $\vec{{h}}_{s}$")


def reading_check(example: Example, s: int) -> Computation:
    """h_s's largest entry is also the exact posterior's choice."""
    def run(rng: random.Random) -> Outcome:
        h, p = example.hs[s - 1], example.posterior[s - 1]
        jj = example.top(h)
        if jj != example.top(p):
            return fail(Evidence.EXACT, f"the RNN picks {example.tags[jj]}, the exact posterior "
                                         f"{example.tags[example.top(p)]}")
        return ok(Evidence.EXACT, rf"{example.tags[jj]} is $\vec{{h}}_{s}$'s largest entry, {dec(h[jj], 4)}, and "
                                   f"also the exact posterior's choice, $P = {dec(p[jj], 4)}$")
    return Computation(run, rf"reading of $\vec{{h}}_{s}$")


def posterior_brute_force(example: Example) -> Computation:
    """The exact filtering posterior against enumeration of every state sequence."""
    def run(rng: random.Random) -> Outcome:
        model = example.model
        for s in range(1, len(example.xs) + 1):
            xs = example.xs[:s]
            marg = [sp.Integer(0)] * model.N
            for y in paths(model.N, s):
                marg[y[-1] - 1] += joint(model, y, xs)
            total = sp.Add(*marg)
            if sp.Matrix(marg) / total != example.posterior[s - 1]:
                return fail(Evidence.EXACT, f"$t = {s}$: belief propagation differs from enumeration")
        return ok(Evidence.EXACT, f"normalised belief propagation equals the sum over all ${model.N}^t$ state "
                                   r"sequences of the joint probability, exactly, at every $t$ ($\vec{\pi}$ uniform)")
    return Computation(run, "filtering posterior vs brute-force enumeration")


def confidence(example: Example) -> Computation:
    """The RNN picks the exact tag at every t and is less confident every time."""
    def run(rng: random.Random) -> Outcome:
        parts = []
        for s, (word, h, p) in enumerate(zip(example.words, example.hs, example.posterior, strict=True), start=1):
            jj = example.top(p)
            if example.top(h) != jj:
                return fail(Evidence.EXACT, f"$t = {s}$: the RNN picks another tag")
            loss = nt.numeric(p[jj] - h[jj], 30)
            if not loss > 0:
                return fail(Evidence.EXACT, f"$t = {s}$: the RNN is not less confident")
            parts.append(f"{word} ({example.tags[jj]}): {dec(p[jj])} exact, {dec(h[jj])} RNN, {dec(loss)} lost")
        return ok(Evidence.EXACT, "the RNN picks the exact tag at every $t$ and is less confident every time: "
                                   + "; ".join(parts))
    return Computation(run, "confidence lost")
