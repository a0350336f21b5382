"""A scalar function applied entrywise (SymPy's ``ElementwiseApplyFunction``).

Its derivative is the scalar function's: through the output ``y = f(z)`` when the table of scalar functions
(:mod:`symrnn.ops.functions`) gives ``by_output``, else ``f'(z)`` from the function's own ``fdiff``.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symrnn.notation import apply_entrywise
from symrnn.ops.registry import Rule, Scalar, find, register


def elementwise_derivative(node: ElementwiseApplyFunction) -> MatrixExpr:
    """``f'(z)`` as an elementwise function of z, or through the node's own output where that is cheaper."""
    fn = node.function
    (var,) = fn.variables
    body = fn.expr
    if isinstance(body, sp.Function) and body.args == (var,):
        entry = find(body.func)
        if isinstance(entry, Scalar) and entry.by_output is not None:
            d = sp.Dummy("y")
            return apply_entrywise(sp.Lambda(d, entry.by_output(d)), node)
    deriv = sp.diff(body, var)
    if deriv.is_number:
        return deriv * sp.OneMatrix(*node.shape)
    return apply_entrywise(sp.Lambda(var, deriv), node.expr)


register(Rule(ElementwiseApplyFunction, saves_output=True, split="output", atomic_code=True,
              vjp=lambda node, g: [(node.expr, sp.HadamardProduct(g, elementwise_derivative(node)))],
              explicit=lambda node, recurse: recurse(node.expr).applyfunc(node.function),
              evaluate=lambda node, recurse, numbers: numbers.apply(node.function, recurse(node.expr))))
