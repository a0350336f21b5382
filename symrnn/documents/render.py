"""Renderers: the derivation document as Markdown and as LaTeX, read from the same steps the verifier checked.

Prose in steps may hold inline math between ``$...$``; everything else is text and is escaped for LaTeX.  The LaTeX
document has a table of contents and a summary of checks linked to each step's label; a long equation is broken at
top-level operators only (:func:`breakable`, never inside a matrix) and scaled down if it is still too wide.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from symrnn.core.derivation import Derivation, Step
from symrnn.core.verify import Result, statement_latex
from symrnn.lecture25 import source as lecture

VERDICT = {True: "passed", False: "FAILED"}
#: a display's budget, in the units of :func:`width` (about one letter, 6.4 pt at 11 pt): the article's 472 pt line
TEX_WIDTH = 68.0


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


#: prose markup: a ``$...$`` span is inline maths, a ``\`...\``` span is code; everything else is text
PROSE_SPANS = re.compile(r"(\$[^$]+\$|`[^`]+`)")


def tex_text(text: str) -> str:
    """Escape prose for LaTeX, keeping ``$...$`` spans as math and setting a backquoted span as code
    (``\\texttt``); known Unicode math symbols become LaTeX."""
    def part(p: str) -> str:
        if len(p) > 2 and p[0] == p[-1] == "$":
            return p
        if len(p) > 2 and p[0] == p[-1] == "`":
            return r"\texttt{" + "".join(_tex_char(c) for c in p[1:-1]) + "}"
        return "".join(_tex_char(c) for c in p)

    return "".join(part(p) for p in PROSE_SPANS.split(text))


#: after amsmath: matrices of up to 64 columns (amsmath stops at 10), and ``\fitmath{width}{height}{math}``: a
#: display as it is, or scaled down to fit the width, then the height
MATH_PREAMBLE = (r"\setcounter{MaxMatrixCols}{64}", r"\newsavebox{\symrnnbox}",
                 r"\newcommand{\fitmath}[3]{\sbox{\symrnnbox}{$\displaystyle #3$}%",
                 r"\ifdim\wd\symrnnbox>#1\relax\sbox{\symrnnbox}{\resizebox{#1}{!}{\usebox{\symrnnbox}}}\fi",
                 r"\ifdim\dimexpr\ht\symrnnbox+\dp\symrnnbox\relax>#2\relax"
                 r"\sbox{\symrnnbox}{\resizebox*{!}{#2}{\usebox{\symrnnbox}}}\fi\usebox{\symrnnbox}}")


def step_label(section: str, step_id: str) -> str:
    """The LaTeX label (and PDF destination) of a step: ``step:section:id``, letters, digits and ``-`` only."""
    return "step:" + ":".join(re.sub(r"[^A-Za-z0-9-]+", "-", part) for part in (section, step_id))


def display(math: str, budget: float = TEX_WIDTH) -> list[str]:
    """A display equation: broken at top-level operators to fit ``budget`` letters, and scaled down should it still
    be wider than the line (a matrix too wide to break)."""
    return [r"\begin{equation*}", r"\fitmath{\linewidth}{0.9\textheight}{" + breakable(math, budget) + "}",
            r"\end{equation*}"]


def tex_summary(results: Sequence[Result]) -> list[str]:
    """The summary of checks: the count, the failures, then every check linked to its step, with its page."""
    out = [r"\section*{Summary of checks}", r"\addcontentsline{toc}{section}{Summary of checks}",
           tex_text(summary(results)), ""]
    failed = [r for r in results if not r.passed]
    if failed:
        out += [r"\noindent\textbf{Failed:}", r"\begin{itemize}"]
        out += [rf"\item \hyperref[{step_label(r.section, r.id)}]{{{tex_text(r.section + '/' + r.id)}}}: "
                + tex_text(r.detail) for r in failed]
        out += [r"\end{itemize}"]
    out += [r"\begin{longtable}{@{}rp{0.58\linewidth}llr@{}}", r"\hline", r"& step & evidence & verdict & page \\",
            r"\hline\endhead"]
    for r in results:
        label = step_label(r.section, r.id)
        verdict = VERDICT[r.passed] if r.passed else r"\textbf{FAILED}"
        out.append(rf"\ref*{{{label}}} & \hyperref[{label}]{{{tex_text(r.title or r.id)}}} & {r.evidence} & "
                   rf"{verdict} & \pageref*{{{label}}} \\")
    return [*out, r"\hline", r"\end{longtable}", ""]


def _tex_step(step: Step, section: str, r: Result, source: str) -> list[str]:
    out = [rf"\subsection{{{tex_text(step.title)}}}\label{{{step_label(section, step.id)}}}",
           *display(statement_latex(step)), tex_text(step.reason), "",
           rf"\noindent\emph{{Check ({r.evidence}): {VERDICT[r.passed]}.}} {tex_text(r.detail)}", ""]
    cmp = comparison(step, source)
    if cmp is not None and not cmp.matches:
        out += [rf"\noindent\emph{{Lecture, line {cmp.line}, writes}}", r"\begin{equation*}",
                r"\fitmath{\linewidth}{0.9\textheight}{" + cmp.lecture + "}", r"\end{equation*}",
                r"\noindent " + tex_text("Difference: " + cmp.note), ""]
    elif cmp is not None:
        out += [rf"\noindent\emph{{Lecture, line {cmp.line}: the same equation.}}", ""]
    return out


def tex(derivations: Sequence[Derivation], results: Sequence[Result], source: str | None = None) -> str:
    """A standalone LaTeX document (article class, amsmath): title, summary of checks linked to the steps, contents,
    then every section and step, long equations broken at top-level operators."""
    source = lecture.text() if source is None else source
    by_id = results_by_id(results)
    out = [r"\documentclass[11pt]{article}", r"\usepackage[utf8]{inputenc}", r"\usepackage[T1]{fontenc}",
           r"\usepackage{amsmath,amssymb,amsfonts,graphicx,longtable,xcolor}", r"\usepackage[margin=2.2cm]{geometry}",
           r"\usepackage[colorlinks=true,linkcolor=blue!50!black,urlcolor=blue!50!black,"
           r"pdftitle={Lecture 25, derived and verified by symrnn}]{hyperref}", *MATH_PREAMBLE,
           r"\allowdisplaybreaks", r"\setlength{\emergencystretch}{3em}",
           r"\title{Lecture 25, derived and verified by symrnn}", r"\date{}",
           r"\begin{document}", r"\maketitle", r"\noindent Source: " + tex_text(lecture.CREDIT) + ".", "",
           tex_text(summary(results)), "", r"\tableofcontents", "", *tex_summary(results)]
    for d in derivations:
        out += [rf"\section{{{tex_text(d.title)}}}", tex_text(d.intro), ""]
        for step in d.steps:
            out += _tex_step(step, d.section, by_id[(d.section, step.id)], source)
        for note in d.notes:
            out += [r"\begin{quote}" + tex_text(note) + r"\end{quote}", ""]
        for fig in d.figures:
            out += [r"\begin{figure}[h]\centering", rf"\includegraphics[width=0.8\linewidth]{{{fig.name}.png}}",
                    rf"\caption{{{tex_text(fig.caption)}}}", r"\end{figure}", ""]
    out += [r"\end{document}", ""]
    return "\n".join(out)


# ---- long equations: widths estimated from the LaTeX, lines broken at top-level operators only ----------------------

_TOKEN = re.compile(r"\\[A-Za-z]+\*?|\\.|\s+|.", re.S)
_OPEN = frozenset({"{", "(", "[", r"\{", r"\left", r"\begin"})
_CLOSE = frozenset({"}", ")", "]", r"\}", r"\right", r"\end"})
RELATIONS = frozenset({"=", "<", ">", r"\approx", r"\leftarrow", r"\neq", r"\ne", r"\le", r"\leq", r"\ge",
                       r"\geq", r"\propto", r"\equiv", r"\sim", r"\to", r"\rightarrow", r"\mapsto"})
_BINARY = frozenset({"+", "-", r"\pm", r"\odot", r"\oslash", r"\cdot", r"\times"})
_ONE_ARGUMENT = frozenset(r"""\vec \mathbf \boldsymbol \bm \hat \bar \tilde \mathfrak \mathcal \mathrm \mathit
    \mathbb \mathsf \overline \underline \operatorname \text \textrm \textit \textbf \mathring""".split())
_TEXT = frozenset({r"\text", r"\textrm", r"\textit", r"\textbf", r"\operatorname", r"\mathrm"})
_SPACE = {r"\quad": 2.0, r"\qquad": 4.0, r"\ ": 0.5, r"\,": 0.3, r"\;": 0.5, r"\:": 0.4, r"\!": -0.3}
_NAMES = frozenset("ln log exp tanh sinh cosh sin cos max min arg argmax argmin det sup inf lim".split())
_NARROW = {",": 0.6, ".": 0.4, "(": 0.6, ")": 0.6, "[": 0.6, "]": 0.6, "|": 0.4, "'": 0.4, ";": 0.6}


def _tokens(math: str) -> list[str]:
    return _TOKEN.findall(math)


def _group(tokens: list[str], i: int) -> int:
    """The index after the brace group opening at ``tokens[i]``."""
    depth = 0
    for j in range(i, len(tokens)):
        depth += (tokens[j] == "{") - (tokens[j] == "}")
        if depth == 0:
            return j + 1
    return len(tokens)


def _argument(tokens: list[str], i: int) -> tuple[list[str], int]:
    """The argument starting at ``i`` (spaces skipped): a brace group's inside or one token."""
    while i < len(tokens) and tokens[i].isspace():
        i += 1
    if i >= len(tokens):
        return [], i
    if tokens[i] == "{":
        end = _group(tokens, i)
        return tokens[i + 1:end - 1], end
    return [tokens[i]], i + 1


