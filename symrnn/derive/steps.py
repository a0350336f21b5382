"""A user's cell, derived: the steps of its BPTT derivation as data (statement, justification, check), for the
verifier and the renderers, the way :mod:`symrnn.lecture25.bptt.steps` writes the lecture's.

In order: the cell as read (each equation in the user's names), the loss's gradient in the output, the total
derivative of the loss in every state, every state's recursion backwards in time, every parameter's gradient as a
sum over t, then the whole gradient at 50 digits and the generated code.  The checks are in :mod:`.checks`.
"""

from __future__ import annotations

import sympy as sp

from symrnn import notation as nt
from symrnn.autodiff import bptt, readable
from symrnn.core.derivation import Computation, Derivation, Instances, Step
from symrnn.derive import checks, textbook, torch_check, whole_three
from symrnn.derive.checks import Spec
from symrnn.derive.shown import CellText, cell_text
from symrnn.latex.printer import latex
from symrnn.latex.style import Style

t, T = nt.t, nt.T
LOSS = sp.Symbol(r"\mathfrak{L}")
ELL = sp.Symbol(r"\ell_{t}")
THETA = sp.Symbol(r"\theta")


def _eq(lhs, rhs) -> sp.Eq:
    return sp.Eq(lhs, rhs, evaluate=False)


def derivation(spec: Spec, source_name: str = "the text") -> Derivation:
    """The derivation of ``spec``'s cell (read at the sizes asked for), section named after the cell."""
    cell = spec.cell()
    text = cell_text(spec.text, n_state=spec.n_state, n_input=spec.n_input, output=spec.output,
                     n_output=spec.n_output)
    b, r, _ = textbook.forms(spec)
    style = text.style

    def _m(expr) -> str:
        return _maths(expr, style)
    intermediates = [_m(e.lhs) for e in text.equations if not e.state]
    prev, cur = cell.previous(t - 1), cell.current()
    fed = [s for s in cell.states if any(prev[s] in e.rhs.atoms(nt.Vec) for e in text.equations)]
    intro = (f"The cell `{spec.name}`, read from `{source_name}`: states {', '.join(_m(cur[s]) for s in fed)} (the "
             "quantities whose value at $t-1$ is used)"
             + (f", output {', '.join(_m(cur[s]) for s in cell.states if s not in fed)} (computed at every step, "
                "not fed back)" if len(fed) < len(cell.states) else "")
             + (f", intermediates {', '.join(intermediates)}" if intermediates else "")
             + f", parameters {', '.join(_m(p.symbol) for p in cell.params)}; $N = {cell.n_state}$, "
             f"$D = {cell.n_input}$" + (f", $Q = {cell.n_output}$ (the output's size)"
                                        if cell.n_output != cell.n_state else "")
             + f". Loss: {b.loss.name} of {_m(cur[cell.output])}, {_over_t(b.loss.scale)}. "
             "symrnn derives back-propagation through time for it from the operations' rules, checks every step, "
             "and writes the training code.")
    steps = [_the_cell(spec, text), _the_unrolled(spec), _the_loss(spec, b, style), _the_deltas(spec, b, style),
             _the_errors(spec, r, style), *(_the_recursion(spec, b, r, s, style) for s in cell.states),
             *(_the_gradient(spec, b, r, p.name, style) for p in cell.params), *_the_whole_gradient(spec, b)]
    return Derivation(spec.name, f"Back-propagation through time for the cell `{spec.name}`", intro, steps)


def _over_t(scale: sp.Expr) -> str:
    """How the loss combines its steps: summed, averaged (1/T) or summed times a factor."""
    if scale == 1:
        return "summed over $t = 1, \\dots, T$"
    if scale == 1 / T:
        return "averaged over $t = 1, \\dots, T$ (summed, times $\\frac{1}{T}$)"
    return f"summed over $t = 1, \\dots, T$ and multiplied by ${latex(scale)}$"


def _maths(expr, style: Style) -> str:
    """``expr`` as inline maths in the prose (the user's names and notation, printed as in the equations)."""
    return f"${latex(expr, style=style)}$"


def _the_cell(spec: Spec, text: CellText) -> Step:
    lines = ", ".join(f"{_maths(e.lhs, text.style)} on line {e.line}" for e in text.equations)
    return Step("cell", "The cell as read", tuple(e.equation for e in text.equations),
                f"The equations, in the order they are computed ({lines}), printed back from what was read. "
                "Substituting the intermediates gives the one step $\\vec{h}_t = F(\\vec{h}_{t-1}, \\vec{x}_t)$ that "
                "is differentiated.",
                Instances(lambda: checks.cell_identities(spec),
                          "the equations, intermediates substituted, vs the step differentiated"))


