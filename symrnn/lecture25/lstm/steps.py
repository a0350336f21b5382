"""Section ``lstm``: exponential forgetting and long short-term memory.

The lecture's LSTM is written exactly as the lecture writes it (five equations, gates without biases, no tanh)
and checked to be the cell :func:`symrnn.lstm.lecture_lstm` that the generic BPTT engine differentiates; the
standard LSTM of ``torch.nn.LSTM`` stands beside it.  The memory cell is solved in closed form, which shows what
the forget gate does that a plain RNN's U cannot.  BPTT through the state pair (h_t, c_t) is printed in the
lecture's notation and checked against the engine (one step, symbolically), against direct differentiation of
the unrolled loss (small sizes, symbolically), at random rational points (50 digits) and on the generated NumPy
code (finite differences).  The plain RNN's own forgetting, h_t = (1/2)^t h_0, is proved in section ``bptt``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.autodiff import bptt, matcalc, training
from symrnn.core.derivation import Computation, Derivation, Evidence, Figure, Identity, Instances, Outcome, Step
from symrnn.models import cells, losses, lstm
from symrnn.models import rnn as rnn_model
from symrnn.models.lstm import Size
from symrnn.numeric import gradcheck
from symrnn.ops import sigmoid

t, T, N, V, j, k = nt.t, nt.T, nt.N, nt.V, nt.j, nt.k
m = sp.Symbol("m", integer=True, positive=True)  # an entry of the cell (the lecture's i is the input gate here)
ix = nt.i  # the lecture's entry index in its BPTT recursion
TAU = sp.Symbol("tau", integer=True, positive=True)  # a summation index over time
D_ = lstm.D
LOSS = sp.Symbol(r"\mathfrak{L}")
SQUARED = losses.squared_error()
HALF = sp.Rational(1, 2)
_Z = sp.Dummy("z", real=True)
TANH_SLOPE = sp.Lambda(_Z, 1 - sp.tanh(_Z) ** 2)
f_, i_, c_, h_ = (sp.IndexedBase(name) for name in ("f", "i", "c", "h"))  # entries: f_{m,j} is entry m of f_j


def eq(lhs, rhs) -> sp.Eq:
    return sp.Eq(lhs, rhs, evaluate=False)


def vec(name: str, time: Size, n: Size = N) -> nt.Vec:
    return nt.Vec(name, time, n)


def gate(name: str, time: Size, n: Size = N) -> nt.Gate:
    return nt.Gate(name, time, n)


def dL(v: sp.Basic, partial: bool = False) -> nt.VecDerivative:  # noqa: N802 - the lecture's d L
    return nt.VecDerivative(LOSS, v, partial)


def odot(*factors: MatrixExpr) -> sp.HadamardProduct:
    return sp.HadamardProduct(*factors, evaluate=False)


def matmul(*factors: MatrixExpr) -> sp.MatMul:
    return sp.MatMul(*factors, evaluate=False)


def slope(g: nt.Gate) -> tuple[MatrixExpr, MatrixExpr]:
    """``g`` and ``1 - g``: the factors of the sigmoid's derivative, written through the gate's value."""
    return g, sp.MatAdd(sp.OneMatrix(*g.shape), -g, evaluate=False)


def time_sum(summand: MatrixExpr) -> sp.Sum:
    """``sum_{t=1}^{T} summand`` with the summand kept as built (``Sum`` multiplies it by its orientation, which
    would put matrix products in canonical order)."""
    return sp.Basic.__new__(sp.Sum, summand, sp.Tuple(t, 1, T))


def _ok(evidence: Evidence, detail: str) -> Outcome:
    return Outcome(True, evidence, detail)


def _fail(evidence: Evidence, detail: str) -> Outcome:
    return Outcome(False, evidence, detail)


# ---- the five equations ------------------------------------------------------------------------------------------


def _entry_formula(key: str, n: int, p: dict, h: sp.Matrix, c: sp.Matrix, x: sp.Matrix) -> sp.Matrix:
    """The lecture's equation ``key`` entry by entry, written here with scalar sums (independent of matcalc)."""
    def gate_entry(g: str, r: int) -> sp.Expr:
        return sigmoid(sum(p[f"U_{g}"][r, q] * h[q] for q in range(n)) + sum(p[f"W_{g}"][r, q] * x[q]
                                                                           for q in range(n)))
    if key in lstm.LECTURE_GATES:
        return sp.Matrix([gate_entry(key, r) for r in range(n)])
    cell = sp.Matrix([gate_entry("f", r) * c[r] + gate_entry("i", r) * x[r] for r in range(n)])
    if key == "c":
        return cell
    return sp.Matrix([gate_entry("o", r) * cell[r] for r in range(n)])


def _equation_check(key: str, shown: sp.Eq) -> Computation:
    """The displayed equation against the cell (symbolic N) and against scalar formulas (N = 2, 3)."""
    def run(rng: random.Random) -> Outcome:
        cell = lstm.lecture_lstm(N)
        target = cell.step()[key] if key in cell.states else lstm.gates(cell)[key]
        if lstm.computational(shown.rhs, lstm.step_definitions(cell)) != target:
            return _fail(Evidence.SYMBOLIC, "the displayed equation is not the cell's step")
        for n in (2, 3):
            small = lstm.lecture_lstm(n)
            p = {q.name: nt.entry_matrix(q.name.replace("_", "").lower(), n, n, positive=False)
                 for q in small.params}
            h, c, x = (nt.entry_vector(s, n, positive=False) for s in ("hprev", "cprev", "x"))
            values = {small.symbols()[name]: v for name, v in p.items()}
            values.update({small.previous()["h"]: h, small.previous()["c"]: c, small.input(): x})
            expr = small.step()[key] if key in small.states else lstm.gates(small)[key]
            got = matcalc.explicit(expr, values)
            if any(sp.expand(d) != 0 for d in got - _entry_formula(key, n, p, h, c, x)):
                return _fail(Evidence.SYMBOLIC, f"N={n}: an entry differs from the scalar formula")
        extra = ""
        if key == "c":
            try:
                lstm.lecture_lstm(3, 2)
            except ValueError:
                extra = "; a cell of 3 with an input of 2 is refused (i_t x_t is elementwise)"
            else:
                return _fail(Evidence.SYMBOLIC, "a cell with an input of another size was accepted")
        return _ok(Evidence.SYMBOLIC, "for symbolic N the displayed equation, gates written out, is the cell's own "
                                      "step expression; at N = 2, 3 every entry equals the scalar formula "
                                      "written with sums" + extra)
    return Computation(run, f"equation {key} vs the cell")


