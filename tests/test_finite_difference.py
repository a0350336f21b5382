"""The finite-difference engine on functions whose derivatives are known in closed form."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from symrnn.numeric import finite_difference as fd


def test_central_is_the_symmetric_quotient():
    # f(e) = 2 + 3e + e^3: (f(e) - f(-e)) / 2e = 3 + e^2 exactly
    def f(e):
        return 2 + 3 * e + e**3

    assert fd.central(f, Fraction(1, 10)) == Fraction(3) + Fraction(1, 100)


def test_partial_in_float64_matches_the_closed_form_and_restores_the_entry():
    params = {"a": np.array([[0.3, -0.7], [1.1, 0.2]]), "b": np.array([0.5])}
    before = {k: v.copy() for k, v in params.items()}

    def f(p):
        a, b = p["a"], p["b"]
        return math.sin(a[0, 1]) * math.exp(a[1, 0]) + b[0] ** 3

    expected = {("a", (0, 1)): math.cos(-0.7) * math.exp(1.1), ("a", (1, 0)): math.sin(-0.7) * math.exp(1.1),
                ("a", (0, 0)): 0.0, ("b", (0,)): 3 * 0.5**2}
    for (name, index), want in expected.items():
        est = fd.partial(f, params, name, index)
        assert abs(est.value - want) <= 1e-8 * (1 + abs(want))
        assert abs(est.value - want) <= 2 * est.error + 1e-15  # the error estimate covers the actual error
        assert est.step in fd.FLOAT64_STEPS
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])


def test_partial_restores_the_entry_when_the_function_raises():
    params = {"a": np.array([1.0, 2.0])}

    def f(p):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fd.partial(f, params, "a", (1,))
    assert params["a"][1] == 2.0


def test_directional_in_mpmath_agrees_to_50_digits():
    with mpmath.workdps(90):
        x, y = mpmath.mpf(1) / 3, mpmath.mpf(-2) / 7
        params = {"x": x, "y": y}
        v = {"x": mpmath.mpf(2), "y": mpmath.mpf(-1) / 5}

        def f(p):
            return mpmath.exp(p["x"]) * mpmath.log(1 + p["y"] ** 2)

        exact = 2 * mpmath.exp(x) * mpmath.log(1 + y**2) - mpmath.mpf(1) / 5 * mpmath.exp(x) * 2 * y / (1 + y**2)
        est = fd.directional(f, params, v, [mpmath.mpf("1e-30"), mpmath.mpf("1e-35")])
        assert abs(est.value - exact) < mpmath.mpf(10) ** -55
        assert est.error < mpmath.mpf(10) ** -50
        assert abs(est.value - exact) <= 2 * est.error


def test_partial_on_an_array_of_mpmath_numbers():
    with mpmath.workdps(60):
        params = {"w": np.array([mpmath.mpf(1) / 2, mpmath.mpf(3) / 4], dtype=object)}

        def f(p):
            return mpmath.tanh(p["w"][0] * p["w"][1])

        est = fd.partial(f, params, "w", (1,), [mpmath.mpf("1e-20")])
        exact = mpmath.mpf(1) / 2 * mpmath.sech(mpmath.mpf(3) / 8) ** 2
        assert abs(est.value - exact) < mpmath.mpf(10) ** -35


def test_sweep_skips_steps_that_give_nan():
    def f(e):
        return math.nan if abs(e) >= 1e-3 else math.exp(e)

    est = fd.sweep(f, (1e-2, 1e-3, 1e-4, 1e-5, 1e-6))
    assert abs(est.value - 1) < 1e-8
    assert est.step in (1e-5, 1e-6)


def test_one_step_gives_the_rounding_floor_as_its_error():
    est = fd.sweep(math.exp, (1e-6,))
    assert est.error == pytest.approx(fd.unit_roundoff(1.0) * math.exp(1e-6) / 1e-6)


def test_unit_roundoff_follows_the_arithmetic():
    assert fd.unit_roundoff(1.0) == 2.0**-53
    with mpmath.workdps(50):
        assert fd.unit_roundoff(mpmath.mpf(1)) == mpmath.mpf(2) ** -mpmath.mp.prec


@pytest.mark.parametrize("steps", [(), (1e-3, 0.0), (-1e-3,)])
def test_steps_must_be_positive(steps):
    with pytest.raises(ValueError):
        fd.sweep(math.exp, steps)
