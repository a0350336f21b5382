"""The audit of a document, in line order, and the ``symrnn audit FILE.md [--json]`` command."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import sympy as sp
from sympy.core.relational import Relational

from symrnn import notation as nt
from symrnn.audit.abstract_chain import check_abstract
from symrnn.audit.annotate import SameFile, same_file, write_annotated
from symrnn.audit.bounded import BUDGET, TOTAL_OPTION, Clock, guarded, one_line
from symrnn.audit.bptt_claims import check_bptt
from symrnn.audit.cell_model import find_aliases, parse_claim, read_model
from symrnn.audit.consistency import check_arity
from symrnn.audit.declarations import DECLARATION, check_declaration
from symrnn.audit.derivatives import check_derivative, check_update
from symrnn.audit.findings import UNREAD, Finding, summary
from symrnn.audit.hmm_claims import check_hmm
from symrnn.audit.indices import check_distribution, check_indices
from symrnn.audit.model import Document, definitions, nonlinearity
from symrnn.audit.numbers import check_claim, check_worked, worked_time
from symrnn.audit.reading import Span, needs_worker, read, relations
from symrnn.audit.sizes import check_kinds, check_sizes
from symrnn.core.budget import DEFAULT, Budget, SizeLimit, check_count, read_text
from symrnn.latex.parse import ParseError, ShapeMismatch
from symrnn.latex.parse.errors import is_defect
from symrnn.latex.parse.tokens import Limits
from symrnn.latex.spans import find_spans
from symrnn.lecture25 import source as lecture
from symrnn.models.nonlinearities import Nonlinearity


def audit_text(source: str, budget: Budget = DEFAULT) -> list[Finding]:
    """Every finding for a Markdown text, in line order, within ``budget`` (never an exception).

    Each span's checks get ``budget.seconds``; the whole audit, reading included, gets ``budget.total_seconds``.
    When the total runs out the audit stops: the findings made so far are kept and one ``error`` (check
    ``budget``) at the first span not checked says how many were left.
    """
    try:
        check_count(len(source.encode("utf-8", "surrogatepass")), budget.max_bytes, "bytes", "--max-bytes")
    except SizeLimit as exc:
        return [Finding(1, "error", f"not checked: {exc}", BUDGET)]
    clock = Clock(budget)
    out: list[Finding] = []
    found = find_spans(source)
    if len(found) > budget.max_spans:
        out.append(Finding(found[budget.max_spans].line, "error", f"not checked from here: {len(found)} math spans, "
                           f"more than the limit of {budget.max_spans} (--max-spans raises it)", BUDGET))
    found = found[:budget.max_spans]
    spans = _read_within(source, Limits.from_budget(budget), found, clock)
    done = _check_within(spans, source, clock, out) if len(spans) == len(found) else 0
    if done < len(found):
        out.append(clock.finding(found[done].line, len(found) - done, len(found)))
    return sorted(out, key=lambda f: f.line)


def _read_within(source: str, limits: Limits, found: list, clock: Clock) -> list[Span]:
    """The spans ``found``, read one at a time while the total lasts (a text that repeats is read once); fewer than
    ``found`` when the total ran out.  Each reading is itself bounded by ``limits.seconds``."""
    spans: list[Span] = []
    seen: dict[str, Span] = {}
    for eq in found:
        if eq.text not in seen:
            if clock.left() <= 0:
                break
            [seen[eq.text]] = read(source, limits, [eq])
        first = seen[eq.text]
        spans.append(Span(eq.line, eq.text, first.expr, first.error, list(first.pieces)))
    return spans


def _check_within(spans: list[Span], source: str, clock: Clock, out: list[Finding]) -> int:
    """Check ``spans`` in order while the total lasts, adding to ``out``; how many were checked (0 when not even the
    document's model was built in time).  The document-wide consistency check runs only after all of them."""
    budget = clock.budget
    doc = Document(spans, source)
    ran, g = clock.run(lambda: _model(doc), 1, False, lambda f: out.append(f))
    if not ran:
        return 0
    history: dict[int, Any] = {}
    for n, span in enumerate(spans):
        ran, result = clock.run(lambda span=span, before=history: _span_work(span, doc, g, before), span.line,
                                needs_worker(span, worked_time(span) is not None),
                                lambda f, span=span, before=history: ([f], _skipped(span, before)))
        if not ran:
            return n
        found_here, history = result
        out.extend(found_here)
    ran, _ = clock.run(lambda: guarded("consistency", 1, out, check_arity, doc, out), 1, False, out.append)
    if not ran:
        out.append(Finding(1, "error", "not checked: the consistency of the whole document, the audit ran past its "
                           f"limit of {budget.total_seconds:g} s ({TOTAL_OPTION} raises it)", BUDGET))
    return len(spans)


def _model(doc: Document) -> Nonlinearity | None:
    """Fill in the document's definitions and the recurrent cell it defines; its nonlinearity, or None when it
    defines none that can be used."""
    definitions(doc)
    doc.cell = _cell(doc.prose)
    try:
        return nonlinearity(doc)
    except (ValueError, TypeError):
        return None


def _cell(source: str):
    """The recurrent cell ``source`` defines (:mod:`.cell_model`), with the errors it names; None when there is
    none, or it cannot be read (its BPTT claims are then left to the other checks)."""
    try:
        model = read_model(source)
        if hasattr(model, "aliases"):
            find_aliases(model, source, Limits())
            return model
    except (ValueError, TypeError, ArithmeticError, LookupError):
        pass
    return None


def _span_work(span: Span, doc: Document, g: Nonlinearity | None, history: dict) -> tuple[list[Finding], dict]:
    """One span's findings, and the worked steps' history after it (what a worker sends back)."""
    out: list[Finding] = []
    history = dict(history)
    _check_span(_in_notation(span, doc), doc, g, out, history)
    return out, history


def _in_notation(span: Span, doc: Document) -> Span:
    """A span that did not read, read again in the notation of the cell the document defines (plain letters with a
    time index are vectors there: ``f_t \\odot c_{t-1}``); else the span as it was."""
    if span.error is None or doc.cell is None:
        return span
    try:
        return Span(span.line, span.text, parse_claim(doc.cell, span.text, Limits()))
    except ParseError:
        return span


def _skipped(span: Span, history: dict) -> dict:
    """The history after a span whose checks were stopped: a worked step's state is then unknown."""
    t_ = worked_time(span)
    return history if t_ is None else {**history, t_: None}


def _check_span(span: Span, doc: Document, g: Nonlinearity | None, out: list[Finding],
                history: dict[int, sp.Matrix]) -> None:
    """Every check of one span; an ``ok`` saying what was read when none had anything to say."""
    before = len(out)
    line = span.line
    claims: list[Finding] = []
    guarded("bptt", line, claims, check_bptt, span, doc, claims)
    guarded("chain rule", line, claims, check_abstract, span, doc, claims)
    guarded("hmm", line, out, check_hmm, span, doc, out)
    guarded("declaration", line, claims, check_declaration, span, doc, claims)
    if span.error is not None:
        if span.pieces[1:]:
            guarded("worked example", line, out, check_worked, span, doc, g, out, history)
        if len(out) == before and not any(f.check == DECLARATION for f in claims):
            out.append(_unreadable(span))
        out.extend(claims)
        return
    guarded("worked example", line, out, check_worked, span, doc, g, out, history)
    for rel in relations(span.expr):
        if not isinstance(rel, sp.Basic):
            continue
        guarded("sizes", line, out, check_sizes, span, rel, doc, out)
        guarded("indices", line, out, check_indices, span, rel, doc, out)
        guarded("distribution", line, out, check_distribution, span, rel, doc, out)
        guarded("update", line, out, check_update, span, rel, doc, out)
        guarded("derivative", line, out, check_derivative, span, rel, doc, g, out)
        guarded("claim", line, out, check_claim, span, rel, doc, g, out, history)
        guarded("kinds", line, out, check_kinds, span, rel, out)
    defined = [e.name for e in getattr(doc.cell, "equations", ()) if e.line == span.line]
    if claims or defined:  # read in the document's own notation (checked on its cell, or part of it, its shapes
        # inferred by the cell reader): the default reading's doubts go
        out[before:] = [f for f in out[before:] if not (f.level == "warning" and f.check in _SUPERSEDED)]
        out.extend(claims)
    if len(out) == before:
        what = f"defines {', '.join(f'{n}_t' for n in defined)}: part of the cell the claims are checked against" \
            if defined else "read: " + _describe(span.expr)
        if not defined and span.line == getattr(doc.cell, "loss_line", None):
            kind = {"squared": "squared error"}.get(doc.cell.loss, doc.cell.loss)
            what = f"defines the loss ({kind} of {doc.cell.output}_t) the claims are checked against"
        out.append(Finding(span.line, "ok", what, "equation"))


_SUPERSEDED = ("derivative", "kinds", "sizes")  #: warnings a BPTT verdict on the same span replaces


#: a span that only names a symbol in the prose: ``$\odot$``, ``$\tanh$``, ``$\text{ReLU}$``
_NAMED_SYMBOL = re.compile(r"\s*\\(?:[A-Za-z]+|text\s*\{\s*[A-Za-z]+\s*\})\s*")


def _unreadable(span: Span) -> Finding:
    """A span that did not read: an ``error`` when the reader found its mathematics malformed (sizes, a division by
    zero, a bracket or a side missing), else ``unread`` with the reason and the position; a span that only names an
    operator or a function in the prose (``$\\odot$ is the elementwise product``) holds no claim."""
    if _NAMED_SYMBOL.fullmatch(span.text):
        return Finding(span.line, "ok", f"names the symbol {span.text.strip()} in the prose, no claim", "equation")
    exc = span.error
    where = f" (at character {exc.pos})"
    if is_defect(exc):
        kind = "sizes" if isinstance(exc, ShapeMismatch) else "syntax"
        return Finding(span.line, "error", f"cannot be read: {exc.reason}{where}", kind)
    return Finding(span.line, UNREAD, f"not read: {exc.reason}{where}", "reading")


def _describe(expr) -> str:
    """What a span that no check applies to holds: read, and nothing in it checked (an expression is no claim)."""
    if isinstance(expr, tuple):
        return f"{len(expr)} relations; no check applies to them"
    if isinstance(expr, Relational | nt.Approx | nt.Chain):
        what = type(expr).__name__.lower().replace("equality", "equation").replace("strict", "strict ")
        return f"{what}; no check applies to it"
    return "an expression, no claim"


def audit_file(path: str | Path, budget: Budget = DEFAULT) -> list[Finding]:
    """The findings for a Markdown file, read up to ``budget.max_bytes`` (a file that cannot be read is one error)."""
    try:
        source = read_text(path, budget)
    except (SizeLimit, OSError) as exc:
        return [Finding(1, "error", f"not checked: {one_line(exc) if isinstance(exc, OSError) else exc}", BUDGET)]
    return audit_text(source, budget)


def lecture_findings(budget: Budget = DEFAULT) -> list[Finding]:
    """The audit of the bundled lecture, for ``symrnn build``'s report."""
    return audit_text(lecture.text(), budget)


def cmd_audit(args: argparse.Namespace) -> int:
    """Print the findings (a table, or JSON with ``--json``; ``--annotate OUT`` also writes the annotated copy);
    exit 1 if any is an error, 2 if the copy cannot be written."""
    budget = getattr(args, "budget", None) or DEFAULT
    annotate = getattr(args, "annotate", None)
    if annotate and same_file(args.file, annotate):
        print(f"symrnn audit: error: --annotate {annotate} names the file being audited; choose another path for "
              "the annotated copy", file=sys.stderr)
        return 2
    findings = audit_file(args.file, budget)
    if annotate:
        try:
            write_annotated(args.file, annotate, read_text(args.file, budget), findings)
        except (SameFile, SizeLimit, OSError) as exc:
            print(f"symrnn audit: error: cannot write {annotate}: {exc}", file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps([f.as_dict() for f in findings], indent=2, ensure_ascii=False))
    else:
        for f in findings:
            print(f"{args.file}:{f.line}: {f.level}: {f.message}" + (f" Suggested: {f.suggestion}"
                                                                      if f.suggestion else ""))
        print(summary(findings), file=sys.stderr)
    return 1 if any(f.level == "error" for f in findings) else 0


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``audit FILE.md [--json] [--annotate OUT]`` to an argparse subparsers object."""
    a = subparsers.add_parser("audit", help="check a lecture's equations, sizes, indices and numbers")
    a.add_argument("file", help="a Markdown file with $...$ and $$...$$ math")
    a.add_argument("--json", action="store_true", help="print the findings as JSON")
    a.add_argument("--annotate", metavar="OUT", default=None,
                   help="also write a copy of the document with each finding as a blockquote under its line")
    a.set_defaults(func=cmd_audit)
    return a
