"""The document of a derived cell, in Markdown and in LaTeX, read from the same steps the verifier checked.

:mod:`symrnn.documents.render` writes the lecture's document (its title, its credit, its comparisons with the
lecture's lines); a user's cell has none of those, so this module renders one derivation with its results, the
user's own equations beside what was read, and line-broken displays for the long gradients.  Prose goes through
:func:`symrnn.documents.render.tex_text`; the user's text only ever appears escaped (a code block in Markdown,
``\\texttt`` in LaTeX).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from symrnn.core.derivation import Derivation, Step
from symrnn.core.verify import Result
from symrnn.derive.loss_reading import LossEquation
from symrnn.derive.shown import CellText
from symrnn.documents.render import tex_text
from symrnn.latex.printer import latex
from symrnn.latex.style import Style

_VERDICT = {True: "passed", False: "FAILED"}
LONG = 150  #: displays longer than this are broken over lines in LaTeX


def equations(step: Step, style: Style | None = None) -> list[str]:
    """The step's statement as LaTeX, one display per equation of a tuple, in ``style`` (the author's notation,
    :mod:`symrnn.latex.style`; None: the lecture's)."""
    if step.latex_override:
        return [step.latex_override]
    parts = step.statement if isinstance(step.statement, tuple) else (step.statement,)
    return [latex(p, style=style) for p in parts]


def summary(results: Sequence[Result]) -> str:
    passed = sum(r.passed for r in results)
    levels = {lv: sum(r.evidence == lv for r in results) for lv in ("symbolic", "exact", "numeric")}
    return (f"{passed} of {len(results)} checks passed ({levels['symbolic']} symbolic, {levels['exact']} exact, "
            f"{levels['numeric']} numeric).")


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _title(d: Derivation) -> str:
    return f"{d.title}, derived and verified by symrnn"


def _written(cell: CellText, loss: LossEquation | None) -> list[tuple[int, str, str]]:
    """``(line, what, LaTeX)`` of every equation read, the loss equation among them, in the order of the lines."""
    out = [(eq.line, f"{'state' if eq.state else 'intermediate'} {eq.name}", eq.source) for eq in cell.equations]
    if loss is not None:
        out.append((loss.line, f"the loss, {loss.kind}" + ("" if loss.scale == 1 else f" times {loss.scale}"),
                    loss.text))
    return sorted(out, key=lambda item: item[0])


def markdown(d: Derivation, results: Sequence[Result], cell: CellText, source_name: str,
             loss: LossEquation | None = None) -> str:
    """The document in Markdown with ``$$...$$`` displays (``loss``: the text's loss equation, listed with the
    cell's)."""
    by_id = {r.id: r for r in results}
    out = [f"# {_title(d)}", "", d.intro, "", summary(results), "", f"## The equations of {source_name}", ""]
    for line, what, source in _written(cell, loss):
        fence = _fence(source)
        out += [f"Line {line} ({what}):", "", f"{fence}latex", source, fence, ""]
    out += ["## The derivation", ""]
    for n, step in enumerate(d.steps, start=1):
        r = by_id[step.id]
        out += [f"### {n}. {step.title}", ""]
        for math in equations(step, cell.style):
            out += ["$$", math, "$$", ""]
        out += [step.reason, "", f"*Check ({r.evidence}): {_VERDICT[r.passed]}.* {r.detail}", ""]
    return "\n".join(out)


_OPEN = re.compile(r"\\left(\(|\[)")
_CLOSE = re.compile(r"\\right(\)|\])")
_DELIMITER = re.compile(r"\\(left|right)(?![A-Za-z])")


_FORMATTING = re.compile(r"\\(mathbf|boldsymbol|vec|mathrm|left|right|bigl|bigr)(?![A-Za-z])|[{}]")


def _visible(math: str) -> int:
    """About how many characters ``math`` prints as: fonts, accents, sizing and braces not counted (an author's
    bold letters make the source longer, not the line)."""
    return len(_FORMATTING.sub("", math))


def breakable(math: str, width: int = 110) -> str:
    """A long display as ``multline*`` lines, broken before a ``+``, ``-`` or ``\\odot`` outside braces.

    ``\\left( ... \\right)`` cannot be broken inside, so round and square ones become ``\\bigl( ... \\bigr)``; a line
    is broken only where no other ``\\left`` is open."""
    if _visible(math) <= LONG:
        return r"\begin{equation*}" + "\n" + math + "\n" + r"\end{equation*}"
    text = _CLOSE.sub(r"\\bigr\1", _OPEN.sub(r"\\bigl\1", math))
    width = round(width * len(text) / max(1, _visible(text)))  # in source characters, for the same printed width
    lines, start, braces, lefts, i = [], 0, 0, 0, 0
    while i < len(text):
        delimiter = _DELIMITER.match(text, i)
        if delimiter:
            lefts += 1 if delimiter.group(1) == "left" else -1
        braces += (text[i] == "{") - (text[i] == "}")
        if braces == 0 and lefts == 0 and i - start >= width and text.startswith((" + ", " - ", r" \odot "), i):
            lines.append(text[start:i])
            start = i + 1
        i += 1
    lines.append(text[start:])
    return r"\begin{multline*}" + "\n" + (r" \\" + "\n").join(lines) + "\n" + r"\end{multline*}"


def tex(d: Derivation, results: Sequence[Result], cell: CellText, source_name: str,
        loss: LossEquation | None = None) -> str:
    """A standalone LaTeX document (article class, amsmath)."""
    by_id = {r.id: r for r in results}
    out = [r"\documentclass[11pt]{article}", r"\usepackage[utf8]{inputenc}", r"\usepackage[T1]{fontenc}",
           r"\usepackage{amsmath,amssymb,amsfonts}", r"\usepackage[margin=2cm]{geometry}", r"\allowdisplaybreaks",
           rf"\title{{{tex_text(_title(d))}}}", r"\date{}", r"\begin{document}", r"\maketitle",
           tex_text(d.intro), "", tex_text(summary(results)), "",
           rf"\section*{{{tex_text('The equations of ' + source_name)}}}"]
    for line, what, source in _written(cell, loss):
        out += [rf"\noindent Line {line} ({tex_text(what)}): \texttt{{{tex_text(source)}}}", ""]
    out += [r"\section*{The derivation}"]
    for n, step in enumerate(d.steps, start=1):
        r = by_id[step.id]
        out += [rf"\subsection*{{{n}. {tex_text(step.title)}}}"]
        out += [breakable(math) for math in equations(step, cell.style)]
        out += [tex_text(step.reason), "",
                rf"\noindent\emph{{Check ({r.evidence}): {_VERDICT[r.passed]}.}} {tex_text(r.detail)}", ""]
    out += [r"\end{document}", ""]
    return "\n".join(out)


def longest_formula(d: Derivation) -> int:
    """The length of the longest display, in LaTeX characters (the readability measure of issue 14)."""
    return max((len(m) for step in d.steps for m in equations(step)), default=0)

