"""What does not depend on the recursion is moved out of the loop over t (symrnn.autodiff.hoisting), found from the
step's structure: the hoisted code equals the per-step code (``compile_bptt(..., hoist=False)``) to 1e-12 for the
lecture's RNN, Elman, GRU and LSTM cells; the rewrite is found for cells no other test names (two input products,
a peephole LSTM), whose gradients are checked against central finite differences; the standalone module runs the
same code."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from symrnn import notation as nt
from symrnn.autodiff import hoisting
from symrnn.autodiff.training import compile_bptt
from symrnn.derive import read_cell, standalone
from symrnn.derive.checks import Spec
from symrnn.models import cells, losses, lstm
from symrnn.models.cells import Cell, Param
from symrnn.numeric.gradcheck import gradcheck
from symrnn.ops import sigmoid

GRU_TEXT = r"""
$$r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr})$$
$$z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz})$$
$$n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn}))$$
$$h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$$
"""

MGU_TEXT = r"""
$$f_t = \sigma(W_f x_t + U_f h_{t-1} + b_f)$$
$$\tilde{h}_t = \tanh(W_h x_t + U_h (f_t \odot h_{t-1}) + b_h)$$
$$h_t = (1 - f_t) \odot h_{t-1} + f_t \odot \tilde{h}_t$$
"""


def two_inputs(n: int = 4, d: int = 3) -> Cell:
    """``h_t = tanh(U h_{t-1} + W_1 x_t + W_2 x_t + b)``: two products with the input in one sum."""
    def build(p, prev, x):
        return {"h": (p["U"] * prev["h"] + p["W_1"] * x + p["W_2"] * x + p["b"]).applyfunc(sp.tanh)}
    return Cell("twoin", n, d, (Param("U", n, n), Param("W_1", n, d), Param("W_2", n, d), Param("b", n, 1)), build)


def peephole_lstm(n: int = 3, d: int = 2) -> Cell:
    """An LSTM whose gates also see the cell state through vectors ``p_i, p_f, p_o`` (Gers and Schmidhuber)."""
    def build(p, prev, x):
        h, c = prev["h"], prev["c"]

        def gate(g, fn, memory=None):
            z = p[f"W_{g}"] * x + p[f"U_{g}"] * h + p[f"b_{g}"]
            return (z if memory is None else z + sp.HadamardProduct(p[f"p_{g}"], memory)).applyfunc(fn)
        c_new = sp.HadamardProduct(gate("f", sigmoid, c), c) + sp.HadamardProduct(gate("i", sigmoid, c),
                                                                                 gate("g", sp.tanh))
        return {"h": sp.HadamardProduct(gate("o", sigmoid, c_new), c_new.applyfunc(sp.tanh)), "c": c_new}
    params = [Param(f"{k}_{g}", n, m) for g in "ifgo" for k, m in (("W", d), ("U", n), ("b", 1))]
    params += [Param(f"p_{g}", n, 1) for g in "ifo"]
    return Cell("peephole", n, d, tuple(params), build, states=("h", "c"))


CELLS = {
    "lecture RNN, cross-entropy": (lambda: cells.rnn(4, 3), losses.cross_entropy),
    "Elman": (lambda: cells.elman(4, 3), losses.squared_error),
    "GRU": (lambda: cells.gru(4, 3), losses.squared_error),
    "GRU read from LaTeX": (lambda: read_cell(GRU_TEXT, name="gru", n_state=4, n_input=3), losses.squared_error),
    "LSTM": (lambda: lstm.standard_lstm(4, 3), losses.squared_error),
    "the lecture's LSTM": (lambda: lstm.lecture_lstm(4, 4), losses.squared_error),
    "MGU read from LaTeX": (lambda: read_cell(MGU_TEXT, name="mgu", n_state=4, n_input=3), losses.squared_error),
    "two input products": (two_inputs, losses.squared_error),
    "peephole LSTM": (peephole_lstm, losses.squared_error),
}


def _problem(cell: Cell, loss_name: str, seed: int, steps: int = 7, batch: int = 3):
    rng = np.random.default_rng(seed)
    params = {p.name: rng.normal(scale=0.7, size=(p.rows, p.cols)) for p in cell.params}
    xs = rng.normal(size=(steps, cell.n_input, batch))
    if "cross" in loss_name:
        return params, xs, rng.integers(0, cell.n_state, size=(steps, batch))
    return params, xs, rng.normal(size=(steps, cell.n_state, batch))


@pytest.mark.parametrize("name", list(CELLS))
def test_hoisted_code_equals_the_per_step_code(name):
    make, loss = CELLS[name]
    cell = make()
    hoisted, per_step = compile_bptt(cell, loss()), compile_bptt(cell, loss(), hoist=False)
    assert hoisted.kernels.inputs_kernel is not None and hoisted.kernels.after_kernel is not None
    assert per_step.kernels.inputs_kernel is None and per_step.kernels.after_kernel is None
    params, xs, ys = _problem(cell, loss().name, seed=len(name))
    loss_h, grads_h = hoisted.loss_and_grads(params, xs, ys)
    loss_s, grads_s = per_step.loss_and_grads(params, xs, ys)
    assert loss_h == pytest.approx(loss_s, rel=1e-12)
    for k, g in grads_s.items():
        np.testing.assert_allclose(grads_h[k], g, rtol=1e-12, atol=1e-12 * max(1.0, np.abs(g).max()), err_msg=k)
    for k, v in per_step.forward(params, xs).items():
        np.testing.assert_allclose(hoisted.forward(params, xs)[k], v, rtol=1e-12, atol=1e-13)
    assert hoisted.loss(params, xs, ys) == pytest.approx(loss_s, rel=1e-12)


def test_two_input_products_are_one_hoisted_sum_and_their_gradients_one_product_each():
    cell = two_inputs()
    x, prev = cell.input(nt.t), cell.previous(nt.t - 1)
    p = cell.symbols()
    (step,), named = hoisting.hoist_inputs([cell.step()["h"]], x, prev.values())
    assert len(named) == 1 and not step.has(x)
    ((sym, pre),) = named.items()
    assert hoisting.same(pre, p["W_1"] * x + p["W_2"] * x)  # the bias stays in the step: a column, added there
    assert hoisting.same(step.expr, p["U"] * prev["h"] + sym + p["b"])  # the argument of tanh
    compiled = compile_bptt(cell, losses.squared_error())
    k = compiled.kernels
    assert k.step_grads == () and set(k.after_grads) == {"U", "W_1", "W_2", "b"}
    assert k.n_deltas == 1  # one stored factor: dL/dz_t, for U, W_1, W_2 and b alike
    assert {kind for kind, _ in k.after_args} == {"x", "previous", "delta"}
    split = k.split
    (delta,) = split.deltas
    assert hoisting.same(split.after["W_1"], delta * x.T) and hoisting.same(split.after["W_2"], delta * x.T)
    assert hoisting.same(split.after["U"], delta * prev["h"].T) and split.after["b"] == delta
    params, xs, ys = _problem(cell, "squared", seed=3)
    assert gradcheck(compiled, params, xs, ys).passed


def test_a_peephole_lstm_is_hoisted_from_its_structure():
    cell = peephole_lstm()
    compiled = compile_bptt(cell, losses.squared_error())
    k = compiled.kernels
    x = cell.input(nt.t)
    p = cell.symbols()
    for g in "ifgo":  # W_g x for each gate, beside the recurrent and peephole terms (the bias stays in the step)
        assert any(hoisting.same(e, p[f"W_{g}"] * x) for e in k.inputs.values())
    assert all(not e.has(*cell.previous(nt.t - 1).values()) and e.has(x) for e in k.inputs.values())
    assert k.step_grads == () and set(k.after_grads) == {q.name for q in cell.params}
    for g in "ifo":  # a peephole vector's contribution (a column per batch item) is summed once, after the loop
        assert k.split.after[f"p_{g}"] in k.split.deltas
    params, xs, ys = _problem(cell, "squared", seed=4)
    assert gradcheck(compiled, params, xs, ys).passed


def test_what_depends_on_the_recursion_stays_in_the_loop():
    n = 3
    rho, h = nt.Vec("rho", nt.t, n), nt.Vec("h", nt.t - 1, n)
    a = sp.MatrixSymbol("a", n, 1)
    grads = {"P": rho * rho.T, "Q": sp.HadamardProduct(rho, a) * h.T, "c": sp.ZeroMatrix(n, n) + rho * h.T}
    split = hoisting.split_gradients(grads, [rho], [rho, h, a])
    assert set(split.step) == {"P"} and split.step["P"] == rho * rho.T
    assert set(split.after) == {"Q", "c"} and len(split.deltas) == 2
    constant = hoisting.split_gradients({"P": sp.MatrixSymbol("M", n, n)}, [rho], [rho, h])
    assert set(constant.step) == {"P"} and not constant.after  # no time-varying factor: added once per step


def test_an_input_inside_a_product_over_the_batch_is_not_hoisted():
    n = 3
    x, h = nt.Vec("x", nt.t, n), nt.Vec("h", nt.t - 1, n)
    W = sp.MatrixSymbol("W", n, n)  # noqa: N806
    expr = sp.MatMul(x, x.T, h) + W * x
    (out,), named = hoisting.hoist_inputs([expr], x, [h])
    assert list(named.values()) == [W * x] and out.has(x)


def test_the_standalone_module_runs_the_hoisted_code_to_the_last_bit():
    made = standalone.build(Spec(GRU_TEXT, "gru", "squared", 4, 3))
    assert "def _inputs_all_steps(" in made.source and "def _gradients_after(" in made.source
    assert "def run_bptt(" in made.source and "class Generated:" in made.source
    module = standalone.load(made.source, "gru")
    params, xs, ys = _problem(made.compiled.cell, "squared", seed=5)
    loss, grads = module.loss_and_grads(params, xs, ys)
    want_loss, want = made.compiled.loss_and_grads(params, xs, ys)
    assert loss == want_loss and all(np.array_equal(grads[k], want[k]) for k in want)
    assert module.loss(params, xs, ys) == made.compiled.loss(params, xs, ys)
    assert np.array_equal(module.forward(params, xs)["h"], made.compiled.forward(params, xs)["h"])


def _multiplications(expr: sp.Basic) -> int:
    """Entrywise products in ``expr``, each distinct subexpression once (as the generated code computes them)."""
    nodes = {n for n in sp.preorder_traversal(expr) if isinstance(n, sp.HadamardProduct)}
    return sum(len(n.args) - 1 for n in nodes)


def test_a_factor_shared_by_terms_is_taken_out_once_and_the_value_is_unchanged():
    from symrnn.autodiff.kernels import factor_hadamard

    a, b, c, d, f = (sp.MatrixSymbol(s, 3, 1) for s in "abcdf")
    e1, e2 = sp.Dummy("u"), sp.Dummy("v")  # the same function under two bound variables: one factor
    g1 = nt.apply_entrywise(sp.Lambda(e1, e1 * (1 - e1)), f)
    g2 = nt.apply_entrywise(sp.Lambda(e2, e2 * (1 - e2)), f)
    cases = [
        sp.MatAdd(sp.HadamardProduct(a, c), sp.HadamardProduct(b, c)),  # (a + b) o c: 1 product, not 2
        sp.MatAdd(sp.HadamardProduct(sp.HadamardProduct(a, c), g1), sp.HadamardProduct(b, c, g2),
                  sp.HadamardProduct(d, a)),
        sp.MatAdd(sp.MatMul(-1, sp.HadamardProduct(a, g1)), sp.HadamardProduct(b, g2), d),
    ]
    rng = np.random.default_rng(3)
    values = {m: sp.Matrix(3, 1, [sp.Rational(int(v), 7) for v in rng.integers(-9, 10, 3)]) for m in (a, b, c, d, f)}
    for expr in cases:
        out = factor_hadamard(expr)
        assert _multiplications(out) < _multiplications(expr), (expr, out)
        exact = [e.xreplace(values).doit().as_explicit() for e in (expr, out)]  # exact rationals: no tolerance
        assert exact[0] == exact[1], (expr, out)


def test_the_lstm_backward_step_takes_its_shared_factors_out():
    """The LSTM: the cell error (rho_c plus the path through h) is formed once and every gate's error is it
    times the gate's own factors, so the step has fewer entrywise products than the paths written out."""
    from symrnn.autodiff import kernels
    from symrnn.autodiff.bptt import derive

    b = derive(lstm.standard_lstm(3, 2), losses.squared_error())
    plain = [kernels.factor_products(e) for e in b.recurrent.values()]
    assert sum(_multiplications(kernels.factor_hadamard(e)) for e in plain) < \
        sum(_multiplications(e) for e in plain)