def _the_unrolled(spec: Spec) -> Step:
    k = textbook.UNROLLED_STEPS
    ells = sp.Add(*[sp.Symbol(rf"\ell_{{{j}}}") for j in range(1, k + 1)], evaluate=False)
    return Step("unrolled", f"The network unrolled over {k} steps",
                (*(_eq(lhs, rhs) for lhs, rhs in textbook.unrolled(spec, k)), _eq(LOSS, ells)),
                "One copy of the cell per step, sharing the weights: each step reads the states of the step before "
                "(the initial states at $t = 0$) and the input of its own; the loss adds one term per step. This "
                "is the very deep network that back-propagation runs through. Checked: the equations evaluated in "
                "order give the states the engine's forward pass computes, at every step (60 digits).",
                Computation(lambda rng: textbook.unrolled_check(spec, rng), "unrolled equations vs the forward pass"))


def _the_loss(spec: Spec, b: bptt.BPTT, style: Style) -> Step:
    out = b.cell.current()[b.cell.output]
    stated = spec.stated_loss(spec.text)
    scale = b.loss.scale
    factor = sp.Mul(sp.Symbol(latex(scale)), sp.Sum(ELL, (t, 1, T)), evaluate=False) if scale not in (1, -1) \
        else scale * sp.Sum(ELL, (t, 1, T))
    where = (f"the loss equation on line {stated.line} (${stated.name}$ there)" if stated is not None
             else "the loss asked for")
    carried = ("" if scale == 1 else
               f" The factor ${latex(scale)}$ multiplies the error that reaches {_maths(out, style)} from the loss, so "
               "it is in "
               "the total derivative below and in every gradient; the checks differentiate the loss with it.")
    return Step("loss", "The loss and its gradient in the output",
                (_eq(LOSS, factor), _eq(ELL, _term(b.loss, out, b.target, style)),
                 _eq(nt.VecDerivative(ELL, out, partial=True), b.loss.grad(out, b.target))),
                f"The loss is {b.loss.name} of {_maths(out, style)}, {_over_t(scale)}, as {where} states it, with "
                f"$\\ell_t$ its term at step $t$; its gradient in {_maths(out, style)} is the error that starts the "
                "recursion." + carried,
                Instances(lambda: checks.loss_identities(spec), "vs entry-level differentiation of $\\ell_t$"))


def _term(loss, out: nt.Vec, y: nt.Vec, style: Style) -> sp.Symbol:
    """The loss's term at step t in the cell's names (``\\frac{1}{2}\\|\\hat{y}_t - y_t\\|^2``), for display."""
    o, y = latex(out, style=style), latex(y, style=style)
    if loss.name == "cross-entropy":
        return sp.Symbol(rf"-{{{y}}}^{{T}} \ln {o}")
    if loss.name == "squared error":
        return sp.Symbol(rf"\frac{{1}}{{2}} \left\| {o} - {y} \right\|^{{2}}")
    return sp.Symbol(rf"\ell\left({o}, {y}\right)")


def _the_deltas(spec: Spec, b: bptt.BPTT, style: Style) -> Step:
    cur = b.cell.current()
    rho_t, rho_end = (_maths(nt.Vec("rho", time, b.cell.n_state), style) for time in (t, T))
    return Step("delta", "The total derivative of the loss in each state",
                tuple(_eq(nt.VecDerivative(LOSS, cur[s]), b.seed[s]) for s in b.cell.states),
                "A state changes the loss directly at its own step (only the output state does) and through every "
                f"later step; {rho_t} collects the second part, what reaches the state through step $t+1$, "
                f"and {rho_end[:-1]} = 0$. Checked for the output state against direct differentiation of the loss "
                "from $t$ on, with symbolic weights.",
                Instances(lambda: checks.delta_identities(spec), "recursion vs direct differentiation, every $t$"))


def _the_errors(spec: Spec, r: readable.Readable, style: Style) -> Step:
    pre = [_maths(e.quantity, style) for e in r.errors if e.at_preactivation]
    return Step("errors", "The error at each quantity", tuple(e.equation for e in r.errors),
                "Back-propagation through one step, in the order opposite to the equations: each quantity's error "
                "is what reaches it from the loss and from every later equation that uses it"
                + (f"; for {', '.join(pre)} (a function applied entrywise) the error is taken at its argument, the "
                   "derivative written through the output" if pre else "")
                + ". The recursion and the gradients below are written in these names; substituted back, they equal "
                "the engine's expressions (the ones the generated code computes), checked entry by entry.",
                Instances(lambda: textbook.engine_identities(spec), "as printed vs the engine's expressions"))


