"""Grammar: the top level (relations and their layout), relations and chains, and ``P(A, B | C)``.

``=`` keeps both sides, ``\\approx`` and ``\\leftarrow`` are the notation's own relations, a run of ``=``/
``\\approx`` is a :class:`symrnn.notation.Chain`; in a probability ``\\dots`` between variables becomes a span.

The layout authors use is read here, before any relation: a span holds relations separated by commas, by spacing
(``\\quad``, ``\\,``, ``~``, ...) between two relations, or by ``\\text{and}``/``\\text{where}``/``\\text{with}``; a
``\\text{for ...}`` qualifier ends its row and is dropped with the rest of the row; trailing ``.`` ``,`` ``;`` are
dropped; layout environments (``aligned``, ``align``, ``gather``, ``split``, ``equation``, ...) give one relation
per row, with ``&`` ignored (in ``align``-like ones every second ``&`` starts another relation), a row starting
with a relation (``&= c``) continuing the previous row's chain, and a row starting with ``+``/``-``/``\\cdot`` and
holding no relation continuing the previous row's expression (``multline`` rows are always one equation).
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from symrnn import notation as nt
from symrnn.latex.parse.core import ParserCore
from symrnn.latex.parse.errors import EmptyInput, MissingSide
from symrnn.latex.parse.tokens import LAYOUT_ENVIRONMENTS, PAIRED_COLUMNS, RELATIONS, Token, deadline_check


class RelationsMixin(ParserCore):
    """The whole input, relations, and probabilities."""

    def document(self):
        if self.peek().kind == "eof":
            raise EmptyInput("empty input: nothing to read", 0, self.text)
        items = self.layout_line(self.toks[:-1], self.toks[-1].pos)
        if not items:
            raise EmptyInput("nothing to read but punctuation and spacing", self.toks[0].pos, self.text)
        return items[0] if len(items) == 1 else tuple(items)

    # -- layout: which tokens make up each relation --
    def layout_line(self, toks: list[Token], after: int) -> list:
        """The relations of one row: split at connectives and at spacing between two relations (a piece without
        a top-level relation of its own stays with its neighbours), each piece a comma list or a layout environment.
        ``after`` is where the text after the row starts (what an error at the row's end points at)."""
        deadline_check(self.deadline, toks[0].pos if toks else 0, self.text)
        tops = _top_level(toks)
        cuts: list[tuple[int, int, bool]] = []  # (start, stop, hard): hard when a connective stands before it
        start, hard, stop = 0, True, len(toks)
        for k, tok in enumerate(toks):
            if not tops[k]:
                continue
            word = _connective(tok)
            if word == "for":
                stop = k
                break
            if word == "and" or tok.kind == "sep":
                cuts.append((start, k, hard))
                start, hard = k + 1, True
            elif tok.spaced and k > start:
                cuts.append((start, k, hard))
                start, hard = k, False
        cuts.append((start, stop, hard))
        groups: list[list] = []  # [start, stop, has a relation, starts with one]
        for lo, hi, sep in cuts:
            if lo >= hi:
                continue
            rel, starts = any(tops[k] and _is_relop(toks[k]) for k in range(lo, hi)), _is_relop(toks[lo])
            last = groups[-1] if groups else None
            if last is not None and not sep and last[1] == lo and not (last[2] and not last[3] and rel and not starts):
                last[1], last[2] = hi, last[2] or rel
            else:
                groups.append([lo, hi, rel, starts])
        items: list = []
        for lo, hi, _, _ in groups:
            items.extend(self.layout_piece(_unpunctuated(toks[lo:hi]), toks[hi].pos if hi < len(toks) else after))
        return items

    def layout_piece(self, toks: list[Token], after: int) -> list:
        """One piece of a row: nothing, a whole layout environment, or a comma list of relations; an error at its
        end points at ``after``, the start of what follows it."""
        if not toks:
            return []
        if toks[0].kind == "begin" and toks[0].arg in LAYOUT_ENVIRONMENTS and _closer(toks) == len(toks) - 1:
            return self.layout_environment(toks)
        saved = self.toks, self.i
        self.toks, self.i = [*toks, Token("eof", "", after, after)], 0
        items = [self.relation()]
        while self.at_sym(","):
            self.take()
            items.append(self.relation())
        if self.peek().kind != "eof":
            raise self.error(f"unexpected {self.describe(self.peek())} (the rest of the input was not read)")
        self.toks, self.i = saved  # only on success: an error keeps the cursor where it failed, for its position
        return items

    def layout_environment(self, toks: list[Token]) -> list:
        """``\\begin{aligned} a &= b \\\\ &= c \\\\ d &= e \\end{aligned}``: the rows' relations, in order."""
        env = toks[0].arg
        rows: list[list[Token]] = [[]]
        ends: list[int] = []  # where each row's text ends: its row break, or the environment's \\end
        inner = toks[1:-1]
        columns, space = 0, False  # the '&' of this row so far; spacing before a dropped '&'
        for tok, top in zip(inner, _top_level(inner), strict=True):
            if top and tok.kind == "rowsep":
                rows.append([])
                ends.append(tok.pos)
                columns, space = 0, False
            elif top and tok.kind == "sym" and tok.value == "&":
                columns += 1
                if env in PAIRED_COLUMNS and columns % 2 == 0:
                    rows[-1].append(Token("sep", "&", tok.pos, tok.end))
                space = space or tok.spaced
            else:
                rows[-1].append(replace(tok, spaced=True) if space else tok)
                space = False
        ends.append(toks[-1].pos)
        joined: list[tuple[list[Token], int]] = []
        for row, end in zip(map(_unpunctuated, rows), ends, strict=True):
            if joined and row and (env.startswith("multline") or _continues(row)):
                joined[-1][0].extend(row)
                joined[-1] = (joined[-1][0], end)
            elif row:
                joined.append((row, end))
        items = [item for row, end in joined for item in self.layout_line(row, end)]
        if not items:
            raise self.error(f"an empty {env}", toks[0])
        return items

    def relop(self) -> str | None:
        tok = self.peek()
        if tok.kind == "sym" and tok.value in ("=", "<", ">"):
            return tok.value
        if tok.kind == "cmd" and tok.value in RELATIONS:
            return RELATIONS[tok.value]
        return None

    def relation(self):
        terms, ops, toks = [self.expr()], [], []
        while (op := self.relop()) is not None:
            toks.append(self.take())
            if self.peek().kind == "eof" or self.at_sym(",") or self.relop():
                raise self.error(f"the relation {self.text[toks[-1].pos:toks[-1].end]} has no right side",
                                 cls=MissingSide)
            ops.append(op)
            terms.append(self.expr())
        if not ops:
            return terms[0]
        if len(ops) > 1 and all(o in ("=", "approx") for o in ops):
            return nt.Chain(terms, ops)
        rels = [self.make_relation(op, a, b, tok) for op, a, b, tok in zip(ops, terms, terms[1:], toks, strict=False)]
        return rels[0] if len(rels) == 1 else sp.And(*rels, evaluate=False)

    def make_relation(self, op: str, a, b, tok: Token):
        if op == "=":
            return sp.Eq(a, b, evaluate=False)
        if op == "approx":
            return nt.Approx(a, b)
        if op == "leftarrow":
            return nt.Assign(a, b)
        cls = {"neq": sp.Ne, "<": sp.Lt, ">": sp.Gt, "leq": sp.Le, "geq": sp.Ge}[op]
        try:
            return cls(a, b, evaluate=False)
        except TypeError as exc:
            raise self.error(f"cannot compare these sides: {exc}", tok) from None

    # -- probability --
    def probability(self):
        open_tok = self.take()
        left = open_tok.kind == "cmd"
        events, given = self.event_list(), []
        if self.at_sym("|"):
            self.take()
            given = self.event_list()
        end = self.peek()
        if left:
            if not (end.kind == "cmd" and end.value == "right"):
                raise self.error(f"expected \\right) to close P(, found {self.describe(end)}")
        elif not (end.kind == "sym" and end.value == ")"):
            raise self.error(f"expected ')' to close P(, found {self.describe(end)}")
        self.take()
        return nt.P(_spans(events), _spans(given))

    def event_list(self) -> list:
        items = [self.event()]
        while self.at_sym(","):
            self.take()
            items.append(self.event())
        return items

    def event(self):
        if self.at("cmd", "dots") or self.at("cmd", "ldots"):
            self.take()
            return nt.Dots()
        tok = self.peek()
        rv = self.expr()
        if not isinstance(rv, nt.RV):
            raise self.error(f"expected a random variable (Y_t, X_t) in P(...), found {self.describe(tok)}", tok)
        if self.at_sym("="):
            self.take()
            return nt.Is(rv, self.expr())
        return rv


def _spans(items: list) -> list:
    """``X_a, \\dots, X_b`` becomes ``Span(a, b, states=False)``; ``Y_a, X_a, \\dots, Y_b, X_b`` a full Span."""
    out = list(items)
    for n, item in enumerate(out):
        if not isinstance(item, nt.Dots) or n == 0:
            continue
        before, after = out[:n], out[n + 1:]
        if len(before) >= 2 and len(after) >= 2 and all(isinstance(x, nt.RV) for x in (*before[-2:], *after[:2])):
            (ya, xa), (yb, xb) = before[-2:], after[:2]
            if (ya.name, xa.name, yb.name, xb.name) == ("Y", "X", "Y", "X") and ya.time == xa.time \
                    and yb.time == xb.time:
                return _spans([*before[:-2], nt.Span(ya.time, yb.time), *after[2:]])
        if before and after and isinstance(before[-1], nt.RV) and isinstance(after[0], nt.RV) \
                and before[-1].name == after[0].name == "X":
            return _spans([*before[:-1], nt.Span(before[-1].time, after[0].time, states=False), *after[1:]])
    return out


# ---- layout helpers ------------------------------------------------------------------------------------------------

_CONNECTIVES = frozenset({"and", "where", "with"})
_PUNCTUATION = frozenset({".", ",", ";"})
_CONTINUATIONS = frozenset({"+", "-", "cdot", "times", "odot", "oslash"})


def _connective(tok: Token) -> str:
    """``"and"`` for ``\\text{ and }``, ``\\text{where}``, ``\\text{with}`` (a relation ends), ``"for"`` for a
    ``\\text{for ...}`` qualifier (the row ends), else ``""``."""
    if tok.kind != "text" or tok.value != "text":
        return ""
    words = tok.arg.strip(" .,;:").split()
    if words and words[0] == "for":
        return "for"
    return "and" if " ".join(words) in _CONNECTIVES else ""


def _top_level(toks: list[Token]) -> list[bool]:
    """For each token, whether it stands outside every bracket, ``\\left``/``\\right`` and environment."""
    out, depth = [], 0
    for tok in toks:
        if tok.kind in ("end",) or (tok.kind == "sym" and tok.value in ")]}") or (tok.kind == "cmd"
                                                                                   and tok.value == "right"):
            depth -= 1
        out.append(depth == 0)
        if tok.kind == "begin" or (tok.kind == "sym" and tok.value in "([{") or (tok.kind == "cmd"
                                                                                  and tok.value == "left"):
            depth += 1
    return out


def _closer(toks: list[Token]) -> int:
    """The index of the token that closes ``toks[0]`` (an environment's ``\\begin``)."""
    tops = _top_level(toks)
    return next((k for k in range(1, len(toks)) if tops[k] and toks[k].kind == "end"), -1)


def _is_relop(tok: Token) -> bool:
    return (tok.kind == "sym" and tok.value in ("=", "<", ">")) or (tok.kind == "cmd" and tok.value in RELATIONS)


def _continues(row: list[Token]) -> bool:
    """A row that goes on from the previous one: ``&= c`` (the chain) or ``+ d`` without a relation of its own."""
    first = row[0]
    if _is_relop(first):
        return True
    if (first.kind == "sym" and first.value in ("+", "-")) or (first.kind == "cmd" and first.value in _CONTINUATIONS):
        tops = _top_level(row)
        return not any(tops[k] and _is_relop(row[k]) for k in range(len(row)))
    return False


def _unpunctuated(toks: list[Token]) -> list[Token]:
    """``toks`` without the trailing ``.``, ``,`` and ``;`` that end a sentence or a row."""
    stop = len(toks)
    while stop and toks[stop - 1].kind == "sym" and toks[stop - 1].value in _PUNCTUATION:
        stop -= 1
    return toks if stop == len(toks) else toks[:stop]
