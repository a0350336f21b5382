"""Section ``bptt``, the content: training by gradient descent, back-propagation through time, and exponential
forgetting (checks in :mod:`~symrnn.lecture25.bptt.checks`, the figure in :mod:`~symrnn.lecture25.bptt.figures`).

The recursion is derived once per cell and loss by :mod:`symrnn.autodiff.bptt` and checked three ways: one step
proved at entry level (which, with the chain rule over the unrolled chain, proves it for every T), the whole gradient
against direct differentiation of the unrolled loss at small T, and 50-digit directional derivatives at N=16, T=64.
"""

from __future__ import annotations

import sympy as sp

from symrnn import notation as nt
from symrnn.autodiff import bptt
from symrnn.core.derivation import Computation, Derivation, Figure, Identity, Instances, Refutation, Step
from symrnn.lecture25.bptt import checks, figures
from symrnn.lecture25.common import LOSS, D, eq, mul, pD
from symrnn.models import cells, losses

t, T, i, j, k = nt.t, nt.T, nt.i, nt.j, nt.k
ETA = sp.Symbol(r"\eta", positive=True)
HALF = sp.Rational(1, 2)
U, W = nt.matrix("U", nt.N, nt.N), nt.matrix("W", nt.N, nt.V + 1)

INTRO = (
    "An RNN is trained like any network, by gradient descent; the difficulty is that the loss depends on $U$ and $W$ "
    "through every state, and every state through the one before. Back-propagation through time handles this by "
    "a recursion backwards in time. symrnn derives it for any recurrent cell (the lecture's RNN, an Elman cell, "
    "a GRU) and checks it three ways; the same derivation generates the NumPy training code."
)
FIGURE_CAPTION = (r"Size of $d\mathfrak{L}/d\vec{h}_t$ against $t$ for a linear RNN whose recurrent matrix has "
                  "spectral radius 0.5, 1 and 1.5 (loss at the last step).")


def derivation(seed: int = 0) -> Derivation:
    """The section's steps, in the lecture's order."""
    lecture_rnn = bptt.derive(cells.rnn(nt.N, nt.V + 1), losses.cross_entropy())
    steps = [*_gradient_descent(), *_the_recursion(seed, lecture_rnn), *_the_whole_gradient(seed, lecture_rnn),
             *_forgetting()]
    return Derivation("bptt", "Training: gradient descent and back-propagation through time", INTRO, steps,
                      figures=(Figure("forgetting", FIGURE_CAPTION, figures.forgetting_figure),))


def _gradient_descent() -> list[Step]:
    """The updates of U and W."""
    return [
        Step("gd-u", "Gradient descent on U",
             nt.Assign(nt.u(j, i), sp.Add(nt.u(j, i), -mul(ETA, D(LOSS, nt.u(j, i))), evaluate=False)),
             r"Move every weight a small step $\eta$ against the derivative of the loss.",
             Computation(checks.gradient_descent, "one step lowers the loss"),
             lecture=r"u_{j,i} \leftarrow",
             lecture_note=r"The lecture differentiates $\Omega$ (a transcription of the loss $\mathfrak{L}$ it names "
                          r"below) and writes a partial derivative; the update needs the total derivative "
                          r"$d\mathfrak{L}/du_{j,i}$, which back-propagation through time computes."),
        Step("gd-w", "Gradient descent on W",
             nt.Assign(nt.w(j, k), sp.Add(nt.w(j, k), -mul(ETA, D(LOSS, nt.w(j, k))), evaluate=False)),
             "The same step for the input weights.",
             Computation(checks.gradient_descent, "one step lowers the loss"),
             lecture=r"w_{j,k} \leftarrow",
             lecture_note=r"As for $U$: $\Omega$ should read $\mathfrak{L}$, and the derivative is the total one."),
    ]


