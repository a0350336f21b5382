"""The recurrent cell and the loss a document defines, read from its definition spans with
:func:`symrnn.derive.shown.cell_text` (the reader :func:`symrnn.derive.read_cell` uses), and what a claim about its
BPTT needs to be read in the document's own notation: the reader's sizes, the vector style, the loss's name and the
errors the document names (``\\delta_t = \\frac{\\partial L}{\\partial h_t}``).

A definition span defines a quantity at t (``q_t = ...``) and holds no derivative and no ``t+1``; a loss span is
``L = ...`` against ``y``; a declaration gives sizes.  Nothing is evaluated here and no user text is executed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import sympy as sp

from symrnn import notation as nt
from symrnn.audit.declarations import declared_shapes, size_settings
from symrnn.audit.per_step_loss import ABSTRACT, PerStepLoss, find_per_step
from symrnn.core.budget import DEFAULT
from symrnn.derive.equations import bold_accents, notation_for
from symrnn.derive.errors import CellError
from symrnn.derive.loss_reading import CROSS_ENTROPY, SQUARED
from symrnn.latex.parse import Limits, ParseError, Sizes, parse_math
from symrnn.latex.spans import find_spans

#: ``h_t =``, ``\mathbf{h}_{t} &=``: a span that defines something at t.
_DEFINES = re.compile(r"(?:_\s*(?:t|\{\s*t\s*\})|\^\s*\{\s*\(\s*t\s*\)\s*\})\s*&?\s*=")  # also h^{(t)} =
#: ``L =``, ``\mathcal{L} =``, ``E =``: a loss's left side.
_LOSS = re.compile(r"^\s*(?:L|E|J|\\math(?:cal|scr)\s*\{\s*[LEJ]\s*\})\s*=.*y", re.S)
#: What a definition never holds: a derivative, a named error, a later time, an approximation or an update.
_NOT_DEFINITION = re.compile(r"\\partial|\\nabla|\\frac\s*\{\s*d|\\delta|\\approx|\\leftarrow|t\s*\+\s*1")
_DECLARATION = re.compile(r"\\in\s*\\mathbb\s*\{\s*R\s*\}")
_SCRIPT = re.compile(r"\\math(?:cal|scr)\s*\{\s*([A-Za-z])\s*\}")
_STYLES = (("mathbf", r"\mathbf{"), ("boldsymbol", r"\boldsymbol{"), ("bm", r"\bm{"), ("vec", r"\vec{"))
MAX_DEFINITIONS = 40  #: a cell has a few equations; a document with more definitions is not read as one
MAX_SIZE = 6  #: larger declared sizes are checked at N = 2, D = 2 (the claims do not depend on the sizes)


@dataclass
class CellModel:
    """The cell as written (equations in order, intermediates by name), its loss, and the notation of its text."""

    equations: tuple  # symrnn.derive.shown.Shown, in the order computed
    states: tuple[str, ...]
    params: dict[str, tuple[int, int]]
    n: int
    m: int
    loss: str | None  # SQUARED, CROSS_ENTROPY, or None when the document states none
    output: str  # the quantity the loss reads
    loss_name: str = "L"
    style: str = "plain"
    sizes: Sizes | None = None
    aliases: dict[str, nt.VecDerivative] = field(default_factory=dict)  # "delta" -> dL/dh_t
    latex_names: dict[str, str] = field(default_factory=dict)
    marked: tuple[str, ...] = ()  # the parameters' capital letters the document writes in its vector style
    guessed: bool = False  # the loss (and the quantity it reads) taken from the prose: no equation states it
    loss_line: int | None = None  # the line of the loss equation, when one states it
    transpose: str = r"^\top"  # the document's transpose mark (``^T``, ``^\top``, ``^\intercal``, ``^\mathsf{T}``)
    per_step: PerStepLoss | None = None  # the loss through a function the document does not define (ABSTRACT)
    declared: dict = field(default_factory=dict)  # name -> (rows, cols), symbolic, as the document declares them
    size_settings: tuple = ()  # (line, ((size, number), ...)): where the document sets declared sizes to numbers
    unread_loss: str | None = None  # why a loss the document writes was not read (no loss read)

    @property
    def quantities(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.equations)


@dataclass(frozen=True)
class NoCell:
    """Why the document's cell could not be read (None when it defines none)."""

    reason: str | None


