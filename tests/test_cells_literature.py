"""Cells from the literature written in LaTeX (plain letters, ``\\mathbf``, ``\\boldsymbol``, ``\\vec``; ``W_{xi}`` and
``W_i`` names; ``\\odot`` and ``\\circ``), a Jordan network whose output is fed back, and output layers with the loss
written as an equation: each is read with ``read_cell``, compiled with ``compile_bptt``, and its loss and every
parameter's gradient compared with torch autograd of an independent torch implementation written here (float64)."""

from __future__ import annotations

import numpy as np
import pytest

from symrnn.autodiff.training import compile_bptt
from symrnn.derive import CellError, DefinedTwice, ShapesDisagree, UndefinedQuantity, UnreadableEquation, read_cell
from symrnn.derive.cell_reading import loss_equation
from symrnn.derive.checks import LOSSES, Spec
from symrnn.derive.errors import UnsupportedLoss

torch = pytest.importorskip("torch")

T, B = 4, 3
TOL = 1e-10

JORDAN = r"""
A Jordan network (Jordan 1986): the output, not the hidden layer, is fed back.
The hidden layer has its own size: $\boldsymbol{h}_t \in \mathbb{R}^{k}$.

$$\boldsymbol{h}_t = \tanh(\boldsymbol{W}\boldsymbol{x}_t + \boldsymbol{U}\boldsymbol{o}_{t-1} + \boldsymbol{b})$$
$$\boldsymbol{o}_t = \sigma(\boldsymbol{V}\boldsymbol{h}_t + \boldsymbol{c})$$
"""

JORDAN_PLAIN = r"""
The hidden layer's size: $h_t \in \mathbb{R}^{4}$.
$$h_t = \tanh(W_h x_t + U_h o_{t-1} + b_h)$$
$$o_t = \sigma(W_o h_t + b_o)$$
"""

PEEPHOLE = r"""
Peephole LSTM (Gers & Schmidhuber 2000), with $W_{xi}$-style names and peephole weights $w_{ci}$:
\begin{align}
i_t &= \sigma(W_{xi} x_t + W_{hi} h_{t-1} + w_{ci} \odot c_{t-1} + b_i) \\
f_t &= \sigma(W_{xf} x_t + W_{hf} h_{t-1} + w_{cf} \odot c_{t-1} + b_f) \\
c_t &= f_t \odot c_{t-1} + i_t \odot \tanh(W_{xc} x_t + W_{hc} h_{t-1} + b_c) \\
o_t &= \sigma(W_{xo} x_t + W_{ho} h_{t-1} + w_{co} \odot c_t + b_o) \\
h_t &= o_t \odot \tanh(c_t)
\end{align}
"""

CIFG = r"""
The coupled input-forget gate LSTM (CIFG, Greff et al. 2017): the input gate is $1 - \mathbf{f}_t$.

$$\mathbf{z}_t = \tanh(\mathbf{W}_z \mathbf{x}_t + \mathbf{R}_z \mathbf{h}_{t-1} + \mathbf{b}_z)$$
$$\mathbf{f}_t = \sigma(\mathbf{W}_f \mathbf{x}_t + \mathbf{R}_f \mathbf{h}_{t-1} + \mathbf{b}_f)$$
$$\mathbf{o}_t = \sigma(\mathbf{W}_o \mathbf{x}_t + \mathbf{R}_o \mathbf{h}_{t-1} + \mathbf{b}_o)$$
$$\mathbf{c}_t = \mathbf{f}_t \circ \mathbf{c}_{t-1} + (1 - \mathbf{f}_t) \circ \mathbf{z}_t$$
$$\mathbf{h}_t = \mathbf{o}_t \circ \tanh(\mathbf{c}_t)$$
"""

UGRNN = r"""
The update-gate RNN (UGRNN, Collins et al. 2017):

$$\boldsymbol{c}_t = \tanh(\boldsymbol{W}_{cx}\boldsymbol{x}_t + \boldsymbol{W}_{ch}\boldsymbol{h}_{t-1}
    + \boldsymbol{b}_c)$$
$$\boldsymbol{g}_t = \sigma(\boldsymbol{W}_{gx}\boldsymbol{x}_t + \boldsymbol{W}_{gh}\boldsymbol{h}_{t-1}
    + \boldsymbol{b}_g)$$
$$\boldsymbol{h}_t = \boldsymbol{g}_t \odot \boldsymbol{h}_{t-1} + (1 - \boldsymbol{g}_t) \odot \boldsymbol{c}_t$$
"""