def _environment(tokens: list[str], i: int) -> tuple[float, int]:
    """The width of the environment whose ``\\begin`` is ``tokens[i]``: its widest cells, column by column."""
    name, i = _argument(tokens, i + 1)
    if name == ["array"]:
        _, i = _argument(tokens, i)
    depth, rows, row, cell = 0, [], [], i
    while i < len(tokens):
        tok = tokens[i]
        depth += (tok in (r"\begin", "{")) - (tok in (r"\end", "}"))
        if depth < 0:
            break
        if depth == 0 and tok in ("&", "\\\\"):
            row.append(tokens[cell:i])
            cell = i + 1
            if tok == "\\\\":
                rows.append(row)
                row = []
        i += 1
    rows.append([*row, tokens[cell:i]])
    _, i = _argument(tokens, i + 1)
    columns = max(len(r) for r in rows)
    widest = [max((_run(r[c]) for r in rows if c < len(r)), default=0.0) for c in range(columns)]
    return sum(widest) + 1.8 * max(columns - 1, 0) + 1.5, i


def _item(tokens: list[str], i: int) -> tuple[float, int]:
    """The width of the item starting at ``tokens[i]`` and the index after it."""
    tok = tokens[i]
    if tok.isspace():
        return 0.0, i + 1
    if tok == "{":
        end = _group(tokens, i)
        return _run(tokens[i + 1:end - 1]), end
    if tok in ("_", "^"):
        arg, end = _argument(tokens, i + 1)
        return 0.7 * _run(arg), end
    if tok in (r"\frac", r"\dfrac", r"\tfrac", r"\binom"):
        top, i = _argument(tokens, i + 1)
        bottom, i = _argument(tokens, i)
        return max(_run(top), _run(bottom)) + 0.6, i
    if tok == r"\begin":
        return _environment(tokens, i)
    if tok in (r"\left", r"\right"):
        delimiter, end = _argument(tokens, i + 1)
        return (0.0 if delimiter == ["."] else 0.7), end
    if tok in _ONE_ARGUMENT:
        arg, end = _argument(tokens, i + 1)
        return (0.9 * len("".join(arg)) if tok in _TEXT else _run(arg)), end
    if tok in _SPACE:
        return _SPACE[tok], i + 1
    if tok in RELATIONS or tok in _BINARY:
        return 2.2, i + 1
    if tok.startswith("\\") and tok[1:] in _NAMES:
        return 0.9 * len(tok) - 0.9, i + 1
    return _NARROW.get(tok, 1.2 if tok.startswith("\\") and len(tok) > 2 else 1.0), i + 1


