"""The standalone HTML page: well-formed, every equation MathML, figures embedded, text escaped, no script; and, where
Chromium is on PATH, drawn by a real headless browser (screenshot, DOM without MathML error nodes, no console
messages)."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sympy as sp

from symrnn import cli
from symrnn.core.cache import ProofCache, default_folder
from symrnn.core.derivation import Derivation, Figure, Identity, Step
from symrnn.core.verify import Result, statement_latex
from symrnn.documents import build as build_mod
from symrnn.documents import html as html_page
from symrnn.documents import render
from symrnn.lecture25 import SECTIONS
from symrnn.lecture25 import source as lecture

SECTION = "lstm"  # small, with a figure and a difference from the lecture
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Reader(HTMLParser):
    """Tags nested and closed properly, ids, links, images, and the text outside ``<code>`` and ``<style>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}> at {self.getpos()}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not {"code", "style"} & set(self.stack):
            self.text.append(data)


def read(text: str) -> Reader:
    reader = Reader()
    reader.feed(text)
    reader.close()
    return reader


@pytest.fixture(scope="module")
def page(tmp_path_factory, verified):
    """``build --format html`` of one section, its verdicts read back from the run's proof cache."""
    verified(SECTION)
    out = tmp_path_factory.mktemp("html")
    res = build_mod.build(out, [SECTION], make_pdf=False, cache=ProofCache(default_folder()), formats=["html"])
    return out, res, (out / "lecture25.html").read_text(encoding="utf-8")


def test_format_html_writes_the_page_and_the_report_only(page):
    out, res, _ = page
    assert res.ok
    assert sorted(p.name for p in out.iterdir()) == ["lecture25.html", "report.json"]
    assert res.html_fallbacks == []  # every equation of the section became MathML
    assert any(m.startswith("HTML: ") and ", 0 shown as LaTeX" in m for m in res.messages)


def test_the_page_is_well_formed(page):
    text = page[2]
    reader = read(text)
    assert reader.doctype.lower() == "doctype html"
    assert reader.errors == [] and reader.stack == []
    ids = [a["id"] for _, a in reader.tags if "id" in a]
    assert len(ids) == len(set(ids)), "duplicate ids"
    links = [a["href"] for t, a in reader.tags if t == "a"]
    assert links and all(h.startswith("#") and h[1:] in ids for h in links), "a link with no target"


def test_every_equation_is_mathml(page):
    text = page[2]
    derivation = SECTIONS[SECTION](0)
    differing = [s for s in derivation.steps if (c := render.comparison(s, lecture.text())) and not c.matches]
    maths = [a for t, a in read(text).tags if t == "math" and a.get("display") == "block"]
    lines = sum(len(s.statement) if isinstance(s.statement, tuple) and not s.latex_override else 1
                for s in derivation.steps)  # a list of relations: one display per relation
    assert len(maths) == lines + len(differing)
    assert "<merror" not in text and 'class="tex"' not in text


def test_no_raw_tex_or_script(page):
    text = page[2]
    reader = read(text)
    prose = "".join(reader.text)
    assert "$" not in prose and r"\frac" not in prose
    assert not re.findall(r"\\[A-Za-z]+", prose), "a LaTeX command left in the page's text"
    assert not [t for t, _ in reader.tags if t in {"script", "iframe", "object", "embed", "link"}]
    assert not [k for _, a in reader.tags for k in a if k.startswith("on")]
    policy = next(a["content"] for t, a in reader.tags if t == "meta" and a.get("http-equiv"))
    assert "default-src 'none'" in policy


def test_figures_are_embedded_and_the_toc_and_badges_are_there(page):
    _, res, text = page
    reader = read(text)
    derivation = SECTIONS[SECTION](0)
    images = [a for t, a in reader.tags if t == "img"]
    assert len(images) == len(derivation.figures) >= 1
    for a in images:
        assert a["src"].startswith("data:image/png;base64,")
        assert base64.b64decode(a["src"].split(",", 1)[1]).startswith(b"\x89PNG")
    classes = [a.get("class", "") for _, a in reader.tags]
    assert classes.count("toc") == 1
    assert sum(c == "badge passed" for c in classes) == len(derivation.steps) + 1  # and the summary's
    assert sum(c.startswith("badge level-") for c in classes) == len(derivation.steps)
    assert 'id="differences"' in text  # the lecture's differences, listed with links to their steps


