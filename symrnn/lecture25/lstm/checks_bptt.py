"""Checks of section ``lstm``'s BPTT through (h_t, c_t): the displayed recursion and weight gradients against the
engine's derived step (:func:`symrnn.autodiff.bptt.derive`, one step, symbolically), the engine against entry-level
differentiation, the whole gradient against the unrolled loss, 50-digit directional derivatives, and finite
differences of the generated NumPy code."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.autodiff import bptt, matcalc, training
from symrnn.core.derivation import Evidence, Identity, Outcome
from symrnn.lecture25.common import fail, ok
from symrnn.lecture25.lstm.formulas import dL, gate, odot, param_term, recurrent_h, vec
from symrnn.models import losses, lstm
from symrnn.models.cells import Cell
from symrnn.numeric import gradcheck
from symrnn.numeric.binding import bind

t = nt.t
SQUARED = losses.squared_error()
_Z = sp.Dummy("z", real=True)
TANH_SLOPE = sp.Lambda(_Z, 1 - sp.tanh(_Z) ** 2)


# ---- the displayed step against the engine ---------------------------------------------------------------------------


def _cell_error(b: bptt.BPTT) -> MatrixExpr:
    """dL/dc_t in the lecture's graph (h_t computed from c_t), from the engine's quantities at time t:
    the part through h_t = o_t phi(c_t) plus rhoc_t, the part through c_{t+1}."""
    cell = b.cell
    o, c = lstm.gates(cell)["o"], cell.current()["c"]
    if cell.name == "lecture_lstm":  # h_t = o_t c_t
        return sp.HadamardProduct(o, b.seed["h"]) + b.rho("c")
    slope_c = c.applyfunc(TANH_SLOPE)  # h_t = o_t tanh(c_t)
    return sp.HadamardProduct(o, slope_c, b.seed["h"]) + b.rho("c")


def engine_mapping(b: bptt.BPTT) -> dict:
    """The displayed quantities at time t as the engine's: dL/dh_t = delta_t, dL/dc_t as in :func:`_cell_error`."""
    cell = b.cell
    n = cell.n_state
    defs: dict = {gate(g, t, n): expr for g, expr in lstm.gates(cell).items()}
    defs[dL(vec("h", t, n))] = b.seed["h"]
    defs[dL(vec("c", t, n))] = _cell_error(b)
    return defs


def entry_values(b: bptt.BPTT) -> dict:
    """Entry symbols for every parameter and every named vector of the engine's step."""
    cell = b.cell
    values = {sym: nt.entry_matrix(name.replace("_", "").lower(), sym.rows, sym.cols, positive=False)
              for name, sym in cell.symbols().items()}
    n, d = int(cell.n_state), int(cell.n_input)
    named = {cell.previous()["h"]: ("hprev", n), cell.previous()["c"]: ("cprev", n), cell.input(): ("x", d),
             cell.current()["h"]: ("hcur", n), cell.current()["c"]: ("ccur", n), b.target: ("y", n),
             b.rho("h"): ("rho", n), b.rho("c"): ("rhoc", n)}
    values.update({v: nt.entry_vector(name, size, positive=False) for v, (name, size) in named.items()})
    return values


def one_step(which: str, sizes=(2, 3), engine_sizes=(2, 3)) -> Callable[[], Iterator[Identity]]:
    """The displayed recursion (``h``, ``c``) or weight gradients (``U``, ``W``) against the engine's step, and
    the engine's step against entry-level sp.diff (its own proof, :func:`symrnn.autodiff.bptt.local_identities`)."""
    def wanted(b: bptt.BPTT) -> set[str]:
        if which in ("h", "c"):
            return {f"rho_{which}"}
        return {q.name for q in b.cell.params if q.name.startswith(which)}

    def build() -> Iterator[Identity]:
        for n in engine_sizes:
            b = bptt.derive(lstm.lecture_lstm(n), SQUARED)
            for what, derived, ref in bptt.local_identities(b, random.Random(n)):
                if what in wanted(b):
                    yield Identity(derived, ref, simplifier="atoms", trials=1,
                                   label=f"$N = {n}$, engine {what} = entry-level `sp.diff`")
        for n in sizes:
            b = bptt.derive(lstm.lecture_lstm(n), SQUARED)
            defs, values = engine_mapping(b), entry_values(b)
            if which == "h":
                pairs = [("rho_h", b.recurrent["h"], recurrent_h(t - 1, n))]
            elif which == "c":
                pairs = [("rho_c", b.recurrent["c"], odot(gate("f", t, n), dL(vec("c", t, n))))]
            else:
                pairs = [(name, b.param_grads[name], param_term(name, t, n)) for name in sorted(wanted(b))]
            for label, derived, shown in pairs:
                yield Identity(matcalc.explicit(derived, values),
                               matcalc.explicit(lstm.computational(shown, defs), values), simplifier="atoms",
                               trials=1, label=f"$N = {n}$, {label}: displayed = engine")
    return build


