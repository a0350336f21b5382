"""Checks of section ``lstm``'s cell: the five equations against the cell :func:`symrnn.models.lstm.lecture_lstm`
(symbolic N) and scalar formulas (N = 2, 3), the unrolled cell, its closed form, the RNN as a special case, and what
survives along the cell."""

from __future__ import annotations

import random

import numpy as np
import sympy as sp

from symrnn import notation as nt
from symrnn.autodiff import matcalc
from symrnn.core.derivation import Computation, Evidence, Outcome
from symrnn.lecture25.common import fail, ok
from symrnn.lecture25.lstm.formulas import HALF, c_, closed_form, f_, h_, i_, m
from symrnn.models import lstm
from symrnn.models import rnn as rnn_model
from symrnn.numeric.binding import bind
from symrnn.ops import sigmoid

t, N, j, k = nt.t, nt.N, nt.j, nt.k


# ---- the five equations ----------------------------------------------------------------------------------------------


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


def equation_check(key: str, shown: sp.Eq) -> Computation:
    """The displayed equation against the cell (symbolic N) and against scalar formulas (N = 2, 3)."""
    def run(rng: random.Random) -> Outcome:
        cell = lstm.lecture_lstm(N)
        target = cell.step()[key] if key in cell.states else lstm.gates(cell)[key]
        if lstm.computational(shown.rhs, lstm.step_definitions(cell)) != target:
            return fail(Evidence.SYMBOLIC, "the displayed equation is not the cell's step")
        for n in (2, 3):
            small = lstm.lecture_lstm(n)
            p = {q.name: nt.entry_matrix(q.name.replace("_", "").lower(), n, n, positive=False)
                 for q in small.params}
            h, c, x = (nt.entry_vector(s, n, positive=False) for s in ("hprev", "cprev", "x"))
            values = bind(small, p, {"h": h, "c": c}, x)
            expr = small.step()[key] if key in small.states else lstm.gates(small)[key]
            got = matcalc.explicit(expr, values)
            if any(sp.expand(d) != 0 for d in got - _entry_formula(key, n, p, h, c, x)):
                return fail(Evidence.SYMBOLIC, f"$N = {n}$: an entry differs from the scalar formula")
        extra = ""
        if key == "c":
            try:
                lstm.lecture_lstm(3, 2)
            except ValueError:
                extra = r"; a cell of 3 with an input of 2 is refused ($i_t\vec{x}_t$ is elementwise)"
            else:
                return fail(Evidence.SYMBOLIC, "a cell with an input of another size was accepted")
        return ok(Evidence.SYMBOLIC, "for symbolic $N$ the displayed equation, gates written out, is the cell's "
                                      "own step expression; at $N = 2, 3$ every entry equals the scalar formula "
                                      "written with sums" + extra)
    return Computation(run, f"equation ${key}$ vs the cell")


def unrolled_check(rng: random.Random) -> Outcome:
    """The unrolled cell (N=2, T=3, symbolic): c_2 as displayed, h_t = o_t c_t, and causality."""
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
        return fail(Evidence.SYMBOLIC, r"$\vec{c}_2$ is not $f_2(f_1\vec{c}_0 + i_1\vec{x}_1) + i_2\vec{x}_2$")
    for s, row in enumerate(rows, start=1):
        if any(sp.expand(d) != 0 for d in row["h"] - row["o"].multiply_elementwise(row["c"])):
            return fail(Evidence.SYMBOLIC, rf"$\vec{{h}}_{s}$ is not $o_{s}\vec{{c}}_{s}$")
        for state in ("h", "c"):
            free = set().union(*(e.free_symbols for e in row[state]))
            used = {r for r, x in enumerate(xs, start=1) if set(x) & free}
            if used != set(range(1, s + 1)):
                return fail(Evidence.SYMBOLIC, rf"$\vec{{{state}}}_{s}$ depends on the inputs at times {sorted(used)}")
    return ok(Evidence.SYMBOLIC, f"unrolled with symbolic weights, inputs and initial states ($N = {n}$, "
                                  rf"$T = {steps}$): $\vec{{c}}_2$ is the displayed expression, "
                                  r"$\vec{h}_t = o_t\vec{c}_t$ at every $t$, and $\vec{h}_t$, $\vec{c}_t$ depend on "
                                  r"$\vec{x}_1, \dots, \vec{x}_t$ and on no later input")


