"""The derivation document as one standalone HTML page, read from the same steps the verifier checked.

The page needs no network and runs no script: maths is MathML made by ``latex2mathml`` (browsers draw MathML
natively), figures are ``data:`` URIs, the style is inline, and a Content-Security-Policy forbids everything else.
Every piece of text is escaped.  An equation ``latex2mathml`` cannot convert (or converts to something that is not
well-formed MathML) does not break the page: its LaTeX is shown in a ``<code>`` element and counted in
:attr:`Page.fallbacks`.
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

from symrnn.core.derivation import Derivation, Figure, Step
from symrnn.core.verify import Result, statement_latex
from symrnn.documents import render
from symrnn.latex.printer import latex
from symrnn.latex.style import Style
from symrnn.lecture25 import source as lecture

TITLE = "Lecture 25, derived and verified by symrnn"
_MATHML = "{http://www.w3.org/1998/Math/MathML}"
_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_COMMAND = re.compile(r"\\[A-Za-z]+")
_ELEMENTS = frozenset("math mrow mi mn mo ms mtext mspace msub msup msubsup munder mover munderover mfrac msqrt "
                      "mroot mstyle mpadded mphantom menclose mtable mtr mtd mlabeledtr mmultiscripts mprescripts "
                      "none semantics annotation merror".split())


@dataclass(frozen=True)
class Fallback:
    """An equation shown as LaTeX because it could not be converted: where it is, the LaTeX, and why."""

    where: str  # the anchor of the step, figure or section it belongs to
    what: str  # "statement", "the lecture's equation" or "prose"
    latex: str
    reason: str


@dataclass
class Page:
    """The page's text, how many equations became MathML, and those that could not."""

    text: str
    equations: int = 0
    fallbacks: list[Fallback] = field(default_factory=list)


def mathml(latex: str, display: bool = True) -> str:
    """``latex`` as one ``<math>`` element; a ValueError unless the result is well-formed MathML made only of
    MathML elements, with no link or event attribute and no LaTeX command left in its text (``latex2mathml`` passes
    an unknown command through as text, and the text of ``\\text{...}`` unescaped)."""
    from latex2mathml.converter import convert

    out = convert(latex, display="block" if display else "inline")
    try:
        root = ET.fromstring(out)
    except ET.ParseError as exc:
        raise ValueError(f"latex2mathml produced malformed MathML ({exc})") from None
    for node in root.iter():
        tag = node.tag.removeprefix(_MATHML)
        if tag not in _ELEMENTS or tag == "merror":
            raise ValueError(f"latex2mathml produced the element <{tag}>")
        bad = [a for a in node.attrib if a.rsplit("}", 1)[-1].lower().startswith(("on", "href", "src", "style"))]
        if bad:
            raise ValueError(f"latex2mathml produced the attribute {bad[0]}")
        left = _COMMAND.search(f"{node.text or ''} {node.tail or ''}")
        if left:
            raise ValueError(f"latex2mathml does not know {left.group()}")
    return out


class _Maths:
    """Converts the page's equations, counting them and keeping those shown as LaTeX instead."""

    def __init__(self, style: Style | None = None) -> None:
        self.count = 0
        self.fallbacks: list[Fallback] = []
        self.style = style  # the notation statements print in (None: the lecture's)

    def statement(self, step: Step) -> str:
        """The step's statement as LaTeX, in the page's notation."""
        if self.style is None or step.latex_override:
            return statement_latex(step)
        return latex(step.statement, style=self.style)

    def __call__(self, latex: str, where: str, display: bool = True, what: str = "statement") -> str:
        try:
            out = mathml(latex, display)
        except Exception as exc:  # noqa: BLE001 - any failure of the converter shows the LaTeX instead
            self.fallbacks.append(Fallback(where, what, latex, f"{type(exc).__name__}: {exc}"))
            return f'<code class="tex">{escape(latex)}</code>'
        self.count += 1
        return f'<div class="equation">{out}</div>' if display else out

    def prose(self, text: str, where: str) -> str:
        """Escaped prose, its ``$...$`` spans as inline MathML and its backquoted spans as ``<code>``."""
        def part(p: str) -> str:
            if len(p) > 2 and p[0] == p[-1] == "$":
                return self(p[1:-1], where, display=False, what="prose")
            if len(p) > 2 and p[0] == p[-1] == "`":
                return f"<code>{escape(p[1:-1])}</code>"
            return escape(p)

        return "".join(part(p) for p in render.PROSE_SPANS.split(text))