def _run(tokens: list[str]) -> float:
    total, i = 0.0, 0
    while i < len(tokens):
        w, i = _item(tokens, i)
        total += w
    return total


def _rows_height(tokens: list[str]) -> float:
    """The height of an environment's rows (``tokens`` from after ``\\begin{...}`` to its ``\\end``)."""
    depth, rows, cell, tallest = 0, 0.0, 0, 1.0
    for i, tok in enumerate([*tokens, "\\\\"]):
        depth += (tok in (r"\begin", "{")) - (tok in (r"\end", "}"))
        if depth == 0 and tok in ("&", "\\\\"):
            tallest, cell = max(tallest, _height(tokens[cell:i])), i + 1
            if tok == "\\\\":
                rows, tallest = rows + tallest, 1.0
    return rows + 0.3


def _height(tokens: list[str]) -> float:
    """The height of a run of tokens, in lines: a fraction its two parts, an environment its rows."""
    tallest, i = 1.0, 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in (r"\frac", r"\dfrac", r"\binom"):
            top, i = _argument(tokens, i + 1)
            bottom, i = _argument(tokens, i)
            tallest = max(tallest, _height(top) + _height(bottom))
        elif tok == r"\begin":
            name, start = _argument(tokens, i + 1)
            if name == ["array"]:
                _, start = _argument(tokens, start)
            _, end = _environment(tokens, i)
            inside = tokens[start:end]
            while inside and inside[-1] != r"\end":  # the closing \end{name}
                inside.pop()
            tallest, i = max(tallest, _rows_height(inside[:-1])), end
        elif tok == "{":
            end = _group(tokens, i)
            tallest, i = max(tallest, _height(tokens[i + 1:end - 1])), end
        else:
            i += 1
    return tallest


