"""The audit is not tied to the notation its corpus is written in: each document of tests/data/audit_cells/ rewritten
in another notation (``\\vec`` as ``\\mathbf``, ``^\\top`` as ``^T``, ``\\frac{\\partial L}{\\partial h_t}`` as
``\\nabla_{h_t} L`` or ``\\dfrac``, ``\\vec{h}_t`` as Goodfellow et al.'s ``\\vec{h}^{(t)}``, ``\\odot`` as ``*``,
``L`` as ``\\mathcal{L}``) keeps its verdicts: no error in the clean twin, and exactly the planted errors (SOURCES.md)
in the planted one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_audit_cells import DATA, planted_in

from symrnn import audit

_TIME = r"(?:(t)(?![A-Za-z{])|\{(t(?:\s*[-+]\s*1)?)\})"


def bold(s: str) -> str:
    return re.sub(r"\\vec\{([a-zA-Z])\}", r"\\mathbf{\1}", s)


def caret_t(s: str) -> str:
    return s.replace(r"^\top", "^T")


def nabla(s: str) -> str:
    return re.sub(r"\\frac\{\\partial (L)\}\{\\partial ([^{}]+?(?:\{[^{}]*\})?)\}", r"\\nabla_{\2} \1", s)


def dfrac(s: str) -> str:
    return s.replace(r"\frac{\partial", r"\dfrac{\partial")


def star(s: str) -> str:
    return s.replace(r"\odot", "*")


def mathcal(s: str) -> str:
    return re.sub(r"(?<![A-Za-z\\])L(?![A-Za-z_])", r"\\mathcal{L}", s)


def superscript(s: str) -> str:
    return re.sub(r"(\\vec\{[a-z]\}|\\mathbf\{[a-z]\}|\\boldsymbol\{[a-z]\})_" + _TIME,
                  lambda m: m.group(1) + "^{(" + (m.group(2) or m.group(3)) + ")}", s)


CASES = [("elman_plain", nabla), ("elman_plain", caret_t), ("gru_vec", superscript), ("gru_vec", bold),
         ("elman_boldsymbol", superscript), ("output_layer_bf", nabla), ("lstm_plain", dfrac), ("gru_vec", star),
         ("lstm_plain", mathcal)]


@pytest.mark.parametrize("twin, rewrite", CASES, ids=[f"{t}-{f.__name__}" for t, f in CASES])
def test_a_rewritten_document_keeps_its_verdicts(twin, rewrite):
    clean, dirty = ((DATA / f"{twin}{suffix}.md").read_text(encoding="utf-8") for suffix in ("", "_planted"))
    assert rewrite(clean) != clean  # the rewrite applies to this document
    assert [f for f in audit.audit_text(rewrite(clean)) if f.level == "error"] == []
    want = {line for name, line, _ in planted_in(DATA) if name == f"{twin}_planted.md"}
    assert {f.line for f in audit.audit_text(rewrite(dirty)) if f.level == "error"} == want


LIPTON_DOC = (Path(__file__).parent / "data" / "audit_notation" / "lipton.md").read_text(encoding="utf-8")


def test_lipton_labels_above_the_weights_in_an_audited_document():
    """Lipton et al.'s ``W^{hx}``: the cell reads (its line is a definition, with no doubt about sizes), the
    recursion and dL/dW^{hx} hold (hand derivation), and dL/dW^{hh} with h^{(t)} in place of h^{(t-1)} is the one
    error, corrected to h_{t-1}."""
    from symrnn import audit

    findings = audit.audit_text(LIPTON_DOC)
    by_line = {}
    for f in findings:
        by_line.setdefault(f.line, []).append(f)
    assert [f.level for f in by_line[3]] == ["ok"] and "defines h_t" in by_line[3][0].message
    assert [f.level for f in by_line[7]] == ["ok"] and [f.level for f in by_line[9]] == ["ok"]
    [wrong] = by_line[11]
    assert wrong.level == "error" and "h_{t - 1}" in wrong.suggestion
