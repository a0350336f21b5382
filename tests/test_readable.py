"""BPTT in textbook form (:mod:`symrnn.autodiff.readable`): one named error per quantity, the recursion and the
gradients written in them.  The printed forms, their errors substituted back, are evaluated in float64 at a random
point and compared with central finite differences of one step's ``l(F) + sum_s rho_s^T F_s`` (the step evaluated
by the reference evaluator); the rewrites that make them readable are checked to keep every value."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from test_read_cell import ELMAN_BOLD, GRU_BOLD, LSTM_BOLD, LSTM_PLAIN, MGU_BOLD, SOFTMAX_LECTURE

from symrnn import notation as nt
from symrnn.autodiff import bptt, matcalc, readable
from symrnn.derive.cell_reading import read_cell
from symrnn.derive.shown import cell_text
from symrnn.latex.printer import latex
from symrnn.models import losses
from symrnn.numeric import finite_difference as fd
from symrnn.numeric.binding import bind

CELLS = {"elman": ELMAN_BOLD, "gru": GRU_BOLD, "lstm": LSTM_BOLD, "lstm-plain": LSTM_PLAIN, "mgu": MGU_BOLD,
         "softmax": SOFTMAX_LECTURE}


def _forms(text: str, n: int = 3):
    cell = read_cell(text, n_state=n)
    loss = losses.cross_entropy() if "softmax" in text else losses.squared_error()
    b = bptt.derive(cell, loss)
    equations = cell_text(text, n_state=n).equations
    return b, readable.readable(b, equations), equations


def _point(b, equations, rng):
    """Random float values of everything one step reads, and the step's quantities computed from them."""
    cell = b.cell
    n = cell.n_state
    params = {p.name: rng.normal(scale=0.7, size=(p.rows, p.cols)) for p in cell.params}
    prev = {s: rng.normal(size=(n, 1)) for s in cell.states}
    x = rng.normal(size=(cell.n_input, 1))
    y = np.eye(n)[:, [1]] if b.loss.name == "cross-entropy" else rng.normal(size=(n, 1))
    rho = {s: rng.normal(size=(n, 1)) for s in cell.states}
    return params, prev, x, y, rho


def _values(b, equations, params, prev, x, y, rho) -> dict:
    vals = bind(b.cell, params, prev, x, target=y, rhos=rho)
    for e in equations:
        vals[e.lhs] = matcalc.evaluate(e.rhs, vals, "numpy")
    return vals


def _phi(b, equations, params, prev, x, y, rho) -> float:
    vals = _values(b, equations, params, prev, x, y, rho)
    new = {s: vals[b.cell.current()[s]] for s in b.cell.states}
    h = new[b.cell.output]
    term = 0.5 * float(np.sum((h - y) ** 2)) if b.loss.name != "cross-entropy" else -float(np.sum(y * np.log(h)))
    return term + sum(float(np.sum(rho[s] * new[s])) for s in b.cell.states)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_the_printed_forms_equal_finite_differences_of_one_step(name):
    b, r, equations = _forms(CELLS[name])
    rng = np.random.default_rng(7)
    params, prev, x, y, rho = _point(b, equations, rng)
    vals = _values(b, equations, params, prev, x, y, rho)
    worst = 0.0
    for pname, expr in r.grads.items():
        shown = np.asarray(matcalc.evaluate(r.expanded(expr), vals, "numpy"), dtype=float)
        for index in np.ndindex(params[pname].shape):
            est = fd.partial(lambda p: _phi(b, equations, p, prev, x, y, rho), params, pname, index)
            worst = max(worst, abs(shown[index] - est.value) / max(1.0, abs(est.value)))
    for s, expr in r.recurrent.items():
        shown = np.asarray(matcalc.evaluate(r.expanded(expr), vals, "numpy"), dtype=float)
        for i in range(b.cell.n_state):
            est = fd.partial(lambda p: _phi(b, equations, params, p, x, y, rho), prev, s, (i, 0))
            worst = max(worst, abs(shown[i, 0] - est.value) / max(1.0, abs(est.value)))
    assert worst < 1e-7


@pytest.mark.parametrize("name", ["gru", "lstm", "mgu"])
def test_gated_cells_print_short_formulas_with_one_error_per_quantity(name):
    b, r, equations = _forms(CELLS[name])
    printed = [latex(e.value) for e in r.errors] + [latex(v) for v in (*r.recurrent.values(), *r.grads.values())]
    engine = [latex(v) for v in (*b.recurrent.values(), *b.param_grads.values())]
    assert max(map(len, printed)) * 5 < max(map(len, engine))
    # every gate (a function applied entrywise) has its error at the pre-activation, named once
    gates = [e.lhs for e in equations if not e.state and type(e.rhs).__name__ == "ElementwiseApplyFunction"]
    named = [e.quantity for e in r.errors if e.at_preactivation]
    assert sorted(map(str, gates)) == sorted(map(str, [q for q in named if q in gates]))
    assert len({e.symbol for e in r.errors}) == len(r.errors)
    # a gate's bracket never appears in the printed forms: it is the gate's name
    for e in equations:
        if not e.state:
            assert all(latex(e.rhs) not in p for p in printed)


def test_derivatives_through_the_output_are_written_as_a_textbook_does():
    b, r, _ = _forms(CELLS["lstm-plain"])
    by_name = {e.quantity.base: latex(e.value) for e in r.errors}
    assert r"\left(\mathbf{1} - \vec{f}_{t}\right) \odot \vec{f}_{t}" in by_name["f"]  # sigma' = f (1 - f)
    assert r"\mathbf{1} - \vec{\tilde{c}}_{t}^{\circ {2}}" in by_name["ctilde"]  # tanh' = 1 - c~ . c~


def _explicit(expr, v):
    return matcalc.explicit(expr, {v: nt.entry_vector("v", 3, positive=False),
                                   d: nt.entry_vector("d", 3, positive=False),
                                   w: nt.entry_vector("w", 3, positive=False)})


v, d, w = (sp.MatrixSymbol(s, 3, 1) for s in "vdw")


@pytest.mark.parametrize("expr", [
    sp.MatAdd(-sp.HadamardProduct(d, v), sp.HadamardProduct(d, w)),
    sp.MatAdd(sp.HadamardProduct(sp.HadamardProduct(d, v), w), sp.MatAdd(d, 2 * w)),
    sp.HadamardProduct(d, sp.MatAdd(v, sp.MatAdd(w, -d))),
])
def test_tidying_keeps_the_value(expr):
    assert sp.simplify(_explicit(readable.tidy(expr), v) - _explicit(expr, v)) == sp.zeros(3, 1)


def test_a_shared_factor_is_taken_out():
    tidied = readable.tidy(sp.MatAdd(-sp.HadamardProduct(d, v), sp.HadamardProduct(d, w)))
    assert isinstance(tidied, sp.HadamardProduct) and d in tidied.args


@pytest.mark.parametrize("body", ["y*(1 - y)", "1 - y**2", "3*y**3 - y + 2", "y"])
def test_polynomials_through_the_output_become_hadamard_products(body):
    y = sp.Symbol("y")
    poly = sp.sympify(body, locals={"y": y})  # test-owned text, never user input
    applied = sp.matrices.expressions.applyfunc.ElementwiseApplyFunction(sp.Lambda(y, poly), v)
    rewritten = readable.hadamard_form(applied)
    assert not isinstance(rewritten, sp.matrices.expressions.applyfunc.ElementwiseApplyFunction)
    assert sp.simplify(_explicit(rewritten, v) - _explicit(applied, v)) == sp.zeros(3, 1)