# ---- forgetting: the cell in closed form -----------------------------------------------------------------------------


def closed_form_check(rng: random.Random) -> Outcome:
    """The closed form by induction, written out for t = 1..8, and on the cell's own gates."""
    c0 = c_[m, 0]
    # base case: empty product 1, empty sum 0
    if sp.simplify(closed_form(0).doit() - c0) != 0:
        return fail(Evidence.SYMBOLIC, r"the closed form at $t = 0$ is not $\vec{c}_0$")
    # induction step: with A = prod_{j<t} f_j and S = the sum up to t-1 as opaque symbols, peeling the last
    # factor and the last term (the definitions of prod and sum) turns C(t) into f_t A c_0 + f_t S + i_t x_t.
    A, S = sp.symbols("A S")  # noqa: N806
    ft, it, xt = f_[m, t], i_[m, t], nt.x(m, t)
    peeled = ft * A * c0 + ft * S + it * xt
    recursion = ft * (A * c0 + S) + it * xt  # f_t C(t-1) + i_t x_t, with C(t-1) = A c_0 + S
    if sp.expand(peeled - recursion) != 0:
        return fail(Evidence.SYMBOLIC, "the induction step fails")
    # the peeling rules and the closed form, unfolded for t = 1..8 (every Sum and Product written out)
    for time in range(1, 9):
        prod = sp.Product(f_[m, j], (j, 1, time)).doit()
        if sp.expand(prod - f_[m, time] * sp.Product(f_[m, j], (j, 1, time - 1)).doit()) != 0:
            return fail(Evidence.SYMBOLIC, f"peeling the product fails at $t = {time}$")
        rec = c0
        for s in range(1, time + 1):
            rec = f_[m, s] * rec + i_[m, s] * nt.x(m, s)
        if sp.expand(closed_form(time).doit() - rec) != 0:
            return fail(Evidence.SYMBOLIC, f"the closed form differs from the recursion at $t = {time}$")
    # numerically, on the lecture's cell with random weights: c_t from the cell vs the closed form of its gates
    nrng = np.random.default_rng(rng.randint(0, 10**6))
    cell = lstm.lecture_lstm(3)
    params = {p.name: nrng.normal(size=(p.rows, p.cols)) for p in cell.params}
    xs, c_init = nrng.normal(size=(20, 3)), nrng.normal(size=3)
    rows = lstm.trace(cell, params, xs, nrng.normal(size=3), c_init)
    closed = lstm.cell_closed_form([r["f"] for r in rows], [r["i"] for r in rows], list(xs), c_init)
    err = max(float(np.max(np.abs(a - r["c"]))) for a, r in zip(closed, rows, strict=True))
    if err > 1e-12:
        return fail(Evidence.NUMERIC,
                    rf"the closed form of the cell's own gates differs from $\vec{{c}}_t$ by {err:.1e}")
    return ok(Evidence.SYMBOLIC, r"induction: $t = 0$ gives $\vec{c}_0$; the step $C(t) = f_t C(t-1) + i_t\vec{x}_t$ "
                                  "holds as algebra once the last factor and the last term are peeled off (the "
                                  "definitions of the product and the sum, also checked written out for "
                                  r"$t = 1, \dots, 8$, where the closed form equals the recursion as polynomials); on "
                                  r"the lecture's cell ($N = 3$, $T = 20$, random weights) it reproduces $\vec{c}_t$ "
                                  r"to "
                                  f"{err:.0e}")