def standard_one_step() -> Iterator[Identity]:
    """The standard cell's engine step against entry-level sp.diff, and the displayed dL/dc_t one step back."""
    b = bptt.derive(lstm.standard_lstm(2, 2), SQUARED)
    for what, derived, ref in bptt.local_identities(b, random.Random(0)):
        yield Identity(derived, ref, simplifier="atoms", trials=1, label=f"$N = 2$, $D = 2$, engine {what}")
    # the displayed dL/dc_t, one step back: the part through step t is f_t dL/dc_t
    defs, values = engine_mapping(b), entry_values(b)
    shown = odot(gate("f", t, 2), dL(vec("c", t, 2)))
    yield Identity(matcalc.explicit(b.recurrent["c"], values),
                   matcalc.explicit(lstm.computational(shown, defs), values), simplifier="atoms", trials=1,
                   label=r"$N = 2$, $D = 2$, $\vec{\rho}_c$: displayed = engine")


# ---- the whole sequence ----------------------------------------------------------------------------------------------


def _lecture_graph(cell, case: bptt.Case, eps_h: list, eps_c: list) -> sp.Expr:
    """The loss with c_t then h_t = o_t c_t computed in the lecture's order, each perturbed by a symbol vector."""
    gates, step = lstm.gates(cell), cell.step(t)
    prev, x_t = cell.previous(t - 1), cell.input(t)
    base = bind(cell, case.params)
    h, c = case.h0["h"], case.h0["c"]
    total = sp.Integer(0)
    for time, x in enumerate(case.xs, start=1):
        values = {**base, prev["h"]: h, prev["c"]: c, x_t: x}
        o = matcalc.explicit(gates["o"], values)
        c = matcalc.explicit(step["c"], values) + eps_c[time - 1]
        h = o.multiply_elementwise(c) + eps_h[time - 1]
        total += SQUARED.term(h, case.ys[time - 1])
    return total


def _symbolic_case(seed: int, n: int, steps: int, kind: str = ""):
    """A case with symbolic weights (only those whose name starts with ``kind``; the others exact rationals)."""
    cell = lstm.lecture_lstm(n)
    rng = random.Random(seed)
    case = bptt.random_case(cell, SQUARED, steps, rng, symbolic=True)
    rational = bptt.random_case(cell, SQUARED, steps, rng)
    params = {name: v if name.startswith(kind) else rational.params[name] for name, v in case.params.items()}
    case = bptt.Case(params, case.xs, case.ys, case.h0)
    run = bptt.run(bptt.derive(cell, SQUARED), case.params, case.xs, case.ys, case.h0)
    return cell, case, run


def whole_gradient(seed: int, kind: str, n: int = 2, steps: int = 2) -> Iterator[Identity]:
    """BPTT's gradient in the ``kind`` (U or W) weights against sp.diff of the unrolled loss, those weights
    symbolic and the others exact rationals."""
    cell, case, run = _symbolic_case(seed, n, steps, kind)
    total = bptt.unrolled_loss(cell, SQUARED, case.params, case.xs, case.ys, case.h0)
    for name, mat in case.params.items():
        if name.startswith(kind):
            direct = sp.Matrix(mat.rows, mat.cols, lambda r, c, mat=mat: sp.diff(total, mat[r, c]))
            yield Identity(run.grads[name], direct, simplifier="atoms", trials=1,
                           label=f"$N = {n}$, $T = {steps}$, ${name}$: `sp.diff` of the unrolled loss")


