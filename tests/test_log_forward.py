"""The log-domain forward and Viterbi, the shift identity and the code generator.

Expected values come from elsewhere: exact rational belief propagation and Viterbi, brute force over
every path, a hand-written scaled (Rabiner) forward, and hand-written NumPy expressions.
"""

from __future__ import annotations

import inspect
import math
import random
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from symrnn.models import belief_propagation, viterbi
from symrnn.models import log_forward as lf
from symrnn.models.hmm import HMM, ModelError, SequenceError, joint, paths
from symrnn.notation import N, V, Vec, elementwise, one_hot, t
from symrnn.numeric import codegen
from symrnn.ops import EntryMax

TINY = np.finfo(float).tiny


def exact_log(value: sp.Expr) -> float:
    """ln of an exact non-negative rational, to 30 digits; -inf for 0."""
    if value == 0:
        return -math.inf
    with mpmath.workdps(30):
        return float(mpmath.log(mpmath.mpf(value.p) / value.q))


def random_sequence(rng: random.Random, n_symbols: int, length: int) -> list[int]:
    return [rng.randint(1, n_symbols) for _ in range(length)]


def random_float_model(rng: np.random.Generator, n: int, k: int):
    return rng.dirichlet(np.ones(n), size=n).T, rng.dirichlet(np.ones(k), size=n), rng.dirichlet(np.ones(n))


def scaled_forward(u, w, pi, xs) -> np.ndarray:
    """ln h_t for every t by Rabiner's scaling: normalise h_t each step and add up the logs of the scales."""
    out = np.empty((len(xs), len(pi)))
    h = pi * w[:, xs[0] - 1]
    log_scale = 0.0
    for step, k in enumerate(xs):
        if step:
            h = (u @ h) * w[:, k - 1]
        c = h.sum()
        h = h / c
        log_scale += math.log(c)
        out[step] = np.log(h) + log_scale
    return out


# ---- agreement with exact belief propagation -----------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_log_forward_matches_exact_belief_propagation(seed):
    rng = random.Random(seed)
    n, k, length = rng.randint(2, 4), rng.randint(2, 5), rng.randint(1, 15)
    model = HMM.random_rational(n, k, rng)
    xs = random_sequence(rng, k, length)
    expected = np.array([[exact_log(h_jt) for h_jt in h] for h in belief_propagation.forward(model, xs)])
    np.testing.assert_allclose(lf.log_forward(model, xs), expected, rtol=1e-12)
    np.testing.assert_allclose(lf.log_forward(model.numeric(), xs), expected, rtol=1e-12)
    assert lf.log_likelihood(model, xs) == pytest.approx(exact_log(belief_propagation.likelihood(model, xs)),
                                                         rel=1e-12)
    linear = np.array([[float(h_jt) for h_jt in h] for h in belief_propagation.forward(model, xs)])
    np.testing.assert_allclose(lf.forward_linear(model, xs), linear, rtol=1e-12)


def test_log_likelihood_matches_brute_force_sum_over_paths():
    rng = random.Random(11)
    model = HMM.random_rational(3, 3, rng)
    xs = [2, 1, 3, 3, 1]
    total = sp.Add(*[joint(model, y, xs) for y in paths(3, len(xs))])
    assert lf.log_likelihood(model, xs) == pytest.approx(exact_log(total), rel=1e-13)


def test_pi_as_column_and_numpy_indices_are_accepted():
    u, w, pi = HMM.random_rational(3, 4, random.Random(2)).numeric()
    xs = np.array([4, 1, 2], dtype=np.int32)
    assert lf.log_likelihood((u, w, pi.reshape(3, 1)), xs) == lf.log_likelihood((u, w, pi), [4, 1, 2])


# ---- long sequences ------------------------------------------------------------------------------


def test_long_sequence_is_finite_in_the_log_domain_and_underflows_linearly():
    rng = np.random.default_rng(2024)
    n, k, length = 16, 8, 100_000
    model = random_float_model(rng, n, k)
    xs = rng.integers(1, k + 1, size=length)
    expected = scaled_forward(*model, xs)

    got = lf.log_forward(model, xs)
    assert got.shape == (length, n) and np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    ll = lf.log_likelihood(model, xs)
    top = expected[-1].max()
    assert math.isfinite(ll)
    assert ll == pytest.approx(top + math.log(np.exp(expected[-1] - top).sum()), rel=1e-10)

    low = expected < math.log(TINY)  # strictly positive model: every entry is a positive probability
    first = int(np.argmax(low.any(axis=1)))
    with pytest.raises(lf.UnderflowError) as info:
        lf.forward_linear(model, xs)
    assert isinstance(info.value, ArithmeticError)
    assert info.value.step == first + 1
    assert info.value.state == int(np.argmax(low[first])) + 1
    assert f"t={first + 1}" in str(info.value) and "log_forward" in str(info.value)
    np.testing.assert_allclose(lf.forward_linear(model, xs[:first]), np.exp(expected[:first]), rtol=1e-10)


