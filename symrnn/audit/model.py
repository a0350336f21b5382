"""The model a document defines: its explicit matrices, one-hot vectors and vocabulary, the states named by
``h_t ~ [P(Y_t = tag | ...)]``, the nonlinearity ``g`` (computed from its own formula) and the recurrence."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.matrices.expressions import MatrixExpr
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symrnn import notation as nt
from symrnn.audit.hmm_model import read_hmm
from symrnn.audit.reading import Span, relations
from symrnn.audit.recurrence import recurrence_fault
from symrnn.latex.parse import ParseError, canonical
from symrnn.models.nonlinearities import Nonlinearity

MAX_TERMS = 10_000  #: terms of a sum in g's formula


@dataclass
class Document:
    """What the document defines, in the order it defines it."""

    spans: list[Span]
    prose: str
    matrices: dict[str, list[tuple[int, sp.Matrix]]] = field(default_factory=dict)
    vectors: dict[tuple[str, int], tuple[int, sp.Matrix]] = field(default_factory=dict)
    vocabulary: tuple[str, ...] = ()
    vocabulary_line: int = 0
    states: tuple[str, ...] = ()
    g_rows: list | None = None
    g_entry: dict[str, tuple[Any, Any, Any]] = field(default_factory=dict)  # name -> (index, arg, formula)
    recurrence: tuple[int, Any] | None = None  # line, rhs of h_t = ... (a wrong time index corrected)
    recurrence_fault: Any = None  # what is wrong with the recurrence as written (symrnn.audit.recurrence), else None
    hmm: Any = None  # the HMM the document defines (symrnn.audit.hmm_model), else None
    interprets_h: bool = False
    explicit_sums: bool = False
    loss: str | None = None
    cell: Any = None  # the recurrent cell it defines (symrnn.audit.cell_model), else None

    def matrix(self, name: str, line: int) -> sp.Matrix | None:
        """The explicit definition of ``name`` in force at ``line`` (the latest one before it, else the first)."""
        defs = self.matrices.get(name, [])
        before = [m for ln, m in defs if ln <= line]
        return before[-1] if before else (defs[0][1] if defs else None)


def matrix_value(m) -> sp.Matrix | None:
    """An explicit matrix's exact value (decimals, also inside an entry, at their exact shown value), else None."""
    try:
        if isinstance(m, nt.ScaledMatrix):
            m = m.as_explicit()
        if isinstance(m, MatrixExpr) and not m.atoms(sp.MatrixSymbol, nt.Vec, nt.Applied):
            m = m.doit()
        if isinstance(m, sp.MatrixBase):
            out = sp.Matrix(m).applyfunc(lambda e: e.xreplace({r: r.value for r in e.atoms(nt.Rounded)}))
            return out if all(e.is_number for e in out) else None
    except (TypeError, ValueError, AttributeError, sp.ShapeError):
        return None
    return None


