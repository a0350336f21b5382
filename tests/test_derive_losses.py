"""``symrnn derive`` with a loss averaged over t (a factor 1/T) or with another constant factor, and with an output
layer whose size Q is not the state size N.

Cells are written in LaTeX; every value is compared with torch autograd of an independent torch implementation
written here, or with central finite differences of the loss computed independently in NumPy.  The sizes are small
and distinct (N = 3, D = 2, Q = 4 or 5), so that a transposed or wrongly sized output weight, or a target of the
state's size, cannot pass.  Two cells are derived end to end (``--quick``, no PDF) by a module fixture.
"""

from __future__ import annotations

import ast
import json
import random

import numpy as np
import pytest
import sympy as sp

import symrnn
from symrnn import notation as nt
from symrnn.autodiff import bptt
from symrnn.autodiff.training import ShapeError, compile_bptt
from symrnn.derive import ShapesDisagree, UnsupportedLoss, read_cell
from symrnn.derive.cell_reading import loss_equation
from symrnn.derive.checks import Spec
from symrnn.derive.standalone import build, load
from symrnn.latex.printer import latex
from symrnn.models import losses
from symrnn.numeric.binding import rho_name, rho_symbol

torch = pytest.importorskip("torch")

N, D = 3, 2
TOL = 1e-10

#: An Elman cell with a linear read-out of its own size Q (declared by name, given as ``sizes`` or ``n_output``).
REGRESSION = r"""
The read-out has its own size: $V \in \mathbb{R}^{Q \times N}$.

$$h_t = \tanh(W_{hh} h_{t-1} + W_{hx} x_t + b_h)$$
$$o_t = V h_t + c$$
"""

#: The same network as a classifier over Q = 5 classes, in bold letters, with its loss averaged over t.
CLASSIFIER = r"""
Sizes: $\mathbf{h}_t \in \mathbb{R}^{3}$, $\hat{\mathbf{y}}_t \in \mathbb{R}^{5}$.

$$\mathbf{h}_t = \tanh(\mathbf{W}\mathbf{x}_t + \mathbf{U}\mathbf{h}_{t-1} + \mathbf{b})$$
$$\mathbf{o}_t = \mathbf{V}\mathbf{h}_t + \mathbf{c}$$
$$\hat{\mathbf{y}}_t = \mathrm{softmax}(\mathbf{o}_t)$$
$$\mathcal{L} = -\frac{1}{T}\sum_{t=1}^{T} \mathbf{y}_t^\top \log \hat{\mathbf{y}}_t$$
"""

AVERAGED_SQUARED = r"L = \frac{1}{T}\sum_{t=1}^{T} \frac{1}{2}\|o_t - y_t\|^2"

CELL = "$$h_t = \\tanh(W x_t + U h_{t-1})$$\n$$o_t = V h_t$$\n$$\\hat{y}_t = \\mathrm{softmax}(o_t)$$\n\n"


# ---- reading the loss with its factor ----------------------------------------------------------------------------


@pytest.mark.parametrize("loss, kind, quantity, scale", [
    (r"L = \frac{1}{T}\sum_t \frac{1}{2}\|o_t - y_t\|^2", "squared", "o", 1 / nt.T),
    (r"L = \frac{1}{2T}\sum_{t=1}^{T} \|o_t - y_t\|^2", "squared", "o", 1 / nt.T),
    (r"E = \sum_t \frac{1}{2T} \|y_t - o_t\|^2", "squared", "o", 1 / nt.T),
    (r"\mathcal{L} = \frac{1}{T}\sum_t \frac{1}{2}\sum_j (o_{j,t} - y_{j,t})^2", "squared", "o", 1 / nt.T),
    (r"L = \sum_t \|o_t - y_t\|^2", "squared", "o", 2),
    (r"L = \frac{1}{2}\sum_t \|o_t - y_t\|^2", "squared", "o", 1),
    (r"L = -\frac{1}{T}\sum_t \sum_j y_{j,t} \log \hat{y}_{j,t}", "cross-entropy", "yhat", 1 / nt.T),
    (r"L = -\frac{1}{T}\sum_{t=1}^T \mathbf{y}_t^\top \log \hat{\mathbf{y}}_t", "cross-entropy", "yhat", 1 / nt.T),
    (r"L = -\frac{3}{T}\sum_t \sum_j y_{j,t} \log \hat{y}_{j,t}", "cross-entropy", "yhat", 3 / nt.T),
])
def test_a_loss_is_read_with_its_factor(loss, kind, quantity, scale):
    stated = loss_equation(CELL + f"$${loss}$$")
    assert (stated.kind, stated.quantity, stated.line) == (kind, quantity, 5)
    assert sp.simplify(stated.scale - scale) == 0
    assert stated.averaged == (scale != 1 and sp.sympify(scale).has(nt.T))
    used = Spec(CELL + f"$${loss}$$").loss_object()
    assert sp.simplify(used.scale - scale) == 0 and used.factor(4) == sp.sympify(scale).subs(nt.T, 4)


