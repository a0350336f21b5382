"""Grammar: the top level (a comma list of relations), relations and chains, and ``P(A, B | C)``.

``=`` keeps both sides, ``\\approx`` and ``\\leftarrow`` are the notation's own relations, a run of ``=``/
``\\approx`` is a :class:`symrnn.notation.Chain`; in a probability ``\\dots`` between variables becomes a span.
"""

from __future__ import annotations

import sympy as sp

from symrnn import notation as nt
from symrnn.latex.parse.core import ParserCore
from symrnn.latex.parse.errors import EmptyInput
from symrnn.latex.parse.tokens import RELATIONS, Token


class RelationsMixin(ParserCore):
    """The whole input, relations, and probabilities."""

    def document(self):
        if self.peek().kind == "eof":
            raise EmptyInput("empty input: nothing to read", 0, self.text)
        items = [self.relation()]
        while self.at_sym(","):
            self.take()
            items.append(self.relation())
        if self.peek().kind != "eof":
            raise self.error(f"unexpected {self.describe(self.peek())} (the rest of the input was not read)")
        return items[0] if len(items) == 1 else tuple(items)

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
                raise self.error(f"the relation {self.text[toks[-1].pos:toks[-1].end]} has no right side")
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
