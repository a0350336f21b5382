"""Sizes and kinds: vectors added must have one size, and a vector is not a scalar."""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.audit.findings import Finding, shown
from symrnn.audit.model import Document
from symrnn.audit.reading import Span


def check_sizes(span: Span, expr, doc: Document, out: list[Finding]) -> None:
    """A sum of vectors whose sizes differ holds only if the sizes are equal: say so (an error if they cannot be)."""
    for add in sp.preorder_traversal(expr) if isinstance(expr, sp.Basic) else ():
        if isinstance(add, sp.MatAdd):
            shapes = {tuple(a.shape) for a in add.args}
            if len(shapes) > 1:
                _report_shapes(span, sorted(shapes, key=str), out)


def _report_shapes(span: Span, shapes: list[tuple], out: list[Finding]) -> None:
    """The condition under which matrices of ``shapes`` can be added, per dimension (rows, then columns)."""
    sizes_text = " and ".join(f"{_size(r)} x {_size(c)}" for r, c in shapes)
    conds = []
    for dim in (0, 1):
        sizes = sorted({sp.sympify(s[dim]) for s in shapes}, key=str)
        conds += [sp.Eq(a, b) for a, b in zip(sizes, sizes[1:], strict=False)]
    if any(c is sp.false for c in conds):
        assumed = {nt.N, nt.V} & set().union(*(sp.sympify(n).free_symbols for shape in shapes for n in shape))
        if assumed:  # sizes the reader filled in (N, V + 1), not ones the document gave: not a checked claim
            out.append(Finding(span.line, "warning", f"adds matrices of sizes {sizes_text}, which cannot be equal "
                               "with the sizes symrnn assumed (declare them, e.g. \\mathbf{b} \\in \\mathbb{R}^{h}, "
                               "to check)", "sizes"))
            return
        out.append(Finding(span.line, "error", f"adds matrices of sizes {sizes_text}, which cannot be equal", "sizes"))
        return
    cond = ", ".join(f"{shown(c.lhs)} = {shown(c.rhs)}" for c in conds if c is not sp.true)
    out.append(Finding(span.line, "warning", f"adds vectors of sizes {sizes_text}: holds only if {cond}", "sizes"))


def _size(n) -> str:
    return str(n) if sp.sympify(n).is_Atom else f"({n})"


def check_kinds(span: Span, rel, out: list[Finding]) -> None:
    """A vector set equal to a scalar."""
    if isinstance(rel, sp.Eq) and isinstance(rel.lhs, MatrixExpr) and not isinstance(rel.rhs, MatrixExpr) \
            and not isinstance(rel.rhs, sp.MatrixBase) and not isinstance(rel.lhs, sp.MatrixSymbol):
        out.append(Finding(span.line, "warning", f"a vector is set equal to the scalar {shown(rel.rhs)}: true "
                           "entrywise only if every entry equals it (e.g. h_0 = 1)", "kinds"))