MINIMAL_RNN = r"""
The minimal RNN (Chen 2017), in the lecture's arrows: $\Phi$ maps the input into the latent space.

$$\vec{z}_t = \tanh(W_x \vec{x}_t + \vec{b}_z)$$
$$\vec{u}_t = \sigma(U_h \vec{h}_{t-1} + U_z \vec{z}_t + \vec{b}_u)$$
$$\vec{h}_t = \vec{u}_t \odot \vec{h}_{t-1} + (1 - \vec{u}_t) \odot \vec{z}_t$$
"""

JANET = r"""
JANET (van der Westhuizen & Lasenby 2018): a forget gate only, its candidate gate shifted by $\beta = 1$.
$$
\begin{aligned}
s_t &= U_f h_{t-1} + W_f x_t + b_f \\
\tilde{c}_t &= \tanh(U_c h_{t-1} + W_c x_t + b_c) \\
h_t &= \sigma(s_t) \odot h_{t-1} + (1 - \sigma(s_t - 1)) \odot \tilde{c}_t
\end{aligned}
$$
"""

SRU = r"""
The simple recurrent unit (SRU, Lei et al. 2017), the highway input projected ($\mathbf{W}_h$) since D and N differ:

$$\tilde{\mathbf{x}}_t = \mathbf{W}\mathbf{x}_t$$
$$\mathbf{f}_t = \sigma(\mathbf{W}_f \mathbf{x}_t + \mathbf{b}_f)$$
$$\mathbf{r}_t = \sigma(\mathbf{W}_r \mathbf{x}_t + \mathbf{b}_r)$$
$$\mathbf{c}_t = \mathbf{f}_t \odot \mathbf{c}_{t-1} + (1 - \mathbf{f}_t) \odot \tilde{\mathbf{x}}_t$$
$$\mathbf{h}_t = \mathbf{r}_t \odot \tanh(\mathbf{c}_t) + (1 - \mathbf{r}_t) \odot \mathbf{W}_h \mathbf{x}_t$$
"""

RAN = r"""
The recurrent additive network (RAN, Lee et al. 2017), tanh variant:
\begin{align}
\tilde{c}_t &= W_{cx} x_t \\
i_t &= \sigma(W_{ih} h_{t-1} + W_{ix} x_t + b_i) \\
f_t &= \sigma(W_{fh} h_{t-1} + W_{fx} x_t + b_f) \\
c_t &= i_t \circ \tilde{c}_t + f_t \circ c_{t-1} \\
h_t &= \tanh(c_t)
\end{align}
"""

ELMAN_SOFTMAX_OUTPUT = r"""
An Elman network with an output layer, and the loss as an equation (the notation of Goodfellow et al. 10.2):

$$h_t = \tanh(W x_t + U h_{t-1} + b)$$
$$o_t = V h_t + c$$
$$\hat{y}_t = \mathrm{softmax}(o_t)$$
$$L = -\sum_t \sum_j y_{j,t} \log \hat{y}_{j,t}$$
"""

LSTM_REGRESSION = r"""
An LSTM with a linear read-out, trained on squared error:
\begin{align}
\mathbf{f}_t &= \sigma(\mathbf{W}_f \mathbf{x}_t + \mathbf{U}_f \mathbf{h}_{t-1} + \mathbf{b}_f) \\
\mathbf{i}_t &= \sigma(\mathbf{W}_i \mathbf{x}_t + \mathbf{U}_i \mathbf{h}_{t-1} + \mathbf{b}_i) \\
\mathbf{o}_t &= \sigma(\mathbf{W}_o \mathbf{x}_t + \mathbf{U}_o \mathbf{h}_{t-1} + \mathbf{b}_o) \\
\mathbf{c}_t &= \mathbf{f}_t \odot \mathbf{c}_{t-1} + \mathbf{i}_t \odot \tanh(\mathbf{W}_c \mathbf{x}_t
    + \mathbf{U}_c \mathbf{h}_{t-1} + \mathbf{b}_c) \\
\mathbf{h}_t &= \mathbf{o}_t \odot \tanh(\mathbf{c}_t) \\
\hat{\mathbf{y}}_t &= \mathbf{W}_y \mathbf{h}_t + \mathbf{b}_y
\end{align}
$$\mathcal{L} = \frac{1}{2}\sum_{t=1}^{T} \|\hat{\mathbf{y}}_t - \mathbf{y}_t\|^2$$
"""


