"""torch autograd of a cell's equations as read (the ``torch`` number module of the one evaluator), the peer check
``symrnn derive`` puts in its document: against torch implementations written here, and able to fail."""

from __future__ import annotations

import random

import numpy as np
import pytest
import sympy as sp

torch = pytest.importorskip("torch")

from symrnn.autodiff import matcalc  # noqa: E402
from symrnn.derive import torch_check  # noqa: E402
from symrnn.derive.cell_reading import read_cell  # noqa: E402
from symrnn.derive.checks import LOSSES, Spec  # noqa: E402
from symrnn.ops import LogSoftmax, Softmax, relu, sigmoid, softplus  # noqa: E402

ELMAN_SOFTMAX = r"""
$$h_t = \tanh(W_{hh} h_{t-1} + W_{hx} x_t + b_h)$$
$$\hat{y}_t = \mathrm{softmax}(V h_t + c)$$
"""


def test_every_scalar_function_and_softmax_evaluate_as_torch_does():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 3))
    z = sp.MatrixSymbol("z", 4, 3)
    cases = {sp.tanh: np.tanh(a), sigmoid: 1 / (1 + np.exp(-a)), relu: np.maximum(a, 0),
             softplus: np.log1p(np.exp(a)), sp.exp: np.exp(a)}
    for fn, want in cases.items():
        got = matcalc.evaluate(z.applyfunc(fn), {z: torch.tensor(a)}, "torch")
        assert isinstance(got, torch.Tensor) and np.allclose(got.numpy(), want, rtol=1e-14, atol=0), fn
    e = np.exp(a - a.max(axis=0))
    soft = e / e.sum(axis=0)
    assert np.allclose(matcalc.evaluate(Softmax(z), {z: torch.tensor(a)}, "torch").numpy(), soft, rtol=1e-14)
    assert np.allclose(matcalc.evaluate(LogSoftmax(z), {z: torch.tensor(a)}, "torch").numpy(), np.log(soft),
                       rtol=1e-13)


def test_autograd_of_the_equations_equals_a_torch_elman_written_here():
    cell = read_cell(ELMAN_SOFTMAX, "elman", n_state=3, n_input=2)
    loss = LOSSES["cross-entropy"]()
    rng = np.random.default_rng(1)
    params = {p.name: rng.normal(0, 0.5, (p.rows, p.cols)) for p in cell.params}
    xs, classes = rng.normal(size=(4, 2, 5)), rng.integers(0, 3, (4, 5))
    value, grads = torch_check.autograd(cell, loss, params, xs, classes)

    w = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    h, total = torch.zeros(3, 5, dtype=torch.float64), 0
    for x, y in zip(xs, classes):
        h = torch.tanh(w["W_hh"] @ h + w["W_hx"] @ torch.tensor(x) + w["b_h"])
        logp = torch.log_softmax(w["V"] @ h + w["c"], dim=0)
        total = total - logp[torch.tensor(y), torch.arange(5)].sum()
    total.backward()
    assert value == pytest.approx(float(total.detach()), rel=1e-13)
    for k, v in w.items():
        assert np.allclose(grads[k], v.grad.numpy(), rtol=1e-12, atol=1e-14), k


def test_the_document_check_passes_and_fails_when_the_code_is_wrong(monkeypatch):
    spec = Spec(ELMAN_SOFTMAX, name="elman", n_state=3, n_input=2, quick=True)
    ok = torch_check.check(spec, random.Random(0))
    assert ok.passed and "torch autograd" in ok.detail
    from symrnn.derive import standalone

    real = standalone.load

    def tampered(source, name):  # one gradient 1e-6 off: the check must see it
        module = real(source, name)
        inner = module.loss_and_grads

        def loss_and_grads(*args, **kw):
            value, grads = inner(*args, **kw)
            return value, {**grads, "c": grads["c"] * (1 + 1e-6)}
        module.loss_and_grads = loss_and_grads
        return module

    monkeypatch.setattr(standalone, "load", tampered)
    assert not torch_check.check(spec, random.Random(0)).passed


@pytest.mark.parametrize("text", [
    r"$$h_t = \mathrm{ReLU}(W x_t + u \odot h_{t-1} + b)$$",  # IndRNN with ReLU: its derivative is a numpy.select
    r"$$h_t = \mathrm{softplus}(A h_{t-1} + B x_t + c)$$",
], ids=["indrnn-relu", "softplus"])
def test_the_standalone_module_of_other_functions_equals_torch(text):
    assert torch_check.check(Spec(text, name="cell", n_state=3, n_input=2, quick=True), random.Random(2)).passed


def test_the_whole_gradient_at_three_is_proved_or_said_not_reached(monkeypatch):
    from symrnn.derive import whole_three

    elman = Spec(r"$$h_t = \tanh(W_{hh} h_{t-1} + W_{hx} x_t + b)$$", name="elman")
    proved = whole_three.check(elman, random.Random(0))
    assert proved.passed and proved.evidence.value == "symbolic" and "$N = 3$" in proved.detail
    monkeypatch.setattr(whole_three, "BUDGET", 0.05)  # nothing finishes in 50 ms: the outcome must say so
    late = whole_three.check(Spec(ELMAN_SOFTMAX, name="e2"), random.Random(0))
    assert "not reached" in late.detail and late.evidence.value == "numeric"
