"""Cells written with stacked columns, ``\\operatorname{diag}(u)`` and ``*`` (Colah's LSTM: ``W_f \\cdot
[h_{t-1}, x_t]``, ``f_t * C_{t-1}``): the reader turns ``W [a; b]`` into the column blocks of W acting on each part,
and the gradients of those blocks equal torch autograd of torch cells written here with the concatenated weight acting
on the concatenated vector (and the diagonal matrix itself)."""

from __future__ import annotations

import pytest
import sympy as sp

from symrnn.derive import read_cell
from symrnn.latex.parse import parse

torch = pytest.importorskip("torch")
from test_cells_literature import _check  # noqa: E402

COLAH = r"""
$$f_t = \sigma(W_f \cdot [h_{t-1}, x_t] + b_f)$$
$$i_t = \sigma(W_i \cdot [h_{t-1}, x_t] + b_i)$$
$$\tilde{C}_t = \tanh(W_C \cdot [h_{t-1}, x_t] + b_C)$$
$$C_t = f_t * C_{t-1} + i_t * \tilde{C}_t$$
$$o_t = \sigma(W_o \cdot [h_{t-1}, x_t] + b_o)$$
$$h_t = o_t * \tanh(C_t)$$
"""

STACKED_BOLD = r"""
$$\mathbf{h}_t = \tanh(\mathbf{W} [\mathbf{h}_{t-1}; \mathbf{x}_t] + \mathbf{b})$$
"""

STACKED_BMATRIX = r"""
$$h_t = \tanh\left(W \begin{bmatrix} h_{t-1} \\ x_t \end{bmatrix} + b\right)$$
"""


@pytest.mark.parametrize("latex", [r"W [a_t, b_t]", r"W [a_t; b_t]", r"W \cdot [a_t, b_t]"])
def test_a_matrix_times_a_bracketed_list_is_a_stacked_column(latex):
    product = parse(latex)
    assert isinstance(product, sp.MatMul)
    column = product.args[-1]
    assert column.shape == (2, 1) and [str(e) for e in column] == ["a[t]", "b[t]"]


def test_a_star_between_vectors_is_entrywise_and_between_numbers_a_product():
    assert isinstance(parse(r"\mathbf{f}_t * \mathbf{c}_{t-1}"), sp.HadamardProduct)
    assert parse("2 * 3") == 6 or parse("2 * 3").doit() == 6
    assert isinstance(parse(r"(x_1, x_2)"), sp.Tuple)  # a list alone is still a tuple


def test_colahs_lstm_with_concatenation_and_stars():
    n, d = 3, 2
    cell = read_cell(COLAH, n_state=n, n_input=d)
    assert cell.states == ("C", "h") and cell.output == "h"
    shapes = {p.name: (p.rows, p.cols) for p in cell.params}
    for gate in "fiCo":
        assert shapes[f"W_{gate}_h"] == (n, n) and shapes[f"W_{gate}_x"] == (n, d) and shapes[f"b_{gate}"] == (n, 1)

    def gate(p, g, h, x):  # the concatenated weight on the concatenated vector, as Colah writes it
        w = torch.cat([p[f"W_{g}_h"], p[f"W_{g}_x"]], dim=1)
        return w @ torch.cat([h, x], dim=0) + p[f"b_{g}"]

    def step(p, s, x):
        h, c = s["h"], s["C"]
        f, i, o = (torch.sigmoid(gate(p, g, h, x)) for g in "fio")
        c = f * c + i * torch.tanh(gate(p, "C", h, x))
        h = o * torch.tanh(c)
        return {"h": h, "C": c}, h
    _check(cell, step, ["h", "C"], seed=7)


@pytest.mark.parametrize("text", [STACKED_BOLD, STACKED_BMATRIX], ids=["semicolon-bold", "bmatrix"])
def test_an_elman_cell_on_a_stacked_column(text):
    cell = read_cell(text, n_state=3, n_input=2)
    assert {p.name for p in cell.params} == {"W_h", "W_x", "b"}

    def step(p, s, x):
        h = torch.tanh(torch.cat([p["W_h"], p["W_x"]], dim=1) @ torch.cat([s["h"], x]) + p["b"])
        return {"h": h}, h
    _check(cell, step, ["h"], seed=8)


