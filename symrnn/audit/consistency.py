"""Consistency across the document: a function takes the same number of arguments everywhere."""

from __future__ import annotations

import sympy as sp

from symrnn import notation as nt
from symrnn.audit.findings import Finding
from symrnn.audit.model import Document
from symrnn.audit.reading import relations


def _count(n: int) -> str:
    return f"{n} argument" + ("" if n == 1 else "s")


def check_arity(doc: Document, out: list[Finding]) -> None:
    """A function applied to different numbers of arguments on different lines."""
    arity: dict[str, dict[int, int]] = {}
    for span in doc.spans:
        if span.expr is None:
            continue
        for rel in relations(span.expr):
            if isinstance(rel, sp.Basic):
                for app in rel.atoms(nt.Applied):
                    arity.setdefault(app.name, {}).setdefault(len(app.arguments), span.line)
    for name, forms in arity.items():
        if len(forms) > 1:
            (a1, l1), (a2, l2) = sorted(forms.items(), key=lambda kv: kv[1])[:2]
            out.append(Finding(l2, "warning", f"{name} takes {_count(a2)} here but {_count(a1)} on line {l1}",
                               "consistency"))