def _unrolled_check(rng: random.Random) -> Outcome:
    n, steps = 2, 3
    cell = lstm.lecture_lstm(n)
    p = {q.name: nt.entry_matrix(q.name.replace("_", "").lower(), n, n, positive=False) for q in cell.params}
    xs = [nt.entry_vector(f"x{s}", n, positive=False) for s in range(1, steps + 1)]
    h0, c0 = nt.entry_vector("hzero", n, positive=False), nt.entry_vector("czero", n, positive=False)
    rows = lstm.unroll(cell, p, xs, h0, c0)
    r1, r2 = rows[0], rows[1]
    shown = sp.Matrix([r2["f"][q] * (r1["f"][q] * c0[q] + r1["i"][q] * xs[0][q]) + r2["i"][q] * xs[1][q]
                       for q in range(n)])
    if any(sp.expand(d) != 0 for d in r2["c"] - shown):
        return _fail(Evidence.SYMBOLIC, "c_2 is not f_2 (f_1 c_0 + i_1 x_1) + i_2 x_2")
    for s, row in enumerate(rows, start=1):
        if any(sp.expand(d) != 0 for d in row["h"] - row["o"].multiply_elementwise(row["c"])):
            return _fail(Evidence.SYMBOLIC, f"h_{s} is not o_{s} c_{s}")
        for state in ("h", "c"):
            free = set().union(*(e.free_symbols for e in row[state]))
            used = {r for r, x in enumerate(xs, start=1) if set(x) & free}
            if used != set(range(1, s + 1)):
                return _fail(Evidence.SYMBOLIC, f"{state}_{s} depends on the inputs at times {sorted(used)}")
    return _ok(Evidence.SYMBOLIC, f"unrolled with symbolic weights, inputs and initial states (N={n}, T={steps}): "
                                  "c_2 is the displayed expression, h_t = o_t c_t at every t, and h_t, c_t depend "
                                  "on x_1..x_t and on no later input")


# ---- forgetting: the cell in closed form --------------------------------------------------------------------------


def closed_form(time: Size, start: Size = 0) -> sp.Expr:
    """Entry m of c_time from c_start: ``(prod f) c_{m,start} + sum_k (prod_{j>k} f) i_{m,k} x_{m,k}``."""
    carried = sp.Mul(sp.Product(f_[m, j], (j, start + 1, time)), c_[m, start], evaluate=False)
    written = sp.Sum(sp.Mul(sp.Product(f_[m, j], (j, k + 1, time)), i_[m, k], nt.x(m, k), evaluate=False),
                     (k, start + 1, time))
    return sp.Add(carried, written, evaluate=False)


def _closed_form_check(rng: random.Random) -> Outcome:
    c0 = c_[m, 0]
    # base case: empty product 1, empty sum 0
    if sp.simplify(closed_form(0).doit() - c0) != 0:
        return _fail(Evidence.SYMBOLIC, "the closed form at t = 0 is not c_0")
    # induction step: with A = prod_{j<t} f_j and S = the sum up to t-1 as opaque symbols, peeling the last
    # factor and the last term (the definitions of prod and sum) turns C(t) into f_t A c_0 + f_t S + i_t x_t.
    A, S = sp.symbols("A S")  # noqa: N806
    ft, it, xt = f_[m, t], i_[m, t], nt.x(m, t)
    peeled = ft * A * c0 + ft * S + it * xt
    recursion = ft * (A * c0 + S) + it * xt  # f_t C(t-1) + i_t x_t, with C(t-1) = A c_0 + S
    if sp.expand(peeled - recursion) != 0:
        return _fail(Evidence.SYMBOLIC, "the induction step fails")
    # the peeling rules and the closed form, unfolded for t = 1..8 (every Sum and Product written out)
    for time in range(1, 9):
        prod = sp.Product(f_[m, j], (j, 1, time)).doit()
        if sp.expand(prod - f_[m, time] * sp.Product(f_[m, j], (j, 1, time - 1)).doit()) != 0:
            return _fail(Evidence.SYMBOLIC, f"peeling the product fails at t={time}")
        rec = c0
        for s in range(1, time + 1):
            rec = f_[m, s] * rec + i_[m, s] * nt.x(m, s)
        if sp.expand(closed_form(time).doit() - rec) != 0:
            return _fail(Evidence.SYMBOLIC, f"the closed form differs from the recursion at t={time}")
    # numerically, on the lecture's cell with random weights: c_t from the cell vs the closed form of its gates
    nrng = np.random.default_rng(rng.randint(0, 10**6))
    cell = lstm.lecture_lstm(3)
    params = {p.name: nrng.normal(size=(p.rows, p.cols)) for p in cell.params}
    xs, c_init = nrng.normal(size=(20, 3)), nrng.normal(size=3)
    rows = lstm.trace(cell, params, xs, nrng.normal(size=3), c_init)
    closed = lstm.cell_closed_form([r["f"] for r in rows], [r["i"] for r in rows], list(xs), c_init)
    err = max(float(np.max(np.abs(a - r["c"]))) for a, r in zip(closed, rows, strict=True))
    if err > 1e-12:
        return _fail(Evidence.NUMERIC, f"the closed form of the cell's own gates differs from c_t by {err:.1e}")
    return _ok(Evidence.SYMBOLIC, "induction: t = 0 gives c_0; the step C(t) = f_t C(t-1) + i_t x_t holds as "
                                  "algebra once the last factor and the last term are peeled off (the "
                                  "definitions of the product and the sum, also checked written out for "
                                  "t = 1..8, where the closed form equals the recursion as polynomials); on the "
                                  f"lecture's cell (N=3, T=20, random weights) it reproduces c_t to {err:.0e}")


