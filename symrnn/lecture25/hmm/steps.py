"""Section ``hmm``, the content: the Bayesian network, belief propagation, Viterbi, the matrix form and log belief
propagation, each step with its reason and check (the checks are in :mod:`symrnn.lecture25.hmm.checks`).

Every displayed equation is checked under :mod:`symrnn.models.bayesnet`'s meaning of the notation: as an exact
symbolic identity on HMMs whose entries are free symbols (N=2, T=4 and N=3, T=3), and exactly on a random rational
HMM (N=4, T=5), at every time, state and query index.
"""

from __future__ import annotations

import sympy as sp

from symrnn import notation as nt
from symrnn.core.derivation import Computation, Derivation, Refutation, Step
from symrnn.lecture25.common import eq, mul
from symrnn.lecture25.hmm import checks
from symrnn.lecture25.hmm.checks import instances, over
from symrnn.models import log_forward

t, T, N, V, i, j, k, q = nt.t, nt.T, nt.N, nt.V, nt.i, nt.j, nt.k, nt.q
Y, X, Is, P, Dots = nt.Y, nt.X, nt.Is, nt.P, nt.Dots

# the section's notation
U, W = nt.matrix("U", N, N), nt.matrix("W", N, V + 1)
h_t, h_prev, x_t = nt.Vec("h", t, N), nt.Vec("h", t - 1, N), nt.Vec("x", t, V + 1)
PAST_I = [Dots(), Is(Y(t - 1), i), X(t - 1)]
BOTH = P([*PAST_I, Is(Y(t), j), X(t)])  # P(..., Y_{t-1} = i, X_{t-1}, Y_t = j, X_t)
TRANS = P([Is(Y(t), j)], [Is(Y(t - 1), i)])
EMIT = P([X(t)], [Is(Y(t), j)])
H_JT = P([Dots(), Is(Y(t), j), X(t)])

INTRO = (
    "A hidden Markov model is a Bayesian network: hidden states $Y_t$ form a chain, and each observation $X_t$ depends "
    "only on its state. Belief propagation computes the probability of the observations by repeating "
    "multiply-then-add; Viterbi finds the most probable state sequence by repeating multiply-then-max. Both are "
    "written here in the lecture's matrix form, then in the log domain, which is where the recurrent neural "
    "network comes from. Each equation below is checked under one reading of the notation: $P(\\dots)$ is computed "
    "by enumerating every state sequence, $h_{j,t}$ and $v_{j,t}$ by the algorithms."
)


def derivation(seed: int = 0) -> Derivation:
    """The section's steps, in the lecture's order."""
    steps = [*_belief_propagation(seed), *_viterbi(seed), *_matrix_form(seed), *_log_domain(seed)]
    return Derivation("hmm", "Belief propagation, Viterbi and log belief propagation", INTRO, steps)


