"""The hidden Markov model a document defines, in whatever notation and layout: the transition matrix (``U`` with
``u_{j,i} = P(Y_t = j | Y_{t-1} = i)``, or ``A`` with ``a_{ij} = P(q_t = j | q_{t-1} = i)``), the emission matrix
(``W``, ``B``, ``b_j(k)``), the initial distribution (``\\pi``), from displays or Markdown tables; the state names and
the vocabulary from prose, tables or one-hot vectors; the observation sequence.  Every matrix is kept as the document
writes it and in one canonical orientation: ``trans[i, j] = P(next = j | previous = i)``, ``emit[j, k] = P(obs = k |
state = j)``, ``init[j] = P(first = j)``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sympy as sp

from symrnn import notation as nt
from symrnn.audit.hmm_tables import Table, tables
from symrnn.audit.reading import Span, relations

MAX_STATES = 64  #: larger models are not recomputed (the worked examples of notes are small)
MAX_STEPS = 64
ROLES = ("trans", "emit", "init")
_HMM_WORDS = re.compile(r"hidden\s+Markov|\bHMMs?\b|transition\s+probabilit|emission\s+probabilit", re.IGNORECASE)
DEFAULT_LETTERS = {"a": "trans", "u": "trans", "b": "emit", "w": "emit", "e": "emit", "pi": "init"}


@dataclass
class Definition:
    """``m_{a,b} = P(...)``: which matrix (its letter), what it is (role), where, and which index position holds
    the event (what sums to 1) and, for a transition, the previous state."""

    letter: str
    role: str
    line: int
    event_pos: int | None
    given_pos: int | None
    state_rv: str = ""
    obs_rv: str = ""


@dataclass
class HMMDoc:
    """The HMM of a document: each role's matrix as written (``written``) and canonical, and what names it."""

    defs: dict[str, Definition] = field(default_factory=dict)  # role -> definition
    written: dict[str, tuple[str, int, sp.Matrix]] = field(default_factory=dict)  # role -> (name, line, value)
    canonical: dict[str, sp.Matrix] = field(default_factory=dict)
    transposed: dict[str, bool] = field(default_factory=dict)  # role -> the written matrix is canonical transposed
    table_rows: dict[str, list[int]] = field(default_factory=dict)  # role -> line of each written row (tables)
    states: tuple[str, ...] = ()
    vocabulary: tuple[str, ...] = ()
    observations: list[int] | None = None  # 0-based symbols
    observations_line: int = 0
    findings: list = field(default_factory=list)  # model-level findings (sums, sizes), reported once
    shown: dict[tuple[str, int, int], sp.Expr] = field(default_factory=dict)  # (quantity, t, j) -> shown value
    tables: dict[tuple[str, bool], list] = field(default_factory=dict)  # (op, transposed) -> values by t, computed once

    @property
    def complete(self) -> bool:
        return all(r in self.canonical for r in ROLES)

    @property
    def consistent(self) -> bool:
        """All three distributions given, with sizes that fit (a square transition matrix, one emission row and one
        initial entry per state, observations within the emission's columns)."""
        if not self.complete:
            return False
        trans, emit, init = (self.canonical[r] for r in ROLES)
        return trans.rows == trans.cols == emit.rows == init.rows and init.cols == 1 and \
            all(0 <= k < emit.cols for k in self.observations or [])

    @property
    def n(self) -> int:
        return self.canonical["trans"].rows

    def letter(self, role: str) -> str:
        """The entry letter the document uses for ``role`` (``a``, ``u``, ``pi``)."""
        if role in self.defs:
            return self.defs[role].letter
        return self.written[role][0].lower() if role in self.written else ""


