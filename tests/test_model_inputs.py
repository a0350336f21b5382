"""Hostile inputs to the models: refused with a named error, quickly, never computed."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from symrnn.models import pos_tagging as pt
from symrnn.models.hmm import HMM, ModelError

U = [[0.9, 0.2], [0.1, 0.8]]
W = [[0.6, 0.4], [0.1, 0.9]]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 0.5 + 0.5j, np.float64("nan"), sp.nan, sp.zoo,
                                 sp.I / 2])
def test_hmm_refuses_non_finite_or_complex_entries(bad):
    pi = [bad, 0.5]
    with pytest.raises(ModelError, match=r"pi\[1,1\].*not a finite real number"):
        HMM(U=U, W=W, pi=pi)


def test_hmm_still_takes_finite_floats_and_rationals():
    model = HMM(U=U, W=W, pi=[sp.Rational(1, 2), 0.5])
    assert model.pi[0] == sp.Rational(1, 2)


@pytest.mark.parametrize("prior", ["1e999999999,0,0", "1/3,1/3,1e-99999", "9" * 200 + ",0,0", "1/3,1/3", "a,b,c",
                                   "__import__('os'),0,0"])
def test_prior_refused_before_any_arithmetic(prior):
    with pytest.raises(ModelError, match="prior"):
        pt.parse_prior(prior)


def test_prior_accepts_fractions_and_decimals():
    assert list(pt.parse_prior("1/2, 0.25, 2.5e-1")) == [sp.Rational(1, 2), sp.Rational(1, 4), sp.Rational(1, 4)]


def test_tagger_refuses_more_words_than_its_budget():
    with pytest.raises(pt.InputTooLong, match="3 words.*at most 2"):
        pt.tag(["John", "hit", "the"], max_words=2)
    assert len(pt.tag(["John", "hit"], max_words=2)) == 2
