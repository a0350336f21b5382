"""``symrnn.derive.read_cell``: cells written in LaTeX, in three notations (the lecture's ``\\vec{h}_t``, bold
``\\mathbf{h}_t`` with named subscripts, plain letters ``h_t``), become cells whose compiled BPTT equals torch
autograd of an independent torch implementation (``torch.nn.GRU``/``torch.nn.LSTM`` where torch has the cell); bad
input is a named error with its line."""

from __future__ import annotations

import numpy as np
import pytest

from symrnn.autodiff.training import compile_bptt
from symrnn.derive import (
    SUPPORTED_FUNCTIONS,
    BadName,
    CellError,
    CyclicDefinition,
    DefinedTwice,
    NoState,
    ShapesDisagree,
    UndefinedQuantity,
    UnreadableEquation,
    UnsupportedConstruct,
    UnsupportedFunction,
    read_cell,
)
from symrnn.models import losses

torch = pytest.importorskip("torch")

T, B = 4, 3
TOL = 1e-10

ELMAN_LECTURE = r"""
# An Elman network, in the lecture's notation

$$\vec{h}_t = \tanh(U\vec{h}_{t-1} + W\vec{x}_t + \vec{b})$$
"""

ELMAN_BOLD = r"""
Sizes: $\mathbf{x}_t \in \mathbb{R}^d$, $\mathbf{h}_t \in \mathbb{R}^h$,
$\mathbf{W}_{hh} \in \mathbb{R}^{h \times h}$, $\mathbf{W}_{hx} \in \mathbb{R}^{h \times d}$,
$\mathbf{b}_h \in \mathbb{R}^h$.

$$\mathbf{h}_t = \tanh(\mathbf{W}_{hh}\mathbf{h}_{t-1} + \mathbf{W}_{hx}\mathbf{x}_t + \mathbf{b}_h)$$
"""

LINEAR_PLAIN = r"""
A linear RNN, in plain letters, with $W \in \mathbb{R}^{h \times h}$ and $U \in \mathbb{R}^{h \times d}$:

$$h_t = W h_{t-1} + U x_t - 0.5 h_{t-1}$$
"""

INDRNN_PLAIN = r"""
IndRNN (Li et al. 2018): each unit sees only its own past.

$$h_t = \sigma(W x_t + u \odot h_{t-1} + b)$$
"""

INDRNN_RELU_BOLD = r"""
$$\mathbf{h}_t = \mathrm{ReLU}(\mathbf{W}\mathbf{x}_t + \mathbf{u} \odot \mathbf{h}_{t-1} + \mathbf{b})$$
"""

GRU_BOLD = r"""
The GRU as torch documents it:

$$\mathbf{r}_t = \sigma(\mathbf{W}_{ir}\mathbf{x}_t + \mathbf{b}_{ir}
    + \mathbf{W}_{hr}\mathbf{h}_{t-1} + \mathbf{b}_{hr})$$
$$\mathbf{z}_t = \sigma(\mathbf{W}_{iz}\mathbf{x}_t + \mathbf{b}_{iz}
    + \mathbf{W}_{hz}\mathbf{h}_{t-1} + \mathbf{b}_{hz})$$
$$\mathbf{n}_t = \tanh(\mathbf{W}_{in}\mathbf{x}_t + \mathbf{b}_{in}
    + \mathbf{r}_t \odot (\mathbf{W}_{hn}\mathbf{h}_{t-1} + \mathbf{b}_{hn}))$$
$$\mathbf{h}_t = (1 - \mathbf{z}_t) \odot \mathbf{n}_t + \mathbf{z}_t \odot \mathbf{h}_{t-1}$$
"""

GRU_PLAIN = r"""
$$h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$$
(the gates are defined after their use, which is allowed)
$$r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr})$$
$$z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz})$$
$$n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn}))$$
"""

