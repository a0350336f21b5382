"""Back-propagation through time, derived once per cell and loss, for any T.

Write ``delta_t = dL/dh_t`` (total derivative: through h_t's effect on every later step) and
``rho_t = sum_j dL/dh_{j,t+1} dh_{j,t+1}/dh_{i,t}`` for its recurrent part.  Then

    delta_t = dl_t/dh_t + rho_t,           rho_{t-1} = (dF/dh_{t-1})^T delta_t,      rho_T = 0,
    dL/dtheta = sum_t (dF/dtheta)^T delta_t,

where F is one step of the cell.  The step's vector-Jacobian products come from :mod:`symrnn.matcalc` as matrix
expressions in the named quantities h_{t-1}, x_t, h_t, y_t, rho_t; they do not depend on T.  Because the unrolled
network is a chain, the chain rule over it is exactly this recursion (an induction on T - t), so proving the
one-step products proves the recursion for every T.  The whole gradient is also compared with direct
differentiation of the unrolled loss for small T, and at random points for large N and T.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.autodiff import matcalc
from symrnn.autodiff.scalar_reverse import gradient, jacobian_row
from symrnn.core.zerotest import substitute
from symrnn.models.cells import Cell
from symrnn.models.losses import Loss, Ratio
from symrnn.numeric import finite_difference as fd
from symrnn.numeric.binding import bind, rho_name, rho_symbol, target_symbol

t = nt.t


@dataclass(frozen=True)
class BPTT:
    """The derived recursion of a cell under a loss, as matrix expressions at a generic time t."""

    cell: Cell
    loss: Loss
    step: dict[str, MatrixExpr]  # state_t in terms of state_{t-1}, x_t
    seed: dict[str, MatrixExpr]  # delta_t = dl_t/dstate_t + rho_t
    recurrent: dict[str, MatrixExpr]  # rho_{t-1}, per state
    param_grads: dict[str, MatrixExpr]  # the step's contribution to dL/dtheta, per parameter

    @property
    def target(self) -> nt.Vec:
        return target_symbol(self.cell)

    def rho(self, state: str, time=t) -> nt.Vec:
        return rho_symbol(self.cell, state, time)

    def at(self, steps: int) -> BPTT:
        """The recursion for sequences of ``steps`` steps: the loss's factor (``1/T`` of a loss averaged over t)
        at T = ``steps``; the same object when the loss is summed."""
        if self.loss.summed:
            return self
        fixed = {nt.T: sp.Integer(steps)}

        def at(exprs: dict) -> dict:
            return {k: v.xreplace(fixed) for k, v in exprs.items()}
        return BPTT(self.cell, self.loss, self.step, at(self.seed), at(self.recurrent), at(self.param_grads))


def derive(cell: Cell, loss: Loss) -> BPTT:
    """Derive the BPTT recursion for ``cell`` under ``loss`` (matrix level, any sizes, any T).

    A loss with a factor (``loss.scale``, such as ``1/T`` for a loss averaged over t) starts the recursion with the
    factor times the per-step gradient, so every rho and every gradient carries it; the expressions then hold the
    symbol T (:meth:`BPTT.at` fixes it)."""
    step = cell.step(t)
    cur, prev = cell.current(t), cell.previous(t - 1)
    y = target_symbol(cell)
    seed = {}
    for s in cell.states:
        rho = rho_symbol(cell, s)
        seed[s] = loss.step_grad(cur[s], y) + rho if s == cell.output else rho
    params = cell.symbols()
    wrt = [*prev.values(), *params.values()]
    parts: dict[MatrixExpr, list] = {}
    for s in cell.states:
        for leaf, g in matcalc.vjp(step[s], seed[s], wrt).items():
            parts.setdefault(leaf, []).append(g)
    outputs = {step[s]: cur[s] for s in cell.states}  # write F's output as the named h_t: no recomputation

    def finish(leaf) -> MatrixExpr:
        if leaf not in parts:
            return sp.ZeroMatrix(*leaf.shape)
        total = parts[leaf][0] if len(parts[leaf]) == 1 else sp.MatAdd(*parts[leaf])
        return cancel_ratios(total.xreplace(outputs))

    recurrent = {s: finish(prev[s]) for s in cell.states}
    grads = {name: finish(sym) for name, sym in params.items()}
    return BPTT(cell, loss, step, seed, recurrent, grads)


def cancel_ratios(expr):
    """Rewrite ``a * (c * (b / a) + r)`` as ``c * b + a * r`` (entrywise), wherever it occurs.

    Softmax followed by cross-entropy produces ``h * (-(y / h) + rho)``; cancelling keeps the generated code finite
    when an output probability underflows to 0 (the fused form PyTorch's cross_entropy uses).
    """
    if not isinstance(expr, sp.Basic) or not expr.args:
        return expr
    expr = expr.func(*[cancel_ratios(a) for a in expr.args]) if isinstance(expr, MatrixExpr) else expr
    if isinstance(expr, sp.HadamardProduct) and len(expr.args) == 2:
        a, b = expr.args
        for first, second in ((a, b), (b, a)):
            terms = second.args if isinstance(second, sp.MatAdd) else (second,)
            cancelled, kept = [], []
            for term in terms:
                coeff, mats = term.as_coeff_matrices() if isinstance(term, sp.MatMul) else (1, [term])
                if len(mats) == 1 and isinstance(mats[0], Ratio) and mats[0].den == first:
                    cancelled.append(coeff * mats[0].num)
                else:
                    kept.append(term)
            if cancelled:
                rest = [sp.HadamardProduct(first, sp.MatAdd(*kept) if len(kept) > 1 else kept[0])] if kept else []
                return sp.MatAdd(*cancelled, *rest) if len(cancelled) + len(rest) > 1 else (cancelled + rest)[0]
    return expr


# ---- running the recursion on explicit values ----------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """Every state h_t (t = 0..T), every delta_t, the loss and the gradient, on explicit values."""

    states: list[dict[str, object]]
    deltas: list[dict[str, object]]  # index t-1 holds delta_t
    loss: object
    grads: dict[str, object]


def run(b: BPTT, params: Mapping[str, object], xs: Sequence, ys: Sequence, h0: Mapping[str, object],
        mode: str = "sympy", gradients: bool = True) -> Run:
    """Forward and backward through T = len(xs) steps (``gradients=False``: states and deltas only, no parameter
    gradient; ``grads`` is then empty).

    ``mode="sympy"``: explicit SymPy matrices (symbolic entries allowed); ``mode="mpmath"``/``"numpy"``: NumPy
    arrays of mpmath numbers or floats, evaluated node by node (a reference evaluator, not the fast generated code).
    """
    if mode == "sympy":
        return _run_without_zeros(b, params, xs, ys, h0)
    return _run(b, params, xs, ys, h0, mode, gradients=gradients)


def _run(b: BPTT, params: Mapping[str, object], xs: Sequence, ys: Sequence, h0: Mapping[str, object],
         mode: str, rho_end: Mapping[str, object] | None = None, gradients: bool = True) -> Run:
    cell = b.cell
    T = len(xs)  # noqa: N806
    b = b.at(T)
    if mode == "sympy":
        def ev(expr, vals):
            return matcalc.explicit(expr, vals)
    else:
        def ev(expr, vals):
            return matcalc.evaluate(expr, vals, mode)
    states = [dict(h0)]
    for time in range(1, T + 1):
        vals = bind(cell, params, states[-1], xs[time - 1])
        states.append({s: ev(b.step[s], vals) for s in cell.states})
    total = 0
    for time in range(1, T + 1):
        h, y = states[time][cell.output], ys[time - 1]
        total = total + (b.loss.term(h, y) if mode == "sympy" else _numeric_term(b.loss, h, y, mode))
    total = scaled_total(b.loss, total, T, mode)
    rhos = dict(rho_end) if rho_end is not None else {s: 0 * states[0][s] for s in cell.states}
    grads: dict[str, object] = {}
    deltas: list[dict[str, object]] = [{} for _ in range(T)]
    for time in range(T, 0, -1):
        vals = bind(cell, params, states[time - 1], xs[time - 1], current=states[time], target=ys[time - 1],
                    rhos=rhos)
        deltas[time - 1] = {s: ev(b.seed[s], vals) for s in cell.states}
        for name, expr in (b.param_grads if gradients else {}).items():
            g = ev(expr, vals)
            if mode != "sympy" and g.shape != np.shape(params[name]):
                g = g.sum(axis=1, keepdims=True)
            grads[name] = g if name not in grads else grads[name] + g
        rhos = {s: ev(b.recurrent[s], vals) for s in cell.states}
    return Run(states, deltas, total, grads)


def _run_without_zeros(b: BPTT, params, xs, ys, h0) -> Run:
    """:func:`run` on SymPy matrices, with rho_T = 0 and the targets' zeros placeholders until the end.

    SymPy's ``0 * e`` asks whether ``e`` is finite, and on a large unrolled expression that query walks it as a
    tree (through sign tests that collect its free symbols): minutes for a softmax RNN at N=3, T=3.  The
    placeholders are replaced by 0 afterwards with :func:`without_placeholders`, which gives the same result.
    """
    zeros: list[sp.Dummy] = []

    def hold(m: sp.Matrix) -> sp.Matrix:
        def entry(e):
            if e == 0:
                zeros.append(sp.Dummy("zero"))
                return zeros[-1]
            return e
        return m.applyfunc(entry)

    size = b.cell.size
    out = _run(b, params, xs, [hold(y) for y in ys], h0, "sympy",
               {s: hold(sp.zeros(size(s), 1)) for s in b.cell.states})
    drop = dict.fromkeys(zeros, sp.S.Zero)
    mats = [*(m for st in out.states for m in st.values()), *(m for d in out.deltas for m in d.values()),
            *out.grads.values()]
    flat = without_placeholders([out.loss, *(e for m in mats for e in m)], drop)
    loss, it = flat[0], iter(flat[1:])

    def rebuilt(m: sp.Matrix) -> sp.Matrix:
        return sp.Matrix(m.rows, m.cols, [next(it) for _ in range(len(m))])
    states = [{k: rebuilt(m) for k, m in st.items()} for st in out.states]
    deltas = [{k: rebuilt(m) for k, m in d.items()} for d in out.deltas]
    return Run(states, deltas, loss, {k: rebuilt(m) for k, m in out.grads.items()})


def without_placeholders(exprs: Sequence[sp.Expr], zeros: Mapping[sp.Basic, sp.Expr]) -> list[sp.Expr]:
    """Substitute 0 for the placeholders, each distinct node once: a product with a factor 0 is 0 without asking
    SymPy whether its other factors are finite (they are: finite functions of finite values), sums drop zeros."""
    return substitute(exprs, dict(zeros), rebuild=_zero_aware)


def _zero_aware(node: sp.Basic, args: list) -> sp.Basic:
    if node.is_Mul and any(a == 0 for a in args):
        return sp.S.Zero
    if node.is_Add:
        return sp.Add(*[a for a in args if a != 0])
    return node.func(*args)


def scaled_total(loss: Loss, total, steps: int, mode: str = "sympy"):
    """``total`` (the per-step terms summed) times the loss's factor at T = ``steps``, exactly: a SymPy number, an
    mpmath number at the current precision, or a float."""
    if loss.summed:
        return total
    factor = loss.factor(steps)
    if mode == "sympy":
        return factor * total
    if mode == "mpmath":
        import mpmath

        return total * mpmath.mpf(int(factor.p)) / int(factor.q)
    return total * float(factor)


_TERMS: dict = {}


def _term_function(loss: Loss, rows: int, mode: str):
    """The loss term of one column as a function of its entries, lambdified once per (loss, size, mode)."""
    key = (id(loss), rows, mode)
    if key not in _TERMS or _TERMS[key][0] is not loss:
        hv = [sp.Symbol(f"_h{i}_0") for i in range(rows)]
        yv = [sp.Symbol(f"_y{i}_0") for i in range(rows)]
        _TERMS[key] = (loss, sp.lambdify([*hv, *yv], loss.term(sp.Matrix(hv), sp.Matrix(yv)), modules=mode))
    return _TERMS[key][1]


def _numeric_term(loss: Loss, h, y, mode: str):
    f = _term_function(loss, h.shape[0], mode)
    total = 0
    for col in range(h.shape[1]):
        total = total + f(*h[:, col], *y[:, col])
    return total


def unrolled_loss(cell: Cell, loss: Loss, params: Mapping[str, sp.Matrix], xs: Sequence[sp.Matrix],
                  ys: Sequence[sp.Matrix], h0: Mapping[str, sp.Matrix]) -> sp.Expr:
    """The loss as one explicit expression of the parameters (exponential in T: small T only)."""
    step = cell.step(t)
    states = dict(h0)
    total = sp.Integer(0)
    for time in range(1, len(xs) + 1):
        vals = bind(cell, params, states, xs[time - 1])
        states = {s: matcalc.explicit(step[s], vals) for s in cell.states}
        total += loss.term(states[cell.output], ys[time - 1])
    return scaled_total(loss, total, len(xs))


# ---- cases and the three strengths of check ------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """Exact parameters, inputs, targets and initial states for one check (rationals, or entry symbols)."""

    params: dict[str, sp.Matrix]
    xs: list[sp.Matrix]
    ys: list[sp.Matrix]
    h0: dict[str, sp.Matrix]


def random_case(cell: Cell, loss: Loss, T: int, rng, symbolic: bool = False) -> Case:  # noqa: N803
    """Small random rational weights (or entry symbols), rational inputs, one-hot or rational targets."""
    def rational(scale: int = 4) -> sp.Rational:
        return sp.Rational(rng.randint(-scale, scale), 2 * scale)

    if symbolic:
        params = {p.name: nt.entry_matrix(p.name.replace("_", ""), p.rows, p.cols, positive=False)
                  for p in cell.params}
    else:
        params = {p.name: sp.Matrix(p.rows, p.cols, lambda *_: rational()) for p in cell.params}
    q, d = cell.n_output, cell.n_input
    xs = [sp.Matrix(d, 1, lambda *_: rational()) for _ in range(T)]
    if loss.name == "cross-entropy":
        ys = [nt.one_hot(rng.randint(1, q), q) for _ in range(T)]
    else:
        ys = [sp.Matrix(q, 1, lambda *_: rational()) for _ in range(T)]
    h0 = {s: sp.Matrix(cell.size(s), 1, lambda *_: sp.Rational(rng.randint(1, 4), 5)) for s in cell.states}
    return Case(params, xs, ys, h0)


def _mp(m: sp.Matrix):
    import mpmath

    return np.array([[mpmath.mpf(e.p) / e.q for e in row] for row in m.tolist()], dtype=object)


def loss_value(cell: Cell, loss: Loss, params, xs, ys, h0, mode: str = "mpmath"):
    """The loss by the forward pass alone (cell definition only, no derived derivative): the reference."""
    step = cell.step(t)
    states = dict(h0)
    total = 0
    for time in range(1, len(xs) + 1):
        states = {s: matcalc.evaluate(step[s], bind(cell, params, states, xs[time - 1]), mode) for s in cell.states}
        total = total + _numeric_term(loss, states[cell.output], ys[time - 1], mode)
    return scaled_total(loss, total, len(xs), mode)


def exact_check(cell: Cell, loss: Loss, T: int, seed: int = 0, directions: int = 2,  # noqa: N803
                dps: int = 90, steps: tuple[str, ...] = ("1e-35",)) -> tuple[bool, float, str]:
    """BPTT's gradient against a 50-digit directional derivative of the loss, at a random rational point.

    For random directions v, ``sum_theta <dL/dtheta, v_theta>`` from the derived recursion (evaluated with
    mpmath at ``dps`` digits) must equal the central difference ``(L(theta + e v) - L(theta - e v)) / 2e``
    (:func:`symrnn.numeric.finite_difference.directional`, over ``steps``); at e = 1e-35 its error is
    O(e^2) = 1e-70: agreement to 50 digits means the formulas agree, not just the floats.
    Returns (passed, worst relative difference, description).
    """
    import random

    import mpmath

    rng = random.Random(seed)
    case = random_case(cell, loss, T, rng)
    b = derive(cell, loss)
    with mpmath.workdps(dps):
        params, xs, ys, h0 = mp_case(case)
        grads = run(b, params, xs, ys, h0, mode="mpmath").grads
        worst = mpmath.mpf(0)
        for _ in range(directions):
            v = {n: np.array([[mpmath.mpf(rng.randint(-9, 9)) / 9 for _ in range(p.shape[1])]
                              for _ in range(p.shape[0])], dtype=object) for n, p in params.items()}
            analytic = sum((grads[n] * v[n]).sum() for n in params)
            estimate = fd.directional(lambda p: loss_value(cell, loss, p, xs, ys, h0), params, v,
                                      [mpmath.mpf(e) for e in steps])
            worst = max(worst, abs(analytic - estimate.value) / max(abs(estimate.value), mpmath.mpf(1)))
    ok = worst < mpmath.mpf(10) ** -50
    sizes = f"$N = {cell.n_state}$" + (f", $Q = {cell.n_output}$" if cell.n_output != cell.n_state else "")
    return ok, float(worst), (f"{sizes}, $T = {T}$: {directions} random directions agree with a "
                              f"50-digit directional derivative (worst relative difference {float(worst):.1e})")


def mp_case(case: Case) -> tuple[dict, list, list, dict]:
    """The case's parameters, inputs, targets and initial states as arrays of mpmath numbers (current precision)."""
    return ({n: _mp(m) for n, m in case.params.items()}, [_mp(x) for x in case.xs], [_mp(y) for y in case.ys],
            {s: _mp(v) for s, v in case.h0.items()})


def total_state_gradients(cell: Cell, loss: Loss, case: Case) -> list[sp.Matrix]:
    """``dL/dh_t`` for t = 1..T by direct differentiation: the loss from step t on, as a function of h_t.

    Independent of the recursion: only the cell's forward step and scalar reverse-mode differentiation
    (:mod:`symrnn.autodiff.scalar_reverse`) are used (small T only).
    """
    step = cell.step(t)
    states = [dict(case.h0)]
    for time in range(1, len(case.xs) + 1):
        states.append(forward_states(cell, step, case, states[-1], time))
    out = []
    for time in range(1, len(case.xs) + 1):
        free = sp.Matrix(cell.n_output, 1, lambda r, _c: sp.Dummy(f"s{r}", real=True))
        cur = {**states[time], cell.output: free}
        tail = loss.term(free, case.ys[time - 1])
        for later in range(time + 1, len(case.xs) + 1):
            cur = forward_states(cell, step, case, cur, later)
            tail += loss.term(cur[cell.output], case.ys[later - 1])
        grad = sp.Matrix(gradient(scaled_total(loss, tail, len(case.xs)), list(free)))
        out.append(grad.xreplace(dict(zip(free, states[time][cell.output]))))
    return out


def forward_states(cell: Cell, step, case: Case, prev: dict, time: int) -> dict:
    """The explicit states at ``time`` from the states before it."""
    vals = bind(cell, case.params, prev, case.xs[time - 1])
    return {s: matcalc.explicit(step[s], vals) for s in cell.states}


def symbolic_point(b: BPTT, rng) -> tuple[dict, dict, sp.Matrix, sp.Matrix, dict]:
    """Entry symbols for one step's parameters, previous states, input and rho; the target is a random one-hot
    vector under cross-entropy, else symbols too."""
    cell = b.cell
    q = cell.n_output
    params = {p.name: nt.entry_matrix(p.name.replace("_", "").lower(), p.rows, p.cols, positive=False)
              for p in cell.params}
    prev = {s: nt.entry_vector(f"{s}prev", cell.size(s), positive=False) for s in cell.states}
    x = nt.entry_vector("x", cell.n_input, positive=False)
    y = nt.one_hot(rng.randint(1, q), q) if b.loss.name == "cross-entropy" else nt.entry_vector("y", q, positive=False)
    rho = {s: nt.entry_vector(rho_name(cell, s), cell.size(s), positive=False) for s in cell.states}
    return params, prev, x, y, rho


def local_identities(b: BPTT, rng) -> list[tuple[str, sp.Matrix, sp.Matrix]]:
    """One step, proved at entry level: the derived products against direct differentiation (scalar reverse mode,
    :mod:`symrnn.autodiff.scalar_reverse`) of ``l(F) + sum_s rho_s^T F_s``.

    Returns ``(what, derived, reference)`` for the recurrent part of every state and every parameter.
    """
    cell = b.cell
    params, prev, x, y, rho = symbolic_point(b, rng)
    new = {s: matcalc.explicit(b.step[s], bind(cell, params, prev, x)) for s in cell.states}
    vals = bind(cell, params, prev, x, current=new, target=y, rhos=rho)
    phi = b.loss.scale * b.loss.term(new[cell.output], y) + sp.Add(*[(rho[s].T * new[s])[0] for s in cell.states])
    out = []
    for s in cell.states:
        out.append((f"rho_{s}", matcalc.explicit(b.recurrent[s], vals), jacobian_row(phi, prev[s])))
    for name, m in params.items():
        out.append((name, matcalc.explicit(b.param_grads[name], vals), jacobian_row(phi, m)))
    return out


def whole_identities(b: BPTT, case: Case) -> list[tuple[str, sp.Matrix, sp.Matrix]]:
    """``(name, BPTT's dL/dtheta, direct dL/dtheta)`` for every parameter (small T only).

    The direct gradient differentiates the unrolled loss as one scalar expression, by reverse mode over its graph
    (:mod:`symrnn.autodiff.scalar_reverse`): independent of the matrix-level derivation being checked.
    """
    cell = b.cell
    run_ = run(b, case.params, case.xs, case.ys, case.h0)
    total = unrolled_loss(cell, b.loss, case.params, case.xs, case.ys, case.h0)
    flat = [e for m in case.params.values() for e in m]
    direct = iter(gradient(total, flat))
    return [(name, run_.grads[name], sp.Matrix(m.rows, m.cols, [next(direct) for _ in range(len(m))]))
            for name, m in case.params.items()]


def gradient_at(b: BPTT, case: Case, digits: int = 60) -> dict[str, sp.Matrix]:
    """BPTT's gradient at the case's rational point, evaluated with mpmath to ``digits`` digits."""
    import mpmath

    with mpmath.workdps(digits + 10):
        grads = run(b, *mp_case(case), mode="mpmath").grads
        return {n: sp.Matrix(g.shape[0], g.shape[1], lambda r, c, g=g: sp.Float(g[r, c], digits))
                for n, g in grads.items()}
