"""Compiled BPTT (symrnn.training) and the numeric gradient check (symrnn.gradcheck).

Every expected value is computed here independently: central finite differences written in the test, a
hand-written NumPy BPTT for the lecture's RNN, log-sum-exp written out with the math module, and the additivity of
the loss over batch columns.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import sympy as sp

from symrnn.autodiff.training import (
    InputError,
    MissingParameterError,
    ShapeError,
    TargetError,
    compile_bptt,
)
from symrnn.models import cells, losses
from symrnn.models.cells import Cell, Param
from symrnn.numeric.gradcheck import check_gradients, gradcheck
from symrnn.ops import sigmoid

# ---- independent references --------------------------------------------------------------------------------------


def finite_differences(loss, params: dict[str, np.ndarray], eps: float = 1e-6) -> dict[str, np.ndarray]:
    """Central differences of ``loss(params)`` in every entry of every parameter."""
    out = {}
    for name, value in params.items():
        grad = np.zeros_like(value)
        for index in np.ndindex(*value.shape):
            shifted = {k: v.copy() for k, v in params.items()}
            shifted[name][index] = value[index] + eps
            above = loss(shifted)
            shifted[name][index] = value[index] - eps
            below = loss(shifted)
            grad[index] = (above - below) / (2 * eps)
        out[name] = grad
    return out


def lecture_rnn_numpy(U, W, xs, classes, h0):  # noqa: N803
    """The lecture's RNN h_t = softmax(U h_{t-1} + W x_t - 1) with cross-entropy, forward and BPTT by hand.

    xs: (T, D, B); classes: (T, B).  Returns (loss, {"U", "W"}, states (T+1, N, B)).
    """
    T, B = classes.shape  # noqa: N806
    cols = np.arange(B)
    hs = [h0]
    loss = 0.0
    for t in range(T):
        a = U @ hs[-1] + W @ xs[t] - 1.0
        shifted = a - a.max(axis=0)
        log_total = np.log(np.exp(shifted).sum(axis=0))
        hs.append(np.exp(shifted - log_total))
        loss -= (shifted[classes[t], cols] - log_total).sum()
    dU, dW = np.zeros_like(U), np.zeros_like(W)  # noqa: N806
    rho = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        h = hs[t + 1]
        dz = h * rho - h * (h * rho).sum(axis=0)  # J^T rho, the softmax Jacobian J = diag(h) - h h^T
        dz += h  # the cross-entropy part: J^T (-y / h) = h - y
        dz[classes[t], cols] -= 1.0
        dU += dz @ hs[t].T
        dW += dz @ xs[t].T
        rho = U.T @ dz
    return loss, {"U": dU, "W": dW}, np.stack(hs)


def one_hot(indices: np.ndarray, size: int) -> np.ndarray:
    """(T, B) indices -> (T, size, B) one-hot columns."""
    T, B = indices.shape  # noqa: N806
    out = np.zeros((T, size, B))
    out[np.arange(T)[:, None], indices, np.arange(B)[None, :]] = 1.0
    return out


def assert_relative(actual, expected, rtol: float) -> None:
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape
    scale = max(np.abs(expected).max(), 1e-300)
    assert np.abs(actual - expected).max() <= rtol * scale, (actual, expected)


def toy_two_state_cell(H: int = 3, D: int = 2) -> Cell:  # noqa: N803
    """A cell with states h and c (an LSTM-like memory), written only for these tests."""
    def build(p, prev, x):
        h, c = prev["h"], prev["c"]
        f = (p["U_f"] * h + p["W_f"] * x).applyfunc(sigmoid)
        g = (p["U_c"] * h + p["W_c"] * x).applyfunc(sp.tanh)
        c_new = sp.HadamardProduct(f, c) + g
        o = (p["U_o"] * h + p["W_o"] * x).applyfunc(sigmoid)
        return {"h": sp.HadamardProduct(o, c_new.applyfunc(sp.tanh)), "c": c_new}
    params = tuple(Param(f"U_{g}", H, H) for g in "fco") + tuple(Param(f"W_{g}", H, D) for g in "fco")
    return Cell("toy", H, D, params, build, states=("h", "c"))


# ---- fixtures ----------------------------------------------------------------------------------------------------

N, D, B, T = 4, 5, 3, 6


@pytest.fixture(scope="module")
def lecture():
    return compile_bptt(cells.rnn(N, D), losses.cross_entropy())


@pytest.fixture(scope="module")
def elman():
    return compile_bptt(cells.elman(N, D), losses.squared_error())


def random_params(cell: Cell, rng: np.random.Generator, scale: float = 1.0) -> dict[str, np.ndarray]:
    return {p.name: rng.normal(scale=scale, size=(p.rows, p.cols)) for p in cell.params}


def lecture_problem(rng, T=T, B=B):  # noqa: N803
    words = rng.integers(0, D, size=(T, B))
    return one_hot(words, D), rng.integers(0, N, size=(T, B))


# ---- the generated gradients -------------------------------------------------------------------------------------


def test_lecture_rnn_matches_hand_written_numpy(lecture):
    rng = np.random.default_rng(1)
    params = random_params(lecture.cell, rng)
    xs, classes = lecture_problem(rng)
    h0 = np.full((N, B), 1.0 / N)
    loss, grads = lecture.loss_and_grads(params, xs, classes, h0)
    want_loss, want_grads, want_states = lecture_rnn_numpy(params["U"], params["W"], xs, classes, h0)
    assert loss == pytest.approx(want_loss, rel=1e-13)
    for name in ("U", "W"):
        assert_relative(grads[name], want_grads[name], 1e-12)
    assert_relative(lecture.forward(params, xs, h0)["h"], want_states, 1e-13)
    # one-hot targets give the same as class indices
    loss2, grads2 = lecture.loss_and_grads(params, xs, one_hot(classes, N), h0)
    assert loss2 == pytest.approx(want_loss, rel=1e-13)
    assert_relative(grads2["U"], want_grads["U"], 1e-12)


CASES = {
    "lecture RNN, cross-entropy": (lambda: cells.rnn(3, 2), losses.cross_entropy),
    "lecture RNN, squared error": (lambda: cells.rnn(3, 2), losses.squared_error),
    "sigmoid RNN, cross-entropy": (lambda: cells.rnn(3, 2, cells.elementwise(sigmoid), "sigmoid"),
                                   losses.cross_entropy),
    "Elman, squared error": (lambda: cells.elman(3, 2), losses.squared_error),
    "GRU, squared error": (lambda: cells.gru(3, 2), losses.squared_error),
    "two states h and c, squared error": (toy_two_state_cell, losses.squared_error),
}


@pytest.mark.parametrize("case", CASES)
def test_gradients_match_central_differences(case):
    make_cell, make_loss = CASES[case]
    compiled = compile_bptt(make_cell(), make_loss())
    cell = compiled.cell
    rng = np.random.default_rng(2)
    params = random_params(cell, rng)
    xs = rng.normal(size=(4, cell.n_input, 2))
    if make_loss is losses.cross_entropy:
        ys = rng.integers(0, cell.n_state, size=(4, 2))
    else:
        ys = rng.normal(size=(4, cell.n_state, 2))
    h0 = {s: rng.uniform(0.1, 0.5, size=(cell.n_state, 2)) for s in cell.states}
    _, grads = compiled.loss_and_grads(params, xs, ys, h0)
    want = finite_differences(lambda p: compiled.loss(p, xs, ys, h0), params)
    assert set(grads) == {p.name for p in cell.params}
    for name, value in want.items():
        assert grads[name].shape == value.shape
        np.testing.assert_allclose(grads[name], value, rtol=1e-6, atol=1e-7, err_msg=f"{case}: {name}")


def test_loss_adds_over_batch_columns(elman):
    """A batch of B sequences gives the sum of B single-sequence runs (2-D inputs, unbatched targets)."""
    rng = np.random.default_rng(3)
    params = random_params(elman.cell, rng)
    xs, ys, h0 = rng.normal(size=(T, D, B)), rng.normal(size=(T, N, B)), rng.normal(size=(N, B))
    loss, grads = elman.loss_and_grads(params, xs, ys, h0)
    total, parts = 0.0, {k: 0.0 for k in grads}
    for b in range(B):
        single_loss, single = elman.loss_and_grads(params, xs[:, :, b], ys[:, :, b], h0[:, b])
        total += single_loss
        parts = {k: parts[k] + single[k] for k in parts}
        states = elman.forward(params, xs[:, :, b], h0[:, b])["h"]
        assert states.shape == (T + 1, N)
        assert_relative(states, elman.forward(params, xs, h0)["h"][:, :, b], 1e-14)
    assert loss == pytest.approx(total, rel=1e-13)
    for k in grads:
        assert_relative(grads[k], parts[k], 1e-12)
    assert elman.loss(params, xs, ys, h0) == pytest.approx(loss, rel=1e-15)


def test_elman_states_follow_the_recurrence(elman):
    rng = np.random.default_rng(4)
    params = random_params(elman.cell, rng)
    xs = rng.normal(size=(T, D, B))
    states = elman.forward(params, xs)["h"]
    h = np.zeros((N, B))  # the default h0
    np.testing.assert_array_equal(states[0], h)
    for t in range(T):
        h = np.tanh(params["U"] @ h + params["W"] @ xs[t] + params["b"])
        assert_relative(states[t + 1], h, 1e-14)


def test_softmax_cross_entropy_is_stable_for_huge_logits(lecture):
    rng = np.random.default_rng(5)
    params = random_params(lecture.cell, rng, scale=1e4)  # logits of order 1e4: e^{1e4} overflows
    xs, classes = lecture_problem(rng)
    h0 = np.zeros((N, B))
    loss, grads = lecture.loss_and_grads(params, xs, classes, h0)
    states = lecture.forward(params, xs, h0)["h"]
    # the regime is real: some target probability underflows to 0, so a naive -ln h would be infinite
    cols = np.arange(B)
    assert any((states[t + 1][classes[t], cols] == 0).any() for t in range(T))
    want = 0.0  # -ln softmax by log-sum-exp, one column at a time, with the math module
    for t in range(T):
        for b in range(B):
            a = [float(v) for v in params["U"] @ states[t][:, b] + params["W"] @ xs[t][:, b] - 1.0]
            top = max(a)
            want -= a[classes[t, b]] - top - math.log(math.fsum(math.exp(v - top) for v in a))
    assert math.isfinite(loss) and loss == pytest.approx(want, rel=1e-12)
    assert all(np.isfinite(g).all() for g in grads.values())
    _, want_grads, _ = lecture_rnn_numpy(params["U"], params["W"], xs, classes, h0)
    for name in grads:
        assert_relative(grads[name], want_grads[name], 1e-12)


def test_generated_code_is_matrix_level():
    """The kernels' source does not grow with the sizes: no per-entry code."""
    small = compile_bptt(cells.gru(3, 2), losses.squared_error())
    large = compile_bptt(cells.gru(40, 30), losses.squared_error())
    for kernel in ("inputs_kernel", "forward_kernel", "backward_kernel", "loss_kernel", "after_kernel"):
        a, b = inspect.getsource(getattr(small.kernels, kernel)), inspect.getsource(getattr(large.kernels, kernel))
        assert a.count("\n") == b.count("\n") and abs(len(a) - len(b)) < 20
    # the GRU's gates are computed once, in the forward pass, and handed to the backward pass
    assert large.kernels.n_saved > 0 and large.kernels.backward_kernel.__name__ == "gru_backward"
    assert "@ h_t_1 + " not in inspect.getsource(large.kernels.backward_kernel)


