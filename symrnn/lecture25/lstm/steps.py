"""Section ``lstm``, the content: exponential forgetting and long short-term memory (notation in
:mod:`~symrnn.lecture25.lstm.formulas`; checks in ``checks_cell``, ``checks_bptt``, ``checks_standard``; the figure
in :mod:`~symrnn.lecture25.lstm.figures`).

The lecture's LSTM is written exactly as the lecture writes it (five equations, gates without biases, no tanh)
and checked to be the cell :func:`symrnn.models.lstm.lecture_lstm` that the generic BPTT engine differentiates;
the standard LSTM of ``torch.nn.LSTM`` stands beside it.  The memory cell is solved in closed form, which shows
what the forget gate does that a plain RNN's U cannot.  BPTT through the state pair (h_t, c_t) is printed in the
lecture's notation and checked against the engine (one step, symbolically), against direct differentiation of
the unrolled loss (small sizes, symbolically), at random rational points (50 digits) and on the generated NumPy
code (finite differences).  The plain RNN's own forgetting, h_t = (1/2)^t h_0, is proved in section ``bptt``.
"""

from __future__ import annotations

import sympy as sp

from symrnn import notation as nt
from symrnn.core.derivation import Computation, Derivation, Figure, Instances, Step
from symrnn.lecture25.common import eq
from symrnn.lecture25.lstm import checks_bptt, checks_cell, checks_standard, figures
from symrnn.lecture25.lstm.formulas import (
    HALF,
    TAU,
    c_,
    closed_form,
    dc_equation,
    dh_equation,
    dL,
    f_,
    gate,
    m,
    odot,
    param_equations,
    param_term,
    tanh_slope,
    time_sum,
    two_state_recursion,
    vec,
)
from symrnn.models import lstm

t, N, V, j, k = nt.t, nt.N, nt.V, nt.j, nt.k
D_ = lstm.D
h_t, c_t = vec("h", t), vec("c", t)

LOCATORS = {"f": "Forget Gate</u>:", "i": "Input Gate:", "o": "Output Gate</u>:", "c": "Cell</u>:",
            "h": "Output:</u>"}
