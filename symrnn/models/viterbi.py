"""The Viterbi algorithm: multiply, then take the maximum over the previous state, with back-pointers.

Ties go to the smallest state index, latest time first: the final state is the smallest j whose ``v_{j,T}`` is
largest, and each back-pointer is the smallest i attaining the maximum.  Among all most probable paths this returns
the one whose reversed sequence ``(y_T, ..., y_1)`` is lexicographically smallest.
Works exactly on numeric (e.g. Rational) models: the comparisons must be decidable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symrnn.models.hmm import HMM, ModelError, SequenceError


@dataclass(frozen=True)
class ViterbiResult:
    path: tuple[int, ...]  # 1-based states y_1..y_T
    probability: sp.Expr  # P(Y = path, X_1..X_T)
    v: tuple[sp.Matrix, ...]  # v_t for t = 1..T
    backpointers: tuple[tuple[int, ...], ...]  # psi_t for t = 2..T, 1-based


def _argmax(values: Sequence[sp.Expr]) -> int:
    best = 0
    for n in range(1, len(values)):
        if bool(values[n] > values[best]):
            best = n
    return best


def viterbi(model: HMM, xs: Sequence[int]) -> ViterbiResult:
    """The most probable state sequence given observations ``xs`` (1-based symbol indices)."""
    if model.is_symbolic:
        raise ModelError("Viterbi compares numbers: substitute numeric entries first (use viterbi_values for symbols)")
    if len(xs) == 0:
        raise SequenceError("the observation sequence is empty")
    N = model.N  # noqa: N806
    vs = [model.pi.multiply_elementwise(model.W[:, xs[0] - 1])]
    backs = []
    for k in xs[1:]:
        prev = vs[-1]
        psi, col = [], []
        for jj in range(N):
            cands = [prev[ii] * model.U[jj, ii] * model.W[jj, k - 1] for ii in range(N)]
            best = _argmax(cands)
            psi.append(best + 1)
            col.append(cands[best])
        backs.append(tuple(psi))
        vs.append(sp.Matrix(col))
    last = _argmax(list(vs[-1]))
    path = [last + 1]
    for psi in reversed(backs):
        path.append(psi[path[-1] - 1])
    path.reverse()
    return ViterbiResult(tuple(path), vs[-1][last], tuple(vs), tuple(backs))


def viterbi_values(model: HMM, xs: Sequence[int]) -> list[sp.Matrix]:
    """``[v_1, ..., v_T]`` as expressions (``Max`` of products); valid for symbolic entries too."""
    vs = [model.pi.multiply_elementwise(model.W[:, xs[0] - 1])]
    for k in xs[1:]:
        prev = vs[-1]
        vs.append(sp.Matrix([sp.Max(*[prev[ii] * model.U[jj, ii] for ii in range(model.N)]) * model.W[jj, k - 1]
                             for jj in range(model.N)]))
    return vs