def state_errors(seed: int, n: int = 2, steps: int = 2) -> Iterator[Identity]:
    """dL/dh_t and dL/dc_t from the recursion against differentiating the unrolled loss in a perturbation of
    h_t or c_t (c_t perturbed before h_t = o_t c_t is formed, as in the lecture's equations)."""
    cell, case, run = _symbolic_case(seed, n, steps)
    eps_h = [nt.entry_vector(f"eh{s}", n, positive=False) for s in range(steps)]
    eps_c = [nt.entry_vector(f"ec{s}", n, positive=False) for s in range(steps)]
    perturbed = _lecture_graph(cell, case, eps_h, eps_c)
    zero = {e: 0 for v in eps_h + eps_c for e in v}
    o_gate = lstm.gates(cell)["o"]
    for time in range(1, steps + 1):
        d_h = sp.Matrix([sp.diff(perturbed, e).xreplace(zero) for e in eps_h[time - 1]])
        d_c = sp.Matrix([sp.diff(perturbed, e).xreplace(zero) for e in eps_c[time - 1]])
        values = bind(cell, case.params, run.states[time - 1], case.xs[time - 1])
        o = matcalc.explicit(o_gate, values)
        delta = run.deltas[time - 1]
        yield Identity(delta["h"], d_h, simplifier="atoms", trials=1,
                       label=rf"$N = {n}$, $T = {steps}$, $d\mathfrak{{L}}/d\vec{{h}}_{time}$")
        yield Identity(o.multiply_elementwise(delta["h"]) + delta["c"], d_c, simplifier="atoms", trials=1,
                       label=rf"$N = {n}$, $T = {steps}$, $d\mathfrak{{L}}/d\vec{{c}}_{time}$")


def exact(specs: Sequence[tuple[Cell, int]]) -> Callable[[random.Random], Outcome]:
    """BPTT against 50-digit directional derivatives on each (cell, T) of ``specs``."""
    def run(rng: random.Random) -> Outcome:
        details = []
        for cell, steps in specs:
            agreed, _worst, msg = bptt.exact_check(cell, SQUARED, steps, seed=rng.randint(0, 10**6))
            details.append(f"{cell_name(cell)}: {msg}")
            if not agreed:
                return fail(Evidence.EXACT, "; ".join(details))
        return ok(Evidence.EXACT, "; ".join(details))
    return run


def numeric(rng: random.Random) -> Outcome:
    """The generated NumPy code of both cells against finite differences (symrnn.numeric.gradcheck)."""
    details = []
    nrng = np.random.default_rng(rng.randint(0, 10**6))
    for cell, steps in ((lstm.lecture_lstm(4), 8), (lstm.standard_lstm(4, 3), 8)):
        compiled = training.compile_bptt(cell, SQUARED)
        params = {p.name: 0.6 * nrng.normal(size=(p.rows, p.cols)) for p in cell.params}
        xs = nrng.normal(size=(steps, int(cell.n_input), 3))
        ys = nrng.normal(size=(steps, int(cell.n_state), 3))
        h0 = {s: 0.5 * nrng.normal(size=(int(cell.n_state), 3)) for s in cell.states}
        result = gradcheck.gradcheck(compiled, params, xs, ys, h0, max_entries=60, seed=rng.randint(0, 999))
        details.append(f"{cell_name(cell)} ($N = 4$, $T = {steps}$, batch 3): {gradcheck.describe(result)}")
        if not result.passed:
            return fail(Evidence.NUMERIC, "; ".join(details))
    return ok(Evidence.NUMERIC, "generated NumPy code (the training module's compiled BPTT) against "
                                 "`symrnn.numeric.gradcheck`: " + "; ".join(details))


def cell_name(cell: Cell) -> str:
    """A cell's name for the document: the lecture's or the standard LSTM, else its name as code."""
    return {"lecture_lstm": "the lecture's LSTM", "lstm": "the standard LSTM"}.get(cell.name, f"`{cell.name}`")