def _indices(lhs) -> tuple[str, list] | None:
    """``a_{ij}`` / ``u_{j,i}`` / ``b_j(k)`` / ``\\pi_i``: the letter and its index symbols, else None."""
    extra = []
    if isinstance(lhs, sp.Mul):  # b_j(k) reads as k * b[j]
        idx = [a for a in lhs.args if isinstance(a, sp.Indexed)]
        extra = [a for a in lhs.args if isinstance(a, sp.Symbol)]
        if len(idx) != 1 or len(extra) + 1 != len(lhs.args):
            return None
        lhs = idx[0]
    if not isinstance(lhs, sp.Indexed):
        return None
    out = []
    for ix in lhs.indices:
        if isinstance(ix, sp.Symbol) and len(ix.name) == 2 and ix.name.isalpha():
            out += [sp.Symbol(c) for c in ix.name]  # a_{ij}: two indices written together
        else:
            out.append(ix)
    return str(lhs.base.label), out + extra


def _value_symbol(value):
    """The index an event's value names: ``j`` in ``Y_t = j``, ``S_j``, ``v_k``."""
    if isinstance(value, sp.Indexed) and len(value.indices) == 1:
        return value.indices[0]
    if isinstance(value, sp.Symbol | sp.MatrixSymbol) and re.fullmatch(r"[A-Za-z]+_[A-Za-z]", str(value.name)):
        return sp.Symbol(str(value.name)[-1])  # S_j: the state named by its index
    return value


def _same(a, b) -> bool:
    return sp.Symbol(str(a)) == sp.Symbol(str(b))


def _variable(e) -> tuple[str, sp.Expr] | None:
    """The name and time of an event's variable: ``Y_t``, ``q_{t-1}``, and ``O_t`` (read as a matrix at t)."""
    if not isinstance(e, nt.Is):
        return None
    if isinstance(e.rv, nt.RV):
        return e.rv.name, e.rv.time
    matrix, time = getattr(e.rv, "matrix", None), getattr(e.rv, "time", None)
    return (str(matrix.name), time) if isinstance(matrix, sp.MatrixSymbol) and time is not None else None


def read_definition(rel, line: int) -> Definition | None:
    """A definition ``m_{..} = P(E | G)`` of a transition, emission or initial distribution; else None."""
    if not (isinstance(rel, sp.Eq) and isinstance(rel.rhs, nt.P)):
        return None
    found = _indices(rel.lhs)
    events = [e for e in rel.rhs.events if _variable(e) is not None]
    given = [e for e in rel.rhs.given if _variable(e) is not None]
    if found is None or len(events) != 1 or len(rel.rhs.events) != 1 or len(given) > 1:
        return None
    letter, idx = found
    ev, (ev_name, ev_time) = events[0], _variable(events[0])
    pos = [n for n, s in enumerate(idx) if _same(s, _value_symbol(ev.value))]
    if not given:
        return Definition(letter, "init", line, pos[0] if pos else None, None, ev_name) \
            if len(idx) == 1 and ev_time == 1 else None
    gv, (gv_name, gv_time) = given[0], _variable(given[0])
    gpos = [n for n, s in enumerate(idx) if _same(s, _value_symbol(gv.value))]
    if len(idx) != 2 or len(pos) != 1 or len(gpos) != 1 or pos == gpos:
        return None
    if gv_name == ev_name and sp.simplify(ev_time - gv_time) == 1:
        return Definition(letter, "trans", line, pos[0], gpos[0], ev_name)
    if gv_name != ev_name and ev_time == gv_time:
        return Definition(letter, "emit", line, pos[0], gpos[0], gv_name, ev_name)
    return None


def _matrix_for(letter: str, matrices: dict) -> tuple[str, int, sp.Matrix] | None:
    for name in (letter.upper(), letter, "\\" + letter):
        if matrices.get(name):
            line, value = matrices[name][0]
            return name, line, value
    return None


