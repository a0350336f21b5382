"""The HMM forward algorithm in the log domain, generated from the lecture's log belief propagation step.

The lecture writes belief propagation as ``h_t = exp(ln(U h_{t-1}) + (ln W) x_t)``.  With
``a_t = ln h_t`` the step is ``a_t = ln(U exp(a_{t-1})) + (ln W) x_t``, which overflows or underflows as
written.  The max shift

    ``ln(U exp(a)) = m 1 + ln(U exp(a - m 1))``   (any real m; take ``m = max_j a_j``)

keeps every ``exp`` in ``[0, 1]`` with the largest term exactly 1, so ``a_t`` stays finite for any T, while
the plain float64 forward underflows within a few hundred steps.  ``(ln W) x_t`` equals ``ln(W x_t)`` only
because ``x_t`` is one-hot; here it is the column ``l_t`` of ``ln W`` picked by the observation, gathered for
every t before the loop.  The step is lambdified once (:func:`symrnn.numeric.codegen.kernel`) and a Python loop over
t calls it.  As in :mod:`symrnn.models.belief_propagation`, ``a_1 = ln pi + l_1``.

An impossible sequence (probability exactly 0, from zero entries of the model) has log-probability ``-inf``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation
from symrnn.models.hmm import HMM, ModelError, SequenceError
from symrnn.notation import Vec
from symrnn.numeric import codegen
from symrnn.ops import EntryMax

ModelLike = HMM | tuple[np.ndarray, np.ndarray, np.ndarray]

_SUM_TOLERANCE = 1e-9  # as symrnn.models.hmm for float models


class UnderflowError(ArithmeticError):
    """A linear-domain probability fell below the smallest normal float64 although it is not exactly 0."""

    def __init__(self, step: int, state: int, value: float) -> None:
        self.step, self.state, self.value = step, state, value
        super().__init__(
            f"float64 underflow in the linear-domain forward at step t={step}: "
            f"h_{{{state},{step}}} = {value:.3g} is below the smallest normal float64 "
            f"({np.finfo(float).tiny:.3g}) although the probability is positive; "
            "use log_forward / log_likelihood (log domain) instead")


# ---- the symbolic step ---------------------------------------------------------------------------

U = notation.matrix("U", notation.N, notation.N)
W = notation.matrix("W", notation.N, notation.V + 1)
a_prev = Vec("a", notation.t - 1, notation.N)  # a_{t-1} = ln h_{t-1}
x_t = Vec("x", notation.t, notation.V + 1)  # one-hot observation
l_t = Vec("l", notation.t, notation.N)  # (ln W) x_t
m = sp.Symbol("m", real=True)


def log_matvec(matrix: MatrixExpr, a: MatrixExpr) -> MatrixExpr:
    """``ln(U exp(a))``: the lecture's ``ln U h_{t-1}`` with ``h_{t-1} = exp(a)``."""
    return notation.elementwise(sp.log, matrix * notation.elementwise(sp.exp, a))


def shifted_log_matvec(matrix: MatrixExpr, a: MatrixExpr, shift: sp.Expr) -> MatrixExpr:
    """``shift 1 + ln(U exp(a - shift 1))``: the same vector, computed with every exponent shifted down."""
    ones = sp.OneMatrix(a.shape[0], 1)
    shifted = notation.elementwise(sp.exp, a - shift * ones)
    return shift * ones + notation.elementwise(sp.log, matrix * shifted)


def shift_identity(shift: sp.Expr = m) -> sp.Equality:
    """``ln(U exp(a)) = m 1 + ln(U exp(a - m 1))``, true for every real m; the stable step takes m = max(a).

    It holds because ``exp(a - m 1) = e^{-m} exp(a)`` and ``ln(e^{-m} y) = -m + ln y`` for every entry y > 0.
    """
    return sp.Eq(log_matvec(U, a_prev), shifted_log_matvec(U, a_prev, shift), evaluate=False)


def log_step() -> MatrixExpr:
    """The lecture's step in the log domain: ``a_t = ln(U exp(a_{t-1})) + (ln W) x_t``."""
    return log_matvec(U, a_prev) + notation.elementwise(sp.log, W) * x_t