def test_impossible_sequence_is_minus_infinity_not_an_underflow():
    model = HMM([[sp.Rational(1, 2), 1], [sp.Rational(1, 2), 0]],
                [[1, 0, 0], [sp.Rational(1, 3), sp.Rational(1, 3), sp.Rational(1, 3)]],
                [sp.Rational(1, 4), sp.Rational(3, 4)])
    # state 2 never follows state 2, and only state 2 emits symbols 2 and 3: the first and last are impossible
    for xs in ([1, 2, 1, 2, 2, 3, 1], [1, 1, 2], [2, 2, 1]):
        exact = belief_propagation.forward(model, xs)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            logs, linear = lf.log_forward(model, xs), lf.forward_linear(model, xs)
            ll = lf.log_likelihood(model, xs)
            path, logp = lf.log_viterbi(model, xs)
        np.testing.assert_allclose(logs, [[exact_log(v) for v in h] for h in exact], rtol=1e-12)
        np.testing.assert_array_equal(linear, [[float(v) for v in h] for h in exact])
        assert ll == pytest.approx(exact_log(belief_propagation.likelihood(model, xs)), rel=1e-12)
        assert logp == pytest.approx(exact_log(viterbi.viterbi(model, xs).probability), rel=1e-12)
    assert ll == -math.inf and logp == -math.inf  # the last sequence is impossible


# ---- Viterbi -------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_log_viterbi_matches_brute_force_and_exact_viterbi(seed):
    rng = random.Random(100 + seed)
    n, k, length = rng.randint(2, 3), rng.randint(2, 4), rng.randint(1, 6)
    model = HMM.random_rational(n, k, rng, denominator=5)  # small denominators: exact ties do occur
    xs = random_sequence(rng, k, length)
    scores = {y: joint(model, y, xs) for y in paths(n, length)}
    best = max(scores.values())
    winners = [y for y, p in scores.items() if p == best]
    path, logp = lf.log_viterbi(model, xs)
    assert logp == pytest.approx(exact_log(best), rel=1e-12)
    assert path in winners
    if len(winners) == 1:
        assert path == viterbi.viterbi(model, xs).path == winners[0]


def test_log_viterbi_tie_rule_smallest_index_latest_time_first():
    half, quarter = sp.Rational(1, 2), sp.Rational(1, 4)
    uniform = HMM([[half, half], [half, half]], [[half, half], [half, half]], [half, half])
    swap = HMM([[quarter, 3 * quarter], [3 * quarter, quarter]], [[1], [1]], [half, half])
    for model, xs, expected in ((uniform, [1, 2, 2, 1, 2], (1, 1, 1, 1, 1)), (swap, [1, 1], (2, 1))):
        scores = {y: joint(model, y, xs) for y in paths(model.N, len(xs))}
        winners = [y for y, p in scores.items() if p == max(scores.values())]
        assert len(winners) > 1
        # the rule: among the most probable paths, the one whose reversed sequence is smallest
        assert min(winners, key=lambda y: y[::-1]) == expected
        assert lf.log_viterbi(model, xs)[0] == expected == viterbi.viterbi(model, xs).path


# ---- the shift identity and the stable step ------------------------------------------------------


def explicit(expr, n: int, k: int | None = None):
    """Entries of a matrix-level expression at N = n (and V + 1 = k), vectors as plain matrix symbols."""
    vectors = {lf.a_prev: sp.MatrixSymbol("a", N, 1), lf.l_t: sp.MatrixSymbol("l", N, 1),
               lf.x_t: sp.MatrixSymbol("x", V + 1, 1)}
    sizes = {N: n} if k is None else {N: n, V: k - 1}
    return expr.xreplace(vectors).subs(sizes).doit().as_explicit()


def test_shift_identity_holds_symbolically():
    eq = lf.shift_identity()
    assert lf.m in eq.free_symbols
    lhs, rhs = explicit(eq.lhs, 3), explicit(eq.rhs, 3)
    for j in range(3):
        # both sides are logs of positive numbers, so equal exponentials mean equal sides
        assert sp.simplify(sp.exp(lhs[j]) - sp.exp(rhs[j])) == 0


