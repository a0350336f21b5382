"""Index and size symbols, entry symbols and explicit matrices of them; names are checked identifiers."""

from __future__ import annotations

import re

import sympy as sp

# Index and size symbols.  Sizes are positive integers; indices are integers.
t, q, i, j, k = sp.symbols("t q i j k", integer=True, positive=True)
T, N, V = sp.symbols("T N V", integer=True, positive=True)
eta = sp.Symbol("eta", positive=True)

#: Which lecture names are vectors (printed ``\vec{h}_t``); everything else upper-case is a matrix.
VECTORS = frozenset({"h", "x", "c", "xi", "pi", "v", "delta"})

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def _name(base) -> str:
    return base.name if isinstance(base, sp.Symbol) else base


def check_name(name: str) -> str:
    """Return ``name`` if it is a plain identifier (letters then letters/digits), else raise ValueError.

    Names end up inside LaTeX and generated code, so anything else (spaces, braces, backslashes, quotes) is refused.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"invalid symbol name {name!r}: use letters and digits only, starting with a letter")
    return name


def _fmt(index) -> str:
    return sp.latex(index) if isinstance(index, sp.Basic) else str(index)


def entry(base: str, *index, positive: bool = True, real: bool = True) -> sp.Symbol:
    """The scalar entry ``base_{index}`` (e.g. ``u_{j,i}``); numeric indices are 1-based."""
    check_name(base)
    sub = ",".join(_fmt(ix) for ix in index)
    assumptions = {"positive": True} if positive else {"real": real}
    return sp.Symbol(f"{base}_{{{sub}}}", **assumptions)


def entry_matrix(base: str, rows: int, cols: int, *, positive: bool = True) -> sp.Matrix:
    """An explicit ``rows x cols`` matrix of entry symbols ``base_{r,c}`` (1-based)."""
    return sp.Matrix(rows, cols, lambda r, c: entry(base, r + 1, c + 1, positive=positive))


def entry_vector(base: str, n: int, *, positive: bool = True) -> sp.Matrix:
    """An explicit column of entry symbols ``base_{1}, ..., base_{n}``."""
    return sp.Matrix(n, 1, lambda r, _c: entry(base, r + 1, positive=positive))


def one_hot(k_index: int, size: int) -> sp.Matrix:
    """The one-hot column with a 1 in (1-based) position ``k_index``."""
    if not 1 <= k_index <= size:
        raise ValueError(f"one-hot index {k_index} outside 1..{size}")
    return sp.Matrix(size, 1, lambda r, _c: sp.Integer(1 if r + 1 == k_index else 0))


def matrix(name: str, rows, cols) -> sp.MatrixSymbol:
    """An abstract matrix such as ``U`` (N x N) or ``W_f``."""
    check_name(name.replace("_", ""))
    return sp.MatrixSymbol(name, rows, cols)


def h(j_, t_) -> sp.Indexed:
    """``h_{j,t}``: the forward (belief propagation) quantity P(..., Y_t = j, X_t)."""
    return sp.IndexedBase("h")[j_, t_]


def v(j_, t_) -> sp.Indexed:
    """``v_{j,t}``: the Viterbi quantity, the probability of the best path ending in state j at time t."""
    return sp.IndexedBase("v")[j_, t_]


def u(j_, i_) -> sp.Indexed:
    """``u_{j,i} = P(Y_t = j | Y_{t-1} = i)``."""
    return sp.IndexedBase("u")[j_, i_]


def w(j_, k_) -> sp.Indexed:
    """``w_{j,k} = P(X_t = k | Y_t = j)``."""
    return sp.IndexedBase("w")[j_, k_]


def g(j_, q_) -> sp.Indexed:
    """``g_{j,q}``: belief propagation's answer to the query ``Y_q = j`` (the add over ``Y_q`` skipped)."""
    return sp.IndexedBase("g")[j_, q_]


def x(k_, t_) -> sp.Indexed:
    """``x_{k,t}``: entry k of the one-hot observation vector at time t."""
    return sp.IndexedBase("x")[k_, t_]