def read_hmm(spans: list[Span], prose: str, matrices: dict, vectors: dict, vocabulary: tuple[str, ...],
             states: tuple[str, ...], rnn: bool = False) -> HMMDoc | None:
    """The HMM the document defines, or None when it defines no transition matrix with numbers (``rnn``: the
    document also defines an RNN on it, whose worked steps check the inputs' sizes)."""
    from symrnn.audit.hmm_checks import model_findings
    from symrnn.audit.hmm_sequence import observations, shown_values, state_names, vocabulary_from_prose

    doc = HMMDoc()
    for span in spans:
        for rel in relations(span.expr) if span.expr is not None else ():
            d = read_definition(rel, span.line) if isinstance(rel, sp.Basic) else None
            if d is not None and d.role not in doc.defs:
                doc.defs[d.role] = d
    for role in ROLES:
        letters = [doc.defs[role].letter] if role in doc.defs else \
            [k for k, v in DEFAULT_LETTERS.items() if v == role]
        for letter in letters:
            found = _matrix_for(letter, matrices)
            if found is not None:
                doc.written[role] = found
                break
    for table in tables(prose):
        _take_table(doc, table)
    if "trans" not in doc.written or not (doc.defs or doc.table_rows or _HMM_WORDS.search(prose)):
        return None  # a matrix named A or U alone is not a probability model
    _orient(doc)
    if "trans" not in doc.canonical or doc.canonical["trans"].rows > MAX_STATES:
        return None
    doc.states = states or state_names(prose, doc)
    doc.vocabulary = vocabulary or doc.vocabulary or vocabulary_from_prose(prose)
    doc.observations, doc.observations_line = observations(spans, vectors, doc)
    if doc.observations is not None:
        doc.observations = doc.observations[:MAX_STEPS]  # worked examples are short; later steps are not recomputed
    doc.shown = shown_values(spans, doc)
    doc.findings = model_findings(doc, vectors, not rnn)
    return doc


def _take_table(doc: HMMDoc, table: Table) -> None:
    """A Markdown table of probabilities: a transition table (states on both sides), an initial row, or an emission
    table (states on one side)."""
    role = table.role(doc.states)
    if role is None or role in doc.written:
        return
    doc.written[role] = (table.name(role), table.line, table.value)
    doc.table_rows[role] = table.row_lines
    doc.transposed[role] = table.transposed
    if role == "trans" and not doc.states:
        doc.states = table.row_labels
    if role == "emit":
        doc.states = doc.states or table.state_labels
        doc.vocabulary = table.symbol_labels


def _axis_sums(m: sp.Matrix, axis: int) -> list:
    return [sum(m[:, c]) for c in range(m.cols)] if axis == 0 else [sum(m[r, :]) for r in range(m.rows)]


def _orient(doc: HMMDoc) -> None:
    """Each written matrix in the canonical orientation: from its definition, else its table, else whichever axis
    sums to 1 (rows when both or neither do)."""
    for role, (_, _, m) in doc.written.items():
        d = doc.defs.get(role)
        if role == "init":
            doc.canonical[role] = m if m.cols == 1 else m.T
            doc.transposed[role] = False
            continue
        if role in doc.table_rows:  # a table's labels and caption say which side is which
            flip = doc.transposed.get(role, False)
        elif d is not None and d.event_pos is not None:
            flip = d.event_pos == 0  # the event (next state, or symbol) indexes the rows: canonical transposed
        else:
            flip = all(s == 1 for s in _axis_sums(m, 0)) and not all(s == 1 for s in _axis_sums(m, 1))
        doc.transposed[role] = flip
        doc.canonical[role] = m.T if flip else m
    if "emit" in doc.canonical and "trans" in doc.canonical and doc.canonical["emit"].rows != doc.n \
            and doc.canonical["emit"].cols == doc.n and "emit" not in doc.defs:
        doc.canonical["emit"] = doc.canonical["emit"].T  # symbols by states, read by its size
        doc.transposed["emit"] = not doc.transposed.get("emit", False)


_ITEM = re.compile(r"\\text\{([^{}]+)\}|\\mathrm\{([^{}]+)\}|([A-Za-z][\w-]*)")


def listed(text: str) -> tuple[str, ...]:
    """Names in a written list (``\\text{Hot}, \\text{Cold}`` or ``Noun, Verb and Det``)."""
    return tuple(next(g for g in m.groups() if g) for m in _ITEM.finditer(text)
                 if next(g for g in m.groups() if g) not in {"and", "or", "in", "that", "order", "the"})