def test_a_diagonal_matrix_of_a_vector_is_an_entrywise_product():
    cell = read_cell(r"$$h_t = \tanh(\operatorname{diag}(u) h_{t-1} + W x_t + b)$$", n_state=3, n_input=2)
    assert {p.name: (p.rows, p.cols) for p in cell.params} == {"u": (3, 1), "W": (3, 2), "b": (3, 1)}

    def step(p, s, x):  # the diagonal matrix itself, as written
        h = torch.tanh(torch.diag(p["u"][:, 0]) @ s["h"] + p["W"] @ x + p["b"])
        return {"h": h}, h
    _check(cell, step, ["h"], seed=9)


GOODFELLOW = r"""
$$\boldsymbol{a}^{(t)} = \boldsymbol{b} + \boldsymbol{W}\boldsymbol{h}^{(t-1)} + \boldsymbol{U}\boldsymbol{x}^{(t)}$$
$$\boldsymbol{h}^{(t)} = \tanh(\boldsymbol{a}^{(t)})$$
$$\boldsymbol{o}^{(t)} = \boldsymbol{c} + \boldsymbol{V}\boldsymbol{h}^{(t)}$$
$$\hat{\boldsymbol{y}}^{(t)} = \mathrm{softmax}(\boldsymbol{o}^{(t)})$$
"""


@pytest.mark.parametrize("plain", [False, True], ids=["boldsymbol", "plain"])
def test_goodfellows_rnn_with_the_time_as_a_superscript(plain):
    import re

    text = re.sub(r"\\boldsymbol\{([a-zA-Z])\}", r"\1", GOODFELLOW) if plain else GOODFELLOW
    cell = read_cell(text, n_state=3, n_input=2)
    assert cell.states == ("h", "yhat") and cell.output == "yhat"
    assert {p.name: (p.rows, p.cols) for p in cell.params} == {"b": (3, 1), "W": (3, 3), "U": (3, 2), "V": (3, 3),
                                                               "c": (3, 1)}

    def step(p, s, x):
        h = torch.tanh(p["b"] + p["W"] @ s["h"] + p["U"] @ x)
        y = torch.softmax(p["c"] + p["V"] @ h, dim=0)
        return {"h": h, "yhat": y}, y
    _check(cell, step, ["h", "yhat"], kind="cross-entropy", seed=10)


D2L_ROWS = r"""
$$\mathbf{H}_t = \tanh(\mathbf{X}_t \mathbf{W}_{xh} + \mathbf{H}_{t-1} \mathbf{W}_{hh} + \mathbf{b}_h)$$
$$\mathbf{O}_t = \mathbf{H}_t \mathbf{W}_{hq} + \mathbf{b}_q$$
"""


def test_d2ls_row_major_minibatch_form():
    cell = read_cell(D2L_ROWS, n_state=3, n_input=2)
    assert cell.states == ("H", "O") and cell.output == "O"
    shapes = {p.name: (p.rows, p.cols) for p in cell.params}
    assert shapes["W_xh"] == (2, 3) and shapes["W_hh"] == (3, 3) and shapes["W_hq"] == (3, 3)  # d x h, as d2l

    def step(p, s, x):  # rows: one example per row, as d2l computes; the state kept as columns between steps
        h = torch.tanh(x.T @ p["W_xh"] + s["H"].T @ p["W_hh"] + p["b_h"].T)
        o = h @ p["W_hq"] + p["b_q"].T
        return {"H": h.T, "O": o.T}, o.T
    _check(cell, step, ["H", "O"], seed=11)


GREEK = r"""
$$\mathbf{s}_t = \tanh(\Theta \mathbf{s}_{t-1} + \Phi \mathbf{x}_t + \boldsymbol{\beta})$$
$$\hat{\mathbf{y}}_t = \mathrm{softmax}(\Psi \mathbf{s}_t)$$
$$L = -\sum_{t=1}^{T} \mathbf{y}_t^\top \log \hat{\mathbf{y}}_t$$
where $\Psi \in \mathbb{R}^{4 \times 3}$ and $\mathbf{s}_t \in \mathbb{R}^{3}$.
"""


