"""Values for a cell's symbols at the generic time t: the one place that says which symbol gets which value."""

from __future__ import annotations

from collections.abc import Mapping

from sympy.printing.latex import translate

from symrnn import notation as nt
from symrnn.models.cells import Cell

#: The prefix of every ``rho`` vector's name (no state may start with it: :mod:`symrnn.derive.cell_reading`).
RHO = "rho"


def rho_name(cell: Cell, state: str) -> str:
    """The identifier of the recurrent part of the state's gradient: ``rho`` for the output state, ``rho<state>``
    for others (a plain identifier: it names entry symbols and generated code; :class:`StateRho` prints it)."""
    return RHO if state == cell.output else f"{RHO}{state}"


class StateRho(nt.Vec):
    """``rho_t`` of a state other than the output: a :class:`~symrnn.notation.Vec` named ``rho<state>`` (the same
    identifier in generated code) that prints as ``\\vec{\\rho}^{c}_{t}``, the state's name as a superscript."""

    @property
    def state(self) -> str:
        return self.base[len(RHO):]

    def _lecture_latex(self, printer) -> str:
        state = translate(self.state)
        if hasattr(printer, "labelled_vector"):  # symrnn's printer: in the document's style
            return printer.labelled_vector(r"\rho", state, self.time)
        return rf"\vec{{\rho}}^{{{state}}}_{{{printer._print(self.time)}}}"

    def _latex(self, printer) -> str:
        return self._lecture_latex(printer)


def target_symbol(cell: Cell) -> nt.Vec:
    """The target ``y_t`` of the cell's output at the generic time t (Q entries, the output's size)."""
    return nt.Vec("y", nt.t, cell.n_output)


def rho_symbol(cell: Cell, state: str, time=nt.t) -> nt.Vec:
    """``rho_t`` of one state (the gradient reaching it through step t+1), of the state's size."""
    name = rho_name(cell, state)
    return (nt.Vec if name == RHO else StateRho)(name, time, cell.size(state))


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