def anchor(*parts: str) -> str:
    """An HTML id from a section and a step id: letters, digits, ``-`` and ``_`` only."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", "-".join(parts)).strip("-") or "step"


def _badges(r: Result) -> str:
    verdict = "passed" if r.passed else "failed"
    return (f'<span class="badge level-{escape(r.evidence)}" title="evidence">{escape(r.evidence)}</span> '
            f'<span class="badge {verdict}">{verdict}</span>')


def _displays(maths: _Maths, step: Step, where: str) -> list[str]:
    """The statement as display maths: a list of relations one per line (a page does not break long lines)."""
    if isinstance(step.statement, tuple) and not step.latex_override and len(step.statement) > 1:
        return [maths(latex(part, style=maths.style), where) for part in step.statement]
    return [maths(maths.statement(step), where)]


def _step(maths: _Maths, d: Derivation, n: int, step: Step, r: Result, source: str) -> list[str]:
    where = anchor(d.section, step.id)
    out = [f'<article class="step" id="{where}">', f"<h3>{n}. {maths.prose(step.title, where)}</h3>",
           *_displays(maths, step, where), f'<p class="reason">{maths.prose(step.reason, where)}</p>',
           f'<p class="check">{_badges(r)} <span class="detail">Check: {maths.prose(r.detail, where)}</span></p>']
    cmp = render.comparison(step, source)
    if cmp is not None and cmp.matches:
        out.append(f'<p class="lecture same">Lecture, line {cmp.line}: the same equation '
                   "(after normalising spacing).</p>")
    elif cmp is not None:
        out += [f'<div class="lecture differs"><p>Lecture, line {cmp.line}, writes</p>',
                maths(cmp.lecture, where, what="the lecture's equation"),
                f"<p>Difference: {maths.prose(cmp.note or 'not explained', where)}</p></div>"]
    out.append("</article>")
    return out


def _figure(maths: _Maths, d: Derivation, fig: Figure, images: Mapping[str, bytes]) -> list[str]:
    where = anchor(d.section, "figure", fig.name)
    caption = maths.prose(fig.caption, where)
    data = images.get(fig.name)
    if data is None:
        body = '<p class="missing">(figure not drawn in this build)</p>'
    else:
        body = (f'<img src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}" '
                f'alt="{escape(fig.caption)}">')
    return [f'<figure id="{where}">', body, f"<figcaption>Figure: {caption}</figcaption>", "</figure>"]


def _section(maths: _Maths, d: Derivation, by_id, source: str, images: Mapping[str, bytes]) -> list[str]:
    out = [f'<section id="{anchor(d.section)}">', f"<h2>{maths.prose(d.title, d.section)}</h2>",
           f'<p class="intro">{maths.prose(d.intro, d.section)}</p>']
    for n, step in enumerate(d.steps, start=1):
        out += _step(maths, d, n, step, by_id[(d.section, step.id)], source)
    for note in d.notes:
        out.append(f'<aside class="note">{maths.prose(note, d.section)}</aside>')
    for fig in d.figures:
        out += _figure(maths, d, fig, images)
    out.append("</section>")
    return out


def _differences(derivations: Sequence[Derivation], source: str) -> list[tuple[Derivation, Step, object]]:
    return [(d, s, c) for d in derivations for s in d.steps
            if (c := render.comparison(s, source)) is not None and not c.matches]


def _contents(maths: _Maths, derivations: Sequence[Derivation], by_id, differs: bool) -> list[str]:
    out = ['<nav class="toc" aria-label="Contents">', "<h2>Contents</h2>", "<ol>"]
    for d in derivations:
        out += [f'<li><a href="#{anchor(d.section)}">{maths.prose(d.title, d.section)}</a>', "<ol>"]
        for step in d.steps:
            r = by_id[(d.section, step.id)]
            mark = "" if r.passed else ' <span class="badge failed">failed</span>'
            title = maths.prose(step.title, d.section)
            out.append(f'<li><a href="#{anchor(d.section, step.id)}">{title}</a>{mark}</li>')
        out += ["</ol>", "</li>"]
    if differs:
        out.append('<li><a href="#differences">Where the lecture differs</a></li>')
    out += ["</ol>", "</nav>"]
    return out


def _differences_section(maths: _Maths, differences) -> list[str]:
    if not differences:
        return []
    out = ['<section id="differences">', "<h2>Where the lecture differs</h2>",
           "<p>Each line of the lecture that symrnn writes differently, and why.</p>", "<ul>"]
    for d, step, cmp in differences:
        where = anchor(d.section, step.id)
        out.append(f'<li><a href="#{where}">{escape(d.section)}: {maths.prose(step.title, where)}</a> (lecture, line '
                   f"{cmp.line}): {maths.prose(cmp.note or 'not explained', where)}</li>")
    out += ["</ul>", "</section>"]
    return out


def _fallback_notice(fallbacks: Sequence[Fallback]) -> list[str]:
    if not fallbacks:
        return []
    out = ['<section id="fallbacks">', "<h2>Equations shown as LaTeX</h2>",
           f"<p>{len(fallbacks)} equation(s) could not be converted to MathML:</p>", "<ul>"]
    out += [f'<li><a href="#{escape(f.where)}">{escape(f.where)}</a> ({escape(f.what)}): {escape(f.reason)}</li>'
            for f in fallbacks]
    out += ["</ul>", "</section>"]
    return out


def _summary(results: Sequence[Result]) -> list[str]:
    failed = [r for r in results if not r.passed]
    cls = "passed" if not failed else "failed"
    out = [f'<p class="summary"><span class="badge {cls}">{"all passed" if not failed else "FAILED"}</span> '
           f"{escape(render.summary(results))}</p>"]
    if failed:
        out.append('<ul class="failures">')
        out += [f'<li><a href="#{anchor(r.section, r.id)}">{escape(r.section)}/{escape(r.id)}</a>: '
                f"{escape(r.detail)}</li>" for r in failed]
        out.append("</ul>")
    return out


def html(derivations: Sequence[Derivation], results: Sequence[Result], source: str | None = None,
         images: Mapping[str, bytes] | None = None, *, title: str | None = None, credit: str | None = None,
         style: Style | None = None) -> Page:
    """The standalone page: title, summary with badges, contents, every step with its check and the lecture's line,
    notes, figures (``images``: a figure's name to its PNG bytes), and the lecture's differences.  ``title`` and
    ``credit`` (default: the lecture's) name another document, such as a cell ``symrnn derive`` read, and ``style``
    the notation its statements print in (:mod:`symrnn.latex.style`; default the lecture's)."""
    source = lecture.text() if source is None else source
    title = TITLE if title is None else title
    credit = lecture.CREDIT if credit is None else credit
    images = dict(images or {})
    by_id = render.results_by_id(results)
    maths = _Maths(style)
    differences = _differences(derivations, source)
    body = ["<header>", f"<h1>{escape(title)}</h1>", f'<p class="source">Source: {escape(credit)}.</p>',
            *_summary(results), "</header>", *_contents(maths, derivations, by_id, bool(differences)), "<main>"]
    for d in derivations:
        body += _section(maths, d, by_id, source, images)
    body += _differences_section(maths, differences)
    body += _fallback_notice(maths.fallbacks)
    body += ["</main>", "<footer><p>Written by symrnn: every equation above was checked as stated beside it"
             + ("; the lecture is quoted under CC-BY 4.0" if credit == lecture.CREDIT else "") + ".</p></footer>"]
    head = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title>", f"<style>{_STYLE}</style>", "</head>", "<body>"]
    return Page("\n".join([*head, *body, "</body>", "</html>", ""]), maths.count, maths.fallbacks)


_STYLE = """
body { font-family: "Latin Modern Roman", "STIX Two Text", Georgia, serif; line-height: 1.5; color: #1d1d1f;
       max-width: 60rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
math { font-family: "Latin Modern Math", "STIX Two Math", math; }
math[display="block"] { font-size: 1.1em; }
h1 { font-size: 1.9rem; margin-bottom: .3rem; } h2 { border-bottom: 1px solid #ccc; margin-top: 2.2rem; }
h3 { font-size: 1.1rem; margin-bottom: .2rem; }
.source, .detail, footer { color: #555; font-size: .92rem; }
.equation { overflow-x: auto; overflow-y: hidden; padding: .4rem 0; }
.step { border-left: 3px solid #e3e3e3; padding-left: 1rem; margin: 1.4rem 0; }
.badge { display: inline-block; font: 600 .75rem/1.4 system-ui, sans-serif; padding: 0 .45rem;
         border-radius: .6rem; border: 1px solid; vertical-align: middle; }
.passed { color: #14632b; background: #e6f4ea; border-color: #9fd3ae; }
.failed { color: #8a1111; background: #fde8e8; border-color: #f1a1a1; }
.level-symbolic { color: #1c3f94; background: #e8eefc; border-color: #a9bdf0; }
.level-exact { color: #5b2a86; background: #f2eafb; border-color: #cdb4ea; }
.level-numeric { color: #7a4b00; background: #fdf3e1; border-color: #e8c98f; }
.lecture { color: #444; font-size: .95rem; }
.differs { background: #fff8e6; border: 1px solid #f0d9a0; border-radius: .4rem; padding: 0 .8rem; }
.note { border-left: 3px solid #bbb; padding-left: 1rem; color: #333; margin: 1rem 0; }
nav.toc ol { padding-left: 1.4rem; } nav.toc > ol > li { margin-top: .4rem; font-weight: 600; }
nav.toc ol ol { font-weight: normal; columns: 2; font-size: .92rem; }
figure { text-align: center; margin: 1.5rem 0; } figure img { max-width: 100%; }
code.tex { background: #f4f4f4; padding: .1rem .3rem; white-space: pre-wrap; }
"""
