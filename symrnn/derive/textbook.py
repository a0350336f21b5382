"""A user's cell's BPTT in textbook form (:mod:`symrnn.autodiff.readable`: one named error per quantity), and the
checks that make what the document prints proved, not just the engine's form it was rewritten from.

- every state's recursion and every parameter's contribution as printed (errors substituted back) against direct
  entry-level differentiation of one step, at N = 2, 4, 8 where the declarations allow;
- the same printed forms against the engine's (the expressions the generated code computes), at the same sizes.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator

from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.autodiff import bptt, matcalc, readable
from symrnn.core.derivation import Identity
from symrnn.derive.checks import Spec, maths_name, sized
from symrnn.derive.shown import cell_text


@functools.lru_cache(maxsize=16)
def forms(spec: Spec, n: int | None = None) -> tuple[bptt.BPTT, readable.Readable, tuple]:
    """The engine's BPTT, its readable form and the equations as written, for the spec's cell at state size ``n``
    (None: the size the document shows)."""
    cell = spec.cell() if n is None else sized(spec, (n,))[0]
    text = cell_text(spec.text, n_state=cell.n_state, n_input=spec.n_input, output=spec.output)
    b = bptt.derive(cell, spec.loss_object())
    return b, readable.readable(b, text.equations), text.equations


@functools.lru_cache(maxsize=16)
def _identities(spec: Spec, n: int) -> dict[str, tuple]:
    b, r, equations = forms(spec, n)
    rng = random.Random(f"{spec.name}:textbook:{n}")
    return {what: (shown, engine, ref) for what, shown, engine, ref in readable.identities(b, r, equations, rng)}


def _what(what: str) -> str:
    """``rho_<state>`` or a parameter's identifier, as maths for a label."""
    return f"$\\rho$ of ${what[4:]}$" if what.startswith("rho_") else maths_name(what)


def _sizes(spec: Spec) -> list[int]:
    return sorted({c.n_state for c in sized(spec, spec.local_sizes)})


def printed_identities(spec: Spec, what: str) -> Iterator[Identity]:
    """``what`` (``rho_<state>`` or a parameter) as printed against entry-level differentiation, at each size."""
    for n in _sizes(spec):
        shown, _engine, ref = _identities(spec, n)[what]
        yield Identity(shown, ref, simplifier="atoms", trials=2, label=f"$N = {n}$, {_what(what)} as printed")


def engine_identities(spec: Spec) -> Iterator[Identity]:
    """Every printed form against the engine's (what the generated code computes), at each size."""
    for n in _sizes(spec):
        for what, (shown, engine, _ref) in _identities(spec, n).items():
            yield Identity(shown, engine, simplifier="atoms", trials=2,
                           label=f"$N = {n}$, {_what(what)}: printed vs engine")


UNROLLED_STEPS = 3  #: the steps the document unrolls


def unrolled(spec: Spec, steps: int = UNROLLED_STEPS) -> list[tuple[nt.Vec, MatrixExpr]]:
    """The cell's equations as written at t = 1, ..., ``steps``: the unrolled graph, each quantity at step k
    computed from the quantities of step k and the states of step k - 1."""
    _, _, equations = forms(spec)
    return [(e.lhs.xreplace({nt.t: k}), e.rhs.xreplace({nt.t: k})) for k in range(1, steps + 1) for e in equations]


def unrolled_identities(spec: Spec) -> Iterator[Identity]:
    """The unrolled equations evaluated in order, at random rational weights and inputs (exact), against the states the
    engine's forward pass computes from the substituted step (N = 2 where the declarations allow)."""
    n = sized(spec, (2,))[0].n_state
    b, _, equations = forms(spec, n)
    case = bptt.random_case(b.cell, b.loss, UNROLLED_STEPS, random.Random(f"{spec.name}:unrolled"))
    run = bptt.run(b, case.params, case.xs, case.ys, case.h0, mode="sympy", gradients=False)
    vals = {**{b.cell.symbols()[k]: v for k, v in case.params.items()},
            **{nt.Vec(s, 0, n): case.h0[s] for s in b.cell.states}}
    for k in range(1, UNROLLED_STEPS + 1):
        vals[b.cell.input(k)] = case.xs[k - 1]
        for e in equations:
            vals[e.lhs.xreplace({nt.t: k})] = matcalc.explicit(e.rhs.xreplace({nt.t: k}), vals)
        for s in b.cell.states:
            yield Identity(vals[nt.Vec(s, k, n)], run.states[k][s], simplifier="atoms", trials=1,
                           label=f"${s}_{{{k}}}$, $N = {n}$")