TITLES = {"f": "Forget gate", "i": "Input gate", "o": "Output gate", "c": "The memory cell", "h": "The output"}
REASONS = {
    "f": "A sigmoid of the previous output and the current input, entry by entry: each entry of $f_t$ lies "
         "strictly between 0 and 1 and says how much of the same entry of the memory cell to keep.",
    "i": "The same form with its own weights: how much of the input to write into the cell.",
    "o": r"The same form again: how much of the cell to show as the output $\vec{h}_t$.",
    "c": "Gates and vectors multiply entry by entry (the lecture writes the product by juxtaposition; symrnn "
         r"means the elementwise product). Because $i_t$ multiplies $\vec{x}_t$ entrywise, the input must have as "
         r"many entries as the cell: $\vec{x}_t$ is an $N$-vector here, not the $(V+1)$-entry one-hot vector of the "
         "RNN section.",
    "h": r"The output is the cell scaled by the output gate, with no squashing: $\vec{h}_t$ grows with $\vec{c}_t$.",
}
NOTES = {
    "f": r"The lecture writes the gates $f_t$, $i_t$, $o_t$ without arrows; they are $N$-vectors ($\sigma$ applies "
         "entry by entry), so symrnn prints them as the lecture does but computes with vectors.",
    "c": r"The lecture's product $f_t\vec{c}_{t-1}$ is elementwise (a gate vector times a cell vector), and "
         r"$i_t\vec{x}_t$ needs $\vec{x}_t$ to have the cell's $N$ entries.",
}
SECTION_NOTES = (
    "Where the lecture's slides say something its equations do not. (1) \"The LSTM compares "
    "$U_f\\vec{h}_{t-1}$ to $W_f\\vec{x}_t$\": the forget gate adds the two inside the sigmoid; nothing is "
    "compared unless the weights make one term act against the other. (2) \"This is just like a regular RNN, "
    "except that now $f_t$ and $i_t$ are not constant\": true of the cell equation with a diagonal $U$ ($f_t$ "
    r"multiplies $\vec{c}_{t-1}$ entry by entry) and with the input written in through $i_t$ rather than through "
    r"a matrix $W$; the RNN's $U$ mixes entries, the forget gate never does. (3) The gates are written $f_t$, "
    r"$i_t$, $o_t$ without arrows, as if scalars; they are $N$-vectors. (4) "
    r"$\vec{c}_t = f_t\vec{c}_{t-1} + i_t\vec{x}_t$ adds the raw input to the cell, so $\vec{x}_t$ must have the "
    r"cell's size: with the RNN section's one-hot $\vec{x}_t$ ($V+1$ entries) the equations do not type-check "
    r"unless $N = V+1$; PyTorch's LSTM writes a learned $g_t = \tanh(W_g\vec{x}_t + U_g\vec{h}_{t-1} + b)$ "
    "instead. (5) \"$\\vec{h}_{t-1}$ is equal to the previous time step's memory cell, multiplied by an output "
    "gate $o_{t-1}$\" agrees with $\\vec{h}_t = o_t\\vec{c}_t$; \"it decides whether it needs to make such a "
    "comparison\" is an interpretation: every gate is computed at every step. (6) \"Then the state vector "
    "decays as $(1/2)^t$\" drops $\\vec{h}_0$ (section bptt).",
    r"The lecture's $\vec{h}_t = o_t\vec{c}_t$ has no squashing, and $\vec{c}_t$ accumulates $i_t\vec{x}_t$ at "
    r"every step, so with forget gates near 1 the lecture's $\vec{h}_t$ grows with $t$ (linearly for a constant "
    r"input); PyTorch's $\tanh(\vec{c}_t)$ keeps $\vec{h}_t$ in $(-1, 1)$.",
)
FIGURE_CAPTION = (
    r"Left: the fraction of what the state held at step 1 that is left at step $t$, for the linear RNN with "
    r"$U = 1/2$ and for the lecture's LSTM cell (entry 1 of the product of its forget gates; $N = 2$, small "
    r"random weights with $W_f = +5I$ or $-5I$ and $W_i = -2I$ added, inputs between 0.5 and 1.5). Right: the "
    r"size of the gradient $d\mathfrak{L}/d\vec{h}_1$ when the loss has an error only at the last step $T$, from "
    r"symrnn's BPTT on the same models."
)
INTRO = (
    r"A plain RNN forgets: with $U = 1/2$ and a linear $g$ the state halves at every step (section bptt). The "
    r"lecture's LSTM replaces the fixed factor by a forget gate $f_t$ that the network sets from its input, and "
    r"keeps a memory cell $\vec{c}_t$ beside its output $\vec{h}_t$. symrnn writes the lecture's five equations "
    r"exactly, solves the cell in closed form, derives back-propagation through time for the pair "
    r"$(\vec{h}_t, \vec{c}_t)$ with the same engine as every other cell, and sets PyTorch's standard LSTM beside "
    r"the lecture's."
)


def derivation(seed: int = 0) -> Derivation:
    """The section's steps: forgetting, the lecture's LSTM, its closed form, BPTT, and the standard LSTM."""
    steps = [*_five_equations(), *_the_cell(), *_bptt(seed), *_bptt_at_scale(), *_the_standard_lstm()]
    return Derivation("lstm", "Exponential forgetting and long short-term memory", INTRO, steps, notes=SECTION_NOTES,
                      figures=(Figure("lstm-forgetting", FIGURE_CAPTION, figures.forgetting_figure),))


def _five_equations() -> list[Step]:
    """The lecture's gates, cell and output, as the lecture writes them."""
    lec = lstm.lecture_equations()
    steps = [Step(f"lstm-{key}", TITLES[key], lec[key], REASONS[key], checks_cell.equation_check(key, lec[key]),
                  lecture=LOCATORS[key], lecture_note=NOTES.get(key, "")) for key in ("f", "i", "o", "c", "h")]
    return [*steps[:2], *_the_forget_gate(), *steps[2:]]


def _the_forget_gate() -> list[Step]:
    """The lecture's two claims about f_t: near 1 the cell remembers, near 0 it forgets."""
    f_t = gate("f", t)
    return [
        Step("remember", "To remember, $f_t$ near 1", nt.Approx(f_t, 1),
             r"Since $0 < \sigma < 1$, the gate is never exactly 1, but the weights can bring it as close as they "
             r"want. The derivative of $\vec{c}_t$ in $\vec{c}_{t-1}$ is $f_t$: near 1, what the cell held passes on "
             r"almost whole, and with the input gate closed $\vec{c}_t$ is $\vec{c}_{t-1}$.",
             Instances(lambda: checks_cell.gate_limit_identities(True), r"$\sigma$'s limit and the cell's equation"),
             lecture="If the LSTM wants to remember what it knows, then it will choose"),
        Step("forget", "To forget, $f_t$ near 0", nt.Approx(f_t, 0),
             r"Near 0 the gate drops what the cell held: at the limit $\vec{c}_t = i_t\vec{x}_t$, nothing of "
             r"$\vec{c}_{t-1}$ is left.",
             Instances(lambda: checks_cell.gate_limit_identities(False), r"$\sigma$'s limit and the cell's equation"),
             lecture="If the LSTM wants to forget what it knows, then it will choose"),
    ]


