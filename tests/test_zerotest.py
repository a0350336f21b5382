"""The zero test behind the symbolic BPTT proofs: it proves true identities, never accepts a false one, and decides
rational functions exactly as SymPy's ``cancel`` does; with python-flint and with SymPy's own polynomials."""

from __future__ import annotations

import random

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symrnn.autodiff import bptt
from symrnn.core import zerotest
from symrnn.core.verify import differences
from symrnn.models import cells, losses
from symrnn.ops import sigmoid

x, y, z = sp.symbols("x y z", real=True)
BACKENDS = ["flint", "sympy"]


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch):
    if request.param == "sympy":
        monkeypatch.setattr(zerotest, "_polynomials", zerotest._SymPyPolys)
    else:
        pytest.importorskip("flint")
    return request.param


def _softmax(args):
    total = sp.Add(*[sp.exp(a) for a in args])
    return [sp.exp(a) / total for a in args]


TRUE = {
    "softmax Jacobian, off the diagonal": lambda: (
        sp.diff(_softmax([x * y - 1, y + z - 1, x - 1])[0], y)
        - (x * _softmax([x * y - 1, y + z - 1, x - 1])[0] * (1 - _softmax([x * y - 1, y + z - 1, x - 1])[0])
           - _softmax([x * y - 1, y + z - 1, x - 1])[0] * _softmax([x * y - 1, y + z - 1, x - 1])[1])),
    "tanh derivative": lambda: sp.diff(sp.tanh(x * y), x) - y * (1 - sp.tanh(x * y) ** 2),
    "tanh is odd": lambda: sp.tanh(-x - y) + sp.tanh(x + y),
    "sigmoid symmetry": lambda: sigmoid(-x * z) - (1 - sigmoid(x * z)),
    "exp of multiples and constants": lambda: sp.exp(2 * x - 2) * sp.exp(-x) - sp.exp(x) * sp.exp(-2),
    "exp of fractional multiples": lambda: sp.exp(x / 10) * sp.exp(x / 20) - sp.exp(3 * x / 20),
    "nested atoms": lambda: sp.exp(sp.tanh(x) / (1 + y)) * sp.exp(-sp.tanh(x) / (1 + y)) - 1,
    "exp of a sum against a product (split pass)": lambda: sp.exp(x + y) - sp.exp(x) * sp.exp(y),
    "rational function": lambda: x / (x + y) + y / (x + y) - 1,
}

FALSE = {
    "softmax Jacobian with a sign wrong": lambda: (
        sp.diff(_softmax([x, y])[0], y) - _softmax([x, y])[0] * _softmax([x, y])[1]),
    "tanh derivative without the square": lambda: sp.diff(sp.tanh(x), x) - (1 - sp.tanh(x)),
    "sigmoid is not odd": lambda: sigmoid(-x) + sigmoid(x),
    "exp(x/10)^2 is not exp(x/20)": lambda: sp.exp(x / 10) * sp.exp(x / 10) - sp.exp(x / 20),
    "a rational function off by 1e-30": lambda: x / (x + y) + y / (x + y) - 1 - sp.Rational(1, 10**30),
}


@pytest.mark.parametrize("name", list(TRUE))
def test_true_identities_are_proved(name, backend):
    assert zerotest.atoms_zero(TRUE[name]())


@pytest.mark.parametrize("name", list(FALSE))
def test_false_identities_are_not(name, backend):
    d = FALSE[name]()
    assert abs(d.subs({x: sp.Rational(1, 3), y: sp.Rational(2, 7), z: 2}).evalf(40)) > 0  # really not an identity
    assert not zerotest.atoms_zero(d)


def test_one_bptt_step_proved_and_a_perturbed_one_refused(backend):
    """The softmax cell's one-step products, N=3: proved; with one entry changed by 10^-12 times an exp: refused."""
    b = bptt.derive(cells.rnn(3, 4), losses.cross_entropy())
    for _what, derived, ref in bptt.local_identities(b, random.Random(1)):
        diffs = differences(derived, ref)
        assert zerotest.atoms_zero(diffs)
        atom = sorted(set().union(*(d.atoms(sp.exp) for d in diffs)), key=sp.default_sort_key)[0]
        diffs[-1] += sp.Rational(1, 10**12) * atom
        assert not zerotest.atoms_zero(diffs)


_leaf = st.one_of(st.sampled_from([x, y, z]), st.integers(-3, 3).map(sp.Integer))


def _grow(inner):
    return st.one_of(
        st.tuples(inner, inner).map(lambda p: p[0] + p[1]),
        st.tuples(inner, inner).map(lambda p: p[0] * p[1]),
        st.tuples(inner, inner).map(lambda p: p[0] / (p[1] ** 2 + 1)),
        inner.map(sp.exp), inner.map(sp.tanh), inner.map(sigmoid),
    )


_exprs = st.recursive(_leaf, _grow, max_leaves=8)
_rational = st.recursive(_leaf, lambda inner: st.one_of(
    st.tuples(inner, inner).map(lambda p: p[0] + p[1]), st.tuples(inner, inner).map(lambda p: p[0] * p[1]),
    st.tuples(inner, inner).map(lambda p: p[0] / (p[1] ** 2 + 1))), max_leaves=10)


def _numerically_zero(d: sp.Expr, *sides: sp.Expr) -> bool:
    """``d`` vanishes at three rational points to 45 digits, relative to the size of ``sides`` (the two terms of a
    difference may be astronomically large, exp(exp(x + e^x)) at x = 50, and still agree in every digit)."""
    rng = random.Random(0)
    for _ in range(3):
        point = {s: sp.Rational(rng.randint(-50, 50), rng.randint(1, 50)) for s in (x, y, z)}
        scale = max([sp.Integer(1), *(abs(sp.N(e.xreplace(point), 60)) for e in sides)])
        if abs(sp.N(d.xreplace(point), 60)) > sp.Float("1e-45") * scale:
            return False
    return True


@settings(max_examples=150, deadline=None)
@given(_exprs, _exprs, st.booleans())
def test_never_accepts_a_nonzero_difference(a, b, rewrite):
    """Soundness, by evaluation at rational points to 60 digits; half the pairs are one expression rewritten."""
    other = sp.expand(sp.together(a)) if rewrite else b
    d = a - other
    if zerotest.atoms_zero(d):
        assert _numerically_zero(d, a, other)


@settings(max_examples=150, deadline=None)
@given(_rational, _rational)
def test_decides_rational_functions_as_cancel_does(a, b):
    d = a - sp.expand(b)
    assert zerotest.atoms_zero(d) == (sp.cancel(sp.together(d)) == 0)
    assert zerotest.atoms_zero(a - sp.cancel(a))


def test_past_the_size_limit_the_identity_is_left_unproved(backend, monkeypatch):
    """A true identity whose expansion exceeds the limit gives False (no proof), not an exhausted machine."""
    a = sp.Add(*sp.symbols("a0:8"))
    d = a**5 - sp.expand(a**5)  # 792 terms
    assert zerotest.atoms_zero(d)
    monkeypatch.setattr(zerotest, "MAX_TERMS", 100)
    assert not zerotest.atoms_zero(d)