LSTM_BOLD = r"""
\documentclass{article}
\begin{document}
PyTorch's LSTM:
\begin{align}
\mathbf{i}_t &= \sigma(\mathbf{W}_{ii}\mathbf{x}_t + \mathbf{b}_{ii}
    + \mathbf{W}_{hi}\mathbf{h}_{t-1} + \mathbf{b}_{hi}) \\
\mathbf{f}_t &= \sigma(\mathbf{W}_{if}\mathbf{x}_t + \mathbf{b}_{if}
    + \mathbf{W}_{hf}\mathbf{h}_{t-1} + \mathbf{b}_{hf}) \\
\mathbf{g}_t &= \tanh(\mathbf{W}_{ig}\mathbf{x}_t + \mathbf{b}_{ig}
    + \mathbf{W}_{hg}\mathbf{h}_{t-1} + \mathbf{b}_{hg}) \\
\mathbf{o}_t &= \sigma(\mathbf{W}_{io}\mathbf{x}_t + \mathbf{b}_{io}
    + \mathbf{W}_{ho}\mathbf{h}_{t-1} + \mathbf{b}_{ho}) \\
\mathbf{c}_t &= \mathbf{f}_t \odot \mathbf{c}_{t-1} + \mathbf{i}_t \odot \mathbf{g}_t \\
\mathbf{h}_t &= \mathbf{o}_t \odot \tanh(\mathbf{c}_t)
\end{align}
\end{document}
"""

LSTM_PLAIN = r"""
An LSTM with one bias per gate, in plain letters:
$$
\begin{aligned}
f_t &= \sigma(W_f x_t + U_f h_{t-1} + b_f) \\
i_t &= \sigma(W_i x_t + U_i h_{t-1} + b_i) \\
o_t &= \sigma(W_o x_t + U_o h_{t-1} + b_o) \\
\tilde{c}_t &= \tanh(W_c x_t + U_c h_{t-1} + b_c) \\
c_t &= f_t \odot c_{t-1} + i_t \odot \tilde{c}_t \\
h_t &= o_t \tanh(c_t)
\end{aligned}
$$
"""

MGU_BOLD = r"""
The minimal gated unit (Zhou et al. 2016):

$$\mathbf{f}_t = \sigma(\mathbf{W}_f \mathbf{x}_t + \mathbf{U}_f \mathbf{h}_{t-1} + \mathbf{b}_f)$$
$$\tilde{\mathbf{h}}_t = \tanh(\mathbf{W}_h \mathbf{x}_t
    + \mathbf{U}_h (\mathbf{f}_t \odot \mathbf{h}_{t-1}) + \mathbf{b}_h)$$
$$\mathbf{h}_t = (1 - \mathbf{f}_t) \odot \mathbf{h}_{t-1} + \mathbf{f}_t \odot \tilde{\mathbf{h}}_t$$
"""

SOFTMAX_LECTURE = r"""
$$\vec{h}_t = \operatorname{softmax}(U\vec{h}_{t-1} + W\vec{x}_t)$$
"""


# ---- the comparison with torch -------------------------------------------------------------------------------------


def _data(cell, seed: int):
    rng = np.random.default_rng(seed)
    params = {p.name: rng.normal(scale=0.6, size=(p.rows, p.cols)) for p in cell.params}
    xs = rng.normal(size=(T, cell.n_input, B))
    ys = rng.normal(size=(T, cell.n_state, B))
    return params, xs, ys


def _symrnn(cell, params, xs, ys, loss=None):
    return compile_bptt(cell, loss or losses.squared_error()).loss_and_grads(params, xs, ys)


def _assert_close(loss, grads, want_loss, want_grads):
    assert set(grads) == set(want_grads)
    assert abs(loss - want_loss) <= TOL * max(1.0, abs(want_loss))
    for name, g in grads.items():
        np.testing.assert_allclose(g, want_grads[name], rtol=TOL, atol=TOL, err_msg=name)


def _torch_run(cell, params, xs, ys, step):
    """Squared error of the state ``cell.output`` summed over t and batch, with ``step(p, state, x) -> state`` in
    torch (columns of B), and the gradients by autograd."""
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    state = {s: torch.zeros(cell.n_state, B, dtype=torch.float64) for s in cell.states}
    total = torch.zeros((), dtype=torch.float64)
    for t in range(T):
        state = step(p, state, torch.tensor(xs[t]))
        total = total + 0.5 * ((state[cell.output] - torch.tensor(ys[t])) ** 2).sum()
    total.backward()
    return total.item(), {k: v.grad.numpy() for k, v in p.items()}