# ---- validation --------------------------------------------------------------------------------------------------


def test_inputs_are_validated_with_named_errors(lecture, elman):
    rng = np.random.default_rng(6)
    params = random_params(lecture.cell, rng)
    xs, classes = lecture_problem(rng)
    with pytest.raises(MissingParameterError, match=r"missing \['W'\]"):
        lecture.loss_and_grads({"U": params["U"]}, xs, classes)
    with pytest.raises(MissingParameterError, match=r"unknown \['V'\]"):
        lecture.loss_and_grads({**params, "V": params["U"]}, xs, classes)
    with pytest.raises(ShapeError, match=r"parameter U must have shape \(4, 4\), got \(4, 5\)"):
        lecture.loss_and_grads({**params, "U": np.zeros((4, 5))}, xs, classes)
    with pytest.raises(ShapeError, match="inputs must be"):
        lecture.loss_and_grads(params, xs[:, :3], classes)
    with pytest.raises(ShapeError, match="non-finite"):
        lecture.loss_and_grads(params, xs * np.nan, classes)
    bad = classes.copy()
    bad[2, 1] = N
    with pytest.raises(TargetError, match=r"target class 4 at t=3, batch column 1 is out of range 0..3"):
        lecture.loss_and_grads(params, xs, bad)
    with pytest.raises(ShapeError, match="class-index targets must have shape"):
        lecture.loss_and_grads(params, xs, classes[:-1])
    with pytest.raises(TargetError, match="negative"):
        lecture.loss_and_grads(params, xs, -one_hot(classes, N))
    elman_params = random_params(elman.cell, rng)
    with pytest.raises(TargetError, match="class indices"):
        elman.loss_and_grads(elman_params, xs, classes)
    with pytest.raises(ShapeError, match="initial state h"):
        elman.forward(elman_params, xs, np.zeros(N + 1))
    with pytest.raises(ShapeError, match="real numeric"):
        elman.forward(elman_params, xs.astype(complex))


