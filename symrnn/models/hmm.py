"""The hidden Markov model of the lecture's Bayesian-network slides, in its matrix form.

``U`` is N x N with ``u_{j,i} = P(Y_t = j | Y_{t-1} = i)`` (columns sum to 1), ``W`` is N x (V+1) with
``w_{j,k} = P(X_t = k | Y_t = j)`` (rows sum to 1), and ``pi_j = P(Y_1 = j)``.

The lecture writes ``P(Y_1 | Y_0)`` inside its product without defining ``Y_0``; symrnn reads that factor as the
initial distribution ``pi``.  In the matrix form this is ``h_1 = pi * (W x_1)``, the same recursion as every later
step if one takes ``U h_0 = pi``.
"""

from __future__ import annotations

import itertools
import math
import numbers
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import sympy as sp

from symrnn import notation


class ModelError(ValueError):
    """A model's matrices are malformed: wrong shape, negative entries, or a distribution that does not sum to 1."""


class SequenceError(ValueError):
    """An observation sequence is empty or names a word or index the model does not have."""


def _exact(value, where: str):
    if isinstance(value, str) or not isinstance(value, (numbers.Number, sp.Basic, np.generic)):
        raise ModelError(f"{where}: entry {value!r} is not a number or SymPy expression")
    if isinstance(value, sp.Basic):
        if value.is_number and (value.has(sp.nan, sp.zoo, sp.oo, -sp.oo) or value.is_real is False):
            raise ModelError(f"{where}: entry {value} is not a finite real number")
        return value
    if isinstance(value, (bool, np.bool_)):
        raise ModelError(f"{where}: entry {value!r} is a boolean, not a number")
    if isinstance(value, (numbers.Integral, np.integer)):
        return sp.Integer(int(value))
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    if not isinstance(value, (numbers.Real, np.floating)) or not math.isfinite(float(value)):
        raise ModelError(f"{where}: entry {value!r} is not a finite real number")
    return sp.Float(float(value))


def as_matrix(data, where: str) -> sp.Matrix:
    """Convert nested lists, a NumPy array or a SymPy matrix to a SymPy matrix, refusing text entries."""
    if isinstance(data, sp.MatrixBase):
        rows = data.tolist()
    else:
        arr = np.asarray(data, dtype=object)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2:
            raise ModelError(f"{where}: expected a matrix (2 dimensions), got {arr.ndim} dimensions")
        rows = arr.tolist()
    if not rows or not rows[0]:
        raise ModelError(f"{where}: the matrix is empty")
    return sp.Matrix([[_exact(x, f"{where}[{r + 1},{c + 1}]") for c, x in enumerate(row)]
                      for r, row in enumerate(rows)])


def _check_distribution(values: Sequence[sp.Expr], what: str) -> None:
    if not all(v.is_number for v in values):
        return  # symbolic models are not checked: their entries are free symbols
    for n, value in enumerate(values, start=1):
        if value.is_negative:
            raise ModelError(f"{what} has a negative entry {value} at position {n}")
    total = sp.Add(*values)
    exact = all(v.is_Rational for v in values)
    if (total != 1) if exact else abs(float(total) - 1.0) > 1e-9:
        raise ModelError(f"{what} sums to {total}, not 1")


