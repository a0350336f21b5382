"""Renderers: the derivation document as Markdown and as LaTeX, read from the same steps the verifier checked.

Prose in steps may hold inline math between ``$...$``; everything else is text and is escaped for LaTeX.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from symrnn.core.derivation import Derivation, Step
from symrnn.core.verify import Result, statement_latex
from symrnn.lecture25 import source as lecture

VERDICT = {True: "passed", False: "FAILED"}


def comparison(step: Step, source: str) -> lecture.Comparison | None:
    if not step.lecture:
        return None
    return lecture.compare(statement_latex(step), step.lecture, step.lecture_note, source)


def results_by_id(results: Sequence[Result]) -> dict[tuple[str, str], Result]:
    return {(r.section, r.id): r for r in results}


def markdown(derivations: Sequence[Derivation], results: Sequence[Result], source: str | None = None) -> str:
    """The document in Markdown with ``$$...$$`` display math."""
    source = lecture.text() if source is None else source
    by_id = results_by_id(results)
    out = ["# Lecture 25, derived and verified by symrnn", "", f"Source: {lecture.CREDIT}.", "",
           summary(results), ""]
    for d in derivations:
        out += [f"## {d.title}", "", d.intro, ""]
        for n, step in enumerate(d.steps, start=1):
            r = by_id[(d.section, step.id)]
            out += [f"### {n}. {step.title}", "", "$$", statement_latex(step), "$$", "", step.reason, "",
                    f"*Check ({r.evidence}): {VERDICT[r.passed]}.* {r.detail}", ""]
            cmp = comparison(step, source)
            if cmp is not None:
                if cmp.matches:
                    out += [f"*Lecture, line {cmp.line}:* the same equation (after normalising spacing).", ""]
                else:
                    out += [f"*Lecture, line {cmp.line}:* the lecture writes", "", "$$", cmp.lecture, "$$", "",
                            f"Difference: {cmp.note or 'not explained'}", ""]
        for note in d.notes:
            out += [f"> {note}", ""]
        for fig in d.figures:
            out += [f"![{fig.caption}]({fig.name}.png)", "", f"*Figure: {fig.caption}*", ""]
    return "\n".join(out)


def summary(results: Sequence[Result]) -> str:
    passed = sum(r.passed for r in results)
    levels = {lv: sum(r.evidence == lv for r in results) for lv in ("symbolic", "exact", "numeric")}
    return (f"{passed} of {len(results)} checks passed ({levels['symbolic']} symbolic, {levels['exact']} exact, "
            f"{levels['numeric']} numeric).")


_TEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


_UNICODE_MATH = {"\u03a9": r"$\Omega$", "\U0001d50f": r"$\mathfrak{L}$", "\u03a3": r"$\Sigma$", "\u2299": r"$\odot$",
                 "\u2260": r"$\neq$", "\u2248": r"$\approx$", "\u2202": r"$\partial$", "\u03c3": r"$\sigma$",
                 "\u03b7": r"$\eta$", "\u03c1": r"$\rho$", "\u03b4": r"$\delta$", "\u03be": r"$\xi$",
                 "\u03c0": r"$\pi$", "\u2192": r"$\to$", "\u2264": r"$\le$", "\u2265": r"$\ge$",
                 "\u00d7": r"$\times$", "\u2212": "-", "\u2014": "---", "\u2013": "--", "\u2026": r"\dots{}"}


def _tex_char(c: str) -> str:
    if c in _TEX_SPECIAL:
        return _TEX_SPECIAL[c]
    if c in _UNICODE_MATH:
        return _UNICODE_MATH[c]
    return c if ord(c) < 128 or c.isalpha() and ord(c) < 0x250 else f"[U+{ord(c):04X}]"


def tex_text(text: str) -> str:
    """Escape prose for LaTeX, keeping ``$...$`` spans as math; known Unicode math symbols become LaTeX."""
    parts = re.split(r"(\$[^$]+\$)", text)
    return "".join(p if p.startswith("$") and p.endswith("$") and len(p) > 1
                   else "".join(_tex_char(c) for c in p) for p in parts)


def tex(derivations: Sequence[Derivation], results: Sequence[Result], source: str | None = None) -> str:
    """A standalone LaTeX document (article class, amsmath)."""
    source = lecture.text() if source is None else source
    by_id = results_by_id(results)
    out = [r"\documentclass[11pt]{article}", r"\usepackage[utf8]{inputenc}", r"\usepackage[T1]{fontenc}",
           r"\usepackage{amsmath,amssymb,amsfonts,graphicx}", r"\usepackage[margin=2.2cm]{geometry}",
           r"\allowdisplaybreaks", r"\title{Lecture 25, derived and verified by symrnn}", r"\date{}",
           r"\begin{document}", r"\maketitle", r"\noindent Source: " + tex_text(lecture.CREDIT) + ".", "",
           tex_text(summary(results)), ""]
    for d in derivations:
        out += [rf"\section{{{tex_text(d.title)}}}", tex_text(d.intro), ""]
        for step in d.steps:
            r = by_id[(d.section, step.id)]
            out += [rf"\subsection{{{tex_text(step.title)}}}", r"\begin{equation*}", _breakable(statement_latex(step)),
                    r"\end{equation*}", tex_text(step.reason), "",
                    rf"\noindent\emph{{Check ({r.evidence}): {VERDICT[r.passed]}.}} {tex_text(r.detail)}", ""]
            cmp = comparison(step, source)
            if cmp is not None and not cmp.matches:
                out += [rf"\noindent\emph{{Lecture, line {cmp.line}, writes}}", r"\begin{equation*}",
                        cmp.lecture, r"\end{equation*}", r"\noindent " + tex_text("Difference: " + cmp.note), ""]
            elif cmp is not None:
                out += [rf"\noindent\emph{{Lecture, line {cmp.line}: the same equation.}}", ""]
        for note in d.notes:
            out += [r"\begin{quote}" + tex_text(note) + r"\end{quote}", ""]
        for fig in d.figures:
            out += [r"\begin{figure}[h]\centering", rf"\includegraphics[width=0.8\linewidth]{{{fig.name}.png}}",
                    rf"\caption{{{tex_text(fig.caption)}}}", r"\end{figure}", ""]
    out += [r"\end{document}", ""]
    return "\n".join(out)


_DELIMITER = re.compile(r"\\(begin|end|left|right)(?![A-Za-z])")


def _breakable(math: str) -> str:
    """A long equation list breaks into ``gathered`` lines at its first top-level comma (never inside braces,
    ``\\left ... \\right`` or an environment such as a matrix)."""
    if len(math) < 160:
        return math
    depth = 0
    for i, c in enumerate(math):
        delimiter = _DELIMITER.match(math, i)
        if delimiter:
            depth += 1 if delimiter.group(1) in ("begin", "left") else -1
        depth += (c == "{") - (c == "}")
        if depth == 0 and math.startswith(", ", i):
            return r"\begin{gathered}" + math[:i] + r",\\ " + math[i + 2:] + r"\end{gathered}"
    return math
