"""The Beamer slides (``symrnn build --slides``) and the PDF's polish: a frame per step, the lecture's differences and
figures on frames of their own, typeset with latexmk and read back with poppler (pages, text, a screenshot); the
article's contents, its summary linked to the steps, and long equations broken only at top-level operators."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import unicodedata
from pathlib import Path

import pytest
import sympy as sp

from symrnn import cli
from symrnn.core.cache import ProofCache, default_folder
from symrnn.core.derivation import Derivation, Identity, Step
from symrnn.core.verify import Result, statement_latex
from symrnn.documents import build as build_mod
from symrnn.documents import render, slides
from symrnn.lecture25 import SECTIONS
from symrnn.lecture25 import source as lecture

SECTION = "lstm"  # small, with a figure, notes and a difference from the lecture (test_html verifies it too)
_MATRIX = re.compile(r"\\begin\{([pb]?matrix)\}.*?\\end\{\1\}", re.S)


def _poppler(tool: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        pytest.skip(f"{tool} (Debian package poppler-utils) is not on PATH")
    return exe


def _pdf_text(pdf: Path) -> str:
    """The PDF's text: poppler's pdftotext, else pypdf if it is installed."""
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pypdf = pytest.importorskip("pypdf", reason="neither pdftotext (poppler-utils) nor pypdf is installed")
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)


def _pages(pdf: Path) -> int:
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    pypdf = pytest.importorskip("pypdf", reason="neither pdfinfo (poppler-utils) nor pypdf is installed")
    return len(pypdf.PdfReader(pdf).pages)


def _letters(text: str) -> str:
    """Only letters and digits, lower case (ligatures and subscripts read back however the PDF holds them)."""
    return "".join(c for c in unicodedata.normalize("NFKC", text).lower() if c.isalnum())


@pytest.fixture(scope="module")
def built(tmp_path_factory, verified):
    """``build --format tex --slides`` of one section: the article and the slides, their verdicts read back."""
    verified(SECTION)
    out = tmp_path_factory.mktemp("slides")
    res = build_mod.build(out, [SECTION], cache=ProofCache(default_folder()), formats=["tex"], make_slides=True)
    return out, res


@pytest.fixture(scope="module")
def expected():
    """What the slides must hold, counted from the section's derivation (not from the slides)."""
    d = SECTIONS[SECTION](0)
    source = lecture.text()
    differing = [s for s in d.steps if (c := render.comparison(s, source)) is not None and not c.matches]
    frames = 1 + 1 + len(d.steps) + len(differing) + len(d.notes) + len(d.figures)  # title, section, ...
    return d, differing, frames


def _need_latexmk() -> None:
    if shutil.which("latexmk") is None:
        pytest.skip("latexmk is not on PATH: no PDF is typeset")


def test_the_slides_have_a_frame_per_step(built, expected):
    out, res = built
    d, differing, frames = expected
    assert res.ok and not res.pdf_failed, res.messages
    text = (out / "lecture25-slides.tex").read_text(encoding="utf-8")
    assert text.count(slides.STEP + "\n" + r"\begin{frame}") == len(d.steps)
    assert text.count(slides.DIFFERENCE + "\n" + r"\begin{frame}") == len(differing) >= 1
    assert text.count(slides.FIGURE + "\n" + r"\begin{frame}") == len(d.figures) >= 1
    assert text.count(r"\begin{frame}") == text.count(r"\end{frame}") == frames
    for n, step in enumerate(d.steps, start=1):
        assert f"{{{n}. {render.tex_text(step.title)}}}" in text
        assert render.breakable(statement_latex(step), slides.SLIDE_WIDTH) in text \
            or statement_latex(step) in text
    assert "Hasegawa-Johnson" in text and "CC-BY 4.0" in text and "Lecture 25: Recurrent Neural Networks" in text


def test_the_slides_compile_with_one_page_per_frame(built, expected):
    _need_latexmk()
    out, res = built
    d, _, frames = expected
    pdf = out / "lecture25-slides.pdf"
    assert pdf in res.files and pdf.read_bytes().startswith(b"%PDF")
    assert _pages(pdf) == frames
    text = _letters(_pdf_text(pdf))
    for step in d.steps:
        assert _letters(re.sub(r"\\[A-Za-z]+", "", step.title)) in text, step.title  # maths: its letters
    assert _letters("Hasegawa-Johnson") in text and _letters("CC-BY 4.0") in text
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "temporary files left behind"


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_a_slide_as_a_picture(built, tmp_path):
    _need_latexmk()
    _poppler("pdftoppm")
    out, _ = built
    shot = slides.screenshot(out / "lecture25-slides.pdf", 3, tmp_path / "slide.png", dpi=60)
    width, height = _png_size(shot)
    assert abs(width / height - 16 / 9) < 0.05  # a 16:9 frame, 160 mm wide: 6.3 in at 60 dpi
    assert 300 <= width <= 460 and 170 <= height <= 260
    assert shot.stat().st_size > 5000  # drawn, not blank