def _check(cell, step, seed=0, shapes=None):
    params, xs, ys = _data(cell, seed)
    if shapes is not None:
        assert {p.name: (p.rows, p.cols) for p in cell.params} == shapes
    loss, grads = _symrnn(cell, params, xs, ys)
    _assert_close(loss, grads, *_torch_run(cell, params, xs, ys, step))


def _elman_step(W_hh, W_hx, b):  # noqa: N803
    return lambda p, s, x: {"h": torch.tanh(p[W_hh] @ s["h"] + p[W_hx] @ x + p[b])}


def test_elman_in_the_lectures_notation():
    cell = read_cell(ELMAN_LECTURE, name="elman")
    assert (cell.name, cell.states, cell.output, cell.n_state, cell.n_input) == ("elman", ("h",), "h", 2, 3)
    _check(cell, _elman_step("U", "W", "b"), shapes={"U": (2, 2), "W": (2, 3), "b": (2, 1)})


def test_elman_in_bold_with_declared_sizes_and_other_sizes():
    cell = read_cell(ELMAN_BOLD, n_state=4, n_input=2)
    _check(cell, _elman_step("W_hh", "W_hx", "b_h"), seed=1, shapes={"W_hh": (4, 4), "W_hx": (4, 2), "b_h": (4, 1)})


def test_a_linear_rnn_in_plain_letters():
    cell = read_cell(LINEAR_PLAIN, n_state=3, n_input=3)
    _check(cell, lambda p, s, x: {"h": p["W"] @ s["h"] + p["U"] @ x - 0.5 * s["h"]}, seed=2,
           shapes={"W": (3, 3), "U": (3, 3)})


def test_indrnn_in_plain_letters():
    cell = read_cell(INDRNN_PLAIN)
    _check(cell, lambda p, s, x: {"h": torch.sigmoid(p["W"] @ x + p["u"] * s["h"] + p["b"])}, seed=3,
           shapes={"W": (2, 3), "u": (2, 1), "b": (2, 1)})


def test_indrnn_with_relu_in_bold():
    cell = read_cell(INDRNN_RELU_BOLD, n_state=3)
    _check(cell, lambda p, s, x: {"h": torch.relu(p["W"] @ x + p["u"] * s["h"] + p["b"])}, seed=4,
           shapes={"W": (3, 3), "u": (3, 1), "b": (3, 1)})


def _torch_module_run(module, params, xs, ys, weights):
    """Loss and gradients of torch's own module, its packed weights set from ``params`` by ``weights``:
    ``{torch attribute: [parameter names stacked in torch's gate order]}``."""
    module = module.double()
    with torch.no_grad():
        for attr, names in weights.items():
            value = np.concatenate([params[n].reshape(params[n].shape[0], -1) for n in names])
            getattr(module, attr).copy_(torch.tensor(value.squeeze(1) if attr.startswith("bias") else value))
    out, _ = module(torch.tensor(xs.transpose(0, 2, 1)))  # (T, B, D) -> (T, B, N)
    loss = 0.5 * ((out - torch.tensor(ys.transpose(0, 2, 1))) ** 2).sum()
    loss.backward()
    grads = {}
    for attr, names in weights.items():
        g, at = getattr(module, attr).grad.numpy(), 0
        for n in names:
            rows = params[n].shape[0]
            grads[n] = g[at:at + rows].reshape(params[n].shape)
            at += rows
    return loss.item(), grads


GRU_WEIGHTS = {"weight_ih_l0": ["W_ir", "W_iz", "W_in"], "weight_hh_l0": ["W_hr", "W_hz", "W_hn"],
               "bias_ih_l0": ["b_ir", "b_iz", "b_in"], "bias_hh_l0": ["b_hr", "b_hz", "b_hn"]}


