"""Checks of section ``bptt``: the derived recursion one step at a time at entry level, whole gradients against
direct differentiation of the unrolled loss, 50-digit directional derivatives, finite differences of the generated
code, and one step of gradient descent on the lecture's example.

The recursion is derived once per cell and loss by :mod:`symrnn.autodiff.bptt`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import numpy as np
import sympy as sp

from symrnn import notation as nt
from symrnn.autodiff import bptt, matcalc
from symrnn.autodiff.scalar_reverse import gradient, jacobian_row
from symrnn.core.derivation import Evidence, Identity, Outcome
from symrnn.latex.printer import latex
from symrnn.models import cells, losses, pos_tagging
from symrnn.numeric.binding import bind
from symrnn.numeric.threeway import numeric_case

t = nt.t


def _d_loss(name: str) -> str:
    """``dL/dU`` for a parameter's name, as inline maths."""
    return rf"$d\mathfrak{{L}}/d{latex(sp.Symbol(name))}$"


def subjects() -> list[tuple[str, Callable[[int], cells.Cell], losses.Loss]]:
    """The cells and losses every general claim is checked on: the lecture's RNN, an Elman cell, a GRU."""
    return [(r"lecture RNN, $\operatorname{softmax}(\vec{\xi} - 1)$, cross-entropy", lambda n: cells.rnn(n, n + 1),
             losses.cross_entropy()),
            ("RNN with tanh, squared error", lambda n: cells.rnn(n, n, "tanh"), losses.squared_error()),
            ("Elman cell, squared error", lambda n: cells.elman(n, 2), losses.squared_error()),
            ("GRU, squared error", lambda n: cells.gru(n, 2), losses.squared_error())]


# ---- the recursion, proved -------------------------------------------------------------------------------------------


def local(seed: int) -> Iterator[Identity]:
    """Each derived one-step product against entry-level differentiation, proved as algebra at N = 2, 4, 8.

    The zero test (:mod:`symrnn.core.zerotest`) turns exp/tanh/sigmoid into symbols and decides the rational identity
    with sparse polynomials; the 50-digit check covers N=16.
    """
    rng = random.Random(seed)
    for label, make, loss in subjects():
        for n in (2, 4, 8):
            b = bptt.derive(make(n), loss)
            for what, derived, ref in bptt.local_identities(b, rng):
                yield Identity(derived, ref, simplifier="atoms", trials=2, label=f"{label}, $N = {n}$, {what}")


def whole(seed: int) -> Iterator[Identity]:
    """The whole gradient against direct (scalar reverse-mode) differentiation of the unrolled loss, T = 3, with
    symbolic weights: N = 2 and 3, and N = 2 for the GRU (at N = 3 its 57 weights and 27 gate atoms expand past the
    zero test's size limit; bptt-exact covers it at N = 4, T = 16)."""
    rng = random.Random(seed)
    for label, make, loss in subjects():
        for n in (2,) if "GRU" in label else (2, 3):
            cell = make(n)
            case = bptt.random_case(cell, loss, 3, rng, symbolic=True)
            for name, derived, direct in bptt.whole_identities(bptt.derive(cell, loss), case):
                yield Identity(derived, direct, simplifier="atoms", trials=1,
                               label=f"{label}, $N = {n}$, $T = 3$, {_d_loss(name)}")


def total_state(seed: int) -> Iterator[Identity]:
    """delta_t from the recursion against d(loss from t on)/dh_t by direct differentiation, every t."""
    rng = random.Random(seed)
    for label, make, loss in subjects()[:3]:
        cell = make(2)
        case = bptt.random_case(cell, loss, 3, rng, symbolic=True)
        run = bptt.run(bptt.derive(cell, loss), case.params, case.xs, case.ys, case.h0)
        for time, ref in enumerate(bptt.total_state_gradients(cell, loss, case), start=1):
            yield Identity(run.deltas[time - 1][cell.output], ref, simplifier="atoms", trials=1,
                           label=f"{label}, $N = 2$, $T = 3$, $t = {time}$")


