"""The sizes a document declares (``\\mathbf{x}_t \\in \\mathbb{R}^d``, ``W_{hx} \\in \\mathbb{R}^{h \\times d}``,
``\\partial L/\\partial \\mathbf{o}_t \\in \\mathbb{R}^q``), wherever they stand (prose spans too), read by
:func:`symrnn.latex.declarations.declarations` (the reader ``symrnn derive`` uses), and every product and sum of a
claim checked against them with the sizes kept symbolic (h, d, q): a mismatch names both shapes.

A name is looked up by its identity (a vector's letter ``h``, a matrix's ``W_hx``), never by the sizes the default
reading filled in; a derivative of the loss has its variable's shape.  What is not declared is unknown, and an
unknown shape is never a mismatch.
"""

from __future__ import annotations

import functools

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symrnn import notation as nt
from symrnn.audit.findings import Finding
from symrnn.latex.declarations import _SET, Declared, declarations
from symrnn.latex.parse import DEFAULT_LIMITS, ParseError
from symrnn.latex.parse.objects import MatrixAt
from symrnn.latex.printer import latex
from symrnn.latex.spans import find_spans

CHECK, DECLARATION = "sizes", "declaration"
Shape = tuple[sp.Expr, sp.Expr]


class SizeConflict(ValueError):
    """A product or sum whose declared sizes do not fit."""


def _plain(e) -> sp.Expr:
    e = sp.sympify(e)
    return e.xreplace({s: sp.Symbol(s.name) for s in e.free_symbols})


def _key(obj) -> str | None:
    """The name a declaration or a use is looked up by: ``h`` for ``h_t``, ``W_hx`` for a matrix."""
    if isinstance(obj, nt.Vec):
        return obj.base
    if isinstance(obj, MatrixAt):  # D2L's minibatch matrices, \mathbf{H}_t
        return obj.name
    if isinstance(obj, sp.Indexed) and len(obj.indices) == 1:
        return str(obj.base.label)
    if isinstance(obj, (sp.MatrixSymbol, sp.Symbol)):
        return str(obj.name)
    return None


def span_declarations(text: str) -> tuple[Declared, ...] | None:
    """The declarations a span makes, or None when it is not (only) declarations or one cannot be read."""
    if r"\in" not in text:
        return None
    try:
        return declarations(text, DEFAULT_LIMITS)
    except (ParseError, ValueError, TypeError, RecursionError):
        return None


@functools.lru_cache(maxsize=8)
def declared_shapes(source: str) -> dict[str, Shape]:
    """Every name a document declares and its shape (rows, cols), the first declaration winning."""
    out: dict[str, Shape] = {}
    for span in find_spans(source):
        for dec in span_declarations(span.text) or ():
            key = _key(dec.obj)
            if key is not None:
                out.setdefault(key, (_plain(dec.shape[0]), _plain(dec.shape[1])))
    return out


@functools.lru_cache(maxsize=8)
def size_settings(source: str) -> tuple[tuple[int, tuple[tuple[str, int], ...]], ...]:
    """Where the document sets sizes it has declared to a number (``d = h = q = 1`` after ``x_t \\in
    \\mathbb{R}^d``): the line and the sizes.  A letter set before it is declared as a size is something else."""
    names: set[str] = set()
    out = []
    for span in find_spans(source):
        for dec in span_declarations(span.text) or ():
            names |= {str(x) for e in dec.shape for x in sp.sympify(e).free_symbols}
        parts = [p.strip() for p in span.text.strip().rstrip(".,;").split("=")]
        numbers = {p for p in parts if p.isdigit()}
        letters = [p for p in parts if p in names]
        if len(parts) > 1 and len(numbers) == 1 and len(letters) == len(parts) - 1:
            out.append((span.line, tuple((name, int(next(iter(numbers)))) for name in letters)))
    return tuple(out)


