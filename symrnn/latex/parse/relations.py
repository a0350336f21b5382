"""Grammar: the top level (relations and their layout), relations and chains, and ``P(A, B | C)``.

``=`` keeps both sides, ``\\approx`` and ``\\leftarrow`` are the notation's own relations, ``\\propto`` is
:class:`.objects.Proportional`, ``\\in`` a set written out ``Contains``, ``:=``/``=:`` read as ``=``; a run of
``=``/``\\approx`` is a :class:`symrnn.notation.Chain`; in a probability (``P``, ``p``, ``\\Pr``, ``\\mathbb{P}``)
``\\dots`` between variables becomes a span, ``\\mid`` is ``|`` and a name with one index a random variable.  A side
may be a value given in words with a condition (``2 \\text{ if flag=True otherwise } 1``: a ``Piecewise``).

The layout authors use is read here, before any relation: a span holds relations separated by commas, by spacing
(``\\quad``, ``\\,``, ``~``, ...) between two relations, or by ``\\text{and}``/``\\text{where}``/``\\text{with}``; a
``\\text{for ...}`` qualifier ends its row and is dropped with the rest of the row; trailing ``.`` ``,`` ``;`` are
dropped; layout environments (``aligned``, ``align``, ``gather``, ``split``, ``equation``, ...) give one relation
per row, with ``&`` ignored (in ``align``-like ones every second ``&`` starts another relation), a row starting
with a relation (``&= c``) continuing the previous row's chain, and a row starting with ``+``/``-``/``\\cdot`` and
holding no relation continuing the previous row's expression (``multline`` rows are always one equation); an
``array`` of relations (not a table with headings) is such a layout too.
"""

from __future__ import annotations

import re
from dataclasses import replace

import sympy as sp

