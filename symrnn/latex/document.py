"""``symrnn.read(text)``: every math span of a document read into SymPy, the notation the document uses, and the
spans that could not be read, each with its reason and position.

The notation is inferred from what was read, not from a fixed list: a declaration (``W \\in \\mathbb{R}^{h \\times
d}``) gives a name's kind and shape; otherwise a name read as a vector (``\\vec{h}_t``,
``\\mathbf{h}_t``, ...) is a vector, a matrix symbol is a matrix with its shape, an applied name is a function, any
other symbol a scalar.  A document that writes vectors in more than one style (``\\vec{h}`` here, ``\\mathbf{h}``
there) gets a named warning, not a silent mix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import sympy as sp

from symrnn import notation as nt
from symrnn.core.budget import DEFAULT, Budget, check_count
from symrnn.latex.declarations import Declared, declarations
from symrnn.latex.parse import DEFAULT_LIMITS, DEFAULT_SIZES, Limits, ParseError, Sizes, parse_math
from symrnn.latex.spans import find_spans

#: How a document may mark a vector; the first group is the marker's name.
_VECTOR_STYLE = re.compile(r"\\(vec|mathbf|boldsymbol|bm)\s*\{\s*(?:\\[a-zA-Z]+\s*\{\s*)?[a-z]")


@dataclass(frozen=True)
class ReadSpan:
    """One math span: where it is, its text, and what it read to (``expr``) or why it did not (``reason``, with the
    0-based character ``position`` in the span and the kind of :class:`ParseError`, e.g. ``UnknownMacro``)."""

    line: int
    text: str
    expr: Any = None
    reason: str = ""
    position: int | None = None
    kind: str = ""

    @property
    def read(self) -> bool:
        return not self.reason


@dataclass(frozen=True)
class Notation:
    """The names a document uses, by kind; ``shapes`` gives each vector's and matrix's shape as read."""

    vectors: frozenset[str] = frozenset()
    matrices: frozenset[str] = frozenset()
    scalars: frozenset[str] = frozenset()
    functions: frozenset[str] = frozenset()
    shapes: dict[str, tuple] = field(default_factory=dict)
    vector_styles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    """What :func:`read` found: the spans in order, the notation, and warnings about the notation."""

    spans: tuple[ReadSpan, ...]
    notation: Notation
    warnings: tuple[str, ...] = ()

    @property
    def unread(self) -> tuple[ReadSpan, ...]:
        return tuple(s for s in self.spans if not s.read)

    @property
    def exprs(self) -> list[Any]:
        return [s.expr for s in self.spans if s.read]


def _find(text: str) -> list[tuple[int, str]]:
    """(line, body) of every math span."""
    return [(s.line, s.text) for s in find_spans(text)]


def read(text: str, budget: Budget = DEFAULT) -> Document:
    """Read every math span of a Markdown or LaTeX ``text`` within ``budget`` (size caps checked first; each span
    under the parser's own time and nesting limits).  Never raises for what a span holds: a span that cannot be read
    is kept with its reason."""
    check_count(len(text.encode("utf-8", "surrogatepass")), budget.max_bytes, "bytes", "--max-bytes")
    found = _find(text)
    check_count(len(found), budget.max_spans, "math spans", "--max-spans")
    limits = Limits.from_budget(budget)
    seen: dict[str, ReadSpan] = {}
    for _, body in found:
        if body not in seen:
            seen[body] = read_span(body, limits)
    _read_again_with_gates(seen, limits)
    spans = []
    for line, body in found:
        first = seen[body]
        spans.append(ReadSpan(line, body, first.expr, first.reason, first.position, first.kind))
    notation = infer(s.expr for s in spans if s.read)
    styles = _styles(found)
    notation = Notation(notation.vectors, notation.matrices, notation.scalars, notation.functions, notation.shapes,
                        tuple(styles))
    warnings = ()
    if len(styles) > 1:
        where = "; ".join(f"\\{name} first on line {line}" for name, line in styles.items())
        warnings = (f"vectors are written in {len(styles)} styles ({where}): read as one notation, check that "
                    "each name means one thing",)
    return Document(tuple(spans), notation, warnings)


def read_span(body: str, limits: Limits = DEFAULT_LIMITS, notation: Sizes = DEFAULT_SIZES) -> ReadSpan:
    """One span's reading (line 0): declarations, else the parser; a :class:`ParseError` becomes the reason."""
    try:
        declared = declarations(body, limits, notation)
        if declared is not None:
            return ReadSpan(0, body, declared if len(declared) > 1 else declared[0])
        return ReadSpan(0, body, parse_math(body, notation=notation, limits=limits, backend="none").expr)
    except ParseError as exc:
        return ReadSpan(0, body, None, exc.reason, exc.pos, type(exc).__name__)


def _read_again_with_gates(seen: dict[str, ReadSpan], limits: Limits) -> None:
    """Vectors written without a mark, as the document uses them: a name that some span had to read as a vector
    (a gate, ``f_t \\odot c_{t-1}``) is a vector in every span.  The spans that read such a name as a number
    (``f_t = \\sigma(...)``), or did not read, are read again with those gates; a new reading replaces the old
    one only when it reads."""
    gates: dict[str, Any] = {}
    for span in seen.values():
        for item in _items(span.expr):
            for node in sp.preorder_traversal(item):
                if isinstance(node, nt.Gate):
                    gates.setdefault(node.base, node.shape[0])
    if not gates:
        return
    sizes = replace(DEFAULT_SIZES, gates=gates)
    for body, span in seen.items():
        if span.read and not any(isinstance(node, sp.Indexed) and str(node.base.label) in gates
                                 and len(node.indices) == 1
                                 for item in _items(span.expr) for node in sp.preorder_traversal(item)):
            continue
        again = read_span(body, limits, sizes)
        if again.read:
            seen[body] = again


def _items(expr: Any) -> list:
    return [item for item in (expr if isinstance(expr, tuple) else (expr,)) if isinstance(item, sp.Basic)]


def _styles(found: list[tuple[int, str]]) -> dict[str, int]:
    """Each vector style the spans use, with the line of its first use."""
    styles: dict[str, int] = {}
    for line, body in found:
        for m in _VECTOR_STYLE.finditer(body):
            styles.setdefault(m.group(1), line)
    return styles


def infer(exprs: Iterable[Any]) -> Notation:
    """The names in ``exprs`` by kind (a name seen as a vector, matrix or function anywhere is not also a scalar;
    words written as text and random variables are labels, not scalars)."""
    kinds: dict[str, set[str]] = {k: set() for k in ("vectors", "matrices", "scalars", "functions", "labels")}
    shapes: dict[str, tuple] = {}
    declared: dict[str, tuple] = {}
    stack = [item for expr in exprs for item in (expr if isinstance(expr, tuple) else (expr,))
             if isinstance(item, sp.Basic)]
    while stack:
        node = stack.pop()
        if isinstance(node, Declared):
            if node.name:
                declared.setdefault(node.name, node.shape)
            continue
        kind, name, rest = _kind(node)
        if kind:
            kinds[kind].add(name)
            if kind in ("vectors", "matrices"):
                shapes.setdefault(name, tuple(node.shape))
        stack.extend(a for a in rest if isinstance(a, sp.Basic))
    for name, (rows, cols) in declared.items():  # a declaration says what a name is, whatever the defaults said
        for kind in ("vectors", "matrices", "scalars"):
            kinds[kind].discard(name)
        kinds["scalars" if rows == cols == 1 else "vectors" if cols == 1 else "matrices"].add(name)
        shapes[name] = (rows, cols)
    scalars = kinds["scalars"] - kinds["vectors"] - kinds["matrices"] - kinds["functions"] - kinds["labels"]
    return Notation(frozenset(kinds["vectors"]), frozenset(kinds["matrices"]), frozenset(scalars),
                    frozenset(kinds["functions"]), shapes)


def _kind(node: sp.Basic) -> tuple[str, str, tuple]:
    """(kind, name, the arguments still to visit) of one node; kind "" for a node that names nothing."""
    if isinstance(node, nt.Vec):
        return "vectors", node.base, (node.time,)
    if isinstance(node, sp.MatrixSymbol):
        return ("vectors" if node.shape[1] == 1 else "matrices"), str(node.name), ()
    if isinstance(node, nt.Applied):
        return "functions", node.name, node.arguments
    if isinstance(node, nt.FunctionEntry):
        return "functions", node.name, (node.index, node.argument)
    if isinstance(node, (nt.Text, nt.RV)):
        return "labels", node.name, node.args[1:]
    if isinstance(node, sp.core.function.AppliedUndef) or (isinstance(node, sp.Function)
                                                            and not isinstance(node, sp.Piecewise)):
        return "functions", type(node).__name__, node.args
    if isinstance(node, sp.Symbol):
        return "scalars", node.name, ()
    return "", "", node.args
