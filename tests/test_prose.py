"""Prose maths is typeset (issue 16): every symbol, index and formula in the lecture's prose, reasons, check details
and notes is a ``$...$`` span, so the typeset PDF shows no raw ``_``, ``^`` or ``\\`` and every inline span becomes
MathML; code is a backquoted span, set as code in every format."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib

import pytest

from symrnn.core.derivation import markdown_prose
from symrnn.documents import build, render
from symrnn.documents import html as html_page
from symrnn.lecture25 import SECTIONS

RAW = re.compile(r"[_^\\]")


def _png() -> bytes:
    """A 1 x 1 white PNG: the figures' pixels do not matter to the text."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff")) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def lecture(verified):
    """Every section's derivation and its results (verdicts from the run's proof cache)."""
    derivations = [SECTIONS[name](0) for name in SECTIONS]
    results = [r for name in SECTIONS for r in verified(name)]
    return derivations, results


def test_code_markup_in_every_format():
    text = "run `symrnn build` on $h_{j,t}$"
    assert render.tex_text(text) == r"run \texttt{symrnn build} on $h_{j,t}$"
    assert markdown_prose(text) == text
    maths = html_page._Maths()
    out = maths.prose(text, "here")
    assert "<code>symrnn build</code>" in out and "<math" in out and not maths.fallbacks


def test_prose_maths_becomes_mathml(lecture):
    derivations, results = lecture
    page = html_page.html(derivations, results)
    assert page.fallbacks == []


@pytest.mark.skipif(shutil.which("latexmk") is None or shutil.which("pdftotext") is None,
                    reason="latexmk and pdftotext (TeX Live, poppler-utils) are needed")
def test_the_pdf_shows_no_raw_tex(lecture, tmp_path):
    derivations, results = lecture
    source = render.tex(derivations, results)
    images = {f"{fig.name}.png": _png() for d in derivations for fig in d.figures}
    (tmp_path / "lecture25.pdf").write_bytes(build.typeset(source, images, tmp_path, "lecture25"))
    text = subprocess.run(["pdftotext", str(tmp_path / "lecture25.pdf"), "-"], capture_output=True, text=True,
                          check=True, timeout=120).stdout
    raw = [line for line in text.splitlines() if RAW.search(line)]
    assert raw == [], f"{len(raw)} lines with raw TeX, the first: {raw[:10]}"
