"""Section ``rnn``, the content: the update ``h_t = g(U h_{t-1} + W x_t)``, the part-of-speech example, and the RNN
as approximate log belief propagation (checks in :mod:`~symrnn.lecture25.rnn.checks` and
:mod:`~symrnn.lecture25.rnn.checks_example`).

Every number of the worked example is computed from the model in :mod:`symrnn.models.pos_tagging`; where the
lecture's printed line differs, the note beside it is generated from the computed values
(:mod:`~symrnn.lecture25.rnn.notes`).  The derivation that connects the HMM section to the RNN is checked
symbolically (for general N where the claim is general) and on the HMM section's test cases, whose probabilities
come from enumerating every state sequence.
"""

from __future__ import annotations

import sympy as sp

from symrnn import notation as nt
from symrnn.core.derivation import Computation, Derivation, Identity, Instances, Step
from symrnn.lecture25.common import dec, eq
from symrnn.lecture25.hmm import checks as hmm_checks
from symrnn.lecture25.rnn import checks, notes
from symrnn.lecture25.rnn import checks_example as example_checks
from symrnn.lecture25.rnn.example import Example
from symrnn.models import nonlinearities, pos_tagging, rnn

t, N, V, i, j, k = nt.t, nt.N, nt.V, nt.i, nt.j, nt.k
Y, X, Is, P, Text = nt.Y, nt.X, nt.Is, nt.P, nt.Text
U_, W_ = rnn.U_, rnn.W_
XI = sp.MatrixSymbol("xi", N, 1)  # prints \vec{\xi}

# the section's notation
h_t, h_prev, x_t = nt.Vec("h", t, N), nt.Vec("h", t - 1, N), nt.Vec("x", t, V + 1)
p_t, p_prev = nt.Vec("p", t, N), nt.Vec("p", t - 1, N)
P_JT = P([Is(Y(t), j)], [nt.Span(1, t, states=False)])  # the filtering posterior P(Y_t = j | X_1, ..., X_t)
LOG_VEC = nt.elementwise(sp.log, U_ * p_prev) + nt.elementwise(sp.log, W_ * x_t)
Z = sp.Symbol("z", positive=True)

INTRO = (
    r"A recurrent neural network keeps a hidden state $\vec{h}_t$ that depends on the previous state and the current "
    "input. The lecture builds one that imitates the HMM's belief propagation on a part-of-speech example; symrnn "
    "recomputes that example exactly, compares it with the exact HMM posterior, and derives why the network is "
    r"an approximation: it is log belief propagation with the logarithm linearised, $\ln z \approx z - 1$."
)


def derivation(seed: int = 0) -> Derivation:
    """The section's steps: the lecture's RNN and example, then the derivation from belief propagation."""
    ex = Example()
    steps = [*_the_rnn(), *_the_example(ex), *_worked_lines(ex), *_readings(ex), *_the_posterior(ex, seed),
             *_the_network(ex)]
    return Derivation("rnn", "Recurrent neural networks", INTRO, steps, notes=notes.section_notes(ex))


def x_display(ex: Example) -> sp.ImmutableMatrix:
    """``[1 if X_t = w_1; ...]``: the input vector as the lecture defines it, one entry per vocabulary word."""
    return sp.ImmutableMatrix([nt.OneIf(Is(X(t), Text(w))) for w in ex.model.vocabulary])


def posterior_display(ex: Example) -> sp.ImmutableMatrix:
    """``[P(Y_t = Det | X_1, ..., X_t); ...]``: one entry per tag."""
    return sp.ImmutableMatrix([P([Is(Y(t), Text(tag))], [nt.Span(1, t, states=False)]) for tag in ex.tags])


def taylor_log(z: sp.Symbol, order: int) -> sp.Expr:
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


