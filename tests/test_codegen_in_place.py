"""Kernels that write into the new arrays of their operands (``codegen.kernel(..., batch=...)``) compute what the
plain kernels compute, never touch their arguments, and never write into an array of the wrong shape.

The reference is the same expression printed without in-place writes (the printing every kernel used before), and
for a few expressions NumPy written by hand.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symrnn.notation import apply_entrywise
from symrnn.numeric import codegen
from symrnn.ops import relu, sigmoid

N, D, B = 4, 3, 5
h, x, rho = sp.MatrixSymbol("h", N, 1), sp.MatrixSymbol("x", D, 1), sp.MatrixSymbol("rho", N, 1)
U, W = sp.MatrixSymbol("U", N, N), sp.MatrixSymbol("W", N, D)
b, u = sp.MatrixSymbol("b", N, 1), sp.MatrixSymbol("u", N, 1)
ones = sp.OneMatrix(N, 1)
e = sp.Dummy("e")


def ew(fn, arg):
    return apply_entrywise(sp.Lambda(e, fn(e)), arg)


EXPRESSIONS = {
    "elman": ew(sp.tanh, U * h + W * x + b),
    "gate": sp.HadamardProduct(ew(sigmoid, U * h + b), h)
    + sp.HadamardProduct(ones - ew(sigmoid, W * x + u), ew(sp.tanh, h)),
    "column factor": sp.HadamardProduct(u, U * h) - b + 2 * h,
    "columns only first": sp.HadamardProduct(b, u) + U * h,
    "negative product": -(U * h) + b - rho,
    "exp and log": sp.HadamardProduct(ew(sp.exp, U * h), ew(sp.log, ew(sigmoid, h) + ones), u),
    "relu": ew(relu, U * h - W * x),
    "shared operand": sp.HadamardProduct(U * h, U * h + b),
    "scalar rows": sp.OneMatrix(N, 1) * (sp.OneMatrix(1, N) * h) + U * h,
    "transposed sums": (U * h + rho) * x.T + W,
    "loss": codegen.BatchSum(sp.OneMatrix(1, N) * ew(lambda z: z**2 / 2, h - rho)),
    "cross-entropy": codegen.BatchSum(-sp.OneMatrix(1, N) * sp.HadamardProduct(rho, ew(sp.log, ew(sigmoid, h)))),
}
ARGS = [U, W, b, u, h, x, rho]
BATCH = [h, x, rho]


def _arrays(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes = {U: (N, N), W: (N, D), b: (N, 1), u: (N, 1), h: (N, B), x: (D, B), rho: (N, B)}
    return [rng.normal(size=shapes[a]) for a in ARGS]


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_in_place_kernels_equal_plain_ones_and_leave_their_arguments_alone(name):
    expr = EXPRESSIONS[name]
    plain = codegen.kernel(ARGS, sp.Tuple(expr, expr + expr if expr.shape != (1, 1) else expr), f"plain_{len(name)}")
    fast = codegen.kernel(ARGS, sp.Tuple(expr, expr + expr if expr.shape != (1, 1) else expr), f"fast_{len(name)}",
                          batch=BATCH)
    for seed in range(3):
        arrays = _arrays(seed)
        before = [a.copy() for a in arrays]
        want, got = plain(*arrays), fast(*arrays)
        for a, a0 in zip(arrays, before, strict=True):
            np.testing.assert_array_equal(a, a0)  # no argument written
        for w, g in zip(want, got, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-13)
            assert np.shape(g) == np.shape(w)


def test_the_step_writes_into_its_product_and_matches_numpy():
    fast = codegen.kernel(ARGS, EXPRESSIONS["elman"], "elman_step", batch=BATCH)
    arrays = _arrays(7)
    Ua, Wa, ba, _, ha, xa, _ = arrays  # noqa: N806
    np.testing.assert_allclose(fast(*arrays), np.tanh(Ua @ ha + Wa @ xa + ba), rtol=1e-14)
    assert "out=" in inspect.getsource(fast)  # in place: a sum accumulated in U h's array, tanh written over it


def test_squared_error_over_the_batch_is_one_dot_product():
    loss = codegen.kernel([h, rho], EXPRESSIONS["loss"], "loss_total", batch=[h, rho])
    ha, ra = _arrays(3)[4], _arrays(3)[6]
    assert loss(ha, ra) == pytest.approx(0.5 * ((ha - ra) ** 2).sum(), rel=1e-14)
    assert "vdot" in inspect.getsource(loss)


def test_batch_must_name_arguments():
    with pytest.raises(ValueError, match="batch names"):
        codegen.kernel([h], h + h, "k", batch=[x])


# ---- random expressions: whatever the tree, writing in place changes nothing but speed ----------------------------

_LEAVES = [h, rho, W * x, b, u, ones, U * h]


def _vectors(depth: int):
    leaf = st.sampled_from(_LEAVES)
    if depth == 0:
        return leaf
    sub = _vectors(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(sub, sub).map(lambda p: p[0] + p[1]),
        st.tuples(sub, sub).map(lambda p: p[0] - p[1]),
        st.tuples(sub, sub).map(lambda p: sp.HadamardProduct(p[0], p[1])),
        sub.map(lambda v: U * v),
        sub.map(lambda v: sp.Rational(3, 2) * v),
        sub.map(lambda v: ew(sp.tanh, v)),
        sub.map(lambda v: ew(sigmoid, v)),
        sub.map(lambda v: ew(sp.exp, ew(sp.tanh, v))),
        sub.map(lambda v: ew(lambda z: 1 - z**2, v)),
    )


@settings(max_examples=120, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(_vectors(3), _vectors(2))
def test_random_expressions_in_place_equal_plain(first, second):
    """Two random vector expressions (depth 3 and 2), a sum of them and a loss: the same values, arguments
    untouched."""
    loss = codegen.BatchSum(sp.OneMatrix(1, N) * ew(lambda z: z**2 / 2, first))
    outputs = sp.Tuple(first, second, first + second, loss)
    plain = codegen.kernel(ARGS, outputs, "random_plain")
    fast = codegen.kernel(ARGS, outputs, "random_fast", batch=BATCH)
    arrays = _arrays(11)
    before = [a.copy() for a in arrays]
    got, want = fast(*arrays), plain(*arrays)
    for a, a0 in zip(arrays, before, strict=True):
        np.testing.assert_array_equal(a, a0)
    for g, w in zip(got, want, strict=True):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
