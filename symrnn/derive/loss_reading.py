"""A loss written as an equation in the cell's text, read into the loss the derivation uses and the quantity it reads.

An equation whose left side is a plain name (``L``, ``E``, ``\\mathcal{L}``) and whose right side mentions the target
``y_t`` (or its entries ``y_{j,t}``) is the loss.  The forms read, with ``q_t`` any quantity defined at t (a state,
or an output layer's ``\\hat{y}_t``) and any bounds on the sum over t (``\\sum_t``, ``\\sum_{t=1}^{T}``):

- squared error: ``\\frac{1}{2}\\sum_t \\|q_t - y_t\\|^2`` (also ``\\|y_t - q_t\\|^2``, the 1/2 inside the sum, or
  entry by entry ``\\frac{1}{2}\\sum_t \\sum_j (q_{j,t} - y_{j,t})^2``);
- cross-entropy: ``-\\sum_t \\sum_j y_{j,t} \\log q_{j,t}`` or ``-\\sum_t \\mathbf{y}_t^\\top \\log \\mathbf{q}_t``.

Either may have a constant factor, outside the sum or inside it, read with the loss as its *scale* beyond the kind's
own (squared error's 1/2, cross-entropy's minus sign): a number times a power of the sequence length T.  So a loss
averaged over t (``\\frac{1}{T}\\sum_t \\frac{1}{2}\\|q_t - y_t\\|^2``, ``-\\frac{1}{T}\\sum_t \\sum_j y_{j,t} \\log
q_{j,t}``, ``\\frac{1}{2T}\\sum_t \\|q_t - y_t\\|^2``) has the scale 1/T, a squared error without its 1/2 the scale 2;
the derivation carries the scale into the error at the output and so into every gradient
(:meth:`symrnn.models.losses.Loss.scaled`).  Anything else is :class:`~symrnn.derive.errors.UnsupportedLoss` with the
line, never dropped: another factor (``\\frac{1}{T-1}``, a parameter), a per-step loss written as a function
(``\\ell(h_t, y_t)``) or a sum of two losses.  Nothing is evaluated: the reader's SymPy objects are matched by their
structure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symrnn import notation as nt
from symrnn.derive import errors
from symrnn.derive import terms as tm
from symrnn.derive.equations import Equation
from symrnn.models import losses

SQUARED, CROSS_ENTROPY = "squared", "cross-entropy"  #: keys of :data:`symrnn.derive.checks.LOSSES`
TARGET = "y"  #: the target's name: ``y_t``, ``\\mathbf{y}_t``, ``y_{j,t}``
_FORMS = (r"squared error \frac{1}{2}\sum_t \|q_t - y_t\|^2 or cross-entropy -\sum_t \sum_j y_{j,t} \log q_{j,t} "
          r"(q_t a quantity defined at t), either with a constant factor such as \frac{1}{T} (averaged over t)")
_WANT = {SQUARED: sp.Rational(1, 2), CROSS_ENTROPY: sp.S.NegativeOne}


@dataclass(frozen=True)
class LossEquation:
    """The loss an equation states: its kind (a key of ``LOSSES``), the quantity it reads, its line and LaTeX."""

    kind: str
    quantity: str
    line: int
    text: str
    origin: object = None  # the quantity as read, for messages
    scale: sp.Expr = sp.S.One  # the factor beyond the kind's own (1/2, -1): 1 summed, 1/T averaged over t
    name: str = "L"  # the loss's name on the left

    @property
    def averaged(self) -> bool:
        """Whether the loss is divided by the sequence length T."""
        return self.scale.has(nt.T)


def _time(index) -> bool:
    return isinstance(index, sp.Basic) and sp.expand(index - nt.t) == 0


def _named(node, name: str | None = None, at_t: bool = True) -> tuple[str, tuple] | None:
    """``(base, indices)`` of a vector at t (indices ``()``) or an entry ``q_{j,t}`` (indices ``(j,)``); any time
    when not ``at_t``."""
    if isinstance(node, nt.Vec) and (_time(node.time) or not at_t):
        found = (str(node.base), ())
    elif isinstance(node, sp.Indexed) and len(node.indices) == 2 and (_time(node.indices[1]) or not at_t):
        found = (str(node.base.label), (node.indices[0],))
    elif isinstance(node, nt.LayerCopy) and isinstance(node.matrix, sp.MatrixSymbol) and node.matrix.shape[1] == 1 \
            and (_time(node.step) or not at_t):  # \boldsymbol{y}^{(t)}, y_j^{(t)}: the time as a superscript
        entry = re.fullmatch(r"(.+)_([A-Za-z])", str(node.matrix.name))
        found = (entry.group(1), (sp.Symbol(entry.group(2)),)) if entry else (str(node.matrix.name), ())
    elif isinstance(node, sp.Pow) and isinstance(node.base, sp.Indexed) and len(node.base.indices) == 1 \
            and (_time(node.exp) or not at_t):  # y_j^{(t)}: read as a power of the entry y_j
        found = (str(node.base.base.label), (node.base.indices[0],))
    else:
        return None
    return found if name is None or found[0] == name else None


def is_loss(eq: Equation) -> bool:
    """Whether ``eq`` states a loss: a plain name on the left, the target y (at any time) on the right."""
    if not isinstance(eq.lhs, sp.Symbol) or not isinstance(eq.rhs, sp.Basic):
        return False
    return any(_named(node, TARGET, at_t=False) is not None or _plain_target(node)
               for node in sp.preorder_traversal(eq.rhs))


def _plain_target(node) -> bool:
    """``y_T``, ``\\mathbf{y}``: the target at a time the reader took for a name."""
    name = str(node.name) if isinstance(node, (sp.MatrixSymbol, sp.Symbol)) else ""
    return name == TARGET or name.startswith(TARGET + "_")


def _constant(expr) -> bool:
    """A number, possibly with the sequence length T (``\\frac{1}{2}``, ``\\frac{1}{T}``)."""
    return (isinstance(expr, sp.Expr) and not isinstance(expr, sp.MatrixExpr)
            and not expr.has(nt.StateSum, sp.Sum, sp.Indexed)
            and all(isinstance(s, sp.Symbol) and s.name == "T" for s in expr.free_symbols))


def _peel(expr) -> tuple[sp.Expr, object]:
    """``(c, e)`` with ``expr = c e``: the constant factors taken out, the rest as it was written."""
    coeff = sp.S.One
    while True:
        if isinstance(expr, sp.Mul):
            consts = [a for a in expr.args if _constant(a)]
            rest = [a for a in expr.args if not _constant(a)]
            if consts and len(rest) == 1:
                coeff, expr = coeff * sp.Mul(*consts), rest[0]
                continue
        if isinstance(expr, sp.MatMul):
            c, mats = expr.as_coeff_matrices()
            if c != 1 and _constant(sp.sympify(c)):
                coeff, expr = coeff * c, mats[0] if len(mats) == 1 else sp.MatMul(*mats)
                continue
        return coeff, expr


def _summed(expr) -> tuple[sp.Symbol, object] | None:
    """``(index, body)`` of ``\\sum_i body`` (with or without bounds), else None."""
    if isinstance(expr, nt.StateSum) and not isinstance(expr, nt.StateMax):
        return expr.index, expr.expr
    if isinstance(expr, sp.Sum) and len(expr.limits) == 1:
        return expr.limits[0][0], expr.function
    return None


class _Matcher:
    """The per-step term of a loss matched against the forms read; failures name the equation's line."""

    def __init__(self, eq: Equation):
        self.eq, self.reader = eq, tm.Reader(eq.line, eq.text)

    def fail(self, message: str) -> errors.UnsupportedLoss:
        return errors.UnsupportedLoss(message, self.eq.line, self.eq.text)

    def quantity(self, node, entry_index=None) -> tuple[str, object] | None:
        found = _named(node)
        if found is None or found[0] == TARGET or (found[1] and str(found[1][0]) != str(entry_index)):
            return None
        if bool(found[1]) != (entry_index is not None):
            return None
        return self.reader.identifier(found[0], "quantity"), node

    def target(self, node, entry_index=None) -> bool:
        found = _named(node, TARGET)  # the index compared by name: a superscript-time entry's is a plain symbol
        return found is not None and tuple(map(str, found[1])) == ((str(entry_index),) if entry_index is not None
                                                                   else ())

    def difference(self, d, entry_index=None) -> tuple[str, object] | None:
        """The quantity of ``q - y`` or ``y - q``."""
        parts = d.args if isinstance(d, (sp.MatAdd, sp.Add)) else ()
        if len(parts) != 2:
            return None
        signed = []
        for p in parts:
            c, rest = (p.as_coeff_mmul() if isinstance(p, sp.MatrixExpr) else p.as_coeff_Mul())
            signed.append((c, rest.args[0] if isinstance(rest, sp.MatMul) and len(rest.args) == 1 else rest))
        (c1, a), (c2, b) = signed
        if abs(c1) != 1 or c1 != -c2:
            return None
        for q, y in ((a, b), (b, a)):
            if self.target(y, entry_index):
                return self.quantity(q, entry_index)
        return None

    def form(self, term) -> tuple[str, tuple[str, object], sp.Expr]:
        """``(kind, (quantity, node), factor)`` of one step's term."""
        coeff, core = _peel(term)
        if isinstance(core, sp.MatMul) and len(core.args) == 2:
            a, b = core.args
            if sp.transpose(a).doit() == b.doit() and (q := self.difference(b.doit())):
                return SQUARED, q, coeff
            if (isinstance(a, sp.Transpose) and self.target(a.arg) and _is_log(b)
                    and (q := self.quantity(b.expr))):
                return CROSS_ENTROPY, q, coeff
        inner = _summed(core)
        if inner is not None and not _time(inner[0]):
            j, body = inner
            c, body = _peel(body)
            if isinstance(body, sp.Pow) and body.exp == 2 and (q := self.difference(body.base, j)):
                return SQUARED, q, coeff * c
            if isinstance(body, sp.Mul) and len(body.args) == 2:
                for y, lg in (body.args, body.args[::-1]):
                    if self.target(y, j) and isinstance(lg, sp.log) and (q := self.quantity(lg.args[0], j)):
                        return CROSS_ENTROPY, q, coeff * c
        raise self.fail(f"the loss's term at step t, {tm.shown(term)}, is not a form read: {_FORMS}")


