"""A cell's text read into equations and declarations, each with its line.

The math spans of a Markdown or LaTeX text (:func:`symrnn.latex.spans.find_spans`) are read one by one: a
declaration (``W_{hx} \\in \\mathbb{R}^{h \\times d}``) by :func:`symrnn.latex.declarations.declarations`, any other
span by :func:`symrnn.latex.parse.parse_math`.  Plain letters (``h_t``, ``u \\odot h_{t-1}``, ``b_h``) are numbers
to the reader unless it is told otherwise, so the spans are scanned first for the names written with a time index
(read as vectors: ``Sizes.gates``) and the other lower-case names (read as columns: ``Sizes.matrices``); marked
vectors (``\\vec{h}_t``, ``\\mathbf{h}_t``) need no such help.  Nothing is evaluated: the reader builds SymPy objects
from its own grammar.  A span that does not read is an error only when it looks like a definition at t (``..._t =``);
prose math that does not read is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp

from symrnn import notation as nt
from symrnn.core.budget import DEFAULT, Budget, check_count
from symrnn.derive import errors
from symrnn.latex.declarations import declarations
from symrnn.latex.parse import (
    DEFAULT_SIZES,
    Limits,
    ParseError,
    RefusedName,
    ShapeMismatch,
    Sizes,
    UnknownMacro,
    parse_math,
)
from symrnn.latex.parse.tokens import GREEK
from symrnn.latex.spans import find_spans


@dataclass(frozen=True)
class Equation:
    """``lhs = rhs`` as read, with the 1-based line it is on and its LaTeX."""

    line: int
    text: str
    lhs: sp.Basic
    rhs: sp.Basic


@dataclass(frozen=True)
class Declaration:
    """``obj \\in \\mathbb{R}^{rows \\times cols}`` as read, with its line and LaTeX."""

    line: int
    text: str
    obj: sp.Basic
    rows: sp.Expr
    cols: sp.Expr


@dataclass(frozen=True)
class Reading:
    equations: tuple[Equation, ...]
    declarations: tuple[Declaration, ...]


#: ``h_t``, ``z_{t-1}``, ``\alpha_t``: a plain name with a time index (read as a vector).
_TIMED = re.compile(r"(?<![\\A-Za-z])(\\[A-Za-z]+|[a-z])\s*_\s*(?:t(?![A-Za-z])|\{\s*t\s*(?:[-+]\s*\d+\s*)?\})")
#: ``b``, ``u``, ``b_h``, ``b_{hn}``, ``\lambda``: a plain lower-case name, with a subscript of letters or digits.
_PLAIN = re.compile(r"(?<![\\A-Za-z])(\\[A-Za-z]+|[a-z])(?![A-Za-z])"
                    r"(?:\s*_\s*(?:\{\s*([A-Za-z0-9]+)\s*\}|([A-Za-z0-9])))?(?!\s*(?:\(|\\left))")
#: A span that defines something at t: ``h_t =``, ``\mathbf{h}_{t} &=``.
_DEFINES = re.compile(r"(?:_\s*(?:t|\{\s*t\s*\})|\^\s*\{\s*\(\s*t\s*\)\s*\})\s*&?\s*=")  # also h^{(t)} =
#: Commands of functions the cells do not support, named as such when the reader does not know them.
_FUNCTION_COMMANDS = frozenset({"sin", "cos", "tan", "sinh", "cosh", "coth", "arcsin", "arccos", "arctan", "sec",
                                "csc", "cot", "sqrt", "erf", "det", "arg", "lg", "min", "sgn", "sign", "abs"})
#: ``\\tilde{c}_t``: a plain accented letter with a time index (read as the vector ``\\tilde{\\mathbf{c}}_t``).
_ACCENT_TIMED = re.compile(r"\\(tilde|hat|bar)\s*\{\s*([a-z])\s*\}(?=\s*_\s*(?:t(?![A-Za-z])|\{\s*t))")
#: ``V h_t``, ``V h^{(t)}``, ``E \\mathbf{x}_t``: an upper-case letter the reader takes for a number (the lecture's
#: vocabulary size V), written right before a vector; a cell cannot scale a vector by a scalar name, so it is read as
#: a matrix.
_LETTER_TIMES_VECTOR = re.compile(r"(?<![\\A-Za-z{_^])([A-Z])\s*"
                                  r"(?=[a-z]\s*(?:_|\^\s*\{\s*\()|\\(?:mathbf|vec|boldsymbol|bm)\b)")
#: ``\\mathcal{L}``, ``\\mathscr{L}`` (a loss's name): read as the plain letter (the reader knows neither font).
_SCRIPT_LETTER = re.compile(r"\\math(?:cal|scr)\s*\{\s*([A-Za-z])\s*\}")
#: A span that looks like a loss: a sum over t against the target ``y``.
_LOOKS_LIKE_LOSS = re.compile(r"=.*\\(?:sum|frac).*y\s*\}?\s*_", re.S)
_ROW_BREAK = re.compile(r"\\\\(?:\*|\[[^\]]*\])?")
_ENVIRONMENT = re.compile(r"\\(?:begin|end)\s*\{[A-Za-z]+\*?\}")


def _greek_or_letter(name: str) -> str | None:
    """``\\alpha`` -> ``alpha``, ``h`` -> ``h``; None for any other command."""
    if name.startswith("\\"):
        return name[1:] if name[1:] in GREEK and name[1:] != "sigma" else None
    return name


def notation_for(bodies: list[str]) -> Sizes:
    """The reader's sizes for plain letters: names with a time index are vectors (gates), other lower-case names
    (biases, Hadamard weights) are columns; marked vectors and matrices keep the reader's own rules."""
    gates: dict[str, sp.Expr] = {}
    columns: dict[str, tuple[sp.Expr, sp.Expr]] = {}
    capitals: set[str] = set()
    for body in bodies:
        for m in _TIMED.finditer(body):
            name = _greek_or_letter(m.group(1))
            if name is not None:
                gates[name] = nt.V + 1 if name == "x" else nt.N
    for body in bodies:
        for m in _PLAIN.finditer(body):
            name, sub = _greek_or_letter(m.group(1)), m.group(2) or m.group(3)
            if name is None or (sub is None and (name in DEFAULT_SIZES.index_letters or name in gates or name == "e")):
                continue
            if sub is not None and re.fullmatch(r"t|\d+", sub) and name in gates:
                continue
            if name[0].isupper():  # \Theta, \Phi_{x}: a capital Greek letter is a matrix, as a capital Latin one
                capitals.add(f"{name}_{sub}" if sub else name)
                continue
            columns[f"{name}_{sub}" if sub else name] = (nt.N, sp.S.One)
    scalars = DEFAULT_SIZES.scalar_letters - DEFAULT_SIZES.time_letters
    matrices = {m.group(1) for body in bodies for m in _LETTER_TIMES_VECTOR.finditer(body)} & scalars
    return Sizes(matrices={**DEFAULT_SIZES.matrices, **columns, **{name: (nt.N, nt.N) for name in matrices | capitals}},
                 gates=gates, scalar_letters=DEFAULT_SIZES.scalar_letters - matrices)


