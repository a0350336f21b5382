"""Recurrent cells: one step ``state_t = F(state_{t-1}, x_t; parameters)`` as a matrix-level SymPy expression.

A cell is data: its sizes, its parameters (name and shape) and a builder that writes the step with matrix
symbols.  The same expression serves display (LaTeX), differentiation (:mod:`symrnn.autodiff.matcalc`), explicit
entry-level checks and NumPy code generation.  Nothing downstream (BPTT, code generation, checks) knows which
cell it is handling.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.ops import Softmax, sigmoid


def elementwise(fn) -> Callable[[MatrixExpr], MatrixExpr]:
    """``z -> fn(z)`` applied entrywise, for a scalar SymPy function (``sp.tanh``, ``sigmoid``)."""
    return lambda z: z.applyfunc(fn)


def softmax_minus_one(z: MatrixExpr) -> MatrixExpr:
    """The lecture's ``g(xi) = softmax(xi - 1)``."""
    return Softmax(z - sp.OneMatrix(*z.shape))


@dataclass(frozen=True)
class Param:
    name: str
    rows: int
    cols: int

    @property
    def symbol(self) -> sp.MatrixSymbol:
        return nt.matrix(self.name, self.rows, self.cols)


@dataclass(frozen=True)
class Cell:
    """A recurrent cell.  ``build(params, previous, x)`` returns the new value of every state.

    ``params`` maps parameter names to matrix symbols, ``previous`` state names to the previous state vectors
    (``\\vec{h}_{t-1}``); the loss reads the state named ``output``.  Every state has ``n_state`` entries unless
    ``sizes`` gives it another number (``(("yhat", 5),)``: an output layer of Q = 5 entries over N hidden units);
    :meth:`size` is a state's.
    """

    name: str
    n_state: int
    n_input: int
    params: tuple[Param, ...]
    build: Callable[[Mapping[str, MatrixExpr], Mapping[str, MatrixExpr], MatrixExpr], dict[str, MatrixExpr]]
    states: tuple[str, ...] = ("h",)
    output: str = "h"
    sizes: tuple[tuple[str, int], ...] = ()  # (state, entries) of the states whose size is not n_state

    def size(self, state: str):
        """The number of entries of ``state``: ``n_state`` unless :attr:`sizes` says otherwise."""
        return dict(self.sizes).get(state, self.n_state)

    @property
    def n_output(self):
        """The size Q of the output the loss reads (its targets y_t have as many entries)."""
        return self.size(self.output)

    def symbols(self) -> dict[str, sp.MatrixSymbol]:
        return {p.name: p.symbol for p in self.params}

    def previous(self, t=nt.t - 1) -> dict[str, nt.Vec]:
        return {s: nt.Vec(s, t, self.size(s)) for s in self.states}

    def current(self, t=nt.t) -> dict[str, nt.Vec]:
        return {s: nt.Vec(s, t, self.size(s)) for s in self.states}

    def input(self, t=nt.t) -> nt.Vec:
        return nt.Vec("x", t, self.n_input)

    def step(self, t=nt.t) -> dict[str, MatrixExpr]:
        """The new states at time t as matrix expressions in the parameters, the states at t-1 and x_t."""
        return self.build(self.symbols(), self.previous(t - 1), self.input(t))


def matrix_nonlinearity(g) -> Callable[[MatrixExpr], MatrixExpr]:
    """A matrix-level ``g`` from the nonlinearity table (a name or a ``Nonlinearity``), or a callable as it is."""
    from symrnn.models.nonlinearities import Nonlinearity, resolve

    if callable(g) and not isinstance(g, (str, Nonlinearity)):
        return g
    nl = resolve(g)
    if nl.is_softmax:
        return lambda z: Softmax(z + nl.shift * sp.OneMatrix(*z.shape)) if nl.shift else Softmax(z)
    if nl.name == "identity":
        return lambda z: z
    if nl.function is not None:
        return elementwise(nl.function)
    if nl.scalar is None:
        raise ValueError(f"the nonlinearity {nl.name} is neither entrywise nor a softmax: no matrix form")
    return elementwise(nl.scalar)


def rnn(n_state: int, n_input: int, g="lecture", name: str = "rnn") -> Cell:
    """The lecture's RNN ``h_t = g(U h_{t-1} + W x_t)``; ``g`` from the nonlinearity table (default the lecture's).
    """
    g = matrix_nonlinearity(g)

    def build(p, prev, x):
        return {"h": g(p["U"] * prev["h"] + p["W"] * x)}
    return Cell(name, n_state, n_input, (Param("U", n_state, n_state), Param("W", n_state, n_input)), build)


def elman(n_state: int, n_input: int, f=sp.tanh) -> Cell:
    """The Elman cell ``h_t = tanh(U h_{t-1} + W x_t + b)`` (torch.nn.RNN with one bias)."""
    def build(p, prev, x):
        return {"h": (p["U"] * prev["h"] + p["W"] * x + p["b"]).applyfunc(f)}
    return Cell("elman", n_state, n_input, (Param("U", n_state, n_state), Param("W", n_state, n_input),
                                            Param("b", n_state, 1)), build)


GRU_GATES = ("r", "z", "n")


def gru(n_state: int, n_input: int) -> Cell:
    """torch.nn.GRU's equations, with the input weights W_g, recurrent weights U_g and biases of gate g:

    ``r = sigma(W_r x + U_r h + b_r)``, ``z = sigma(W_z x + U_z h + b_z)``,
    ``n = tanh(W_n x + b_in + r * (U_n h + b_hn))``, ``h' = (1 - z) * n + z * h``.
    torch keeps two biases per gate; for r and z only their sum matters, so b_r = b_ir + b_hr, b_z = b_iz + b_hz.
    """
    H, D = n_state, n_input  # noqa: N806

    def build(p, prev, x):
        h = prev["h"]
        r = (p["W_r"] * x + p["U_r"] * h + p["b_r"]).applyfunc(sigmoid)
        z = (p["W_z"] * x + p["U_z"] * h + p["b_z"]).applyfunc(sigmoid)
        n = (p["W_n"] * x + p["b_in"] + sp.HadamardProduct(r, p["U_n"] * h + p["b_hn"])).applyfunc(sp.tanh)
        one = sp.OneMatrix(H, 1)
        return {"h": sp.HadamardProduct(one - z, n) + sp.HadamardProduct(z, h)}

    params = tuple(Param(f"W_{g}", H, D) for g in GRU_GATES) + tuple(Param(f"U_{g}", H, H) for g in GRU_GATES) \
        + (Param("b_r", H, 1), Param("b_z", H, 1), Param("b_in", H, 1), Param("b_hn", H, 1))
    return Cell("gru", H, D, params, build)