def lecture_u_formula(seed: int, corrected: bool) -> tuple[sp.Matrix, sp.Matrix]:
    """dL/du_{j,i} directly, and by the lecture's sum (as printed, or corrected), for the lecture's RNN."""
    rng = random.Random(seed)
    cell, loss = cells.rnn(2, 3), losses.cross_entropy()
    case = bptt.random_case(cell, loss, 2, rng, symbolic=True)
    b = bptt.derive(cell, loss)
    run = bptt.run(b, case.params, case.xs, case.ys, case.h0)
    total = bptt.unrolled_loss(cell, loss, case.params, case.xs, case.ys, case.h0)
    U = case.params["U"]  # noqa: N806
    direct = jacobian_row(total, U)
    formula = sp.zeros(2, 2)
    held = nt.entry_vector("hheld", 2, positive=False)  # h_{t-1} held fixed: the partial derivative
    for time in range(1, len(case.xs) + 1):
        vals = bind(cell, {"U": U, "W": case.params["W"]}, {"h": held}, case.xs[time - 1])
        h_t = matcalc.explicit(b.step["h"], vals)
        at = dict(zip(held, run.states[time - 1]["h"], strict=True))
        delta = run.deltas[time - 1]["h"]
        for r in range(2):
            for c in range(2):
                if corrected:
                    formula[r, c] += sum(delta[kk] * sp.diff(h_t[kk], U[r, c]).xreplace(at) for kk in range(2))
                else:  # the lecture: dL/dh_{i,t} dh_{i,t}/du_{j,i}, with j = r, i = c
                    formula[r, c] += delta[c] * sp.diff(h_t[c], U[r, c]).xreplace(at)
    return direct, formula


def deep_network(seed: int) -> Iterator[Identity]:
    """Back-propagation through T layers with their own weights U^(1..T), summed, equals BPTT."""
    rng = random.Random(seed)
    for label, make, loss in subjects()[:3]:  # the GRU too passes (85 s more): it is left to bptt-whole
        cell = make(2)
        case = bptt.random_case(cell, loss, 3, rng, symbolic=True)
        copies = [{p.name: nt.entry_matrix(f"{p.name.replace('_', '').lower()}L{layer}", p.rows, p.cols,
                                           positive=False) for p in cell.params} for layer in range(3)]
        step = cell.step(t)
        states, total = dict(case.h0), sp.Integer(0)
        for layer in range(3):
            layer_case = bptt.Case(copies[layer], case.xs, case.ys, case.h0)
            states = bptt.forward_states(cell, step, layer_case, states, layer + 1)
            total += loss.term(states[cell.output], case.ys[layer])
        shared = {e: v for layer in range(3) for name in case.params
                  for e, v in zip(copies[layer][name], case.params[name])}
        run = bptt.run(bptt.derive(cell, loss), case.params, case.xs, case.ys, case.h0)
        flat = [e for layer in range(3) for name in case.params for e in copies[layer][name]]
        direct = dict(zip(flat, gradient(total, flat)))
        for name, m in case.params.items():
            layered = sp.Matrix([[sp.Add(*[direct[copies[layer][name][r, c]] for layer in range(3)])
                                  .xreplace(shared) for c in range(m.cols)] for r in range(m.rows)])
            yield Identity(run.grads[name], layered, simplifier="atoms", trials=1,
                           label=f"{label}, $T = 3$, {_d_loss(name)}")


def jacobian_identity(n: int, steps: int) -> Identity:
    """dh_t/dh_0 of the linear RNN, unrolled with symbolic entries, against U^t."""
    cell = cells.rnn(n, 1, "identity")
    case = bptt.Case({"U": nt.entry_matrix("u", n, n, positive=False), "W": nt.entry_matrix("w", n, 1,
                                                                                         positive=False)},
                     [nt.entry_vector(f"x{s}", 1, positive=False) for s in range(steps)], [], {})
    h0 = nt.entry_vector("hzero", n, positive=False)
    state = {"h": h0}
    step = cell.step(t)
    for time in range(1, steps + 1):
        state = bptt.forward_states(cell, step, case, state, time)
    return Identity(state["h"].jacobian(h0), case.params["U"] ** steps, simplifier="expand",
                    label=f"$N = {n}$, $t = {steps}$")


# ---- computations ----------------------------------------------------------------------------------------------------