def _the_cell() -> list[Step]:
    """The cell unrolled and in closed form, the RNN as a special case, and what survives along the cell."""
    f1, i1, f2, i2 = gate("f", 1), gate("i", 1), gate("f", 2), gate("i", 2)
    first = sp.MatAdd(nt.Juxtaposed(f1, vec("c", 0)), nt.Juxtaposed(i1, vec("x", 1)), evaluate=False)
    return [
        Step("lstm-unrolled", "Unrolled",
             (eq(vec("c", 1), first), eq(vec("c", 2), sp.MatAdd(nt.Juxtaposed(f2, first),
                                                                nt.Juxtaposed(i2, vec("x", 2)), evaluate=False))),
             r"Run forward from $\vec{h}_0$ and $\vec{c}_0$, each gate computed from the previous output and the "
             r"current input. symrnn unrolls the cell for any $T$ (`symrnn.models.lstm.unroll`), one named step at a "
             "time.",
             Computation(checks_cell.unrolled_check, "unrolled cell")),
        Step("cell-closed-form", "The memory cell in closed form",
             eq(c_[m, t], closed_form(t)),
             r"Entry $m$ of the cell keeps its initial value scaled by every forget gate since, plus each input "
             r"written at step $k$ ($i_k\vec{x}_k$) scaled by the forget gates after it. With $\vec{c}_0 = 0$ only "
             "the sum remains.",
             Computation(checks_cell.closed_form_check, "closed form by induction")),
        Step("rnn-as-cell", "A plain RNN is the cell with constant gates",
             eq(h_t, sp.Add(HALF**t * vec("h", 0), sp.Sum(HALF ** (t - TAU) * nt.matrix("W", N, V + 1)
                                                            * vec("x", TAU, V + 1), (TAU, 1, t)), evaluate=False)),
             "The lecture: \"just like a regular RNN, except that now $f_t$ and $i_t$ are not constant\". The "
             r"linear RNN $\vec{h}_t = (1/2)\vec{h}_{t-1} + W\vec{x}_t$ is the cell with $f_t = 1/2$, $i_t = 1$ and "
             r"$W\vec{x}_t$ written into it, so its closed form follows; without input it is section bptt's "
             r"$\vec{h}_t = (1/2)^t\vec{h}_0$. The RNN's $U$ is a matrix, the LSTM's $f_t$ a diagonal one that the "
             "network sets at every step.",
             Computation(checks_cell.rnn_special_case, "the RNN as a special case")),
        Step("survival", "How much survives",
             eq(nt.PartialDerivative(c_[m, t], c_[m, k]), sp.Product(f_[m, j], (j, k + 1, t))),
             r"Along the cell, gates held fixed, what was in the cell at step $k$ reaches step $t$ multiplied by the "
             r"forget gates in between. For the RNN with $U = 1/2$ the factor is $(1/2)^{t-k}$, whatever the input; "
             r"the LSTM sets $f_j$ from its input: near 1 it keeps its memory for many steps, near 0 it forgets at "
             r"once. Since $0 < \sigma < 1$, the product always shrinks a little (0.99 per step leaves about 0.37 "
             r"after 100 steps). The figure compares the two, and the size of the gradient that reaches "
             r"$\vec{h}_1$.",
             Computation(checks_cell.survival_check, "derivative along the cell")),
    ]