def _kind(text: str) -> str | None:
    if _DECLARATION.search(text):
        return "declaration"
    if _NOT_DEFINITION.search(text):
        return None
    if _LOSS.search(text):
        return "loss"
    found = _DEFINES.search(text)
    if found is None:
        return None
    before = text[:found.start()]  # ``\Pr(\xi_t = 0)``: an event inside brackets defines nothing
    return "definition" if before.count("(") <= before.count(")") else None


def definition_text(source: str) -> tuple[str, list[str]]:
    """The document's definition, loss and declaration spans, each on its own line as ``$$...$$`` (lines kept), and
    the bodies of every span (for the reader's notation)."""
    out: list[str] = []
    bodies: list[str] = []
    line = 1
    for span in find_spans(source):
        bodies.append(_SCRIPT.sub(r"\1", span.text))
        if _kind(span.text) is None:
            continue
        if span.line > line:
            out.append("\n" * (span.line - line))
            line = span.line
        body = _SCRIPT.sub(r"\1", span.text)
        out.append(f"$${body}$$ ")
        line += body.count("\n")
    return "".join(out), bodies


_TRANSPOSES = ((r"^\top", re.compile(r"\^\s*\\top\b")),
               (r"^T", re.compile(r"\^\s*(?:T(?![A-Za-z0-9_])(?!\s*[-+])|\{\s*T\s*\})")),
               (r"^\intercal", re.compile(r"\^\s*\\intercal\b")),
               (r"^\mathsf{T}", re.compile(r"\^\s*\{?\\mathsf\s*\{\s*T\s*\}")))


_BOUNDS = re.compile(r"\\(?:sum|prod)\s*_\s*(?:\{[^{}]*\}|\w)\s*\^\s*(?:\{[^{}]*\}|\w)")


def _transpose_mark(text: str) -> str:
    """The transpose mark the document writes most (``^\\top`` when it writes none); a sum's or product's upper
    bound (``\\sum_{t=1}^T``) is not one."""
    text = _BOUNDS.sub("", text)
    found = [(len(pattern.findall(text)), -n, mark) for n, (mark, pattern) in enumerate(_TRANSPOSES)]
    count, _, mark = max(found)
    return mark if count else r"^\top"


def _style(text: str) -> str:
    found = [(text.count(mark), name) for name, mark in _STYLES if mark in text]
    return max(found)[1] if found else "plain"


def _loss_from_prose(source: str) -> str | None:
    low = source.lower()
    if "cross-entropy" in low or "cross entropy" in low:
        return CROSS_ENTROPY
    if "squared error" in low or "squared-error" in low:
        return SQUARED
    return None


