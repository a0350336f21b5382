"""The correct statement of a BPTT claim, derived from the cell as the document writes it and printed in its
notation: the same vector-Jacobian rules the engine uses (:func:`symrnn.autodiff.matcalc.vjp`), run backwards over
the equations of step t (and t+1), every state's total derivative kept as the document's
``\\frac{\\partial L}{\\partial h_t}`` (or the error it names, ``\\delta_t``), each derivative of an entrywise function
written through its output (``1 - h_t \\odot h_t``), as :mod:`symrnn.autodiff.readable` writes it.

- ``dL/dq_t`` (a state or an intermediate): the loss's own term when q is what it reads, plus what flows back from
  the quantities computed from q_t at step t and at step t+1;
- ``dL/dW``: ``\\sum_{t=1}^{T}`` of what flows into W from every state's total derivative at step t.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.matrices.expressions import MatrixExpr
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symrnn import notation as nt
from symrnn.audit.cell_model import CellModel
from symrnn.audit.per_step_loss import step_gradient
from symrnn.autodiff import matcalc
from symrnn.autodiff.bptt import cancel_ratios
from symrnn.autodiff.readable import hadamard_form, tidy
from symrnn.derive.loss_reading import CROSS_ENTROPY
from symrnn.latex.printer import latex
from symrnn.models.losses import cross_entropy, squared_error
from symrnn.ops.linear import total
from symrnn.ops.softmax import Softmax

_GREEK = re.compile(r"^\\[A-Za-z]+$")


def _shifted(model: CellModel, k: int) -> list[tuple[nt.Vec, MatrixExpr]]:
    return [(e.lhs.xreplace({nt.t: nt.t + k}), e.rhs.xreplace({nt.t: nt.t + k})) for e in model.equations]


def _recurrent(model: CellModel) -> set[str]:
    """The states whose value at t-1 the cell uses (an output state is not one of them)."""
    return {a.base for e in model.equations for a in e.rhs.atoms(nt.Vec) if a.time == nt.t - 1}


def error_of(model: CellModel, name: str, time) -> MatrixExpr:
    """The document's symbol for dL/d(name_time): the error it names for it, else the derivative written out."""
    q = nt.Vec(name, time, model.n)
    for alias, d in model.aliases.items():
        if isinstance(d.variable, nt.Vec) and d.variable.base == name:
            return nt.Vec(alias, time, model.n)
    return nt.VecDerivative(sp.Symbol(model.loss_name), q, True)


def loss_gradient(model: CellModel, time=nt.t) -> MatrixExpr:
    """The loss term's gradient in its quantity at ``time`` (``q_t - y_t``, or ``-y_t / q_t`` for cross-entropy)."""
    if model.per_step is not None:  # an abstract per-step loss: its gradient, as the document would write it
        return step_gradient(model.per_step, model.n, time)
    loss = cross_entropy() if model.loss == CROSS_ENTROPY else squared_error()
    return loss.grad(nt.Vec(model.output, time, model.n), nt.Vec("y", time, model.n))


def _seed(model: CellModel, name: str, time) -> MatrixExpr:
    if name == model.output and name not in _recurrent(model) and model.per_step is None:
        return loss_gradient(model, time)
    return error_of(model, name, time)


def _through(lhs: nt.Vec, rhs: MatrixExpr, grad: MatrixExpr) -> tuple[MatrixExpr, MatrixExpr]:
    """Where the chain continues from ``lhs = rhs`` and the gradient there (at the pre-activation of an entrywise
    function or a softmax, written through its output)."""
    if type(rhs) is Softmax:
        if grad == cross_entropy().grad(lhs, nt.Vec("y", lhs.time, lhs.shape[0])):  # one-hot targets: q - y
            return rhs.args[0], sp.MatAdd(lhs, -nt.Vec("y", lhs.time, lhs.shape[0]))
        return rhs.args[0], sp.MatAdd(sp.HadamardProduct(lhs, grad), -sp.MatMul(lhs, lhs.T, grad))
    if not isinstance(rhs, ElementwiseApplyFunction):
        return rhs, grad
    a = rhs.expr
    part = matcalc.vjp(rhs, grad, [a])[a]
    return a, hadamard_form(part.xreplace({rhs: lhs}))


