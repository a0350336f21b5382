"""Peer cross-check: hmmlearn's CategoricalHMM scores and decodes as symrnn's log-domain forward and Viterbi.

hmmlearn stores ``transmat_[i, j] = P(Y_t = j | Y_{t-1} = i)``, the transpose of the lecture's U, and numbers
states and symbols from 0.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from symrnn.models import log_forward as lf
from symrnn.models.hmm import HMM

hmmlearn_hmm = pytest.importorskip("hmmlearn.hmm")


def peer(u: np.ndarray, w: np.ndarray, pi: np.ndarray):
    model = hmmlearn_hmm.CategoricalHMM(n_components=u.shape[0], n_features=w.shape[1], init_params="",
                                        params="")
    model.startprob_ = pi
    model.transmat_ = u.T  # hmmlearn's rows are "from" states; the lecture's columns are
    model.emissionprob_ = w
    return model


def random_model(rng: np.random.Generator, n: int, k: int):
    return rng.dirichlet(np.ones(n), size=n).T, rng.dirichlet(np.ones(k), size=n), rng.dirichlet(np.ones(n))


def log_joint(u, w, pi, path, xs) -> float:
    """ln P(Y = path, X = xs) summed straight off the factorisation (0-based path, 1-based xs)."""
    y, k = np.asarray(path), np.asarray(xs) - 1
    return float(np.log(pi[y[0]]) + np.log(u[y[1:], y[:-1]]).sum() + np.log(w[y, k]).sum())


def assert_same_path_up_to_ties(ours, theirs, u, w, pi, xs):
    """Our 1-based path equals hmmlearn's 0-based one, except where an exact tie was broken differently.

    hmmlearn's backtracking keeps the largest index among equal candidates (``std::max`` over (value, index)
    pairs); symrnn keeps the smallest.  So where the paths differ both must be most probable, and at the
    latest position where they differ ours must hold the smaller state.
    """
    ours = np.asarray(ours) - 1
    theirs = np.asarray(theirs)
    if np.array_equal(ours, theirs):
        return
    assert log_joint(u, w, pi, ours, xs) == pytest.approx(log_joint(u, w, pi, theirs, xs), rel=1e-12)
    latest = np.flatnonzero(ours != theirs)[-1]
    assert ours[latest] < theirs[latest]


CASES = [(0, 2, 2, 1), (1, 3, 4, 20), (2, 5, 3, 300), (3, 4, 7, 1000), (4, 16, 8, 2000), (5, 8, 2, 5000),
         (6, 16, 30, 300), (7, 6, 12, 200)]


@pytest.mark.parametrize(("seed", "n", "k", "length"), CASES)
def test_score_and_viterbi_match_hmmlearn(seed, n, k, length):
    rng = np.random.default_rng(seed)
    u, w, pi = random_model(rng, n, k)
    xs = rng.integers(1, k + 1, size=length)  # ours are 1-based
    other = peer(u, w, pi)
    observed = (xs - 1).reshape(-1, 1)

    assert lf.log_likelihood((u, w, pi), xs) == pytest.approx(other.score(observed), rel=1e-9)
    path, logp = lf.log_viterbi((u, w, pi), xs)
    peer_logp, peer_path = other.decode(observed, algorithm="viterbi")
    assert logp == pytest.approx(peer_logp, rel=1e-9)
    assert log_joint(u, w, pi, np.array(path) - 1, xs) == pytest.approx(logp, rel=1e-12)
    assert_same_path_up_to_ties(path, peer_path, u, w, pi, xs)


def test_same_viterbi_path_as_hmmlearn_without_ties():
    # with many states and symbols exact ties (equal factors in another order) are rare; these seeds have none
    for seed in range(5):
        rng = np.random.default_rng(seed)
        u, w, pi = random_model(rng, 16, 30)
        xs = rng.integers(1, 31, size=300)
        _, peer_path = peer(u, w, pi).decode((xs - 1).reshape(-1, 1), algorithm="viterbi")
        assert lf.log_viterbi((u, w, pi), xs)[0] == tuple(int(s) + 1 for s in peer_path)


def test_hmmlearn_breaks_backtracking_ties_towards_the_largest_index():
    """Pins the peer behaviour that assert_same_path_up_to_ties allows for."""
    u, w, pi = np.full((2, 2), 0.5), np.full((2, 2), 0.5), np.full(2, 0.5)  # every path equally probable
    xs = np.array([1, 2, 2, 1])
    _, peer_path = peer(u, w, pi).decode((xs - 1).reshape(-1, 1), algorithm="viterbi")
    assert tuple(int(s) + 1 for s in peer_path) == (2, 2, 2, 1)
    assert lf.log_viterbi((u, w, pi), xs)[0] == (1, 1, 1, 1)


def test_score_matches_hmmlearn_on_rational_models():
    rng = random.Random(42)
    for _ in range(4):
        model = HMM.random_rational(rng.randint(2, 6), rng.randint(2, 6), rng)
        xs = [rng.randint(1, model.n_symbols) for _ in range(rng.randint(1, 200))]
        expected = peer(*model.numeric()).score(np.array(xs).reshape(-1, 1) - 1)
        assert lf.log_likelihood(model, xs) == pytest.approx(expected, rel=1e-9)


def test_long_sequence_matches_hmmlearn():
    rng = np.random.default_rng(7)
    u, w, pi = random_model(rng, 16, 8)
    xs = rng.integers(1, 9, size=100_000)
    other = peer(u, w, pi)
    observed = (xs - 1).reshape(-1, 1)
    assert lf.log_likelihood((u, w, pi), xs) == pytest.approx(other.score(observed), rel=1e-9)
    peer_logp, peer_path = other.decode(observed, algorithm="viterbi")
    path, logp = lf.log_viterbi((u, w, pi), xs)
    assert logp == pytest.approx(peer_logp, rel=1e-9)
    assert_same_path_up_to_ties(path, peer_path, u, w, pi, xs)
