"""An HMM document's model checked on its own: each distribution sums to 1 along the axis its definition implies,
sizes agree (square transitions, one emission row per state, a one-hot vector per vocabulary word); and the
forward and Viterbi tables it implies, computed exactly (also with the transition matrix transposed, and with the
other of sum and max: what a wrong step shows, to say which mistake it is)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from symrnn.audit.findings import Finding, shown
from symrnn.audit.numbers import number_text

if TYPE_CHECKING:
    from symrnn.audit.hmm_model import HMMDoc

_WHAT = {"trans": "transition", "emit": "emission", "init": "initial"}


def _definition_text(hmm: HMMDoc, role: str) -> str:
    d = hmm.defs.get(role)
    return f" (defined on line {d.line})" if d else ""


def _decimal(x) -> str:
    """An exact sum as the decimal it is (``0.9``), else as a fraction."""
    for places in range(1, 13):
        if x.is_Rational and (x * 10 ** places).is_Integer:
            return number_text(x, places)
    return shown(x)


def _state_label(hmm: HMMDoc, role: str, n: int, along: str) -> str:
    return f" (the {along} of {hmm.states[n]})" if len(hmm.states) == hmm.canonical[role].rows else ""


def _sum_findings(hmm: HMMDoc, role: str) -> list[Finding]:
    """Each distribution of ``role`` sums to 1 and has no negative entry (reported on the row of a table)."""
    name, line, written = hmm.written[role]
    m = hmm.canonical[role]
    if not all(e.is_number for e in m):
        return []
    if role == "init":
        groups = [list(m)]
    else:
        groups = [list(m[r, :]) for r in range(m.rows)]
    along = "column" if hmm.transposed.get(role) else "row"
    rows = hmm.table_rows.get(role, [])
    out = []
    for n, group in enumerate(groups):
        total = sp.Add(*group)
        where = rows[n] if rows and along == "row" and n < len(rows) else line
        label = f"{along} {n + 1}" if role != "init" else name
        if total != 1:
            value = shown(total) + (f" ({_decimal(total)})" if "/" in shown(total) else "")
            whole = f"{name} holds {_WHAT[role]} probabilities, one distribution per {along}" \
                if role != "init" else f"{name} is the initial distribution"
            out.append(Finding(where, "error", f"{whole}{_definition_text(hmm, role)}, but "
                               f"{label if role != 'init' else 'it'} sums to {value}, not 1"
                               f"{_state_label(hmm, role, n, along) if role != 'init' else ''}", "distribution"))
        elif any(e.is_negative for e in group):
            out.append(Finding(where, "error", f"{label} of {name} has a negative probability", "distribution"))
    if not out:
        what = f"every {along} of {name} sums" if role != "init" else f"{name} sums"
        out.append(Finding(line, "ok", f"{what} to 1, as a distribution{_definition_text(hmm, role)}",
                           "distribution"))
    return out


def _size_findings(hmm: HMMDoc, vectors: dict, inputs: bool) -> list[Finding]:
    """Sizes: a square transition matrix, one emission row and one initial entry per state, one-hot vectors with
    one entry per vocabulary word."""
    out = []
    trans = hmm.canonical["trans"]
    name, line, _ = hmm.written["trans"]
    if trans.rows != trans.cols:
        out.append(Finding(line, "error", f"{name} is {trans.rows} x {trans.cols}: a transition matrix is square",
                           "sizes"))
    for role in ("emit", "init"):
        if role in hmm.canonical and hmm.canonical[role].rows != trans.rows:
            other, where, m = hmm.written[role]
            out.append(Finding(where, "error", f"{other} ({m.rows} x {m.cols}) does not have one "
                               f"{'row' if role == 'emit' else 'entry'} per state: the model has {trans.rows}",
                               "sizes"))
    if "emit" in hmm.canonical and inputs:
        cols = hmm.canonical["emit"].cols
        for (base, t_), (where, v) in sorted(vectors.items(), key=lambda kv: kv[1][0]):
            if base == "x" and v.cols == 1 and v.rows != cols:
                vocab = f" (the vocabulary has {len(hmm.vocabulary)} words)" if hmm.vocabulary else ""
                out.append(Finding(where, "error", f"\\vec{{x}}_{{{t_}}} has {v.rows} entries but "
                                   f"{hmm.written['emit'][0]} has {cols} observation symbols{vocab}", "sizes"))
    return out


def model_findings(hmm: HMMDoc, vectors: dict, inputs: bool = True) -> list[Finding]:
    """Every finding about the model itself (``inputs``: also the sizes of the one-hot inputs, which an RNN's
    worked steps otherwise check)."""
    out = []
    for role in hmm.written:
        out += _sum_findings(hmm, role)
    return out + _size_findings(hmm, vectors, inputs)


def step(trans: sp.Matrix, emit: sp.Matrix, prev: sp.Matrix, k: int, op: str = "sum") -> sp.Matrix:
    """One step: ``(trans^T prev) * emit[:, k]`` entrywise (``op="max"``: the largest term instead of the sum)."""
    n = trans.rows
    if op == "sum":
        inner = [sp.Add(*[prev[i] * trans[i, j] for i in range(n)]) for j in range(n)]
    else:
        inner = [sp.Max(*[prev[i] * trans[i, j] for i in range(n)]) for j in range(n)]
    return sp.Matrix([inner[j] * emit[j, k] for j in range(n)])


def step_back(trans: sp.Matrix, emit: sp.Matrix, nxt: sp.Matrix, k: int) -> sp.Matrix:
    """One backward step: ``beta_t(i) = sum_j trans[i, j] emit[j, k] beta_{t+1}(j)`` (k: the symbol at t+1)."""
    n = trans.rows
    return sp.Matrix([sp.Add(*[trans[i, j] * emit[j, k] * nxt[j] for j in range(n)]) for i in range(n)])


def _backward(hmm: HMMDoc, transpose: bool) -> list[sp.Matrix]:
    trans = hmm.canonical["trans"].T if transpose else hmm.canonical["trans"]
    obs = hmm.observations or []
    out = [sp.ones(trans.rows, 1)] if obs else []
    for k in reversed(obs[1:]):
        out.insert(0, step_back(trans, hmm.canonical["emit"], out[0], k))
    return out


def table(hmm: HMMDoc, op: str = "sum", transpose: bool = False) -> list[sp.Matrix]:
    """The forward (``sum``), Viterbi (``max``) or backward (``back``) values for t = 1..T, exactly; ``transpose``:
    with the transition matrix read the wrong way round."""
    key = (op, transpose)
    if key not in hmm.tables and op == "back":
        hmm.tables[key] = _backward(hmm, transpose)
    if key not in hmm.tables:
        trans = hmm.canonical["trans"].T if transpose else hmm.canonical["trans"]
        emit, init, obs = hmm.canonical["emit"], hmm.canonical["init"], hmm.observations or []
        out = [sp.Matrix([init[j] * emit[j, obs[0]] for j in range(init.rows)])] if obs else []
        for k in obs[1:]:
            out.append(step(trans, emit, out[-1], k, op))
        hmm.tables[key] = out
    return hmm.tables[key]
