"""Cross-checks of the compiled BPTT against PyTorch autograd in float64.

Losses, every state and every gradient must agree to a relative 1e-10 (normwise, per array).  PyTorch is optional:
these tests are skipped without it.
"""

from __future__ import annotations

import numpy as np
import pytest
from torch_compare import RTOL, assert_relative, columns, to_torch, torch

from symrnn.autodiff.training import compile_bptt, from_torch_gru, from_torch_rnn
from symrnn.models import cells, losses

N, D, B, T = 5, 4, 3, 7


def test_lecture_rnn_against_torch_autograd():
    rng = np.random.default_rng(11)
    compiled = compile_bptt(cells.rnn(N, D), losses.cross_entropy())
    params = {"U": rng.normal(size=(N, N)), "W": rng.normal(size=(N, D))}
    xs = np.zeros((T, D, B))
    xs[np.arange(T)[:, None], rng.integers(0, D, size=(T, B)), np.arange(B)[None, :]] = 1.0  # one-hot words
    classes = rng.integers(0, N, size=(T, B))
    h0 = rng.dirichlet(np.ones(N), size=B).T

    U = torch.tensor(params["U"], requires_grad=True)  # noqa: N806
    W = torch.tensor(params["W"], requires_grad=True)  # noqa: N806
    h, loss, hs = torch.tensor(h0), torch.zeros((), dtype=torch.float64), []
    for t in range(T):
        h = torch.softmax(U @ h + W @ torch.from_numpy(xs[t]) - 1.0, dim=0)
        hs.append(h)
        loss = loss - torch.log(h[torch.from_numpy(classes[t]), torch.arange(B)]).sum()
    loss.backward()

    got_loss, grads = compiled.loss_and_grads(params, xs, classes, h0)
    assert abs(got_loss - loss.item()) <= RTOL * abs(loss.item())
    assert_relative(compiled.forward(params, xs, h0)["h"][1:], torch.stack(hs), "states")
    assert_relative(grads["U"], U.grad, "dL/dU")
    assert_relative(grads["W"], W.grad, "dL/dW")


def test_elman_against_torch_rnn():
    torch.manual_seed(12)
    module = torch.nn.RNN(D, N, nonlinearity="tanh", dtype=torch.float64)
    with torch.no_grad():
        module.bias_hh_l0.normal_()  # two different biases, so that only their sum can match b
    params = from_torch_rnn(module)
    assert_relative(params["b"][:, 0], module.bias_ih_l0 + module.bias_hh_l0, "b = b_ih + b_hh")
    rng = np.random.default_rng(12)
    xs, ys, h0 = rng.normal(size=(T, D, B)), rng.normal(size=(T, N, B)), rng.normal(size=(N, B))

    out, _ = module(to_torch(xs), torch.from_numpy(np.ascontiguousarray(h0.T))[None])
    loss = 0.5 * ((out - to_torch(ys)) ** 2).sum()
    loss.backward()

    compiled = compile_bptt(cells.elman(N, D), losses.squared_error())
    got_loss, grads = compiled.loss_and_grads(params, xs, ys, h0)
    assert abs(got_loss - loss.item()) <= RTOL * abs(loss.item())
    assert_relative(compiled.forward(params, xs, h0)["h"][1:], columns(out), "states")
    assert_relative(grads["U"], module.weight_hh_l0.grad, "dL/dU")
    assert_relative(grads["W"], module.weight_ih_l0.grad, "dL/dW")
    assert_relative(grads["b"][:, 0], module.bias_ih_l0.grad, "dL/db vs bias_ih")
    assert_relative(grads["b"][:, 0], module.bias_hh_l0.grad, "dL/db vs bias_hh")


def test_gru_against_torch_gru():
    torch.manual_seed(13)
    module = torch.nn.GRU(D, N, dtype=torch.float64)
    params = from_torch_gru(module)
    rng = np.random.default_rng(13)
    xs, ys, h0 = rng.normal(size=(T, D, B)), rng.normal(size=(T, N, B)), rng.normal(size=(N, B))

    out, _ = module(to_torch(xs), torch.from_numpy(np.ascontiguousarray(h0.T))[None])
    loss = 0.5 * ((out - to_torch(ys)) ** 2).sum()
    loss.backward()

    compiled = compile_bptt(cells.gru(N, D), losses.squared_error())
    got_loss, grads = compiled.loss_and_grads(params, xs, ys, h0)
    assert abs(got_loss - loss.item()) <= RTOL * abs(loss.item())
    assert_relative(compiled.forward(params, xs, h0)["h"][1:], columns(out), "states")
    rows = {g: slice(k * N, (k + 1) * N) for k, g in enumerate("rzn")}
    w_ih, w_hh = module.weight_ih_l0.grad, module.weight_hh_l0.grad
    b_ih, b_hh = module.bias_ih_l0.grad, module.bias_hh_l0.grad
    for g, r in rows.items():
        assert_relative(grads[f"W_{g}"], w_ih[r], f"dL/dW_{g}")
        assert_relative(grads[f"U_{g}"], w_hh[r], f"dL/dU_{g}")
    for g in "rz":  # b_g = b_ig + b_hg: the gradient reaches both torch biases unchanged
        assert_relative(grads[f"b_{g}"][:, 0], b_ih[rows[g]], f"dL/db_{g} vs b_i{g}")
        assert_relative(grads[f"b_{g}"][:, 0], b_hh[rows[g]], f"dL/db_{g} vs b_h{g}")
    assert_relative(grads["b_in"][:, 0], b_ih[rows["n"]], "dL/db_in")
    assert_relative(grads["b_hn"][:, 0], b_hh[rows["n"]], "dL/db_hn")


def test_from_torch_gru_unpacks_gates_in_order_r_z_n():
    module = torch.nn.GRU(2, 3, dtype=torch.float64)
    with torch.no_grad():
        for k, tensor in enumerate((module.weight_ih_l0, module.weight_hh_l0, module.bias_ih_l0, module.bias_hh_l0)):
            tensor.copy_(torch.arange(tensor.numel(), dtype=torch.float64).reshape(tensor.shape) + 100 * k)
    p = from_torch_gru(module)
    assert {k: v.shape for k, v in p.items()} == {
        "W_r": (3, 2), "W_z": (3, 2), "W_n": (3, 2), "U_r": (3, 3), "U_z": (3, 3), "U_n": (3, 3),
        "b_r": (3, 1), "b_z": (3, 1), "b_in": (3, 1), "b_hn": (3, 1)}
    np.testing.assert_array_equal(p["W_z"], [[6, 7], [8, 9], [10, 11]])
    np.testing.assert_array_equal(p["U_n"], 100 + np.arange(18, 27).reshape(3, 3))
    np.testing.assert_array_equal(p["b_r"][:, 0], [200 + 300, 201 + 301, 202 + 302])
    np.testing.assert_array_equal(p["b_in"][:, 0], [206, 207, 208])
    np.testing.assert_array_equal(p["b_hn"][:, 0], [306, 307, 308])
    with pytest.raises(ValueError, match="single-layer"):
        from_torch_gru(torch.nn.GRU(2, 3, num_layers=2))