def test_the_article_has_contents_and_links_from_the_summary(built, expected):
    out, _ = built
    d, _, _ = expected
    tex = (out / "lecture25.tex").read_text(encoding="utf-8")
    assert r"\tableofcontents" in tex and r"{hyperref}" in tex
    for step in d.steps:
        label = render.step_label(SECTION, step.id)
        assert tex.count(rf"\label{{{label}}}") == 1
        assert rf"\hyperref[{label}]" in tex
    if shutil.which("latexmk") is None:
        return
    _poppler("pdftotext")
    text = _pdf_text(out / "lecture25.pdf")
    assert re.search(r"^\s*Contents\s*$", text, re.M)
    assert "Summary of checks" in text


def _long_sum_with_a_matrix() -> tuple[list[Derivation], list[Result]]:
    """A relation far wider than a line: a sum of many terms, one of them a wide matrix times a vector."""
    xs = sp.symbols("x_1:13")
    wide = sp.Matrix(1, 12, [sp.Symbol(f"a_{{{i}}}") ** 2 + 1 for i in range(12)])
    vec = sp.Matrix(12, 1, list(xs))
    rhs = sp.MatAdd(*[sp.Symbol(f"c_{{{i}}}") * sp.Matrix([[x ** 3]]) for i, x in enumerate(xs)],
                    sp.MatMul(wide, vec), evaluate=False)
    step = Step("long", "A long sum", sp.Eq(sp.MatrixSymbol("y", 1, 1), rhs, evaluate=False), "made up",
                Identity(sp.Integer(0), sp.Integer(0)))
    result = Result("long", "toy", step.title, statement_latex(step), "symbolic", True, "toy", 0.0)
    return [Derivation("toy", "A toy", "", [step])], [result]


def _balanced(piece: str) -> bool:
    tokens = re.findall(r"\\[A-Za-z]+|\\.|.", piece, re.S)
    depth = 0
    for tok in tokens:
        depth += (tok in ("{", r"\left", r"\begin")) - (tok in ("}", r"\right", r"\end"))
        if depth < 0:
            return False
    return depth == 0


def test_long_equations_break_only_at_top_level_operators(tmp_path):
    ders, results = _long_sum_with_a_matrix()
    math = statement_latex(ders[0].steps[0])
    matrices = [m.group() for m in _MATRIX.finditer(math)]
    assert matrices and render.width(math) > 2 * render.TEX_WIDTH
    tex = render.tex(ders, results, source="")
    shown = tex.split(r"\fitmath{\linewidth}{0.9\textheight}{", 1)[1].split("\n", 1)[0][:-1]
    assert shown.startswith(r"\begin{aligned}") and shown.endswith(r"\end{aligned}")
    for matrix in matrices:
        assert matrix in shown  # every matrix whole, none broken
    rows = shown.removeprefix(r"\begin{aligned}").removesuffix(r"\end{aligned}").split(r" \\ ")
    assert len(rows) >= 2 and all(_balanced(r) for r in rows)
    assert all(render.width(r) <= render.TEX_WIDTH or _MATRIX.search(r) for r in rows)
    joined = "".join(r.replace("&", "", 1).replace(r"\quad {}", "", 1) for r in rows)  # the alignment, first
    assert joined.replace(" ", "") == math.replace(" ", "")  # the same equation, only cut
    if shutil.which("latexmk"):
        (tmp_path / "toy.tex").write_text(tex, encoding="utf-8")
        proc = subprocess.run(["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "toy.tex"],
                              cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300,
                              check=False)
        assert proc.returncode == 0, proc.stdout[-2000:]
        assert "Overfull \\hbox" not in (tmp_path / "toy.log").read_text(errors="replace")


def test_a_matrix_alone_is_never_cut():
    wide = sp.Matrix(2, 40, lambda i, j: sp.Symbol(f"w_{{{i},{j}}}"))
    statement = sp.Eq(sp.MatrixSymbol("Y", 2, 40), wide, evaluate=False)
    math = statement_latex(Step("wide", "A wide matrix", statement, "made up", Identity(sp.Integer(0), sp.Integer(0))))
    assert _MATRIX.fullmatch(math.split(" = ", 1)[1])
    assert render.breakable(math, 20) == math  # no top-level operator inside: left whole (the display scales it)
    lines = render.breakable(f"{math}, {math}", 20)
    assert lines.count(r"\begin{bmatrix}") == 2 and lines.startswith(r"\begin{gathered}")


def test_build_option_slides_writes_the_beamer_source(tmp_path, verified, capsys):
    verified(SECTION)
    assert cli.parser().parse_args(["build", "--slides"]).slides is True
    assert cli.parser().parse_args(["build"]).slides is False
    assert cli.main(["build", "--section", SECTION, "--slides", "--no-pdf", "--format", "md", "--out",
                     str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "lecture25-slides.tex").read_text(encoding="utf-8").startswith(r"\documentclass")
    assert not (tmp_path / "o" / "lecture25-slides.pdf").exists()  # --no-pdf
    assert "lecture25-slides.tex" in capsys.readouterr().out