def doc_sizes(holder, line: int | None = None) -> dict[str, Shape]:
    """The declared shapes a cell model or a document carries (``declared``; else those of its prose), with the
    sizes the document sets to numbers before ``line`` put in (none when no line is given)."""
    found = getattr(holder, "declared", None)
    settings = getattr(holder, "size_settings", ())
    if found is None and isinstance(getattr(holder, "prose", None), str):
        found, settings = declared_shapes(holder.prose), size_settings(holder.prose)
    rule = {sp.Symbol(name): sp.Integer(value) for at, pairs in settings if line is not None and at <= line
            for name, value in pairs}
    if not rule:
        return found or {}
    return {key: (r.xreplace(rule), c.xreplace(rule)) for key, (r, c) in (found or {}).items()}


def _latex(node) -> str:
    """``node`` as LaTeX; a name the printer refuses (``\\overrightarrow{H}``) as its plain text."""
    try:
        if isinstance(node, sp.Basic) and node.has(MatrixAt):  # \\mathbf{H}_{t-1} as H_{t - 1}
            text = latex(node.xreplace({m: sp.MatrixSymbol(f"MATRIXAT{n}", *m.shape)
                                        for n, m in enumerate(node.atoms(MatrixAt))}))
            for n, m in enumerate(node.atoms(MatrixAt)):
                text = text.replace(f"MATRIXAT{n}", f"{m.name}_{{{latex(m.time)}}}")
            return text
        return latex(node)
    except (ValueError, TypeError, NotImplementedError):  # a product SymPy cannot print: name its kind
        return type(node).__name__


def _text(shape: Shape) -> str:
    return f"{_latex(shape[0])} x {_latex(shape[1])}"


def _same(a, b) -> bool:
    return sp.expand(_plain(a) - _plain(b)) == 0


def _product(node, sizes: dict[str, Shape]) -> Shape | None:
    shape: Shape | None = None
    left = None
    for factor in node.args:
        if not isinstance(factor, sp.MatrixExpr):
            if _declared_array(factor, sizes):
                return None  # a declared vector read as a number: the product's order is lost
            continue
        here = shape_of(factor, sizes)
        if shape is not None and here is not None and not _same(shape[1], here[0]):
            raise SizeConflict(f"multiplies {_latex(left)} ({_text(shape)}) by {_latex(factor)} ({_text(here)})")
        shape = (shape[0], here[1]) if shape is not None and here is not None else here if left is None else None
        left = factor if left is None else sp.MatMul(left, factor)
    return shape


def _declared_array(node, sizes: dict[str, Shape]) -> bool:
    """Whether a factor the reader took for a number holds a name declared as a vector or a matrix."""
    for leaf in sp.preorder_traversal(node):
        key = _key(leaf) if isinstance(leaf, (sp.Indexed, sp.Symbol)) else None
        if key in sizes and not (_same(sizes[key][0], 1) and _same(sizes[key][1], 1)):
            return True
    return False


def _sum(node, sizes: dict[str, Shape]) -> Shape | None:
    shapes = [(a, shape_of(a, sizes)) for a in node.args if isinstance(a, sp.MatrixExpr)]
    known = [(a, s) for a, s in shapes if s is not None]
    widest = known[0][1] if known else None
    for (a, s), (b, u) in zip(known, known[1:], strict=False):
        if not all(_same(x, y) or _same(x, 1) or _same(y, 1) for x, y in zip(s, u, strict=True)):
            raise SizeConflict(f"adds {_latex(a)} ({_text(s)}) and {_latex(b)} ({_text(u)})")
        widest = tuple(y if _same(x, 1) else x for x, y in zip(widest, u, strict=True))  # a row or column broadcast
    return widest if known and len(known) == len(shapes) else None