from symrnn import notation as nt
from symrnn.latex.parse.arithmetic import conditional_words
from symrnn.latex.parse.core import ParserCore
from symrnn.latex.parse.errors import EmptyInput, MissingSide, RefusedName
from symrnn.latex.parse.objects import Proportional
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
        if toks[0].kind == "begin" and _closer(toks) == len(toks) - 1 and (
                toks[0].arg in LAYOUT_ENVIRONMENTS or (toks[0].arg == "array" and _array_of_relations(toks))):
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
        if tok.kind == "sym" and tok.value == ":" and self.at("sym", "=", ahead=1) and self.peek(1).glued:
            self.take()  # a := b: a definition, read as =
            return "="
        if tok.kind == "sym" and tok.value in ("=", "<", ">"):
            if tok.value == "=" and self.at("sym", ":", ahead=1) and self.peek(1).glued:
                self.take()  # a =: b, b defined as a: read as =
                return "="
            return tok.value
        if tok.kind == "cmd" and tok.value in RELATIONS:
            return RELATIONS[tok.value]
        return None

    def relation(self):
        terms, ops, toks = [self.side()], [], []
        while (op := self.relop()) is not None:
            toks.append(self.take())
            if self.peek().kind == "eof" or self.at_sym(",") or self.relop():
                raise self.error(f"the relation {self.text[toks[-1].pos:toks[-1].end]} has no right side",
                                 cls=MissingSide)
            ops.append(op)
            terms.append(self.side())
        if not ops:
            return terms[0]
        if len(ops) > 1 and all(o in ("=", "approx") for o in ops):
            return nt.Chain(terms, ops)
        rels = [self.make_relation(op, a, b, tok) for op, a, b, tok in zip(ops, terms, terms[1:], toks, strict=False)]
        return rels[0] if len(rels) == 1 else sp.And(*rels, evaluate=False)

    def side(self):
        """One side of a relation: an expression, or a value given in words with a condition (``2 \\text{ if
        bidirectional=True otherwise } 1``, a :class:`sympy.Piecewise`)."""
        if self.in_table or not self.conditional_ahead():
            return self.expr()
        return self.conditional(None if conditional_words(self.peek()) else self.expr())

    def conditional_ahead(self) -> bool:
        """Whether the rest of this cell or row holds ``\\text{... otherwise ...}`` at this level."""
        level, ahead, seen_if = 0, 0, False
        while True:
            tok = self.peek(ahead)
            if tok.kind in ("eof", "rowsep") or (level == 0 and (tok.kind == "end" or (
                    tok.kind == "sym" and tok.value in "&,") or (_is_relop(tok) and not seen_if))):
                return False
            seen_if = seen_if or (level == 0 and conditional_words(tok) and "if" in tok.arg.split())
            if ahead % 256 == 255:
                deadline_check(self.deadline, tok.pos, self.text)
            if (tok.kind == "sym" and tok.value in "([{") or (tok.kind == "cmd" and tok.value in _OPENING) \
                    or tok.kind == "begin":
                level += 1
            elif (tok.kind == "sym" and tok.value in ")]}") or (tok.kind == "cmd" and tok.value in _CLOSING) \
                    or tok.kind == "end":
                level -= 1
                if level < 0:
                    return False
            elif level == 0 and conditional_words(tok) and "otherwise" in tok.arg.split():
                return True
            ahead += 1

    def conditional(self, value):
        """``value \\text{ if } condition \\text{ otherwise } other`` (the words and the math may be split across
        ``\\text{...}`` in any way, as PyTorch's ``\\text{proj\\_size if } \\text{proj\\_size}>0 \\text{ otherwise
        hidden\\_size}``): ``Piecewise((value, condition), (other, True))``."""
        start = self.peek()
        segments: list[list] = [[] if value is None else [value]]
        keywords: list[str] = []
        while True:
            tok = self.peek()
            if conditional_words(tok):
                self.take()
                for word in tok.arg.split():
                    if word in ("if", "otherwise"):
                        keywords.append(word)
                        segments.append([])
                    else:
                        segments[-1].append(word)
            elif self.starts_factor() or self.at_sym("-", "+"):
                piece = self.expr()
                if keywords[-1:] == ["if"] and (op := self.relop()) is not None:
                    op_tok = self.take()
                    piece = self.make_relation(op, piece, self.expr(), op_tok)
                segments[-1].append(piece)
            else:
                break
        if keywords != ["if", "otherwise"]:
            raise self.error("expected 'value if condition otherwise value'", start)
        value, condition, other = (self.segment(seg, n == 1, start) for n, seg in enumerate(segments))
        if not isinstance(condition, (sp.core.relational.Relational, sp.logic.boolalg.Boolean)):
            raise self.error("a condition must be a relation (x > 0, flag=True)", start)
        return sp.Piecewise((value, condition), (other, True), evaluate=False)

    def segment(self, parts: list, condition: bool, start: Token):
        """One part of a conditional: one expression, or words (an identifier is the number it names,
        ``word=value`` a condition, other words :class:`symrnn.notation.Words`)."""
        if len(parts) == 1 and not isinstance(parts[0], str):
            return parts[0]
        if not parts or not all(isinstance(p_, str) for p_ in parts):
            raise self.error("each part of 'value if condition otherwise value' is one expression or words", start)
        text = " ".join(parts)
        named = re.fullmatch(r"([A-Za-z][A-Za-z0-9_]*)\s*=\s*([A-Za-z0-9_]+)", text)
        if condition and named:
            word = named.group(2)
            other = {"True": sp.true, "False": sp.false}.get(word)
            other = other if other is not None else sp.Integer(int(word)) if word.isdigit() else sp.Symbol(word)
            return sp.Eq(sp.Symbol(named.group(1)), other, evaluate=False)
        if condition:
            raise self.error(f"a condition in words must be name=value, found {text!r}", start)
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", text):
            return sp.Symbol(text)
        try:
            return nt.Words(text)
        except ValueError:
            raise self.error(f"{text!r} is not plain words", start, RefusedName) from None

    def make_relation(self, op: str, a, b, tok: Token):
        if op in ("=", "approx", "leftarrow"):  # h_t = o_t \\odot \\tanh(c_t): by usage h_t is a vector too
            for one, other in ((a, b), (b, a)):
                if isinstance(other, sp.MatrixExpr) and other.shape[1] == 1 and other.shape[0] != 1 \
                        and (isinstance(one, sp.Symbol) or (isinstance(one, sp.Indexed) and len(one.indices) == 1)):
                    self.want_vectors(one)
        if op == "=":
            return sp.Eq(a, b, evaluate=False)
        if op == "approx":
            return nt.Approx(a, b)
        if op == "leftarrow":
            return nt.Assign(a, b)
        if op == "propto":
            return Proportional(a, b)
        if op == "in":  # V \\in \\{...\\}: membership of a set written out (declarations are read before)
            if not isinstance(b, sp.Set) or isinstance(a, sp.MatrixExpr):
                raise self.error("\\in is read before a set written out, \\{a, b\\}", tok)
            return sp.Contains(a, b, evaluate=False)
        cls = {"neq": sp.Ne, "<": sp.Lt, ">": sp.Gt, "leq": sp.Le, "geq": sp.Ge}[op]
        try:
            return cls(a, b, evaluate=False)
        except TypeError as exc:
            raise self.error(f"cannot compare these sides: {exc}", tok) from None

    # -- probability --
    def probability(self):
        """``P(A, B | C)``, ``p(x_t \\mid h_t)``, ``\\Pr(\\xi_t = 0)``, ``\\mathbb{P}(A)``: events and the events
        given, separated by ``,`` or ``;``; a name with one index is a random variable at that index
        (``x_t`` is ``RV(x, t)``), ``A = v`` the event that it takes the value v."""
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
        while self.at_sym(",", ";") or (isinstance(items[-1], nt.Dots) and self.starts_factor()):
            if self.at_sym(",", ";"):  # p(x_1, ..., x_T; h_1, ..., h_T): the joint of both
                self.take()
            items.append(self.event())
        return items

    def event(self):
        if self.at("cmd", "dots") or self.at("cmd", "ldots"):
            self.take()
            return nt.Dots()
        tok = self.peek()
        rv = _random_variable(self.expr())
        if isinstance(rv, (sp.Tuple, tuple)) or not isinstance(rv, sp.Basic):
            raise self.error(f"expected an event in P(...), found {self.describe(tok)}", tok)
        if self.at_sym("="):
            self.take()
            return nt.Is(rv, self.expr())
        return rv