def _the_recursion(spec: Spec, b: bptt.BPTT, r: readable.Readable, state: str, style: Style) -> Step:
    rho = b.rho(state, t - 1)
    sizes = ", ".join(map(str, spec.local_sizes))
    state_t = b.cell.current()[state]
    return Step(f"rho-{state}", f"The recursion backwards in time ({_maths(state_t, style)})",
                _eq(rho, r.recurrent[state]),
                f"What reaches {_maths(b.cell.previous(t - 1)[state], style)} through step $t$: the transposed "
                "Jacobian of one "
                "step applied to the total derivatives at $t$, every path through the gates and intermediates "
                f"included. Proved as printed, one step at entry level ($N = {sizes}$ where the declarations allow); "
                "the unrolled network is a chain, so induction on $T - t$ extends the step to every $T$.",
                Instances(lambda: textbook.printed_identities(spec, f"rho_{state}"),
                          "as printed vs entry-level differentiation"))


def _the_gradient(spec: Spec, b: bptt.BPTT, r: readable.Readable, name: str, style: Style) -> Step:
    symbol = b.cell.symbols()[name]
    return Step(f"grad-{name}", f"The gradient in {_maths(symbol, style)}",
                _eq(nt.TotalDerivative(LOSS, symbol), sp.Sum(r.grads[name], (t, 1, T))),
                f"{_maths(symbol, style)} is used at every step; each use adds its contribution, with the states at "
                "$t-1$ held "
                "fixed"
                + (" (a bias: summed over the batch)" if symbol.shape[1] == 1 else "")
                + f". Proved as printed, one step at entry level, and the whole sum against direct differentiation "
                f"of the loss unrolled over $T = {spec.whole_steps}$ steps with symbolic weights.",
                Instances(lambda: _gradient_identities(spec, name),
                          "one step as printed and the whole gradient vs direct differentiation"))


def _gradient_identities(spec: Spec, name: str):
    yield from textbook.printed_identities(spec, name)
    yield checks.whole_identity(spec, name)


def _the_whole_gradient(spec: Spec, b: bptt.BPTT) -> list[Step]:
    generic = _eq(nt.TotalDerivative(LOSS, THETA),
                  sp.Sum(sp.Mul(nt.PartialDerivative(sp.Symbol(r"\vec{F}_{t}"), THETA),
                                sp.Symbol(r"\vec{\delta}_{t}"), evaluate=False), (t, 1, T)))
    return [
        Step("exact", "Large sizes, 50 digits", generic,
             f"At $N = {spec.exact_sizes[0]}$ and $T = {spec.exact_sizes[1]}$ (where the declarations allow) the "
             "expressions are too large to expand; the recursion evaluated at a random rational point to 90 digits "
             "is compared with a central difference of step $10^{-35}$ (error $10^{-70}$) in random directions.",
             Computation(lambda rng: checks.exact(spec, rng), "BPTT vs 50-digit directional derivatives")),
        *([Step("whole-3", f"The whole gradient at $N = {whole_three.SIZE}$", generic,
                f"Every parameter's sum over $t$ as above, at $N = {whole_three.SIZE}$ and $T = {spec.whole_steps}$ "
                "with symbolic weights, against direct differentiation of the unrolled loss, where the algebra "
                f"finishes within {whole_three.BUDGET:.0f} s (a stated budget: the zero test grows quickly with the "
                "gates' nesting); the check says whether it was reached.",
                Computation(lambda rng: whole_three.check(spec, rng), "whole gradient at N = 3 vs direct "
                            "differentiation"))]
          if not spec.quick and whole_three.available(spec) else []),
        Step("code", f"The generated code, `{spec.name}_bptt.py`", generic,
             "The same expressions as NumPy kernels (the training module's, `symrnn.autodiff.training`), in a "
             "module that imports only NumPy, run as a loop over $t$ on a batch: its gradients against central "
             "finite differences (float64), and equal to the training module's.",
             Computation(lambda rng: checks.numeric(spec, rng), "generated code vs finite differences")),
        *([Step("torch", f"`{spec.name}_bptt.py` against torch autograd", generic,
                "A peer library differentiates the same equations: the cell as read and its loss evaluated on "
                "float64 tensors, one torch operation per node, and `torch.autograd` run backwards through the "
                "forward pass; the generated module's loss and gradients must equal autograd's.",
                Computation(lambda rng: torch_check.check(spec, rng), "generated code vs torch autograd"))]
          if torch_check.available() else []),
    ]
