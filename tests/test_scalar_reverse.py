"""Scalar reverse-mode differentiation over the graph, against sp.diff and hand-derived facts."""

from __future__ import annotations

import random

import mpmath
import pytest
import sympy as sp

from symrnn.autodiff import scalar_reverse
from symrnn.autodiff.scalar_reverse import gradient, jacobian_row
from symrnn.core.zerotest import substitute
from symrnn.numeric.graph import evaluate
from symrnn.ops import sigmoid

x, y, z = sp.symbols("x y z", real=True)


def _agree(expr: sp.Expr, wrt, points: int = 3) -> bool:
    """Each reverse-mode partial equals sp.diff's to 60 digits at random rational points."""
    rng = random.Random(1)
    for g, v in zip(gradient(expr, wrt), wrt):
        ref = sp.diff(expr, v)
        for _ in range(points):
            at = {s: sp.Rational(rng.randint(1, 40), rng.randint(41, 60)) for s in (x, y, z)}
            a, b = evaluate(g.xreplace(at), 80), evaluate(ref.xreplace(at), 80)
            with mpmath.workdps(80):
                if abs(a - b) > mpmath.mpf(10) ** -60 * max(1, abs(b)):
                    return False
    return True


def test_rational_function_is_exact():
    e = (x**2 * y - 3 * z) / (1 + x * y) ** 3 + x / y
    for g, v in zip(gradient(e, [x, y, z]), [x, y, z]):
        assert sp.cancel(g - sp.diff(e, v)) == 0


@pytest.mark.parametrize("expr", [
    sp.exp(x * y) * sp.log(1 + z**2),
    sp.tanh(x - y) ** 2 + sigmoid(x * z),
    x**y + y**sp.Rational(1, 3) * z,
    sp.log(sigmoid(sp.tanh(x) * y) + sp.exp(-z)),
])
def test_functions_and_powers_agree_with_sp_diff(expr):
    assert _agree(expr, [x, y, z])


def test_shared_subexpressions_counted_once_per_path():
    s = sp.tanh(x * y + z)  # shared by three parents
    e = s * sp.exp(s) + s**2 / (1 + s) - sp.log(1 + s**2)
    assert _agree(e, [x, y, z])


def test_deep_shared_chain_matches_forward_recurrence():
    # a_{k+1} = a_k^2 + a_k: a tree of 2^30 nodes but a graph of 30; da_{k+1}/dx = (2 a_k + 1) da_k/dx.
    a = x
    for _ in range(30):
        a = a**2 + a
    value, slope = -0.3, 1.0
    for _ in range(30):
        value, slope = value**2 + value, (2 * value + 1) * slope
    (g,) = gradient(a, [x])
    (at,) = substitute([g], {x: sp.Float(-0.3, 30)})
    assert float(evaluate(at, 30)) == pytest.approx(slope, rel=1e-10)


def test_undefined_function_uses_fdiff():
    f = sp.Function("f")
    e = f(x * y) * y
    assert sp.simplify(gradient(e, [x])[0] - sp.diff(e, x)) == 0


def test_unrelated_symbol_and_matrix_shape():
    e = x * y
    assert gradient(e, [z]) == [0]
    m = sp.Matrix(2, 1, [x, y])
    assert jacobian_row(e, m) == sp.Matrix([[y], [x]])


def test_a_wrong_rule_is_caught(monkeypatch):
    real = scalar_reverse.partials

    def no_product_rule(node, depends):  # d(uv) = du v only: forgets u dv
        out = real(node, depends)
        return out[:1] if node.is_Mul else out

    monkeypatch.setattr(scalar_reverse, "partials", no_product_rule)
    assert not _agree(sp.exp(x) * sp.tanh(x * y), [x, y])
