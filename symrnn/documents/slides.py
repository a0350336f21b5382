"""The derivation as Beamer slides, read from the same steps and results as the other documents.

A title frame citing the lecture and summing up the checks; then, section by section, a frame introducing the
section, one frame per step (its equation, reason, and the evidence and verdict of its check as badges), a frame of
its own for each step the lecture writes differently (both equations and why they differ), one per note and one per
figure.  An equation is broken at top-level operators (:func:`symrnn.documents.render.breakable`) for the slide's
narrower line, then scaled down if it is still too wide or too tall (``\\fitmath``); a frame whose text is too long
is shrunk to fit (Beamer's ``shrink``), so nothing runs off a slide.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from symrnn.core.derivation import Derivation, Figure, Step
from symrnn.core.verify import Result, statement_latex
from symrnn.documents import render
from symrnn.lecture25 import source as lecture

TITLE = "Lecture 25: Recurrent Neural Networks"
SUBTITLE = "derived and verified by symrnn"
#: an equation's budget on a slide, in :func:`symrnn.documents.render.width` letters (a 16:9 frame's 398 pt line)
SLIDE_WIDTH = 56.0
#: a frame's text height in :func:`symrnn.documents.render.height` lines (about 200 pt)
SLIDE_LINES = 15.0
#: frame markers in the source, one per kind of frame (the tests count them)
STEP, DIFFERENCE, NOTE, FIGURE, SECTION = "% symrnn-frame step", "% symrnn-frame difference", \
    "% symrnn-frame note", "% symrnn-frame figure", "% symrnn-frame section"

_COLOURS = {"symbolic": ("1C3F94", "E8EEFC"), "exact": ("5B2A86", "F2EAFB"), "numeric": ("7A4B00", "FDF3E1"),
            "passed": ("14632B", "E6F4EA"), "failed": ("8A1111", "FDE8E8")}
_PREAMBLE = [r"\documentclass[11pt,aspectratio=169]{beamer}", r"\usepackage{amsmath,amssymb,amsfonts}",
             r"\usefonttheme[onlymath]{serif}", r"\setbeamertemplate{navigation symbols}{}",
             r"\setbeamertemplate{footline}[frame number]", r"\setbeamercolor{frametitle}{fg=blue!45!black}",
             r"\setbeamercolor{framesubtitle}{fg=black!60}", r"\setlength{\emergencystretch}{3em}",
             *(rf"\definecolor{{{k}}}{{HTML}}{{{fg}}}\definecolor{{{k}-bg}}{{HTML}}{{{bg}}}"
               for k, (fg, bg) in _COLOURS.items()),
             r"\newcommand{\badge}[2]{\colorbox{#1-bg}{\textcolor{#1}{\strut\footnotesize\textbf{#2}}}}",
             *render.MATH_PREAMBLE]
def _equation(math: str, share: float, broken: bool = True) -> list[str]:
    """A display in ``share`` of the frame's height: broken where that needs less scaling, scaled to fit."""
    shown = render.fitted(math, SLIDE_WIDTH, SLIDE_LINES * share) if broken else math
    return [r"\begin{center}", rf"\fitmath{{\linewidth}}{{{share}\textheight}}{{{shown}}}", r"\end{center}"]


def _badges(r: Result) -> str:
    verdict = "passed" if r.passed else "failed"
    return rf"\badge{{{r.evidence}}}{{{r.evidence}}}\,\badge{{{verdict}}}{{{render.VERDICT[r.passed]}}}"


def _title_frame(results: Sequence[Result]) -> list[str]:
    return [rf"\title{{{TITLE}}}", rf"\subtitle{{{SUBTITLE}}}", r"\author{after Mark Hasegawa-Johnson}",
            r"\date{}", r"\begin{frame}[plain]", r"\titlepage", r"\vfill", r"\begin{center}\footnotesize",
            "Source: " + render.tex_text(lecture.CREDIT) + r".\\[0.6em]",
            render.tex_text(render.summary(results)), r"\end{center}", r"\end{frame}", ""]


def _failures_frame(results: Sequence[Result]) -> list[str]:
    failed = [r for r in results if not r.passed]
    if not failed:
        return []
    items = [rf"\item \texttt{{{render.tex_text(r.section + '/' + r.id)}}}: {render.tex_text(r.detail)}"
             for r in failed]
    return [r"\begin{frame}[t,shrink]{Failed checks}", r"\begin{itemize}", *items, r"\end{itemize}",
            r"\end{frame}", ""]