# ---- the comparison with torch -------------------------------------------------------------------------------------


def _torch_loss(out, y, kind: str):
    if kind == "squared":
        return 0.5 * ((out - y) ** 2).sum()
    return -(y * torch.log(out)).sum()


def _check(cell, step, init, kind: str = "squared", seed: int = 0):
    """``compile_bptt``'s loss and gradients against torch autograd: ``step(p, state, x) -> (state, out)`` is the
    torch cell (its own states, from ``init``: a list of names), the loss reads ``out``, summed over t and batch."""
    rng = np.random.default_rng(seed)
    params = {p.name: rng.normal(scale=0.6, size=(p.rows, p.cols)) for p in cell.params}
    xs = rng.normal(size=(T, cell.n_input, B))
    if kind == "squared":
        ys = rng.normal(size=(T, cell.n_output, B))
        targets = ys
    else:
        targets = rng.integers(0, cell.n_output, size=(T, B))
        ys = np.zeros((T, cell.n_output, B))
        ys[np.arange(T)[:, None], targets, np.arange(B)[None, :]] = 1.0
    loss, grads = compile_bptt(cell, LOSSES[kind]()).loss_and_grads(params, xs, targets)

    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    state = {s: torch.zeros(cell.size(s), B, dtype=torch.float64) for s in init}
    total = torch.zeros((), dtype=torch.float64)
    for t in range(T):
        state, out = step(p, state, torch.tensor(xs[t]))
        total = total + _torch_loss(out, torch.tensor(ys[t]), kind)
    total.backward()
    assert set(grads) == set(p)
    assert abs(loss - total.item()) <= TOL * max(1.0, abs(total.item()))
    for name, g in grads.items():
        np.testing.assert_allclose(g, p[name].grad.numpy(), rtol=TOL, atol=TOL, err_msg=name)


sig, tanh = torch.sigmoid, torch.tanh


def test_jordan_network_feeds_its_output_back():
    cell = read_cell(JORDAN, name="jordan", n_state=3, n_input=2, sizes={"k": 4})
    assert (cell.states, cell.output) == (("o",), "o")  # h is an intermediate: h_{t-1} is never used
    assert {p.name: (p.rows, p.cols) for p in cell.params} == {"W": (4, 2), "U": (4, 3), "b": (4, 1),
                                                               "V": (3, 4), "c": (3, 1)}

    def step(p, s, x):
        h = tanh(p["W"] @ x + p["U"] @ s["o"] + p["b"])
        o = sig(p["V"] @ h + p["c"])
        return {"o": o}, o
    _check(cell, step, ["o"], seed=1)


def test_jordan_in_plain_letters_and_the_output_chosen():
    cell = read_cell(JORDAN_PLAIN)
    assert (cell.states, cell.output) == (("o",), "o")

    def hidden(p, s, x):
        return tanh(p["W_h"] @ x + p["U_h"] @ s["o"] + p["b_h"])

    def step(p, s, x):
        o = sig(p["W_o"] @ hidden(p, s, x) + p["b_o"])
        return {"o": o}, o
    _check(cell, step, ["o"], seed=2)
    on_h = read_cell(JORDAN_PLAIN, output="h")  # the loss on the hidden layer: h becomes an output state
    assert (on_h.states, on_h.output) == (("o", "h"), "h")

    def step_h(p, s, x):
        h = hidden(p, s, x)
        return {"o": sig(p["W_o"] @ h + p["b_o"])}, h
    _check(on_h, step_h, ["o"], seed=3)


def test_peephole_lstm():
    cell = read_cell(PEEPHOLE, n_state=3, n_input=2)
    assert (cell.states, cell.output) == (("c", "h"), "h")

    def step(p, s, x):
        h, c = s["h"], s["c"]
        i = sig(p["W_xi"] @ x + p["W_hi"] @ h + p["w_ci"] * c + p["b_i"])
        f = sig(p["W_xf"] @ x + p["W_hf"] @ h + p["w_cf"] * c + p["b_f"])
        c = f * c + i * tanh(p["W_xc"] @ x + p["W_hc"] @ h + p["b_c"])
        o = sig(p["W_xo"] @ x + p["W_ho"] @ h + p["w_co"] * c + p["b_o"])
        h = o * tanh(c)
        return {"h": h, "c": c}, h
    _check(cell, step, ["h", "c"], seed=4)