@pytest.mark.parametrize("use_max", [False, True])
def test_shift_identity_exact_spot_check(use_max):
    rng = random.Random(7)
    n = 4
    eq = lf.shift_identity(EntryMax(lf.a_prev) if use_max else lf.m)
    lhs, rhs = explicit(eq.lhs, n), explicit(eq.rhs, n)
    a, u = sp.MatrixSymbol("a", n, 1), sp.MatrixSymbol("U", n, n)
    for _ in range(5):
        point = {a[i, 0]: sp.Rational(rng.randint(-900, 900), rng.randint(1, 9)) for i in range(n)}
        point.update({u[r, c]: sp.Rational(rng.randint(1, 9), 10) for r in range(n) for c in range(n)})
        point[lf.m] = sp.Rational(rng.randint(-50, 50), 3)
        for j in range(n):
            diff = (lhs[j] - rhs[j]).xreplace(point)
            assert abs(sp.N(diff, 50)) < sp.Float(10) ** -40


def test_stable_step_equals_the_lecture_step():
    rng = random.Random(3)
    n, k, obs = 3, 4, 2
    lecture = explicit(lf.log_step().xreplace({lf.x_t: sp.ImmutableMatrix(one_hot(obs, k))}), n, k)
    w = sp.MatrixSymbol("W", n, k)
    column = sp.ImmutableMatrix([sp.log(w[j, obs - 1]) for j in range(n)])
    stable = explicit(lf.stable_log_step().xreplace({lf.l_t: column}), n, k)
    a, u = sp.MatrixSymbol("a", n, 1), sp.MatrixSymbol("U", n, n)
    for _ in range(3):
        point = {a[i, 0]: sp.Rational(rng.randint(-500, 500), 7) for i in range(n)}
        point.update({u[r, c]: sp.Rational(rng.randint(1, 9), 10) for r in range(n) for c in range(n)})
        point.update({w[r, c]: sp.Rational(rng.randint(1, 9), 10) for r in range(n) for c in range(k)})
        for j in range(n):
            assert abs(sp.N((lecture[j] - stable[j]).xreplace(point), 50)) < sp.Float(10) ** -40


# ---- code generation -----------------------------------------------------------------------------


def test_step_kernel_matches_hand_written_numpy_on_a_batch():
    step = codegen.kernel([lf.U, lf.a_prev, lf.l_t], lf.stable_log_step(), "step")
    rng = np.random.default_rng(5)
    u = rng.dirichlet(np.ones(6), size=6).T
    a = rng.normal(scale=1e4, size=(6, 9)) - 1e5  # exp(a) underflows to 0 in float64
    ell = np.log(rng.random((6, 9)))
    expected = np.logaddexp.reduce(np.log(u)[:, :, None] + a[None, :, :], axis=1) + ell
    np.testing.assert_allclose(step(u, a, ell), expected, rtol=1e-12)
    assert list(inspect.signature(step).parameters) == ["U", "a_t_1", "l_t"]
    assert step.__name__ == "step"


def test_kernel_elementwise_functions_hadamard_and_broadcasting():
    z = sp.Symbol("z", real=True)
    sigmoid = sp.Lambda(z, 1 / (1 + sp.exp(-z)))
    u, w = sp.MatrixSymbol("U", N, N), sp.MatrixSymbol("W_{x}", N, V + 1)
    h, x = Vec("h", t - 1, N), Vec("x", t, V + 1)
    b, s = sp.MatrixSymbol("b", N, 1), sp.Symbol("s_{t}", real=True)
    pre = u * h + w * x + b
    expr = sp.HadamardProduct(elementwise(sigmoid, pre), elementwise(sp.tanh, pre)) \
        + s * sp.OneMatrix(N, 1) - 2 * elementwise(sp.exp, u * h) \
        - elementwise(sp.Lambda(z, 1 - z**2), u.T * h) + sp.HadamardPower(h, 3)
    fn = codegen.kernel([u, w, h, x, b, s], expr, "cell")
    params = list(inspect.signature(fn).parameters)
    assert params == ["U", "W_x", "h_t_1", "x_t", "b", "s_t"]
    assert inspect.getsource(fn).count("numpy.tanh(") == 1  # the pre-activation is computed once

    rng = np.random.default_rng(9)
    n, k, batch = 5, 4, 3
    un, wn, hn = rng.normal(size=(n, n)), rng.normal(size=(n, k)), rng.normal(size=(n, batch))
    xn, bn, sn = np.eye(k)[:, [0, 3, 1]], rng.normal(size=(n, 1)), rng.normal(size=(1, batch))
    pre_n = un @ hn + wn @ xn + bn
    expected = 1 / (1 + np.exp(-pre_n)) * np.tanh(pre_n) + sn - 2 * np.exp(un @ hn) \
        - (1 - (un.T @ hn) ** 2) + hn**3
    np.testing.assert_allclose(fn(un, wn, hn, xn, bn, sn), expected, rtol=1e-13)


