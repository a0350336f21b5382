"""Fuzzing the audit, on a fixed budget: about 1,200 small documents with fixed seeds, in about a minute.

Cases are documents of the lecture's own math spans mutated and joined (tokens deleted, duplicated, swapped,
hostile fragments inserted, numbers changed, spans on several lines or in one paragraph, half the time after the
lecture's model definitions: :mod:`symrnn.audit.fuzzing`), and token soups and mutations drawn by hypothesis.
Each asserts: no exception escapes :func:`symrnn.audit.audit_text`, no check fails unexpectedly (a finding of check
``internal``), and the case ends within a loose bound (10 s; the budget stops one span's checks at 5 s).
``benchmarks/fuzz_audit.py N`` is the long run.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symrnn.audit.fuzzing import cases, document, prelude, run_case
from symrnn.core.budget import DEFAULT
from symrnn.latex.parse.fuzzing import HOSTILE, lecture_spans, mutate, tokens

CASE_SECONDS = 10.0  # a loose bound for a shared machine
BUDGET = DEFAULT.override(seconds=5)
SPANS = lecture_spans()
MODEL = prelude(SPANS)
PIECES = sorted({tok for span in SPANS for tok in tokens(span)}) + list(HOSTILE)


def check(text: str) -> tuple[str, ...]:
    outcome = run_case(text, BUDGET)
    assert outcome.kind != "crash", f"{outcome.detail} <- {text[:300]!r}"
    assert outcome.seconds < CASE_SECONDS, f"{outcome.seconds:.1f} s <- {text[:300]!r}"
    return outcome.levels


def test_the_model_prelude_is_the_lectures_and_audits_cleanly():
    assert len(MODEL) == 5
    levels = check("\n".join(f"$${m}$$" for m in MODEL))
    assert levels and "error" not in levels


def test_mutated_lecture_documents_never_raise_nor_hang():
    start = time.perf_counter()
    seen: set[str] = set()
    for text in cases(400, seed=2026):
        seen.update(check(text))
    assert seen == {"ok", "unread", "warning", "error"}  # the mutations reach every level
    assert time.perf_counter() - start < 300  # about 15 s on an idle 2-core machine; a hang guard only


@settings(max_examples=500, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=25), min_size=1, max_size=3), st.booleans())
def test_token_soup_documents_never_raise(spans, dollars):
    fence = "$$" if dollars else "$"
    check("\n".join(fence + "".join(parts) + fence for parts in spans))


@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.sampled_from(SPANS), st.text(alphabet="$\n x", max_size=6))
def test_hypothesis_driven_documents_never_raise(seed, span, joint):
    rng = random.Random(seed)
    check(document(rng, SPANS, MODEL) + joint + "$" + mutate(rng, span, SPANS) + "$")


CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"


def test_mutated_corpus_documents_never_raise_nor_hang():
    """The same mutations on other authors' spans (the openly licensed corpus: bold vectors, aligned rows, ...)."""
    from symrnn.latex.spans import find_spans

    extra = [s.text for f in sorted(CORPUS.glob("*.md")) for s in find_spans(f.read_text(encoding="utf-8"))]
    assert len(extra) > 300
    for text in cases(150, seed=11, extra=extra):
        check(text)


def test_mutated_cell_documents_never_raise_nor_hang():
    """Whole notes that define a cell and state its BPTT (tests/data/audit_cells), a few spans mutated, renumbered,
    dropped or repeated: the audit's cell model and claim checks on nearly-right input."""
    from symrnn.audit.fuzzing import cell_cases

    folder = CORPUS.parent / "audit_cells"
    documents = [f.read_text(encoding="utf-8") for f in sorted(folder.glob("*.md")) if f.name != "SOURCES.md"]
    assert len(documents) >= 10
    for text in cell_cases(30, documents, seed=3):
        check(text)