def _random_variable(value):
    """``x_t`` (one index) in a probability is the random variable x at t; anything else stays as read."""
    if isinstance(value, sp.Indexed) and len(value.indices) == 1:
        name = str(value.base.label)
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", name):
            return nt.RV(name, value.indices[0])
    return value


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
_OPENING, _CLOSING = frozenset({"left", "lbrace"}), frozenset({"right", "rbrace"})
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
                                                                                   and tok.value in _CLOSING):
            depth -= 1
        out.append(depth == 0)
        if tok.kind == "begin" or (tok.kind == "sym" and tok.value in "([{") or (tok.kind == "cmd"
                                                                                  and tok.value in _OPENING):
            depth += 1
    return out


def _closer(toks: list[Token]) -> int:
    """The index of the token that closes ``toks[0]`` (an environment's ``\\begin``)."""
    tops = _top_level(toks)
    return next((k for k in range(1, len(toks)) if tops[k] and toks[k].kind == "end"), -1)


def _array_of_relations(toks: list[Token]) -> bool:
    """An ``array`` used to lay out equations (PyTorch's ``\\begin{array}{ll} i_t = ... \\\\ f_t = ...``): its rows
    hold relations and its first row is not a table's headings (``\\text{...}`` only)."""
    inner = toks[1:-1]
    tops = _top_level(inner)
    rows: list[list[Token]] = [[]]
    for tok, top in zip(inner, tops, strict=True):
        if top and tok.kind == "rowsep":
            rows.append([])
        elif top:
            rows[-1].append(tok)
    rows = [r for r in rows if r]
    if not rows or all((t_.kind == "text" and t_.value == "text") or (t_.kind == "sym" and t_.value == "&")
                       for t_ in rows[0]):
        return False
    return any(_is_relop(t_) for row in rows for t_ in row)


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
