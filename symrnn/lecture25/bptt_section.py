"""Section ``bptt``: training by gradient descent, back-propagation through time, and exponential forgetting.

The recursion is derived once per cell and loss by :mod:`symrnn.bptt` and checked three ways: one step proved at
entry level (which, with the chain rule over the unrolled chain, proves it for every T), the whole gradient
against direct differentiation of the unrolled loss at small T, and 50-digit directional derivatives at N=16, T=64.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import numpy as np
import sympy as sp

from symrnn import notation as nt
from symrnn.autodiff import bptt, matcalc
from symrnn.core.derivation import (
    Computation,
    Derivation,
    Evidence,
    Figure,
    Identity,
    Instances,
    Outcome,
    Refutation,
    Step,
)
from symrnn.models import cells, losses, pos_tagging

t, T, i, j, k = nt.t, nt.T, nt.i, nt.j, nt.k
LOSS = sp.Symbol(r"\mathfrak{L}")
ETA = sp.Symbol(r"\eta", positive=True)


def eq(lhs, rhs) -> sp.Eq:
    return sp.Eq(lhs, rhs, evaluate=False)


def mul(*factors) -> sp.Expr:
    return sp.Mul(*factors, evaluate=False)


def D(f, v) -> nt.TotalDerivative:  # noqa: N802 - d, as printed
    return nt.TotalDerivative(f, v)


def pD(f, v) -> nt.PartialDerivative:  # noqa: N802
    return nt.PartialDerivative(f, v)


#: The cells and losses every general claim is checked on: the lecture's RNN, an Elman cell, a GRU.
def subjects() -> list[tuple[str, Callable[[int], cells.Cell], losses.Loss]]:
    return [("lecture RNN, softmax(xi - 1), cross-entropy", lambda n: cells.rnn(n, n + 1), losses.cross_entropy()),
            ("RNN with tanh, squared error", lambda n: cells.rnn(n, n, "tanh"), losses.squared_error()),
            ("Elman cell, squared error", lambda n: cells.elman(n, 2), losses.squared_error()),
            ("GRU, squared error", lambda n: cells.gru(n, 2), losses.squared_error())]


def _local(seed: int) -> Iterator[Identity]:
    """Each derived one-step product against entry-level differentiation, proved as algebra at N = 2, 4, 8.

    The zero test (:mod:`symrnn.zero_test`) turns exp/tanh/sigmoid into symbols and decides the rational identity
    with sparse polynomials; the 50-digit check covers N=16.
    """
    rng = random.Random(seed)
    for label, make, loss in subjects():
        for n in (2, 4, 8):
            b = bptt.derive(make(n), loss)
            for what, derived, ref in bptt.local_identities(b, rng):
                yield Identity(derived, ref, simplifier="atoms", trials=2, label=f"{label}, N={n}, {what}")


def _whole(seed: int) -> Iterator[Identity]:
    """The whole gradient against sp.diff of the unrolled loss, T = 3, with symbolic weights: N = 2 and 3, and N = 2
    for the GRU (at N = 3 its 57 weights and 27 gate atoms expand past the zero test's size limit; bptt-exact covers
    it at N = 4, T = 16)."""
    rng = random.Random(seed)
    for label, make, loss in subjects():
        for n in (2,) if "GRU" in label else (2, 3):
            cell = make(n)
            case = bptt.random_case(cell, loss, 3, rng, symbolic=True)
            for name, derived, direct in bptt.whole_identities(bptt.derive(cell, loss), case):
                yield Identity(derived, direct, simplifier="atoms", trials=1, label=f"{label}, N={n}, T=3, dL/d{name}")


def _total_state(seed: int) -> Iterator[Identity]:
    """delta_t from the recursion against d(loss from t on)/dh_t by direct differentiation, every t."""
    rng = random.Random(seed)
    for label, make, loss in subjects()[:3]:
        cell = make(2)
        case = bptt.random_case(cell, loss, 3, rng, symbolic=True)
        run = bptt.run(bptt.derive(cell, loss), case.params, case.xs, case.ys, case.h0)
        for time, ref in enumerate(bptt.total_state_gradients(cell, loss, case), start=1):
            yield Identity(run.deltas[time - 1][cell.output], ref, simplifier="atoms", trials=1,
                           label=f"{label}, N=2, T=3, t={time}")


def _lecture_u_formula(seed: int, corrected: bool) -> tuple[sp.Matrix, sp.Matrix]:
    """dL/du_{j,i} directly, and by the lecture's sum (as printed, or corrected), for the lecture's RNN."""
    rng = random.Random(seed)
    cell, loss = cells.rnn(2, 3), losses.cross_entropy()
    case = bptt.random_case(cell, loss, 2, rng, symbolic=True)
    b = bptt.derive(cell, loss)
    run = bptt.run(b, case.params, case.xs, case.ys, case.h0)
    total = bptt.unrolled_loss(cell, loss, case.params, case.xs, case.ys, case.h0)
    U = case.params["U"]  # noqa: N806
    direct = sp.Matrix(2, 2, lambda r, c: sp.diff(total, U[r, c]))
    formula = sp.zeros(2, 2)
    held = nt.entry_vector("hheld", 2, positive=False)  # h_{t-1} held fixed: the partial derivative
    for time in range(1, len(case.xs) + 1):
        vals = {cell.symbols()["U"]: U, cell.symbols()["W"]: case.params["W"], cell.previous()["h"]: held,
                cell.input(): case.xs[time - 1]}
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


def _gradient_descent(rng: random.Random) -> Outcome:
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
                                       f"{mpmath.nstr(before.loss, 6)} -> {mpmath.nstr(after, 6)} after one step with "
                                       f"eta = 1 (directional slope {mpmath.nstr(slope, 6)}; 50-digit arithmetic)")


def _exact(rng: random.Random) -> Outcome:
    details = []
    for cell, loss, T_ in ((cells.rnn(16, 17), losses.cross_entropy(), 64), (cells.elman(16, 8),
                           losses.squared_error(), 64), (cells.gru(4, 3), losses.squared_error(), 16)):
        ok, _worst, msg = bptt.exact_check(cell, loss, T_, seed=rng.randint(0, 10**6))
        details.append(f"{cell.name}: {msg}")
        if not ok:
            return Outcome(False, Evidence.EXACT, "; ".join(details))
    return Outcome(True, Evidence.EXACT, "; ".join(details))


def numeric_case(cell: cells.Cell, loss: losses.Loss, T: int, batch: int, seed: int):  # noqa: N803
    """Random float64 weights, inputs, targets for the generated code (targets as class indices or vectors)."""
    rng = np.random.default_rng(seed)
    params = {p.name: rng.normal(0, 0.5, (p.rows, p.cols)) for p in cell.params}
    inputs = rng.normal(0, 1, (T, cell.n_input, batch))
    if loss.name == "cross-entropy":
        targets = rng.integers(0, cell.n_state, (T, batch))
    else:
        targets = rng.normal(0, 1, (T, cell.n_state, batch))
    return params, inputs, targets


def _numeric(rng: random.Random) -> Outcome:
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


def _deep_network(seed: int) -> Iterator[Identity]:
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
            states = bptt._forward_states(cell, step, layer_case, states, layer + 1)
            total += loss.term(states[cell.output], case.ys[layer])
        shared = {e: v for layer in range(3) for name in case.params
                  for e, v in zip(copies[layer][name], case.params[name])}
        run = bptt.run(bptt.derive(cell, loss), case.params, case.xs, case.ys, case.h0)
        for name, m in case.params.items():
            layered = sp.Matrix([[sp.Add(*[sp.diff(total, copies[layer][name][r, c]) for layer in range(3)])
                                  .xreplace(shared) for c in range(m.cols)] for r in range(m.rows)])
            yield Identity(run.grads[name], layered, simplifier="atoms", trials=1,
                           label=f"{label}, T=3, dL/d{name}")


def _forgetting_figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    n, steps = 8, 40
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for radius in (0.5, 1.0, 1.5):
        U = radius * q  # noqa: N806 - every eigenvalue has modulus `radius`
        delta = rng.standard_normal((n, 1))
        norms = []
        for _ in range(steps):  # dL/dh_t = U^T dL/dh_{t+1} for the linear RNN with the loss at the last step
            norms.append(np.linalg.norm(delta))
            delta = U.T @ delta
        ax.semilogy(range(steps, 0, -1), norms, label=f"spectral radius {radius}")
    ax.set_xlabel("t (loss at t = 40)")
    ax.set_ylabel(r"$\|d\mathfrak{L}/d\vec{h}_t\|$")
    ax.legend()
    return fig


def derivation(seed: int = 0) -> Derivation:
    """The section's steps, in the lecture's order."""
    U, W = nt.matrix("U", nt.N, nt.N), nt.matrix("W", nt.N, nt.V + 1)  # noqa: N806
    lecture_rnn = bptt.derive(cells.rnn(nt.N, nt.V + 1), losses.cross_entropy())
    h0 = nt.Vec("h", 0, 1)
    half = sp.Rational(1, 2)
    steps = [
        Step("gd-u", "Gradient descent on U",
             nt.Assign(nt.u(j, i), sp.Add(nt.u(j, i), -mul(ETA, D(LOSS, nt.u(j, i))), evaluate=False)),
             "Move every weight a small step eta against the derivative of the loss.",
             Computation(_gradient_descent, "one step lowers the loss"),
             lecture=r"u_{j,i} \leftarrow",
             lecture_note="The lecture differentiates \u03a9 (a transcription of the loss \U0001d50f it names below) "
                          "and writes a partial derivative; the update needs the total derivative d\U0001d50f/du, "
                          "which back-propagation through time computes."),
        Step("gd-w", "Gradient descent on W",
             nt.Assign(nt.w(j, k), sp.Add(nt.w(j, k), -mul(ETA, D(LOSS, nt.w(j, k))), evaluate=False)),
             "The same step for the input weights.",
             Computation(_gradient_descent, "one step lowers the loss"),
             lecture=r"w_{j,k} \leftarrow",
             lecture_note="As for U: \u03a9 should read \U0001d50f, and the derivative is the total one."),
        Step("bptt-lecture", "Back-propagation through time",
             eq(D(LOSS, nt.h(i, t)), pD(LOSS, nt.h(i, t))
                + nt.StateSum(mul(D(LOSS, nt.h(j, t + 1)), pD(nt.h(j, t + 1), nt.h(i, t))), j)),
             "h_{i,t} changes the loss directly, and through every entry j of the next state. The recursion runs "
             "backwards from t = T, where the second term is 0.",
             Instances(lambda: _total_state(seed), "recursion vs direct differentiation of the loss from t on"),
             lecture=r"\frac{d\mathfrak{L}}{dh_{i,t}} = \frac{\partial\mathfrak{L}}{\partial h_{i,t}} + \frac{d",
             lecture_note="The lecture leaves the sum over j implicit; symrnn writes it."),
        Step("bptt-matrix", "The recursion in matrix form (the lecture's RNN, cross-entropy)",
             (eq(nt.Vec("delta", t, nt.N), lecture_rnn.seed["h"]),
              eq(nt.Vec("rho", t - 1, nt.N), lecture_rnn.recurrent["h"])),
             "rho_t collects what h_t does to the loss through h_{t+1}; the softmax's Jacobian is "
             "diag(h) - h h^T, and cross-entropy through a softmax gives h - y without dividing by h. Proved one "
             "step at a time at entry level for four cells (N = 2, 4, 8); since the unrolled network is a chain, "
             "induction on T - t extends the step to every T.",
             Instances(lambda: _local(seed), "derived products vs entry-level differentiation")),
        Step("bptt-params", "The weight gradients",
             eq(D(LOSS, nt.u(j, i)), sp.Sum(nt.StateSum(mul(D(LOSS, nt.h(k, t)), pD(nt.h(k, t), nt.u(j, i))), k),
                                            (t, 1, T))),
             "u_{j,i} is used at every step; each use adds its effect through every h_{k,t} it touches "
             "(h_{t-1} held fixed in the partial derivative).",
             Instances(lambda: [Identity(*_lecture_u_formula(seed, True), simplifier="atoms", trials=2,
                                         label="lecture RNN, N=2, T=2")], "the corrected sum vs sp.diff"),
             lecture=r"\frac{d\mathfrak{L}}{du_{j,i}} = \sum_{t=1}^{T}",
             lecture_note="The lecture sums dL/dh_{i,t} dh_{i,t}/du_{j,i}: but u_{j,i} carries h_{i,t-1} into row j, "
                          "so the index on h must be j for an entrywise g, and for the lecture's own softmax g it "
                          "reaches every h_{k,t}: the sum over k is needed (next step shows the printed form fails)."),
        Step("bptt-params-as-printed", "... and the lecture's index, refuted",
             sp.Ne(D(LOSS, nt.u(j, i)), sp.Sum(mul(D(LOSS, nt.h(i, t)), pD(nt.h(i, t), nt.u(j, i))), (t, 1, T)),
                   evaluate=False),
             "Evaluated on the lecture's RNN with random weights, the printed formula gives a different number "
             "from the true derivative.",
             Refutation(*_lecture_u_formula(seed, False), trials=3)),
        Step("bptt-whole", "The whole gradient, directly",
             eq(D(LOSS, U), sp.Sum(mul(lecture_rnn.param_grads["U"]), (t, 1, T))),
             "For T = 3 the loss is expanded into one expression of the weights and differentiated directly; "
             "BPTT gives the same gradient for every weight of every cell (symbolic weights: an algebraic "
             "identity; N = 2 and 3, and N = 2 for the GRU).",
             Instances(lambda: _whole(seed), "BPTT vs sp.diff of the unrolled loss")),
        Step("bptt-exact", "Large sizes, 50 digits",
             eq(D(LOSS, W), sp.Sum(mul(lecture_rnn.param_grads["W"]), (t, 1, T))),
             "At N = 16 and T = 64 the expressions are too large to expand, but evaluating the recursion at a "
             "random rational point to 90 digits and comparing with a central difference of step 1e-35 (error "
             "1e-70) checks the formulas, not just floating-point agreement.",
             Computation(_exact, "BPTT vs 50-digit directional derivatives")),
        Step("bptt-numeric", "The generated code",
             eq(D(LOSS, U), sp.Sum(mul(lecture_rnn.param_grads["U"]), (t, 1, T))),
             "The same expressions, generated as NumPy kernels and run as a loop over t on a batch, agree with "
             "central finite differences (float64, step chosen from a sweep, tolerance from the differences' own "
             "error).",
             Computation(_numeric, "generated code vs finite differences")),
        Step("deep-network", "A very deep network",
             eq(D(LOSS, U), sp.Sum(D(LOSS, nt.LayerCopy(U, t)), (t, 1, T))),
             "Unrolled over T steps, the RNN is a T-layer network whose layers share U and W. Give layer t its own "
             "copy U^{(t)}, back-propagate through the layers, and add the copies' gradients: that is BPTT.",
             Instances(lambda: _deep_network(seed), "layered back-propagation vs BPTT")),
        Step("forgetting-closed-form", "Exponential forgetting",
             eq(nt.Vec("h", t, 1), sp.Mul(sp.Pow(half, t, evaluate=False), h0, evaluate=False)),
             "With U = 1/2, a linear g and no input, each step halves the state: h_0 survives as (1/2)^t h_0. "
             "By induction: true at t = 0, and (1/2)((1/2)^(t-1) h_0) = (1/2)^t h_0.",
             Instances(lambda: [Identity(half * (sp.Pow(half, t - 1) * h0), sp.Pow(half, t) * h0,
                                         simplifier="simplify", label="induction step"),
                                Identity(sp.Pow(half, 0) * h0, h0, label="t = 0")], "induction"),
             lecture=r"then  $\vec{h}_t = \left(\frac{1}{2}\right)^t$",
             lecture_note="The lecture writes h_t = (1/2)^t: it drops h_0 (and the input), and sets a vector "
                          "equal to a number."),
        Step("forgetting-jacobian", "The gradient forgets too",
             eq(pD(nt.Vec("h", t, nt.N), nt.Vec("h", 0, nt.N)), sp.MatPow(U, t)),
             "For the linear RNN h_t = U h_{t-1} + W x_t, the derivative of h_t in h_0 is the product of t "
             "Jacobians, each U: it shrinks like the t-th power of U's spectral radius (figure).",
             Instances(lambda: [_jacobian_identity(n, steps) for n, steps in ((2, 5), (3, 4))], "explicit U^t")),
    ]
    return Derivation("bptt", "Training: gradient descent and back-propagation through time", INTRO, steps,
                      figures=(Figure("forgetting", "Size of dL/dh_t against t for a linear RNN whose recurrent "
                                      "matrix has spectral radius 0.5, 1 and 1.5 (loss at the last step).",
                                      _forgetting_figure),))


def _jacobian_identity(n: int, steps: int) -> Identity:
    cell = cells.rnn(n, 1, "identity")
    case = bptt.Case({"U": nt.entry_matrix("u", n, n, positive=False), "W": nt.entry_matrix("w", n, 1,
                                                                                         positive=False)},
                     [nt.entry_vector(f"x{s}", 1, positive=False) for s in range(steps)], [], {})
    h0 = nt.entry_vector("hzero", n, positive=False)
    state = {"h": h0}
    step = cell.step(t)
    for time in range(1, steps + 1):
        state = bptt._forward_states(cell, step, case, state, time)
    return Identity(state["h"].jacobian(h0), case.params["U"] ** steps, simplifier="expand",
                    label=f"N={n}, t={steps}")


INTRO = (
    "An RNN is trained like any network, by gradient descent; the difficulty is that the loss depends on U and W "
    "through every state, and every state through the one before. Back-propagation through time handles this by "
    "a recursion backwards in time. symrnn derives it for any recurrent cell (the lecture's RNN, an Elman cell, "
    "a GRU) and checks it three ways; the same derivation generates the NumPy training code."
)
