"""Markdown tables of probabilities (``| | Hot | Cold |``): their labels, exact values, the line of each row, and
the role a table plays in an HMM, read from its labels (states on both sides: transitions; a ``start`` row: the
initial distribution; states on one side: emissions) and its caption (which side is the previous state)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sympy as sp

MAX_CELLS = 4096
_NUMBER = re.compile(r"^\s*\$?\s*(\d+(?:\.\d+)?|\.\d+)(?:\s*/\s*(\d+))?\s*\$?\s*$")
_START = re.compile(r"^(start|initial|init|begin|<s>|\\pi|pi|π|p\(q_1\)|p\(y_1\))", re.IGNORECASE)
_FROM_COLUMN = re.compile(r"column[s]?\b[^.;|]{0,60}?(previous|from|yesterday|t\s*-\s*1|t-1)", re.IGNORECASE)
_FROM_ROW = re.compile(r"row[s]?\b[^.;|]{0,60}?(previous|from|yesterday|t\s*-\s*1|t-1)", re.IGNORECASE)


def clean(cell: str) -> str:
    """A label without Markdown or LaTeX decoration (``**Hot**``, ``$\\text{Hot}$``)."""
    text = re.sub(r"\\(?:text|mathrm|textbf|mathit)\{([^{}]*)\}", r"\1", cell.strip())
    return text.strip("*_$` ").strip()


def number(cell: str) -> sp.Rational | None:
    """A cell's exact value (``0.25``, ``1/4``), else None."""
    m = _NUMBER.match(cell.replace("{", "").replace("}", ""))
    if not m:
        return None
    value = sp.Rational(m.group(1))
    return value / int(m.group(2)) if m.group(2) and int(m.group(2)) else (value if not m.group(2) else None)


@dataclass
class Table:
    """One table: its first line, caption (the prose just above), labels, values and the line of each row."""

    line: int
    caption: str
    col_labels: tuple[str, ...]
    row_labels: tuple[str, ...]
    value: sp.Matrix
    row_lines: list[int]
    transposed: bool = False
    state_labels: tuple[str, ...] = ()
    symbol_labels: tuple[str, ...] = ()
    init: tuple[sp.Matrix, int] | None = None
    roles: list[str] = field(default_factory=list)

    def role(self, states: tuple[str, ...]) -> str | None:
        """What this table gives (``trans``, ``emit``, ``init``), read from its labels; None if nothing known."""
        rows, cols = set(self.row_labels), set(self.col_labels)
        if len(rows) >= 2 and rows == cols:
            self.transposed = bool(_FROM_COLUMN.search(self.caption)) and not _FROM_ROW.search(self.caption)
            return "trans"
        if len(self.row_labels) == 1 and _START.match(self.row_labels[0]):
            self.value = self.value.T
            return "init"
        known = set(states)
        if known and rows <= known and not cols <= known:
            self.state_labels, self.symbol_labels = self.row_labels, self.col_labels
            return "emit"
        if known and cols <= known and not rows <= known:
            self.state_labels, self.symbol_labels, self.transposed = self.col_labels, self.row_labels, True
            return "emit"
        if not known and re.search(r"emission|observation|output|likelihood|P\(\s*[oxOX]", self.caption):
            self.state_labels, self.symbol_labels = self.row_labels, self.col_labels
            return "emit"
        return None

    def name(self, role: str) -> str:
        return {"trans": "the transition table", "emit": "the emission table", "init": "the initial row"}[role]


def _cells(line: str) -> list[str]:
    return [c for c in line.strip().strip("|").split("|")]


def _table(lines: list[tuple[int, str]], caption: str) -> list[Table]:
    """One Markdown table (its rows with their line numbers); a ``start`` row becomes its own table."""
    if len(lines) < 3 or not re.match(r"^\s*\|?\s*:?-{2,}", lines[1][1]):
        return []
    header = [clean(c) for c in _cells(lines[0][1])]
    body = [(n, _cells(text)) for n, text in lines[2:]]
    if len(header) < 2 or len(header) * len(body) > MAX_CELLS:
        return []
    out, rows, labels, row_lines = [], [], [], []
    for n, cells in body:
        values = [number(c) for c in cells[1:len(header)]]
        if len(cells) < len(header) or any(v is None for v in values):
            return []
        if _START.match(clean(cells[0])):
            out.append(Table(n, caption, tuple(header[1:]), (clean(cells[0]),), sp.Matrix([values]), [n]))
            continue
        rows.append(values)
        labels.append(clean(cells[0]))
        row_lines.append(n)
    if rows:
        out.insert(0, Table(lines[0][0], caption, tuple(header[1:]), tuple(labels), sp.Matrix(rows), row_lines))
    return out


def tables(prose: str) -> list[Table]:
    """Every table of numbers in a Markdown text, square (state-to-state) ones first."""
    out: list[Table] = []
    block: list[tuple[int, str]] = []
    recent: list[str] = []
    for n, line in enumerate([*prose.splitlines(), ""], start=1):
        if line.lstrip().startswith("|"):
            block.append((n, line))
            continue
        if block:
            out += _table(block, " ".join(recent[-3:]))
            block, recent = [], []
        if line.strip():
            recent.append(line)
    return sorted(out, key=lambda t: set(t.row_labels) != set(t.col_labels))
