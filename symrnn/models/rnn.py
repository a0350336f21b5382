"""The lecture's recurrent neural network: ``h_t = g(U h_{t-1}, W x_t)``, and its additive form
``h_t = g(U h_{t-1} + W x_t)``.

Two levels, as elsewhere in symrnn.  Abstract: :func:`update` states the step for any t with ``MatrixSymbol``
weights of symbolic size (``U`` is N x N, ``W`` is N x (V+1)), and :func:`unrolled` lists the steps for t = 1..T.
Concrete: :class:`RNN` holds explicit weights (exact ``Rational``, floats or entry symbols) and runs a sequence one
step at a time, each h_t a named value computed from the previous one (never one expanded expression).  ``h_0`` is
the zero vector unless given.  Inputs are one-hot columns given by 1-based index, or any explicit columns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from symrnn import notation as nt
from symrnn.models.hmm import ModelError, SequenceError, as_matrix
from symrnn.models.nonlinearities import Nonlinearity, resolve

#: The general form's nonlinearity: a function of the two vectors ``U h_{t-1}`` and ``W x_t``.
TwoArgument = Callable[[sp.Matrix, sp.Matrix], sp.Matrix]


def additive(g: Nonlinearity | Callable[[sp.Matrix], sp.Matrix]) -> TwoArgument:
    """The general form's ``g(a, b)`` for the additive form: ``g(a + b)``."""
    return lambda a, b: sp.Matrix(g(a + b))


def generic_two(name: str = "g") -> TwoArgument:
    """An undefined two-argument vector function: entry j of ``g(a, b)`` is ``g_j(a_1..a_N, b_1..b_N)``."""
    nt.check_name(name)
    return lambda a, b: sp.Matrix([sp.Function(f"{name}_{j + 1}")(*a, *b) for j in range(a.rows)])


def unroll(U, W, h0, inputs: Sequence, g: TwoArgument) -> list[sp.Matrix]:  # noqa: N803
    """The general form for any T: ``[h_1, ..., h_T]`` with ``h_t = g(U h_{t-1}, W x_t)``."""
    if len(inputs) == 0:
        raise SequenceError("the input sequence is empty")
    U, W, h = sp.Matrix(U), sp.Matrix(W), sp.Matrix(h0)  # noqa: N806
    out = []
    for x in inputs:
        h = sp.Matrix(g(U * h, W * sp.Matrix(x)))
        out.append(h)
    return out


