"""The HMM section's algorithms against brute-force enumeration written here, independently of symrnn.hmm.joint."""

from __future__ import annotations

import itertools
import random
from fractions import Fraction

import pytest
import sympy as sp

from symrnn.models import belief_propagation as bp
from symrnn.models import viterbi as vt
from symrnn.models.hmm import HMM, ModelError, SequenceError


def brute_joint(model: HMM, y, xs):
    """P(y, x) by the factorisation, written out again here: pi_{y1} w_{y1,x1} prod u_{y_t,y_(t-1)} w_{y_t,x_t}."""
    p = model.pi[y[0] - 1] * model.W[y[0] - 1, xs[0] - 1]
    for a, b, x in zip(y, y[1:], xs[1:]):
        p = p * model.U[b - 1, a - 1] * model.W[b - 1, x - 1]
    return p


def all_paths(n, length):
    return itertools.product(range(1, n + 1), repeat=length)


@pytest.mark.parametrize(("n", "xs"), [(2, (1, 3, 2, 2)), (3, (2, 1, 3))])
def test_forward_is_brute_force_as_a_symbolic_identity(n, xs):
    model = HMM.symbolic(n, 3)
    hs = bp.forward(model, xs)
    for t in range(1, len(xs) + 1):
        for j in range(1, n + 1):
            brute = sp.Add(*[brute_joint(model, y, xs[:t]) for y in all_paths(n, t) if y[-1] == j])
            assert sp.expand(hs[t - 1][j - 1] - brute) == 0


@pytest.mark.parametrize(("n", "xs"), [(2, (1, 3, 2, 2)), (3, (2, 1, 3))])
def test_query_never_sums_over_the_query_variable(n, xs):
    model = HMM.symbolic(n, 3)
    for q in range(1, len(xs) + 1):
        got = bp.query(model, xs, q)
        for j in range(1, n + 1):
            brute = sp.Add(*[brute_joint(model, y, xs) for y in all_paths(n, len(xs)) if y[q - 1] == j])
            assert sp.expand(got[j - 1] - brute) == 0


def test_forward_exact_on_larger_random_rational_models():
    rng = random.Random(7)
    for n, length in [(4, 6), (5, 5)]:
        model = HMM.random_rational(n, 4, rng)
        xs = [rng.randint(1, 4) for _ in range(length)]
        total = sum(Fraction(int(sp.numer(p)), int(sp.denom(p)))
                    for p in (brute_joint(model, y, xs) for y in all_paths(n, length)))
        got = bp.likelihood(model, xs)
        assert got.is_Rational and Fraction(int(got.p), int(got.q)) == total


def test_viterbi_matches_brute_force_argmax():
    rng = random.Random(3)
    for n in (2, 3, 4):
        model = HMM.random_rational(n, 3, rng)
        for length in (1, 2, 5):
            xs = [rng.randint(1, 3) for _ in range(length)]
            scores = {y: brute_joint(model, y, xs) for y in all_paths(n, length)}
            best = max(scores.values())
            result = vt.viterbi(model, xs)
            assert result.probability == best
            assert scores[result.path] == best


def test_viterbi_tie_rule_smallest_state_latest_time_first():
    # Hand example: from state 1 the chain moves to 1 or 2 with equal probability, and both emit alike, so
    # y = (1, 1) and (1, 2) tie; the rule picks the smallest final state, (1, 1).  With state 2 preferred at
    # the end, (1, 2) wins outright.
    half = sp.Rational(1, 2)
    U = sp.Matrix([[half, 0], [half, 1]])  # noqa: N806 - columns: from 1 -> 1 or 2; from 2 -> 2
    W = sp.Matrix([[half, half], [half, half]])  # noqa: N806
    model = HMM(U, W, sp.Matrix([1, 0]))
    assert vt.viterbi(model, [1, 2]).path == (1, 1)
    W2 = sp.Matrix([[half, half], [sp.Rational(1, 4), sp.Rational(3, 4)]])  # noqa: N806
    assert vt.viterbi(HMM(U, W2, sp.Matrix([1, 0])), [1, 2]).path == (1, 2)


def test_viterbi_refuses_symbolic_models():
    with pytest.raises(ModelError, match="numeric"):
        vt.viterbi(HMM.symbolic(2, 2), [1, 2])


R = sp.Rational


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"U": [[1, 0, 0], [0, 1, 0]]}, "U must be square"),
    ({"U": [[R(1, 2), 1], [R(1, 3), 0]]}, "column 1 of U .* sums to 5/6, not 1"),
    ({"U": [[R(3, 2), 1], [R(-1, 2), 0]]}, "column 1 of U .* negative entry -1/2"),
    ({"W": [[1, 0], [R(1, 2), R(1, 4)]]}, "row 2 of W .* sums to 3/4"),
    ({"W": [[1, 0]]}, "W has 1 rows but U is 2 x 2"),
    ({"pi": [1, 0, 0]}, "pi must be a column of 2 entries"),
    ({"U": [["1", 0], [0, 1]]}, "not a number"),
])
def test_bad_models_get_named_errors(kwargs, message):
    good = {"U": sp.eye(2), "W": sp.Matrix([[1, 0], [0, 1]]), "pi": [R(1, 2), R(1, 2)]}
    with pytest.raises(ModelError, match=message):
        HMM(**{**good, **kwargs})


def test_float_models_are_checked_with_a_tolerance():
    HMM([[0.9, 0.2], [0.1, 0.8]], [[0.5, 0.5], [0.3, 0.7]], [0.5, 0.5])
    with pytest.raises(ModelError, match="sums to"):
        HMM([[0.9, 0.2], [0.2, 0.8]], [[0.5, 0.5], [0.3, 0.7]], [0.5, 0.5])


def test_sequences_and_vocabularies():
    model = HMM(sp.eye(2), sp.Matrix([[R(1, 2), R(1, 2), 0], [0, R(1, 2), R(1, 2)]]), [R(1, 2), R(1, 2)],
                vocabulary=("a", "b"))
    assert model.has_oov and model.encode(["b", "zebra", "a"]) == [2, 3, 1]
    closed = HMM(sp.eye(2), sp.eye(2), [R(1, 2), R(1, 2)], vocabulary=("a", "b"))
    with pytest.raises(SequenceError, match=r"'zebra' is not in the vocabulary \[a, b\]"):
        closed.encode(["a", "zebra"])
    with pytest.raises(SequenceError, match="empty"):
        closed.encode([])
    with pytest.raises(SequenceError, match="empty"):
        bp.forward(closed, [])
    with pytest.raises(SequenceError, match="expected a word or an index in 1..2"):
        closed.encode([3])
