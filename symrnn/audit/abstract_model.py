"""The abstract recurrent model a document states with undefined functions: ``h_t = f(x_t, h_{t-1}, w)``,
``o_t = g(h_t, w)`` and a loss ``L = \\sum_{t=1}^T l(y_t, o_t)`` (or ``\\frac{1}{T}\\sum_t``), read from the spans
the audit already parsed (:mod:`.reading`), and unrolled over a few steps with SymPy undefined functions.

A quantity is defined by one application of a function the document never defines (``f``, ``g``, ``\\ell``) to
names only; a name with a time index that is never defined is an input; a name without one is a parameter (``w``,
``w_h``); bold names are vectors (two entries in the unrolling), plain ones scalars.  The definition of a name in
force at a line is the last one before it: a name later defined by a concrete formula (``\\mathbf{h}_t =
\\mathbf{W} \\mathbf{x}_t``) is no longer abstract there.  Nothing is executed; no user text is evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp
from sympy.core.function import AppliedUndef

from symrnn import notation as nt
from symrnn.audit.reading import Span, relations

t, T = nt.t, nt.T
VECTOR = 2  #: entries of a vector in the unrolling
#: names that are known nonlinearities, never abstract functions of a model
KNOWN = frozenset({"sigma", "tanh", "softmax", "relu", "phi", "exp", "log", "max", "min", "Pr", "P", "E", "p"})


@dataclass(frozen=True)
class Ref:
    """A leaf: a quantity at a time (``kind`` "q") or a parameter (``kind`` "p", ``time`` None)."""

    kind: str
    name: str
    time: sp.Expr | None = None
    vector: bool = False


@dataclass(frozen=True)
class Definition:
    """``name_t = func(args)``: the function's name and its arguments (leaves in t)."""

    name: str
    func: str
    args: tuple[Ref, ...]
    line: int


@dataclass(frozen=True)
class Loss:
    """``name = scale \\sum_{t=1}^{T} func(args)``."""

    name: str
    func: str
    args: tuple[Ref, ...]
    scale: sp.Expr
    line: int


@dataclass
class AbstractModel:
    """Quantities in the order computed, the loss, and every name's kind and size."""

    quantities: dict[str, Definition]
    loss: Loss | None
    dims: dict[str, int] = field(default_factory=dict)

    @property
    def functions(self) -> set[str]:
        out = {d.func for d in self.quantities.values()}
        return out | ({self.loss.func} if self.loss else set())

    @property
    def params(self) -> list[str]:
        return sorted({a.name for d in self._all() for a in d.args if a.kind == "p"})

    @property
    def inputs(self) -> list[str]:
        return sorted({a.name for d in self._all() for a in d.args if a.kind == "q" and a.name not in self.quantities})

    @property
    def states(self) -> set[str]:
        return {d.name for d in self.quantities.values() if any(a.name == d.name for a in d.args)}

    @property
    def vector(self) -> bool:
        return any(v > 1 for v in self.dims.values())

    def _all(self) -> list:
        return [*self.quantities.values(), *([self.loss] if self.loss else [])]


def _timed(index, bound: frozenset) -> bool:
    if isinstance(index, sp.Integer):
        return True
    names = {s.name for s in getattr(index, "free_symbols", ())}
    return bool(names) and names <= {"t", "T", *bound} and bool(names & {"t", "T", *bound})


def ref(expr, bound: frozenset = frozenset()) -> Ref | None:
    """The leaf ``expr`` is (``h_{t-1}``, ``\\mathbf{x}_t``, ``w``, ``w_h``), or None."""
    if isinstance(expr, sp.Indexed) and len(expr.indices) == 1:
        base, index, vec = str(expr.base.label), expr.indices[0], False
    elif isinstance(expr, nt.Vec):
        base, index, vec = expr.base, expr.time, True
    elif isinstance(expr, sp.MatrixSymbol):
        return Ref("p", str(expr.name), None, expr.shape[1] == 1)
    elif isinstance(expr, sp.Symbol):
        return Ref("p", expr.name)
    else:
        return None
    if _timed(index, bound):
        return Ref("q", base, index, vec)
    if isinstance(index, sp.Symbol):
        return Ref("p", f"{base}_{index.name}", None, vec)
    return None


def application(expr) -> tuple[str, tuple] | None:
    """``(name, args)`` of an undefined function applied (``f(x_t, h_{t-1}, w)``), else None."""
    if isinstance(expr, AppliedUndef):
        name = expr.func.__name__
    elif isinstance(expr, nt.Applied):
        name = expr.name
    else:
        return None
    return (name, tuple(expr.args) if isinstance(expr, AppliedUndef) else tuple(expr.arguments)) \
        if name not in KNOWN else None


def _definition(rel, line: int) -> tuple[str, Definition | None] | None:
    """``(name, Definition)`` for ``q_t = F(leaves)``, ``(name, None)`` for ``q_t = anything else``, else None."""
    if not isinstance(rel, sp.Eq) or isinstance(rel.lhs, sp.Basic) and rel.lhs.atoms(nt.TotalDerivative):
        return None
    lhs = ref(rel.lhs)
    if lhs is None or lhs.kind != "q" or lhs.time != t:
        return None
    app = application(rel.rhs)
    args = tuple(ref(a) for a in app[1]) if app else ()
    if not app or any(a is None for a in args):
        return lhs.name, None
    return lhs.name, Definition(lhs.name, app[0], args, line)


