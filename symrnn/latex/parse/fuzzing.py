"""Hostile inputs for the reader: the lecture's math spans mutated, for the fuzz tests and the long fuzz benchmark.

A case is a real span (every ``$...$``/``$$...$$`` of ``symrnn/lecture25/lecture25.md``) with one to three
mutations: tokens deleted, duplicated, swapped or replaced (by balanced hostile pieces such as ``{10^{10}}``, so that
many cases still reach the grammar), hostile fragments inserted (``^{10^{10}}``, deep nesting,
long digit runs, unknown commands, unbalanced braces, Unicode digits), spans spliced.  :func:`run_case` reads one and
says how it ended: read, refused (a :class:`ParseError` subclass) or crashed (anything else), and how long it took.
Not used by the parser itself.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

from symrnn.latex.parse.errors import ParseError
from symrnn.latex.parse.parser import parse

#: Fragments a hostile or careless writer could put anywhere.
HOSTILE = (
    "^{10^{10}}", "^{9^{9^{9}}}", "^{2^{2^{2^{2^{2}}}}}", "^4656733", "99^", "^{-10^{10}}", "^{\\frac{1}{10^{5}}}",
    "9" * 250, "9" * 5000, "0." + "1" * 199, "{" * 50, "}" * 3, "(" * 45, ")", "\\left(" * 45, "\\frac{" * 30,
    "\\frac{x}{0}", "\\frac{1}{0}", "/0", "0^{-1}", "1^{\\infty}", "\\infty", "\\foo", "\\input{/etc/passwd}",
    "\\operatorname{__import__('os')}", "\\text{'); import os; ('}", "\u00b2", "\u0663", "\u2212", "$", "\\",
    "\\\\", "&", "^x" * 60, "\\oslash \\vec{h}_t" * 50, "-" * 300, "\\begin{bmatrix}", "\\end{bmatrix}",
    "\\begin{cases}", "\\begin{array}{ll}", "\\end{array}", "_{" + "(" * 20 + "t" + ")" * 20 + "}",
    "_{" + "(a+b)" * 30 + "}", "_{" + "1-" * 200 + "1}", "\\sum_{t=1}^{10^{10}}", "\\prod_{t=1}^{T}", "O(", ";",
    "\\rightarrow", "e^{10^{10}}", "U^{10^{10}}", "U^{\\circ 10^{10}}",
    "\\begin{bmatrix}1&1\\\\1&0\\end{bmatrix}^{10^{9}}", "\\exp", "\\ln", "P(", "|", ",", "\\dots", "\\vdots",
    "x" * 3000,
)

#: Balanced replacements for one token (a number, a letter, a script): the mutation still parses often.
SUBSTITUTES = (
    "{10^{10}}", "{9^{9^{9}}}", "{2^{-10^{10}}}", "{x^{10^{10}}}", "{(2x)^{10^{10}}}", "\\frac{x}{0}", "(1-1)",
    "0", "{0^{-1}}", "{1^{\\infty}}", "9" * 201, "9" * 200, "{" + "(" * 38 + "t-1" + ")" * 38 + "}",
    "{" * 40 + "x" + "}" * 40, "{" * 41 + "x" + "}" * 41, "^".join("x" * 42),
    "\\vec{h}_t", "\\vec{x}_t", "U", "W", "f_t", "\\infty", "{t-1}", "{\\frac{1}{10}}", "\\sum_{t=1}^{10^{10}} t",
    "\\prod_{t=1}^{10^{6}} t", "\\begin{bmatrix}1&1\\\\1&0\\end{bmatrix}^{10^{9}}", "{10 \\cdot 10^{9}}",
)

_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[0-9]+|\s+|.", re.S)


def lecture_spans() -> list[str]:
    """The lecture's distinct math spans, in a fixed order."""
    from symrnn.lecture25 import source  # the corpus only; the parser does not depend on the lecture

    return sorted({eq.text for eq in source.equations(source.text())})


def tokens(text: str) -> list[str]:
    """A rough LaTeX split (commands, digit runs, spaces, single characters), enough to mutate by."""
    return _TOKEN.findall(text)


def mutate(rng: random.Random, span: str, corpus: list[str]) -> str:
    """``span`` with one to three random mutations, drawing replacement material from ``corpus``."""
    toks = tokens(span) or [""]
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(10)
        at = rng.randrange(len(toks) + 1)
        if kind == 0 and toks:  # delete a run
            del toks[at:at + rng.randint(1, 4)]
        elif kind == 1 and toks:  # duplicate a run, possibly many times
            run = toks[at:at + rng.randint(1, 6)]
            toks[at:at] = run * rng.choice((1, 2, 10, 100))
        elif kind == 2 and len(toks) > 1:  # swap two tokens
            a, b = rng.randrange(len(toks)), rng.randrange(len(toks))
            toks[a], toks[b] = toks[b], toks[a]
        elif kind in (3, 4):  # a hostile fragment
            toks.insert(at, rng.choice(HOSTILE))
        elif kind == 5:  # a token from another span
            toks.insert(at, rng.choice(tokens(rng.choice(corpus)) or ["x"]))
        elif kind == 6:  # deep nesting around a piece
            depth, bracket = rng.choice((5, 39, 41, 200)), rng.choice(("{}", "()", ("\\left(", "\\right)")))
            toks[at:at] = [bracket[0] * depth if len(bracket[0]) == 1 else bracket[0] * depth]
            toks.append(bracket[1] * depth if len(bracket[1]) == 1 else bracket[1] * depth)
        elif kind == 7:  # a long digit run in place of a number
            digits = [n for n, t_ in enumerate(toks) if t_.isdigit()]
            toks[rng.choice(digits) if digits else at:][:1] = ["9" * rng.choice((199, 200, 201, 4301))]
        elif kind == 8 and toks:  # one token replaced by a balanced substitute
            spots = [n for n, t_ in enumerate(toks) if not t_.isspace() and t_ not in "{}()[]"] or [0]
            toks[rng.choice(spots)] = rng.choice(SUBSTITUTES)
        else:  # splice another span, or cut this one short
            other = tokens(rng.choice(corpus))
            toks = toks[:at] + other[rng.randrange(len(other) + 1):] if rng.random() < 0.5 else toks[:at]
    return "".join(toks)


def cases(count: int, seed: int = 0) -> Iterator[str]:
    """``count`` inputs: the lecture's spans as they are first, then mutations of them (deterministic per seed)."""
    rng = random.Random(seed)
    corpus = lecture_spans()
    for n in range(count):
        yield corpus[n] if n < len(corpus) else mutate(rng, rng.choice(corpus), corpus)


@dataclass(frozen=True)
class Outcome:
    """How one case ended: ``"read"``, ``"refused"`` (a ParseError) or ``"crash"``; the class; the seconds."""

    kind: str
    name: str
    seconds: float
    detail: str = ""


def run_case(text: str, backend: str | None = "none") -> Outcome:
    """Read ``text`` once and report how it ended; only a non-ParseError exception is a crash."""
    start = time.perf_counter()
    try:
        parse(text, backend=backend)
        kind, name, detail = "read", "", ""
    except ParseError as exc:
        kind, name, detail = "refused", type(exc).__name__, ""
        if f"at position {exc.pos}" not in str(exc):
            kind, detail = "crash", f"no position in {exc}"
    except Exception as exc:  # noqa: BLE001 - a crash is what the fuzzer is looking for
        kind, name, detail = "crash", type(exc).__name__, str(exc)[:200]
    return Outcome(kind, name, time.perf_counter() - start, detail)
