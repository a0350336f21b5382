"""The lecture's LSTM and the standard one, their BPTT, and section ``lstm``.

Expectations are computed here independently: NumPy forward passes written from the equations, central finite
differences of those NumPy losses, the lecture's own text, and plain recursions for the closed forms.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symrnn import notation as nt
from symrnn.autodiff import bptt, matcalc, training
from symrnn.core.derivation import Identity
from symrnn.core.verify import run_identity
from symrnn.latex.printer import latex, normalise
from symrnn.lecture25 import source as lecture
from symrnn.lecture25.lstm import checks_bptt, figures, formulas
from symrnn.lecture25.lstm import steps as section
from symrnn.models import losses, lstm, lstm_pytorch
from symrnn.models.cells import Cell

ROOT = Path(__file__).resolve().parent.parent
SQUARED = losses.squared_error()

# ---- independent NumPy references ------------------------------------------------------------------------------


def sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def np_lecture(p: dict, xs: np.ndarray, h: np.ndarray, c: np.ndarray, eps_h=None, eps_c=None):
    """The lecture's five equations; optional perturbations added to c_t (before h_t) and to h_t."""
    out = []
    for t, x in enumerate(xs):
        f = sig(p["U_f"] @ h + p["W_f"] @ x)
        i = sig(p["U_i"] @ h + p["W_i"] @ x)
        o = sig(p["U_o"] @ h + p["W_o"] @ x)
        c = f * c + i * x + (0 if eps_c is None else eps_c[t])
        h = o * c + (0 if eps_h is None else eps_h[t])
        out.append({"f": f, "i": i, "o": o, "c": c, "h": h})
    return out


def np_standard(p: dict, xs: np.ndarray, h: np.ndarray, c: np.ndarray):
    out = []
    for x in xs:
        z = {g: p[f"W_{g}"] @ x + p[f"b_i{g}"][:, 0] + p[f"U_{g}"] @ h + p[f"b_h{g}"][:, 0] for g in "ifgo"}
        c = sig(z["f"]) * c + sig(z["i"]) * np.tanh(z["g"])
        h = sig(z["o"]) * np.tanh(c)
        out.append({"c": c, "h": h})
    return out


def loss_of(rows, ys) -> float:
    return sum(0.5 * float(np.sum((r["h"] - y) ** 2)) for r, y in zip(rows, ys, strict=True))


def random_params(cell, rng, scale=0.6) -> dict:
    return {p.name: scale * rng.normal(size=(p.rows, p.cols)) for p in cell.params}