def test_cifg_lstm_with_circ():
    cell = read_cell(CIFG, n_state=3, n_input=2)
    assert (cell.states, cell.output) == (("c", "h"), "h")

    def step(p, s, x):
        def gate(g, fn):
            return fn(p[f"W_{g}"] @ x + p[f"R_{g}"] @ s["h"] + p[f"b_{g}"])
        f = gate("f", sig)
        c = f * s["c"] + (1 - f) * gate("z", tanh)
        h = gate("o", sig) * tanh(c)
        return {"h": h, "c": c}, h
    _check(cell, step, ["h", "c"], seed=5)


def test_ugrnn_in_boldsymbol():
    cell = read_cell(UGRNN, n_state=3, n_input=2)
    assert cell.states == ("h",)

    def step(p, s, x):
        h = s["h"]
        c = tanh(p["W_cx"] @ x + p["W_ch"] @ h + p["b_c"])
        g = sig(p["W_gx"] @ x + p["W_gh"] @ h + p["b_g"])
        h = g * h + (1 - g) * c
        return {"h": h}, h
    _check(cell, step, ["h"], seed=6)


def test_minimal_rnn_in_the_lectures_arrows():
    cell = read_cell(MINIMAL_RNN, n_state=3, n_input=2)
    assert cell.states == ("h",)

    def step(p, s, x):
        z = tanh(p["W_x"] @ x + p["b_z"])
        u = sig(p["U_h"] @ s["h"] + p["U_z"] @ z + p["b_u"])
        h = u * s["h"] + (1 - u) * z
        return {"h": h}, h
    _check(cell, step, ["h"], seed=7)


def test_janet_with_a_shifted_gate():
    cell = read_cell(JANET, n_state=3, n_input=2)
    assert cell.states == ("h",)

    def step(p, s, x):
        pre = p["U_f"] @ s["h"] + p["W_f"] @ x + p["b_f"]
        cand = tanh(p["U_c"] @ s["h"] + p["W_c"] @ x + p["b_c"])
        h = sig(pre) * s["h"] + (1 - sig(pre - 1.0)) * cand
        return {"h": h}, h
    _check(cell, step, ["h"], seed=8)


def test_sru():
    cell = read_cell(SRU, n_state=3, n_input=2)
    assert (cell.states, cell.output) == (("c", "h"), "h")  # h_{t-1} is not used: h is an output state

    def step(p, s, x):
        f = sig(p["W_f"] @ x + p["b_f"])
        r = sig(p["W_r"] @ x + p["b_r"])
        c = f * s["c"] + (1 - f) * (p["W"] @ x)
        h = r * tanh(c) + (1 - r) * (p["W_h"] @ x)
        return {"c": c}, h
    _check(cell, step, ["c"], seed=9)


SRU_HIGHWAY = r"""
The SRU as Lei et al. write it, with $\mathbf{c}_t \in \mathbb{R}^{H}$ and $\mathbf{x}_t \in \mathbb{R}^{H}$:
$$\tilde{\mathbf{x}}_t = \mathbf{W}\mathbf{x}_t$$
$$\mathbf{f}_t = \sigma(\mathbf{W}_f \mathbf{x}_t + \mathbf{b}_f)$$
$$\mathbf{r}_t = \sigma(\mathbf{W}_r \mathbf{x}_t + \mathbf{b}_r)$$
$$\mathbf{c}_t = \mathbf{f}_t \odot \mathbf{c}_{t-1} + (1 - \mathbf{f}_t) \odot \tilde{\mathbf{x}}_t$$
$$\mathbf{h}_t = \mathbf{r}_t \odot \tanh(\mathbf{c}_t) + (1 - \mathbf{r}_t) \odot \mathbf{x}_t$$
"""


def test_sru_with_its_highway_when_the_input_and_the_states_are_declared_one_size():
    """The highway term ``(1 - r_t) o x_t`` needs D = N: declared (both in R^H), the cell reads with D = N."""
    cell = read_cell(SRU_HIGHWAY, n_state=3)
    assert cell.n_input == 3 and {p.name: (p.rows, p.cols) for p in cell.params}["W"] == (3, 3)

    def step(p, s, x):
        f = sig(p["W_f"] @ x + p["b_f"])
        r = sig(p["W_r"] @ x + p["b_r"])
        c = f * s["c"] + (1 - f) * (p["W"] @ x)
        return {"c": c}, r * tanh(c) + (1 - r) * x
    _check(cell, step, ["c"], seed=13)


