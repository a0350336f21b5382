"""The math spans of a Markdown or LaTeX source: ``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]`` and the math
environments written outside them (``equation``, ``align``, ``gather``, ``multline``, ``eqnarray``,
``displaymath``, ``math``, starred or not).

One pass, linear in the text's length whatever the input: no regular expression that can backtrack, and a closer
that is missing once is not searched for again (a later opener of the same kind cannot close either).  A backslash
and the character after it are read as a pair everywhere, so ``\\$`` is no delimiter and ``\\\\$x$`` is a line break
before ``$x$``.  In Markdown, fenced code blocks (````` and ``~~~``) and inline code spans (backtick runs of equal
length) are skipped; in LaTeX, ``%`` comments and ``verbatim``/``lstlisting``/``comment`` environments are.
``$...$`` and ``$$...$$`` are found as :func:`symrnn.lecture25.source.equations` finds them (the first closer;
never an empty body), so the two agree on any text without escapes, code or other delimiters.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

#: environments that are math on their own, outside any ``$``
MATH_ENVIRONMENTS = frozenset({"equation", "equation*", "align", "align*", "gather", "gather*", "multline",
                               "multline*", "eqnarray", "eqnarray*", "flalign", "flalign*", "displaymath", "math"})
_VERBATIM = frozenset({"verbatim", "verbatim*", "lstlisting", "comment"})
# Each pattern below is an unrolled loop (``[^x]*(?:y[^x]*)*``): one way to match any text, so nothing backtracks.
#: what the scan passes over, by ``markdown``: text and backslash pairs, up to a delimiter, code, a fence, a comment
_SKIP = {True: re.compile(r"[^\\$`\n]*(?:(?:\n(?! {0,3}(?:```|~~~))|\\(?!\(|\[|begin\{)[\s\S])[^\\$`\n]*)*"),
         False: re.compile(r"[^\\$%]*(?:\\(?!\(|\[|begin\{)[\s\S][^\\$%]*)*")}
#: a math body, by its closer: anything but the closer, reading backslash pairs
_BODY = {"$": re.compile(r"[^\\$]*(?:\\[\s\S][^\\$]*)*"),
         "$$": re.compile(r"[^\\$]*(?:(?:\\[\s\S]|\$(?!\$))[^\\$]*)*"),
         "\\)": re.compile(r"[^\\]*(?:\\[^)][^\\]*)*"),
         "\\]": re.compile(r"[^\\]*(?:\\[^\]][^\\]*)*")}
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_RUN = re.compile("`+")
_ENV_NAME = re.compile(r"[A-Za-z]+\*?")
_LATEX = re.compile(r"\\documentclass|\\begin\{document\}")


@dataclass(frozen=True)
class MathSpan:
    """A math span: the 1-based line it starts on, its offsets in the source (delimiters included), its LaTeX, whether
    it is displayed, and its delimiter (``$``, ``$$``, ``\\(``, ``\\[`` or the environment's name).

    ``text`` is the body without its delimiters, stripped; for an environment it is the whole
    ``\\begin{...}...\\end{...}``, which :func:`symrnn.latex.parse.parse` reads as a layout of rows."""

    line: int
    start: int
    end: int
    text: str
    display: bool
    delimiter: str


def find_spans(text: str, *, markdown: bool | None = None) -> list[MathSpan]:
    """Every math span of ``text``, in order.  ``markdown`` chooses how code and comments are skipped; by default
    a text with ``\\documentclass`` or ``\\begin{document}`` is LaTeX, any other Markdown."""
    if not isinstance(text, str):
        raise TypeError(f"expected the document's text (str), got {type(text).__name__}")
    if markdown is None:
        markdown = _LATEX.search(text) is None
    return _Scanner(text, markdown).run()


class _Scanner:
    """One pass: ``never`` holds the closers already searched for to the end in vain."""

    def __init__(self, text: str, markdown: bool):
        self.text, self.n, self.markdown = text, len(text), markdown
        self.spans: list[MathSpan] = []
        self.never: set[str] = set()
        self.newlines = [m.start() for m in re.finditer("\n", text)]
        self.runs: dict[int, list[int]] = {}  # backtick runs (Markdown), starts by length
        if markdown:
            for m in _RUN.finditer(text):
                self.runs.setdefault(m.end() - m.start(), []).append(m.start())

    def run(self) -> list[MathSpan]:
        skip, text = _SKIP[self.markdown], self.text
        p = self.fence(0) if self.markdown else 0
        while True:
            p = skip.match(text, p).end()
            if p >= self.n:
                return self.spans
            c = text[p]
            if c == "\\":
                p = self.backslash(p)
            elif c == "$":
                p = self.dollar(p)
            elif c == "`":
                p = self.code(p)
            elif c == "\n":
                p = max(self.fence(p + 1), p + 1)
            else:  # "%": a LaTeX comment, to the end of its line
                end = text.find("\n", p)
                p = self.n if end < 0 else end + 1

    def add(self, start: int, end: int, body: str, display: bool, delimiter: str) -> int:
        line = bisect.bisect_left(self.newlines, start) + 1
        self.spans.append(MathSpan(line, start, end, body.strip(), display, delimiter))
        return end

    def close(self, closer: str, frm: int) -> int:
        """Where ``closer`` (``$``, ``$$``, ``\\)``, ``\\]``) first stands after a non-empty body from ``frm``, reading
        backslash pairs; -1 when it does not."""
        if closer in self.never:
            return -1
        body, text = _BODY[closer], self.text
        q = body.match(text, frm).end()
        if q == frm and text.startswith(closer, q):  # an empty body: the closer's first character is the body
            q = body.match(text, frm + (1 if closer[0] == "$" else 2)).end()
        if text.startswith(closer, q):
            return q
        self.never.add(closer)
        return -1

    def dollar(self, p: int) -> int:
        if self.text.startswith("$$", p):
            q = self.close("$$", p + 2)
            if q >= 0:
                return self.add(p, q + 2, self.text[p + 2:q], True, "$$")
        q = self.close("$", p + 1)
        if q >= 0:
            return self.add(p, q + 1, self.text[p + 1:q], False, "$")
        return p + 1

    def backslash(self, p: int) -> int:
        text = self.text
        nxt = text[p + 1:p + 2]
        if nxt in ("(", "["):
            closer = "\\)" if nxt == "(" else "\\]"
            q = self.close(closer, p + 2)
            if q >= 0:
                return self.add(p, q + 2, text[p + 2:q], nxt == "[", "\\" + nxt)
        elif text.startswith("begin{", p + 1):
            m = _ENV_NAME.match(text, p + 7, min(self.n, p + 40))
            name = m.group(0) if m and text.startswith("}", m.end()) else ""
            if name in MATH_ENVIRONMENTS or (not self.markdown and name in _VERBATIM):
                return self.environment(p, name, m.end() + 1)
        return p + 2

    def environment(self, p: int, name: str, body: int) -> int:
        closer = "\\end{" + name + "}"
        q = -1 if closer in self.never else self.text.find(closer, body)
        if q < 0:
            self.never.add(closer)
            return body
        end = q + len(closer)
        if name in _VERBATIM:
            return end
        return self.add(p, end, self.text[p:end], name != "math", name)

    def code(self, p: int) -> int:
        """An inline code span: a run of backticks to the next run of the same length, skipped whole."""
        q = _RUN.match(self.text, p).end()
        length = q - p
        starts = self.runs.get(length, [])
        k = bisect.bisect_left(starts, q)
        return starts[k] + length if k < len(starts) else q

    def fence(self, p: int) -> int:
        """At a line's start: a fenced code block (to its closing fence, or to the end) is skipped."""
        m = _FENCE.match(self.text, p)
        if m is None:
            return p
        mark = m.group(1)
        closing = re.compile(r"^ {0,3}" + re.escape(mark[0]) + "{" + str(len(mark)) + r",}[ \t]*$", re.M)
        line_end = self.text.find("\n", m.end())
        if line_end < 0:
            return self.n
        found = closing.search(self.text, line_end + 1)
        return self.n if found is None else found.end()