def test_entry_level_losses_are_refused():
    loss = losses.custom("quartic", lambda h, y: sum((a - b) ** 4 for a, b in zip(h, y, strict=True)), 3)
    with pytest.raises(NotImplementedError, match="explicit matrix"):
        compile_bptt(cells.elman(3, 2), loss)


def test_multi_state_initial_states():
    compiled = compile_bptt(toy_two_state_cell(), losses.squared_error())
    rng = np.random.default_rng(7)
    params = random_params(compiled.cell, rng)
    xs = rng.normal(size=(3, 2, 2))
    states = compiled.forward(params, xs, {"c": np.ones(3)})
    assert set(states) == {"h", "c"} and states["c"].shape == (4, 3, 2)
    np.testing.assert_array_equal(states["c"][0], np.ones((3, 2)))
    np.testing.assert_array_equal(states["h"][0], np.zeros((3, 2)))
    with pytest.raises(InputError, match="give h0 as a dict"):
        compiled.forward(params, xs, np.ones(3))
    with pytest.raises(InputError, match=r"unknown states \['q'\]"):
        compiled.forward(params, xs, {"q": np.ones(3)})


# ---- gradcheck ---------------------------------------------------------------------------------------------------


def test_gradcheck_passes_on_compiled_models(lecture):
    rng = np.random.default_rng(8)
    params = random_params(lecture.cell, rng)
    xs, classes = lecture_problem(rng, T=4)
    seen = []
    result = gradcheck(lecture, params, xs, classes, progress=lambda done, total: seen.append((done, total)))
    assert result.passed, result.message
    assert result.entries_checked == result.entries_total == N * N + N * D
    assert result.worst_relative_error < 1e-6
    assert seen == [(k, N * N + N * D) for k in range(1, N * N + N * D + 1)]
    assert "passed on all 36 entries" in result.message


