"""A loss written through a per-step function the document does not define: ``L = \\frac{1}{T} \\sum_{t=1}^T
\\ell(\\mathbf{o}_t, y_t)`` (or ``L = \\sum_t l(o_t, y_t)``).

Nothing is known of ``\\ell``, so ``\\frac{\\partial \\ell(o_t, y_t)}{\\partial o_t}`` is a free vector at each step: by
the chain rule a first-order claim holds for every ``\\ell`` iff it holds for every value of these vectors, so the
unrolled instance (:mod:`.unrolled`) gives them random values and uses the loss ``scale * \\sum_t g_t^\\top o_t``,
whose derivatives are those of any ``\\ell`` with the gradients ``g_t``.  Nothing here evaluates user text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp
from sympy.core.function import AppliedUndef

from symrnn import notation as nt
from symrnn.latex.parse import Limits, ParseError, Sizes, parse_math
from symrnn.latex.spans import find_spans

ABSTRACT = "abstract per-step"  #: the kind of a CellModel's loss read here
_LOSS_SIDE = re.compile(r"^\s*(?:L|E|J|\\math(?:cal|scr)\s*\{\s*[LEJ]\s*\})\s*=")


@dataclass(frozen=True)
class PerStepLoss:
    """``name = scale * sum_t function(quantity_t, ...)``: the loss's name, the function's name, the quantity it
    reads and the factor in front of the sum (an expression in T, e.g. 1/T)."""

    name: str
    function: str
    quantity: str
    scale: sp.Expr
    line: int = 0

    def factor(self, steps: int) -> sp.Expr:
        """The factor at ``steps`` time steps."""
        return sp.sympify(self.scale).xreplace({nt.T: sp.Integer(steps)})


def _peel(expr) -> tuple[sp.Expr, sp.Basic] | None:
    """``(scale, sum)`` of ``scale * sum`` (a scale made of numbers and T only)."""
    if isinstance(expr, (sp.Sum, nt.StateSum)):
        return sp.S.One, expr
    if isinstance(expr, sp.Mul):
        sums = [a for a in expr.args if isinstance(a, (sp.Sum, nt.StateSum))]
        rest = sp.expand(sp.Mul(*[a for a in expr.args if a not in sums]))
        if len(sums) == 1 and rest.free_symbols <= {nt.T}:
            return rest, sums[0]
    return None


def _quantity(arg) -> str | None:
    """The quantity at t a per-step function reads first (a vector ``o_t``, or a plain ``o_t``)."""
    if isinstance(arg, nt.Vec) and arg.time == nt.t:
        return arg.base
    if isinstance(arg, sp.Indexed) and len(arg.indices) == 1 and arg.indices[0] == nt.t:
        return str(arg.base.label)
    return None


def read_per_step(rel) -> PerStepLoss | None:
    """The per-step loss ``rel`` states (an equation ``L = ...``), or None when it is not one."""
    if not isinstance(rel, sp.Eq) or not isinstance(rel.lhs, sp.Symbol):
        return None
    peeled = _peel(rel.rhs)
    if peeled is None:
        return None
    scale, total = peeled
    if isinstance(total, nt.StateSum):
        index, body = total.index, total.expr
    else:
        if len(total.limits) != 1:
            return None
        (index, lo, hi), body = total.limits[0], total.function
        if (lo, hi) != (1, nt.T):
            return None
    if index != nt.t or not isinstance(body, AppliedUndef) or not body.args:
        return None
    quantity = _quantity(body.args[0])
    if quantity is None:
        return None
    return PerStepLoss(str(rel.lhs), str(body.func), quantity, sp.sympify(scale))


def find_per_step(source: str, notation: Sizes, limits: Limits) -> PerStepLoss | None:
    """The first span of ``source`` that states a per-step loss, read in ``notation``."""
    from symrnn.audit.cell_model import claim_text

    for span in find_spans(source):
        if not _LOSS_SIDE.search(span.text) or r"\partial" in span.text:
            continue
        try:
            expr = parse_math(claim_text(span.text), notation=notation, limits=limits, backend="none").expr
        except ParseError:
            continue
        for rel in expr if isinstance(expr, tuple) else (expr,):
            found = read_per_step(rel)
            if found is not None:
                return PerStepLoss(found.name, found.function, found.quantity, found.scale, span.line)
    return None


def is_step_term(node, loss: PerStepLoss) -> bool:
    """Whether ``node`` is the per-step function applied (``\\ell(o_\\tau, y_\\tau)``)."""
    return isinstance(node, AppliedUndef) and str(node.func) == loss.function and bool(node.args) \
        and _time_of(node.args[0], loss.quantity) is not None


def _time_of(arg, quantity: str):
    if isinstance(arg, nt.Vec) and arg.base == quantity:
        return arg.time
    if isinstance(arg, sp.Indexed) and len(arg.indices) == 1 and str(arg.base.label) == quantity:
        return arg.indices[0]
    return None


def step_time(node, loss: PerStepLoss):
    """The time of the quantity the applied per-step function reads."""
    return _time_of(node.args[0], loss.quantity)


def step_gradient(loss: PerStepLoss, n: int, time=nt.t) -> sp.MatrixExpr:
    """``scale * d function(q_time, y_time) / d q_time``: dL/dq_time as the document would write it."""
    q = nt.Vec(loss.quantity, time, n)
    term = sp.Function(loss.function)(q, nt.Gate("y", time, n))
    d = nt.VecDerivative(term, q, True)
    return d if loss.scale == 1 else sp.MatMul(loss.scale, d)
