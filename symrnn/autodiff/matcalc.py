"""Matrix-level reverse-mode differentiation of SymPy matrix expressions (vector-Jacobian products), and the
explicit and numeric evaluation of the same expressions.

SymPy's own matrix calculus is incomplete through elementwise functions (its derivatives print as internal array
objects, and some sums silently differentiate to 0), so symrnn derives the local derivatives that BPTT chains
together with its own rule set, one rule per node type in the table of operations (:mod:`symrnn.ops`), and proves
every rule against entry-level differentiation (``tests/test_ops.py``, :mod:`symrnn.lecture25.bptt.checks`).  The
results are ordinary matrix expressions: they print in the lecture's notation and generate NumPy code that works on
a batch of column vectors.  This module only walks the graph; every node's behaviour is its table entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn.ops.evaluation import Numbers
from symrnn.ops.linear import total as _total
from symrnn.ops.registry import Rule, find, rule
from symrnn.ops.softmax import column_sums

__all__ = ["column_sums", "evaluate", "explicit", "vjp"]


def vjp(expr: MatrixExpr, grad: MatrixExpr, wrt: Iterable[MatrixExpr]) -> dict[MatrixExpr, MatrixExpr]:
    """``{leaf: (d expr / d leaf)^T grad}`` for every leaf in ``wrt`` that ``expr`` depends on.

    ``grad`` has the shape of ``expr``; each result has the shape of its leaf (a batch of columns reduces to a
    column leaf by summing over the batch, which the caller does for biases).  Leaves are MatrixSymbols or
    symrnn ``Vec`` objects; anything else is differentiated through.
    """
    wanted = set(wrt)
    out: dict[MatrixExpr, list[MatrixExpr]] = {}
    _backprop(expr, grad, wanted, out)
    return {leaf: _total(parts) for leaf, parts in out.items()}


def _backprop(node, grad, wanted: set, out: dict) -> None:
    if node in wanted:
        out.setdefault(node, []).append(grad)
        return
    entry = find(node)
    if not node.free_symbols or (isinstance(entry, Rule) and entry.leaf):
        return  # constants, and leaves nobody asked about (inputs)
    for operand, g in rule(node, "vjp", "no differentiation rule")(node, grad):
        _backprop(operand, g, wanted, out)


def explicit(expr, values: Mapping[MatrixExpr, sp.Matrix]) -> sp.Matrix:
    """``expr`` with its leaves replaced by explicit matrices, expanded to an explicit matrix."""

    def recurse(node):
        if node in values:
            return sp.ImmutableMatrix(values[node])
        return rule(node, "explicit", "no explicit value")(node, recurse)

    return sp.Matrix(recurse(expr))


def evaluate(expr, values: Mapping[MatrixExpr, object], fn_module: str = "mpmath"):
    """Evaluate a matrix expression on NumPy object (or float) arrays; elementwise bodies via ``fn_module``.

    With ``mpmath`` numbers in the arrays this is a high-precision reference evaluator (at ``mpmath.mp.dps``).
    A scalar function's code is generated only after :func:`symrnn.numeric.guard.vet` passes its names (else
    :class:`~symrnn.numeric.guard.UnsafeName`).
    """
    numbers = Numbers(fn_module)

    def recurse(node):
        if node in values:
            return values[node]
        return rule(node, "evaluate", "cannot evaluate")(node, recurse, numbers)

    return recurse(expr)