def bold_accents(bodies: list[str]) -> list[str]:
    """``\\tilde{c}`` as ``\\tilde{\\mathbf{c}}`` wherever ``\\tilde{c}`` is written with a time index somewhere: the
    reader takes a plain accented letter for a number, and cannot make it a vector written without a mark (its
    gates must be plain names).  Only braces' contents change, so lines stay where they were."""
    timed = {(m.group(1), m.group(2)) for body in bodies for m in _ACCENT_TIMED.finditer(body)}
    if not timed:
        return bodies

    def bold(m: re.Match) -> str:
        return rf"\{m.group(1)}{{\mathbf{{{m.group(2)}}}}}" if (m.group(1), m.group(2)) in timed else m.group(0)
    # an entry (``\\hat{y}_{j,t}``) keeps its plain letter: the reader reads it as an entry of the vector
    return [re.sub(r"\\(tilde|hat|bar)\s*\{\s*([a-z])\s*\}(?!\s*_\s*\{[^{}]*,)", bold, body) for body in bodies]


def _body_line(text: str, start: int, body: str, line: int) -> int:
    """The line the span's body starts on (its delimiter may stand alone on the line before)."""
    at = text.find(body[:40], start) if body else -1
    return text.count("\n", 0, at) + 1 if at >= 0 else line