def _toy(statement: str, prose: str) -> tuple[list[Derivation], list[Result]]:
    x = sp.Symbol("x")
    step = Step("toy", prose, sp.Eq(x + x, 2 * x), prose, Identity(x + x, 2 * x), latex_override=statement)
    fig = Figure("toy-figure", prose, lambda: None)
    d = Derivation("toy", prose, prose + " with $x^2$ inline", [step], notes=[prose], figures=[fig])
    return [d], [Result("toy", "toy", prose, statement, "symbolic", False, prose, 0.0)]


def test_text_is_escaped_and_a_bad_equation_falls_back_to_code():
    hostile = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    ders, results = _toy(r"\frac{1}{", hostile)
    result = html_page.html(ders, results, source="", images={"toy-figure": b"\x89PNG fake"})
    reader = read(result.text)
    assert reader.errors == [] and reader.stack == []
    assert not [t for t, _ in reader.tags if t == "script"] and "onerror" not in {k for _, a in reader.tags for k in a}
    assert [(f.where, f.what, f.latex) for f in result.fallbacks] == [("toy-toy", "statement", r"\frac{1}{")]
    assert r'<code class="tex">\frac{1}{</code>' in result.text and 'id="fallbacks"' in result.text
    assert result.equations == 1  # the inline $x^2$
    assert 'class="badge failed"' in result.text and "FAILED" in result.text


@pytest.mark.parametrize("latex", [r"\unknowncommand{x}", r"\text{<b>bold</b>}", r"x^"])
def test_what_latex2mathml_would_get_wrong_is_refused(latex):
    with pytest.raises(Exception):  # noqa: B017 - the converter's own errors and ours alike
        html_page.mathml(latex)


def test_every_lecture_equation_converts():
    """All sections' statements and the lecture's differing lines: none needs the LaTeX fallback."""
    ders = [builder(0) for builder in SECTIONS.values()]
    results = [Result(s.id, d.section, s.title, statement_latex(s), "symbolic", True, "", 0.0)
               for d in ders for s in d.steps]
    result = html_page.html(ders, results)
    assert result.fallbacks == []
    assert result.equations >= sum(len(d.steps) for d in ders)


def test_format_option():
    parse = cli.parser().parse_args
    assert parse(["build"]).format is None
    assert parse(["build", "--format", "html", "--format", "md"]).format == ["html", "md"]
    assert build_mod.formats_of(None) == build_mod.formats_of(["all"]) == ("md", "tex", "html")
    assert build_mod.formats_of(["html", "md"]) == ("md", "html")
    with pytest.raises(SystemExit) as exc:
        parse(["build", "--format", "pdf"])
    assert exc.value.code == 2


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _browser(exe: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
             "--enable-logging=stderr", "--v=0"]
    return subprocess.run([exe, *flags, *args], capture_output=True, text=True, timeout=120, check=False)


def test_a_real_browser_draws_the_page(page, tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("no chromium or chromium-browser on PATH (CI installs Debian's chromium)")
    url = (page[0] / "lecture25.html").resolve().as_uri()
    shot = tmp_path / "page.png"
    proc = _browser(exe, tmp_path / "profile-1", f"--screenshot={shot}", "--window-size=1200,2000", url)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000
    dom = _browser(exe, tmp_path / "profile-2", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<math") == page[2].count("<math") > 0
    assert "<merror" not in dom.stdout
    console = [line for line in (proc.stderr + dom.stderr).splitlines() if ":CONSOLE" in line]
    assert console == [], "the page logged to the console (a blocked resource, an error)"