@pytest.mark.parametrize("text", [GRU_BOLD, GRU_PLAIN], ids=["bold", "plain"])
def test_gru_in_torchs_form_equals_torch_nn_gru(text):
    cell = read_cell(text, name="gru", n_state=3, n_input=2)
    assert cell.states == ("h",)
    params, xs, ys = _data(cell, 5)
    loss, grads = _symrnn(cell, params, xs, ys)
    _assert_close(loss, grads, *_torch_module_run(torch.nn.GRU(2, 3), params, xs, ys, GRU_WEIGHTS))


def test_lstm_in_torchs_form_equals_torch_nn_lstm():
    cell = read_cell(LSTM_BOLD, name="lstm", n_state=3, n_input=2)
    assert (cell.states, cell.output) == (("c", "h"), "h")
    weights = {f"{kind}_{side}_l0": [f"{'W' if kind == 'weight' else 'b'}_{side[0]}{g}" for g in "ifgo"]
               for kind in ("weight", "bias") for side in ("ih", "hh")}
    params, xs, ys = _data(cell, 6)
    loss, grads = _symrnn(cell, params, xs, ys)
    _assert_close(loss, grads, *_torch_module_run(torch.nn.LSTM(2, 3), params, xs, ys, weights))


def test_an_lstm_in_plain_letters_with_an_accented_candidate():
    cell = read_cell(LSTM_PLAIN, n_state=3, n_input=2)
    assert (cell.states, cell.output) == (("c", "h"), "h")  # f, i, o and ctilde are intermediates

    def step(p, s, x):
        def gate(g, fn):
            return fn(p[f"W_{g}"] @ x + p[f"U_{g}"] @ s["h"] + p[f"b_{g}"])
        c = gate("f", torch.sigmoid) * s["c"] + gate("i", torch.sigmoid) * gate("c", torch.tanh)
        return {"c": c, "h": gate("o", torch.sigmoid) * torch.tanh(c)}
    _check(cell, step, seed=9)


def test_the_minimal_gated_unit():
    cell = read_cell(MGU_BOLD, n_state=3, n_input=2)
    assert cell.states == ("h",)  # f and htilde are intermediates

    def step(p, s, x):
        h = s["h"]
        f = torch.sigmoid(p["W_f"] @ x + p["U_f"] @ h + p["b_f"])
        cand = torch.tanh(p["W_h"] @ x + p["U_h"] @ (f * h) + p["b_h"])
        return {"h": (1 - f) * h + f * cand}
    _check(cell, step, seed=7)


def test_a_softmax_cell_under_cross_entropy():
    cell = read_cell(SOFTMAX_LECTURE, n_state=3, n_input=2)
    params, xs, _ = _data(cell, 8)
    classes = np.random.default_rng(8).integers(0, 3, size=(T, B))
    loss, grads = _symrnn(cell, params, xs, classes, losses.cross_entropy())
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    h, total = torch.zeros(3, B, dtype=torch.float64), 0
    for t in range(T):
        logits = p["U"] @ h + p["W"] @ torch.tensor(xs[t])
        h = torch.softmax(logits, dim=0)
        total = total + torch.nn.functional.cross_entropy(logits.T, torch.tensor(classes[t]), reduction="sum")
    total.backward()
    _assert_close(loss, grads, total.item(), {k: v.grad.numpy() for k, v in p.items()})


# ---- what is read ------------------------------------------------------------------------------------------------


def test_states_intermediates_and_the_output():
    lstm = read_cell(LSTM_BOLD)
    assert lstm.output == "h" and set(lstm.step()) == {"c", "h"}
    no_h = read_cell(r"$$\mathbf{a}_t = \tanh(\mathbf{W}\mathbf{s}_{t-1})$$ $$\mathbf{s}_t = \mathbf{a}_t + "
                     r"\mathbf{U}\mathbf{s}_{t-1}$$ $$\mathbf{o}_t = \tanh(\mathbf{s}_{t})$$ "
                     r"$$\mathbf{q}_t = \mathbf{o}_t \odot \mathbf{q}_{t-1}$$")
    assert no_h.states == ("s", "q") and no_h.output == "q"  # the last state defined
    assert read_cell(LSTM_BOLD, output="c").output == "c"
    gate = read_cell(LSTM_BOLD, output="f")  # a quantity at t that is no state: an output state
    assert (gate.states, gate.output) == (("c", "h", "f"), "f")
    with pytest.raises(UndefinedQuantity, match="not a quantity"):
        read_cell(LSTM_BOLD, output="e")