def read_model(source: str) -> CellModel | NoCell:
    """The cell and loss ``source`` defines; :class:`NoCell` (with the reason) when it defines none that reads."""
    from symrnn.derive.cell_reading import loss_equation
    from symrnn.derive.shown import cell_text

    text, bodies = definition_text(source)
    if not _DEFINES.search(text):
        return NoCell(None)
    if text.count("$$") > 2 * MAX_DEFINITIONS:
        return NoCell(f"more than {MAX_DEFINITIONS} definitions: not read as one recurrent cell")
    unread = None
    try:
        loss = loss_equation(text)
    except (CellError, ValueError, TypeError) as exc:
        loss, text = None, _LOSS_LINE.sub("", text)  # a loss symrnn cannot read: the prose may still name one
        unread = str(exc).splitlines()[0][:200]
    if loss is None and unread is None:
        unread = _loss_without_target(source)
    per_step = None if loss else find_per_step(source, notation_for(bodies), Limits())
    try:
        cell, text = _concrete_cell(text, loss.quantity if loss else per_step.quantity if per_step else None)
    except (CellError, ValueError, TypeError) as exc:
        return NoCell(f"the cell could not be read: {str(exc).splitlines()[0][:160]}")
    equations = cell.equations
    n = int(equations[-1].lhs.shape[0])
    inputs = [a for e in equations for a in e.rhs.atoms(nt.Vec) if a.base == "x"]
    m = int(inputs[0].shape[0]) if inputs else 1
    if n > MAX_SIZE or m > MAX_SIZE:
        cell = cell_text(_DECLARATION_LINE.sub("", text), n_state=2, n_input=2,
                         output=loss.quantity if loss else None)
        equations, n, m = cell.equations, 2, 2
    params = {str(p.name): (int(p.shape[0]), int(p.shape[1])) for e in equations
              for p in e.rhs.atoms(sp.MatrixSymbol) if not isinstance(p, nt.Vec)}
    states = tuple(e.name for e in equations if e.state)
    output = loss.quantity if loss else per_step.quantity if per_step and per_step.quantity in states \
        else ("h" if "h" in states else states[-1])
    kind = loss.kind if loss else ABSTRACT if per_step and per_step.quantity == output \
        else _loss_from_prose(_without_math(source))
    model = CellModel(equations, states, params, n, m, kind, output, style=_style(source),
                      transpose=_transpose_mark(source),
                      sizes=_with_parameters(notation_for(bodies), params, n, m), latex_names=dict(cell.latex_names))
    model.guessed = loss is None and kind not in (None, ABSTRACT)
    model.unread_loss = unread if loss is None else None
    model.loss_line = loss.line if loss is not None else None
    model.loss_name = per_step.name if kind == ABSTRACT else _loss_name(text)
    model.per_step = per_step if kind == ABSTRACT else None
    model.declared, model.size_settings = declared_shapes(source), size_settings(source)
    if model.style != "plain":
        mark = dict(_STYLES)[model.style]
        model.marked = tuple(sorted({name.split("_")[0] for name in params if name[:1].isupper()
                                     and f"{mark}{name[0]}}}" in source}))
    return model


_LOSS_SIDE = re.compile(r"^\s*(?:L|E|J|\\math(?:cal|scr)\s*\{\s*[LEJ]\s*\})\s*=.*\\sum", re.S)


def _loss_without_target(source: str) -> str | None:
    """Why a loss written ``L = ... \\sum ...`` was not read when it names no target ``y``, or None."""
    for span in find_spans(source):
        if _LOSS_SIDE.search(span.text) and not _LOSS.search(span.text):
            return (f"the loss on line {span.line} names no target y (symrnn reads a loss whose target is y_t, "
                    "\\mathbf{y}_t or y_{j,t}; a document whose y_t is another quantity is not read)")
    return None


def _with_parameters(sizes: Sizes, params: dict[str, tuple[int, int]], n: int, m: int) -> Sizes:
    """The reader's notation with each of the cell's parameters at the shape the cell gives it (a recurrent ``W`` is
    N x N, not the lecture's N x (V+1)), so that a claim such as ``(W^\\top)^{T-t}`` reads."""
    inputs = sizes.vectors.get("x", sizes.default_size)

    def size(k: int):
        return sizes.default_size if k == n else inputs if k == m else k

    return replace(sizes, matrices={**sizes.matrices, **{name: (size(r), size(c)) for name, (r, c) in params.items()}})


def _concrete_cell(text: str, output: str | None):
    """The cell of ``text`` and the text it was read from.  When the whole text does not read, the definitions
    through a function no cell can use (``h_t = f(x_t, h_{t-1}, w)``: an abstract model the document states before
    its concrete one) are left out and the rest read again."""
    from symrnn.derive import cell_reading as cr
    from symrnn.derive.errors import UnsupportedFunction
    from symrnn.derive.shown import cell_text

    try:
        return cell_text(text, output=output), text
    except CellError as first:
        try:
            definitions, _ = cr._definitions(text, DEFAULT)
        except CellError:
            raise first from None
        abstract = {d.line for d in definitions if isinstance(d.error, UnsupportedFunction)}
        if not abstract:
            raise
    lines = text.split("\n")
    kept = "\n".join("" if n in abstract else line for n, line in enumerate(lines, start=1))
    return cell_text(kept, output=output), kept


