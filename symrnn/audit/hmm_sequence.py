"""What an HMM document names and shows: its state names and vocabulary in prose, its observation sequence
(one-hot vectors, ``O = (3, 1, 3)``, ``o_1 = 3``), and the quantities its worked lines show
(``\\alpha_2(1)``, ``\\delta_2(\\text{Hot})``, ``h_{j,t}``, ``\\vec{\\alpha}_2``) with their values."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import sympy as sp

from symrnn import notation as nt
from symrnn.audit.reading import Span, relations, split_top

if TYPE_CHECKING:
    from symrnn.audit.hmm_model import HMMDoc

_ITEM = r"(?:\$?\\text\{[^{}]+\}\$?|[A-Za-z][\w-]*|\d+)"
_LIST = rf"({_ITEM}(?:\s*(?:,|and|or|,\s*and)\s*{_ITEM})+)"
_STATES = re.compile(r"\b(?:hidden\s+states|states|tags|weather\s+states)\b[^.:\n]{0,40}?(?::|\bare\b)\s*" + _LIST)
_VOCAB = re.compile(r"\b(?:vocabulary|observation\s+symbols|symbols|observations|words|outputs)\b[^.:\n]{0,40}?"
                    r"(?::|\bare\b|\bis\b)\s*" + _LIST)
MAX_NAME = 200  #: longer left sides are not read as one quantity
_SET = re.compile(r"\$\s*([SVQ])\s*=\s*\\\{([^$]*?)\\\}\s*\$")
_FUNC = re.compile(r"^(\\[A-Za-z]+|[A-Za-z])\s*_\s*(\{[^{}]*\}|\w)\s*(?:\\left)?[(\[]\s*(.*?)\s*(?:\\right)?[)\]]$")
_INDEX = re.compile(r"^(\\[A-Za-z]+|[A-Za-z])\s*_\s*\{\s*([^,{}]+?)\s*,\s*([^,{}]+?)\s*\}$")
_VECTOR = re.compile(r"^\\(?:vec|mathbf|boldsymbol|bm)\s*\{\s*(\\?[A-Za-z]+)\s*\}\s*_\s*(\{[^{}]*\}|\w)$")


def _names(text: str) -> tuple[str, ...]:
    from symrnn.audit.hmm_model import listed
    return listed(text) if not re.fullmatch(r"[\d,\sandor]+", text) else tuple(re.findall(r"\d+", text))


def state_names(prose: str, hmm: HMMDoc) -> tuple[str, ...]:
    """The state names a text lists (``three tags: Noun, Verb, Det``, ``$S = \\{\\text{Hot}, ...\\}$``), when
    there are as many as the model has states."""
    found = [_names(m.group(1)) for m in _STATES.finditer(prose)]
    found += [_names(m.group(2)) for m in _SET.finditer(prose) if m.group(1) in "SQ"]
    return next((f for f in found if len(f) == hmm.canonical["trans"].rows), ())


def vocabulary_from_prose(prose: str) -> tuple[str, ...]:
    """The observation symbols a text lists (``the vocabulary is: walk, shop, clean``, ``$V = \\{...\\}$``)."""
    found = [_names(m.group(2)) for m in _SET.finditer(prose) if m.group(1) == "V"]
    found += [_names(m.group(1)) for m in _VOCAB.finditer(prose)]
    return next((f for f in found if len(f) >= 2), ())


def symbol_index(item, hmm: HMMDoc) -> int | None:
    """The 0-based column of an observation written as a word, a label or a 1-based number."""
    name = item.name if isinstance(item, nt.Text) else str(item)
    if name in hmm.vocabulary:
        k = hmm.vocabulary.index(name)
        return k if k < hmm.canonical["emit"].cols else None
    if isinstance(item, sp.Integer) and 1 <= int(item) <= hmm.canonical["emit"].cols:
        return int(item) - 1
    return None


def observations(spans: list[Span], vectors: dict, hmm: HMMDoc) -> tuple[list[int] | None, int]:
    """The observation sequence (0-based symbols) and its line: one-hot ``\\vec{x}_t``, ``O = (...)``, ``o_t = k``."""
    if "emit" not in hmm.canonical:
        return None, 0
    xs = []
    while ("x", len(xs) + 1) in vectors:
        line, v = vectors[("x", len(xs) + 1)]
        ones = [r for r in range(v.rows) if v[r] != 0]
        xs.append((line, ones[0] if len(ones) == 1 and v[ones[0]] == 1 else None))
    if xs and all(k is not None for _, k in xs):
        return [k for _, k in xs], xs[0][0]
    singles: dict[int, tuple[int, int | None]] = {}
    for span in spans:
        for rel in relations(span.expr) if span.expr is not None else ():
            terms = rel.terms if isinstance(rel, nt.Chain) else (rel.args if isinstance(rel, sp.Eq) else ())
            if len(terms) >= 2 and isinstance(terms[-1], sp.Tuple) and \
                    isinstance(terms[0], sp.MatrixSymbol | sp.Symbol):
                seq = [symbol_index(item, hmm) for item in terms[-1]]
                if seq and all(k is not None for k in seq):
                    return seq, span.line
            if len(terms) == 2 and isinstance(terms[0], sp.Indexed) and str(terms[0].base.label) in ("o", "O") \
                    and terms[0].indices[0].is_Integer:
                singles[int(terms[0].indices[0])] = (span.line, symbol_index(terms[1], hmm))
    seq = [singles[t][1] for t in range(1, len(singles) + 1) if t in singles]
    if seq and len(seq) == len(singles) and all(k is not None for k in seq):
        return seq, singles[1][0]
    return None, 0


def _strip(text: str) -> str:
    return text.strip().strip("{}").replace(" ", "")


def quantity(text: str) -> tuple[str, str, str | None] | None:
    """``(name, time, state)`` of a quantity written ``\\alpha_t(j)``, ``h_{j,t}`` or ``\\vec{\\alpha}_t`` (state
    None), as text; else None."""
    text = text.strip()
    if len(text) > MAX_NAME:
        return None
    m = _VECTOR.match(text)
    if m:
        return m.group(1).lstrip("\\"), _strip(m.group(2)), None
    m = _FUNC.match(text)
    if m:
        return m.group(1).lstrip("\\"), _strip(m.group(2)), m.group(3).strip()
    m = _INDEX.match(text)
    if m:
        return m.group(1).lstrip("\\"), _strip(m.group(3)), m.group(2).strip()
    return None


def state_index(text: str, hmm: HMMDoc) -> int | None:
    """The 0-based state a worked line names: ``1``, ``\\text{Hot}``, ``Hot``, or a unique initial (``H``)."""
    name = re.sub(r"\\(?:text|mathrm|textrm|mathit)\s*\{([^{}]*)\}", r"\1", text).strip().strip("{}")
    if name.isdigit():
        k = int(name)
        return k - 1 if 1 <= k <= hmm.n else None
    lowered = [s.lower() for s in hmm.states]
    if name.lower() in lowered:
        return lowered.index(name.lower())
    starts = [n for n, s in enumerate(lowered) if name and s.startswith(name.lower())]
    return starts[0] if len(starts) == 1 else None


def terms_of(span: Span) -> list:
    """The pieces of a span's chain (a chain, or pieces read after an error)."""
    if isinstance(span.expr, nt.Chain):
        return list(span.expr.terms)
    if isinstance(span.expr, sp.Eq | nt.Approx):
        return list(span.expr.args)
    return [e for _, e in span.pieces] if span.pieces else []


def shown_values(spans: list[Span], hmm: HMMDoc) -> dict[tuple[str, int, int], sp.Expr]:
    """Every value a worked line shows for a quantity at a time and state (a vector's entries one by one)."""
    out: dict[tuple[str, int, int], sp.Expr] = {}
    for span in spans:
        q = quantity(split_top(span.text)[0])
        terms = terms_of(span)
        if q is None or not q[1].isdigit() or len(terms) < 2:
            continue
        name, t_, state = q
        last = terms[-1]
        if state is None and isinstance(last, sp.MatrixBase) and last.cols == 1:
            for j, e in enumerate(last):
                if isinstance(e, nt.Rounded):
                    out[(name, int(t_), j)] = e.value
        elif state is not None and isinstance(last, nt.Rounded):
            j = state_index(state, hmm)
            if j is not None:
                out[(name, int(t_), j)] = last.value
    return out