def test_an_equation_neither_a_state_nor_the_output_needs_is_left_out():
    text = ELMAN_LECTURE + r"$$\vec{z}_t = W\vec{x}_t$$ (no state)"
    cell = read_cell(text)
    assert [p.name for p in cell.params] == ["U", "W", "b"] and cell.output == "h"


def test_declared_numbers_fix_the_sizes():
    text = r"$\mathbf{W} \in \mathbb{R}^{4 \times 5}$ $$\mathbf{h}_t = \tanh(\mathbf{U}\mathbf{h}_{t-1} + " \
           r"\mathbf{W}\mathbf{x}_t)$$"
    cell = read_cell(text)
    assert (cell.n_state, cell.n_input) == (4, 5)
    with pytest.raises(ShapesDisagree, match="4"):
        read_cell(text, n_state=2)


def test_a_size_nothing_fixes_is_asked_for_then_given():
    text = (r"$$\mathbf{a}_t = \mathbf{A}\mathbf{x}_t$$"
            r"$$\mathbf{h}_t = \tanh(\mathbf{B}\mathbf{a}_t + \mathbf{U}\mathbf{h}_{t-1})$$")
    with pytest.raises(ShapesDisagree, match="not fixed"):
        read_cell(text)
    cell = read_cell(r"$\mathbf{A} \in \mathbb{R}^{k \times d}$" + text, sizes={"k": 5})
    assert {p.name: (p.rows, p.cols) for p in cell.params} == {"A": (5, 3), "B": (2, 5), "U": (2, 2)}


def test_names_are_kept_as_identifiers():
    cell = read_cell(r"$$\mathbf{h}_t = \tanh(\mathbf{W}_\textrm{hh}\mathbf{h}_{t-1} + \tilde{W} \mathbf{x}_t "
                     r"+ \boldsymbol{b}_{\mathrm{in}})$$")
    assert [p.name for p in cell.params] == ["W_hh", "Wtilde", "b_in"]


# ---- bad input: a named error with the line ----------------------------------------------------------------------


def _error(kind, text, line, *words, **kwargs):
    with pytest.raises(kind) as info:
        read_cell(text, **kwargs)
    err = info.value
    assert isinstance(err, CellError) and isinstance(err, ValueError)
    assert err.line == line and str(err).startswith(f"line {line}:" if line else "")
    for word in words:
        assert word in str(err), (word, str(err))
    return err


def test_a_quantity_used_but_never_defined():
    _error(UndefinedQuantity, "A cell\n\n$$h_t = \\tanh(W h_{t-1} + z_t)$$\n", 3, "z_t is used",
           "no equation defines z_t")
    _error(UndefinedQuantity, "$$\\mathbf{z}_t = \\sigma(\\mathbf{W}\\mathbf{h}_{t-1})$$\n$$\\mathbf{a}_t = "
           "\\mathbf{z}_t$$", 1, "h_{t-1} is used")


def test_a_quantity_defined_twice():
    text = "$$h_t = \\tanh(W h_{t-1})$$\n\nor rather\n\n$$h_t = \\sigma(W h_{t-1})$$\n"
    _error(DefinedTwice, text, 5, "line 1")


def test_a_cycle_within_one_step():
    text = ("$$\\mathbf{a}_t = \\tanh(\\mathbf{W}\\mathbf{b}_t)$$\n$$\\mathbf{b}_t = \\tanh(\\mathbf{U}\\mathbf{a}_t"
            " + \\mathbf{h}_{t-1})$$\n$$\\mathbf{h}_t = \\mathbf{a}_t$$")
    _error(CyclicDefinition, text, 1, "a_t -> b_t -> a_t", "line 2")
    _error(CyclicDefinition, "$$h_t = \\tanh(W h_t + U h_{t-1})$$", 1, "h_t -> h_t")