def definitions(doc: Document) -> None:
    """Fill in what the document's spans and prose define (the loss is the one its text names)."""
    loss = re.search(r"\$([^$]+)\$\s+is the loss", doc.prose)
    doc.loss = loss.group(1).strip() if loss else None
    for span in doc.spans:
        items = relations(span.expr) if span.expr is not None else [e for _, e in span.pieces
                                                                      if not isinstance(e, ParseError)]
        for rel in items:
            if isinstance(rel, sp.Basic) and rel.atoms(sp.Sum, nt.StateSum):
                doc.explicit_sums = True
            terms = rel.terms if isinstance(rel, nt.Chain) else \
                (rel.args if isinstance(rel, (sp.Eq, nt.Approx)) else ())
            if len(terms) < 2:
                continue
            lhs, rhs = terms[0], terms[-1]
            if isinstance(lhs, sp.Symbol) and isinstance(rhs, sp.MatrixBase) and len(terms) == 2 \
                    and matrix_value(rhs) is not None:  # \pi = [...]: a Greek name reads as a scalar symbol
                doc.matrices.setdefault(lhs.name, []).append((span.line, matrix_value(rhs)))
            if isinstance(lhs, sp.MatrixSymbol) and len(terms) == 2:
                value = matrix_value(rhs) if isinstance(rhs, MatrixExpr | sp.MatrixBase) else \
                    (sp.Matrix([[rhs]]) if rhs.is_number else None)
                if value is not None:
                    doc.matrices.setdefault(lhs.name, []).append((span.line, value))
            if isinstance(lhs, nt.Vec) and lhs.time.is_Integer and isinstance(rhs, sp.MatrixBase) and \
                    matrix_value(rhs) is not None and len(terms) == 2:
                doc.vectors[(lhs.base, int(lhs.time))] = (span.line, matrix_value(rhs))
            if isinstance(lhs, nt.Vec) and isinstance(rhs, sp.MatrixBase) and rhs.cols == 1:
                if all(isinstance(e, nt.OneIf) and isinstance(getattr(e.event, "value", None), nt.Text)
                       for e in rhs) and not doc.vocabulary:
                    doc.vocabulary = tuple(e.event.value.name for e in rhs)
                    doc.vocabulary_line = span.line
                if all(isinstance(e, nt.P) and e.events and isinstance(e.events[0], nt.Is)
                       and isinstance(e.events[0].value, nt.Text) for e in rhs) and not doc.states:
                    doc.states = tuple(e.events[0].value.name for e in rhs)
                    doc.interprets_h = True
            if isinstance(lhs, sp.Indexed) and str(lhs.base.label) == "h" and isinstance(rhs, nt.P):
                doc.interprets_h = True
            if isinstance(lhs, nt.Applied) and lhs.name == "g" and isinstance(rhs, sp.MatrixBase):
                doc.g_rows = list(rhs)
            if isinstance(lhs, nt.Applied) and lhs.name == "g" and isinstance(rhs, ElementwiseApplyFunction):
                doc.g_rows = [rhs]
            if isinstance(lhs, nt.FunctionEntry) and not isinstance(rhs, nt.FunctionEntry):
                doc.g_entry[lhs.name] = (lhs.index, lhs.argument, rhs)
            if isinstance(lhs, nt.Vec) and lhs.base == "h" and lhs.time == nt.t and doc.recurrence is None \
                    and isinstance(terms[1], nt.Applied) and len(terms[1].arguments) == 1:
                doc.recurrence = (span.line, terms[1])
                doc.recurrence_fault = recurrence_fault(span, terms[1], doc.spans)
                if doc.recurrence_fault is not None and doc.recurrence_fault.corrected is not None:
                    doc.recurrence = (span.line, doc.recurrence_fault.corrected)
    try:
        doc.hmm = read_hmm(doc.spans, doc.prose, doc.matrices, doc.vectors, doc.vocabulary, doc.states,
                           doc.recurrence is not None)
    except (ValueError, TypeError, ArithmeticError, LookupError, sp.ShapeError):
        doc.hmm = None  # a model that cannot be assembled: its claims are left to the other checks


def nonlinearity(doc: Document) -> Nonlinearity | None:
    """The nonlinearity the document defines, as a :class:`Nonlinearity` computed from its own formula."""
    rows = doc.g_rows
    if not rows:
        return None
    if len(rows) == 1 and isinstance(rows[0], ElementwiseApplyFunction):
        fn = rows[0].function
        return Nonlinearity("document", "the document's g", lambda xi: xi.applyfunc(fn), None, scalar=fn)

    uniform = all(isinstance(r, nt.FunctionEntry) and r.name == rows[0].name and r.index == n + 1
                  and r.argument == rows[0].argument for n, r in enumerate(rows))

    def vector(xi: sp.Matrix) -> sp.Matrix:
        if len(rows) != xi.rows and not uniform:
            raise ValueError(f"g is defined with {len(rows)} entries, applied to {xi.rows}")
        out = []
        for n in range(xi.rows):  # entries written as name_1, name_2, ... extend to any size
            row = rows[n] if n < len(rows) else nt.FunctionEntry(rows[0].name, n + 1, rows[0].argument)
            if not isinstance(row, nt.FunctionEntry) or row.name not in doc.g_entry:
                raise ValueError(f"no formula for the entry {row} of g")
            index, arg, formula = doc.g_entry[row.name]
            if canonical(arg) != canonical(row.argument):
                raise ValueError("g's entries use another argument than the formula defines")
            try:
                value = _entry_value(formula, index, row.index, xi)
            except (TypeError, sp.ShapeError) as exc:  # a formula mixing matrices and numbers, say
                raise ValueError(f"g's formula cannot be evaluated: {exc}") from None
            out.append(value)
        return sp.Matrix(out)

    return Nonlinearity("document", "the document's g", vector, None)


def _entry_value(formula, index, n: int, xi: sp.Matrix):
    """The document's formula for entry ``n`` of g, on the vector ``xi`` (decimals it shows at their exact value)."""
    exact = {r: r.value for r in formula.atoms(nt.Rounded)}
    value = formula.xreplace({**exact, index: n}).subs(nt.N, xi.rows)
    for total in value.atoms(sp.Sum, sp.Product):
        for _, lo, hi in total.limits:
            if not (lo.is_Integer and hi.is_Integer and hi - lo < MAX_TERMS):
                raise ValueError(f"g's formula has a sum from {lo} to {hi}: not a range of entries")
    value = value.doit()
    entries = value.atoms(sp.Indexed)
    for ix in entries:
        k = ix.indices[0]
        if len(ix.indices) != 1 or not k.is_Integer or not 1 <= int(k) <= xi.rows:
            raise ValueError(f"g's formula uses the entry {sp.latex(ix)} of a vector of {xi.rows}")
    return value.xreplace({ix: xi[int(ix.indices[0]) - 1] for ix in entries})