def test_kernel_computes_a_repeated_elementwise_function_once():
    a, b = sp.MatrixSymbol("a", N, 1), sp.MatrixSymbol("b", N, 1)
    expr = elementwise(sp.exp, a) + sp.HadamardProduct(elementwise(sp.exp, a), b) - elementwise(sp.exp, b)
    fn = codegen.kernel([a, b], expr, "shared")
    assert inspect.getsource(fn).count("numpy.exp(a)") == 1
    an, bn = np.array([[0.5, -1.0], [2.0, 0.0]]), np.array([[1.0, 3.0], [-2.0, 0.25]])
    np.testing.assert_allclose(fn(an, bn), np.exp(an) + np.exp(an) * bn - np.exp(bn), rtol=1e-15)
    # an unbatched (n,) vector works too, as in the log-forward loop
    np.testing.assert_allclose(fn(an[:, 0], bn[:, 0]), (np.exp(an) + np.exp(an) * bn - np.exp(bn))[:, 0])


def test_kernel_names_are_sanitised_and_unknown_symbols_refused():
    nasty = sp.MatrixSymbol("x); import os; (", 2, 1)
    other = sp.MatrixSymbol("x_import_os", 2, 1)
    fn = codegen.kernel([nasty, other], elementwise(sp.exp, nasty) + other, "f")
    params = list(inspect.signature(fn).parameters)
    assert all(p.isidentifier() for p in params) and len(set(params)) == 2
    np.testing.assert_allclose(fn(np.zeros((2, 1)), np.ones((2, 1))), 2 * np.ones((2, 1)))
    assert codegen.safe_name("h_{t-1}") == "h_t_1" and codegen.safe_name("lambda") == "lambda_"
    with pytest.raises(ValueError, match="not arguments"):
        codegen.kernel([nasty], nasty + other, "f")
    with pytest.raises(ValueError, match="identifier"):
        codegen.kernel([nasty], nasty, "f(); import os")
    with pytest.raises(ValueError, match="symbolic shape"):
        codegen.kernel([lf.m], lf.m * sp.OneMatrix(N, 1), "ones")
    ones = codegen.kernel([lf.m], lf.m * sp.OneMatrix(3, 1), "ones")
    np.testing.assert_array_equal(ones(2.0), np.full((3, 1), 2.0))


# ---- input checks --------------------------------------------------------------------------------


FUNCTIONS = [lf.log_likelihood, lf.log_forward, lf.forward_linear, lf.log_viterbi]


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_sequence_errors(fn):
    model = HMM.random_rational(2, 3, random.Random(0))
    with pytest.raises(SequenceError, match="empty"):
        fn(model, [])
    with pytest.raises(SequenceError, match=r"observation 3 is 4: expected an index in 1\.\.3"):
        fn(model, [1, 2, 4])
    with pytest.raises(SequenceError, match="observation 1 is 0"):
        fn(model, [0, 1])
    with pytest.raises(SequenceError, match="integer"):
        fn(model, [1.0, 2.0])
    with pytest.raises(SequenceError, match="integer"):
        fn(model, ["a", "b"])
    with pytest.raises(SequenceError, match="1-D"):
        fn(model, [[1, 2]])


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_model_errors(fn):
    u, w, pi = HMM.random_rational(3, 2, random.Random(1)).numeric()
    cases = {
        "square": (u[:, :2], w, pi),
        "W must be": (u, w[:2], pi),
        "pi must have": (u, w, pi[:2]),
        "transposed": (u.T if not np.allclose(u.T.sum(axis=0), 1) else u * 0.5, w, pi),
        "row 1 of W": (u, w * np.array([[2.0], [1.0], [1.0]]), pi),
        "negative": (u, w, np.array([1.5, -0.25, -0.25])),
        "non-finite": (u, w, np.array([np.nan, 0.5, 0.5])),
        "numeric arrays": (u, w, ["a", "b", "c"]),
        "expected an HMM": {"U": u},
    }
    for message, model in cases.items():
        with pytest.raises(ModelError, match=message):
            fn(model, [1, 2])
    with pytest.raises(ModelError, match="symbolic"):
        fn(HMM.symbolic(2, 2), [1, 2])