def stable_log_step() -> MatrixExpr:
    """The shift identity at ``m = max(a_{t-1})``, with ``(ln W) x_t`` as the precomputed column ``l_t``."""
    return shift_identity(EntryMax(a_prev)).rhs + l_t


#: The generated step ``(U, a_{t-1}, l_t) -> a_t`` on (N, B) batches; built once, like a compiled regex.
_STEP = codegen.kernel([U, a_prev, l_t], stable_log_step(), "log_forward_step")


# ---- input checks --------------------------------------------------------------------------------


def _distribution_error(sums: np.ndarray, what: str, hint: str = "") -> None:
    bad = np.flatnonzero(np.abs(sums - 1.0) > _SUM_TOLERANCE)
    if bad.size:
        n = int(bad[0])
        raise ModelError(f"{what.format(n=n + 1)} sums to {sums[n]!r}, not 1{hint}")


def as_arrays(model: ModelLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(U, W, pi)`` as checked float64 arrays (N x N, N x (V+1), N) from an HMM or a tuple of arrays."""
    if isinstance(model, HMM):
        arrays = model.numeric()
    elif isinstance(model, (tuple, list)) and len(model) == 3:
        try:
            arrays = tuple(np.asarray(part, dtype=float) for part in model)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"(U, W, pi) must be numeric arrays: {exc}") from exc
    else:
        raise ModelError(f"expected an HMM or a tuple (U, W, pi) of float arrays, got {type(model).__name__}")
    u, w, pi = arrays
    if pi.ndim == 2 and pi.shape[1] == 1:
        pi = pi[:, 0]
    if u.ndim != 2 or u.shape[0] != u.shape[1] or u.shape[0] == 0:
        raise ModelError(f"U must be a non-empty square N x N array, got shape {u.shape}")
    n = u.shape[0]
    if w.ndim != 2 or w.shape[0] != n or w.shape[1] == 0:
        raise ModelError(f"W must be N x (V+1) with N = {n} rows (one per state, as U is {n} x {n}), "
                         f"got shape {w.shape}")
    if pi.shape != (n,):
        raise ModelError(f"pi must have N = {n} entries, got shape {pi.shape}")
    for name, arr in (("U", u), ("W", w), ("pi", pi)):
        if not np.all(np.isfinite(arr)):
            raise ModelError(f"{name} has a non-finite entry")
        if np.any(arr < 0):
            where = tuple(int(i) + 1 for i in np.argwhere(arr < 0)[0])
            raise ModelError(f"{name} has a negative entry at (1-based) position {where}")
    _distribution_error(u.sum(axis=0), "column {n} of U (P(Y_t | Y_(t-1) = {n}))",
                        "; columns of U must sum to 1 (hmmlearn's transmat_ is U transposed)")
    _distribution_error(w.sum(axis=1), "row {n} of W (P(X_t | Y_t = {n}))")
    _distribution_error(np.array([pi.sum()]), "pi (P(Y_1))")
    return np.ascontiguousarray(u), np.ascontiguousarray(w), np.ascontiguousarray(pi)


def as_indices(xs: Sequence[int] | np.ndarray, n_symbols: int) -> np.ndarray:
    """1-based observation indices as a 0-based array; refuses empty, non-integer or out-of-range input."""
    arr = np.asarray(xs)
    if arr.ndim != 1:
        raise SequenceError(f"the observations must be a 1-D sequence of indices, got shape {arr.shape}")
    if arr.size == 0:
        raise SequenceError("the observation sequence is empty")
    if arr.dtype.kind == "O" and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                     for v in arr):
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise SequenceError(f"the observations must be 1-based integer indices, got {arr.dtype} values "
                            "(map words to indices with HMM.encode)")
    bad = np.flatnonzero((arr < 1) | (arr > n_symbols))
    if bad.size:
        p = int(bad[0])
        raise SequenceError(f"observation {p + 1} is {arr[p]}: expected an index in 1..{n_symbols}")
    return arr.astype(np.intp) - 1


# ---- algorithms ----------------------------------------------------------------------------------


def _log_alpha(model: ModelLike, xs, keep_all: bool) -> np.ndarray:
    """``a_T`` as an (N, 1) array, or every ``a_t`` as a (T, N, 1) array if ``keep_all``."""
    u, w, pi = as_arrays(model)
    x = as_indices(xs, w.shape[1])
    step = _STEP
    with np.errstate(divide="ignore", invalid="ignore"):  # ln 0 = -inf is meant; NaN is handled below
        ell = np.log(w).T[x][:, :, None]  # l_t for every t: (T, N, 1)
        a = np.log(pi)[:, None] + ell[0]
        out = np.empty_like(ell) if keep_all else None
        if keep_all:
            out[0] = a
            for t in range(1, len(x)):
                out[t] = a = step(u, a, ell[t])
        else:
            for t in range(1, len(x)):
                a = step(u, a, ell[t])
    result = out if keep_all else a
    # NaN arises only once every a_{j,t} is -inf (then max = -inf and a - max = NaN): the probability is 0
    result[np.isnan(result)] = -np.inf
    return result


def log_forward(model: ModelLike, xs: Sequence[int] | np.ndarray) -> np.ndarray:
    """``ln h_t`` for t = 1..T as a (T, N) array, ``h_{j,t} = P(X_1..X_t, Y_t = j)``; xs 1-based indices."""
    return _log_alpha(model, xs, keep_all=True)[:, :, 0]


def log_likelihood(model: ModelLike, xs: Sequence[int] | np.ndarray) -> float:
    """``ln P(X_1..X_T) = ln sum_j h_{j,T}``, summed with the max shift; ``-inf`` if impossible."""
    a = _log_alpha(model, xs, keep_all=False)[:, 0]
    top = a.max()
    if top == -np.inf:
        return -np.inf
    return float(top + np.log(np.exp(a - top).sum()))


def forward_linear(model: ModelLike, xs: Sequence[int] | np.ndarray) -> np.ndarray:
    """The plain float64 forward ``h_t = (U h_{t-1}) * (W x_t)`` as a (T, N) array, for comparison.

    Raises :class:`UnderflowError` at the first step where an entry that is not exactly 0 drops below the
    smallest normal float64, so it never returns an underflowed 0 (or a NaN): an entry is 0 only where the
    probability is exactly 0 (forced by zero entries of the model).
    """
    u, w, pi = as_arrays(model)
    x = as_indices(xs, w.shape[1])
    emit = w.T[x]  # W x_t for every t: (T, N)
    tiny = np.finfo(float).tiny
    structural = not (np.all(u > 0) and np.all(w > 0) and np.all(pi > 0))
    u_pos = (u > 0).astype(float)
    out = np.empty_like(emit)
    h = pi * emit[0]
    support = (pi > 0) & (emit[0] > 0)  # where h_t is exactly positive (tracked only with zero entries)
    for t in range(len(x)):
        if t:
            h = (u @ h) * emit[t]
            if structural:
                support = ((u_pos @ support) > 0) & (emit[t] > 0)
        low = (h < tiny) & support if structural else h < tiny
        if low.any():
            j = int(np.argmax(low))
            raise UnderflowError(t + 1, j + 1, float(h[j]))
        out[t] = h
    return out


def log_viterbi(model: ModelLike, xs: Sequence[int] | np.ndarray) -> tuple[tuple[int, ...], float]:
    """The most probable state path (1-based) and its log-probability ``ln P(Y = path, X_1..X_T)``.

    Ties go to the smallest state index, latest time first, as in :mod:`symrnn.models.viterbi`; they are ties of the
    float64 log-values, so products that are equal only in exact arithmetic may round apart.
    """
    u, w, pi = as_arrays(model)
    x = as_indices(xs, w.shape[1])
    with np.errstate(divide="ignore"):
        log_u, ell, v = np.log(u), np.log(w).T[x], np.log(pi)
    v = v + ell[0]
    rows = np.arange(u.shape[0])
    back = np.empty((len(x) - 1, u.shape[0]), dtype=np.intp)
    for t in range(1, len(x)):
        cand = log_u + v  # cand[j, i] = ln u_{j,i} + v_{i,t-1}
        best = cand.argmax(axis=1)  # first maximum: the smallest i
        back[t - 1] = best
        v = cand[rows, best] + ell[t]
    state = int(v.argmax())
    logp = float(v[state])
    path = [state]
    for psi in back[::-1]:
        state = int(psi[state])
        path.append(state)
    return tuple(s + 1 for s in reversed(path)), logp