def _is_log(node) -> bool:
    if not isinstance(node, ElementwiseApplyFunction) or not isinstance(node.function, sp.Lambda):
        return False
    fn = node.function
    return len(fn.variables) == 1 and fn.expr == sp.log(fn.variables[0])


def read_loss(eq: Equation) -> LossEquation:
    """The loss ``eq`` states (see the module's docstring), or :class:`errors.UnsupportedLoss` with its line."""
    m = _Matcher(eq)
    coeff, core = _peel(eq.rhs)
    summed = _summed(core)
    if summed is None or not _time(summed[0]):
        raise m.fail(f"a loss is a sum over t of one step's term: {_FORMS}")
    kind, (name, node), factor = m.form(summed[1])
    factor = sp.simplify(coeff * factor)
    factor = factor.xreplace({s: nt.T for s in factor.free_symbols if s.name == "T"})
    try:
        scale = losses.check_scale(sp.simplify(factor / _WANT[kind]))
    except ValueError:
        raise m.fail(f"the factor {tm.shown(factor)} of this {kind} loss is not read: a loss's factor is a number "
                     f"times a power of the sequence length T (\\frac{{1}}{{T}} for a loss averaged over t); "
                     f"{_FORMS}") from None
    return LossEquation(kind, name, eq.line, eq.text, node, scale, _loss_name(eq.lhs))


def _loss_name(lhs) -> str:
    """The loss's own name as written (``L``, ``E``; ``\\mathcal{L}`` was read as ``L``), when it is a plain one."""
    name = str(getattr(lhs, "name", ""))
    return name if name.isidentifier() and name.isascii() else "L"