def _the_rnn() -> list[Step]:
    """From log belief propagation's flowgraph to the RNN's update, and the table of nonlinearities."""
    table = [eq(nt.FunctionEntry(g.display_name or g.name, j, XI), g.entry_formula(j, N))
             for g in nonlinearities.TABLE.values()]
    return [
        Step("flowgraph", "Belief propagation as a flowgraph",
             eq(h_t, nt.elementwise(sp.exp, nt.elementwise(sp.log, U_ * h_prev) + nt.elementwise(sp.log, W_ * x_t))),
             "The HMM section's log belief propagation, read as a network: the new state is a fixed function of the "
             "previous state and the current input. Checked against belief propagation's multiply-add step.",
             Instances(checks.flowgraph_instances, "$N = 3$, every observed $k$"),
             lecture="Into a neural network with this flowgraph",
             lecture_note=r"The lecture writes $\ln U\vec{h}_{t-1}$: the logarithm is of the vector $U\vec{h}_{t-1}$, "
                          r"entrywise, not of the matrix $U$; symrnn prints the parentheses."),
        Step("update", "The recurrent neural network",
             rnn.update(form="general"),
             r"An RNN's hidden state at time $t$ is a function $g$ of the previous hidden state, through $U$, and of "
             r"the current input, through $W$. Unrolled over a sequence, $\vec{h}_t$ depends on $\vec{x}_1, \dots, "
             r"\vec{x}_t$ only. The lecture calls $g$ a scalar nonlinearity; its own choice below (softmax) acts on "
             r"the whole vector.",
             Computation(checks.causality, "unrolled general form"),
             lecture="hidden nodes at time t-1:"),
        Step("update-additive", "The additive form",
             rnn.update(),
             "The usual RNN adds the two contributions before the nonlinearity: the general form with "
             "$g(a, b) = g(a + b)$.",
             Instances(checks.additive_instances, "$T = 3$, $N = 3$, $V + 1 = 4$, undefined vector function $g$"),
             lecture="Remember that a normal RNN computes"),
        Step("nonlinearities", "Nonlinearities",
             tuple(table),
             r"The table symrnn uses here and in training (BPTT) and the LSTM: the lecture's "
             r"$g(\vec{\xi}) = \operatorname{softmax}(\vec{\xi} - 1)$, softmax, $\tanh$ and the logistic sigmoid "
             "entrywise, and the identity (a linear RNN); "
             "a user may add an entrywise function given as a SymPy expression.",
             Computation(checks.table_check, "nonlinearity table")),
    ]


def _the_example(ex: Example) -> list[Step]:
    """The example's inputs, what h_t approximates, the lecture's g, and the example's weights."""
    x_shown, posterior_shown = x_display(ex), posterior_display(ex)
    g_lecture = nonlinearities.get("lecture")
    return [
        Step("x-definition", "The input vector of the example",
             eq(nt.Vec("x", t, V + 1), x_shown),
             f"One entry per vocabulary word, in the order [{', '.join(ex.model.vocabulary)}]; the example's W has "
             "no column for words outside the vocabulary.",
             example_checks.x_definition(x_shown, ex.model),
             lecture=r"\vec{x}_t = \begin{bmatrix} 1 \text{ if }"),
        Step("observations", "The observation sequence",
             tuple(eq(nt.Vec("x", st.t, V + 1), sp.ImmutableMatrix(st.x)) for st in ex.steps),
             f"The sentence \"{' '.join(ex.words)}\", one one-hot vector per word.",
             example_checks.observations(ex, x_shown),
             lecture="so the observation sequence is",
             lecture_note=r"The lecture prints $\vec{x}_4$ with five entries; with four vocabulary words and no "
                          r"out-of-vocabulary column, $\vec{x}_4$ (the word 'ball', first in the vocabulary) "
                          r"has four."),
        Step("h-approximates", r"What $\vec{h}_t$ approximates",
             nt.Chain([h_t, nt.Applied("g", U_ * h_prev + W_ * x_t), posterior_shown], ["=", "approx"]),
             "The hidden state is meant to be the filtering posterior: the probability of each tag given the words "
             "so far. Why this holds only approximately is derived below.",
             example_checks.approximates(ex, posterior_shown),
             lecture=r"\vec{h}_t = g(U\vec{h}_{t-1} + W\vec{x}_t) \approx"),
        Step("g-definition", "The lecture's nonlinearity",
             (eq(nt.Applied("g", XI), sp.ImmutableMatrix([nt.FunctionEntry("softmax", n, nt.VecShift(XI, -1))
                                                          for n in range(1, len(ex.tags) + 1)])),
              eq(nt.FunctionEntry("softmax", j, nt.VecShift(XI, -1)), g_lecture.entry_formula(j, N))),
             "A softmax of the pre-activation shifted down by 1. The shift changes nothing (shown below); the "
             r"entries are positive and sum to 1, so $\vec{h}_t$ can be read as a distribution over tags.",
             Instances(checks.lecture_g_instances, "$N = 3$"),
             lecture=r"g(\vec{\xi}) = "),
        Step("weights-U", "The example's transition matrix",
             (nt.Approx(h_t, posterior_shown), eq(nt.u(j, i), P([Is(Y(t), j)], [Is(Y(t - 1), i)])),
              eq(U_, nt.factored(ex.model.U))),
             "Read as an HMM: a determiner is usually followed by a noun, a noun by a verb, a verb by a "
             "determiner.",
             example_checks.weights(ex, "U"),
             lecture="reasonable weight matrices might be"),
        Step("weights-W", "The example's observation matrix",
             (eq(nt.Vec("x", t, V + 1), x_shown), eq(nt.w(j, k), P([Is(X(t), k)], [Is(Y(t), j)])),
              eq(W_, nt.factored(ex.model.W))),
             "Row $j$ is the distribution of the word given the tag: 'the' is a determiner, 'hit' a verb, 'ball' and "
             "'John' nouns.",
             example_checks.weights(ex, "W"),
             lecture=r"\vec{x}_{t} = \begin{bmatrix} 1 \text{ if } X_{t}"),
    ]