def test_capital_greek_letters_are_matrices():
    cell = read_cell(GREEK, n_input=2)
    assert {p.name: (p.rows, p.cols) for p in cell.params} == {"Theta": (3, 3), "Phi": (3, 2), "beta": (3, 1),
                                                               "Psi": (4, 3)}

    def step(p, s, x):
        h = torch.tanh(p["Theta"] @ s["s"] + p["Phi"] @ x + p["beta"])
        y = torch.softmax(p["Psi"] @ h, dim=0)
        return {"s": h, "yhat": y}, y
    _check(cell, step, ["s", "yhat"], kind="cross-entropy", seed=12)


@pytest.mark.parametrize("definition, torch_fn", [
    (r"with the activation $\phi(x) = x$ (d2l's linear case)", lambda z: z),
    (r"$$\phi(z) = \max(0, z)$$", torch.relu),
    (r"$$\phi(v) = \frac{1}{1 + e^{-v}}$$", torch.sigmoid),
], ids=["identity", "relu", "sigmoid"])
def test_an_activation_defined_by_its_formula(definition, torch_fn):
    cell = read_cell(definition + "\n" + r"$$h_t = \phi(W h_{t-1} + U x_t + b)$$", n_state=3, n_input=2)

    def step(p, s, x):
        h = torch_fn(p["W"] @ s["h"] + p["U"] @ x + p["b"])
        return {"h": h}, h
    _check(cell, step, ["h"], seed=13)


def test_an_activation_that_is_no_supported_function_is_named():
    from symrnn.derive import UnsupportedFunction

    with pytest.raises(UnsupportedFunction, match="unsupported function phi"):
        read_cell(r"$$\phi(z) = z^3$$" + "\n" + r"$$h_t = \phi(W h_{t-1} + U x_t)$$")


def test_sizes_named_by_capital_letters_are_read_as_sizes():
    """``\\mathbb{R}^{H}``, ``\\mathbb{R}^{H \\times D}``: capital size names (the reader's matrices elsewhere) declare
    the same shapes as lower-case ones, and a clash between them is named."""
    from symrnn import audit
    from symrnn.derive.errors import CellError

    def text(h: str, d: str, rows: str) -> str:
        return (rf"Let $h_t \in \mathbb{{R}}^{{{h}}}$, $x_t \in \mathbb{{R}}^{{{d}}}$ and "
                rf"$U \in \mathbb{{R}}^{{{rows} \times {d}}}$." "\n" r"$$h_t = \tanh(W h_{t-1} + U x_t + b)$$")

    def shapes(cell):
        return {p.name: (p.rows, p.cols) for p in cell.params}

    assert shapes(read_cell(text("H", "D", "H"))) == shapes(read_cell(text("h", "d", "h")))
    with pytest.raises(CellError, match="line 2"):
        read_cell(text("H", "D", "D"))  # U x_t would have D rows, h_t has H
    declared = [f.message for f in audit.audit_text(text("H", "D", "H")) if f.check == "declaration"]
    assert any("R^(H x D)" in m for m in declared), declared


LIPTON = r"""
Lipton et al. (2015) write the weights' labels above them:
$$\mathbf{h}^{(t)} = \sigma(W^{hx} \mathbf{x}^{(t)} + W^{hh} \mathbf{h}^{(t-1)} + \mathbf{b}_h)$$
"""


def test_labels_written_above_a_matrix_name_it():
    """``W^{hx}``: two or more lower-case letters above a capital are its label (as ``W_{hx}``); a single letter,
    ``T`` or a time stays a power, a transpose or a copy per step."""
    assert parse(r"W^{hx}", backend="none") == parse(r"W_{hx}", backend="none")
    assert isinstance(parse(r"A^{t-1}", backend="none"), sp.MatPow)
    assert isinstance(parse(r"W^{T}", backend="none"), sp.Transpose)
    cell = read_cell(LIPTON, n_state=3, n_input=2)
    assert {p.name for p in cell.params} == {"W_hx", "W_hh", "b_h"}

    def step(p, s, x):
        h = torch.sigmoid(p["W_hx"] @ x + p["W_hh"] @ s["h"] + p["b_h"])
        return {"h": h}, h
    _check(cell, step, ["h"], seed=21)
