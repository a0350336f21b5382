"""The table of operations: every node type and scalar function the engines know, with its rules in one entry.

Public API (re-exported by :mod:`symrnn.ops`):

- ``register(entry) -> entry``: add a :class:`Rule` (a matrix node class) or a :class:`Scalar` (a scalar function
  applied entrywise) to the table; a later entry for the same class replaces the earlier one.
- ``unregister(entry_or_class)``: take an entry out again (the entry it replaced, if any, is in force again);
  ``with registered(*entries):`` registers for the block only (tests use it, so that nothing leaks between them).
- ``lookup(node_or_class) -> Rule | Scalar``: the entry for a node, a function, or their class (the nearest class in
  the method resolution order, so a subclass without an entry of its own behaves like its parent); raises
  :class:`UnknownOperation` (a ``TypeError`` and ``LookupError``) when there is none.  ``find`` returns None instead.

The engines dispatch on the table alone: :func:`symrnn.autodiff.matcalc.vjp` (``Rule.vjp``),
:func:`~symrnn.autodiff.matcalc.explicit` (``Rule.explicit``), :func:`~symrnn.autodiff.matcalc.evaluate`
(``Rule.evaluate``), the backward pass's saved intermediates in :mod:`symrnn.autodiff.training` (``Rule.split``,
``Rule.saves_output``, ``Rule.leaf``) and the NumPy printer of :mod:`symrnn.numeric.codegen` (``Rule.numpy``,
``Rule.atomic_code``; else the class's own ``_numpycode``).  LaTeX is the class's ``_lecture_latex`` hook; a scalar
function's LaTeX name is ``Scalar.latex``.  Adding a node type is one ``register(Rule(...))`` call.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sympy as sp

#: How ``training._split_saved`` treats a forward intermediate made by a node of this kind:
#: ``whole`` saves it, ``operands`` rebuilds it from its split operands (cheap entrywise combinations),
#: ``output`` reuses a saved argument when that argument ``saves_output`` (an entrywise map of a saved map),
#: ``scale`` keeps ``c * X`` as c times the split X and saves longer products whole, ``sum`` splits a sum that
#: holds a node which ``saves_output`` and saves other sums whole.
SPLITS = ("whole", "operands", "output", "scale", "sum")

#: Modules that register the built-in entries; loaded on first use (some import :mod:`symrnn.notation`).
FAMILIES = ("symrnn.ops.linear", "symrnn.ops.entrywise", "symrnn.ops.functions", "symrnn.ops.softmax",
            "symrnn.ops.ratio", "symrnn.ops.entrymax")


class UnknownOperation(TypeError, LookupError):
    """No entry in the table for this node or function."""


@dataclass(frozen=True)
class Rule:
    """What the engines need to know about one matrix node class.

    ``vjp(node, g)``: pairs ``(operand, cotangent)``, the operand's share of ``(d node / d operand)^T g``.
    ``explicit(node, recurse)``: the node as an explicit SymPy matrix, ``recurse(operand)`` giving its operands'.
    ``evaluate(node, recurse, numbers)``: the node on NumPy arrays (mpmath or float entries, see
    :class:`symrnn.ops.evaluation.Numbers`).  ``numpy(node, printer)``: its NumPy code (None: the class's
    ``_numpycode`` or the printer's own method).  A job left None raises TypeError when an engine needs it.
    """

    node: type
    vjp: Callable[[Any, Any], Iterable[tuple[Any, Any]]] | None = None
    explicit: Callable[[Any, Callable], Any] | None = None
    evaluate: Callable[[Any, Callable, Any], Any] | None = None
    numpy: Callable[[Any, Any], str] | None = None
    leaf: bool = False  # a symbol or constant: gradients stop here
    saves_output: bool = False  # a nonlinear map whose output the backward pass reuses
    split: str = "whole"  # one of SPLITS
    atomic_code: bool = False  # its NumPy code is a name or a call: no parentheses as an operand

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {self.split!r}")


@dataclass(frozen=True)
class Scalar:
    """A scalar function applied entrywise (``ElementwiseApplyFunction``): its derivative lives in the function
    class (``fdiff``, as SymPy's own functions have it).

    ``by_output(y)``: ``f'(z)`` written through the output ``y = f(z)``, where that is cheaper (no recomputation).
    ``definition(z)``: ``f(z)`` in SymPy's built-in functions, used to evaluate it with mpmath or floats (None: the
    function is built in).  ``latex``: the name printed before ``\\left(...\\right)``.
    """

    func: type
    latex: str
    by_output: Callable[[sp.Expr], sp.Expr] | None = None
    definition: Callable[[sp.Expr], sp.Expr] | None = None

    def derivative(self, z: sp.Expr) -> sp.Expr:
        """``f'(z)``, from the function's own ``fdiff``."""
        return sp.diff(self.func(z), z)


_TABLE: dict[type, Rule | Scalar] = {}
_REPLACED: dict[type, list[Rule | Scalar]] = {}  # earlier entries for a class, the most recent last
_CACHE: dict[type, Rule | Scalar | None] = {}
_loaded = False


def _key(entry: Rule | Scalar) -> type:
    if not isinstance(entry, (Rule, Scalar)):
        raise TypeError(f"the table holds Rule and Scalar entries, got {type(entry).__name__}")
    key = entry.node if isinstance(entry, Rule) else entry.func
    if not isinstance(key, type):
        raise TypeError(f"an entry is keyed by a class, got {key!r}")
    return key


def register(entry: Rule | Scalar) -> Rule | Scalar:
    """Add ``entry`` to the table (replacing any entry for the same class) and return it."""
    key = _key(entry)
    if key in _TABLE:
        _REPLACED.setdefault(key, []).append(_TABLE[key])
    _TABLE[key] = entry
    _CACHE.clear()
    return entry


def unregister(entry: Rule | Scalar | type) -> None:
    """Take ``entry`` (or the entry of a class) out of the table; the entry it replaced is in force again.

    An entry that was replaced later is dropped from the history only.  LookupError if it is not in the table.
    """
    _load()
    key = entry if isinstance(entry, type) else _key(entry)
    current = _TABLE.get(key)
    if current is None or not (isinstance(entry, type) or current is entry or entry in _REPLACED.get(key, [])):
        raise LookupError(f"{entry!r} is not in the table of operations")
    if isinstance(entry, type) or current is entry:
        earlier = _REPLACED.get(key, [])
        if earlier:
            _TABLE[key] = earlier.pop()
        else:
            del _TABLE[key]
    else:
        _REPLACED[key].remove(entry)
    _CACHE.clear()


@contextmanager
def registered(*entries: Rule | Scalar) -> Iterator[tuple[Rule | Scalar, ...]]:
    """Register ``entries`` for the ``with`` block, and unregister them (latest first) when it ends."""
    _load()
    done: list[Rule | Scalar] = []
    try:
        for entry in entries:
            done.append(register(entry))
        yield entries
    finally:
        for entry in reversed(done):
            unregister(entry)


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for name in FAMILIES:
            importlib.import_module(name)


def find(node_or_class) -> Rule | Scalar | None:
    """The entry for a node, function or class, or None."""
    _load()
    cls = node_or_class if isinstance(node_or_class, type) else type(node_or_class)
    if cls not in _CACHE:
        _CACHE[cls] = next((_TABLE[c] for c in cls.__mro__ if c in _TABLE), None)
    return _CACHE[cls]


def lookup(node_or_class) -> Rule | Scalar:
    """The entry for a node, function or class; :class:`UnknownOperation` if the table has none."""
    entry = find(node_or_class)
    if entry is None:
        cls = node_or_class if isinstance(node_or_class, type) else type(node_or_class)
        raise UnknownOperation(f"no entry for {cls.__name__} in the table of operations (symrnn.ops.register)")
    return entry


def rule(node, job: str, what: str) -> Callable:
    """The function doing ``job`` (a :class:`Rule` field) for ``node``; TypeError ``"{what} for X: node"`` if none."""
    entry = find(node)
    fn = getattr(entry, job, None) if isinstance(entry, Rule) else None
    if fn is None:
        raise TypeError(f"{what} for {type(node).__name__}: {node}")
    return fn


def scalars() -> list[Scalar]:
    """Every scalar function in the table."""
    _load()
    return [e for e in _TABLE.values() if isinstance(e, Scalar)]


def classes(predicate: Callable[[Rule], bool]) -> tuple[type, ...]:
    """The node classes whose rule satisfies ``predicate``."""
    _load()
    return tuple(cls for cls, e in _TABLE.items() if isinstance(e, Rule) and predicate(e))