def rnn_special_case(rng: random.Random) -> Outcome:
    """The linear RNN with U = (1/2) I is the cell with f = 1/2, i = 1 and x_k replaced by W x_k."""
    z = sp.IndexedBase("z")  # entry m of W x_k
    special = closed_form(t).xreplace({f_[m, j]: HALF, i_[m, k]: 1, nt.x(m, k): z[m, k], c_[m, 0]: h_[m, 0]})
    claimed = HALF**t * h_[m, 0] + sp.Sum(HALF ** (t - k) * z[m, k], (k, 1, t))
    if sp.simplify(special.doit() - claimed) != 0:
        return fail(Evidence.SYMBOLIC, "the closed form with $f = 1/2$, $i = 1$ is not the claimed sum")
    n, n_in = 2, 3
    W = nt.entry_matrix("w", n, n_in, positive=False)  # noqa: N806
    h0 = nt.entry_vector("hzero", n, positive=False)
    xs = [nt.entry_vector(f"x{s}", n_in, positive=False) for s in range(1, 7)]
    net = rnn_model.RNN(HALF * sp.eye(n), W, "identity", h0)
    for s, h in enumerate(net.run_inputs(xs), start=1):
        want = HALF**s * h0 + sum((HALF ** (s - q) * W * xs[q - 1] for q in range(1, s + 1)), sp.zeros(n, 1))
        if any(sp.expand(d) != 0 for d in sp.Matrix(h) - want):
            return fail(Evidence.SYMBOLIC, rf"the linear RNN's $\vec{{h}}_{s}$ differs from the formula")
    return ok(Evidence.SYMBOLIC, r"with $f_j = 1/2$, $i_k = 1$ and $W\vec{x}_k$ in place of $\vec{x}_k$, the cell's "
                                  r"closed form is $(1/2)^t\vec{h}_0 + \sum_k (1/2)^{t-k} W\vec{x}_k$ for symbolic "
                                  r"$t$; symrnn's linear RNN with $U = (1/2)I$ ($N = 2$, symbolic $W$, $\vec{x}_k$, "
                                  r"$\vec{h}_0$) gives exactly this for $t = 1, \dots, 6$")


def survival_check(rng: random.Random) -> Outcome:
    """dc_t/dc_k, gates held fixed, is the product of the forget gates in between."""
    for start in range(0, 3):
        for time in range(start, start + 7):
            rec = c_[m, start]
            for s in range(start + 1, time + 1):
                rec = f_[m, s] * rec + i_[m, s] * nt.x(m, s)
            want = sp.Product(f_[m, j], (j, start + 1, time)).doit()
            if sp.expand(sp.diff(rec, c_[m, start]) - want) != 0:
                return fail(Evidence.SYMBOLIC, rf"$\partial\vec{{c}}_{time}/\partial\vec{{c}}_{start}$ is not the "
                                               "product of the forget gates")
            if sp.expand(sp.diff(closed_form(time, start).doit(), c_[m, start]) - want) != 0:
                return fail(Evidence.SYMBOLIC, "the closed form's derivative differs")
    return ok(Evidence.SYMBOLIC, r"the recursion differentiated in $\vec{c}_k$, gates held fixed, gives the product "
                                  r"of the forget gates, for $k = 0, 1, 2$ and $t = k, \dots, k+6$; so does the closed "
                                  "form")


def gate_limit_identities(remember: bool) -> list:
    """``f_t \\approx 1`` (remember) or ``\\approx 0`` (forget), on the lecture's cell equation (one entry): the
    sigmoid reaches as close to 1 (or 0) as the weights ask, its derivative of c_t in c_{t-1} is f_t, and at the
    limit (input gate closed when remembering) c_t is c_{t-1} (kept), or i_t x_t (c_{t-1} gone)."""
    from symrnn.core.derivation import Identity

    rhs = lstm.computational(lstm.lecture_equations(1)["c"].rhs, {})  # juxtaposition as the elementwise product
    leaves = {(a.base, a.time): a for a in rhs.atoms(nt.Vec)}
    c_prev, x, f, i = (sp.Symbol(s, real=True) for s in ("c", "x", "f", "i"))
    z = sp.Symbol("z", real=True)

    def c_at(fv, iv) -> sp.Expr:
        vals = {leaves["c", nt.t - 1]: sp.Matrix([[c_prev]]), leaves["x", nt.t]: sp.Matrix([[x]]),
                leaves["f", nt.t]: sp.Matrix([[fv]]), leaves["i", nt.t]: sp.Matrix([[iv]])}
        return matcalc.explicit(rhs, vals)[0, 0]

    target, limit = (1, sp.oo) if remember else (0, -sp.oo)
    out = [Identity(sp.limit(sigmoid(z).rewrite(sp.exp), z, limit), sp.Integer(target),
                    label=rf"$\sigma(z) \to {target}$"),
           Identity(sp.diff(c_at(f, i), c_prev), f, label=r"$\partial\vec{c}_t/\partial\vec{c}_{t-1} = f_t$")]
    if remember:
        out.append(Identity(c_at(1, 0), c_prev, label=r"$f_t = 1$, $i_t = 0$: $\vec{c}_t = \vec{c}_{t-1}$"))
    else:
        out.append(Identity(c_at(0, i), i * x, label=r"$f_t = 0$: $\vec{c}_t = i_t\vec{x}_t$"))
    return out