def _belief_propagation(seed: int) -> list[Step]:
    """The joint probability, and belief propagation's multiply and add."""
    run = dict(seed=seed)
    return [
        Step("factorisation", "The Bayesian network's joint probability",
             eq(P([nt.Span(1, T)]), sp.Product(mul(P([Y(t)], [Y(t - 1)]), P([X(t)], [Y(t)])), (t, 1, T))),
             r"Each variable depends only on its parents in the graph: $Y_t$ on $Y_{t-1}$, $X_t$ on $Y_t$. The factor "
             r"for $t = 1$ conditions on $Y_0$, which the lecture leaves undefined; symrnn reads $P(Y_1 | Y_0)$ as "
             r"the initial distribution $\pi_j = P(Y_1 = j)$.",
             instances(P([nt.Span(1, T)]),
                       sp.Product(mul(P([Y(t)], [Y(t - 1)]), P([X(t)], [Y(t)])), (t, 1, T)), checks.all_paths,
                       description="every state sequence (48 sampled on the large case)", **run),
             lecture=r"\prod_{t=1}^T P(Y_t | Y_{t-1}) P(X_t | Y_t)"),
        Step("bp-multiply", "Belief propagation: multiply",
             eq(BOTH, mul(P(PAST_I), TRANS, EMIT)),
             "Given $Y_{t-1}$, the new state depends on nothing earlier, and $X_t$ depends only on $Y_t$: the joint "
             "probability so far picks up one transition and one observation factor.",
             instances(BOTH, mul(P(PAST_I), TRANS, EMIT), over("t", "i", "j", t_from=2),
                       description=r"every $t \ge 2$, $i$, $j$", **run),
             lecture=r"Multiply:  $P(\dots, Y_{t-1} = i"),
        Step("bp-add", "Belief propagation: add",
             eq(H_JT, nt.StateSum(BOTH, i)), "Marginalise the previous state: sum over its $N$ values.",
             instances(H_JT, nt.StateSum(BOTH, i), over("t", "j", t_from=2),
                       description=r"every $t \ge 2$, $j$", **run),
             lecture=r"P(..., Y_t = j, X_t) = \sum_i",
             lecture_note="The lecture's condition \"If t 1 ≠ query\" lost a minus sign: the add is skipped when "
                          "$Y_{t-1}$ is the query variable ($t - 1 = q$); see the query step."),
        Step("bp-definition", r"The forward vector $\vec{h}_t$",
             (eq(h_t, nt.DotsMatrix("h", N, 1, t)), eq(nt.h(j, t), H_JT)),
             "Belief propagation's $h_{j,t}$, computed step by step, is the probability of the observations so far "
             "together with $Y_t = j$: here checked against enumeration of every state sequence.",
             instances(nt.h(j, t), H_JT, over("t", "j"), description="every $t$, $j$: belief propagation = brute force",
                       **run),
             lecture=r"h_{j,t} = P(\dots, Y_t = j, X_t)"),
        Step("bp-query", "Belief propagation for a query step",
             eq(nt.g(j, q), P([Is(Y(q), j), nt.Span(1, T, states=False)])),
             r"To get $P(Y_q = j, X_1, \dots, X_T)$, run the same multiply/add steps but never add over $Y_q$: its "
             r"value "
             "is carried forward as a second index and kept to the end.",
             instances(nt.g(j, q), P([Is(Y(q), j), nt.Span(1, T, states=False)]), over("q", "j"),
                       description="every query step $q$ and value $j$: belief propagation = brute force", **run)),
    ]


def _viterbi(seed: int) -> list[Step]:
    """Viterbi's multiply and max, and its best path."""
    run = dict(seed=seed)
    return [
        Step("viterbi-multiply", "Viterbi: multiply",
             eq(BOTH, mul(nt.v(i, t - 1), TRANS, EMIT)),
             "The same factorisation, with the best path into $Y_{t-1} = i$ (probability $v_{i,t-1}$) in place of the "
             "sum over paths. Here the leading dots mean the best choice of the earlier states.",
             instances(BOTH, mul(nt.v(i, t - 1), TRANS, EMIT), over("t", "i", "j", t_from=2), mode="max",
                       description=r"every $t \ge 2$, $i$, $j$ (max over earlier states)", **run),
             lecture=r"= v_{i,t-1}P(Y_t = j|Y_{t-1} = i)"),
        Step("viterbi-max", "Viterbi: take the maximum",
             eq(nt.v(j, t), nt.StateMax(BOTH, i)),
             "The best path into $Y_t = j$ passes through the best predecessor: the maximum over $i$, recorded as a "
             "back-pointer.",
             instances(nt.v(j, t), nt.StateMax(BOTH, i), over("t", "j", t_from=2), mode="max",
                       description=r"every $t \ge 2$, $j$", **run),
             lecture=r"v_{j,t} = \max_{i}"),
        Step("viterbi-path", "Viterbi's best path",
             eq(sp.Symbol(r"\hat{y}"), sp.Symbol(r"\operatorname{argmax}_{y_1, \dots, y_T} P(Y_1 = y_1, X_1, \dots, "
                                                  r"Y_T = y_T, X_T)")),
             "Following the back-pointers from the best final state recovers a most probable path. Ties go to the "
             "smallest state index, latest time first (the reversed path is lexicographically smallest).",
             Computation(checks.viterbi_vs_brute_force, "Viterbi vs brute-force argmax")),
    ]


