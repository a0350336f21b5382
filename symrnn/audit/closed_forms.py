"""Closed forms of BPTT: ``\\frac{\\partial L}{\\partial h_t} = \\sum_{i=t}^{T} (W^\\top)^{T-i} V^\\top
\\frac{\\partial L}{\\partial o_{T+t-i}}``, products of Jacobians ``\\prod_{k=t+1}^{T} \\frac{\\partial h_k}{\\partial
h_{k-1}}`` with bounds in either direction, powers that depend on t.

Such a claim is evaluated by :mod:`.claim_values` on unrolled instances of the cell for every t at T = 3 and T = 4
(an exponent or a shifted index that is off by one is wrong at some t of one of them).  A product of Jacobians can
be meant in either layout and either order: it holds when one consistent reading does.  The correct closed form is
built from the recursion :mod:`.suggest` derives, when its coefficient of the later error does not depend on t:
``E_t = C E_{t+1} + R_t`` gives ``E_t = \\sum_{i=t}^{T} C^{i-t} R_i``.
"""

from __future__ import annotations

import itertools

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.audit import suggest
from symrnn.audit.claim_values import DOWNWARD, LAYOUT, REVERSED, quantity_at
from symrnn.latex.parse.objects import MatrixProduct

LENGTHS = (3, 4)  #: the numbers of steps a closed form is checked at


def _indexed(node) -> bool:
    if isinstance(node, (sp.Sum, sp.Product, MatrixProduct)):
        return any(lim[0] != nt.t for lim in node.limits)
    return isinstance(node, sp.MatPow) and bool(sp.sympify(node.args[1]).free_symbols)


def _nodes(rel):
    for side in (rel.lhs, rel.rhs):
        yield from sp.preorder_traversal(side)


def is_closed_form(rel) -> bool:
    """Whether a claim sums or multiplies over an index other than t, or raises a matrix to a power that varies."""
    return any(_indexed(n) for n in _nodes(rel))


def _jacobian(node) -> bool:
    return isinstance(node, nt.TotalDerivative) or (isinstance(node, nt.VecDerivative)
                                                     and isinstance(node.expr, (nt.Vec, sp.Indexed)))


def is_jacobian(model, node) -> bool:
    """Whether ``node`` is the derivative of one of the cell's quantities in another (at some times)."""
    if not _jacobian(node):
        return False
    found = [quantity_at(a) for a in node.args[:2]]
    return all(q is not None and q[0] in model.quantities for q in found)


def readings(rel) -> list[dict]:
    """The readings a claim may be meant in, the plain one first: Jacobians in numerator or denominator layout
    (when it has any); a product of matrices taken up or down between its bounds as written, its factors in the
    order taken or reversed (when it has one)."""
    nodes = list(_nodes(rel))
    layouts = (0, 1) if any(_jacobian(n) for n in nodes) else (0,)
    matrices = any(isinstance(n, MatrixProduct) for n in nodes)
    orders = (0, 1) if matrices or any(isinstance(n, sp.Product) for n in nodes) else (0,)
    ways = (0, 1) if matrices else (0,)
    return [{LAYOUT: a, DOWNWARD: b, REVERSED: c} for a, b, c in itertools.product(layouts, ways, orders)]


def describe(reading: dict) -> str:
    """What a reading other than the first assumes, for the finding."""
    out = []
    if reading.get(LAYOUT):
        out.append("Jacobians read in denominator layout")
    if reading.get(DOWNWARD):
        out.append("products taken from the first bound down")
    if reading.get(REVERSED):
        out.append("products' factors multiplied in reverse order")
    return "; " + ", ".join(out) if out else ""


def _index(rel) -> sp.Symbol:
    """The summation index the claim uses (``i`` when it uses none)."""
    for n in sp.preorder_traversal(rel.rhs):
        if isinstance(n, sp.Sum) and n.limits[0][0] != nt.t:
            return n.limits[0][0]
    return sp.Symbol("i", integer=True, positive=True)


def _split(expr: MatrixExpr, later: MatrixExpr) -> tuple[MatrixExpr, MatrixExpr] | None:
    """``(C, R)`` with ``expr = C later + R``, when ``later`` appears once, on the right of one term."""
    terms = list(expr.args) if isinstance(expr, sp.MatAdd) else [expr]
    with_later = [term for term in terms if term.has(later)]
    if len(with_later) != 1:
        return None
    term = with_later[0]
    factors = list(term.args) if isinstance(term, sp.MatMul) else [term]
    if factors[-1] != later or any(f.has(later) for f in factors[:-1]) or len(factors) < 2:
        return None
    coefficient = sp.MatMul(*factors[:-1]) if len(factors) > 2 else factors[0]
    rest = [x for x in terms if x is not term]
    if not rest:
        return None
    return coefficient, sp.MatAdd(*rest) if len(rest) > 1 else rest[0]


def _varies(expr) -> bool:
    return any(isinstance(a, nt.Vec) and a.time.has(nt.t) for a in expr.atoms(nt.Vec)) or expr.has(nt.t)


def closed_form(model, name: str, rel) -> str | None:
    """The correct closed form of ``dL/d(name_t)`` in the document's notation (its summation index), or None when
    the recursion's coefficient depends on t (a nonlinear cell: no power to write)."""
    recursion = suggest.quantity_error(model, name)
    split = _split(recursion, suggest.error_of(model, name, nt.t + 1))
    if split is None:
        return None
    coefficient, rest = split
    if _varies(coefficient):
        return None
    i = _index(rel)
    power = suggest.shown(model, coefficient)
    if not isinstance(coefficient, (sp.MatrixSymbol, nt.Vec)):
        power = rf"\left({power}\right)"
    body = suggest.shown(model, rest.xreplace({nt.t: i}))
    if isinstance(rest, sp.MatAdd):
        body = rf"\left({body}\right)"
    ii = suggest.latex(i)
    return rf"\sum_{{{ii}=t}}^{{T}} {power}^{{{ii} - t}} {body}"