@dataclass(frozen=True)
class RNN:
    """An RNN in the additive form ``h_t = g(U h_{t-1} + W x_t)`` with explicit weights."""

    U: sp.Matrix
    W: sp.Matrix
    g: Nonlinearity | str = "lecture"
    h0: sp.Matrix | None = None

    def __post_init__(self) -> None:
        U, W = as_matrix(self.U, "U"), as_matrix(self.W, "W")  # noqa: N806
        if U.rows != U.cols:
            raise ModelError(f"U must be square (N x N), got {U.rows} x {U.cols}")
        if W.rows != U.rows:
            raise ModelError(f"W has {W.rows} rows but U is {U.rows} x {U.cols}: W must have one row per state")
        h0 = sp.zeros(U.rows, 1) if self.h0 is None else as_matrix(self.h0, "h0")
        if h0.shape != (U.rows, 1):
            raise ModelError(f"h0 must be a column of {U.rows} entries, got shape {h0.rows} x {h0.cols}")
        object.__setattr__(self, "U", sp.ImmutableMatrix(U))
        object.__setattr__(self, "W", sp.ImmutableMatrix(W))
        object.__setattr__(self, "h0", sp.ImmutableMatrix(h0))
        object.__setattr__(self, "g", resolve(self.g))

    @property
    def N(self) -> int:  # noqa: N802 - the lecture's name
        return self.U.rows

    @property
    def n_inputs(self) -> int:
        """V+1: the length of an input column, the columns of W."""
        return self.W.cols

    def one_hot(self, k: int) -> sp.Matrix:
        """The input column for symbol k (1-based)."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= self.n_inputs:
            raise SequenceError(f"input {k!r} is not an index in 1..{self.n_inputs}")
        return nt.one_hot(int(k), self.n_inputs)

    def preactivation(self, h_prev: sp.Matrix, x: sp.Matrix) -> sp.Matrix:
        """``U h_{t-1} + W x_t``."""
        return self.U * sp.Matrix(h_prev) + self.W * sp.Matrix(x)

    def step(self, h_prev: sp.Matrix, x: sp.Matrix) -> sp.Matrix:
        """``h_t = g(U h_{t-1} + W x_t)``."""
        return self.g(self.preactivation(h_prev, x))

    def run_inputs(self, inputs: Sequence, digits: int | None = None) -> list[sp.Matrix]:
        """``[h_1, ..., h_T]`` for explicit input columns; exact, or each h_t rounded to ``digits`` significant
        digits before the next step.

        Exact states nest (h_t contains all of h_{t-1}), and SymPy's automatic evaluation asks questions of the
        whole nest: with general weights exact runs are practical to about T = 4.  Use ``digits`` beyond that.
        """
        if len(inputs) == 0:
            raise SequenceError("the input sequence is empty")
        h, out = sp.Matrix(self.h0), []
        for x in inputs:
            x = sp.Matrix(x)
            if x.shape != (self.n_inputs, 1):
                raise SequenceError(f"input of shape {x.rows} x {x.cols}: expected a column of {self.n_inputs}")
            h = self.step(h, x)
            if digits is not None:
                h = h.evalf(digits)
            out.append(h)
        return out

    def run(self, xs: Sequence[int], digits: int | None = None) -> list[sp.Matrix]:
        """``[h_1, ..., h_T]`` for one-hot inputs given by 1-based index."""
        return self.run_inputs([self.one_hot(k) for k in xs], digits)

    def run_numeric(self, xs: Sequence[int]) -> np.ndarray:
        """Float64 ``h_t`` for one-hot inputs, as a T x N array (rows are time steps)."""
        if self.g.numpy is None:
            raise ModelError(f"the nonlinearity {self.g.name} has no NumPy form")
        for k in xs:
            self.one_hot(k)  # validates the index
        if len(xs) == 0:
            raise SequenceError("the input sequence is empty")
        U = np.array(self.U.tolist(), dtype=float)  # noqa: N806
        W = np.array(self.W.tolist(), dtype=float)  # noqa: N806
        h = np.array(self.h0.tolist(), dtype=float).ravel()
        out = []
        for k in xs:
            h = self.g.numpy(U @ h + W[:, k - 1])
            out.append(h)
        return np.array(out)


# ---- the abstract form -----------------------------------------------------------------------------------------

U_ = nt.matrix("U", nt.N, nt.N)
W_ = nt.matrix("W", nt.N, nt.V + 1)


def update(t=nt.t, form: str = "additive", g: str = "g") -> sp.Eq:
    """``h_t = g(U h_{t-1} + W x_t)`` (``form="additive"``) or ``h_t = g(U h_{t-1}, W x_t)`` (``"general"``)."""
    h_prev, x = nt.Vec("h", t - 1, nt.N), nt.Vec("x", t, nt.V + 1)
    if form == "additive":
        rhs = nt.Applied(g, U_ * h_prev + W_ * x)
    elif form == "general":
        rhs = nt.Applied(g, U_ * h_prev, W_ * x)
    else:
        raise ValueError(f"unknown form {form!r}: use 'additive' or 'general'")
    return sp.Eq(nt.Vec("h", t, nt.N), rhs, evaluate=False)


def unrolled(T: int, form: str = "additive", g: str = "g") -> list[sp.Eq]:  # noqa: N803
    """The update at t = 1, ..., T: the unrolled network as a list of named steps."""
    if T < 1:
        raise ValueError(f"T must be at least 1, got {T}")
    return [update(sp.Integer(s), form, g) for s in range(1, T + 1)]