def _the_recursion(seed: int, lecture_rnn: bptt.BPTT) -> list[Step]:
    """The lecture's recursion, in matrix form, and the weight gradients (with the lecture's index refuted)."""
    return [
        Step("bptt-lecture", "Back-propagation through time",
             eq(D(LOSS, nt.h(i, t)), pD(LOSS, nt.h(i, t))
                + nt.StateSum(mul(D(LOSS, nt.h(j, t + 1)), pD(nt.h(j, t + 1), nt.h(i, t))), j)),
             "$h_{i,t}$ changes the loss directly, and through every entry $j$ of the next state. The recursion runs "
             "backwards from $t = T$, where the second term is 0.",
             Instances(lambda: checks.total_state(seed), "recursion vs direct differentiation of the loss from $t$ on"),
             lecture=r"\frac{d\mathfrak{L}}{dh_{i,t}} = \frac{\partial\mathfrak{L}}{\partial h_{i,t}} + \frac{d",
             lecture_note="The lecture leaves the sum over $j$ implicit; symrnn writes it."),
        Step("bptt-matrix", "The recursion in matrix form (the lecture's RNN, cross-entropy)",
             (eq(nt.Vec("delta", t, nt.N), lecture_rnn.seed["h"]),
              eq(nt.Vec("rho", t - 1, nt.N), lecture_rnn.recurrent["h"])),
             r"$\vec{\rho}_t$ collects what $\vec{h}_t$ does to the loss through $\vec{h}_{t+1}$; the softmax's "
             r"Jacobian is $\operatorname{diag}(\vec{h}) - \vec{h}\vec{h}^T$, and cross-entropy through a softmax "
             r"gives $\vec{h} - \vec{y}$ without dividing by $\vec{h}$. Proved one step at a time at entry level for "
             r"four cells ($N = 2, 4, 8$); since the unrolled network is a chain, induction on $T - t$ extends the "
             r"step to every $T$.",
             Instances(lambda: checks.local(seed), "derived products vs entry-level differentiation")),
        Step("bptt-params", "The weight gradients",
             eq(D(LOSS, nt.u(j, i)), sp.Sum(nt.StateSum(mul(D(LOSS, nt.h(k, t)), pD(nt.h(k, t), nt.u(j, i))), k),
                                            (t, 1, T))),
             r"$u_{j,i}$ is used at every step; each use adds its effect through every $h_{k,t}$ it touches "
             r"($\vec{h}_{t-1}$ held fixed in the partial derivative).",
             Instances(lambda: [Identity(*checks.lecture_u_formula(seed, True), simplifier="atoms", trials=2,
                                         label="lecture RNN, $N = 2$, $T = 2$")], "the sum vs direct differentiation"),
             lecture=r"\frac{d\mathfrak{L}}{du_{j,i}} = \sum_{t=1}^{T}",
             lecture_note=r"The lecture sums $(d\mathfrak{L}/dh_{i,t})(\partial h_{i,t}/\partial u_{j,i})$: but "
                          r"$u_{j,i}$ carries $h_{i,t-1}$ into row $j$, so the index on $h$ must be $j$ for an "
                          r"entrywise $g$, and for the lecture's own softmax $g$ it reaches every $h_{k,t}$: the sum "
                          r"over $k$ is needed (next step shows the printed form fails)."),
        Step("bptt-params-as-printed", "... and the lecture's index, refuted",
             sp.Ne(D(LOSS, nt.u(j, i)), sp.Sum(mul(D(LOSS, nt.h(i, t)), pD(nt.h(i, t), nt.u(j, i))), (t, 1, T)),
                   evaluate=False),
             "Evaluated on the lecture's RNN with random weights, the printed formula gives a different number "
             "from the true derivative.",
             Refutation(*checks.lecture_u_formula(seed, False), trials=3)),
    ]


def _the_whole_gradient(seed: int, lecture_rnn: bptt.BPTT) -> list[Step]:
    """The whole gradient: directly at T = 3, at 50 digits for large sizes, in generated code, as a deep network."""
    return [
        Step("bptt-whole", "The whole gradient, directly",
             eq(D(LOSS, U), sp.Sum(mul(lecture_rnn.param_grads["U"]), (t, 1, T))),
             "For $T = 3$ the loss is expanded into one expression of the weights and differentiated directly; "
             "BPTT gives the same gradient for every weight of every cell (symbolic weights: an algebraic "
             "identity; $N = 2$ and 3, and $N = 2$ for the GRU).",
             Instances(lambda: checks.whole(seed), "BPTT vs direct differentiation of the unrolled loss")),
        Step("bptt-exact", "Large sizes, 50 digits",
             eq(D(LOSS, W), sp.Sum(mul(lecture_rnn.param_grads["W"]), (t, 1, T))),
             r"At $N = 16$ and $T = 64$ the expressions are too large to expand, but evaluating the recursion at a "
             r"random rational point to 90 digits and comparing with a central difference of step $10^{-35}$ (error "
             r"$10^{-70}$) checks the formulas, not just floating-point agreement.",
             Computation(checks.exact, "BPTT vs 50-digit directional derivatives")),
        Step("bptt-numeric", "The generated code",
             eq(D(LOSS, U), sp.Sum(mul(lecture_rnn.param_grads["U"]), (t, 1, T))),
             "The same expressions, generated as NumPy kernels and run as a loop over $t$ on a batch, agree with "
             "central finite differences (float64, step chosen from a sweep, tolerance from the differences' own "
             "error).",
             Computation(checks.numeric, "generated code vs finite differences")),
        Step("deep-network", "A very deep network",
             eq(D(LOSS, U), sp.Sum(D(LOSS, nt.LayerCopy(U, t)), (t, 1, T))),
             "Unrolled over $T$ steps, the RNN is a $T$-layer network whose layers share $U$ and $W$. Give layer $t$ "
             "its own copy $U^{(t)}$, back-propagate through the layers, and add the copies' gradients: that is "
             "BPTT.",
             Instances(lambda: checks.deep_network(seed), "layered back-propagation vs BPTT")),
    ]