@pytest.mark.parametrize("loss, words", [
    (r"L = \sum_t \ell(o_t, y_t)", ["not a form read"]),  # a per-step loss written as a function
    (r"L = \frac{1}{2}\sum_t \|o_t - y_t\|^2 + \frac{1}{2}\sum_t \|h_t - y_t\|^2", ["sum over t"]),  # two losses
    (r"L = \frac{1}{T - 1}\sum_t \frac{1}{2}\|o_t - y_t\|^2", ["factor", "power of the sequence length T"]),
    (r"L = \frac{\lambda}{2}\sum_t \|o_t - y_t\|^2", ["sum over t"]),  # a parameter is no constant
    (r"L = 0 \sum_t \|o_t - y_t\|^2", ["factor 0"]),
])
def test_losses_that_cannot_be_supported_are_named_errors(loss, words):
    with pytest.raises(UnsupportedLoss) as info:
        read_cell(CELL + f"$${loss}$$")
    assert info.value.line == 5
    for word in words:
        assert word in str(info.value), (word, str(info.value))


# ---- outputs of their own size -------------------------------------------------------------------------------------


def _shapes(cell) -> dict[str, tuple[int, int]]:
    return {p.name: (p.rows, p.cols) for p in cell.params}


def test_an_output_layer_has_its_own_size():
    by_name = read_cell(REGRESSION, n_state=N, n_input=D, sizes={"Q": 4})
    by_argument = read_cell(REGRESSION, n_state=N, n_input=D, n_output=4)
    for cell in (by_name, by_argument):
        assert (cell.states, cell.output, cell.n_state, cell.n_output) == (("h", "o"), "o", N, 4)
        assert _shapes(cell) == {"W_hh": (N, N), "W_hx": (N, D), "b_h": (N, 1), "V": (4, N), "c": (4, 1)}
        assert cell.current()["o"].shape == (4, 1) and cell.current()["h"].shape == (N, 1)
    assert read_cell(REGRESSION, n_state=N, n_input=D).n_output == N  # nothing fixes Q: it is N
    cell = read_cell(CLASSIFIER, n_input=D)
    assert (cell.n_state, cell.n_output, _shapes(cell)["V"]) == (3, 5, (5, 3))
    number = read_cell(REGRESSION.replace("Q \\times N", "4 \\times 3"), n_input=D)
    assert (number.n_state, number.n_output) == (3, 4)


def test_sizes_that_disagree_are_named_errors():
    with pytest.raises(ShapesDisagree, match="not the 6 asked for"):
        read_cell(CLASSIFIER, n_input=D, n_output=6)  # declared 5
    with pytest.raises(ShapesDisagree, match="is a state"):
        read_cell("$$h_t = \\tanh(W x_t + U h_{t-1})$$", n_state=N, n_output=4)  # the output h is the state
    with pytest.raises(ShapesDisagree, match="wrong order"):  # V written N x Q: transposed
        read_cell(REGRESSION.replace("Q \\times N", "N \\times Q"), n_state=N, n_input=D, sizes={"Q": 4})


# ---- compiled code against torch -----------------------------------------------------------------------------------


def _data(cell, steps: int, batch: int, classes: bool, seed: int):
    rng = np.random.default_rng(seed)
    params = {p.name: rng.normal(scale=0.6, size=(p.rows, p.cols)) for p in cell.params}
    xs = rng.normal(size=(steps, cell.n_input, batch))
    ys = rng.integers(0, cell.n_output, size=(steps, batch)) if classes else \
        rng.normal(size=(steps, cell.n_output, batch))
    return params, xs, ys