def _rnn_special_case(rng: random.Random) -> Outcome:
    """The linear RNN with U = (1/2) I is the cell with f = 1/2, i = 1 and x_k replaced by W x_k."""
    z = sp.IndexedBase("z")  # entry m of W x_k
    special = closed_form(t).xreplace({f_[m, j]: HALF, i_[m, k]: 1, nt.x(m, k): z[m, k], c_[m, 0]: h_[m, 0]})
    claimed = HALF**t * h_[m, 0] + sp.Sum(HALF ** (t - k) * z[m, k], (k, 1, t))
    if sp.simplify(special.doit() - claimed) != 0:
        return _fail(Evidence.SYMBOLIC, "the closed form with f = 1/2, i = 1 is not the claimed sum")
    n, n_in = 2, 3
    W = nt.entry_matrix("w", n, n_in, positive=False)  # noqa: N806
    h0 = nt.entry_vector("hzero", n, positive=False)
    xs = [nt.entry_vector(f"x{s}", n_in, positive=False) for s in range(1, 7)]
    net = rnn_model.RNN(HALF * sp.eye(n), W, "identity", h0)
    for s, h in enumerate(net.run_inputs(xs), start=1):
        want = HALF**s * h0 + sum((HALF ** (s - q) * W * xs[q - 1] for q in range(1, s + 1)), sp.zeros(n, 1))
        if any(sp.expand(d) != 0 for d in sp.Matrix(h) - want):
            return _fail(Evidence.SYMBOLIC, f"the linear RNN's h_{s} differs from the formula")
    return _ok(Evidence.SYMBOLIC, "with f_j = 1/2, i_k = 1 and W x_k in place of x_k, the cell's closed form is "
                                  "(1/2)^t h_0 + sum_k (1/2)^(t-k) W x_k for symbolic t; symrnn's linear RNN with "
                                  "U = (1/2) I (N=2, symbolic W, x_k, h_0) gives exactly this for t = 1..6")


def _survival_check(rng: random.Random) -> Outcome:
    for start in range(0, 3):
        for time in range(start, start + 7):
            rec = c_[m, start]
            for s in range(start + 1, time + 1):
                rec = f_[m, s] * rec + i_[m, s] * nt.x(m, s)
            want = sp.Product(f_[m, j], (j, start + 1, time)).doit()
            if sp.expand(sp.diff(rec, c_[m, start]) - want) != 0:
                return _fail(Evidence.SYMBOLIC, f"dc_{time}/dc_{start} is not the product of the forget gates")
            if sp.expand(sp.diff(closed_form(time, start).doit(), c_[m, start]) - want) != 0:
                return _fail(Evidence.SYMBOLIC, "the closed form's derivative differs")
    return _ok(Evidence.SYMBOLIC, "the recursion differentiated in c_k, gates held fixed, gives the product of the "
                                  "forget gates, for k = 0, 1, 2 and t = k..k+6; so does the closed form")


# ---- BPTT in the lecture's notation -------------------------------------------------------------------------------


def recurrent_h(s: Size, n: Size = N) -> sp.MatAdd:
    """What h_s does to the loss through step s+1: through o_{s+1} (into h_{s+1}) and f, i (into c_{s+1})."""
    U = {g: nt.matrix(f"U_{g}", n, n) for g in lstm.LECTURE_GATES}  # noqa: N806
    f1, i1, o1 = (gate(g, s + 1, n) for g in lstm.LECTURE_GATES)
    dh, dc = dL(vec("h", s + 1, n)), dL(vec("c", s + 1, n))
    return sp.MatAdd(matmul(U["o"].T, odot(dh, vec("c", s + 1, n), *slope(o1))),
                     matmul(U["f"].T, odot(dc, vec("c", s, n), *slope(f1))),
                     matmul(U["i"].T, odot(dc, vec("x", s + 1, n), *slope(i1))), evaluate=False)


def dh_equation(s: Size = t, n: Size = N) -> sp.Eq:
    return eq(dL(vec("h", s, n)), sp.MatAdd(dL(vec("h", s, n), partial=True), *recurrent_h(s, n).args,
                                            evaluate=False))


def dc_equation(s: Size = t, n: Size = N) -> sp.Eq:
    return eq(dL(vec("c", s, n)), sp.MatAdd(odot(gate("o", s, n), dL(vec("h", s, n))),
                                            odot(gate("f", s + 1, n), dL(vec("c", s + 1, n))), evaluate=False))


def param_term(name: str, s: Size = t, n: Size = N) -> sp.MatMul:
    """Step s's contribution to dL/d(name), for the lecture's six weight matrices."""
    kind, g = name.split("_")
    carry = {"f": vec("c", s - 1, n), "i": vec("x", s, n), "o": vec("c", s, n)}[g]
    error = dL(vec("h", s, n)) if g == "o" else dL(vec("c", s, n))
    source = vec("h", s - 1, n) if kind == "U" else vec("x", s, n)
    return matmul(odot(error, carry, *slope(gate(g, s, n))), source.T)


def param_equations(kind: str, n: Size = N) -> tuple[sp.Eq, ...]:
    return tuple(eq(dL(nt.matrix(f"{kind}_{g}", n, n)), time_sum(param_term(f"{kind}_{g}", t, n)))
                 for g in lstm.LECTURE_GATES)


def _cell_error(b: bptt.BPTT) -> MatrixExpr:
    """dL/dc_t in the lecture's graph (h_t computed from c_t), from the engine's quantities at time t:
    the part through h_t = o_t phi(c_t) plus rhoc_t, the part through c_{t+1}."""
    cell = b.cell
    o, c = lstm.gates(cell)["o"], cell.current()["c"]
    if cell.name == "lecture_lstm":  # h_t = o_t c_t
        return sp.HadamardProduct(o, b.seed["h"]) + b.rho("c")
    slope_c = c.applyfunc(TANH_SLOPE)  # h_t = o_t tanh(c_t)
    return sp.HadamardProduct(o, slope_c, b.seed["h"]) + b.rho("c")


def _engine_mapping(b: bptt.BPTT) -> dict:
    """The displayed quantities at time t as the engine's: dL/dh_t = delta_t, dL/dc_t as in :func:`_cell_error`."""
    cell = b.cell
    n = cell.n_state
    defs: dict = {gate(g, t, n): expr for g, expr in lstm.gates(cell).items()}
    defs[dL(vec("h", t, n))] = b.seed["h"]
    defs[dL(vec("c", t, n))] = _cell_error(b)
    return defs


def _entry_values(b: bptt.BPTT) -> dict:
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


def _one_step(which: str, sizes=(2, 3), engine_sizes=(2, 3)) -> Callable[[], Iterator[Identity]]:
    """The displayed recursion (``h``, ``c``) or weight gradients (``U``, ``W``) against the engine's step, and
    the engine's step against entry-level sp.diff (its own proof, :func:`symrnn.bptt.local_identities`)."""
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
                                   label=f"N={n}, engine {what} = entry-level sp.diff")
        for n in sizes:
            b = bptt.derive(lstm.lecture_lstm(n), SQUARED)
            defs, values = _engine_mapping(b), _entry_values(b)
            if which == "h":
                pairs = [("rho_h", b.recurrent["h"], recurrent_h(t - 1, n))]
            elif which == "c":
                pairs = [("rho_c", b.recurrent["c"], odot(gate("f", t, n), dL(vec("c", t, n))))]
            else:
                pairs = [(name, b.param_grads[name], param_term(name, t, n)) for name in sorted(wanted(b))]
            for label, derived, shown in pairs:
                yield Identity(matcalc.explicit(derived, values),
                               matcalc.explicit(lstm.computational(shown, defs), values), simplifier="atoms",
                               trials=1, label=f"N={n}, {label}: displayed = engine")
    return build


