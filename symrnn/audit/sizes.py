"""Sizes and kinds: vectors added must have one size, and a vector is not a scalar."""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.audit.declarations import SizeConflict, doc_sizes, shape_of, sizes_conflict
from symrnn.audit.findings import Finding, shown
from symrnn.audit.model import Document
from symrnn.audit.reading import Span, looks_like_bptt, relations


def check_sizes(span: Span, expr, doc: Document, out: list[Finding]) -> None:
    """A sum of vectors whose sizes differ holds only if the sizes are equal: say so (an error if they cannot be).
    Where the document declares the sizes (:mod:`.declarations`), the span is checked against them instead (read in
    the notation of the document's cell when it has one): a product or sum that does not fit is an error naming
    both shapes, and one whose every size is declared raises no doubt."""
    declared = doc_sizes(doc, span.line)
    if declared:
        rels = _pairs(_cell_reading(span, doc, expr))
        for rel in rels:
            conflict = sizes_conflict(declared, rel)
            if conflict is not None:
                if not _left_to_bptt(span, doc, rel):
                    out.append(Finding(span.line, "error", f"sizes do not fit the declarations: {conflict}", "sizes"))
                return
        if rels and all(_known(rel, declared) for rel in rels):
            return
    for add in sp.preorder_traversal(expr) if isinstance(expr, sp.Basic) else ():
        if isinstance(add, sp.MatAdd):
            shapes = {tuple(a.shape) for a in add.args}
            if len(shapes) > 1:
                _report_shapes(span, sorted(shapes, key=str), out)


def _cell_reading(span: Span, doc: Document, expr):
    """The span read in the notation of the document's cell (time-indexed letters are vectors), else ``expr``."""
    from symrnn.audit.cell_model import CellModel, parse_claim
    from symrnn.latex.parse import DEFAULT_LIMITS, ParseError

    cell = getattr(doc, "cell", None)
    if not isinstance(cell, CellModel):
        return expr
    try:
        found = parse_claim(cell, span.text, DEFAULT_LIMITS)
    except ParseError:
        return expr
    rels = relations(found)
    return rels[0] if len(rels) == 1 else expr


def _pairs(expr) -> list:
    if isinstance(expr, nt.Chain):
        return [sp.Eq(expr.terms[0], term, evaluate=False) for term in expr.terms[1:]]
    if isinstance(expr, (sp.Eq, nt.Approx)):
        return [expr]
    return [sp.Eq(expr, expr, evaluate=False)] if isinstance(expr, sp.MatrixExpr) else []


def _left_to_bptt(span: Span, doc: Document, rel) -> bool:
    """Whether the claim is one about the document's cell, whose check reports a size conflict with the correct
    statement."""
    from symrnn.audit.bptt_claims import subject
    from symrnn.audit.cell_model import CellModel

    cell = getattr(doc, "cell", None)
    return isinstance(cell, CellModel) and looks_like_bptt(span.text) and subject(cell, rel.lhs) is not None


def _known(rel, declared: dict) -> bool:
    """Whether both sides of a relation have declared shapes (and so fit, no conflict having been found)."""
    try:
        return shape_of(rel.lhs, declared) is not None and shape_of(rel.rhs, declared) is not None
    except SizeConflict:
        return False


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