def _torch_regression(params, xs, ys, factor):
    """The read-out network in torch: ``factor(T) * sum_t sum_batch 0.5 ||V h_t + c - y_t||^2``, with autograd."""
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    h = torch.zeros(p["W_hh"].shape[0], xs.shape[2], dtype=torch.float64)
    per_step = []
    for t in range(xs.shape[0]):
        h = torch.tanh(p["W_hh"] @ h + p["W_hx"] @ torch.tensor(xs[t]) + p["b_h"])
        o = p["V"] @ h + p["c"]
        per_step.append(0.5 * ((o - torch.tensor(ys[t])) ** 2).sum())
    total = factor(xs.shape[0]) * torch.stack(per_step).sum()
    total.backward()
    return total.item(), {k: v.grad.numpy() for k, v in p.items()}


def _torch_classifier(params, xs, classes):
    """The classifier in torch: the mean over t of the cross-entropy summed over the batch (torch's own
    ``cross_entropy`` of the logits), with autograd."""
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    h = torch.zeros(p["U"].shape[0], xs.shape[2], dtype=torch.float64)
    per_step = []
    for t in range(xs.shape[0]):
        h = torch.tanh(p["W"] @ torch.tensor(xs[t]) + p["U"] @ h + p["b"])
        logits = (p["V"] @ h + p["c"]).T  # (B, Q)
        per_step.append(torch.nn.functional.cross_entropy(logits, torch.tensor(classes[t]), reduction="sum"))
    total = torch.stack(per_step).mean()
    total.backward()
    return total.item(), {k: v.grad.numpy() for k, v in p.items()}


def _close(loss, grads, want_loss, want_grads, tol=TOL):
    assert set(grads) == set(want_grads)
    assert abs(loss - want_loss) <= tol * max(1.0, abs(want_loss)), (loss, want_loss)
    for k, g in grads.items():
        assert g.shape == want_grads[k].shape, k
        np.testing.assert_allclose(g, want_grads[k], rtol=tol, atol=tol, err_msg=k)


@pytest.mark.parametrize("loss, factor", [
    (AVERAGED_SQUARED, lambda T: 1 / T),  # noqa: N803
    (r"L = \frac{1}{2T}\sum_t \|o_t - y_t\|^2", lambda T: 1 / T),  # noqa: N803
    (r"L = \sum_t \|o_t - y_t\|^2", lambda T: 2.0),  # noqa: N803  (no 1/2: twice the usual)
    (r"L = \frac{1}{2}\sum_t \|o_t - y_t\|^2", lambda T: 1.0),  # noqa: N803
])
@pytest.mark.parametrize("steps", [1, 6])
def test_compiled_losses_with_a_factor_equal_torch(loss, factor, steps):
    text = REGRESSION + f"$${loss}$$"
    cell = read_cell(text, n_state=N, n_input=D, n_output=4)
    compiled = compile_bptt(cell, Spec(text).loss_object())
    params, xs, ys = _data(cell, steps, 3, False, seed=steps)
    _close(*compiled.loss_and_grads(params, xs, ys), *_torch_regression(params, xs, ys, factor))
    assert abs(compiled.loss(params, xs, ys) - _torch_regression(params, xs, ys, factor)[0]) <= 1e-12 * steps
    with pytest.raises(ShapeError, match=r"\(T, Q, B\)"):  # targets of the state's size are refused
        compiled.loss_and_grads(params, xs, np.zeros((steps, N, 3)))


def test_a_compiled_averaged_classifier_equals_torch():
    cell = read_cell(CLASSIFIER, n_input=D)
    compiled = compile_bptt(cell, Spec(CLASSIFIER).loss_object())
    params, xs, classes = _data(cell, 5, 4, True, seed=11)
    _close(*compiled.loss_and_grads(params, xs, classes), *_torch_classifier(params, xs, classes))
    onehot = np.eye(cell.n_output)[classes].transpose(0, 2, 1)  # (T, Q, B)
    _close(*compiled.loss_and_grads(params, xs, onehot), *_torch_classifier(params, xs, classes))