def test_each_row_of_an_environment_has_its_own_line():
    text = LSTM_BOLD.replace(r"\mathbf{f}_t \odot \mathbf{c}_{t-1}", r"\mathbf{f}_t \odot \mathbf{e}_{t}")
    row = next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(r"\mathbf{c}_t"))
    _error(UndefinedQuantity, text, row, "e_t")
    text = LSTM_PLAIN.replace(r"o_t &= \sigma(", r"o_t &= \cosh(")
    row = next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith("o_t"))
    _error(UnsupportedFunction, text, row, "cosh")


def test_no_state():
    _error(NoState, "text\n$$\\mathbf{h}_t = \\tanh(\\mathbf{W}\\mathbf{x}_t)$$", 2, "t-1")
    _error(NoState, "no mathematics at all", None, "no equation")


def test_shapes_that_do_not_agree_name_both_shapes():
    declared = ("$\\mathbf{W} \\in \\mathbb{R}^{h \\times d}$, $\\mathbf{x}_t \\in \\mathbb{R}^d$, "
                "$\\mathbf{h}_t \\in \\mathbb{R}^h$\n\n"
                "$$\\mathbf{h}_t = \\tanh(\\mathbf{W}\\mathbf{h}_{t-1} + \\mathbf{U}\\mathbf{x}_t)$$")
    _error(ShapesDisagree, declared, 3, "cannot multiply", "W (N x D, declared h x d on line 1)", "(N x 1)")
    twice = "$$h_t = \\tanh(W x_t)\\odot h_{t-1}$$\n$$c_t = W h_{t-1} + c_{t-1}$$"
    _error(ShapesDisagree, twice, 2, "N x D", "N x 1")
    _error(ShapesDisagree, "$$\\vec{h}_t = \\tanh(\\vec{h}_{t-1} + \\vec{x}_t)$$", 1, "cannot add", "N x 1",
           "D x 1")


def test_an_unsupported_function_lists_the_supported_ones():
    for text in (r"$$\mathbf{h}_t = \cosh(\mathbf{W}\mathbf{h}_{t-1})$$",
                 r"$$\mathbf{h}_t = \operatorname{gelu}(\mathbf{W}\mathbf{h}_{t-1})$$",
                 r"$$\mathbf{h}_t = g(\mathbf{W}\mathbf{h}_{t-1})$$",
                 r"$$\mathbf{h}_t = \operatorname{exec}(\mathbf{W}\mathbf{h}_{t-1})$$"):
        err = _error(UnsupportedFunction, "\n" + text, 2, "softmax", "softplus", "tanh")
        assert all(f in str(err) for f in SUPPORTED_FUNCTIONS)


def test_a_name_that_cannot_be_an_identifier():
    _error(BadName, "$$h_t = \\tanh(W h_{t-1} + \\lambda)$$", 1, "'lambda'", "keyword")
    _error(BadName, "$$\\mathbf{y}_t = \\tanh(\\mathbf{W}\\mathbf{y}_{t-1})$$", 1, "'y'")
    _error(BadName, "$$\\mathbf{x}_t = \\tanh(\\mathbf{W}\\mathbf{h}_{t-1})$$", 1, "input")
    _error(BadName, ELMAN_LECTURE, None, "'class'", name="class")


def test_other_refusals_name_the_line():
    _error(UnsupportedConstruct, "\n$$\\mathbf{h}_t = \\mathbf{h}_{t-2}$$", 2, "t-1")
    _error(ShapesDisagree, "$$\\mathbf{h}_t = \\beta \\mathbf{h}_{t-1}$$", 1, "must be a number", "\\odot")
    _error(UnsupportedConstruct, "$$\\vec{h}_t = T \\vec{h}_{t-1}$$", 1, "must be a number")  # T: the length
    _error(UnreadableEquation, "x\n\ny\n$$\\mathbf{h}_t = \\tanh(\\mathbf{W}\\mathbf{h}_{t-1}$$", 4, "cannot read")
