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
from symrnn.core.derivation import Evidence, Identity, Outcome
from symrnn.derive.checks import Spec, derived, local_sizes, maths_name, sized, sizes_label
from symrnn.derive.shown import cell_text


@functools.lru_cache(maxsize=16)
def forms(spec: Spec, n: int | None = None) -> tuple[bptt.BPTT, readable.Readable, tuple]:
    """The engine's BPTT, its readable form and the equations as written, for the spec's cell at state size ``n``
    (None: the size the document shows)."""
    cell = spec.cell() if n is None else sized(spec, (n,))[0]
    text = cell_text(spec.text, n_state=cell.n_state, n_input=spec.n_input, output=spec.output,
                     n_output=cell.n_output)
    b = derived(spec, cell)
    return b, readable.readable(b, text.equations), text.equations


@functools.lru_cache(maxsize=16)
def _identities(spec: Spec, n: int) -> dict[str, tuple]:
    b, r, equations = forms(spec, n)
    rng = random.Random(f"{spec.name}:textbook:{n}")
    return {what: (shown, engine, ref) for what, shown, engine, ref in readable.identities(b, r, equations, rng)}


def _what(what: str) -> str:
    """``rho_<state>`` or a parameter's identifier, as maths for a label."""
    return f"$\\rho$ of ${what[4:]}$" if what.startswith("rho_") else maths_name(what)


def printed_identities(spec: Spec, what: str) -> Iterator[Identity]:
    """``what`` (``rho_<state>`` or a parameter) as printed against entry-level differentiation, at each size."""
    for n in local_sizes(spec):
        shown, _engine, ref = _identities(spec, n)[what]
        yield Identity(shown, ref, simplifier="atoms", trials=2,
                       label=f"{sizes_label(forms(spec, n)[0].cell)}, {_what(what)} as printed")


def engine_identities(spec: Spec) -> Iterator[Identity]:
    """Every printed form against the engine's (what the generated code computes), at each size."""
    for n in local_sizes(spec):
        label = sizes_label(forms(spec, n)[0].cell)
        for what, (shown, engine, _ref) in _identities(spec, n).items():
            yield Identity(shown, engine, simplifier="atoms", trials=2,
                           label=f"{label}, {_what(what)}: printed vs engine")


UNROLLED_STEPS = 3  #: the steps the document unrolls


def unrolled(spec: Spec, steps: int = UNROLLED_STEPS) -> list[tuple[nt.Vec, MatrixExpr]]:
    """The cell's equations as written at t = 1, ..., ``steps``: the unrolled graph, each quantity at step k
    computed from the quantities of step k and the states of step k - 1."""
    _, _, equations = forms(spec)
    return [(e.lhs.xreplace({nt.t: k}), e.rhs.xreplace({nt.t: k})) for k in range(1, steps + 1) for e in equations]


def unrolled_check(spec: Spec, rng: random.Random) -> Outcome:
    """The unrolled equations evaluated in order against the states the engine's forward pass computes from the
    substituted step, at random rational weights and inputs, both to 60 digits (N = 2 where the declarations
    allow).  Exact rationals would nest exponentials three steps deep: minutes for a GRU; the one-step identity of
    the cell itself is proved symbolically (step ``cell``)."""
    import mpmath

    n = sized(spec, (2,))[0].n_state
    b, _, equations = forms(spec, n)
    size = b.cell.size
    case = bptt.random_case(b.cell, b.loss, UNROLLED_STEPS, random.Random(f"{spec.name}:unrolled:{rng.random()}"))
    with mpmath.workdps(60):
        params, xs, ys, h0 = bptt.mp_case(case)
        run = bptt.run(b, params, xs, ys, h0, mode="mpmath", gradients=False)
        vals = {**{b.cell.symbols()[k]: v for k, v in params.items()},
                **{nt.Vec(s, 0, size(s)): h0[s] for s in b.cell.states}}
        worst = mpmath.mpf(0)
        for k in range(1, UNROLLED_STEPS + 1):
            vals[b.cell.input(k)] = xs[k - 1]
            for e in equations:
                vals[e.lhs.xreplace({nt.t: k})] = matcalc.evaluate(e.rhs.xreplace({nt.t: k}), vals, "mpmath")
            for s in b.cell.states:
                diff = vals[nt.Vec(s, k, size(s))] - run.states[k][s]
                worst = max([worst, *(abs(d) for d in diff.flat)])
    ok = worst < mpmath.mpf(10) ** -50
    return Outcome(ok, Evidence.NUMERIC, f"{sizes_label(b.cell)}, $T = {UNROLLED_STEPS}$: every state at every step "
                   f"agrees with the forward pass to {float(worst):.1e} (60 digits)")
