"""Values for a cell's symbols at the generic time t: the one place that says which symbol gets which value."""

from __future__ import annotations

from collections.abc import Mapping

from symrnn import notation as nt
from symrnn.models.cells import Cell


def rho_name(cell: Cell, state: str) -> str:
    """The recurrent part of the state's gradient: ``rho`` for the output state, ``rho<state>`` for others."""
    return "rho" if state == cell.output else f"rho{state}"


def target_symbol(cell: Cell) -> nt.Vec:
    """The target ``y_t`` of the cell's output at the generic time t."""
    return nt.Vec("y", nt.t, cell.n_state)


def rho_symbol(cell: Cell, state: str, time=nt.t) -> nt.Vec:
    """``rho_t`` of one state (the gradient reaching it through step t+1)."""
    return nt.Vec(rho_name(cell, state), time, cell.n_state)


def bind(cell: Cell, params: Mapping[str, object], previous: Mapping[str, object] | None = None, x=None, *,
         current: Mapping[str, object] | None = None, target=None,
         rhos: Mapping[str, object] | None = None) -> dict:
    """``{symbol: value}`` for one step at time t: parameters by name, ``previous``/``current`` states
    (``h_{t-1}``, ``h_t``, by state name), the input ``x_t``, the target ``y_t`` and the ``rho_t`` of each state.

    Values may be anything the evaluator takes (SymPy matrices, arrays of floats or mpmath numbers); parts left
    as None are not bound.
    """
    symbols = cell.symbols()
    vals: dict = {symbols[name]: value for name, value in params.items()}
    if previous is not None:
        vals.update({sym: previous[s] for s, sym in cell.previous(nt.t - 1).items()})
    if x is not None:
        vals[cell.input(nt.t)] = x
    if current is not None:
        vals.update({sym: current[s] for s, sym in cell.current(nt.t).items()})
    if target is not None:
        vals[target_symbol(cell)] = target
    if rhos is not None:
        vals.update({rho_symbol(cell, s): rhos[s] for s in cell.states})
    return vals
