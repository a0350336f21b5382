"""The meaning of the lecture's probability notation on an HMM, by enumeration."""

from __future__ import annotations

import pytest
import sympy as sp

from symrnn import notation as nt
from symrnn.models import bayesnet
from symrnn.models.hmm import HMM

t, i, j, k = nt.t, nt.i, nt.j, nt.k
model = HMM.symbolic(2, 2)
ctx = bayesnet.Context(model, (1, 2, 2))
u = model.U
w = model.W
pi = model.pi


def value(expr, **bind):
    return sp.cancel(bayesnet.evaluate(expr, ctx.bind(**bind)))


def test_transition_and_emission_probabilities_are_the_matrix_entries():
    assert value(nt.P([nt.Is(nt.Y(t), j)], [nt.Is(nt.Y(t - 1), i)]), t=3, i=2, j=1) == u[0, 1]
    assert value(nt.P([nt.Is(nt.X(t), k)], [nt.Is(nt.Y(t), j)]), t=2, j=2, k=1) == w[1, 0]


def test_leading_dots_are_the_earlier_observations_with_states_summed():
    got = value(nt.P([nt.Dots(), nt.Is(nt.Y(t), j), nt.X(t)]), t=2, j=1)
    # By hand: sum over y_1 of pi_{y1} w_{y1,1} u_{1,y1} w_{1,2}
    hand = sum(pi[a] * w[a, 0] * u[0, a] for a in range(2)) * w[0, 1]
    assert sp.expand(got - hand) == 0


def test_max_mode_maximises_the_earlier_states():
    mctx = bayesnet.Context(model.__class__(sp.Matrix([[sp.Rational(1, 4), 1], [sp.Rational(3, 4), 0]]),
                                            sp.eye(2), sp.Matrix([sp.Rational(1, 2), sp.Rational(1, 2)])),
                            (1, 1), mode="max")
    got = bayesnet.evaluate(nt.P([nt.Dots(), nt.Is(nt.Y(t), j), nt.X(t)]), mctx.bind(t=2, j=1))
    # y_1 = 1: 1/2 * 1 * 1/4 * 1 = 1/8; y_1 = 2 emits x_1 = 1 with probability 0.  Max is 1/8.
    assert got == sp.Rational(1, 8)


def test_y0_is_dropped_so_the_first_factor_is_pi():
    yctx = bayesnet.Context(model, (1, 2), ys=(2, 1))
    assert bayesnet.evaluate(nt.P([nt.Y(t)], [nt.Y(t - 1)]), yctx.bind(t=1)) == pi[1]


def test_unknown_notation_is_a_named_error():
    with pytest.raises(bayesnet.NotationError, match="unknown random variable Z"):
        bayesnet.evaluate(nt.P([nt.RV("Z", 1)]), ctx)
    with pytest.raises(bayesnet.NotationError, match="without a value"):
        bayesnet.evaluate(nt.P([nt.Y(1)]), ctx)
