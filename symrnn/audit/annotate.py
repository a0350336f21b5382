"""``symrnn audit FILE --annotate OUT``: a copy of the document with every finding as a Markdown blockquote under
its line (under the end of a display that spans several lines), written whole; the input is never modified."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from symrnn.audit.findings import Finding
from symrnn.latex.spans import find_spans


class SameFile(ValueError):
    """``--annotate`` names the document being audited: the copy would replace it."""


def _ends(source: str) -> dict[int, int]:
    """The line each math span starting on a line ends on."""
    out: dict[int, int] = {}
    for span in find_spans(source):
        out[span.line] = max(out.get(span.line, span.line), source.count("\n", 0, span.end) + 1)
    return out


def note(f: Finding) -> str:
    """``> **error** (line 12): message Suggested: $...$``"""
    text = f"> **{f.level}** (line {f.line}): {f.message}"
    return text + (f" Suggested: ${f.suggestion}$" if f.suggestion else "")


def annotated(source: str, findings: Sequence[Finding]) -> str:
    """``source`` with each finding as a blockquote after the line it is on (after its math span's last line)."""
    lines = source.split("\n")
    ends = _ends(source)
    after: dict[int, list[str]] = {}
    for f in findings:
        at = min(max(ends.get(f.line, f.line), 1), len(lines))
        after.setdefault(at, []).append(note(f))
    out: list[str] = []
    for n, line in enumerate(lines, start=1):
        out.append(line)
        if n in after:
            out.extend(["", *after[n], ""])
    return "\n".join(out)


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file (also through links), or the same path when one does not exist."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def write_annotated(source_path: str | Path, out_path: str | Path, source: str,
                    findings: Sequence[Finding]) -> None:
    """Write the annotated copy to ``out_path`` whole (a temporary file, then a rename); :class:`SameFile` when it is
    the input."""
    from symrnn.documents.build import write_atomic

    if same_file(source_path, out_path):
        raise SameFile(f"--annotate {out_path} names the file being audited; choose another path for the copy")
    write_atomic(Path(out_path), annotated(source, findings))