def backprop(equations: list[tuple[nt.Vec, MatrixExpr]], anchors: dict[nt.Vec, MatrixExpr],
             wanted: list[MatrixExpr]) -> dict[MatrixExpr, list[MatrixExpr]]:
    """What flows into each of ``wanted`` from the ``anchors`` (quantities whose total derivative is given), back
    through ``equations``; nothing flows into an anchor (its total derivative already holds it)."""
    incoming: dict[MatrixExpr, list[MatrixExpr]] = {lhs: [] for lhs, _ in equations}
    for q, seed in anchors.items():
        incoming[q] = [seed]
    outputs = {rhs: lhs for lhs, rhs in equations}
    wrt = [*incoming, *wanted]
    out: dict[MatrixExpr, list[MatrixExpr]] = {}
    for lhs, rhs in reversed(equations):
        if not incoming.get(lhs):
            continue
        inner, grad = _through(lhs, rhs, tidy(total(incoming[lhs])))
        for leaf, part in matcalc.vjp(inner, grad, wrt).items():
            if leaf in anchors:
                continue
            part = tidy(hadamard_form(part.xreplace(outputs)))
            (out if leaf in wanted else incoming).setdefault(leaf, []).append(part)
    return out


def quantity_error(model: CellModel, name: str, last: bool = False) -> MatrixExpr:
    """The correct right side of ``dL/d(name_t) = ...`` in the document's names (``last``: at t = T, where nothing
    comes back from a later step)."""
    q = nt.Vec(name, nt.t, model.n)
    recurrent = _recurrent(model)
    if name == model.output and name not in recurrent:
        return loss_gradient(model)
    parts: list[MatrixExpr] = [loss_gradient(model)] if name == model.output else []
    now = _shifted(model, 0)
    anchors = {lhs: _seed(model, lhs.base, nt.t) for lhs, _ in now
               if lhs.base in model.states and lhs.base != name}
    parts += backprop(now, anchors, [q]).get(q, [])
    if name in recurrent and not last:
        later = _shifted(model, 1)
        anchors = {lhs: _seed(model, lhs.base, nt.t + 1) for lhs, _ in later if lhs.base in model.states}
        parts += backprop(later, anchors, [q]).get(q, [])
    if not parts:
        return sp.ZeroMatrix(model.n, 1)
    return tidy(cancel_ratios(total(parts)))


def parameter_gradient(model: CellModel, name: str) -> MatrixExpr:
    """The summand of ``dL/dW = \\sum_{t=1}^{T} ...`` in the document's names."""
    now = _shifted(model, 0)
    symbol = next(p for _, rhs in now for p in rhs.atoms(sp.MatrixSymbol) if str(p.name) == name)
    anchors = {lhs: _seed(model, lhs.base, nt.t) for lhs, _ in now if lhs.base in model.states}
    parts = backprop(now, anchors, [symbol]).get(symbol, [])
    return tidy(cancel_ratios(total(parts))) if parts else sp.ZeroMatrix(*symbol.shape)


_POWER = re.compile(r"\\left\(\\(tanh|sigma)\\left\(([^()]*?)\\right\)\\right\)\^\{(\d+)\}")


def styled(text: str, style: str, marked: tuple[str, ...] = (), transpose: str = r"^\top") -> str:
    """The printer's ``\\vec{h}`` in the document's style (plain ``h``, ``\\mathbf{h}``, ``\\boldsymbol{h}``); the
    parameters whose letters are in ``marked`` in the style too, as the document writes them; transposes with the
    document's mark (``^T``, ``^\\top``, ...)."""
    text = text.replace(r"\mathbf{1}", "1").replace("^{T}", "\0")
    text = _POWER.sub(lambda m: rf"\{m.group(1)}^{{{m.group(3)}}}\left({m.group(2)}\right)", text)
    for base in marked:
        text = re.sub(rf"(?<![\\A-Za-z{{]){re.escape(base)}(?![A-Za-z])", lambda m: rf"\{style}{{{m.group(0)}}}", text)

    def mark(inner: str) -> str:
        if style == "plain":
            return inner
        if style == "mathbf" and _GREEK.match(inner):
            return rf"\boldsymbol{{{inner}}}"
        return rf"\{style}{{{inner}}}"

    text = re.sub(r"\\vec\{\\(tilde|hat|bar)\{([A-Za-z])\}\}", lambda m: rf"\{m.group(1)}{{{mark(m.group(2))}}}", text)
    text = re.sub(r"\\vec\{([^{}]*)\}", lambda m: mark(m.group(1)), text)
    return text.replace("\0", transpose)  # (a placeholder while the powers above are rewritten)


def shown(model: CellModel, expr: MatrixExpr, summed: bool = False) -> str:
    """``expr`` printed in the document's notation (inside ``\\sum_{t=1}^{T}`` when ``summed``)."""
    body = styled(latex(expr), model.style, model.marked, model.transpose)
    if not summed:
        return body
    if isinstance(expr, sp.MatAdd):
        body = rf"\left({body}\right)"
    return rf"\sum_{{t=1}}^{{T}} {body}"