def _worked_lines(ex: Example) -> list[Step]:
    """Each worked line h_t of the example, then h_t exactly in powers of e."""
    line_notes = notes.line_notes(ex)
    steps = []
    for st, form in zip(ex.steps, ex.forms, strict=True):
        s = st.t
        steps.append(Step(
            f"h{s}", rf"The worked example: $\vec{{h}}_{s}$",
            pos_tagging.worked_line(st),
            "Computed exactly from the previous exact state; every number is shown rounded to two decimals."
            + (r" Since $\vec{h}_0 = 0$, $U\vec{h}_0$ is the zero vector." if s == 1 else ""),
            example_checks.worked_line_check(ex, s),
            lecture=rf"\vec{{h}}_{{{s}}} = g(U\vec{{h}}_{{{s - 1}}}", lecture_note=line_notes.get(s, "")))
        defs = tuple(eq(sym, expr) for sym, expr in form.definitions)
        steps.append(Step(
            f"h{s}-exact", rf"$\vec{{h}}_{s}$ exactly",
            (eq(nt.Vec("h", s, N), form.display()), *defs),
            r"In powers of $e$. Softmax ignores a constant added to every entry, so each $\vec{h}_t$ is written with "
            r"its smallest pre-activation subtracted; an exponent that is not a rational number gets a name, defined "
            r"from the previous step's." if s == 1 else
            rf"The exponent is defined from $\vec{{h}}_{s - 1}$'s, so the closed form never nests.",
            example_checks.closed_form_check(ex, s)))
    return steps


def _readings(ex: Example) -> list[Step]:
    """h_t read as the probabilities of the tags, and each h_t's reading."""
    reading_notes = notes.reading_notes(ex)
    interpretation = sp.ImmutableMatrix([P_JT.subs(j, n) for n in range(1, len(ex.tags) + 1)])
    steps = [Step(
        "interpretation", r"Reading $\vec{h}_t$ as probabilities",
        nt.Approx(nt.h(j, t), P_JT),
        "Entry $j$ of the RNN's state is read as the filtering probability of tag $j$ (here $h_{j,t}$ is the RNN's, "
        "not belief propagation's).",
        example_checks.approximates(ex, interpretation),
        lecture="If we interpret")]
    for s in range(1, len(ex.steps) + 1):
        steps.append(Step(
            f"reading-{s}", rf"Reading $\vec{{h}}_{s}$",
            pos_tagging.reading(ex.steps, s),
            r"The largest entry of $\vec{h}_t$, read as the probability of its tag.",
            example_checks.reading_check(ex, s),
            lecture=rf"P(Y_{s} = \text", lecture_note=reading_notes.get(s, "")))
    return steps


def _the_posterior(ex: Example, seed: int) -> list[Step]:
    """The filtering posterior as a softmax of log belief propagation, and its logarithms linearised."""
    w_min = min(ex.model.W)
    return [
        Step("posterior-normalise", "From belief propagation to the filtering posterior",
             nt.Chain([sp.IndexedBase("p")[j, t], P_JT,
                       nt.h(j, t) / nt.StateSum(nt.h(i, t), i)], ["=", "="]),
             r"Belief propagation's $h_{j,t}$ is the joint probability $P(\dots, Y_t = j, X_t)$; dividing by its sum "
             r"over $j$ conditions on the observations. (In this derivation $h_{j,t}$ is belief propagation's, as in "
             r"the HMM section; the RNN's state approximates $\vec{p}_t$.)",
             hmm_checks.instances(P_JT, nt.h(j, t) / nt.StateSum(nt.h(i, t), i), hmm_checks.over("t", "j"),
                                  description="every $t$, $j$ on the HMM section's cases", seed=seed)),
        Step("posterior-softmax", "The filtering posterior is a softmax of log belief propagation",
             eq(p_t, nt.Applied("softmax", LOG_VEC)),
             r"Normalising $\exp(\ln(U\vec{p}_{t-1}) + \ln(W\vec{x}_t))$ is a softmax, and starting from the "
             r"normalised $\vec{p}_{t-1}$ instead of $\vec{h}_{t-1}$ only scales $U\vec{p}_{t-1}$, which the "
             r"normalisation removes. At $t = 1$, $U\vec{p}_0$ is read as the initial distribution $\vec{\pi}$.",
             Instances(lambda: checks.softmax_of_logs(seed), "the identity for $N = 3$, and every $t$ on the HMM "
                                                             "section's cases")),
        Step("log-linear", "Linearising the logarithm",
             nt.Chain([sp.log(Z), taylor_log(Z, 3), Z - 1], ["=", "approx"]),
             r"The first-order Taylor term of $\ln z$ at $z = 1$.",
             Instances(lambda: [Identity(taylor_log(Z, 3).removeO(), sp.series(sp.log(Z), Z, 1, 3).removeO(),
                                         label="the series shown"),
                                Identity(sp.series(sp.log(Z), Z, 1, 2).removeO(), Z - 1, label="first-order term")],
                       "the displayed series, and its first-order term")),
        Step("linearised", "The linearised posterior",
             nt.Approx(p_t, nt.Applied("softmax", nt.VecShift(U_ * p_prev + W_ * x_t, -2))),
             "Replace each logarithm by its linear term. The probabilities here are far from 1 (a word's "
             f"probability under a tag can be {dec(w_min)}, whose logarithm is {dec(sp.log(w_min), 1)} but whose "
             f"linear term is {dec(w_min - 1)}), so the approximation compresses the evidence.",
             Computation(checks.linearisation(ex), "linearisation")),
    ]