def gradient_descent(rng: random.Random) -> Outcome:
    """One gradient step on the POS example lowers the cross-entropy of the right tags."""
    import mpmath

    words, tags = pos_tagging.SENTENCE, ("Noun", "Verb", "Det", "Noun")
    cell, loss = cells.rnn(3, 4), losses.cross_entropy()
    b = bptt.derive(cell, loss)
    with mpmath.workdps(50):
        def arr(m):
            return np.array([[mpmath.mpf(e.p) / e.q for e in row] for row in sp.Matrix(m).tolist()], dtype=object)
        xs = [arr(nt.one_hot(pos_tagging.VOCABULARY.index(w) + 1, 4)) for w in words]
        ys = [arr(nt.one_hot(pos_tagging.TAGS.index(g) + 1, 3)) for g in tags]
        h0 = {"h": arr(sp.zeros(3, 1))}
        params = {"U": arr(pos_tagging.U), "W": arr(pos_tagging.W)}
        before = bptt.run(b, params, xs, ys, h0, mode="mpmath")
        eta = mpmath.mpf(1)
        stepped = {n: params[n] - eta * before.grads[n] for n in params}
        after = bptt.loss_value(cell, loss, stepped, xs, ys, h0)
        slope = -sum((g * g).sum() for g in before.grads.values())
    ok = after < before.loss
    return Outcome(ok, Evidence.EXACT, f"\"John hit the ball\" tagged Noun Verb Det Noun: loss "
                                       f"{mpmath.nstr(before.loss, 6)} $\\to$ {mpmath.nstr(after, 6)} after one step "
                                       f"with $\\eta = 1$ (directional slope {mpmath.nstr(slope, 6)}; 50-digit "
                                       "arithmetic)")


def exact(rng: random.Random) -> Outcome:
    """BPTT against 50-digit directional derivatives at large sizes (RNN and Elman N=16, T=64; GRU N=4, T=16)."""
    details = []
    for cell, loss, T_ in ((cells.rnn(16, 17), losses.cross_entropy(), 64), (cells.elman(16, 8),
                           losses.squared_error(), 64), (cells.gru(4, 3), losses.squared_error(), 16)):
        ok, _worst, msg = bptt.exact_check(cell, loss, T_, seed=rng.randint(0, 10**6))
        details.append(f"{cell.name}: {msg}")
        if not ok:
            return Outcome(False, Evidence.EXACT, "; ".join(details))
    return Outcome(True, Evidence.EXACT, "; ".join(details))


def numeric(rng: random.Random) -> Outcome:
    """The generated NumPy loss-and-gradients against central finite differences, every weight entry."""
    from symrnn.autodiff import training
    from symrnn.numeric import gradcheck

    details = []
    for label, make, loss in subjects():
        cell = make(3)
        compiled = training.compile_bptt(cell, loss)
        params, inputs, targets = numeric_case(cell, loss, 6, 2, rng.randint(0, 10**6))
        res = gradcheck.gradcheck(compiled, params, inputs, targets)
        if not res.passed:
            return Outcome(False, Evidence.NUMERIC, f"{label}: {res.message}")
        details.append(f"{label}: {res.entries_checked} entries, worst relative error {res.worst_relative_error:.1e}")
    return Outcome(True, Evidence.NUMERIC, "; ".join(details))


def feedback_identities() -> list[Identity]:
    """The example's U = (1/2): a 1 x 1 feedback matrix whose spectral radius is 1/2, and U^k = (1/2)^k."""
    u = sp.Matrix([[sp.Rational(1, 2)]])
    radius = max(abs(v) for v in u.eigenvals())
    return [Identity(radius, sp.Rational(1, 2), label="spectral radius"),
            *(Identity(u ** k, sp.Matrix([[sp.Rational(1, 2) ** k]]), label=f"$U^{{{k}}}$") for k in (2, 5, 10))]


def halving_identities() -> list[Identity]:
    """With U = (1/2), g linear and no input, the RNN's one step (symrnn's model, evaluated entry by entry) is
    h_t = (1/2) h_{t-1}, for any h_{t-1} and any W."""
    from symrnn.ops.functions import identity

    cell = cells.elman(1, 1, f=identity)
    h = sp.Matrix([[sp.Symbol("h", real=True)]])
    params = {"U": sp.Matrix([[sp.Rational(1, 2)]]), "W": sp.Matrix([[sp.Symbol("w", real=True)]]),
              "b": sp.zeros(1, 1)}
    step = matcalc.explicit(cell.step()["h"], bind(cell, params, {"h": h}, sp.zeros(1, 1)))
    return [Identity(step, h / 2, simplifier="simplify", label="one step, no input")]
