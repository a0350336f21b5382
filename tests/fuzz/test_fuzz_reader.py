"""Fuzzing the reader, on a fixed budget: about 2,000 cases with fixed seeds, well under a minute.

Cases are the lecture's own math spans mutated (tokens deleted, duplicated, swapped, hostile fragments inserted,
deep nesting, long digit runs, unknown commands, unbalanced braces: :mod:`symrnn.latex.parse.fuzzing`), and token
soups drawn by hypothesis.  Each asserts: only ParseError subclasses escape (naming the position), and each case
ends within its budget (1 s deadline; flagged here only past 5 s, so that a loaded machine does not fail it).
``benchmarks/fuzz_reader.py N`` is the long run.
"""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symrnn.latex.parse import available_backends
from symrnn.latex.parse.fuzzing import HOSTILE, cases, lecture_spans, mutate, run_case, tokens

CASE_SECONDS = 5.0  # the parse's deadline is 1 s; this is a loose bound for a shared machine
SPANS = lecture_spans()
PIECES = sorted({tok for span in SPANS for tok in tokens(span)}) + list(HOSTILE)


def check(text: str, backend: str | None = "none") -> str:
    outcome = run_case(text, backend)
    assert outcome.kind != "crash", f"{outcome.name}: {outcome.detail} <- {text[:200]!r}"
    assert outcome.seconds < CASE_SECONDS, f"{outcome.seconds:.1f} s <- {text[:200]!r}"
    return outcome.kind


def test_every_lecture_span_reads_or_is_refused_by_name():
    kinds = [check(text) for text in SPANS]
    assert kinds.count("read") == 73


def test_mutated_lecture_spans_raise_only_parse_errors():
    start = time.perf_counter()
    kinds = [check(text) for text in cases(1_600, seed=2026)]
    assert kinds.count("read") > 100 and kinds.count("refused") > 1_000  # the mutations reach the grammar
    assert time.perf_counter() - start < 60


@pytest.mark.parametrize("backend", available_backends())
def test_mutated_lecture_spans_with_a_backend_as_second_reader(backend):
    for text in cases(100, seed=11):
        check(text, backend)


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=40))
def test_token_soups_raise_only_parse_errors(parts):
    check("".join(parts))


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SPANS), st.integers(0, 2**32))
def test_hypothesis_driven_mutations_raise_only_parse_errors(span, seed):
    check(mutate(random.Random(seed), span, SPANS))
