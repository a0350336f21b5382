"""Matrix-level reverse-mode differentiation of SymPy matrix expressions (vector-Jacobian products).

SymPy's own matrix calculus is incomplete through elementwise functions (its derivatives print as internal array
objects, and some sums silently differentiate to 0), so symrnn derives the local derivatives that BPTT chains
together with its own small rule set, one rule per node type, and proves every rule against entry-level
differentiation (:mod:`symrnn.sections.bptt`).  The results are ordinary matrix expressions: they print in the
lecture's notation and generate NumPy code that works on a batch of column vectors.

Columns are vectors; a batch of B vectors is an ``(n, B)`` matrix, so every rule below is written so that it stays
valid matrix algebra for B > 1 (sums over a column use ``1 1^T``, never a 1 x 1 product).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache

import sympy as sp
from sympy.matrices.expressions import MatrixExpr
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symrnn.notation import Vec, apply_entrywise
from symrnn.ops import LogSoftmax, Ratio, Softmax, sigmoid


def ones_like_column(expr: MatrixExpr) -> MatrixExpr:
    return sp.OneMatrix(expr.shape[0], expr.shape[0])


def column_sums(expr: MatrixExpr) -> MatrixExpr:
    """``1 1^T expr``: every entry replaced by its column's sum (valid for a batch of columns)."""
    return sp.MatMul(ones_like_column(expr), expr)


#: Elementwise functions whose derivative is best written through the output y = f(z) (no recomputation).
_BY_OUTPUT = {
    sp.tanh: lambda y: 1 - y**2,
    sp.exp: lambda y: y,
    sigmoid: lambda y: y * (1 - y),
}


def _elementwise_derivative(node: ElementwiseApplyFunction) -> MatrixExpr:
    """``f'(z)`` as an elementwise function of z, or through the node's own output where that is cheaper."""
    fn = node.function
    (var,) = fn.variables
    body = fn.expr
    if isinstance(body, sp.Function) and body.args == (var,) and body.func in _BY_OUTPUT:
        d = sp.Dummy("y")
        return apply_entrywise(sp.Lambda(d, _BY_OUTPUT[body.func](d)), node)
    deriv = sp.diff(body, var)
    if deriv.is_number:
        return deriv * sp.OneMatrix(*node.shape)
    return apply_entrywise(sp.Lambda(var, deriv), node.expr)


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


def _total(parts: list[MatrixExpr]) -> MatrixExpr:
    return parts[0] if len(parts) == 1 else sp.MatAdd(*parts)


def _backprop(node, grad, wanted: set, out: dict) -> None:
    if node in wanted:
        out.setdefault(node, []).append(grad)
        return
    if not node.free_symbols or isinstance(node, (sp.OneMatrix, sp.ZeroMatrix, sp.Identity, sp.MatrixSymbol, Vec)):
        return  # constants, and leaves nobody asked about (inputs)
    if isinstance(node, sp.MatAdd):
        for arg in node.args:
            _backprop(arg, grad, wanted, out)
    elif isinstance(node, sp.MatMul):
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
            _backprop(m, g, wanted, out)
    elif isinstance(node, sp.HadamardProduct):
        for n, arg in enumerate(node.args):
            others = node.args[:n] + node.args[n + 1:]
            _backprop(arg, sp.HadamardProduct(grad, *others), wanted, out)
    elif isinstance(node, sp.MatPow) and node.exp.is_Integer and node.exp > 1:  # SymPy's a a for 1 x 1 a
        a, k = node.base, int(node.exp)
        powers = [sp.Identity(a.rows) if i == 0 else a if i == 1 else sp.MatPow(a, i) for i in range(k)]
        _backprop(a, _total([sp.MatMul(powers[i].T, grad, powers[k - 1 - i].T) for i in range(k)]), wanted, out)
    elif isinstance(node, sp.HadamardPower) and node.exp.is_Integer and node.exp > 1:
        k = node.exp
        factor = node.base if k == 2 else sp.HadamardPower(node.base, k - 1)
        _backprop(node.base, k * sp.HadamardProduct(grad, factor), wanted, out)
    elif isinstance(node, LogSoftmax):
        s = Softmax(node.arg)
        _backprop(node.arg, grad - sp.HadamardProduct(s, column_sums(grad)), wanted, out)
    elif isinstance(node, Softmax):
        sg = sp.HadamardProduct(node, grad)
        _backprop(node.arg, sg - sp.HadamardProduct(node, column_sums(sg)), wanted, out)
    elif isinstance(node, ElementwiseApplyFunction):
        _backprop(node.expr, sp.HadamardProduct(grad, _elementwise_derivative(node)), wanted, out)
    elif isinstance(node, sp.Transpose):
        _backprop(node.arg, grad.T, wanted, out)
    elif isinstance(node, Ratio):
        _backprop(node.num, Ratio(grad, node.den), wanted, out)
        _backprop(node.den, -sp.HadamardProduct(grad, Ratio(node, node.den)), wanted, out)
    else:
        raise TypeError(f"no differentiation rule for {type(node).__name__}: {node}")


def explicit(expr, values: Mapping[MatrixExpr, sp.Matrix]) -> sp.Matrix:
    """``expr`` with its leaves replaced by explicit matrices, expanded to an explicit matrix."""
    return sp.Matrix(_explicit(expr, values))