def height(math: str) -> float:
    """An estimate of how tall ``math`` is when typeset, in lines: a matrix as its rows, a fraction as its parts,
    broken rows added up."""
    return _height(_tokens(math))


def width(math: str) -> float:
    """An estimate of how wide ``math`` is when typeset, in letters: a fraction is as wide as its wider part, a
    matrix as its widest cells, a script smaller; good enough to choose where to break, never to promise a fit."""
    return _run(_tokens(math))


def _top_level(math: str) -> list[tuple[int, str, str | None]]:
    """``(offset, token, previous token)`` of every token outside braces, brackets, ``\\left...\\right`` and
    environments (so never inside a matrix), spaces skipped."""
    out, depth, pos, previous, skip = [], 0, 0, None, False
    for tok in _tokens(math):
        here, pos = pos, pos + len(tok)
        if skip or tok.isspace():  # the delimiter after \left or \right belongs to it
            skip = skip and tok.isspace()
            continue
        if tok in _CLOSE:
            depth -= 1
        if depth == 0 and tok not in _CLOSE:
            out.append((here, tok, previous))
        if tok in _OPEN:
            depth += 1
        skip = tok in (r"\left", r"\right")
        previous = tok if depth == 0 else "}"
    return out


def _cut(math: str, offsets: list[int]) -> list[str]:
    edges = [0, *offsets, len(math)]
    return [math[a:b].strip() for a, b in zip(edges, edges[1:])]


def split_list(math: str) -> list[str]:
    """The relations of a comma-separated list (``a = b, c = d``), cut at its top-level commas."""
    cuts = [o for o, tok, _ in _top_level(math) if tok == "," and math[o + 1:o + 2].isspace()]
    return [p.removeprefix(",").strip() for p in _cut(math, cuts)]


def split_relations(math: str) -> list[str]:
    """``a = b \\approx c`` as ``["a", "= b", "\\approx c"]``: cut before each top-level relation."""
    return _cut(math, [o for o, tok, _ in _top_level(math) if tok in RELATIONS])


def split_terms(math: str) -> list[str]:
    """``a + b - c`` as ``["a", "+ b", "- c"]``: cut before each top-level binary ``+`` or ``-`` (not a sign)."""
    sign_before = RELATIONS | _BINARY | {None, ",", "_", "^", "&"}
    return _cut(math, [o for o, tok, prev in _top_level(math) if tok in ("+", "-") and prev not in sign_before
                       and o > 0])


def _sign(part: str) -> tuple[str, str]:
    first = _tokens(part)[:1]
    return (first[0], part[len(first[0]):].strip()) if first and first[0] in RELATIONS else ("", part)


def _relation_rows(relation: str, budget: float) -> list[str]:
    """One relation as ``aligned`` rows: a row per relation sign, long sides cut between terms."""
    lhs, *rest = split_relations(relation)
    if not rest:
        lhs, rest = "", [relation]
    rows: list[str] = []
    for n, part in enumerate(rest):
        sign, side = _sign(part)
        row, empty = (lhs + " " if n == 0 and lhs else "") + "&" + sign + " ", True
        for term in split_terms(side):
            if not empty and width(row + term) > budget:
                rows.append(row.rstrip())
                row = r"&\quad {}"
            row, empty = row + term + " ", False
        rows.append(row.rstrip())
    return rows


def fitted(math: str, budget: float, lines: float) -> str:
    """``math`` broken (:func:`breakable`) or whole, whichever the estimates say needs less scaling down to fit
    ``budget`` letters by ``lines`` lines (a chain of matrices stays on one line rather than four tall rows)."""
    broken = breakable(math, budget)

    def scale(m: str) -> float:
        return min(1.0, budget / max(width(m), 1e-9), lines / height(m))

    return broken if scale(broken) > scale(math) else math


def breakable(math: str, budget: float = TEX_WIDTH) -> str:
    """``math`` as it should be displayed in ``budget`` letters of width: unchanged when it fits; else a list's
    relations on lines of their own (``gathered``), and a relation too long for one line as ``aligned`` rows cut
    before its relation signs and then between its terms.  Cuts are made only at top-level operators, never inside
    braces, brackets, ``\\left...\\right`` or an environment (a matrix stays whole)."""
    if width(math) <= budget:
        return math
    lines, line = [], ""
    for relation in split_list(math):
        if line and width(line + ", " + relation) <= budget:
            line += ", " + relation
            continue
        if line:
            lines.append(line + ",")
        rows = [relation] if width(relation) <= budget else _relation_rows(relation, budget)
        line = relation if len(rows) == 1 else r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"
    lines.append(line)
    return lines[0] if len(lines) == 1 else r"\begin{gathered}" + r" \\ ".join(lines) + r"\end{gathered}"