def _section_frame(d: Derivation) -> list[str]:
    return [SECTION, rf"\section{{{render.tex_text(d.title)}}}",
            rf"\begin{{frame}}[t,shrink]{{{render.tex_text(d.title)}}}", rf"\framesubtitle{{{len(d.steps)} steps}}",
            r"\small", render.tex_text(d.intro), r"\end{frame}", ""]


def _step_frame(d: Derivation, n: int, step: Step, r: Result) -> list[str]:
    return [STEP, rf"\begin{{frame}}[t,shrink]{{{n}. {render.tex_text(step.title)}}}",
            rf"\framesubtitle{{{render.tex_text(d.title)}}}", *_equation(statement_latex(step), 0.5),
            r"{\small " + render.tex_text(step.reason) + r"\par}", r"\vfill",
            r"{\scriptsize " + _badges(r) + r"\quad Check: " + render.tex_text(r.detail) + r"\par}", r"\end{frame}", ""]


def _difference_frame(d: Derivation, n: int, step: Step, cmp: lecture.Comparison) -> list[str]:
    return [DIFFERENCE, rf"\begin{{frame}}[t,shrink]{{{n}. {render.tex_text(step.title)}}}",
            rf"\framesubtitle{{Where the lecture differs (lecture, line {cmp.line})}}",
            r"{\small symrnn writes, and checks:\par}", *_equation(statement_latex(step), 0.3),
            r"{\small the lecture writes:\par}", *_equation(cmp.lecture, 0.3, broken=False),
            r"{\small Difference: " + render.tex_text(cmp.note or "not explained") + r"\par}", r"\end{frame}", ""]


def _note_frame(d: Derivation, note: str) -> list[str]:
    return [NOTE, r"\begin{frame}[t,shrink]{Note}", rf"\framesubtitle{{{render.tex_text(d.title)}}}",
            r"\small", render.tex_text(note), r"\end{frame}", ""]


def _figure_frame(d: Derivation, fig: Figure) -> list[str]:
    return [FIGURE, rf"\begin{{frame}}[t,shrink]{{Figure: {render.tex_text(d.title)}}}", r"\centering",
            rf"\includegraphics[width=\linewidth,height=0.62\textheight,keepaspectratio]{{{fig.name}.png}}\par",
            r"\vspace{0.4em}{\scriptsize " + render.tex_text(fig.caption) + r"\par}", r"\end{frame}", ""]


def beamer(derivations: Sequence[Derivation], results: Sequence[Result], source: str | None = None) -> str:
    """The slides' Beamer source: the figures are read as ``name.png`` beside it."""
    source = lecture.text() if source is None else source
    by_id = render.results_by_id(results)
    out = [*_PREAMBLE, rf"\hypersetup{{pdftitle={{{TITLE}, {SUBTITLE}}}}}", r"\begin{document}",
           *_title_frame(results), *_failures_frame(results)]
    for d in derivations:
        out += _section_frame(d)
        for n, step in enumerate(d.steps, start=1):
            out += _step_frame(d, n, step, by_id[(d.section, step.id)])
            cmp = render.comparison(step, source)
            if cmp is not None and not cmp.matches:
                out += _difference_frame(d, n, step, cmp)
        for note in d.notes:
            out += _note_frame(d, note)
        for fig in d.figures:
            out += _figure_frame(d, fig)
    out += [r"\end{document}", ""]
    return "\n".join(out)


def screenshot(pdf_file: Path, page: int, target: Path, dpi: int = 60) -> Path:
    """Page ``page`` (1-based) of a PDF as a PNG of ``dpi`` dots per inch (poppler's ``pdftoppm``), written whole to
    ``target``; a FileNotFoundError when ``pdftoppm`` is not on PATH."""
    from symrnn.documents.build import write_atomic

    exe = shutil.which("pdftoppm")
    if exe is None:
        raise FileNotFoundError("pdftoppm (Debian package poppler-utils) is not on PATH")
    target = Path(target)
    with tempfile.TemporaryDirectory(prefix=".shot-", dir=target.parent) as work:
        subprocess.run([exe, "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile",
                        str(pdf_file), str(Path(work) / "page")], check=True, capture_output=True, timeout=120)
        write_atomic(target, (Path(work) / "page.png").read_bytes())
    return target
