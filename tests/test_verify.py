"""The verifier: it must reject false claims and say which strength of evidence a true one reached."""

from __future__ import annotations

import random

import sympy as sp

from symrnn.core.derivation import Computation, Evidence, Identity, Instances, Outcome, Refutation, Step
from symrnn.core.verify import run_check, verify_step

a, b = sp.symbols("a b", positive=True)
rng = random.Random(0)


def test_true_polynomial_identity_is_symbolic():
    out = run_check(Identity((a + b) ** 2, a**2 + 2 * a * b + b**2), rng)
    assert out.passed and out.evidence is Evidence.SYMBOLIC


def test_false_identity_fails_even_when_algebra_is_skipped():
    out = run_check(Identity((a + b) ** 2, a**2 + b**2, simplifier=None), rng)
    assert not out.passed and out.evidence is Evidence.EXACT
    assert "is not zero" in out.detail


def test_identity_without_algebra_is_an_exact_spot_check():
    out = run_check(Identity(sp.sin(a) ** 2 + sp.cos(a) ** 2, sp.Integer(1), simplifier=None), rng)
    assert out.passed and out.evidence is Evidence.EXACT


def test_tiny_irrational_difference_is_caught_at_50_digits():
    out = run_check(Identity(sp.exp(a), sp.exp(a) + sp.Rational(1, 10**30), simplifier=None), rng)
    assert not out.passed


def test_shape_mismatch_is_named():
    out = run_check(Identity(sp.Matrix([a, b]), sp.Matrix([[a, b]])), rng)
    assert not out.passed and "shapes differ" in out.detail


def test_refutation():
    assert run_check(Refutation(sp.log(a + b), sp.log(a) + sp.log(b)), rng).passed
    assert not run_check(Refutation(sp.log(a * b), sp.log(a) + sp.log(b)), rng).passed


def test_instances_report_the_first_failure_and_the_weakest_level():
    good = Instances(lambda: [Identity(a * b, b * a), Identity(sp.exp(sp.log(a)), a, simplifier=None)], "two")
    out = run_check(good, rng)
    assert out.passed and out.evidence is Evidence.SYMBOLIC  # exp(log(a)) -> a already as algebra
    bad = Instances(lambda: [Identity(a, a, label="first"), Identity(a, b, label="second")], "two")
    out = run_check(bad, rng)
    assert not out.passed and out.detail.startswith("second")


def test_a_check_that_raises_is_a_failure_not_a_crash():
    def boom(_rng):
        raise RuntimeError("kaput")
    step = Step("s", "t", sp.Eq(a, a), "r", Computation(boom, "boom"))
    result = verify_step(step, "x")
    assert not result.passed and "kaput" in result.detail


def test_computation_outcome_passes_through():
    step = Step("s", "t", sp.Eq(a, a), "r", Computation(lambda _r: Outcome(True, Evidence.NUMERIC, "ok"), "c"))
    assert verify_step(step, "x").evidence == "numeric"


def test_substitution_on_shared_subexpressions_matches_the_hand_result():
    from symrnn.core.zerotest import substitute

    x = sp.exp(a) + 1
    y = sp.tanh(x * x + x) * x
    assert substitute([y, x], {sp.exp(a): b}) == [sp.tanh((b + 1) ** 2 + b + 1) * (b + 1), b + 1]


def test_results_say_whether_they_came_from_the_cache():
    step = Step("s", "t", sp.Eq(a, a), "r", Identity(a, a))
    row = verify_step(step, "x").as_dict()
    assert row["cached"] is False and row["computed"] is None and row["passed"] is True