def _lecture_graph(cell, case: bptt.Case, eps_h: list, eps_c: list) -> sp.Expr:
    """The loss with c_t then h_t = o_t c_t computed in the lecture's order, each perturbed by a symbol vector."""
    gates, step = lstm.gates(cell), cell.step(t)
    prev, x_t = cell.previous(t - 1), cell.input(t)
    base = {cell.symbols()[name]: v for name, v in case.params.items()}
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
    exact = bptt.random_case(cell, SQUARED, steps, rng)
    params = {name: v if name.startswith(kind) else exact.params[name] for name, v in case.params.items()}
    case = bptt.Case(params, case.xs, case.ys, case.h0)
    run = bptt.run(bptt.derive(cell, SQUARED), case.params, case.xs, case.ys, case.h0)
    return cell, case, run


def _whole_gradient(seed: int, kind: str, n: int = 2, steps: int = 2) -> Iterator[Identity]:
    """BPTT's gradient in the ``kind`` (U or W) weights against sp.diff of the unrolled loss, those weights
    symbolic and the others exact rationals."""
    cell, case, run = _symbolic_case(seed, n, steps, kind)
    total = bptt.unrolled_loss(cell, SQUARED, case.params, case.xs, case.ys, case.h0)
    for name, mat in case.params.items():
        if name.startswith(kind):
            direct = sp.Matrix(mat.rows, mat.cols, lambda r, c, mat=mat: sp.diff(total, mat[r, c]))
            yield Identity(run.grads[name], direct, simplifier="atoms", trials=1,
                           label=f"N={n}, T={steps}, dL/d{name} = sp.diff of the unrolled loss")


def _state_errors(seed: int, n: int = 2, steps: int = 2) -> Iterator[Identity]:
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
        values = {cell.symbols()[name]: v for name, v in case.params.items()}
        values.update({cell.previous()[s]: run.states[time - 1][s] for s in cell.states})
        values[cell.input()] = case.xs[time - 1]
        o = matcalc.explicit(o_gate, values)
        delta = run.deltas[time - 1]
        yield Identity(delta["h"], d_h, simplifier="atoms", trials=1, label=f"N={n}, T={steps}, dL/dh_{time}")
        yield Identity(o.multiply_elementwise(delta["h"]) + delta["c"], d_c, simplifier="atoms", trials=1,
                       label=f"N={n}, T={steps}, dL/dc_{time}")


def _exact(specs) -> Callable[[random.Random], Outcome]:
    def run(rng: random.Random) -> Outcome:
        details = []
        for cell, steps in specs:
            ok, _worst, msg = bptt.exact_check(cell, SQUARED, steps, seed=rng.randint(0, 10**6))
            details.append(f"{cell.name}: {msg}")
            if not ok:
                return _fail(Evidence.EXACT, "; ".join(details))
        return _ok(Evidence.EXACT, "; ".join(details))
    return run


def _numeric(rng: random.Random) -> Outcome:
    details = []
    nrng = np.random.default_rng(rng.randint(0, 10**6))
    for cell, steps in ((lstm.lecture_lstm(4), 8), (lstm.standard_lstm(4, 3), 8)):
        compiled = training.compile_bptt(cell, SQUARED)
        params = {p.name: 0.6 * nrng.normal(size=(p.rows, p.cols)) for p in cell.params}
        xs = nrng.normal(size=(steps, int(cell.n_input), 3))
        ys = nrng.normal(size=(steps, int(cell.n_state), 3))
        h0 = {s: 0.5 * nrng.normal(size=(int(cell.n_state), 3)) for s in cell.states}
        result = gradcheck.gradcheck(compiled, params, xs, ys, h0, max_entries=60, seed=rng.randint(0, 999))
        details.append(f"{cell.name} (N=4, T={steps}, batch 3): {result.message}")
        if not result.passed:
            return _fail(Evidence.NUMERIC, "; ".join(details))
    return _ok(Evidence.NUMERIC, "generated NumPy code (symrnn.training.compile_bptt) against "
                                 "symrnn.gradcheck: " + "; ".join(details))


# ---- the standard LSTM ---------------------------------------------------------------------------------------------


def _np_sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _torch_docs_forward(packed: dict, xs: np.ndarray, h: np.ndarray, c: np.ndarray) -> list[tuple]:
    """PyTorch's documented LSTM on its packed arrays, written here in NumPy (gate order i, f, g, o)."""
    H = h.shape[0]  # noqa: N806
    out = []
    for x in xs:
        z = packed["weight_ih_l0"] @ x + packed["bias_ih_l0"] + packed["weight_hh_l0"] @ h + packed["bias_hh_l0"]
        ig, fg, gg, og = (z[q * H:(q + 1) * H] for q in range(4))
        c = _np_sigmoid(fg) * c + _np_sigmoid(ig) * np.tanh(gg)
        h = _np_sigmoid(og) * np.tanh(c)
        out.append((h, c))
    return out


def _standard_equations_check(rng: random.Random) -> Outcome:
    cell = lstm.standard_lstm()
    defs = lstm.step_definitions(cell)
    for key, shown in lstm.standard_equations().items():
        target = cell.step()[key] if key in cell.states else lstm.gates(cell)[key]
        if lstm.computational(shown.rhs, defs) != target:
            return _fail(Evidence.SYMBOLIC, f"the displayed {key} is not the cell's step")
    nrng = np.random.default_rng(rng.randint(0, 10**6))
    worst = 0.0
    for n, d in ((3, 2), (5, 4)):
        small = lstm.standard_lstm(n, d)
        packed = {"weight_ih_l0": nrng.normal(size=(4 * n, d)), "weight_hh_l0": nrng.normal(size=(4 * n, n)),
                  "bias_ih_l0": nrng.normal(size=4 * n), "bias_hh_l0": nrng.normal(size=4 * n)}
        xs, h0, c0 = nrng.normal(size=(12, d)), nrng.normal(size=n), nrng.normal(size=n)
        rows = lstm.trace(small, lstm.unpack(**{k_[:-3]: v for k_, v in packed.items()}), xs, h0, c0)
        for row, (h, c) in zip(rows, _torch_docs_forward(packed, xs, h0, c0), strict=True):
            worst = max(worst, float(np.max(np.abs(row["h"] - h))), float(np.max(np.abs(row["c"] - c))))
    if worst > 1e-12:
        return _fail(Evidence.NUMERIC, f"the cell differs from PyTorch's documented formulas by {worst:.1e}")
    return _ok(Evidence.SYMBOLIC, "for symbolic N and D each displayed equation, gates written out, is the cell's "
                                  "step; run from PyTorch's packed layout (N=3, D=2 and N=5, D=4, T=12) the cell "
                                  f"matches the documented formulas written in NumPy to {worst:.0e} (float64)")