def _explicit(node, values):
    if node in values:
        return sp.ImmutableMatrix(values[node])
    if isinstance(node, (sp.OneMatrix, sp.ZeroMatrix, sp.Identity)):
        return node.as_explicit()
    if isinstance(node, sp.MatAdd):
        parts = [_explicit(a, values) for a in node.args]
        return sum(parts[1:], parts[0])
    if isinstance(node, sp.MatMul):
        coeff, mats = node.as_coeff_matrices()
        parts = [_explicit(m, values) for m in mats]
        result = parts[0]
        for p in parts[1:]:
            result = result * p
        return coeff * result
    if isinstance(node, sp.HadamardProduct):
        parts = [_explicit(a, values) for a in node.args]
        result = sp.Matrix(parts[0])
        for p in parts[1:]:
            result = result.multiply_elementwise(p)
        return sp.ImmutableMatrix(result)
    if isinstance(node, Softmax):
        return type(node)(_explicit(node.arg, values)).as_explicit()
    if isinstance(node, Ratio):
        num, den = _explicit(node.num, values), _explicit(node.den, values)
        return sp.ImmutableMatrix(num.shape[0], num.shape[1], lambda i, j: num[i, j] / den[i, j])
    if isinstance(node, ElementwiseApplyFunction):
        return _explicit(node.expr, values).applyfunc(node.function)
    if isinstance(node, sp.HadamardPower):
        return _explicit(node.base, values).applyfunc(lambda e: e ** node.exp)
    if isinstance(node, sp.MatPow) and node.exp.is_Integer and node.exp > 0:
        return _explicit(node.base, values) ** int(node.exp)
    if isinstance(node, sp.Transpose):
        return _explicit(node.arg, values).T
    if isinstance(node, sp.MatrixBase):
        return sp.ImmutableMatrix(node)
    raise TypeError(f"no explicit value for {type(node).__name__}: {node}")


def evaluate(expr, values: Mapping[MatrixExpr, object], fn_module: str = "mpmath"):
    """Evaluate a matrix expression on NumPy object (or float) arrays; elementwise bodies via ``fn_module``.

    With ``mpmath`` numbers in the arrays this is a high-precision reference evaluator (at ``mpmath.mp.dps``).
    """
    import numpy as np

    def ev(node):
        if node in values:
            return values[node]
        if isinstance(node, sp.OneMatrix):  # SymPy writes the 1 x 1 one as Identity(1)
            return np.ones(tuple(int(n) for n in node.shape), dtype=object if fn_module == "mpmath" else float)
        if isinstance(node, sp.Identity):
            one, n = _number(1, fn_module), int(node.rows)
            return np.array([[one if r == c else 0 * one for c in range(n)] for r in range(n)],
                            dtype=object if fn_module == "mpmath" else float)
        if isinstance(node, sp.HadamardPower):  # SymPy's own spelling of h (.) h
            return ev(node.base) ** int(node.exp)
        if isinstance(node, sp.MatPow) and node.exp.is_Integer and node.exp > 0:
            base, out = ev(node.base), None
            for _ in range(int(node.exp)):
                out = base if out is None else out.dot(base)
            return out
        if isinstance(node, sp.MatAdd):
            parts = [ev(a) for a in node.args]
            return sum(parts[1:], parts[0])
        if isinstance(node, sp.MatMul):
            coeff, mats = node.as_coeff_matrices()
            out = ev(mats[0])
            for m in mats[1:]:
                out = out.dot(ev(m))
            return out if coeff == 1 else _number(coeff, fn_module) * out
        if isinstance(node, sp.HadamardProduct):
            parts = [ev(a) for a in node.args]
            out = parts[0]
            for p in parts[1:]:
                out = out * p
            return out
        if isinstance(node, Softmax):
            a = ev(node.arg)
            a = a - a.max(axis=0, keepdims=True)
            e = _apply(sp.exp, a, fn_module)
            s = e / e.sum(axis=0, keepdims=True)
            return _apply(sp.log, s, fn_module) if isinstance(node, LogSoftmax) else s
        if isinstance(node, ElementwiseApplyFunction):
            return _apply(node.function, ev(node.expr), fn_module)
        if isinstance(node, sp.Transpose):
            return ev(node.arg).T
        if isinstance(node, Ratio):
            return ev(node.num) / ev(node.den)
        if isinstance(node, sp.MatrixBase):
            return np.array(node.tolist(), dtype=object)
        raise TypeError(f"cannot evaluate {type(node).__name__}: {node}")

    return ev(expr)


def _number(c, fn_module):
    import mpmath

    return mpmath.mpf(sp.Rational(c).p) / sp.Rational(c).q if fn_module == "mpmath" else float(c)


@lru_cache(maxsize=256)
def _compiled(fn, fn_module: str):
    if isinstance(fn, sp.Lambda):
        (var,), body = fn.variables, fn.expr
    else:
        var = sp.Dummy("z")
        body = fn(var)
    return sp.lambdify(var, body.rewrite(sp.exp) if body.has(sigmoid) else body, modules=fn_module)


def _apply(fn, arr, fn_module):
    import numpy as np

    return np.vectorize(_compiled(fn, fn_module), otypes=[object if fn_module == "mpmath" else float])(arr)