def _loss(rel, line: int) -> Loss | None:
    """``L = c \\sum_{t=1}^T l(args)`` with ``c`` a number or a number over T."""
    if not isinstance(rel, sp.Eq):
        return None
    lhs = rel.lhs
    name = lhs.name if isinstance(lhs, sp.Symbol) else lhs.func.__name__ if isinstance(lhs, AppliedUndef) else None
    if name is None:
        return None
    scale, sums = sp.S.One, []
    for factor in sp.Mul.make_args(rel.rhs):
        if isinstance(factor, sp.Sum):
            sums.append(factor)
        elif isinstance(factor, sp.Expr) and factor.free_symbols <= {T}:
            scale = scale * factor
        else:
            return None
    if len(sums) != 1 or sums[0].limits != ((t, 1, T),):
        return None
    app = application(sums[0].function)
    args = tuple(ref(a) for a in app[1]) if app else ()
    if not app or any(a is None for a in args):
        return None
    return Loss(name, app[0], args, sp.simplify(scale.doit()), line)


def read_abstract(spans: list[Span], line: int) -> AbstractModel | None:
    """The abstract model in force at ``line`` (definitions before it), or None when the document states none
    (no quantity defined from its own previous value through an undefined function)."""
    defs: dict[str, Definition | None] = {}
    loss = None
    for span in spans:
        if span.line > line or span.expr is None:
            continue
        for rel in relations(span.expr):
            found = _definition(rel, span.line)
            if found is not None:
                defs.pop(found[0], None)
                defs[found[0]] = found[1]
                continue
            loss = _loss(rel, span.line) or loss
    quantities = {k: d for k, d in defs.items() if d is not None}
    model = AbstractModel(quantities, loss)
    if not model.states:
        return None
    for d in model._all():
        for a in d.args:
            model.dims.setdefault(a.name, VECTOR if a.vector else 1)
    for d in quantities.values():
        model.dims[d.name] = max(model.dims.get(d.name, 1), VECTOR if any(a.vector for a in d.args) else 1)
    return model


class Unrolled:
    """The model over steps 1..``steps``: every quantity's entries as SymPy undefined functions composed, the
    parameters' and inputs' entries as symbols, initial states as symbols; ``cut`` (name, k) makes that quantity
    at step k a fresh symbol (to differentiate with respect to it)."""

    def __init__(self, model: AbstractModel, steps: int, cut: tuple[str, int] | None = None):
        self.model, self.steps, self.cut = model, steps, cut
        self.params = {p: _column(p, model.dims.get(p, 1)) for p in model.params}
        self.values: dict[tuple[str, int], sp.Matrix] = {}
        self.cut_symbols = _column(f"cut_{cut[0]}_{cut[1]}", model.dims.get(cut[0], 1)) if cut else None
        for name in model.states:
            self.values[(name, 0)] = _column(f"{name}_0", model.dims.get(name, 1))
        for k in range(1, steps + 1):
            for name in model.inputs:
                self.values[(name, k)] = _column(f"{name}_{k}", model.dims.get(name, 1))
            for d in model.quantities.values():
                value = self.apply(d.func, d.args, k, model.dims.get(d.name, 1))
                self.values[(d.name, k)] = self.cut_symbols if cut == (d.name, k) else value

    def leaf(self, r: Ref, k: int | None = None) -> sp.Matrix:
        """A leaf's value (a quantity at step ``k`` given, or at its own time evaluated)."""
        if r.kind == "p":
            if r.name not in self.params:
                raise KeyError(r.name)
            return self.params[r.name]
        if not sp.sympify(k).is_Integer:  # a time holding another name (h_{t - T}): not a step of the unrolling
            raise KeyError(f"{r.name}_{k}")
        key = (r.name, int(k))
        if key not in self.values:
            raise KeyError(f"{r.name}_{k}")
        return self.values[key]

    def point(self, args: tuple[Ref, ...], k: int) -> tuple:
        """The flat arguments of a function applied at step ``k``."""
        flat: list = []
        for a in args:
            flat.extend(self.leaf(a, a.time.xreplace({t: k}) if a.kind == "q" else None))
        return tuple(flat)

    def apply(self, func: str, args: tuple[Ref, ...], k: int, dim: int) -> sp.Matrix:
        flat = self.point(args, k)
        return sp.Matrix([component(func, n, dim)(*flat) for n in range(dim)])

    def loss_terms(self, big_t: int) -> list[sp.Expr]:
        """The per-step losses at steps 1..``big_t``."""
        loss = self.model.loss
        if loss is None:
            raise KeyError("the loss")
        return [sp.Function(loss.func)(*self.point(loss.args, k)) for k in range(1, big_t + 1)]


def component(func: str, n: int, dim: int) -> type:
    """Entry ``n`` of a function with ``dim`` outputs, as a SymPy undefined function."""
    return sp.Function(func if dim == 1 else f"{func}[{n + 1}]")


def _column(name: str, dim: int) -> sp.Matrix:
    return sp.Matrix([sp.Symbol(name if dim == 1 else f"{name}[{n + 1}]") for n in range(dim)])
