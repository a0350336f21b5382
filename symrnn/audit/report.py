"""The audit of a document, in line order, and the ``symrnn audit FILE.md [--json]`` command."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import sympy as sp
from sympy.core.relational import Relational

from symrnn import notation as nt
from symrnn.audit.consistency import check_arity
from symrnn.audit.derivatives import check_derivative, check_update
from symrnn.audit.findings import Finding, summary
from symrnn.audit.indices import check_distribution, check_indices
from symrnn.audit.model import Document, definitions, nonlinearity
from symrnn.audit.numbers import check_claim, check_worked
from symrnn.audit.reading import Span, read, relations
from symrnn.audit.sizes import check_kinds, check_sizes
from symrnn.latex.parse import ShapeMismatch
from symrnn.lecture25 import source as lecture
from symrnn.models.nonlinearities import Nonlinearity


def audit_text(source: str) -> list[Finding]:
    """Every finding for a Markdown text, in line order."""
    spans = read(source)
    doc = Document(spans, source)
    definitions(doc)
    try:
        g = nonlinearity(doc)
    except (ValueError, TypeError):
        g = None
    out: list[Finding] = []
    history: dict[int, sp.Matrix] = {}
    for span in spans:
        _check_span(span, doc, g, out, history)
    check_arity(doc, out)
    return sorted(out, key=lambda f: f.line)


def _check_span(span: Span, doc: Document, g: Nonlinearity | None, out: list[Finding],
                history: dict[int, sp.Matrix]) -> None:
    """Every check of one span; an ``ok`` saying what was read when none had anything to say."""
    before = len(out)
    if span.error is not None and not span.pieces[1:]:
        kind = "sizes" if isinstance(span.error, ShapeMismatch) else "syntax"
        out.append(Finding(span.line, "error", f"cannot be read: {span.error.reason} (at character "
                           f"{span.error.pos})", kind))
        return
    if span.error is not None:
        check_worked(span, doc, g, out, history)
        if len(out) == before:
            out.append(Finding(span.line, "error", f"cannot be read: {span.error.reason}", "syntax"))
        return
    check_worked(span, doc, g, out, history)
    for rel in relations(span.expr):
        if not isinstance(rel, sp.Basic):
            continue
        check_sizes(span, rel, doc, out)
        check_indices(span, rel, doc, out)
        check_distribution(span, rel, doc, out)
        check_update(span, rel, doc, out)
        check_derivative(span, rel, doc, g, out)
        check_claim(span, rel, doc, g, out, history)
        check_kinds(span, rel, out)
    if len(out) == before:
        out.append(Finding(span.line, "ok", "read: " + _describe(span.expr), "equation"))


def _describe(expr) -> str:
    if isinstance(expr, tuple):
        return f"{len(expr)} relations"
    if isinstance(expr, Relational | nt.Approx | nt.Chain):
        return type(expr).__name__.lower().replace("equality", "equation")
    return "an expression"


def audit_file(path: str | Path) -> list[Finding]:
    """The findings for a Markdown file."""
    return audit_text(Path(path).read_text(encoding="utf-8"))


def lecture_findings() -> list[Finding]:
    """The audit of the bundled lecture, for ``symrnn build``'s report."""
    return audit_text(lecture.text())


def cmd_audit(args: argparse.Namespace) -> int:
    """Print the findings (a table, or JSON with ``--json``); exit 1 if any is an error."""
    findings = audit_file(args.file)
    if args.json:
        print(json.dumps([f.as_dict() for f in findings], indent=2, ensure_ascii=False))
    else:
        for f in findings:
            print(f"{args.file}:{f.line}: {f.level}: {f.message}")
        print(summary(findings), file=sys.stderr)
    return 1 if any(f.level == "error" for f in findings) else 0


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``audit FILE.md [--json]`` to an argparse subparsers object."""
    a = subparsers.add_parser("audit", help="check a lecture's equations, sizes, indices and numbers")
    a.add_argument("file", help="a Markdown file with $...$ and $$...$$ math")
    a.add_argument("--json", action="store_true", help="print the findings as JSON")
    a.set_defaults(func=cmd_audit)
    return a
