"""The BPTT engine: matrix-level rules against entry-level differentiation and finite differences, the CLI, the
teaching script."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from symrnn import cli
from symrnn import notation as nt
from symrnn.autodiff import bptt, matcalc
from symrnn.models import cells, losses
from symrnn.ops import Ratio, Softmax, sigmoid

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("fn", ["softmax", "tanh", "sigmoid"])
def test_vjp_rules_equal_entry_level_derivatives(fn):
    n = 3
    U, h, G = sp.MatrixSymbol("U", n, n), sp.MatrixSymbol("h", n, 1), sp.MatrixSymbol("G", n, 1)  # noqa: N806
    z = U * h
    F = {"softmax": Softmax(z), "tanh": z.applyfunc(sp.tanh), "sigmoid": z.applyfunc(sigmoid)}[fn]  # noqa: N806
    got = matcalc.vjp(F, G, [U, h])
    vals = {U: nt.entry_matrix("u", n, n, positive=False), h: nt.entry_vector("h", n, positive=False),
            G: nt.entry_vector("g", n, positive=False)}
    Fe, Ge = matcalc.explicit(F, vals), vals[G]  # noqa: N806
    point = {s: sp.Rational(random.Random(k).randint(-9, 9), 7) for k, s in enumerate(
        sorted(set().union(*[m.free_symbols for m in vals.values()]), key=str))}
    for leaf in (U, h):
        L = vals[leaf]  # noqa: N806
        ref = sp.Matrix([[sum(Ge[j] * sp.diff(Fe[j], L[r, c]) for j in range(n)) for c in range(L.cols)]
                         for r in range(L.rows)])
        diff = (matcalc.explicit(got[leaf], vals) - ref).xreplace(point)
        assert all(abs(sp.N(e, 40)) < 1e-30 for e in diff)


@pytest.mark.parametrize("name", ["rnn-tanh", "elman", "gru"])
def test_one_entry_cells(name):
    """N = 1: one step proved, the 50-digit check, and the generated code against finite differences."""
    from symrnn.autodiff import training
    from symrnn.core.verify import differences
    from symrnn.core.zerotest import atoms_zero
    from symrnn.numeric import gradcheck
    from symrnn.numeric.threeway import numeric_case

    cell = {"rnn-tanh": cells.rnn(1, 1, "tanh"), "elman": cells.elman(1, 2), "gru": cells.gru(1, 2)}[name]
    loss = losses.squared_error()
    b = bptt.derive(cell, loss)
    assert all(atoms_zero(differences(d, r)) for _, d, r in bptt.local_identities(b, random.Random(0)))
    assert bptt.exact_check(cell, loss, 5)[0]
    res = gradcheck.gradcheck(training.compile_bptt(cell, loss), *numeric_case(cell, loss, 4, 3, 0))
    assert res.passed, res.message


def test_softmax_cross_entropy_gradient_never_divides_by_h():
    b = bptt.derive(cells.rnn(3, 4), losses.cross_entropy())
    for expr in (*b.param_grads.values(), *b.recurrent.values()):
        assert not any(isinstance(a, Ratio) for a in sp.preorder_traversal(expr))


def test_gru_gradients_against_finite_differences_written_here():
    cell, loss = cells.gru(2, 2), losses.squared_error()
    b = bptt.derive(cell, loss)
    rng = np.random.default_rng(1)
    params = {p.name: rng.normal(0, 0.6, (p.rows, p.cols)) for p in cell.params}
    xs = [rng.normal(0, 1, (2, 1)) for _ in range(4)]
    ys = [rng.normal(0, 1, (2, 1)) for _ in range(4)]
    h0 = {"h": np.zeros((2, 1))}
    grads = bptt.run(b, params, xs, ys, h0, mode="numpy").grads

    def total(p):
        h, out = np.zeros((2, 1)), 0.0
        for x, y in zip(xs, ys):
            sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
            r = sig(p["W_r"] @ x + p["U_r"] @ h + p["b_r"])
            z = sig(p["W_z"] @ x + p["U_z"] @ h + p["b_z"])
            n = np.tanh(p["W_n"] @ x + p["b_in"] + r * (p["U_n"] @ h + p["b_hn"]))
            h = (1 - z) * n + z * h
            out += 0.5 * float(((h - y) ** 2).sum())
        return out

    for name, value in params.items():
        for idx in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[name][idx] += 1e-6
            minus[name][idx] -= 1e-6
            fd = (total(plus) - total(minus)) / 2e-6
            assert abs(grads[name][idx] - fd) <= 1e-7 + 1e-6 * abs(fd), (name, idx)


def test_exact_check_detects_a_wrong_rule(monkeypatch):
    cell, loss = cells.elman(3, 2), losses.squared_error()
    assert bptt.exact_check(cell, loss, 4)[0]
    real = bptt.derive

    def broken(c, lo):
        b = real(c, lo)
        return bptt.BPTT(b.cell, b.loss, b.step, b.seed, b.recurrent, {**b.param_grads, "U": 2 * b.param_grads["U"]})

    monkeypatch.setattr(bptt, "derive", broken)
    assert not bptt.exact_check(cell, loss, 4)[0]


def test_bind_puts_each_value_on_its_own_symbol():
    from symrnn.numeric.binding import bind

    cell = cells.gru(2, 3)
    t = nt.t
    params = {p.name: f"param {p.name}" for p in cell.params}
    vals = bind(cell, params, {"h": "h_(t-1)"}, "x_t", current={"h": "h_t"}, target="y_t", rhos={"h": "rho_t"})
    want = {nt.matrix(p.name, p.rows, p.cols): f"param {p.name}" for p in cell.params}
    want.update({nt.Vec("h", t - 1, 2): "h_(t-1)", nt.Vec("x", t, 3): "x_t", nt.Vec("h", t, 2): "h_t",
                 nt.Vec("y", t, 2): "y_t", nt.Vec("rho", t, 2): "rho_t"})
    assert vals == want
    assert bind(cell, {}, x="x_t") == {nt.Vec("x", t, 3): "x_t"}


def test_three_way_reports_each_check_as_it_finishes():
    from symrnn.numeric.threeway import three_way

    seen = []
    result = three_way(cells.elman(1, 2), losses.squared_error(), 3, max_entries=10, on_part=seen.append)
    assert [p.kind for p in result.parts] == ["symbolic", "exact", "numeric"] and seen == list(result.parts)
    assert result.passed and result.numeric is not None and result.numeric.entries_checked == 4  # U, W (2), b


def test_gradcheck_command(capsys):
    assert cli.main(["gradcheck", "elman", "--n", "2", "--d", "2", "--T", "3"]) == 0
    out = capsys.readouterr().out
    assert "exact   pass" in out and "numeric pass" in out
    with pytest.raises(SystemExit) as refused:  # argparse refuses the option, naming it
        cli.main(["gradcheck", "gru", "--n", "0"])
    assert refused.value.code == 2


def test_bptt_teaching_script_runs():
    proc = subprocess.run([sys.executable, str(ROOT / "derivations" / "bptt.py"), "elman", "2"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "proved" in proc.stdout and "FAILED" not in proc.stdout
    bad = subprocess.run([sys.executable, str(ROOT / "derivations" / "bptt.py"), "lstm9"],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "unknown cell" in bad.stderr
