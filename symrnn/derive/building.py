"""A cell's terms written as one step with matrix symbols: the ``build(params, previous, x)`` of a
:class:`symrnn.models.cells.Cell`.

Built as the hand-written cells are (:mod:`symrnn.models.cells`): matrix products and sums with SymPy's operators,
``sp.HadamardProduct``, ``1 - z`` as ``sp.OneMatrix(n, 1) - z``, entrywise functions through
:func:`symrnn.models.cells.elementwise` with the registered scalar functions (:mod:`symrnn.ops`), softmax and
log-softmax as the table's nodes.  Intermediates are computed in dependency order and substituted, so the step holds
only parameters, the states at t-1 and x_t.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn.derive import terms as tm
from symrnn.models.cells import elementwise
from symrnn.ops import LogSoftmax, Softmax, relu, sigmoid, softplus

#: The registered scalar function of each entrywise name (identity is the argument itself, as in
#: :func:`symrnn.models.cells.matrix_nonlinearity`).
FUNCTIONS = {"tanh": sp.tanh, "sigmoid": sigmoid, "relu": relu, "softplus": softplus, "exp": sp.exp,
             "log": sp.log}


def expression(term, values: Callable[[tm.Leaf], MatrixExpr]) -> MatrixExpr:
    """The SymPy matrix expression of a term; ``values`` gives each leaf's."""
    def go(t):
        if isinstance(t, tm.Leaf):
            return values(t)
        if isinstance(t, tm.Sum):
            return functools.reduce(operator.add, [go(a) for a in t.terms])
        if isinstance(t, tm.Product):
            return functools.reduce(operator.mul, [go(a) for a in t.factors])
        if isinstance(t, tm.Hadamard):
            return sp.HadamardProduct(*[go(a) for a in t.factors])
        if isinstance(t, tm.Scaled):
            return t.coeff * go(t.arg)
        if isinstance(t, tm.Transposed):
            return go(t.arg).T
        arg = go(t.arg)  # Apply
        if t.function == "identity":
            return arg
        if t.function == "softmax":
            return Softmax(arg)
        if t.function == "logsoftmax":
            return LogSoftmax(arg)
        return elementwise(FUNCTIONS[t.function])(arg)
    return go(term)


def builder(order: tuple[str, ...], term_of: Mapping[str, object], states: tuple[str, ...],
            ones: Mapping[int, int]) -> Callable:
    """``build(params, previous, x)``: every quantity in ``order`` from its term, the states returned.

    ``ones`` maps the ``id`` of each ones leaf (all ones leaves are equal as values) to its length, which the
    shape inference fixed."""
    def build(params, previous, x):
        value: dict[str, MatrixExpr] = {}

        def leaf(t: tm.Leaf) -> MatrixExpr:
            if t.kind == tm.PARAM:
                return params[t.name]
            if t.kind == tm.PREVIOUS:
                return previous[t.name]
            if t.kind == tm.CURRENT:
                return value[t.name]
            if t.kind == tm.INPUT:
                return x
            return sp.OneMatrix(ones[id(t)], 1)

        for name in order:
            value[name] = expression(term_of[name], leaf)
        return {s: value[s] for s in states}
    return build