def test_the_checks_see_a_missing_factor():
    """The references the checks use differentiate the loss with its factor: a recursion derived for the summed loss
    but labelled averaged is caught, both by the whole-gradient identity (T = 2, N = 2, Q = 3, symbolic weights,
    compared at a rational point) and by a directional derivative of the loss."""
    cell = read_cell(REGRESSION, n_state=2, n_input=D, n_output=3)
    averaged = losses.squared_error().scaled(1 / nt.T)
    right = bptt.derive(cell, averaged)
    wrong = bptt.BPTT(cell, averaged, *[getattr(bptt.derive(cell, losses.squared_error()), f)
                                         for f in ("step", "seed", "recurrent", "param_grads")])
    case = bptt.random_case(cell, averaged, 2, random.Random(3), symbolic=True)
    symbols = sorted({s for m in case.params.values() for e in m for s in e.free_symbols}, key=str)
    point = {s: sp.Rational(k % 7 - 3, 5) for k, s in enumerate(symbols)}
    for b, agree in ((right, True), (wrong, False)):
        diffs = [(d - r).xreplace(point) for _, d, r in bptt.whole_identities(b, case)]
        worst = max(abs(sp.N(e, 30)) for m in diffs for e in m)
        assert (worst < 1e-25) == agree, worst
    ok, _, _ = bptt.exact_check(cell, averaged, 5, seed=1)
    assert ok


# ---- derived end to end --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def derived(tmp_path_factory):
    """The read-out network (its loss given to ``symrnn.derive`` as an equation, Q = 4 by ``n_output``) and the
    classifier (its averaged loss in the text, Q = 5 declared), derived with the quick checks."""
    out = {}
    for name, text, loss, options in (("regression", REGRESSION, AVERAGED_SQUARED, {"n_output": 4}),
                                      ("classifier", CLASSIFIER, None, {})):
        folder = tmp_path_factory.mktemp(name)
        res = symrnn.derive(text, loss, folder, name=name, n_state=N, n_input=D, quick=True, make_pdf=False,
                            **options)
        out[name] = (res, folder)
    return out


@pytest.mark.parametrize("name, q, reads", [("regression", 4, "o"), ("classifier", 5, "yhat")])
def test_every_check_passes_and_the_report_states_the_sizes_and_the_factor(derived, name, q, reads):
    res, folder = derived[name]
    assert res.ok, [(r.id, r.detail) for r in res.results if not r.passed]
    report = json.loads((folder / "report.json").read_text())
    assert report["sizes"] == {"N": N, "D": D, "Q": q} and report["output"] == reads
    assert report["loss_scale"] == "1/T"
    assert report["loss_equation"]["scale"] == "1/T" and report["loss_equation"]["reads"] == reads
    assert report["params"]["V"] == [q, N] and report["params"]["c"] == [q, 1]
    details = {r.id: r.detail for r in res.results}
    assert f"$Q = {q}$" in details["code"]  # the module at the sizes asked for
    assert "$Q = " in details["exact"]  # the checks at other sizes keep Q and N distinct


def test_the_document_states_the_factor_in_the_users_notation(derived):
    res, folder = derived["regression"]
    md = (folder / "regression.md").read_text()
    assert "averaged over $t = 1, \\dots, T$" in md
    assert "\\mathfrak{L} = \\frac{1}{T} \\sum_{t=1}^{T} \\ell_{t}" in md
    assert "\\ell_{t} = \\frac{1}{2} \\left\\| o_{t} - y_{t} \\right\\|^{2}" in md  # plain letters, as written
    # the error at the output, and so every gradient, carries 1/T
    assert "\\frac{d\\mathfrak{L}}{do_{t}} = \\frac{1}{T} \\left(- y_{t} + o_{t}\\right)" in md
    assert "Line 7 (the loss, squared times 1/T)" in md  # the user's own equation, listed with the cell's
    assert "\\rho^{h}_{t}" in md and "\\vec{\\rho}" not in md and "rhoh" not in md  # h's rho, in plain letters
    tex = (folder / "regression.tex").read_text()
    assert "\\frac{1}{T}" in tex


def _module(folder, name):
    source = (folder / f"{name}_bptt.py").read_text()
    imports = [a.name for node in ast.walk(ast.parse(source)) if isinstance(node, (ast.Import, ast.ImportFrom))
               for a in node.names]
    assert imports == ["numpy"]
    return load(source, name)


def _numpy_regression_loss(p, xs, ys):
    """The averaged read-out loss, computed here in NumPy from the equations."""
    h = np.zeros((p["W_hh"].shape[0], xs.shape[2]))
    per_step = []
    for t in range(xs.shape[0]):
        h = np.tanh(p["W_hh"] @ h + p["W_hx"] @ xs[t] + p["b_h"])
        per_step.append(0.5 * np.sum((p["V"] @ h + p["c"] - ys[t]) ** 2))
    return float(np.mean(per_step))