_LOSS_LINE = re.compile(r"\$\$\s*(?:L|E|J)\s*=[^$]*\$\$")
_DECLARATION_LINE = re.compile(r"\$\$[^$]*\\in\s*\\mathbb\s*\{\s*R\s*\}[^$]*\$\$")


def _without_math(source: str) -> str:
    return re.sub(r"\$\$.*?\$\$|\$[^$]*\$", " ", source, flags=re.S)


def _loss_name(text: str) -> str:
    found = re.search(r"\$\$\s*(L|E|J)\s*=", text)
    return found.group(1) if found else "L"


def claim_text(body: str) -> str:
    """A span's LaTeX as the claim reader reads it: script letters plain, accented letters marked as vectors."""
    return bold_accents([_SCRIPT.sub(r"\1", body)])[0]


def parse_claim(model: CellModel, body: str, limits: Limits) -> sp.Basic:
    """A span read in the document's notation (plain letters with a time index are vectors; a vector with its time
    as a superscript, Goodfellow et al.'s ``\\boldsymbol{h}^{(t)}``, is the quantity at t)."""
    expr = parse_math(claim_text(body), notation=model.sizes, limits=limits, backend="none").expr
    return tuple(_timed(e) for e in expr) if isinstance(expr, tuple) else _timed(expr)


_VECTOR_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*")  # a vector's base name (y_j^{(t)}, an entry, stays as read)


def _timed(expr):
    """``h^{(t)}`` (the reader's copy of h at step t) as the vector ``h_t``; a relation keeps its sides unevaluated
    (an equation between a vector and a scalar is a claim to check, not False)."""
    if not isinstance(expr, sp.Basic):
        return expr
    swap = {e: nt.Vec(str(e.matrix.name), e.step, e.matrix.shape[0]) for e in sp.preorder_traversal(expr)
            if isinstance(e, nt.LayerCopy) and isinstance(e.matrix, sp.MatrixSymbol) and e.matrix.shape[1] == 1
            and e.step.free_symbols & {nt.t, nt.T} and _VECTOR_NAME.fullmatch(str(e.matrix.name))}
    if not swap:
        return expr
    if isinstance(expr, sp.Eq):
        return sp.Eq(expr.lhs.xreplace(swap), expr.rhs.xreplace(swap), evaluate=False)
    if isinstance(expr, nt.Chain):
        return nt.Chain([t.xreplace(swap) for t in expr.terms], expr.relations)
    if isinstance(expr, nt.Approx):
        return nt.Approx(expr.args[0].xreplace(swap), expr.args[1].xreplace(swap))
    return expr.xreplace(swap)


def find_aliases(model: CellModel, source: str, limits: Limits) -> None:
    """The errors the document names: ``\\delta_t = \\frac{\\partial L}{\\partial h_t}`` makes ``delta`` an alias."""
    for span in find_spans(source):
        if r"\partial" not in span.text and r"\nabla" not in span.text:
            continue
        try:
            expr = parse_claim(model, span.text, limits)
        except ParseError:
            continue
        for rel in expr if isinstance(expr, tuple) else (expr,):
            if isinstance(rel, sp.Eq) and isinstance(rel.lhs, nt.Vec) and isinstance(rel.rhs, nt.VecDerivative) \
                    and rel.lhs.time == nt.t and isinstance(rel.rhs.variable, nt.Vec) \
                    and rel.rhs.variable.time == nt.t and rel.lhs.base not in model.quantities:
                model.aliases.setdefault(rel.lhs.base, rel.rhs)
