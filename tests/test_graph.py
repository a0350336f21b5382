"""The graph evaluator behind ``numeric`` and ``graph_value``: values against mpmath computed by hand."""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp

from symrnn.numeric.graph import evaluate, graph_value, numeric
from symrnn.ops import sigmoid

R = sp.Rational


def test_arithmetic_and_functions_against_mpmath():
    expr = sp.exp(R(1, 3)) * sp.log(R(7, 2)) + sp.tanh(R(-1, 2)) / sigmoid(R(2, 5)) + R(3, 4) ** R(1, 2) + sp.pi
    with mpmath.workdps(70):
        want = (mpmath.exp(mpmath.mpf(1) / 3) * mpmath.log(mpmath.mpf(7) / 2)
                + mpmath.tanh(mpmath.mpf(-1) / 2) * (1 + mpmath.exp(mpmath.mpf(-2) / 5))
                + mpmath.sqrt(mpmath.mpf(3) / 4) + mpmath.pi)
        assert abs(evaluate(expr, 70) - want) < mpmath.mpf(10) ** -65
        assert abs(graph_value(expr, 70) - want) < mpmath.mpf(10) ** -65
        shown = sp.Float(mpmath.nstr(want, 65), 65)
    assert abs(numeric(expr, 50) - shown) < sp.Float("1e-48")


def test_a_deeply_shared_graph_is_evaluated_once_per_node():
    # h_t = h_{t-1} / (1 + h_{t-1}^2) + exp(-h_{t-1}), 200 times: a tree of 3^200 leaves, a graph of ~1000 nodes
    h, x = sp.Rational(1, 3), mpmath.mpf(1) / 3
    with mpmath.workdps(60):
        for _ in range(200):
            inverse = sp.Pow(sp.Add(1, sp.Pow(h, 2, evaluate=False), evaluate=False), -1, evaluate=False)
            h = sp.Add(sp.Mul(h, inverse, evaluate=False), sp.exp(sp.Mul(-1, h, evaluate=False), evaluate=False),
                       evaluate=False)
            x = x / (1 + x**2) + mpmath.exp(-x)
        want = sp.Float(mpmath.nstr(x, 55), 55)
    assert abs(numeric(h, 40) - want) < sp.Float("1e-38") * abs(want)


def test_numeric_rejects_free_symbols_and_complex_values():
    with pytest.raises(ValueError, match="free symbols"):
        numeric(sp.Symbol("a") + 1)
    with pytest.raises(ValueError, match="not real"):
        numeric(sp.log(-1))


def test_numeric_falls_back_to_sympy_for_other_functions():
    assert abs(numeric(sp.besselj(0, 1), 30) - sp.N(sp.besselj(0, 1), 40)) < sp.Float("1e-29")


def test_graph_value_is_none_when_it_cannot_give_a_finite_number():
    assert graph_value(sp.Symbol("a") + 1) is None
    assert graph_value(sp.besselj(0, 1)) is None
    assert graph_value(1 / (sp.log(R(1, 2)) + sp.log(2))) is None  # log(1/2) + log(2) = 0: division by zero