def test_the_highway_without_declarations_or_with_two_sizes_is_a_named_error():
    undeclared = SRU_HIGHWAY.split("\n", 2)[2]  # the equations without the declaring sentence
    with pytest.raises(ShapesDisagree, match="line"):
        read_cell(undeclared)
    with pytest.raises(ShapesDisagree, match=r"declared N=3 x 1 but is D=2 x 1"):
        read_cell(SRU_HIGHWAY, n_state=3, n_input=2)


MINIMAL_RNN_CHAINED = r"""
The Minimal RNN as Chen (2017) writes it, the input map a chain of equalities:
$$z_t = \Phi(x_t) = W_x x_t$$
$$u_t = \sigma(U_h h_{t-1} + U_z z_t + b_u)$$
$$h_t = u_t \odot h_{t-1} + (1 - u_t) \odot z_t$$
"""


def test_a_chain_of_equalities_defines_its_first_side_by_its_last():
    cell = read_cell(MINIMAL_RNN_CHAINED, n_state=3, n_input=2)
    assert {p.name for p in cell.params} == {"W_x", "U_h", "U_z", "b_u"}

    def step(p, s, x):
        z = p["W_x"] @ x
        u = sig(p["U_h"] @ s["h"] + p["U_z"] @ z + p["b_u"])
        h = u * s["h"] + (1 - u) * z
        return {"h": h}, h
    _check(cell, step, ["h"], seed=14)


def test_ran():
    cell = read_cell(RAN, n_state=3, n_input=2)
    assert (cell.states, cell.output) == (("c", "h"), "h")

    def step(p, s, x):
        i = sig(p["W_ih"] @ s["h"] + p["W_ix"] @ x + p["b_i"])
        f = sig(p["W_fh"] @ s["h"] + p["W_fx"] @ x + p["b_f"])
        c = i * (p["W_cx"] @ x) + f * s["c"]
        h = tanh(c)
        return {"h": h, "c": c}, h
    _check(cell, step, ["h", "c"], seed=10)


# ---- output layers and the loss as an equation --------------------------------------------------------------------


def test_an_output_layer_under_a_cross_entropy_equation():
    cell = read_cell(ELMAN_SOFTMAX_OUTPUT, n_state=3, n_input=2)
    assert (cell.states, cell.output) == (("h", "yhat"), "yhat")
    assert [p.name for p in cell.params if p.name in ("V", "c")] == ["V", "c"]
    stated = loss_equation(ELMAN_SOFTMAX_OUTPUT)
    assert (stated.kind, stated.quantity, stated.line) == ("cross-entropy", "yhat", 7)
    assert Spec(ELMAN_SOFTMAX_OUTPUT, loss="squared").loss_key == "cross-entropy"  # the equation decides

    def step(p, s, x):
        h = tanh(p["W"] @ x + p["U"] @ s["h"] + p["b"])
        return {"h": h}, torch.softmax(p["V"] @ h + p["c"], dim=0)
    _check(cell, step, ["h"], "cross-entropy", seed=11)


def test_an_output_layer_under_a_squared_error_equation():
    cell = read_cell(LSTM_REGRESSION, n_state=3, n_input=2)
    assert (cell.states, cell.output) == (("c", "h", "yhat"), "yhat")
    assert Spec(LSTM_REGRESSION).loss_key == "squared"

    def step(p, s, x):
        def gate(g, fn):
            return fn(p[f"W_{g}"] @ x + p[f"U_{g}"] @ s["h"] + p[f"b_{g}"])
        c = gate("f", sig) * s["c"] + gate("i", sig) * gate("c", tanh)
        h = gate("o", sig) * tanh(c)
        return {"h": h, "c": c}, p["W_y"] @ h + p["b_y"]
    _check(cell, step, ["h", "c"], seed=12)


def test_without_a_loss_equation_the_output_layer_is_the_output():
    text = ELMAN_SOFTMAX_OUTPUT.split("$$L")[0]
    cell = read_cell(text, n_state=3, n_input=2)
    assert cell.output == "yhat" and loss_equation(text) is None
    assert Spec(text, loss="cross-entropy").loss_key == "cross-entropy" and Spec(text).loss_key == "squared"
    assert read_cell(text, output="h").states == ("h",)  # chosen: the layer is left out


