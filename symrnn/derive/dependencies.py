"""Which quantities of a cell are states and which are intermediates, the output the loss reads, and the order to
compute them in.

A *state* is a quantity whose value at t-1 is used (``h_{t-1}``, and an LSTM's ``c_{t-1}``); every other quantity
defined at t is an *intermediate* (a gate, a candidate), substituted into what uses it.

The *output* is the quantity the loss reads, chosen in this order: the ``output`` argument; the quantity the text's
loss equation reads (``L = \\frac{1}{2}\\sum_t \\|o_t - y_t\\|^2``, :mod:`.loss_reading`); the output layer's last
quantity (a quantity at t that depends on a state, that no state needs and that no other such quantity uses, such as
``\\hat{y}_t`` of ``o_t = V h_t + c``, ``\\hat{y}_t = \\mathrm{softmax}(o_t)``; the last written when there are
several); else ``h`` if it is a state, else the last state written.  An output that is not a state is made an
*output state*: computed at every step like a state (the quantities it uses are its intermediates, their parameters
parameters of the cell), its value at t-1 used by nothing, so that the gradient that flows back through it is zero.
An output state has its own size Q (an output layer ``o_t = V h_t + c`` with ``V`` Q x N; :mod:`.shapes`), N
when the equations make it so.  A Jordan network (``h_t = \\tanh(W
x_t + U o_{t-1} + b)``, ``o_t = \\sigma(V h_t + c)``) has the one state o, which is its output; h is an intermediate.

Only what the states and the output need is kept: other equations are not part of the cell, and a right side that
cannot be read as a cell's terms is an error only when it is needed.  Refused, with the line: a quantity used but
never defined, one defined twice, two loss equations, a cycle within one time step, and no state at all.
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
    loss: object = None  # the loss equation's LossEquation (name LOSS, term the quantity it reads)


#: The name of the loss equation's definition (no quantity can take it).
LOSS = "(loss)"


@dataclass(frozen=True)
class Structure:
    states: tuple[str, ...]  # in the order they are defined; an output state last
    order: tuple[str, ...]  # every quantity the states need, each after what it uses
    definitions: dict[str, Definition]
    output: str = "h"  # the quantity the loss reads (a state)
    loss: Definition | None = None  # the text's loss equation, if it has one


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


def _defs(definitions: list[Definition]) -> tuple[dict[str, Definition], Definition | None]:
    defs: dict[str, Definition] = {}
    loss = None
    for d in definitions:
        if d.name == LOSS:
            if loss is not None:
                raise errors.DefinedTwice(f"two loss equations: on line {loss.line} and here", d.line, d.text)
            loss = d
        elif d.name in defs:
            raise errors.DefinedTwice(f"{d.name}_t is defined twice: on line {defs[d.name].line} and here",
                                      d.line, d.text)
        else:
            defs[d.name] = d
    return defs, loss


def _output_layer(defs: dict[str, Definition], recurrent: tuple[str, ...]) -> str | None:
    """The output layer's last quantity: at t, depending on a state, needed by no state and by no other such
    quantity (the last written of them), or None."""
    needed = set(_order(defs, list(recurrent)))
    rest = [n for n in defs if n not in needed]
    on_state: dict[str, bool] = {}

    def depends(name: str) -> bool:
        if name not in on_state:
            on_state[name] = False
            on_state[name] = any(leaf.kind == tm.PREVIOUS or leaf.name in needed or depends(leaf.name)
                                 for leaf in _uses(defs[name], tm.PREVIOUS) + _uses(defs[name], tm.CURRENT))
        return on_state[name]
    used = {leaf.name for n in rest for leaf in _uses(defs[n], tm.CURRENT)}
    layer = [n for n in rest if n not in used and defs[n].error is None and depends(n)]
    return layer[-1] if layer else None


def _output(defs: dict[str, Definition], states: tuple[str, ...], output: str | None,
            loss: Definition | None) -> str:
    read = next((leaf.name for leaf in _uses(loss, tm.CURRENT)), None) if loss is not None else None
    if output is not None and read is not None and output != read:
        raise errors.UnsupportedLoss(f"the output {output!r} was asked for, but the loss equation reads {read}_t",
                                     loss.line, loss.text)
    chosen = output or read or _output_layer(defs, states) or ("h" if "h" in states else states[-1])
    if chosen not in defs:
        raise errors.UndefinedQuantity(f"the output {chosen!r} is not a quantity the cell defines; the states are "
                                       f"{list(states)}")
    return chosen


def structure(definitions: list[Definition], output: str | None = None) -> Structure:
    """States, intermediates, the output and their order from the definitions in the order written (see the
    module's docstring); ``output`` chooses the quantity the loss reads."""
    defs, loss = _defs(definitions)
    if not defs:
        raise errors.NoState("no equation defines a quantity at t (such as \\mathbf{h}_t = ...)")
    _check_defined({**defs, **({LOSS: loss} if loss is not None else {})})
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
    out = _output(defs, states, output, loss)
    if out not in states:
        states = (*states, out)
    order = tuple(_order(defs, list(states)))
    for name in order:
        if defs[name].error is not None:
            raise defs[name].error
    return Structure(states, order, defs, out, loss)


def output_state(s: Structure, output: str | None = None) -> str:
    """The state the loss reads (chosen by :func:`structure`; ``output`` is kept for callers that pass it)."""
    return s.output