def _forgetting() -> list[Step]:
    """Exponential forgetting of the state and of the gradient."""
    h0 = nt.Vec("h", 0, 1)
    return [
        Step("forgetting-feedback", "The example: a feedback matrix of one half",
             eq(sp.MatrixSymbol("U", 1, 1), nt.Parenthesised(HALF)),
             r"The lecture's example of forgetting: a $1 \times 1$ feedback matrix (one state). Its only eigenvalue, "
             r"$1/2$, is its spectral radius: each multiplication by $U$ halves what it multiplies, so "
             r"$U^k = (1/2)^k$.",
             Instances(checks.feedback_identities, "spectral radius and powers"),
             lecture=r"the feedback matrix is  $U = \left(\frac{1}{2}\right)$"),
        Step("forgetting-one-step", "One step halves the state",
             eq(nt.Vec("h", t, 1), sp.MatMul(nt.Parenthesised(HALF), nt.Vec("h", t - 1, 1), evaluate=False)),
             r"The RNN $\vec{h}_t = g(U\vec{h}_{t-1} + W\vec{x}_t)$ with this $U$, $g$ linear and no input "
             r"($\vec{x}_t = 0$, as the lecture's example assumes): one step is $\vec{h}_t = (1/2)\vec{h}_{t-1}$, "
             r"whatever $W$. Checked on symrnn's model of the cell, evaluated entry by entry.",
             Instances(checks.halving_identities, "the model's step"),
             lecture=r"so that  $\vec{h}_t = \left(\frac{1}{2}\right)\vec{h}_{t-1}$"),
        Step("forgetting-closed-form", "Exponential forgetting",
             eq(nt.Vec("h", t, 1), sp.Mul(sp.Pow(HALF, t, evaluate=False), h0, evaluate=False)),
             r"With $U = 1/2$, a linear $g$ and no input, each step halves the state: $\vec{h}_0$ survives as "
             r"$(1/2)^t\vec{h}_0$. By induction: true at $t = 0$, and "
             r"$(1/2)((1/2)^{t-1}\vec{h}_0) = (1/2)^t\vec{h}_0$.",
             Instances(lambda: [Identity(HALF * (sp.Pow(HALF, t - 1) * h0), sp.Pow(HALF, t) * h0,
                                         simplifier="simplify", label="induction step"),
                                Identity(sp.Pow(HALF, 0) * h0, h0, label="$t = 0$")], "induction"),
             lecture=r"then  $\vec{h}_t = \left(\frac{1}{2}\right)^t$",
             lecture_note=r"The lecture writes $\vec{h}_t = (1/2)^t$: it drops $\vec{h}_0$ (and the input), and "
                          "sets a vector equal to a number."),
        Step("forgetting-jacobian", "The gradient forgets too",
             eq(pD(nt.Vec("h", t, nt.N), nt.Vec("h", 0, nt.N)), sp.MatPow(U, t)),
             r"For the linear RNN $\vec{h}_t = U\vec{h}_{t-1} + W\vec{x}_t$, the derivative of $\vec{h}_t$ in "
             r"$\vec{h}_0$ is the product of $t$ Jacobians, each $U$: it shrinks like the $t$-th power of $U$'s "
             "spectral radius (figure).",
             Instances(lambda: [checks.jacobian_identity(n, steps) for n, steps in ((2, 5), (3, 4))],
                       "explicit $U^t$")),
    ]
