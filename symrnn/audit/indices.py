"""Indices: free indices must agree on both sides, and a distribution ``m_{a,b} = P(Y_t = a | ...)`` must sum
to 1 over its event's index."""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.audit.findings import Finding, shown
from symrnn.audit.model import Document
from symrnn.audit.reading import Span


def free_indices(expr, index_symbols: frozenset = frozenset({nt.i, nt.j, nt.k})) -> list[sp.Symbol]:
    """Index symbols (i, j, k) used free in a scalar expression, with repetition within one product."""
    if isinstance(expr, (sp.Sum, sp.Product)):
        bound = {lim[0] for lim in expr.limits}
        return [s for s in free_indices(expr.function, index_symbols) if s not in bound]
    if isinstance(expr, nt.StateSum):
        return [s for s in free_indices(expr.expr, index_symbols) if s != expr.index]
    if isinstance(expr, sp.Indexed):
        return [s for ix in expr.indices for s in ix.free_symbols if s in index_symbols]
    if isinstance(expr, nt.P):
        return sorted(expr.free_symbols & index_symbols, key=str)
    if isinstance(expr, nt.FunctionEntry):
        return sorted(sp.sympify(expr.index).free_symbols & index_symbols, key=str)
    if isinstance(expr, (nt.RV, nt.Vec)) or not isinstance(expr, sp.Basic):
        return []
    return [s for a in expr.args for s in free_indices(a, index_symbols)]


def check_indices(span: Span, rel, doc: Document, out: list[Finding]) -> bool:
    """An index free on the right of a scalar equation but not on the left (a missing sum); False if so."""
    if not isinstance(rel, (sp.Eq, nt.Approx)) or isinstance(rel.lhs, MatrixExpr):
        return True
    left = set(free_indices(rel.lhs))
    if isinstance(rel.lhs, sp.Basic):  # an index anywhere on the left (x^{-j}: all but x_j) is the left's
        left |= rel.lhs.free_symbols & {nt.i, nt.j, nt.k}
    bare = {e for p in (rel.lhs.atoms(nt.P) if isinstance(rel.lhs, sp.Basic) else ()) for e in p.events
            if isinstance(e, nt.RV)}
    rhs = rel.rhs
    left |= {e.value for e in rhs.atoms(nt.Is) if e.rv in bare}  # P(..., X_t) = ... P(X_t = k | ...): k is X_t's
    terms = rhs.args if isinstance(rhs, sp.Add) else (rhs,)
    ok = True
    for term in terms:
        used = free_indices(term)
        for s in sorted(set(used) - left - _observed(term, doc), key=str):
            if isinstance(rel.lhs, sp.Indexed) and isinstance(rhs, (nt.P, sp.Piecewise)):
                continue  # a definition such as u_{j,i} = P(...): the indices are the entry's
            repeated = used.count(s) > 1
            if repeated and not doc.explicit_sums:
                out.append(Finding(span.line, "warning", f"index {s} is summed implicitly (it repeats in one "
                                   "product but is free on the left)", "indices"))
            else:
                why = "repeats in one product as if summed, but this document writes its sums explicitly" \
                    if repeated else "appears once, on the right only"
                out.append(Finding(span.line, "error", f"index {s} is free on the right but not on the left: it "
                                   f"{why}; a \\sum_{s} is missing", "indices"))
                ok = False
    return ok


def _observed(term, doc: Document) -> set:
    """Indices that name the observation in an HMM's emission entry (``w_{j,k}`` with k the index of X_t): fixed
    by the data, not summed."""
    hmm = doc.hmm
    d = hmm.defs.get("emit") if hmm is not None else None
    if d is None or d.event_pos is None or not isinstance(term, sp.Basic):
        return set()
    return {ix.indices[d.event_pos] for ix in term.atoms(sp.Indexed)
            if str(ix.base.label) == d.letter and len(ix.indices) == 2}


def check_distribution(span: Span, rel, doc: Document, out: list[Finding]) -> None:
    """``m_{a,b} = P(Y_t = a | ...)``: the explicit matrix M must sum to 1 over the event's index a."""
    if not (isinstance(rel, sp.Eq) and isinstance(rel.lhs, sp.Indexed) and isinstance(rel.rhs, nt.P)):
        return
    name = str(rel.lhs.base.label).upper()
    hmm = doc.hmm
    if hmm is not None and any(d.letter == str(rel.lhs.base.label) and d.role in hmm.written
                               for d in hmm.defs.values()):
        return  # the HMM's own distribution checks (symrnn.audit.hmm_checks) report it
    events = [e for e in rel.rhs.events if isinstance(e, nt.Is)]
    if len(rel.lhs.indices) != 2 or len(events) != 1:
        return
    first, second = rel.lhs.indices
    axis = 0 if events[0].value == first else (1 if events[0].value == second else None)
    for line, m in doc.matrices.get(name, []):
        if axis is None or line != span.line:
            continue  # the definition constrains the matrix given with it, not a later example's
        sums = [sp.Add(*m[:, c]) for c in range(m.cols)] if axis == 0 else [sp.Add(*m[r, :]) for r in range(m.rows)]
        what = "column" if axis == 0 else "row"
        bad = [(n + 1, s) for n, s in enumerate(sums) if s != 1]
        if bad:
            n, s = bad[0]
            out.append(Finding(line, "error", f"{name} is defined as a distribution over its {what}s "
                               f"(line {span.line}), but {what} {n} sums to {shown(s)}", "distribution"))
        elif any(e.is_negative for e in m):
            out.append(Finding(line, "error", f"{name} has a negative entry but is a probability", "distribution"))
        else:
            out.append(Finding(line, "ok", f"every {what} of {name} sums to 1, as {shown(rel.lhs)} = P(...) "
                               f"requires (line {span.line})", "distribution"))
