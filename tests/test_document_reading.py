"""``symrnn.read``: every span read or kept with its reason, the notation inferred from what was read."""

from __future__ import annotations

import re
import time

import pytest
import sympy as sp

import symrnn
from symrnn import notation as nt
from symrnn.core.budget import Budget, SizeLimit
from symrnn.lecture25 import source


def test_the_lecture_reads_except_its_three_malformed_spans():
    text = source.text()
    doc = symrnn.read(text)
    dollars = re.findall(r"\$\$.+?\$\$|\$[^$\n]+?\$", text, flags=re.S)  # counted independently of the reader
    assert len(doc.spans) == len(dollars)
    assert [s.line for s in doc.unread] == [36, 155, 158]  # a \neq with no right side, two ragged matrices
    assert all(s.reason and s.position is not None and s.expr is None for s in doc.unread)
    assert {"h", "x"} <= doc.notation.vectors and {"U", "W"} <= doc.notation.matrices
    assert "g" in doc.notation.functions and not doc.warnings


def test_the_notation_is_what_the_spans_use():
    doc = symrnn.read("Let $\\vec{h}_t = g(U\\vec{h}_{t-1} + W\\vec{x}_t)$ where $\\eta = 0.1$.\n\n"
                      "$$\\vec{y}_t = \\operatorname{softmax}(\\vec{h}_t)$$")
    n = doc.notation
    assert n.vectors == {"h", "x", "y"}
    assert n.matrices == {"U", "W"}
    assert n.functions == {"g", "softmax"} and "eta" in n.scalars and "h" not in n.scalars
    assert n.shapes["h"] == (nt.N, 1)
    assert [s.line for s in doc.spans] == [1, 1, 3]
    assert isinstance(doc.spans[1].expr, sp.Eq) and doc.spans[1].expr.rhs == nt.Rounded(sp.Rational(1, 10), 1)


def test_a_span_that_cannot_be_read_is_kept_with_its_reason_and_position():
    doc = symrnn.read("$a + b$ then $x = \\frobnicate{y}$ and $1 +$")
    assert [s.read for s in doc.spans] == [True, False, False]
    bad = doc.spans[1]
    assert "frobnicate" in bad.reason and bad.text[bad.position:].startswith("\\frobnicate")
    assert doc.exprs == [sp.Symbol("a") + sp.Symbol("b")]


def test_two_vector_styles_in_one_document_are_named():
    doc = symrnn.read("$\\vec{h}_t = W\\vec{x}_t$\n\n$\\boldsymbol{c}_t = 2$")
    [warning] = doc.warnings
    assert "2 styles" in warning and "\\vec first on line 1" in warning and "\\boldsymbol first on line 3" in warning


def test_size_caps_come_first_and_hostile_spans_end_quickly():
    with pytest.raises(SizeLimit, match="math spans"):
        symrnn.read("$x$ " * 11, Budget(max_spans=10))
    with pytest.raises(SizeLimit, match="bytes"):
        symrnn.read("$x$" * 100, Budget(max_bytes=50))
    start = time.perf_counter()
    doc = symrnn.read("$9^{9^{9^{9}}}$ $" + "{" * 5000 + "$ $x^x^x^x^x$")
    assert time.perf_counter() - start < 10  # a hang guard; each span has the parser's 1 s limit
    assert not doc.spans[0].read and not doc.spans[1].read


def test_declarations_give_kinds_and_shapes():
    h, d = sp.symbols("h d")
    doc = symrnn.read("Let $\\vec{x}_t \\in \\mathbb{R}^d$ and\n$$W \\in \\mathbb{R}^{h \\times d}, \\quad "
                      "\\vec{h}_t \\in \\mathbb{R}^{h}.$$\n$\\eta \\in \\mathbb{R}$ and $\\vec{h}_t = W\\vec{x}_t$")
    assert all(s.read for s in doc.spans)
    n = doc.notation
    assert n.shapes["x"] == (d, 1) and n.shapes["h"] == (h, 1) and n.shapes["W"] == (h, d)
    assert "eta" in n.scalars and n.vectors == {"x", "h"} and n.matrices == {"W"}
    assert len(doc.spans[1].expr) == 2  # two declarations in one display
    bad = symrnn.read("$W \\in \\mathbb{R}^{h \\times d \\times e}$")
    assert "more than two sizes" in bad.spans[0].reason


def test_several_names_share_one_declared_shape_and_a_derivative_may_be_declared():
    d, h = sp.symbols("d h")
    doc = symrnn.read("$W_{a}, W_{b} \\in \\mathbb{R}^{d \\times h}$ and "
                      "$\\frac{\\partial L}{\\partial \\vec{h}_t} \\in \\mathbb{R}^h$")
    first, second = (s.expr for s in doc.spans)
    assert [x.shape for x in first] == [(d, h), (d, h)] and len({x.name for x in first}) == 2
    assert second.shape == (h, 1) and second.name == ""  # an expression, not a name: no notation entry
    assert {x.name for x in first} <= doc.notation.matrices