def _bptt(seed: int) -> list[Step]:
    """Back-propagation through time with two states: entry by entry, in vectors, and the weight gradients."""
    return [
        Step("bptt-entries", "Back-propagation through time with two states",
             two_state_recursion(),
             r"The lecture's recursion, for the LSTM's two states. $h_{i,t}$ reaches the loss directly, through the "
             r"output gate of step $t+1$ (into $\vec{h}_{t+1}$, with $\vec{c}_{t+1}$ held fixed) and through the "
             r"forget and input gates of step $t+1$ (into $\vec{c}_{t+1}$). $c_{i,t}$ reaches it through "
             r"$h_{i,t} = o_{i,t} c_{i,t}$ and through $c_{i,t+1} = f_{i,t+1} c_{i,t} + i_{i,t+1} x_{i,t+1}$: entry "
             r"$i$ only, since gates multiply entrywise. Checked on the whole sequence: perturb $\vec{h}_t$ or "
             r"$\vec{c}_t$ inside the unrolled loss and differentiate.",
             Instances(lambda: checks_bptt.state_errors(seed), "recursion vs direct differentiation of the unrolled "
                                                               "loss"),
             lecture=r"\frac{d\mathfrak{L}}{dh_{i,t}} = \frac{\partial\mathfrak{L}}{\partial h_{i,t}} + \frac{d",
             lecture_note=r"The lecture's recursion has one state. The LSTM's $\vec{h}_t$ also reaches the future "
                          r"through $\vec{c}_{t+1}$'s gates, and $\vec{c}_t$ has a recursion of its own; symrnn "
                          "writes the sum over the next step's entries $j$, which the lecture leaves implicit."),
        Step("bptt-h", r"The gradient in $\vec{h}_t$",
             dh_equation(),
             r"In vectors: each gate's sigmoid contributes its slope $g(1 - g)$, and the gate's recurrent matrix "
             r"carries the error back to $\vec{h}_t$. This is the engine's derived step "
             r"(`symrnn.autodiff.bptt.derive` on the cell, squared error) with the gates named; proved one step at a "
             r"time, which by induction on $T - t$ proves it for every $T$.",
             Instances(checks_bptt.one_step("h", engine_sizes=(2,)), "displayed step ($N = 2, 3$) = engine's step = "
                                                                     "entry-level `sp.diff` ($N = 2$)")),
        Step("bptt-c", r"The gradient in $\vec{c}_t$",
             dc_equation(),
             "The cell's error comes from the output (through $o_t$) and from the next cell (through $f_{t+1}$); "
             "with forget gates near 1 it passes back along the cell almost unchanged, which is how the LSTM keeps "
             "gradients from vanishing. At $t = T$ the second term is 0.",
             Instances(checks_bptt.one_step("c"), "displayed step = engine's step = entry-level `sp.diff`")),
        Step("bptt-weights-u", "The gradients in the recurrent weights",
             param_equations("U"),
             r"Each step adds the gate's error, through its slope, times the previous output ($\vec{h}_{t-1}$ held "
             r"fixed). For $T = 2$ the loss is also expanded into one expression and differentiated directly.",
             Instances(lambda: [*checks_bptt.one_step("U", sizes=(2, 3), engine_sizes=(2,))(),
                                *checks_bptt.whole_gradient(seed, "U")],
                       "displayed = engine = entry-level `sp.diff`; whole gradient = `sp.diff`")),
        Step("bptt-weights-w", "The gradients in the input weights",
             param_equations("W"),
             r"The same with the input $\vec{x}_t$ in place of $\vec{h}_{t-1}$.",
             Instances(lambda: [*checks_bptt.one_step("W", sizes=(2, 3), engine_sizes=(2,))(),
                                *checks_bptt.whole_gradient(seed, "W")],
                       "displayed = engine = entry-level `sp.diff`; whole gradient = `sp.diff`")),
    ]


def _bptt_at_scale() -> list[Step]:
    """BPTT at sizes too large to expand: 50 digits, and the generated code."""
    return [
        Step("bptt-exact", "Larger sizes, 50 digits",
             eq(dL(nt.matrix("U_f", N, N)), time_sum(param_term("U_f"))),
             "Too large to expand: the recursion is evaluated at a random rational point to 90 digits and compared "
             "with a central difference of step $10^{-35}$ along random directions (section bptt's exact check).",
             Computation(checks_bptt.exact(((lstm.lecture_lstm(5), 10), (lstm.standard_lstm(3, 2), 8))),
                         "BPTT vs 50-digit directional derivatives")),
        Step("bptt-numeric", "The generated training code",
             eq(dL(nt.matrix("W_o", N, N)), time_sum(param_term("W_o"))),
             "symrnn's training module (`symrnn.autodiff.training`) compiles the same derived step into NumPy "
             "kernels over a batch; central finite differences of its loss check its gradients in float64.",
             Computation(checks_bptt.numeric, "generated code vs finite differences")),
    ]


