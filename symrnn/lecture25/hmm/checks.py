"""Checks of section ``hmm``: equations evaluated under :mod:`symrnn.models.bayesnet`'s meaning of the notation on
symbolic and rational HMMs, Viterbi against brute force, and the generated log-domain forward.

The cases and :func:`instances` are also the ground on which section ``rnn`` checks its derivation.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import sympy as sp

from symrnn.core.derivation import Evidence, Identity, Instances, Outcome
from symrnn.lecture25.common import fail, ok
from symrnn.models import bayesnet, belief_propagation, log_forward, viterbi
from symrnn.models.hmm import HMM, joint, paths


@dataclass(frozen=True)
class Case:
    """One model and observation sequence on which the section's equations are checked."""

    label: str
    model: HMM
    xs: tuple[int, ...]


def cases(seed: int = 0) -> list[Case]:
    """Symbolic HMMs for proofs at small sizes, and a random rational HMM for a larger exact check."""
    rng = random.Random(seed)
    big = HMM.random_rational(4, 5, rng)
    return [Case("symbolic N=2, T=4", HMM.symbolic(2, 3), (1, 3, 2, 2)),
            Case("symbolic N=3, T=3", HMM.symbolic(3, 3), (2, 1, 3)),
            Case("rational N=4, T=5", big, tuple(rng.randint(1, 5) for _ in range(5)))]


Binding = dict  # index name -> value; "ys" -> a whole state sequence


def instances(lhs: sp.Basic, rhs: sp.Basic, bindings: Callable[[Case], Iterable[Binding]], *, mode: str = "sum",
              simplifier: str | None = "cancel", description: str = "", seed: int = 0) -> Instances:
    """The equation ``lhs = rhs`` at every binding of its indices, on every case, under the HMM's meaning."""
    def build() -> Iterator[Identity]:
        for case in cases(seed):
            base = bayesnet.Context(case.model, case.xs, mode=mode)
            for b in bindings(case):
                ys = b.pop("ys", None)
                ctx = replace(base, ys=ys).bind(**b)
                label = (f"{case.label}, " + ", ".join(f"${n} = {v}$" for n, v in b.items())
                         + (f", $y = {ys}$" if ys else ""))
                yield Identity(bayesnet.evaluate(lhs, ctx), bayesnet.evaluate(rhs, ctx), simplifier, label=label)
    return Instances(build, description)


# ---- bindings --------------------------------------------------------------------------------------------------


def over(*names: str, t_from: int = 1) -> Callable[[Case], Iterator[Binding]]:
    """Bindings of index names: ``t`` over t_from..T, ``q`` over 1..T, ``i``/``j`` over states, ``k`` observed."""
    def gen(case: Case) -> Iterator[Binding]:
        n, T_ = case.model.N, len(case.xs)  # noqa: N806
        ranges = {"t": range(t_from, T_ + 1), "q": range(1, T_ + 1), "i": range(1, n + 1), "j": range(1, n + 1)}
        for values in itertools.product(*(ranges[name] for name in names)):
            binding = dict(zip(names, values))
            if "t" in binding and "k" not in binding:
                binding["k"] = case.xs[binding["t"] - 1]
            yield binding
    return gen


def _some_paths(case: Case, limit: int = 48) -> list[tuple[int, ...]]:
    """Every state sequence of a small case; a fixed random sample of ``limit`` of them for a large one."""
    every = list(paths(case.model.N, len(case.xs)))
    return every if len(every) <= limit else random.Random(len(every)).sample(every, limit)


def all_paths(case: Case) -> Iterator[Binding]:
    """Every state sequence (48 sampled on a large case)."""
    return ({"ys": y} for y in _some_paths(case))


def every_k(case: Case) -> Iterator[Binding]:
    """Every time t and every symbol k, observed or not."""
    for t_ in range(1, len(case.xs) + 1):
        for k_ in range(1, case.model.n_symbols + 1):
            yield {"t": t_, "k": k_}


def paths_and_t(case: Case) -> Iterator[Binding]:
    """Every state sequence (16 sampled on a large case) with every t >= 2: the context carries both."""
    for y in _some_paths(case, 16):
        for t_ in range(2, len(case.xs) + 1):
            yield {"ys": y, "t": t_}


# ---- computations ----------------------------------------------------------------------------------------------


def viterbi_vs_brute_force(rng: random.Random) -> Outcome:
    """Viterbi's path and probability against the brute-force argmax, including models full of ties."""
    runs = 0
    models = [HMM.random_rational(n, n + 1, rng) for n in (2, 3, 4) for _ in range(3)]
    uniform = HMM(sp.ones(3, 3) / 3, sp.ones(3, 2) / 2, sp.ones(3, 1) / 3)  # every path ties
    for model in [*models, uniform]:
        for T_ in (1, 3, 5):
            xs = [rng.randint(1, model.n_symbols) for _ in range(T_)]
            got = viterbi.viterbi(model, xs)
            best = max(joint(model, y, xs) for y in paths(model.N, T_))
            optimal = [y for y in paths(model.N, T_) if joint(model, y, xs) == best]
            expect = min(optimal, key=lambda y: tuple(reversed(y)))  # the stated tie rule
            if got.path != expect or got.probability != best:
                return fail(Evidence.EXACT, f"$N = {model.N}$, $x = {xs}$: Viterbi {got.path} "
                                            f"({got.probability}), brute force {expect} ({best})")
            runs += 1
    return ok(Evidence.EXACT, f"{runs} sequences on 10 rational models (one all ties): path and "
                              "probability equal the brute-force argmax")


def stable_forward(rng: random.Random) -> Outcome:
    """The generated log-domain forward: equal to exact belief propagation, and finite where linear underflows."""
    worst = 0.0
    for n in (2, 3, 5):
        model = HMM.random_rational(n, 4, rng)
        xs = [rng.randint(1, 4) for _ in range(8)]
        exact = float(sp.log(belief_propagation.likelihood(model, xs)).evalf(30))
        worst = max(worst, abs(log_forward.log_likelihood(model, xs) - exact) / abs(exact))
    if worst > 1e-12:
        return fail(Evidence.NUMERIC, f"relative error {worst:.2e} against exact belief propagation")
    gen = np.random.default_rng(rng.randint(0, 2**31))
    U = gen.dirichlet(np.ones(16), size=16).T  # noqa: N806 - columns are distributions
    W = gen.dirichlet(np.ones(8), size=16)  # noqa: N806
    pi = np.full(16, 1 / 16)
    xs = gen.integers(1, 9, size=100_000)
    ll = log_forward.log_likelihood((U, W, pi), xs)
    try:
        log_forward.forward_linear((U, W, pi), xs)
        return fail(Evidence.NUMERIC, "the linear forward did not report its underflow")
    except log_forward.UnderflowError as exc:
        said = (f"float64 underflow in the linear-domain forward at step $t = {exc.step}$: "
                f"$h_{{{exc.state},{exc.step}}} = {exc.value:.3g}$ is below the smallest normal float64 "
                f"({np.finfo(float).tiny:.3g}) although the probability is positive; the log domain is needed")
    if not np.isfinite(ll):
        return fail(Evidence.NUMERIC, f"log-likelihood {ll} is not finite")
    return ok(Evidence.NUMERIC, f"max relative error {worst:.1e} vs exact; $N = 16$, $T = 100{{,}}000$: "
                                rf"$\ln P = {ll:.6g}$; linear domain: {said}")