@dataclass(frozen=True)
class HMM:
    """An HMM in the lecture's matrix form; entries may be numbers (checked) or symbols (not checked)."""

    U: sp.Matrix
    W: sp.Matrix
    pi: sp.Matrix
    states: tuple[str, ...] = ()
    vocabulary: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        U = as_matrix(self.U, "U")
        W = as_matrix(self.W, "W")
        pi = as_matrix(self.pi, "pi")
        object.__setattr__(self, "U", U)
        object.__setattr__(self, "W", W)
        object.__setattr__(self, "pi", pi)
        object.__setattr__(self, "states", tuple(self.states))
        object.__setattr__(self, "vocabulary", tuple(self.vocabulary))
        if U.rows != U.cols:
            raise ModelError(f"U must be square (N x N), got {U.rows} x {U.cols}")
        if W.rows != U.rows:
            raise ModelError(f"W has {W.rows} rows but U is {U.rows} x {U.cols}: W must have one row per state")
        if pi.shape != (U.rows, 1):
            raise ModelError(f"pi must be a column of {U.rows} entries, got shape {pi.rows} x {pi.cols}")
        for c in range(U.cols):
            _check_distribution(list(U[:, c]), f"column {c + 1} of U (P(Y_t | Y_(t-1) = {c + 1}))")
        for r in range(W.rows):
            _check_distribution(list(W[r, :]), f"row {r + 1} of W (P(X_t | Y_t = {r + 1}))")
        _check_distribution(list(pi), "pi (P(Y_1))")
        if self.states and len(self.states) != U.rows:
            raise ModelError(f"{len(self.states)} state names given for {U.rows} states")
        if self.vocabulary and len(self.vocabulary) not in (W.cols, W.cols - 1):
            raise ModelError(f"{len(self.vocabulary)} words given for W with {W.cols} columns "
                             f"(need {W.cols} words, or {W.cols - 1} when the last column is out-of-vocabulary)")

    @property
    def N(self) -> int:  # noqa: N802 - the lecture's name
        return self.U.rows

    @property
    def n_symbols(self) -> int:
        """V+1: the number of observation symbols, the columns of W."""
        return self.W.cols

    @property
    def has_oov(self) -> bool:
        return bool(self.vocabulary) and len(self.vocabulary) == self.W.cols - 1

    @property
    def is_symbolic(self) -> bool:
        return any(not e.is_number for e in (*self.U, *self.W, *self.pi))

    @classmethod
    def symbolic(cls, N: int, n_symbols: int) -> HMM:  # noqa: N803
        """An HMM whose entries are the positive symbols ``u_{j,i}``, ``w_{j,k}``, ``pi_{j}``."""
        return cls(notation.entry_matrix("u", N, N), notation.entry_matrix("w", N, n_symbols),
                   notation.entry_vector("pi", N))

    @classmethod
    def random_rational(cls, N: int, n_symbols: int, rng: random.Random, denominator: int = 20) -> HMM:  # noqa: N803
        """A random HMM with exact rational, strictly positive distributions."""
        def dist(n: int) -> list[sp.Rational]:
            weights = [rng.randint(1, denominator) for _ in range(n)]
            return [sp.Rational(wt, sum(weights)) for wt in weights]
        U = sp.Matrix.hstack(*[sp.Matrix(dist(N)) for _ in range(N)])
        W = sp.Matrix([dist(n_symbols) for _ in range(N)])
        return cls(U, W, sp.Matrix(dist(N)))

    def encode(self, observations: Sequence) -> list[int]:
        """Map words (with a vocabulary) or 1-based symbol indices to 1-based column indices of W."""
        if len(observations) == 0:
            raise SequenceError("the observation sequence is empty")
        out = []
        for pos, obs in enumerate(observations, start=1):
            if isinstance(obs, str):
                if obs in self.vocabulary:
                    out.append(self.vocabulary.index(obs) + 1)
                elif self.has_oov:
                    out.append(self.W.cols)
                else:
                    vocab = ", ".join(self.vocabulary) or "(none: give 1-based indices)"
                    raise SequenceError(f"word {pos} {obs!r} is not in the vocabulary [{vocab}] and W has no "
                                        "out-of-vocabulary column")
            elif isinstance(obs, (numbers.Integral, np.integer)) and not isinstance(obs, bool) \
                    and 1 <= obs <= self.W.cols:
                out.append(int(obs))
            else:
                raise SequenceError(f"observation {pos} is {obs!r}: expected a word or an index in 1..{self.W.cols}")
        return out

    def numeric(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(U, W, pi)`` as float64 arrays (numeric models only)."""
        if self.is_symbolic:
            raise ModelError("the model has symbolic entries; substitute numbers before asking for arrays")
        return (np.array(self.U.tolist(), dtype=float), np.array(self.W.tolist(), dtype=float),
                np.array(self.pi.tolist(), dtype=float).ravel())


def paths(N: int, T: int) -> Iterator[tuple[int, ...]]:  # noqa: N803
    """Every state sequence ``(y_1, ..., y_T)``, 1-based, in lexicographic order."""
    return itertools.product(range(1, N + 1), repeat=T)


def joint(model: HMM, y: Sequence[int], xs: Sequence[int]) -> sp.Expr:
    """``P(Y_1 = y_1, X_1 = x_1, ..., Y_T = y_T, X_T = x_T)`` by the factorisation, read straight off the graph."""
    p = model.pi[y[0] - 1] * model.W[y[0] - 1, xs[0] - 1]
    for s in range(1, len(y)):
        p *= model.U[y[s] - 1, y[s - 1] - 1] * model.W[y[s] - 1, xs[s] - 1]
    return p
