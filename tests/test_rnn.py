"""The RNN update, the nonlinearity table, and section ``rnn``'s checks.

Every expected value is computed here independently: NumPy loops and formulas written in the test, finite
differences, and the structure of the unrolled symbolic network.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symrnn import notation as nt
from symrnn.latex.printer import latex, normalise
from symrnn.lecture25 import SECTIONS
from symrnn.lecture25.rnn import checks_example
from symrnn.lecture25.rnn import steps as section
from symrnn.lecture25.rnn.example import Example
from symrnn.models import nonlinearities as nl
from symrnn.models import rnn
from symrnn.models.hmm import ModelError, SequenceError

# ---- independent reference implementations -------------------------------------------------------------------


def np_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - np.max(z))
    return e / e.sum()


REFERENCE = {
    "lecture": lambda z: np_softmax(z - 1.0),
    "softmax": np_softmax,
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "identity": lambda z: z,
}


def np_rnn(U: np.ndarray, W: np.ndarray, xs: list[int], g, h0=None) -> np.ndarray:  # noqa: N803
    h = np.zeros(U.shape[0]) if h0 is None else h0
    out = []
    for k in xs:
        x = np.zeros(W.shape[1])
        x[k - 1] = 1.0
        h = g(U @ h + W @ x)
        out.append(h)
    return np.array(out)


def random_rational_matrix(rng: random.Random, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda r, c: sp.Rational(rng.randint(-30, 30), rng.randint(1, 20)))


def as_float(m: sp.Matrix) -> np.ndarray:
    return np.array([float(nt.numeric(v, 20)) for v in m])


# ---- the table --------------------------------------------------------------------------------------------------


def test_the_table_has_the_issues_entries():
    assert set(nl.names()) == {"lecture", "softmax", "tanh", "sigmoid", "identity"}
    assert nl.get("lecture").shift == -1 and nl.get("softmax").shift == 0
    assert nl.get("tanh").elementwise and not nl.get("softmax").elementwise


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_exact_and_numpy_forms_agree_with_an_independent_formula(name):
    g = nl.get(name)
    rng = np.random.default_rng(1)
    for _ in range(5):
        z = rng.normal(scale=2.0, size=4)
        exact = g(sp.Matrix([sp.Rational(v).limit_denominator(10**6) for v in z]))
        zr = np.array([float(sp.Rational(v).limit_denominator(10**6)) for v in z])
        assert np.allclose(as_float(exact), REFERENCE[name](zr), rtol=1e-13, atol=1e-15)
        assert np.allclose(g.numpy(zr), REFERENCE[name](zr), rtol=1e-13, atol=1e-15)


def test_numpy_forms_do_not_overflow():
    z = np.array([-1000.0, 0.0, 1000.0])
    for g in nl.TABLE.values():
        with np.errstate(over="raise", invalid="raise"):
            out = g.numpy(z)
        assert np.all(np.isfinite(out))
    assert np.allclose(nl.get("sigmoid").numpy(z), [0.0, 0.5, 1.0])
    assert np.allclose(nl.get("softmax").numpy(z), [0.0, 0.0, 1.0])


def test_numpy_softmax_works_on_batches_along_axis_0():
    z = np.random.default_rng(2).normal(size=(3, 5))
    out = nl.get("softmax").numpy(z)
    assert np.allclose(out.sum(axis=0), 1.0)
    assert np.allclose(out[:, 2], np_softmax(z[:, 2]))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-30, 30), min_size=1, max_size=6), st.floats(-50, 50))
def test_softmax_is_shift_invariant_on_random_vectors(values, c):
    z = np.array(values)
    expected = np.exp(z - z.max()) / np.exp(z - z.max()).sum()  # written here, not symrnn's
    assert np.allclose(nl.get("softmax").numpy(z + c), expected, atol=1e-12)
    assert np.allclose(nl.get("lecture").numpy(z), expected, atol=1e-12)


def test_softmax_shift_invariance_is_exact_at_rational_points():
    rng = random.Random(3)
    for n in (2, 3, 5):
        z = sp.Matrix([sp.Rational(rng.randint(-50, 50), rng.randint(1, 9)) for _ in range(n)])
        c = sp.Rational(rng.randint(-50, 50), rng.randint(1, 9))
        shifted = nl.softmax(z + c * sp.ones(n, 1))
        assert all(sp.simplify(a - b) == 0 for a, b in zip(shifted, nl.softmax(z), strict=True))


def test_softmax_jacobian_matches_its_formula_and_finite_differences():
    z = sp.Matrix([sp.Rational(1, 3), -2, sp.Rational(5, 4)])
    s = nl.softmax(z)
    formula = sp.diag(*s) - s * s.T  # d softmax / d z = diag(s) - s s^T
    jac = nl.get("softmax").jacobian(z)
    assert all(sp.simplify(d) == 0 for d in jac - formula)
    zf, eps = np.array([float(v) for v in z]), 1e-6
    fd = np.column_stack([(np_softmax(zf + eps * e) - np_softmax(zf - eps * e)) / (2 * eps) for e in np.eye(3)])
    assert np.allclose(np.array(jac.evalf(20).tolist(), dtype=float), fd, atol=1e-8)


def test_elementwise_jacobians_are_diagonal_with_the_derivative():
    z = sp.Matrix([sp.Rational(1, 2), -1])
    jac = nl.get("tanh").jacobian(z)
    assert jac[0, 1] == 0 and jac[1, 0] == 0
    assert sp.simplify(jac[0, 0] - (1 - sp.tanh(sp.Rational(1, 2)) ** 2)) == 0
    sig = nl.get("sigmoid").jacobian(z)
    s = 1 / (1 + sp.exp(1))  # sigma(-1)
    assert sp.simplify(sig[1, 1] - s * (1 - s)) == 0


@pytest.mark.parametrize("bad", ["a b", "x\\y", "", "1tanh", "tan-h", "}"])
def test_bad_names_are_refused_with_the_table_listed(bad):
    with pytest.raises(nl.NonlinearityError, match="known"):
        nl.get(bad)


def test_unknown_name_lists_the_table():
    with pytest.raises(nl.NonlinearityError) as err:
        nl.get("relu")
    assert "relu" in str(err.value)
    assert all(name in str(err.value) for name in nl.names())
    with pytest.raises(nl.NonlinearityError):
        nl.resolve(3)


def test_custom_function_from_sympy():
    softplus = nl.custom("softplus", lambda z: sp.log(1 + sp.exp(z)))
    out = softplus(sp.Matrix([0, 1]))
    assert out[0] == sp.log(2)
    assert np.allclose(softplus.numpy(np.array([0.0, 1.0])), np.log1p(np.exp([0.0, 1.0])))
    assert softplus.jacobian([0, 0])[0, 0] == sp.Rational(1, 2)
    assert nl.custom("atan", sp.atan)(sp.Matrix([1]))[0] == sp.pi / 4
    const = nl.custom("half", lambda z: sp.Rational(1, 2))
    assert const.numpy(np.zeros(3)).shape == (3,)


@pytest.mark.parametrize(("name", "fn", "message"), [
    ("sq", "z**2", "SymPy function"),
    ("bad name", sp.sin, "invalid symbol name"),
    ("tanh", sp.sin, "already in the table"),
    ("words", lambda z: "z", "SymPy expression"),
    ("leaky", lambda z: z * sp.Symbol("a"), "SymPy expression"),
])
def test_custom_refuses_text_and_bad_input(name, fn, message):
    with pytest.raises(ValueError, match=message):
        nl.custom(name, fn)


def test_generic_function_is_undefined_per_entry():
    a, b = sp.symbols("a b")
    out = nl.generic("g")(sp.Matrix([a, b]))
    assert out[0] == sp.Function("g_1")(a, b) and out[1] == sp.Function("g_2")(a, b)


# ---- the RNN -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_run_matches_a_plain_numpy_loop(name):
    rng = random.Random(name)
    U, W = random_rational_matrix(rng, 3, 3) / 5, random_rational_matrix(rng, 3, 4) / 5  # noqa: N806
    xs = [rng.randint(1, 4) for _ in range(12)]
    net = rnn.RNN(U, W, name)
    Uf, Wf = np.array(U.tolist(), dtype=float), np.array(W.tolist(), dtype=float)  # noqa: N806
    expected = np_rnn(Uf, Wf, xs, REFERENCE[name])
    exact = np.array([as_float(h) for h in net.run(xs[:3])])  # exact states nest: short runs only
    assert np.allclose(exact, expected[:3], rtol=1e-12, atol=1e-14)
    assert np.allclose(net.run_numeric(xs), expected, rtol=1e-12, atol=1e-14)
    rounded = np.array([[float(v) for v in h] for h in net.run(xs, digits=30)])
    assert np.allclose(rounded, expected, rtol=1e-12, atol=1e-14)


def test_h0_is_used():
    U, W = sp.eye(2) / 2, sp.Matrix([[1, 0], [0, 1]])  # noqa: N806
    h0 = sp.Matrix([4, 2])
    (h1,) = rnn.RNN(U, W, "identity", h0).run([1])
    assert h1 == sp.Matrix([3, 1])  # U h0 + W x = [2, 1] + [1, 0]


def test_general_form_with_additive_g_is_the_additive_rnn():
    rng = random.Random(5)
    U, W = random_rational_matrix(rng, 3, 3) / 7, random_rational_matrix(rng, 3, 2) / 7  # noqa: N806
    inputs = [nt.one_hot(rng.randint(1, 2), 2) for _ in range(4)]
    g = nl.get("tanh")
    general = rnn.unroll(U, W, sp.zeros(3, 1), inputs, rnn.additive(g))
    assert general == rnn.RNN(U, W, g).run_inputs(inputs)
    # and a genuinely two-argument g is something else
    other = rnn.unroll(U, W, sp.zeros(3, 1), inputs, lambda a, b: g(a - b))
    assert other != general


def test_unrolled_symbolic_network_is_causal():
    n, m, steps = 2, 2, 4
    U, W = nt.entry_matrix("u", n, n), nt.entry_matrix("w", n, m)  # noqa: N806
    inputs = [nt.entry_vector(f"x{s}", m) for s in range(1, steps + 1)]
    hs = rnn.unroll(U, W, sp.zeros(n, 1), inputs, rnn.generic_two("g"))
    for s, h in enumerate(hs, start=1):
        used = [r for r, x in enumerate(inputs, start=1) if x.free_symbols & h.free_symbols]
        assert used == list(range(1, s + 1))
    assert hs[1] == rnn.generic_two("g")(U * hs[0], W * inputs[1])


def test_malformed_networks_and_sequences_are_named_errors():
    with pytest.raises(ModelError, match="square"):
        rnn.RNN(sp.ones(2, 3), sp.ones(2, 2))
    with pytest.raises(ModelError, match="one row per state"):
        rnn.RNN(sp.eye(2), sp.ones(3, 2))
    with pytest.raises(ModelError, match="h0"):
        rnn.RNN(sp.eye(2), sp.ones(2, 2), h0=sp.ones(3, 1))
    with pytest.raises(ModelError, match="not a number"):
        rnn.RNN([["1", 0], [0, 1]], sp.ones(2, 2))
    net = rnn.RNN(sp.eye(2), sp.ones(2, 3))
    with pytest.raises(SequenceError, match="1..3"):
        net.run([4])
    with pytest.raises(SequenceError, match="1..3"):
        net.run([True])
    with pytest.raises(SequenceError, match="empty"):
        net.run([])
    with pytest.raises(SequenceError, match="column of 3"):
        net.run_inputs([sp.ones(2, 1)])
    with pytest.raises(ModelError, match="NumPy"):
        rnn.RNN(sp.eye(2), sp.ones(2, 3), nl.generic("g")).run_numeric([1])


def test_abstract_update_in_both_forms():
    assert normalise(latex(rnn.update())) == r"\vec{h}_t=g(U\vec{h}_{t-1}+W\vec{x}_t)"
    assert normalise(latex(rnn.update(form="general"))) == r"\vec{h}_t=g(U\vec{h}_{t-1},W\vec{x}_t)"
    steps = rnn.unrolled(3)
    assert [normalise(latex(e)) for e in steps][2] == r"\vec{h}_3=g(U\vec{h}_2+W\vec{x}_3)"
    assert len(steps) == 3
    with pytest.raises(ValueError):
        rnn.unrolled(0)
    with pytest.raises(ValueError):
        rnn.update(form="other")


# ---- the section -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def derivation():
    return section.derivation()


def test_section_is_registered_after_hmm():
    names = list(SECTIONS)
    assert names.index("rnn") == names.index("hmm") + 1


def test_every_step_is_checked_and_passes(derivation, verified):
    ids = [s.id for s in derivation.steps]
    assert len(ids) == len(set(ids))
    results = verified("rnn")
    assert [r.id for r in results] == ids
    failed = [(r.id, r.detail) for r in results if not r.passed]
    assert not failed
    levels = {r.id: r.evidence for r in results}
    for proved in ("posterior-softmax", "shift-invariance", "log-linear", "linearised", "update",
                   "update-additive", "flowgraph"):
        assert levels[proved] == "symbolic", proved


def test_checks_can_fail():
    """Feeding a check a wrong display must fail it: the checks read what the document shows."""
    ex = Example()
    swapped = sp.ImmutableMatrix([nt.P([nt.Is(nt.Y(nt.t), nt.Text(tag))], [nt.Span(1, nt.t, states=False)])
                                  for tag in ("Noun", "Det", "Verb")])
    assert not checks_example.approximates(ex, swapped).run(random.Random(0)).passed
    reordered = sp.ImmutableMatrix([nt.OneIf(nt.Is(nt.X(nt.t), nt.Text(w))) for w in ("hit", "ball", "John", "the")])
    assert not checks_example.x_definition(reordered, ex.model).run(random.Random(0)).passed
    assert not checks_example.observations(ex, reordered).run(random.Random(0)).passed


def test_notes_are_computed_not_copied(derivation):
    notes = {s.id: s.lecture_note for s in derivation.steps}
    ex = Example()
    noun = ex.tags.index("Noun")
    assert nt.decimal_text(ex.hs[0][noun], 4) in notes["h1"]
    assert nt.decimal_text(ex.hs[0][noun], 2) in notes["reading-1"]
    assert ", ".join(nt.decimal_text(v) for v in ex.hs[3]) in notes["h4"]