def test_gradcheck_names_a_wrong_entry():
    """An analytic function with a known gradient, one entry of which is spoiled."""
    rng = np.random.default_rng(9)
    params = {"U": rng.normal(size=(3, 2)), "b": rng.normal(size=(2, 1))}

    def loss(p):
        return float(np.sin(p["U"]).sum() + (p["b"] ** 3).sum())

    grads = {"U": np.cos(params["U"]), "b": 3 * params["b"] ** 2}
    assert check_gradients(loss, params, grads).passed
    grads["U"][2, 1] += 1e-3
    result = check_gradients(loss, params, grads)
    assert not result.passed and len(result.failures) == 1
    assert result.failures[0].entry == "U[2,1]"
    assert result.message.startswith(f"gradient check failed at U[2,1]: analytic {grads['U'][2, 1]:.12g}, "
                                      "finite difference ")
    assert result.failures[0].numeric == pytest.approx(np.cos(params["U"][2, 1]), rel=1e-8)
    with pytest.raises(TypeError, match="float64"):
        check_gradients(loss, {k: v.astype(np.float32) for k, v in params.items()}, grads)


def test_gradcheck_subset_covers_every_parameter():
    rng = np.random.default_rng(10)
    params = {"A": rng.normal(size=(30, 30)), "c": rng.normal(size=(3, 1))}

    def loss(p):
        return float((p["A"] ** 2).sum() / 2 + np.exp(p["c"]).sum())

    grads = {"A": params["A"].copy(), "c": np.exp(params["c"])}
    result = check_gradients(loss, params, grads, max_entries=40, seed=3)
    assert result.passed and result.entries_total == 903
    assert 35 <= result.entries_checked <= 45
    again = check_gradients(loss, params, grads, max_entries=40, seed=3)
    assert again.worst == result.worst  # seeded
    grads["c"] *= 1.01  # a parameter with few entries is still represented
    assert "failed at c[" in check_gradients(loss, params, grads, max_entries=40, seed=3).message


