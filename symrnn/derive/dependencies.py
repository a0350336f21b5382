"""Which quantities of a cell are states and which are intermediates, and the order to compute them in.

A *state* is a quantity whose value at t-1 is used (``h_{t-1}``, and an LSTM's ``c_{t-1}``); every other quantity
defined at t is an *intermediate* (a gate, a candidate), substituted into what uses it.  Only what the states need is
kept: an equation no state depends on (an output layer, say) is not part of the cell, and a right side that
cannot be read as a cell's terms is an error only when a state needs it.  Refused, with the line: a
quantity used but never defined, one defined twice, a cycle within one time step, and no state at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from symrnn.derive import errors
from symrnn.derive import terms as tm


@dataclass(frozen=True)
class Definition:
    """``name_t = term``, read from the equation on ``line``; ``error`` when its right side could not be read
    as terms (``term`` then holds only the quantities it mentions; the error is raised if a state needs it)."""

    name: str
    term: object
    line: int
    text: str
    error: errors.CellError | None = None


@dataclass(frozen=True)
class Structure:
    states: tuple[str, ...]  # in the order they are defined
    order: tuple[str, ...]  # every quantity the states need, each after what it uses
    definitions: dict[str, Definition]


def _uses(d: Definition, kind: str) -> list[tm.Leaf]:
    return [leaf for leaf in tm.leaves(d.term) if leaf.kind == kind]


def _check_defined(defs: dict[str, Definition]) -> None:
    for d in defs.values():
        for leaf in _uses(d, tm.CURRENT) + _uses(d, tm.PREVIOUS):
            if leaf.name not in defs:
                when = "t" if leaf.kind == tm.CURRENT else "{t-1}"
                raise errors.UndefinedQuantity(
                    f"{leaf.name}_{when} is used but no equation defines {leaf.name}_t (read as "
                    f"{tm.shown(leaf.origin)})", d.line, d.text)


def _order(defs: dict[str, Definition], roots: list[str]) -> list[str]:
    """The quantities ``roots`` need, each after the quantities at t it uses; a cycle is refused."""
    done: list[str] = []
    state: dict[str, str] = {}  # "open" while its dependencies are visited, "done" after

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "open":
            cycle = path[path.index(name):] + [name]
            first = defs[cycle[0]]
            raise errors.CyclicDefinition(
                "a cycle within one time step: " + " -> ".join(f"{q}_t" for q in cycle)
                + " (" + ", ".join(f"{q}_t on line {defs[q].line}" for q in cycle[:-1]) + "); a quantity at t "
                "may use quantities at t only in an order, and its own value at t-1", first.line, first.text)
        state[name] = "open"
        for leaf in _uses(defs[name], tm.CURRENT):
            visit(leaf.name, [*path, name])
        state[name] = "done"
        done.append(name)

    for name in roots:
        visit(name, [])
    return done


def structure(definitions: list[Definition], output: str | None = None) -> Structure:
    """States, intermediates and their order from the definitions in the order written."""
    defs: dict[str, Definition] = {}
    for d in definitions:
        if d.name in defs:
            raise errors.DefinedTwice(f"{d.name}_t is defined twice: on line {defs[d.name].line} and here",
                                      d.line, d.text)
        defs[d.name] = d
    if not defs:
        raise errors.NoState("no equation defines a quantity at t (such as \\mathbf{h}_t = ...)")
    _check_defined(defs)
    used_before = {leaf.name for d in defs.values() for leaf in _uses(d, tm.PREVIOUS)}
    states = tuple(name for name in defs if name in used_before)
    _order(defs, list(defs))  # every cycle is an error, also one that no state needs
    if not states:
        failed = [d for d in defs.values() if d.error is not None]
        if failed:
            raise failed[0].error
        first = next(iter(defs.values()))
        raise errors.NoState("no state: no quantity's value at t-1 is used (write h_{t-1} on a right side), so "
                             "nothing is recurrent", first.line, first.text)
    if output is not None and output not in states:
        raise errors.UndefinedQuantity(f"the output {output!r} is not a state; the states are {list(states)}")
    order = tuple(_order(defs, list(states)))
    for name in order:
        if defs[name].error is not None:
            raise defs[name].error
    return Structure(states, order, defs)


def output_state(s: Structure, output: str | None) -> str:
    """The state the loss reads: ``output`` if given, else ``h`` if it is a state, else the last state defined."""
    if output is not None:
        return output
    return "h" if "h" in s.states else s.states[-1]