def central(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of a scalar function of an array, entry by entry (x is restored)."""
    out = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        old = x[idx]
        x[idx] = old + eps
        up = f()
        x[idx] = old - eps
        down = f()
        x[idx] = old
        out[idx] = (up - down) / (2 * eps)
    return out


# ---- the five equations ------------------------------------------------------------------------------------------

EMITTED = {  # the lecture's equations as printed in its list, normalised by hand (spaces, \left \right, braces)
    "f": r"f_t=\sigma(U_f\vec{h}_{t-1}+W_f\vec{x}_t)",
    "i": r"i_t=\sigma(U_i\vec{h}_{t-1}+W_i\vec{x}_t)",
    "o": r"o_t=\sigma(U_o\vec{h}_{t-1}+W_o\vec{x}_t)",
    "c": r"\vec{c}_t=f_t\vec{c}_{t-1}+i_t\vec{x}_t",
    "h": r"\vec{h}_t=o_t\vec{c}_t",
}


@pytest.mark.parametrize("key", list(EMITTED))
def test_the_five_equations_print_as_the_lecture_writes_them(key):
    text = latex(lstm.lecture_equations()[key])
    assert normalise(text) == EMITTED[key]
    cmp = lecture.compare(text, section.LOCATORS[key])
    assert cmp.matches, (cmp.lecture, cmp.emitted)


def test_the_lecture_cell_needs_input_of_the_cells_size():
    with pytest.raises(ValueError, match="x_t needs the cell's 3 entries"):
        lstm.lecture_lstm(3, 2)
    assert lstm.lecture_lstm(3, 3).n_input == 3


@given(n=st.integers(1, 4), steps=st.integers(1, 6), seed=st.integers(0, 2**16))
@settings(max_examples=15, deadline=None)
def test_lecture_trace_matches_numpy(n, steps, seed):
    rng = np.random.default_rng(seed)
    cell = lstm.lecture_lstm(n)
    p = random_params(cell, rng)
    xs, h0, c0 = rng.normal(size=(steps, n)), rng.normal(size=n), rng.normal(size=n)
    got = lstm.trace(cell, p, xs, h0, c0)
    want = np_lecture(p, xs, h0, c0)
    for a, b in zip(got, want, strict=True):
        for key in ("f", "i", "o", "c", "h"):
            np.testing.assert_allclose(a[key], b[key], rtol=1e-13, atol=1e-14)


def test_standard_trace_matches_numpy():
    rng = np.random.default_rng(1)
    cell = lstm.standard_lstm(3, 2)
    p = random_params(cell, rng)
    xs, h0, c0 = rng.normal(size=(7, 2)), rng.normal(size=3), rng.normal(size=3)
    for a, b in zip(lstm.trace(cell, p, xs, h0, c0), np_standard(p, xs, h0, c0), strict=True):
        np.testing.assert_allclose(a["h"], b["h"], rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(a["c"], b["c"], rtol=1e-13, atol=1e-14)


def test_trace_refuses_bad_inputs():
    cell = lstm.lecture_lstm(2)
    p = random_params(cell, np.random.default_rng(0))
    with pytest.raises(ValueError, match="D = 2"):
        lstm.trace(cell, p, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="missing parameters"):
        lstm.trace(cell, {k: v for k, v in p.items() if k != "W_o"}, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="h0 must have 2 entries"):
        lstm.trace(cell, p, np.zeros((3, 2)), h0=np.zeros(3))
    with pytest.raises(ValueError, match="not one of symrnn's LSTM cells"):
        lstm.gates(Cell("other", 2, 2, (), lambda *a: {}))


def test_unrolled_symbolic_cell_is_causal_and_uses_its_gates():
    n = 2
    cell = lstm.lecture_lstm(n)
    p = {q.name: nt.entry_matrix(q.name.replace("_", ""), n, n, positive=False) for q in cell.params}
    xs = [nt.entry_vector(f"x{s}", n, positive=False) for s in (1, 2, 3)]
    rows = lstm.unroll(cell, p, xs, sp.zeros(n, 1), sp.zeros(n, 1))
    for s, row in enumerate(rows, start=1):
        later = set().union(*(set(x) for x in xs[s:]))
        assert not (set().union(*(e.free_symbols for e in row["h"])) & later)
        assert sp.expand(row["h"][0] - row["o"][0] * row["c"][0]) == 0
    assert rows[0]["c"][0] == rows[0]["i"][0] * xs[0][0]  # c_0 = 0


# ---- closed form ----------------------------------------------------------------------------------------------------


@given(steps=st.integers(1, 12), seed=st.integers(0, 2**16))
@settings(max_examples=20, deadline=None)
def test_closed_form_equals_the_recursion(steps, seed):
    rng = np.random.default_rng(seed)
    f, i, x = rng.uniform(0, 1, steps), rng.uniform(0, 1, steps), rng.normal(size=steps)
    c0 = rng.normal()
    c, expected = c0, []
    for t in range(steps):
        c = f[t] * c + i[t] * x[t]
        expected.append(c)
    np.testing.assert_allclose(lstm.cell_closed_form(list(f), list(i), list(x), c0), expected, rtol=1e-12)


def test_closed_form_with_symbols_and_the_rnn_special_case():
    f = sp.symbols("f1:5")
    i = sp.symbols("i1:5")
    x = sp.symbols("x1:5")
    c0 = sp.Symbol("c0")
    got = lstm.cell_closed_form(f, i, x, c0)[-1]
    want = f[3] * (f[2] * (f[1] * (f[0] * c0 + i[0] * x[0]) + i[1] * x[1]) + i[2] * x[2]) + i[3] * x[3]
    assert sp.expand(got - want) == 0
    half = sp.Rational(1, 2)
    rnn = lstm.cell_closed_form([half] * 4, [1] * 4, x, c0)[-1]
    assert sp.expand(rnn - (half**4 * c0 + sum(half ** (4 - k) * x[k - 1] for k in range(1, 5)))) == 0
    with pytest.raises(ValueError, match="one forget gate"):
        lstm.cell_closed_form(f, i[:2], x, c0)


# ---- BPTT ------------------------------------------------------------------------------------------------------------


def test_compiled_lecture_lstm_gradients_match_numpy_finite_differences():
    rng = np.random.default_rng(2)
    n, steps = 3, 5
    cell = lstm.lecture_lstm(n)
    p = random_params(cell, rng)
    xs, ys = rng.normal(size=(steps, n)), rng.normal(size=(steps, n))
    h0, c0 = rng.normal(size=n), rng.normal(size=n)
    compiled = training.compile_bptt(cell, SQUARED)
    value, grads = compiled.loss_and_grads(p, xs, ys, {"h": h0, "c": c0})
    assert value == pytest.approx(loss_of(np_lecture(p, xs, h0, c0), ys), rel=1e-12)
    for name in p:
        fd = central(lambda: loss_of(np_lecture(p, xs, h0, c0), ys), p[name])
        np.testing.assert_allclose(grads[name], fd, rtol=1e-6, atol=1e-8, err_msg=name)


def test_compiled_standard_lstm_gradients_match_numpy_finite_differences():
    rng = np.random.default_rng(3)
    n, d, steps = 3, 2, 4
    cell = lstm.standard_lstm(n, d)
    p = random_params(cell, rng)
    xs, ys = rng.normal(size=(steps, d)), rng.normal(size=(steps, n))
    h0, c0 = rng.normal(size=n), rng.normal(size=n)
    _, grads = training.compile_bptt(cell, SQUARED).loss_and_grads(p, xs, ys, {"h": h0, "c": c0})
    for name in p:
        fd = central(lambda: loss_of(np_standard(p, xs, h0, c0), ys), p[name])
        np.testing.assert_allclose(grads[name], fd, rtol=1e-6, atol=1e-8, err_msg=name)
    # the two biases of a gate enter only through their sum: equal gradients
    for g in "ifgo":
        np.testing.assert_array_equal(grads[f"b_i{g}"], grads[f"b_h{g}"])


def test_state_errors_are_the_lecture_graphs_derivatives():
    """delta_t = dL/dh_t; o_t delta_t + rhoc_t = dL/dc_t with h_t = o_t c_t formed from the perturbed c_t."""
    rng = np.random.default_rng(4)
    n, steps = 2, 4
    cell = lstm.lecture_lstm(n)
    p = random_params(cell, rng)
    xs, ys = rng.normal(size=(steps, n)), rng.normal(size=(steps, n))
    h0, c0 = rng.normal(size=(n, 1)), rng.normal(size=(n, 1))
    run = bptt.run(bptt.derive(cell, SQUARED), p, [x[:, None] for x in xs], [y[:, None] for y in ys],
                   {"h": h0, "c": c0}, mode="numpy")
    eps_h, eps_c = np.zeros((steps, n)), np.zeros((steps, n))

    def total():
        return loss_of(np_lecture(p, xs, h0[:, 0], c0[:, 0], eps_h, eps_c), ys)

    d_h, d_c = central(total, eps_h), central(total, eps_c)
    rows = np_lecture(p, xs, h0[:, 0], c0[:, 0])
    for t in range(steps):
        delta = run.deltas[t]
        np.testing.assert_allclose(delta["h"][:, 0], d_h[t], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(rows[t]["o"] * delta["h"][:, 0] + delta["c"][:, 0], d_c[t], rtol=1e-6,
                                   atol=1e-9)


def test_bptt_derives_a_one_entry_cell():
    """N = 1 (SymPy would treat 1 x 1 matrix expressions as scalars inside entrywise functions): 50-digit check."""
    ok, _, msg = bptt.exact_check(lstm.lecture_lstm(1), SQUARED, 5)
    assert ok, msg


def test_displayed_recursion_catches_a_wrong_gate():
    """The one-step check is not vacuous: with f in place of o, the displayed dL/dc_t no longer matches."""
    b = bptt.derive(lstm.lecture_lstm(2), SQUARED)
    defs, values = checks_bptt.engine_mapping(b), checks_bptt.entry_values(b)
    wrong = formulas.odot(formulas.gate("o", nt.t, 2), formulas.dL(formulas.vec("c", nt.t, 2)))
    ident = Identity(matcalc.explicit(b.recurrent["c"], values),
                     matcalc.explicit(lstm.computational(wrong, defs), values), simplifier="atoms", trials=2)
    assert not run_identity(ident, random.Random(0)).passed


# ---- PyTorch's packing, without torch -----------------------------------------------------------------------------


def test_unpack_and_pack_are_inverse_and_follow_the_gate_order():
    rng = np.random.default_rng(5)
    H, D = 3, 4  # noqa: N806
    w_ih, w_hh = rng.normal(size=(4 * H, D)), rng.normal(size=(4 * H, H))
    b_ih, b_hh = rng.normal(size=4 * H), rng.normal(size=4 * H)
    p = lstm_pytorch.unpack(w_ih, w_hh, b_ih, b_hh)
    np.testing.assert_array_equal(p["W_g"], w_ih[2 * H:3 * H])  # i, f, g, o: g is the third block
    np.testing.assert_array_equal(p["U_o"], w_hh[3 * H:])
    np.testing.assert_array_equal(p["b_hf"][:, 0], b_hh[H:2 * H])
    back = lstm_pytorch.pack(p)
    for name, want in zip(lstm_pytorch.TORCH_TENSORS, (w_ih, w_hh, b_ih, b_hh), strict=True):
        np.testing.assert_array_equal(back[name], want)
    assert not np.shares_memory(p["W_i"], w_ih)
    zero = lstm_pytorch.unpack(w_ih, w_hh)
    assert not any(zero[f"b_{s}{g}"].any() for s in "ih" for g in "ifgo")


@pytest.mark.parametrize("shapes, message", [
    (((10, 2), (10, 3)), "weight_ih must be"),
    (((12, 2), (12, 4)), "weight_ih must be"),
    (((12, 2), (12, 3), (11,)), "bias_ih must have 4H = 12"),
])
def test_unpack_refuses_wrong_shapes(shapes, message):
    arrays = [np.zeros(s) for s in shapes]
    with pytest.raises(ValueError, match=message):
        lstm_pytorch.unpack(*arrays)


def test_unpack_refuses_non_finite_and_pack_names_missing():
    w = np.zeros((8, 2))
    w[0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        lstm_pytorch.unpack(w, np.zeros((8, 2)))
    with pytest.raises(ValueError, match="missing parameters"):
        lstm_pytorch.pack({"W_i": np.zeros((2, 2))})


# ---- notation ------------------------------------------------------------------------------------------------------


def test_lstm_notation_prints_and_refuses_latex_in_words():
    g = nt.Gate("f", nt.t + 1, nt.N)
    assert latex(g) == "f_{t + 1}"
    assert latex(nt.VecDerivative(sp.Symbol(r"\mathfrak{L}"), nt.Vec("c", nt.t, nt.N))) \
        == r"\frac{d\mathfrak{L}}{d\vec{c}_{t}}"
    assert latex(nt.Juxtaposed(g, nt.Vec("c", nt.t, nt.N))) == r"f_{t + 1} \vec{c}_{t}"
    for bad in ("x_t", r"\input{x}", "50%", "a{b}", "", "$x$"):
        with pytest.raises(ValueError):
            nt.Words(bad)
    with pytest.raises(ValueError, match="every row needs 2 cells"):
        nt.Table(["a", "b"], [[nt.Words("x")]])
    with pytest.raises(ValueError, match="equal shapes"):
        nt.Juxtaposed(nt.Vec("f", 1, 2), nt.Vec("c", 1, 3))
    with pytest.raises(ValueError):
        nt.Gate("f}", 1, 2)
    table = latex(nt.Table(["a", "b"], [[nt.Words("x"), sp.Tuple(nt.Words("y"), g)]]))
    assert table == r"\begin{array}{ll} \text{a} & \text{b} \\ \text{x} & \text{y}\ f_{t + 1} \end{array}"


# ---- the section ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def derivation():
    return section.derivation(0)


def test_every_step_passes_and_says_its_evidence(derivation, verified):
    ids = [s.id for s in derivation.steps]
    assert len(ids) == len(set(ids))
    results = verified("lstm")
    assert [r.id for r in results] == ids
    for result in results:
        assert result.passed, (result.id, result.detail)
        assert result.evidence in ("symbolic", "exact", "numeric")
    assert [f.name for f in derivation.figures] == ["lstm-forgetting"]


def test_located_steps_find_their_lecture_equation(derivation):
    source = lecture.text()
    for step in derivation.steps:
        if step.lecture:
            eq = lecture.find(source, step.lecture)
            assert eq.line > 230 or step.id == "bptt-entries", step.id  # the LSTM part of the lecture


def test_forgetting_data_against_closed_forms():
    data = figures.forgetting_data(steps=8)
    np.testing.assert_allclose(data["rnn"], 0.5 ** np.arange(8))
    # the linear RNN with U = I/2 and the error only at step T: dL/dh_1 = (1/2)^(T-1) (1, 1)
    np.testing.assert_allclose(data["grads"]["rnn"], np.sqrt(2) * 0.5 ** np.arange(8), rtol=1e-12)
    lo, hi = data["f near 1"]
    assert 0.5 < lo <= hi < 1
    assert data["lstm near 1"][-1] > data["rnn"][-1] > data["lstm near 0"][-1]


def test_the_figure_draws(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    real = figures.forgetting_data
    monkeypatch.setattr(figures, "forgetting_data", lambda: real(steps=6))
    fig = section.derivation(0).figures[0].draw()
    assert len(fig.axes) == 2
    plt.close(fig)


def test_teaching_aid_runs_as_it_is():
    proc = subprocess.run([sys.executable, str(ROOT / "derivations" / "lstm.py"), "3"], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert r"\vec{c}_{t} = f_{t} \vec{c}_{t - 1} + i_{t} \vec{x}_{t}" in out
    assert out.count("  f=[") == 3
    gap = float(out.split("differs from the run by ")[1].split(")")[0])
    assert gap < 1e-12
    assert "RNN, U = 1/2" in out and "||dL/dh_1||" in out
    bad = subprocess.run([sys.executable, str(ROOT / "derivations" / "lstm.py"), "x"], capture_output=True,
                         text=True, timeout=60, check=False)
    assert bad.returncode == 2 and "whole number" in bad.stderr
