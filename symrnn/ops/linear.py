"""Linear and multilinear nodes: sums, matrix products, transposes, integer powers, entrywise products and powers,
and the leaves (symbols, constant matrices, explicit matrices).

Columns are vectors; a batch of B vectors is an ``(n, B)`` matrix, so every rule stays valid matrix algebra for
B > 1 (sums over a column use ``1 1^T``, never a 1 x 1 product).
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn.notation import Vec
from symrnn.ops.registry import Rule, register


def total(parts: list[MatrixExpr]) -> MatrixExpr:
    """The sum of ``parts`` (one part as it is)."""
    return parts[0] if len(parts) == 1 else sp.MatAdd(*parts)


def _product(parts):
    out = parts[0]
    for p in parts[1:]:
        out = out * p
    return out


# ---- sums and products --------------------------------------------------------------------------------------------


def _matmul_vjp(node, grad):
    coeff, mats = node.as_coeff_matrices()
    if coeff != 1:
        grad = coeff * grad
    for n, m in enumerate(mats):
        left, right = mats[:n], mats[n + 1:]
        g = grad
        if left:
            g = sp.MatMul(*[a.T for a in reversed(left)], g)
        if right:
            g = sp.MatMul(g, *[b.T for b in reversed(right)])
        yield m, g


def _matmul_explicit(node, recurse):
    coeff, mats = node.as_coeff_matrices()
    return coeff * _product([recurse(m) for m in mats])


def _matmul_evaluate(node, recurse, numbers):
    coeff, mats = node.as_coeff_matrices()
    out = recurse(mats[0])
    for m in mats[1:]:
        out = numbers.dot(out, recurse(m))
    return out if coeff == 1 else numbers.number(coeff) * out


def _hadamard_explicit(node, recurse):
    parts = [recurse(a) for a in node.args]
    out = sp.Matrix(parts[0])
    for p in parts[1:]:
        out = out.multiply_elementwise(p)
    return sp.ImmutableMatrix(out)


register(Rule(sp.MatAdd, split="sum",
              vjp=lambda node, g: [(a, g) for a in node.args],
              explicit=lambda node, recurse: sum((recurse(a) for a in node.args[1:]), recurse(node.args[0])),
              evaluate=lambda node, recurse, numbers: sum((recurse(a) for a in node.args[1:]),
                                                          recurse(node.args[0]))))
register(Rule(sp.MatMul, split="scale", vjp=_matmul_vjp, explicit=_matmul_explicit, evaluate=_matmul_evaluate))
register(Rule(sp.HadamardProduct, split="operands",
              vjp=lambda node, g: [(a, sp.HadamardProduct(g, *node.args[:n], *node.args[n + 1:]))
                                   for n, a in enumerate(node.args)],
              explicit=_hadamard_explicit,
              evaluate=lambda node, recurse, numbers: _product([recurse(a) for a in node.args])))
register(Rule(sp.Transpose, split="operands",
              vjp=lambda node, g: [(node.arg, g.T)],
              explicit=lambda node, recurse: recurse(node.arg).T,
              evaluate=lambda node, recurse, numbers: recurse(node.arg).T))


# ---- powers ------------------------------------------------------------------------------------------------------


def _positive_power(node, least: int) -> int:
    if not (node.exp.is_Integer and node.exp >= least):
        raise TypeError(f"no rule for {type(node).__name__} with exponent {node.exp}: {node}")
    return int(node.exp)


def _matpow_vjp(node, grad):
    a, k = node.base, _positive_power(node, 2)  # SymPy's a a for 1 x 1 a
    powers = [sp.Identity(a.rows) if i == 0 else a if i == 1 else sp.MatPow(a, i) for i in range(k)]
    return [(a, total([sp.MatMul(powers[i].T, grad, powers[k - 1 - i].T) for i in range(k)]))]


def _matpow_evaluate(node, recurse, numbers):
    base, out = recurse(node.base), None
    for _ in range(_positive_power(node, 1)):
        out = base if out is None else numbers.dot(out, base)
    return out


def _hadamard_power_vjp(node, grad):
    k = _positive_power(node, 2)
    factor = node.base if k == 2 else sp.HadamardPower(node.base, k - 1)
    return [(node.base, k * sp.HadamardProduct(grad, factor))]


register(Rule(sp.MatPow, vjp=_matpow_vjp, evaluate=_matpow_evaluate,
              explicit=lambda node, recurse: recurse(node.base) ** _positive_power(node, 1)))
register(Rule(sp.HadamardPower, vjp=_hadamard_power_vjp,
              explicit=lambda node, recurse: recurse(node.base).applyfunc(lambda e: e ** node.exp),
              evaluate=lambda node, recurse, numbers: recurse(node.base) ** int(node.exp)))


# ---- leaves ------------------------------------------------------------------------------------------------------

for _symbol in (sp.MatrixSymbol, Vec):  # values come from the caller; nothing to differentiate through
    register(Rule(_symbol, leaf=True))
register(Rule(sp.OneMatrix, leaf=True, explicit=lambda node, recurse: node.as_explicit(),  # SymPy's 1 x 1 one is
              evaluate=lambda node, recurse, numbers: numbers.ones(node.shape)))   # Identity(1)
register(Rule(sp.ZeroMatrix, leaf=True, explicit=lambda node, recurse: node.as_explicit(),
              evaluate=lambda node, recurse, numbers: 0 * numbers.ones(node.shape)))
register(Rule(sp.Identity, leaf=True, explicit=lambda node, recurse: node.as_explicit(),
              evaluate=lambda node, recurse, numbers: numbers.eye(node.rows)))
register(Rule(sp.MatrixBase, explicit=lambda node, recurse: sp.ImmutableMatrix(node),
              evaluate=lambda node, recurse, numbers: numbers.array(node.tolist())))