def test_the_standalone_regression_module(derived):
    _, folder = derived["regression"]
    module = _module(folder, "regression")
    assert (module.N_STATE, module.N_OUTPUT, module.PARAMS["V"]) == (N, 4, (4, N))
    cell = read_cell(REGRESSION, n_state=N, n_input=D, n_output=4)
    params, xs, ys = _data(cell, 7, 3, False, seed=5)
    loss, grads = module.loss_and_grads(params, xs, ys)
    _close(loss, grads, *_torch_regression(params, xs, ys, lambda T: 1 / T))  # noqa: N803
    assert abs(loss - _numpy_regression_loss(params, xs, ys)) <= 1e-12
    rng = np.random.default_rng(0)
    eps = 1e-6
    for name in params:  # central differences of the NumPy loss, at two entries of every parameter
        for _ in range(2):
            at = tuple(rng.integers(0, s) for s in params[name].shape)
            plus, minus = ({**params, name: params[name].copy()} for _ in range(2))
            plus[name][at] += eps
            minus[name][at] -= eps
            fd = (_numpy_regression_loss(plus, xs, ys) - _numpy_regression_loss(minus, xs, ys)) / (2 * eps)
            assert abs(fd - grads[name][at]) <= 1e-7 * max(1.0, abs(fd)), (name, at)
    states = module.forward(params, xs)
    assert states["o"].shape == (8, 4, 3) and states["h"].shape == (8, N, 3)
    with pytest.raises(ValueError, match=r"\(T, Q, B\)"):
        module.loss_and_grads(params, xs, np.zeros((7, N, 3)))
    single = module.loss_and_grads(params, xs[:, :, 0], ys[:, :, 0])  # one sequence, (T, D) and (T, Q)
    _close(*single, *_torch_regression(params, xs[:, :, :1], ys[:, :, :1], lambda T: 1 / T))  # noqa: N803


def test_the_standalone_classifier_module(derived):
    _, folder = derived["classifier"]
    module = _module(folder, "classifier")
    assert (module.N_OUTPUT, module.LOSS, module.STATE_SIZES) == (5, "cross-entropy", {"h": 3, "yhat": 5})
    cell = read_cell(CLASSIFIER, n_input=D)
    params, xs, classes = _data(cell, 6, 4, True, seed=9)
    _close(*module.loss_and_grads(params, xs, classes), *_torch_classifier(params, xs, classes))
    _close(*module.loss_and_grads(params, xs, classes), *compile_bptt(cell, Spec(CLASSIFIER).loss_object())
           .loss_and_grads(params, xs, classes), tol=1e-12)
    with pytest.raises(ValueError, match="0..4"):
        module.loss_and_grads(params, xs, np.full((6, 4), 5))


# ---- the back-propagated error of a state other than the output ---------------------------------------------------


CIFG = r"""
$$\mathbf{f}_t = \sigma(\mathbf{W}_f \mathbf{x}_t + \mathbf{R}_f \mathbf{h}_{t-1} + \mathbf{b}_f)$$
$$\mathbf{c}_t = \mathbf{f}_t \circ \mathbf{c}_{t-1} + (1 - \mathbf{f}_t) \circ \tanh(\mathbf{W}_z \mathbf{x}_t)$$
$$\mathbf{h}_t = \tanh(\mathbf{c}_t)$$
"""


def test_the_rho_of_another_state_prints_readably_and_stays_an_identifier():
    cell = read_cell(CIFG, n_state=N, n_input=D)
    assert cell.states == ("c", "h") and cell.output == "h"
    assert latex(rho_symbol(cell, "c")) == r"\vec{\rho}^{c}_{t}"
    assert latex(rho_symbol(cell, "c", nt.t - 1)) == r"\vec{\rho}^{c}_{t - 1}"
    assert latex(rho_symbol(cell, "h")) == r"\vec{\rho}_{t}"
    assert rho_name(cell, "c").isidentifier() and rho_name(cell, "c") == "rhoc"
    made = build(Spec(CIFG, "cifg", n_state=N, n_input=D))
    module = load(made.source, "cifg")  # the generated identifiers are valid Python
    assert "rho^c_(t-1) = " in made.source and "\\vec{rhoc}" not in made.source
    params, xs, ys = _data(cell, 4, 2, False, seed=2)
    _close(*module.loss_and_grads(params, xs, ys), *made.compiled.loss_and_grads(params, xs, ys), tol=1e-12)