def _the_standard_lstm() -> list[Step]:
    """PyTorch's LSTM: its equations, its packed tensors, beside the lecture's, and BPTT through it."""
    return [
        Step("standard-lstm", "The standard LSTM (torch.nn.LSTM)",
             nt.Table(["equation", "PyTorch (nn.LSTM)"], [[nt.Words(name), e] for name, e in zip(
                 ("input gate", "forget gate", "candidate", "output gate", "cell", "output"),
                 lstm.standard_equations().values(), strict=True)]),
             r"PyTorch's equations with symrnn's names: $W$ for input weights ($N \times D$), $U$ for recurrent "
             r"ones, two biases per gate, a $\tanh$ candidate $g_t$, and $\tanh$ on the output. The input has its "
             "own size $D$.",
             Computation(checks_standard.standard_equations_check, "standard cell vs PyTorch's documented formulas")),
        Step("torch-packing", "PyTorch's packed tensors",
             _packed_tensors(),
             r"PyTorch's four tensors of a layer (input and recurrent weights, input and recurrent biases) stack the "
             r"gates in the order $i, f, g, o$. symrnn reads a module into these matrices and writes them back "
             r"(tested against `torch.nn.LSTM` itself: states and gradients agree to $10^{-10}$).",
             Computation(checks_standard.packing_check, "unpack / pack")),
        Step("side-by-side", "The lecture's LSTM beside the standard one",
             side_by_side(),
             "Same gates, same cell recursion; the standard LSTM adds biases, passes the input through a learned "
             r"$\tanh$ layer $g_t$ before writing it (so its input may have any size $D$, where the lecture's needs "
             r"$D = N$), and squashes the output. The table feeds both the same $\vec{x}_t$ ($D = N$).",
             Computation(checks_standard.differences_check, "the table's equations and the difference")),
        Step("standard-bptt", "BPTT through the standard LSTM",
             eq(dL(c_t), sp.MatAdd(odot(gate("o", t), tanh_slope(c_t), dL(h_t)),
                                   odot(gate("f", t + 1), dL(vec("c", t + 1))), evaluate=False)),
             r"The same engine and the same cell recursion; $\tanh$ on the output adds its slope "
             r"$1 - \tanh^2(\vec{c}_t)$ "
             "(the circle marks the entrywise square). "
             "The engine's step is proved at entry level here; the whole gradient is checked at 50 digits and on "
             "generated code above, and against torch.autograd in the tests.",
             Instances(checks_bptt.standard_one_step, "displayed = engine = entry-level `sp.diff`, $N = 2$, $D = 2$")),
    ]


def _packed_tensors() -> tuple[sp.Eq, ...]:
    """PyTorch's four tensors as blocks of symrnn's matrices, in its gate order i, f, g, o."""
    def stacked(name: str, rows: sp.Expr, cols: sp.Expr, block: str, block_cols: sp.Expr) -> sp.Eq:
        return eq(sp.MatrixSymbol(name, rows, cols),
                  sp.BlockMatrix([[nt.matrix(block.format(g=g), N, block_cols)] for g in lstm.TORCH_GATES]))
    return (stacked("W_ih", 4 * N, D_, "W_{g}", D_), stacked("W_hh", 4 * N, N, "U_{g}", N),
            stacked("b_ih", 4 * N, 1, "b_i{g}", 1), stacked("b_hh", 4 * N, 1, "b_h{g}", 1))


def side_by_side() -> nt.Table:
    """Both cells on one input x_t: the standard LSTM with D = N, the size the lecture's cell needs (each name has
    one size in the table, so the printed table reads back as the object it was printed from)."""
    lec, std = lstm.lecture_equations(), lstm.standard_equations(N, N)
    W = nt.Words  # noqa: N806

    def biases(g):
        return sp.Tuple(W("adds the biases"), sp.MatAdd(nt.matrix(f"b_i{g}", N, 1), nt.matrix(f"b_h{g}", N, 1),
                                                       evaluate=False))
    rows = [
        [W("forget gate"), lec["f"], std["f"], biases("f")],
        [W("input gate"), lec["i"], std["i"], biases("i")],
        [W("output gate"), lec["o"], std["o"], biases("o")],
        [W("candidate"), W("none"), std["g"], sp.Tuple(W("a tanh layer of"), vec("x", t), W("and"),
                                                       vec("h", t - 1))],
        [W("cell"), lec["c"], std["c"], sp.Tuple(gate("g", t), W("in place of"), vec("x", t))],
        [W("output"), lec["h"], std["h"], sp.Tuple(W("tanh keeps"), vec("h", t), W("between -1 and 1"))],
    ]
    return nt.Table(["equation", "lecture", "PyTorch (nn.LSTM)", "what differs"], rows)