def _row_lines(body: str, line: int, count: int) -> list[tuple[int, str]]:
    """(line, text) of each of ``count`` relations read from one span: by rows when the rows match them."""
    rows, at = [], 0
    for piece in [*_ROW_BREAK.split(body)]:
        offset = body.find(piece, at)
        at = offset + len(piece)
        stripped = _ENVIRONMENT.sub("", piece).strip()
        if stripped:
            rows.append((line + body.count("\n", 0, offset + max(0, piece.find(stripped[:10]))), stripped))
    if len(rows) == count:
        return rows
    return [(line, body)] * count


def _parse_error(exc: ParseError, body: str, line: int) -> errors.CellError:
    """The reader's error as a cell error on the line it points at."""
    at = line + body.count("\n", 0, max(0, min(exc.pos, len(body))))
    macro = re.match(r"unknown command \\([A-Za-z]+)", exc.reason)
    applied = re.match(r"\\[A-Za-z]+\s*(?:\(|\\left)", body[exc.pos:]) is not None
    if isinstance(exc, UnknownMacro) and macro and (macro.group(1) in _FUNCTION_COMMANDS or applied):
        return errors.UnsupportedFunction(
            f"unsupported function \\{macro.group(1)}; the supported functions are "
            f"{', '.join(errors.SUPPORTED_FUNCTIONS)}", at, body)
    if isinstance(exc, ShapeMismatch):
        return errors.ShapesDisagree(f"shapes do not agree: {exc.reason} (at character {exc.pos})", at, body)
    if isinstance(exc, RefusedName):
        return errors.BadName(f"a name that cannot be an identifier: {exc.reason} (at character {exc.pos})", at,
                              body)
    return errors.UnreadableEquation(f"cannot read this equation: {exc.reason} (at character {exc.pos}, "
                                     f"{type(exc).__name__})", at, body)


def _declared(body: str, line: int, limits: Limits) -> list[Declaration] | None:
    try:
        found = declarations(body, limits)
    except ParseError as exc:
        raise _parse_error(exc, body, line) from None
    if found is None:
        return None
    return [Declaration(line, body, d.obj, *d.shape) for d in found]


def _chain_sides(expr) -> tuple[sp.Basic, sp.Basic] | None:
    """``(a, c)`` of a chain of equalities ``a = b = c`` (``z_t = \\Phi(x_t) = W_x x_t``): the last side, the
    most explicit, defines the first; a chain with an approximation defines nothing."""
    if not isinstance(expr, nt.Chain) or any(r != "=" for r in expr.relations):
        return None
    return expr.terms[0], expr.terms[-1]


def read_equations(text: str, budget: Budget = DEFAULT) -> Reading:
    """Every equation and declaration of a Markdown or LaTeX ``text``, in order, with its line.

    Size caps (bytes, spans) are checked first (:class:`symrnn.core.budget.SizeLimit`); each span is read under the
    parser's own length, nesting and time limits.  Relations other than ``=`` and spans that read to no relation
    are left out.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected the cell's text (str), got {type(text).__name__}")
    check_count(len(text.encode("utf-8", "surrogatepass")), budget.max_bytes, "bytes", "the budget's max_bytes")
    spans = find_spans(text)
    check_count(len(spans), budget.max_spans, "math spans", "the budget's max_spans")
    limits = Limits.from_budget(budget)
    decls: list[Declaration] = []
    pending: list[tuple[int, str]] = []
    for span in spans:
        line = _body_line(text, span.start, span.text, span.line)
        found = _declared(span.text, line, limits)
        if found is None:
            pending.append((line, _SCRIPT_LETTER.sub(r"\1", span.text)))
        else:
            decls.extend(found)
    sizes = notation_for([body for _, body in pending])
    readable = bold_accents([body for _, body in pending])
    eqs: list[Equation] = []
    for (line, body), marked in zip(pending, readable):
        try:
            expr = parse_math(marked, notation=sizes, limits=limits, backend="none").expr
        except ParseError as exc:
            if _DEFINES.search(body) or _LOOKS_LIKE_LOSS.search(body):
                raise _parse_error(exc, marked, line) from None
            continue
        items = expr if isinstance(expr, tuple) else (expr,)
        sides = [(e.lhs, e.rhs) if isinstance(e, sp.Equality) else _chain_sides(e) for e in items]
        relations = [pair for pair in sides if pair is not None]
        for (at, row), (lhs, rhs) in zip(_row_lines(body, line, len(relations)), relations):
            eqs.append(Equation(at, row, lhs, rhs))
    return Reading(tuple(eqs), tuple(decls))
