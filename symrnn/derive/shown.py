"""A cell's equations as the user wrote them, for the document: every quantity (state or intermediate) with its
right side as a matrix expression in which the intermediates keep their names (``\\vec{z}_t``), and every name's
LaTeX as the reader read it.

:func:`symrnn.derive.read_cell` substitutes the intermediates into one step, which is what the engine
differentiates; this module reads the same text through the same steps (:mod:`.cell_reading`'s own helpers, so the
two cannot read it differently) and keeps the intermediates apart, which is what a person reads.  Substituting them
back gives the step :func:`read_cell` returns (``symrnn derive`` checks that).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.core.budget import DEFAULT, Budget
from symrnn.derive import cell_reading as cr
from symrnn.derive import terms as tm
from symrnn.derive.building import expression
from symrnn.derive.dependencies import structure
from symrnn.latex.printer import latex
from symrnn.latex.style import LECTURE, Style, read_style


@dataclass(frozen=True)
class Shown:
    """One equation of the cell: ``name_t = rhs`` (``rhs`` with the intermediates named), read on ``line``."""

    name: str
    line: int
    source: str  # the user's LaTeX of the equation
    lhs: nt.Vec
    rhs: MatrixExpr
    state: bool

    @property
    def equation(self) -> sp.Eq:
        return sp.Eq(self.lhs, self.rhs, evaluate=False)


@dataclass(frozen=True)
class CellText:
    """The equations the cell is made of, in the order they are computed, and each parameter's LaTeX."""

    equations: tuple[Shown, ...]
    latex_names: dict[str, str]  # parameter identifier -> its LaTeX in the author's style (``W_hh`` -> ``W_{hh}``)
    style: Style = LECTURE  # how the author writes vectors, matrices and time (what is printed for them follows)

    def substituted(self) -> dict[str, MatrixExpr]:
        """Every state's right side with the intermediates substituted: the cell's one step."""
        values: dict[sp.Basic, MatrixExpr] = {}
        out = {}
        for eq in self.equations:
            values[eq.lhs] = eq.rhs.xreplace(values)
            if eq.state:
                out[eq.name] = values[eq.lhs]
        return out


def cell_text(text: str, *, n_state: int | None = None, n_input: int | None = None, output: str | None = None,
              sizes: Mapping[str, int] | None = None, budget: Budget = DEFAULT,
              n_output: int | None = None) -> CellText:
    """The cell that ``text`` defines, equation by equation (the arguments are :func:`read_cell`'s; the same
    errors are raised for the same text)."""
    definitions, declarations = cr._definitions(text, budget)
    s = structure(definitions, output)
    cr._check_names(s)
    shapes, n, m = cr._shapes(s, declarations, n_state, n_input, n_output, sizes)
    params = {p.name: p for p in cr._parameters(s, shapes, n, m, dict(sizes or {}))}
    ones = cr._ones(s, shapes, n, m, dict(sizes or {}))
    kept = {d.name: d for d in cr._kept(s)}
    named: dict[str, MatrixExpr] = {}

    def leaf(t: tm.Leaf) -> MatrixExpr:
        if t.kind == tm.PARAM:
            return params[t.name].symbol
        if t.kind == tm.PREVIOUS:
            return nt.Vec(t.name, nt.t - 1, n)
        if t.kind == tm.CURRENT:
            return named[t.name]
        if t.kind == tm.INPUT:
            return nt.Vec(tm.INPUT_NAME, nt.t, m)
        return sp.OneMatrix(ones[id(t)], 1)

    out = []
    for name in s.order:
        d = kept[name]
        rhs = expression(d.term, leaf)
        named[name] = nt.Vec(name, nt.t, rhs.shape[0])
        out.append(Shown(name, d.line, d.text, named[name], rhs, name in s.states))
    style = read_style([eq.source for eq in out if eq.state], [eq.source for eq in out if not eq.state], params)
    names = {p: latex(params[p].symbol, style=style) for p in params}
    return CellText(tuple(out), names, style)

