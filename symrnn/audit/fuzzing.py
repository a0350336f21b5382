"""Hostile documents for the audit: the lecture's math spans mutated and joined, for the fuzz tests and the long
fuzz benchmark.

A case is a small Markdown document: one to four spans of ``symrnn/lecture25/lecture25.md`` (often with a model
prelude of the lecture's own definitions, so that the numeric checks run), each mutated by
:func:`symrnn.latex.parse.fuzzing.mutate` (tokens deleted, duplicated, swapped, hostile fragments, numbers changed)
or by changing its numbers, and joined on separate lines or in one paragraph.  :func:`run_case` audits one within a
budget and says how it ended.  Not used by the audit itself.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from symrnn.audit.report import audit_text
from symrnn.core.budget import Budget
from symrnn.latex.parse.fuzzing import lecture_spans, mutate

_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
#: The lecture's own model, in the order a document defines it (spans chosen by what they contain).
_PRELUDE_KEYS = (r"\vec{h}_t = g(U\vec{h}_{t-1} + W\vec{x}_t) \approx", r"\operatorname{softmax}_1",
                 r"\qquad U = \frac", r"\qquad W = \frac", r"\vec{x}_1 =")


def prelude(spans: list[str]) -> list[str]:
    """The lecture's spans that define a model (one per key, the shortest), so worked steps get recomputed."""
    out = []
    for key in _PRELUDE_KEYS:
        hits = sorted((s for s in spans if key in s), key=len)
        if hits:
            out.append(hits[0])
    return out


def renumber(rng: random.Random, span: str) -> str:
    """``span`` with some of its numbers changed (digits, decimals, huge or negative values)."""
    def change(m: re.Match) -> str:
        if rng.random() < 0.6:
            return m.group(0)
        return rng.choice((str(rng.randint(0, 9)), f"0.{rng.randint(0, 99):02d}", "9" * rng.choice((20, 200)),
                           "-" + m.group(0), m.group(0) + "0", "0.5" * rng.randint(1, 3), "100000000"))
    return _NUMBER.sub(change, span)


def document(rng: random.Random, corpus: list[str], model: list[str]) -> str:
    """One case: up to four mutated spans, with the model's definitions before them half the time."""
    spans = []
    for _ in range(rng.randint(1, 4)):
        span = rng.choice(corpus)
        spans.append(renumber(rng, span) if rng.random() < 0.3 else mutate(rng, span, corpus))
    head = [m if rng.random() < 0.8 else mutate(rng, m, corpus) for m in model] if rng.random() < 0.5 else []
    fences = [rng.choice(("$", "$$")) for _ in head + spans]
    parts = [f"{f}{s}{f}" for f, s in zip(fences, head + spans, strict=True)]
    return ("\n" if rng.random() < 0.7 else " and ").join(parts) + "\n"


def cases(count: int, seed: int = 0, extra: Sequence[str] = ()) -> Iterator[str]:
    """``count`` documents, deterministic per seed, from the lecture's spans and the ``extra`` spans (another
    author's notes, say)."""
    rng = random.Random(seed)
    corpus = lecture_spans() + [s for s in extra if s.strip()]
    model = prelude(corpus)
    for _ in range(count):
        yield document(rng, corpus, model)


def cell_cases(count: int, documents: Sequence[str], seed: int = 0) -> Iterator[str]:
    """``count`` documents, each one of ``documents`` (notes that define a cell and state its BPTT) with one to
    three of its math spans mutated, renumbered, dropped or repeated: the audit's cell model and claim checks on
    nearly-right input."""
    from symrnn.latex.spans import find_spans

    rng = random.Random(seed)
    spans = [[s.text for s in find_spans(d)] for d in documents]
    pool = [s for group in spans for s in group]
    for _ in range(count):
        k = rng.randrange(len(documents))
        text, found = documents[k], spans[k]
        for span in rng.sample(found, min(len(found), rng.randint(1, 3))):
            roll = rng.random()
            new = renumber(rng, span) if roll < 0.25 else "" if roll < 0.35 else span + " " + span if roll < 0.4 \
                else mutate(rng, span, pool)
            text = text.replace(span, new, 1)
        yield text


@dataclass(frozen=True)
class Outcome:
    """How one audit ended: ``"audited"`` or ``"crash"``; the findings' levels; the seconds; a crash's text."""

    kind: str
    levels: tuple[str, ...]
    seconds: float
    detail: str = ""


def run_case(text: str, budget: Budget) -> Outcome:
    """Audit ``text`` once; any exception is a crash."""
    start = time.perf_counter()
    try:
        findings = audit_text(text, budget)
        kind, levels, detail = "audited", tuple(f.level for f in findings), ""
        internal = [f.message for f in findings if f.check == "internal"]
        if internal:
            kind, detail = "crash", internal[0]
    except Exception as exc:  # noqa: BLE001 - a crash is what the fuzzer is looking for
        kind, levels, detail = "crash", (), f"{type(exc).__name__}: {str(exc)[:200]}"
    return Outcome(kind, levels, time.perf_counter() - start, detail)