def _the_network(ex: Example) -> list[Step]:
    """Shift invariance makes the linearised posterior the lecture's RNN; the exact answer beside it, and why the
    RNN cannot be as confident."""
    return [
        Step("shift-invariance", "Softmax ignores a constant shift",
             eq(nt.FunctionEntry("softmax", j, nt.VecShift(XI, sp.Symbol("c", real=True))),
                nt.FunctionEntry("softmax", j, XI)),
             r"$e^{\xi_j + c} = e^c e^{\xi_j}$, and the common factor $e^c$ cancels between numerator and sum: true "
             r"for every $N$ and every real $c$.",
             checks.shift_invariance()),
        Step("rnn-from-bp", "The RNN is linearised log belief propagation",
             (eq(nt.Applied("softmax", nt.VecShift(U_ * p_prev + W_ * x_t, -2)),
                 nt.Applied("g", U_ * p_prev + W_ * x_t)),
              eq(nt.FunctionEntry("softmax", j, nt.VecShift(XI, -1)), nt.FunctionEntry("softmax", j, XI))),
             r"By shift invariance, $\operatorname{softmax}(\vec{\xi} - 2) = \operatorname{softmax}(\vec{\xi} - 1) = "
             r"g(\vec{\xi})$: feeding back its own $\vec{h}_{t-1}$ in place of the exact $\vec{p}_{t-1}$, the "
             r"network $\vec{h}_t = g(U\vec{h}_{t-1} + W\vec{x}_t)$ is linearised log belief propagation. The "
             r"lecture's $-1$ changes nothing: plain softmax gives the same $\vec{h}_t$.",
             checks.rnn_from_bp(ex)),
        Step("posterior-example", "The exact answer on the example",
             tuple(eq(nt.Vec("p", s, N), sp.ImmutableMatrix(p)) for s, p in enumerate(ex.posterior, start=1)),
             r"The filtering posterior $P(Y_t | X_1, \dots, X_t)$ of the HMM with the same $U$ and $W$ and a uniform "
             "initial distribution, by belief propagation normalised at every $t$.",
             example_checks.posterior_brute_force(ex)),
        Step("confidence", "The RNN beside the exact posterior",
             (nt.Approx(sp.BlockMatrix([[nt.Vec("p", s, N) for s in range(1, len(ex.steps) + 1)]]),
                        nt.rounded(sp.Matrix.hstack(*ex.posterior))),
              nt.Approx(sp.BlockMatrix([[nt.Vec("h", s, N) for s in range(1, len(ex.steps) + 1)]]),
                        nt.rounded(sp.Matrix.hstack(*ex.hs)))),
             "Column $t$ is word $t$; rows are Det, Noun, Verb. The lecture says the RNN \"loses some confidence\": "
             "the check below says by how much.",
             example_checks.confidence(ex)),
        Step("ceiling", "Why the RNN cannot be confident",
             sp.Le(nt.StateMax(nt.h(j, t), j), sp.exp(2) / sp.Add(sp.exp(2), N, -1, evaluate=False), evaluate=False),
             r"With $U$'s columns and $W$'s rows distributions and $\vec{h}_{t-1}$ a distribution (or 0), every entry "
             r"of $U\vec{h}_{t-1}$ lies in $[0, 1]$ and every entry of $W\vec{x}_t$ in $[0, 1]$, so the pre-activation "
             r"lies in $[0, 2]^N$. A softmax entry is $1 / (1 + \sum_{i \ne j} e^{\xi_i - \xi_j})$ with each exponent "
             "at least $-2$: a ceiling that linearisation imposes and exact belief propagation does not have.",
             checks.ceiling(ex)),
    ]