def _matrix_form(seed: int) -> list[Step]:
    """U, W, the one-hot x_t, and belief propagation as matrix products."""
    run = dict(seed=seed)
    return [
        Step("matrix-U", "The transition matrix U",
             (eq(U, nt.DotsMatrix("u", N, N)), eq(nt.u(j, i), P([Is(Y(t), j)], [Is(Y(t - 1), i)]))),
             r"Column $i$ of $U$ is the distribution of the next state given $Y_{t-1} = i$, so $U\vec{h}_{t-1}$ sums "
             r"over $i$.",
             instances(nt.u(j, i), P([Is(Y(t), j)], [Is(Y(t - 1), i)]), over("t", "i", "j", t_from=2),
                       description=r"every $t \ge 2$, $i$, $j$", **run),
             lecture=r"u_{j,i} = P(Y_t = j | Y_{t-1} = i)$$"),
        Step("matrix-W", "The observation matrix W",
             (eq(W, nt.DotsMatrix("w", N, V + 1)), eq(nt.w(j, k), P([Is(X(t), k)], [Is(Y(t), j)]))),
             "Row $j$ of $W$ is the distribution of the observation given $Y_t = j$; column $V+1$ is the "
             "out-of-vocabulary "
             "symbol.",
             instances(nt.w(j, k), P([Is(X(t), k)], [Is(Y(t), j)]), over("t", "j"),
                       description="every $t$, $j$ at the observed $k$", **run),
             lecture=r"w_{j,k} = P(X_t = k | Y_t = j)$$"),
        Step("matrix-x", "The one-hot observation vector",
             (eq(x_t, nt.DotsMatrix("x", V + 1, 1, t)),
              eq(nt.x(k, t), sp.Piecewise((1, sp.Eq(X(t), k, evaluate=False)), (0, True)))),
             r"$\vec{x}_t$ has $V+1$ entries: one per vocabulary word and a last one for any word outside the "
             r"vocabulary.",
             instances(nt.x(k, t), sp.Piecewise((1, sp.Eq(X(t), k, evaluate=False)), (0, True)), checks.every_k,
                       description="every $t$, $k$", **run),
             lecture=r"x_{k,t} = \begin{cases}"),
        Step("matrix-initial", "The first step",
             eq(nt.Vec("h", 1, N), nt.hadamard(nt.matrix("pi", N, 1), W * nt.Vec("x", 1, V + 1))),
             r"With $P(Y_1 | Y_0)$ read as $\vec{\pi}$, the first forward vector is $\vec{\pi}$ times the observation "
             "probabilities.",
             instances(nt.Vec("h", 1, N), nt.hadamard(nt.matrix("pi", N, 1), W * nt.Vec("x", 1, V + 1)),
                       lambda c: [{}], description=r"$\vec{h}_1$", **run)),
        Step("matrix-form", "Belief propagation as matrix products",
             eq(h_t, nt.hadamard(U * h_prev, W * x_t)),
             r"The add over $i$ is the product $U\vec{h}_{t-1}$; the observation factor $w_{j,k}$ is $W\vec{x}_t$, "
             r"which "
             r"picks column $k$ because $\vec{x}_t$ is one-hot; multiplying the two elementwise is the multiply step.",
             instances(h_t, nt.hadamard(U * h_prev, W * x_t), over("t", t_from=2), description=r"every $t \ge 2$",
                       **run)),
    ]


