"""Grammar: environments: ``bmatrix`` (with a scalar factor, ``\\vdots`` patterns, blocks), ``cases`` and
``array`` tables of ``\\text{...}`` words and math.  Layout environments (``aligned``, ``align``, ...) are read
by :mod:`.relations` when they hold a whole span; inside an expression they are refused.

Rows and cells are read first and then built: a ragged ``bmatrix`` or table is a :class:`ShapeMismatch`, a
``bmatrix`` with dots must follow the lecture's pattern (first, ``\\vdots``, last) and becomes a
:class:`symrnn.notation.DotsMatrix`.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.latex.parse.core import ParserCore
from symrnn.latex.parse.errors import RefusedName, ShapeMismatch
from symrnn.latex.parse.tokens import LAYOUT_ENVIRONMENTS, Token


class _DotsCell:
    def __init__(self, kind: str):
        self.kind = kind


class MatricesMixin(ParserCore):
    """Environments."""

    def environment(self):
        tok = self.take()
        if tok.arg in LAYOUT_ENVIRONMENTS:
            raise self.error(f"\\begin{{{tok.arg}}} lays out whole relations: it must hold the whole span (or the "
                             "whole piece between separators), not stand inside an expression", tok)
        rows: list[list[Any]] = [[]]
        while True:
            nxt = self.peek()
            if tok.arg == "cases" and self.at_punctuation():
                self.take()
                continue
            if nxt.kind == "end":
                self.take()
                break
            if nxt.kind == "rowsep":
                self.take()
                rows.append([])
                continue
            if nxt.kind == "sym" and nxt.value == "&":
                self.take()
                if not rows[-1]:
                    rows[-1].append(None)
                rows[-1].append(None)
                continue
            cell = self.cell(tok.arg)
            if rows[-1] and rows[-1][-1] is None:
                rows[-1][-1] = cell
            elif rows[-1]:
                raise self.error("two entries in one cell", nxt)
            else:
                rows[-1].append(cell)
        if rows and not rows[-1]:
            rows.pop()
        if not rows:
            raise self.error(f"an empty {tok.arg}", tok)
        if any(c is None for row in rows for c in row):
            raise self.error(f"an empty cell in {tok.arg}", tok)
        if tok.arg == "cases":
            return self.cases(rows, tok)
        if tok.arg == "array":
            return self.table(rows, tok)
        return self.explicit_matrix(rows, tok)

    def at_punctuation(self) -> bool:
        """A ``,`` ``.`` or ``;`` that ends a cell of ``cases`` (``x, & x > 0``): dropped."""
        nxt = self.peek(1)
        ends = nxt.kind in ("rowsep", "end") or (nxt.kind == "sym" and nxt.value == "&")
        return ends and self.at_sym(",", ".", ";")

    def cell(self, env: str):
        if env == "array":
            return self.table_cell()
        if self.peek().kind == "cmd" and self.peek().value in ("vdots", "cdots", "ddots"):
            return _DotsCell(self.take().value)
        if env == "cases" and self.at("text") and self.peek().arg.strip() == "otherwise":
            self.take()
            return sp.true
        value = self.relation()
        if self.at("text") and self.peek().arg.strip() == "if":
            self.take()
            event = self.relation()
            if not (isinstance(event, sp.Eq) and isinstance(event.lhs, nt.RV)) or value != 1:
                raise self.error("expected '1 \\text{ if } X_t = word'", self.peek())
            return nt.OneIf(nt.Is(event.lhs, event.rhs))
        return value

    def table_cell(self):
        """A cell of an ``array``: words (``\\text{...}``) and math, one after another (a Tuple if more than one)."""
        parts = []
        self.in_table += 1
        try:
            while not (self.at_sym("&") or self.peek().kind in ("rowsep", "end", "eof")):
                tok = self.peek()
                if tok.kind == "text" and tok.value == "text":
                    self.take()
                    try:
                        parts.append(nt.Words(tok.arg.strip()))
                    except ValueError:
                        raise self.error(f"\\text{{{tok.arg}}} is not plain words", tok, RefusedName) from None
                else:
                    parts.append(self.relation())
        finally:
            self.in_table -= 1
        if not parts:
            raise self.error("an empty cell in a table")
        return parts[0] if len(parts) == 1 else sp.Tuple(*parts)

    def table(self, rows: list, tok: Token):
        """``\\begin{array}{ll} header \\\\ rows \\end{array}``: a table whose first row is its words."""
        header, body = rows[0], rows[1:]
        if len(header) != len(tok.spec) or not all(isinstance(h_, nt.Words) for h_ in header):
            raise self.error(f"a table's first row must be {len(tok.spec)} headings in \\text{{...}}", tok)
        if any(len(r) != len(header) for r in body):
            detail = ", ".join(f"row {n + 2} has {len(r)}" for n, r in enumerate(body))
            raise ShapeMismatch(f"ragged table of {len(header)} columns: {detail} cells", tok.pos, self.text)
        return nt.Table(header, body)

    def cases(self, rows: list, tok: Token):
        pairs = []
        for row in rows:
            if len(row) != 2:
                raise self.error(f"each row of cases needs 'value & condition', found {len(row)} cells", tok)
            pairs.append((row[0], row[1]))
        bounded = any(isinstance(c, sp.Basic) and c.has(sp.Sum, sp.Product) for pair in pairs for c in pair)
        return sp.Piecewise(*pairs, evaluate=not bounded)  # evaluating would compute \prod_{t=1}^{10^6} t

    def stacked(self, items: list, tok: Token):
        """``[a, b]`` or ``[a; b]`` multiplied by a matrix: the column stacking its items, as
        ``\\begin{bmatrix} a \\\\ b \\end{bmatrix}`` reads (blocks for vectors, entries for scalars)."""
        return self.explicit_matrix([[item] for item in items], tok)

    def explicit_matrix(self, rows: list, tok: Token):
        widths = [len(r) for r in rows]
        if any(isinstance(c, _DotsCell) for row in rows for c in row):
            return self.dots_matrix(rows, tok)
        if len(set(widths)) != 1:
            detail = ", ".join(f"row {n + 1} has {w}" for n, w in enumerate(widths))
            raise ShapeMismatch(f"ragged bmatrix: {detail} entries", tok.pos, self.text)
        blocks = [isinstance(c, MatrixExpr) for row in rows for c in row]
        if any(blocks):
            if not all(blocks):
                raise self.error("a bmatrix mixes matrices and scalars", tok, ShapeMismatch)
            try:
                return sp.BlockMatrix(rows)
            except (ValueError, sp.ShapeError) as exc:
                raise ShapeMismatch(f"blocks do not fit: {exc}", tok.pos, self.text) from None
        for row in rows:
            for c in row:
                if isinstance(c, (sp.MatrixBase, tuple, sp.Tuple)) or not isinstance(c, sp.Expr):
                    raise self.error("a bmatrix entry must be a scalar", tok, ShapeMismatch)
        return sp.ImmutableMatrix(rows)

    def dots_matrix(self, rows: list, tok: Token):
        def split(entry) -> tuple[str, tuple]:
            if isinstance(entry, sp.Indexed):
                return str(entry.base.label), tuple(entry.indices)
            raise self.error("a bmatrix with dots must show indexed entries such as h_{1,t}", tok)

        if [len(r) for r in rows] == [1, 1, 1] and isinstance(rows[1][0], _DotsCell):
            (b1, (r1, c1)), (b2, (r2, c2)) = split(rows[0][0]), split(rows[2][0])
            if b1 == b2 and r1 == 1 and c1 == c2:
                return nt.DotsMatrix(b1, r2, 1, c1)
        if [len(r) for r in rows] == [3, 3, 3] and [type(c).__name__ for c in rows[1]] == ["_DotsCell"] * 3:
            corners = [split(rows[0][0]), split(rows[0][2]), split(rows[2][0]), split(rows[2][2])]
            base = {b for b, _ in corners}
            (_, (a, b)), (_, (c, d)), (_, (e, f)), (_, (g_, h_)) = corners
            if len(base) == 1 and (a, b) == (1, 1) and c == 1 and f == 1 and (e, d) == (g_, h_):
                return nt.DotsMatrix(base.pop(), e, d)
        raise self.error("dots in a bmatrix must follow the lecture's pattern (first, \\vdots, last)", tok)