def _packing_check(rng: random.Random) -> Outcome:
    H, D = 3, 2  # noqa: N806
    code = np.arange(4 * H)[:, None]  # each row names its gate and row: 1000 * gate + row
    w_ih = 1000 * (code // H) + code % H + 0.01 * np.arange(D)[None, :]
    w_hh = -w_ih[:, :1] - 0.01 * np.arange(H)[None, :]
    b_ih, b_hh = w_ih[:, 0] + 0.5, w_ih[:, 0] + 0.25
    params = lstm.unpack(w_ih, w_hh, b_ih, b_hh)
    for q, g in enumerate(("i", "f", "g", "o")):
        rows = slice(q * H, (q + 1) * H)
        for name, want in ((f"W_{g}", w_ih[rows]), (f"U_{g}", w_hh[rows]), (f"b_i{g}", b_ih[rows, None]),
                           (f"b_h{g}", b_hh[rows, None])):
            if not np.array_equal(params[name], want):
                return _fail(Evidence.EXACT, f"{name} is not rows {q * H}..{(q + 1) * H - 1} of PyTorch's tensor")
    back = lstm.pack(params)
    for name, want in (("weight_ih_l0", w_ih), ("weight_hh_l0", w_hh), ("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)):
        if not np.array_equal(back[name], want):
            return _fail(Evidence.EXACT, f"pack(unpack(...)) changes {name}")
    return _ok(Evidence.EXACT, "on tensors whose entries name their gate and row: unpack puts rows kH..(k+1)H-1 of "
                               "each tensor into gate k of (i, f, g, o), and pack(unpack(...)) returns the same "
                               "tensors bit for bit")


def _differences_check(rng: random.Random) -> Outcome:
    lecture, standard = lstm.lecture_lstm(), lstm.standard_lstm(N, N)  # the table's input: one x_t, D = N
    for cell, shown in ((lecture, lstm.lecture_equations()), (standard, lstm.standard_equations(N, N))):
        defs = lstm.step_definitions(cell)
        for key, e in shown.items():
            target = cell.step()[key] if key in cell.states else lstm.gates(cell)[key]
            if lstm.computational(e.rhs, defs) != target:
                return _fail(Evidence.SYMBOLIC, f"{cell.name}: the table's {key} is not the cell's")
    # same weights, zero biases: the two cells still differ (tanh candidate and tanh output)
    n = 2
    small_l, small_s = lstm.lecture_lstm(n), lstm.standard_lstm(n, n)
    weights = {f"{kind}_{g}": sp.Matrix(n, n, lambda *_: sp.Rational(rng.randint(-9, 9), 6))
               for kind in ("U", "W") for g in ("i", "f", "g", "o")}
    biases = {f"b_{side}{g}": sp.zeros(n, 1) for side in ("i", "h") for g in ("i", "f", "g", "o")}
    xs = [sp.Matrix(n, 1, lambda *_: sp.Rational(rng.randint(1, 9), 4))]
    h0, c0 = sp.zeros(n, 1), sp.zeros(n, 1)
    a = lstm.unroll(small_l, {q.name: weights[q.name] for q in small_l.params}, xs, h0, c0)[0]
    b = lstm.unroll(small_s, {**weights, **biases}, xs, h0, c0)[0]
    gap_c = max(abs(nt.numeric(a["c"][r] - b["c"][r], 30)) for r in range(n))
    gap_h = max(abs(nt.numeric(a["h"][r] - b["h"][r], 30)) for r in range(n))
    if not (gap_c > 1e-20 and gap_h > 1e-20):
        return _fail(Evidence.EXACT, "the two cells agreed at the random point")
    return _ok(Evidence.EXACT, "every equation in the table is its cell's step (symbolic N, D = N); with equal "
                               "weights and zero biases the two cells still differ at a random rational point: c_1 "
                               "by up to "
                               f"{nt.decimal_text(gap_c, 3)}, h_1 by up to {nt.decimal_text(gap_h, 3)} (30 digits)")


def _table() -> nt.Table:
    """Both cells on one input x_t: the standard LSTM with D = N, the size the lecture's cell needs (each name has
    one size in the table, so the printed table reads back as the object it was printed from)."""
    lec, std = lstm.lecture_equations(), lstm.standard_equations(N, N)
    W = nt.Words  # noqa: N806

    def biases(g):
        return sp.Tuple(W("adds the biases"), sp.MatAdd(nt.matrix(f"b_i{g}", N, 1), nt.matrix(f"b_h{g}", N, 1),
                                                       evaluate=False))
    rows = [
        [W("forget gate"), lec["f"], std["f"], biases("f")],
        [W("input gate"), lec["i"], std["i"], biases("i")],
        [W("output gate"), lec["o"], std["o"], biases("o")],
        [W("candidate"), W("none"), std["g"], sp.Tuple(W("a tanh layer of"), vec("x", t), W("and"),
                                                       vec("h", t - 1))],
        [W("cell"), lec["c"], std["c"], sp.Tuple(gate("g", t), W("in place of"), vec("x", t))],
        [W("output"), lec["h"], std["h"], sp.Tuple(W("tanh keeps"), vec("h", t), W("between -1 and 1"))],
    ]
    return nt.Table(["equation", "lecture", "PyTorch (nn.LSTM)", "what differs"], rows)


# ---- the figure ----------------------------------------------------------------------------------------------------


def forgetting_data(steps: int = 30, seed: int = 0) -> dict:
    """Survival of the step-1 contents and ||dL/dh_1|| (loss at step T only) for the RNN and two LSTMs."""
    rng = np.random.default_rng(seed)
    n = 2
    xs = rng.uniform(0.5, 1.5, size=(steps, n))
    cell = lstm.lecture_lstm(n)
    small = {p.name: 0.1 * rng.normal(size=(p.rows, p.cols)) for p in cell.params}
    small["W_i"] = small["W_i"] - 2.0 * np.eye(n)  # write a little at each step: the lecture's c_t is unbounded
    out: dict = {"t": np.arange(1, steps + 1), "rnn": 0.5 ** np.arange(steps)}
    setups = {}
    for label, sign in (("near 1", 1.0), ("near 0", -1.0)):
        params = dict(small, W_f=sign * 5.0 * np.eye(n) + small["W_f"])
        setups[label] = params
        rows = lstm.trace(cell, params, xs)
        f = np.array([r["f"][0] for r in rows])
        out[f"lstm {label}"] = np.concatenate([[1.0], np.cumprod(f[1:])])  # prod_{j=2..t} f_j
        out[f"f {label}"] = (float(f.min()), float(f.max()))
    b_lstm = bptt.derive(cell, SQUARED)
    b_rnn = bptt.derive(cells.rnn(n, n, "identity"), SQUARED)
    rnn_params = {"U": 0.5 * np.eye(n), "W": np.eye(n)}
    zeros = {"h": np.zeros((n, 1)), "c": np.zeros((n, 1))}
    seq = [x[:, None] for x in xs]
    models = {"rnn": (b_rnn, rnn_params, {"h": zeros["h"]})}
    models.update({f"lstm {label}": (b_lstm, params, zeros) for label, params in setups.items()})
    # the engine's own forward pass, so that a zero error before step T is exactly zero
    states = {key: [st[b.cell.output] for st in bptt.run(b, params, seq, [zeros["h"]] * steps, h0,
                                                         mode="numpy").states[1:]]
              for key, (b, params, h0) in models.items()}
    grads: dict = {key: [] for key in models}
    for length in range(1, steps + 1):
        for key, (b, params, h0) in models.items():
            ys = list(states[key][:length])  # no error before step T ...
            ys[-1] = ys[-1] - 1.0  # ... and an error of one in every entry at step T
            run = bptt.run(b, params, seq[:length], ys, h0, mode="numpy")
            grads[key].append(float(np.linalg.norm(run.deltas[0]["h"])))
    out["grads"] = {key: np.array(v) for key, v in grads.items()}
    return out


def _forgetting_figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = forgetting_data()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    ts = data["t"]
    ax1.semilogy(ts, data["rnn"], "k-", label=r"RNN, $U = 1/2$: $(1/2)^{t-1}$")
    for label, style in (("near 1", "b-"), ("near 0", "r-")):
        lo, hi = data[f"f {label}"]
        ax1.semilogy(ts, data[f"lstm {label}"], style,
                     label=rf"LSTM, $f_t$ in [{lo:.3f}, {hi:.3f}]: $f_2 f_3 \cdots f_t$")
    ax1.set_xlabel("t")
    ax1.set_ylabel("fraction of the step-1 contents left")
    ax1.set_ylim(1e-30, 2)
    ax1.legend(fontsize=8)
    ax2.semilogy(ts, data["grads"]["rnn"], "k-", label="RNN, U = 1/2, linear g")
    ax2.semilogy(ts, data["grads"]["lstm near 1"], "b-", label="LSTM, forget gates near 1")
    ax2.semilogy(ts, data["grads"]["lstm near 0"], "r-", label="LSTM, forget gates near 0")
    ax2.set_xlabel("T (loss at step T only)")
    ax2.set_ylabel(r"$\|d\mathfrak{L}/d\vec{h}_1\|$")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ---- the derivation ------------------------------------------------------------------------------------------------


LOCATORS = {"f": "Forget Gate</u>:", "i": "Input Gate:", "o": "Output Gate</u>:", "c": "Cell</u>:",
            "h": "Output:</u>"}
TITLES = {"f": "Forget gate", "i": "Input gate", "o": "Output gate", "c": "The memory cell", "h": "The output"}
REASONS = {
    "f": "A sigmoid of the previous output and the current input, entry by entry: each entry of f_t lies strictly "
         "between 0 and 1 and says how much of the same entry of the memory cell to keep.",
    "i": "The same form with its own weights: how much of the input to write into the cell.",
    "o": "The same form again: how much of the cell to show as the output h_t.",
    "c": "Gates and vectors multiply entry by entry (the lecture writes the product by juxtaposition; symrnn "
         "means the elementwise product). Because i_t multiplies x_t entrywise, the input must have as many "
         "entries as the cell: x_t is an N-vector here, not the V+1 one-hot vector of the RNN section.",
    "h": "The output is the cell scaled by the output gate, with no squashing: h_t grows with c_t.",
}
NOTES = {
    "f": "The lecture writes the gates f_t, i_t, o_t without arrows; they are N-vectors (sigma applies entry by "
         "entry), so symrnn prints them as the lecture does but computes with vectors.",
    "c": "The lecture's product f_t c_{t-1} is elementwise (a gate vector times a cell vector), and i_t x_t "
         "needs x_t to have the cell's N entries.",
}


def derivation(seed: int = 0) -> Derivation:
    """The section's steps: forgetting, the lecture's LSTM, its closed form, BPTT, and the standard LSTM."""
    lec = lstm.lecture_equations()
    h_t, c_t = vec("h", t), vec("c", t)
    steps = [Step(f"lstm-{key}", TITLES[key], lec[key], REASONS[key], _equation_check(key, lec[key]),
                  lecture=LOCATORS[key], lecture_note=NOTES.get(key, "")) for key in ("f", "i", "o", "c", "h")]
    f1, i1, f2, i2 = gate("f", 1), gate("i", 1), gate("f", 2), gate("i", 2)
    first = sp.MatAdd(nt.Juxtaposed(f1, vec("c", 0)), nt.Juxtaposed(i1, vec("x", 1)), evaluate=False)
    steps += [
        Step("lstm-unrolled", "Unrolled",
             (eq(vec("c", 1), first), eq(vec("c", 2), sp.MatAdd(nt.Juxtaposed(f2, first),
                                                                nt.Juxtaposed(i2, vec("x", 2)), evaluate=False))),
             "Run forward from h_0 and c_0, each gate computed from the previous output and the current input. "
             "symrnn unrolls the cell for any T (symrnn.lstm.unroll), one named step at a time.",
             Computation(_unrolled_check, "unrolled cell")),
        Step("cell-closed-form", "The memory cell in closed form",
             eq(c_[m, t], closed_form(t)),
             "Entry m of the cell keeps its initial value scaled by every forget gate since, plus each input "
             "written at step k (i_k x_k) scaled by the forget gates after it. With c_0 = 0 only the sum remains.",
             Computation(_closed_form_check, "closed form by induction")),
        Step("rnn-as-cell", "A plain RNN is the cell with constant gates",
             eq(h_t, sp.Add(HALF**t * vec("h", 0), sp.Sum(HALF ** (t - TAU) * nt.matrix("W", N, V + 1)
                                                            * vec("x", TAU, V + 1), (TAU, 1, t)), evaluate=False)),
             "The lecture: \"just like a regular RNN, except that now f_t and i_t are not constant\". The linear "
             "RNN h_t = (1/2) h_{t-1} + W x_t is the cell with f_t = 1/2, i_t = 1 and W x_t written into it, so "
             "its closed form follows; without input it is section bptt's h_t = (1/2)^t h_0. The RNN's U is a "
             "matrix, the LSTM's f_t a diagonal one that the network sets at every step.",
             Computation(_rnn_special_case, "the RNN as a special case")),
        Step("survival", "How much survives",
             eq(nt.PartialDerivative(c_[m, t], c_[m, k]), sp.Product(f_[m, j], (j, k + 1, t))),
             "Along the cell, gates held fixed, what was in the cell at step k reaches step t multiplied by the "
             "forget gates in between. For the RNN with U = 1/2 the factor is (1/2)^(t-k), whatever the input; "
             "the LSTM sets f_j from its input: near 1 it keeps its memory for many steps, near 0 it forgets at "
             "once. Since 0 < sigma < 1, the product always shrinks a little (0.99 per step leaves about 0.37 "
             "after 100 steps). The figure compares the two, and the size of the gradient that reaches h_1.",
             Computation(_survival_check, "derivative along the cell")),
        Step("bptt-entries", "Back-propagation through time with two states",
             (eq(nt.TotalDerivative(LOSS, h_[ix, t]), sp.Add(
                 nt.PartialDerivative(LOSS, h_[ix, t]),
                 nt.StateSum(sp.Add(sp.Mul(nt.TotalDerivative(LOSS, h_[j, t + 1]),
                                           nt.PartialDerivative(h_[j, t + 1], h_[ix, t]), evaluate=False),
                                    sp.Mul(nt.TotalDerivative(LOSS, c_[j, t + 1]),
                                           nt.PartialDerivative(c_[j, t + 1], h_[ix, t]), evaluate=False),
                                    evaluate=False), j), evaluate=False)),
              eq(nt.TotalDerivative(LOSS, c_[ix, t]), sp.Add(
                  sp.Mul(nt.TotalDerivative(LOSS, h_[ix, t]), nt.PartialDerivative(h_[ix, t], c_[ix, t]),
                         evaluate=False),
                  sp.Mul(nt.TotalDerivative(LOSS, c_[ix, t + 1]), nt.PartialDerivative(c_[ix, t + 1], c_[ix, t]),
                         evaluate=False), evaluate=False))),
             "The lecture's recursion, for the LSTM's two states. h_{i,t} reaches the loss directly, through the "
             "output gate of step t+1 (into h_{t+1}, with c_{t+1} held fixed) and through the forget and input "
             "gates of step t+1 (into c_{t+1}). c_{i,t} reaches it through h_{i,t} = o_{i,t} c_{i,t} and through "
             "c_{i,t+1} = f_{i,t+1} c_{i,t} + i_{i,t+1} x_{i,t+1}: entry i only, since gates multiply entrywise. "
             "Checked on the whole sequence: perturb h_t or c_t inside the unrolled loss and differentiate.",
             Instances(lambda: _state_errors(seed), "recursion vs direct differentiation of the unrolled loss"),
             lecture=r"\frac{d\mathfrak{L}}{dh_{i,t}} = \frac{\partial\mathfrak{L}}{\partial h_{i,t}} + \frac{d",
             lecture_note="The lecture's recursion has one state. The LSTM's h_t also reaches the future through "
                          "c_{t+1}'s gates, and c_t has a recursion of its own; symrnn writes the sum over the "
                          "next step's entries j, which the lecture leaves implicit."),
        Step("bptt-h", "The gradient in h_t",
             dh_equation(),
             "In vectors: each gate's sigmoid contributes its slope g (1 - g), and the gate's recurrent matrix "
             "carries the error back to h_t. This is the engine's derived step (symrnn.bptt.derive on the cell, "
             "squared error) with the gates named; proved one step at a time, which by induction on T - t proves "
             "it for every T.",
             Instances(_one_step("h", engine_sizes=(2,)), "displayed step (N=2, 3) = engine's step = entry-level "
                                                          "sp.diff (N=2)")),
        Step("bptt-c", "The gradient in c_t",
             dc_equation(),
             "The cell's error comes from the output (through o_t) and from the next cell (through f_{t+1}); with "
             "forget gates near 1 it passes back along the cell almost unchanged, which is how the LSTM keeps "
             "gradients from vanishing. At t = T the second term is 0.",
             Instances(_one_step("c"), "displayed step = engine's step = entry-level sp.diff")),
        Step("bptt-weights-u", "The gradients in the recurrent weights",
             param_equations("U"),
             "Each step adds the gate's error, through its slope, times the previous output (h_{t-1} held "
             "fixed). For T = 2 the loss is also expanded into one expression and differentiated directly.",
             Instances(lambda: [*_one_step("U", sizes=(2, 3), engine_sizes=(2,))(), *_whole_gradient(seed, "U")],
                       "displayed = engine = entry-level sp.diff; whole gradient = sp.diff")),
        Step("bptt-weights-w", "The gradients in the input weights",
             param_equations("W"),
             "The same with the input x_t in place of h_{t-1}.",
             Instances(lambda: [*_one_step("W", sizes=(2, 3), engine_sizes=(2,))(), *_whole_gradient(seed, "W")],
                       "displayed = engine = entry-level sp.diff; whole gradient = sp.diff")),
        Step("bptt-exact", "Larger sizes, 50 digits",
             eq(dL(nt.matrix("U_f", N, N)), time_sum(param_term("U_f"))),
             "Too large to expand: the recursion is evaluated at a random rational point to 90 digits and compared "
             "with a central difference of step 1e-35 along random directions (section bptt's exact check).",
             Computation(_exact(((lstm.lecture_lstm(5), 10), (lstm.standard_lstm(3, 2), 8))),
                         "BPTT vs 50-digit directional derivatives")),
        Step("bptt-numeric", "The generated training code",
             eq(dL(nt.matrix("W_o", N, N)), time_sum(param_term("W_o"))),
             "symrnn.training.compile_bptt turns the same derived step into NumPy kernels over a batch; central "
             "finite differences of its loss check its gradients in float64.",
             Computation(_numeric, "generated code vs finite differences")),
        Step("standard-lstm", "The standard LSTM (torch.nn.LSTM)",
             nt.Table(["equation", "PyTorch (nn.LSTM)"], [[nt.Words(name), e] for name, e in zip(
                 ("input gate", "forget gate", "candidate", "output gate", "cell", "output"),
                 lstm.standard_equations().values(), strict=True)]),
             "PyTorch's equations with symrnn's names: W for input weights (N x D), U for recurrent ones, two "
             "biases per gate, a tanh candidate g_t, and tanh on the output. The input has its own size D.",
             Computation(_standard_equations_check, "standard cell vs PyTorch's documented formulas")),
        Step("torch-packing", "PyTorch's packed tensors",
             (eq(sp.MatrixSymbol("W_ih", 4 * N, D_), sp.BlockMatrix([[nt.matrix(f"W_{g}", N, D_)]
                                                                     for g in lstm.TORCH_GATES])),
              eq(sp.MatrixSymbol("W_hh", 4 * N, N), sp.BlockMatrix([[nt.matrix(f"U_{g}", N, N)]
                                                                    for g in lstm.TORCH_GATES])),
              eq(sp.MatrixSymbol("b_ih", 4 * N, 1), sp.BlockMatrix([[nt.matrix(f"b_i{g}", N, 1)]
                                                                    for g in lstm.TORCH_GATES])),
              eq(sp.MatrixSymbol("b_hh", 4 * N, 1), sp.BlockMatrix([[nt.matrix(f"b_h{g}", N, 1)]
                                                                    for g in lstm.TORCH_GATES]))),
             "weight_ih_l0, weight_hh_l0, bias_ih_l0 and bias_hh_l0 stack the gates in the order i, f, g, o. "
             "symrnn.lstm.from_torch_lstm reads a module into these matrices and to_torch_lstm writes them back "
             "(tested against torch.nn.LSTM itself: states and gradients agree to 1e-10).",
             Computation(_packing_check, "unpack / pack")),
        Step("side-by-side", "The lecture's LSTM beside the standard one",
             _table(),
             "Same gates, same cell recursion; the standard LSTM adds biases, passes the input through a learned "
             "tanh layer g_t before writing it (so its input may have any size D, where the lecture's needs D = "
             "N), and squashes the output. The table feeds both the same x_t (D = N).",
             Computation(_differences_check, "the table's equations and the difference")),
        Step("standard-bptt", "BPTT through the standard LSTM",
             eq(dL(c_t), sp.MatAdd(odot(gate("o", t), tanh_slope(c_t), dL(h_t)),
                                   odot(gate("f", t + 1), dL(vec("c", t + 1))), evaluate=False)),
             "The same engine and the same cell recursion; tanh on the output adds its slope 1 - tanh^2(c_t) "
             "(the circle marks the entrywise square). "
             "The engine's step is proved at entry level here; the whole gradient is checked at 50 digits and on "
             "generated code above, and against torch.autograd in the tests.",
             Instances(_standard_one_step, "displayed = engine = entry-level sp.diff, N=2, D=2")),
    ]
    return Derivation("lstm", "Exponential forgetting and long short-term memory", INTRO, steps, notes=_notes(),
                      figures=(Figure("lstm-forgetting", FIGURE_CAPTION, _forgetting_figure),))


def tanh_slope(c: MatrixExpr) -> MatrixExpr:
    r"""``1 - tanh(c) \odot tanh(c)``: the slope of the output's tanh."""
    tc = c.applyfunc(lstm.TANH)
    return sp.MatAdd(sp.OneMatrix(*c.shape), -odot(tc, tc), evaluate=False)


def _standard_one_step() -> Iterator[Identity]:
    b = bptt.derive(lstm.standard_lstm(2, 2), SQUARED)
    for what, derived, ref in bptt.local_identities(b, random.Random(0)):
        yield Identity(derived, ref, simplifier="atoms", trials=1, label=f"N=2, D=2, engine {what}")
    # the displayed dL/dc_t, one step back: the part through step t is f_t dL/dc_t
    defs, values = _engine_mapping(b), _entry_values(b)
    shown = odot(gate("f", t, 2), dL(vec("c", t, 2)))
    yield Identity(matcalc.explicit(b.recurrent["c"], values),
                   matcalc.explicit(lstm.computational(shown, defs), values), simplifier="atoms", trials=1,
                   label="N=2, D=2, rho_c: displayed = engine")


def _notes() -> tuple[str, ...]:
    return (
        "Where the lecture's slides say something its equations do not. (1) \"The LSTM compares U_f h_{t-1} to "
        "W_f x_t\": the forget gate adds the two inside the sigmoid; nothing is compared unless the weights "
        "make one term act against the other. (2) \"This is just like a regular RNN, except that now f_t and "
        "i_t are not constant\": true of the cell equation with a diagonal U (f_t multiplies c_{t-1} entry by "
        "entry) and with the input written in through i_t rather than through a matrix W; the RNN's U mixes "
        "entries, the forget gate never does. (3) The gates are written f_t, i_t, o_t without arrows, as if "
        "scalars; they are N-vectors. (4) c_t = f_t c_{t-1} + i_t x_t adds the raw input to the cell, so x_t "
        "must have the cell's size: with the RNN section's one-hot x_t (V+1 entries) the equations do not "
        "type-check unless N = V+1; PyTorch's LSTM writes a learned g_t = tanh(W_g x_t + U_g h_{t-1} + b) "
        "instead. (5) \"h_{t-1} is equal to the previous time step's memory cell, multiplied by an output gate "
        "o_{t-1}\" agrees with h_t = o_t c_t; \"it decides whether it needs to make such a comparison\" is an "
        "interpretation: every gate is computed at every step. (6) \"Then the state vector decays as "
        "(1/2)^t\" drops h_0 (section bptt).",
        "The lecture's h_t = o_t c_t has no squashing, and c_t accumulates i_t x_t at every step, so with "
        "forget gates near 1 the lecture's h_t grows with t (linearly for a constant input); PyTorch's "
        "tanh(c_t) keeps h_t in (-1, 1).",
    )


FIGURE_CAPTION = (
    "Left: the fraction of what the state held at step 1 that is left at step t, for the linear RNN with "
    "U = 1/2 and for the lecture's LSTM cell (entry 1 of the product of its forget gates; N = 2, small random "
    "weights with W_f = +5 I or -5 I and W_i = -2 I added, inputs between 0.5 and 1.5). Right: the size of "
    "the gradient dL/dh_1 when the loss has an error only at the last step T, from symrnn's BPTT on the same "
    "models."
)

INTRO = (
    "A plain RNN forgets: with U = 1/2 and a linear g the state halves at every step (section bptt). The "
    "lecture's LSTM replaces the fixed factor by a forget gate f_t that the network sets from its input, and "
    "keeps a memory cell c_t beside its output h_t. symrnn writes the lecture's five equations exactly, solves "
    "the cell in closed form, derives back-propagation through time for the pair (h_t, c_t) with the same "
    "engine as every other cell, and sets PyTorch's standard LSTM beside the lecture's."
)