def shape_of(node, sizes: dict[str, Shape]) -> Shape | None:  # noqa: C901 - one branch per node kind
    """The declared shape of ``node`` (None when something in it is not declared); :class:`SizeConflict` when a
    product or sum in it does not fit."""
    if isinstance(node, nt.VecDerivative):
        if isinstance(node.expr, (nt.Vec, sp.Indexed)):
            return None  # a Jacobian: its layout is the author's
        return shape_of(node.variable, sizes)
    key = _key(node) if isinstance(node, (nt.Vec, sp.Indexed, sp.MatrixSymbol, MatrixAt)) else None
    if key is not None:
        return sizes.get(key)
    if isinstance(node, sp.Transpose):
        inner = shape_of(node.arg, sizes)
        return (inner[1], inner[0]) if inner else None
    if isinstance(node, sp.MatMul):
        return _product(node, sizes)
    if isinstance(node, (sp.MatAdd, sp.HadamardProduct)):
        return _sum(node, sizes)
    if isinstance(node, sp.MatPow):
        inner = shape_of(node.args[0], sizes)
        if inner is not None and not _same(*inner):
            raise SizeConflict(f"raises {_latex(node.args[0])} ({_text(inner)}), which is not square, to a power")
        return inner
    if isinstance(node, (sp.Sum, sp.Product)):
        return shape_of(node.function, sizes)
    if isinstance(node, (nt.Parenthesised, ElementwiseApplyFunction)):
        return shape_of(node.args[0] if isinstance(node, nt.Parenthesised) else node.expr, sizes)
    return None


def sizes_conflict(sizes: dict[str, Shape], rel) -> str | None:
    """What in a claim does not fit the declared sizes (its sides included), or None."""
    if not sizes:
        return None
    try:
        left, right = shape_of(rel.lhs, sizes), shape_of(rel.rhs, sizes)
    except SizeConflict as exc:
        return str(exc)
    except (TypeError, ValueError, AttributeError, RecursionError):
        return None
    if left is not None and right is not None and not (_same(left[0], right[0]) and _same(left[1], right[1])):
        return f"the left side is {_text(left)} and the right side {_text(right)}"
    return None


def _declared(text: str, shape: Shape) -> str | None:
    """A one-declaration span with ``shape`` in place of the one it declares (None for several)."""
    sets = list(_SET.finditer(text))
    if len(sets) != 1:
        return None
    size = _latex(shape[0]) if _same(shape[1], 1) else f"{_latex(shape[0])} \\times {_latex(shape[1])}"
    return text[:sets[0].start()] + f"\\in \\mathbb{{R}}^{{{size}}}" + text[sets[0].end():]


def check_declaration(span, doc, out: list[Finding]) -> None:
    """A span that declares sizes: ``ok`` with what it declares, or an ``error`` naming both shapes when a
    derivative's declared shape differs from its variable's, or a name is declared twice with two shapes."""
    found = span_declarations(span.text)
    if not found:
        return
    sizes = doc_sizes(doc)
    shown = []
    for dec in found:
        shape = (_plain(dec.shape[0]), _plain(dec.shape[1]))
        key = _key(dec.obj)
        if isinstance(dec.obj, nt.VecDerivative) and not isinstance(dec.obj.expr, (nt.Vec, sp.Indexed)):
            var = shape_of(dec.obj.variable, sizes)
            if var is not None and not (_same(var[0], shape[0]) and _same(var[1], shape[1])):
                out.append(Finding(span.line, "error", f"declares {_latex(dec.obj)} as {_text(shape)}, but "
                                   f"{_latex(dec.obj.variable)} is {_text(var)} (a gradient has its variable's "
                                   "shape)", DECLARATION, _declared(span.text, var)))
                continue
        elif key is not None and key in sizes and not (_same(sizes[key][0], shape[0])
                                                        and _same(sizes[key][1], shape[1])):
            out.append(Finding(span.line, "error", f"declares {key} as {_text(shape)}, but it was declared "
                               f"{_text(sizes[key])} before", DECLARATION))
            continue
        shown.append(f"{_latex(dec.obj)} in R^({_text(shape)})")
    if shown:
        out.append(Finding(span.line, "ok", "declares " + ", ".join(shown), DECLARATION))
