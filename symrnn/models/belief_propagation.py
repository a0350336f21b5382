"""Belief propagation on the HMM: multiply, then add over the previous state (exact, any entries).

``forward`` returns ``h_t`` with ``h_{j,t} = P(X_1..X_t, Y_t = j)``, computed one step at a time in the lecture's
matrix form ``h_t = (U h_{t-1}) * (W x_t)``.  ``query`` is the lecture's variant that computes
``P(Y_q = j, X_1..X_T)``: the same steps, except that the add over ``Y_q`` is skipped, so the query state is carried
forward as a second index and summed over nowhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from symrnn.models.hmm import HMM, SequenceError


def step(model: HMM, h_prev: sp.Matrix, k: int) -> sp.Matrix:
    """One multiply-and-add step: ``h_{j,t} = sum_i h_{i,t-1} u_{j,i} w_{j,k}`` for observed symbol k (1-based)."""
    emit = model.W[:, k - 1]
    return (model.U * h_prev).multiply_elementwise(emit)


def forward(model: HMM, xs: Sequence[int]) -> list[sp.Matrix]:
    """``[h_1, ..., h_T]`` for 1-based observation indices ``xs``; ``h_1 = pi * (W x_1)``."""
    if len(xs) == 0:
        raise SequenceError("the observation sequence is empty")
    hs = [model.pi.multiply_elementwise(model.W[:, xs[0] - 1])]
    for k in xs[1:]:
        hs.append(step(model, hs[-1], k))
    return hs


def likelihood(model: HMM, xs: Sequence[int]) -> sp.Expr:
    """``P(X_1..X_T) = sum_j h_{j,T}``."""
    return sp.Add(*forward(model, xs)[-1])


def query(model: HMM, xs: Sequence[int], q: int) -> sp.Matrix:
    """``P(Y_q = j, X_1..X_T)`` for j = 1..N, never summing over the query variable ``Y_q``.

    Before step q this is plain belief propagation.  From step q on the message is an N x N matrix
    ``m[a, j] = P(Y_q = a, Y_t = j, X_1..X_t)``: multiply as usual, add over ``Y_{t-1}`` (never over ``Y_q``).
    At the end the last state is added out, unless it is the query itself.
    """
    T = len(xs)  # noqa: N806
    if not 1 <= q <= T:
        raise SequenceError(f"query step {q} is outside 1..{T}")
    h_q = forward(model, xs[:q])[-1]
    m = sp.diag(*h_q)  # m[a, j] = P(Y_q = a, Y_q = j, X_1..X_q): zero off the diagonal
    for k in xs[q:]:
        emit = sp.diag(*model.W[:, k - 1])
        m = m * model.U.T * emit  # row a keeps Y_q = a; columns multiply and add over Y_{t-1}
    return sp.Matrix([sp.Add(*m.row(a)) for a in range(model.N)])