def test_inputs_over_the_size_caps_are_refused_before_any_work(lecture):
    import dataclasses

    from symrnn.autodiff.training import MAX_ELEMENTS, MAX_STEPS, InputTooLarge
    from symrnn.core.budget import SizeLimit

    rng = np.random.default_rng(9)
    params = random_params(lecture.cell, rng)
    xs, classes = lecture_problem(rng)  # T = 6 steps, B = 3 columns, N = 4 states: 72 state entries
    calls = []

    def spy(*args):
        calls.append(1)
        return lecture.kernels.forward_kernel(*args)

    watched = dataclasses.replace(lecture, kernels=dataclasses.replace(lecture.kernels, forward_kernel=spy))
    loss, grads = watched.loss_and_grads(params, xs, classes, max_steps=T, max_elements=T * B * N)  # at the caps
    want_loss, want, _ = lecture_rnn_numpy(params["U"], params["W"], xs, classes, np.zeros((N, B)))
    assert math.isclose(loss, want_loss, rel_tol=1e-10) and calls == [1] * T
    for name in want:
        assert_relative(grads[name], want[name], 1e-9)
    calls.clear()
    longer = np.concatenate([xs, xs[:1]])  # 7 steps
    for call in (lambda **caps: watched.loss_and_grads(params, longer, classes, **caps),
                 lambda **caps: watched.loss({}, longer.tolist(), None, **caps),  # no params: the cap comes first
                 lambda **caps: watched.forward(params, longer[:, :, 0], **caps)):
        with pytest.raises(InputTooLarge) as refused:
            call(max_steps=T)
        assert str(refused.value) == "7 time steps: more than the limit of 6 (the max_steps argument raises it)"
        assert isinstance(refused.value, SizeLimit) and isinstance(refused.value, InputError)
    with pytest.raises(InputTooLarge, match=r"^72 state entries \(T x B x N = 6 x 3 x 4\): more than the limit of 71 "
                                            r"\(the max_elements argument raises it\)$"):
        watched.loss_and_grads(params, xs, classes, max_elements=T * B * N - 1)
    huge = np.broadcast_to(np.zeros(1), (MAX_STEPS + 1, D, 1))  # a view: nothing allocated, nothing converted
    with pytest.raises(InputTooLarge, match=f"^{MAX_STEPS + 1} time steps: more than the limit of {MAX_STEPS} "):
        watched.forward(params, huge)
    wide = np.broadcast_to(np.zeros(1), (MAX_STEPS, D, MAX_ELEMENTS // (MAX_STEPS * N) + 1))
    with pytest.raises(InputTooLarge, match=f"more than the limit of {MAX_ELEMENTS} "):
        watched.forward(params, wide)
    assert calls == []
    for bad in (0, -1, 2.5, True, "6"):
        with pytest.raises(InputError, match=f"max_steps must be a positive integer, got {bad!r}"):
            watched.loss(params, xs, classes, max_steps=bad)
