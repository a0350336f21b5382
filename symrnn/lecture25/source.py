"""The bundled lecture (Mark Hasegawa-Johnson, "Lecture 25: Recurrent Neural Networks", CC-BY 4.0) and its math.

The lecture ships inside the package, so ``symrnn build`` works from any folder after a plain install.  symrnn
never copies numbers or formulas from it into its own results; the text is read only to compare with what symrnn
derives and to audit it.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from importlib import resources

from symrnn.latex.printer import normalise

CREDIT = ('Mark Hasegawa-Johnson, "Lecture 25: Recurrent Neural Networks" (3/2022), CC-BY 4.0; '
          "equations quoted from it are marked as the lecture's")

_MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$", re.S)


@dataclass(frozen=True)
class Equation:
    """A math span of the lecture: its first line number (1-based), offsets and LaTeX."""

    line: int
    start: int
    end: int
    text: str


def text(name: str = "lecture25.md") -> str:
    """The bundled lecture's Markdown."""
    return resources.files("symrnn.lecture25").joinpath(name).read_text(encoding="utf-8")


def equations(source: str) -> list[Equation]:
    """Every ``$$...$$`` and ``$...$`` span of a Markdown text, in order (linear in the text's length)."""
    newlines = [m.start() for m in re.finditer("\n", source)]
    out = []
    for m in _MATH.finditer(source):
        body = m.group(1) if m.group(1) is not None else m.group(2)
        out.append(Equation(bisect.bisect_left(newlines, m.start()) + 1, m.start(), m.end(), body.strip()))
    return out


def find(source: str, locator: str) -> Equation:
    """The math span that contains (or starts right after) the first occurrence of ``locator`` in the source."""
    pos = source.find(locator)
    if pos < 0:
        raise LookupError(f"the lecture has no text {locator!r}")
    for eq in equations(source):
        if eq.end > pos + 1 or eq.start >= pos:
            return eq
    raise LookupError(f"no equation at or after {locator!r}")


@dataclass(frozen=True)
class Comparison:
    """An emitted equation beside the lecture's, after :func:`symrnn.latex.printer.normalise`."""

    line: int
    lecture: str
    emitted: str
    matches: bool
    note: str


def compare(emitted: str, locator: str, note: str = "", source: str | None = None) -> Comparison:
    """The emitted LaTeX beside the lecture's equation found by ``locator``."""
    eq = find(source if source is not None else text(), locator)
    return Comparison(eq.line, eq.text, emitted, normalise(emitted) == normalise(eq.text), note)