@pytest.mark.parametrize("loss, kind, quantity", [
    (r"L = \frac{1}{2}\sum_t \|h_t - y_t\|^2", "squared", "h"),
    (r"E = \sum_{t=1}^{T} \frac{1}{2} \|y_t - o_t\|^2", "squared", "o"),
    (r"\mathcal{L} = \frac{1}{2}\sum_t \sum_j (o_{j,t} - y_{j,t})^2", "squared", "o"),
    (r"L = -\sum_{t=1}^T \mathbf{y}_t^\top \log \hat{\mathbf{y}}_t", "cross-entropy", "yhat"),
])
def test_the_usual_forms_of_a_loss(loss, kind, quantity):
    text = (r"$$h_t = \tanh(W x_t + U h_{t-1})$$ $$o_t = V h_t$$ $$\hat{y}_t = \mathrm{softmax}(o_t)$$"
            f"\n\n$${loss}$$")
    stated = loss_equation(text)
    assert (stated.kind, stated.quantity, stated.line) == (kind, quantity, 3)
    assert read_cell(text).output == quantity


def _error(kind, text, line, *words, **kwargs):
    with pytest.raises(kind) as info:
        read_cell(text, **kwargs)
    err = info.value
    assert isinstance(err, CellError) and err.line == line, str(err)
    for word in words:
        assert word in str(err), (word, str(err))


CELL = "$$h_t = \\tanh(W x_t + U h_{t-1})$$\n"


def test_unsupported_losses_are_named_errors_with_the_line():
    # an average over t (1/T) and other constant factors are read (tests/test_derive_losses.py); these are not
    _error(UnsupportedLoss, CELL + "\n$$L = \\frac{1}{T-1}\\sum_t \\frac{1}{2}\\|h_t - y_t\\|^2$$", 3, "factor",
           "power of the sequence length T")
    _error(UnsupportedLoss, CELL + "$$L = \\sum_t \\ell(h_t, y_t)$$", 2, "not a form read")
    _error(UnsupportedLoss, CELL + "$$L = \\frac{1}{2}\\|h_T - y_T\\|^2$$", 2, "sum over t")
    with pytest.raises(UnsupportedLoss):
        Spec(CELL + "$$L = \\frac{1}{2}\\sum_t \\|h_t - y_t\\|^2 + \\sum_t \\|h_t\\|^2$$").loss_object()


def test_other_loss_errors():
    _error(DefinedTwice, CELL + "$$L = \\frac{1}{2}\\sum_t \\|h_t - y_t\\|^2$$\n"
           "$$E = -\\sum_t \\sum_j y_{j,t} \\log h_{j,t}$$", 3, "two loss equations", "line 2")
    _error(UndefinedQuantity, CELL + "$$L = \\frac{1}{2}\\sum_t \\|q_t - y_t\\|^2$$", 2, "q_t")
    _error(UnsupportedLoss, CELL + "$$o_t = V h_t$$\n$$L = \\frac{1}{2}\\sum_t \\|o_t - y_t\\|^2$$", 3, "'h'",
           "o_t", output="h")
    _error(UnreadableEquation, CELL + "$$L = \\frac{1}{2}\\sum_t \\|h_t - y_t\\|^{2$$", 2, "cannot read")


def test_an_output_layer_has_its_own_size():
    text = CELL + "$$\\hat{y}_t = \\mathrm{softmax}(V h_t)$$"
    cell = read_cell("$\\hat{y}_t \\in \\mathbb{R}^{5}$\n" + text)
    assert (cell.n_state, cell.n_output) == (2, 5)  # Q = 5 over N = 2
    cell = read_cell("$h_t \\in \\mathbb{R}^{4}$, $\\hat{y}_t \\in \\mathbb{R}^{5}$\n" + text)
    assert (cell.n_state, cell.n_output, {p.name: (p.rows, p.cols) for p in cell.params}["V"]) == (4, 5, (5, 4))
    _error(ShapesDisagree, "$h_t \\in \\mathbb{R}^{4}$, $\\hat{y}_t \\in \\mathbb{R}^{5}$\n"
           + CELL + "$$\\hat{y}_t = \\mathrm{softmax}(h_t)$$", 3, "4", "5")