def _log_domain(seed: int) -> list[Step]:
    """Log belief propagation, why ln(W x_t) = (ln W) x_t, the chain the RNN keeps, and the stable forward."""
    run = dict(seed=seed)
    return [
        Step("log-bp-scalar", "The logarithm of belief propagation",
             eq(sp.log(H_JT), sp.Add(sp.log(nt.StateSum(mul(P([Dots(), Is(Y(t - 1), i), X(t - 1)]), TRANS), i)),
                                     sp.log(P([Is(X(t), k)], [Is(Y(t), j)])), evaluate=False)),
             "The log of a product is the sum of the logs; the sum over $i$ stays inside its log.",
             instances(sp.log(H_JT), sp.log(nt.StateSum(mul(P([Dots(), Is(Y(t - 1), i), X(t - 1)]), TRANS), i))
                       + sp.log(P([Is(X(t), k)], [Is(Y(t), j)])), over("t", "j", t_from=2), simplifier="exp",
                       description=r"every $t \ge 2$, $j$ at the observed $k$", **run),
             lecture=r"\ln P(\dots, Y_t = j, X_t) = \ln \sum_i"),
        Step("log-bp", "Log belief propagation in matrix form",
             eq(h_t, nt.elementwise(sp.exp, nt.elementwise(sp.log, U * h_prev) + nt.elementwise(sp.log, W * x_t))),
             "Exponentiating the log form gives back the product: the logarithms act entrywise on the vectors "
             r"$U\vec{h}_{t-1}$ and $W\vec{x}_t$.",
             instances(h_t, nt.elementwise(sp.exp, nt.elementwise(sp.log, U * h_prev)
                                           + nt.elementwise(sp.log, W * x_t)),
                       over("t", t_from=2), simplifier="simplify", description=r"every $t \ge 2$", **run),
             lecture=r"\vec{h}_t = \exp\left(\ln U\vec{h}_{t-1} + \ln W\vec{x}_t\right)$$" "\n\n...where",
             lecture_note=r"The lecture writes $\ln U\vec{h}_{t-1}$: the logarithm is of the vector $U\vec{h}_{t-1}$, "
                          r"entrywise, not of the matrix $U$; symrnn prints the parentheses."),
        Step("log-one-hot", r"Why $\ln(W\vec{x}_t) = (\ln W)\vec{x}_t$",
             eq(nt.elementwise(sp.log, W * x_t), nt.elementwise(sp.log, W) * x_t),
             r"$W\vec{x}_t$ is column $k$ of $W$ because $\vec{x}_t$ is one-hot, so its logarithm is column $k$ of "
             r"$\ln W$.",
             instances(nt.elementwise(sp.log, W * x_t), nt.elementwise(sp.log, W) * x_t, over("t"),
                       simplifier="simplify", description="every $t$", **run)),
        Step("log-not-general", r"... and only because $\vec{x}_t$ is one-hot",
             sp.Ne(nt.elementwise(sp.log, W * nt.Vec("x", t, V + 1)),
                   nt.elementwise(sp.log, W) * nt.Vec("x", t, V + 1), evaluate=False),
             "For a vector that is not one-hot (a mixture of words), the two differ: the log of a sum is not the "
             "sum of the logs.",
             Refutation((nt.entry_matrix("w", 2, 3) * nt.entry_vector("x", 3)).applyfunc(sp.log),
                        nt.entry_matrix("w", 2, 3).applyfunc(sp.log) * nt.entry_vector("x", 3))),
        Step("bn-flowgraph", "The dependency structure the RNN keeps",
             eq(P([Dots(), Y(t - 1), X(t - 1), Y(t), X(t)]),
                mul(P([Dots(), Y(t - 1), X(t - 1)]), P([Y(t)], [Y(t - 1)]), P([X(t)], [Y(t)]))),
             "One step of the chain: what the recurrent network will imitate.",
             instances(P([Dots(), Y(t - 1), X(t - 1), Y(t), X(t)]),
                       mul(P([Dots(), Y(t - 1), X(t - 1)]), P([Y(t)], [Y(t - 1)]), P([X(t)], [Y(t)])),
                       checks.paths_and_t,
                       description=r"every state sequence (16 sampled on large cases) and $t \ge 2$",
                       **run),
             lecture=r"P(\dots, Y_{t-1}, X_{t-1}, Y_t, X_t) = P(\dots, Y_{t-1}, X_{t-1})P(Y_t|Y_{t-1})P(X_t|Y_t)$$"),
        Step("log-forward-stable", "The stable log-domain forward",
             log_forward.shift_identity(),
             "Subtracting the largest log-probability $m$ before exponentiating changes nothing mathematically and "
             "keeps every exponent at most 0, so long sequences neither underflow nor overflow. The step is "
             "generated as NumPy code from this symbolic form.",
             Computation(checks.stable_forward, "generated log-domain forward vs exact belief propagation")),
    ]
