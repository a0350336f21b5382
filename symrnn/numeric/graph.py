"""Evaluation of numeric SymPy expressions as graphs (each shared subexpression once), with mpmath.

Exact RNN states nest: h_t contains every entry of h_{t-1}, so as a tree it grows like N^(2t) although it is small
as a graph.  SymPy's ``evalf`` walks the tree; :func:`evaluate` walks the graph, once per distinct node.
"""

from __future__ import annotations

import mpmath
import sympy as sp
from sympy.core.sympify import _sympify

from symrnn.ops import sigmoid

_FUNCTIONS = {sp.exp: mpmath.exp, sp.log: mpmath.log, sp.tanh: mpmath.tanh,
              sigmoid: lambda x: 1 / (1 + mpmath.exp(-x))}


class Unsupported(ValueError):
    """A node that is neither a number, arithmetic, nor one of the functions in the table."""


def _leaf(node: sp.Basic, dps: int, fallback: bool):
    """The value of a node the walk does not descend into: a number, or (``fallback``) SymPy's own evaluation."""
    if node.is_Rational:
        return mpmath.mpf(int(node.p)) / int(node.q)
    if node.is_Float:
        return mpmath.mpf(node)
    if node.is_Number or node.is_NumberSymbol or fallback:
        re, im = (mpmath.mpf(part) for part in sp.N(node, dps + 10).as_real_imag())
        return re if im == 0 else mpmath.mpc(re, im)
    raise Unsupported(f"cannot evaluate {type(node).__name__} as a graph")


def _combine(node: sp.Basic, args: list):
    if node.is_Add:
        return mpmath.fsum(args)
    if node.is_Mul:
        return mpmath.fprod(args)
    if node.is_Pow:
        return mpmath.power(args[0], args[1])
    return _FUNCTIONS[node.func](args[0])


def _walked(node: sp.Basic) -> bool:
    return bool(node.args) and (node.is_Add or node.is_Mul or node.is_Pow or node.func in _FUNCTIONS)


def free_symbols(expr: sp.Basic) -> set[sp.Symbol]:
    """``expr.free_symbols``, walking the graph (SymPy's property walks the tree)."""
    seen, stack, out = set(), [expr], set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if _walked(node):
            stack.extend(node.args)
        else:
            out |= node.free_symbols
    return out


def evaluate(expr: sp.Basic, dps: int, fallback: bool = False):
    """The mpmath value of a closed expression at ``dps`` digits, walking the graph (children before parents).

    Arithmetic and exp/log/tanh/sigmoid are evaluated here; any other node is a leaf: a number, or with
    ``fallback`` SymPy's own evaluation of it, else :class:`Unsupported`.  Arithmetic errors propagate.
    """
    with mpmath.workdps(dps):
        values: dict[sp.Basic, object] = {}
        stack = [(expr, False)]
        while stack:
            node, ready = stack.pop()
            if node in values:
                continue
            if not _walked(node):
                values[node] = _leaf(node, dps, fallback)
            elif ready:
                values[node] = _combine(node, [values[a] for a in node.args])
            else:
                stack.append((node, True))
                stack.extend((a, False) for a in node.args if a not in values)
        return values[expr]


def numeric(value, digits: int = 50) -> sp.Float:
    """A real number expression evaluated to about ``digits`` significant digits (15 guard digits), as a graph."""
    expr = _sympify(value)
    free = free_symbols(expr)
    if free:
        raise ValueError(f"{value} has free symbols {sorted(map(str, free))}: not a number")
    with mpmath.workdps(digits + 15):
        result = evaluate(expr, digits + 15, fallback=True)
        if isinstance(result, mpmath.mpc):
            if abs(result.imag) > abs(result) * mpmath.mpf(10) ** (-digits):
                raise ValueError(f"{value} is not real")
            result = result.real
        return sp.Float(result, digits)


def graph_value(expr: sp.Expr, dps: int = 80):
    """The value of a closed expression with mpmath at ``dps`` digits, or None when a node is not one of the
    arithmetic and functions of :func:`evaluate`, or the value is not a finite number."""
    try:
        out = evaluate(expr, dps)
    except (ZeroDivisionError, ValueError, OverflowError):
        return None
    with mpmath.workdps(dps):
        return out if mpmath.isfinite(out) else None
