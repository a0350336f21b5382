"""Evaluation of numeric SymPy expressions as graphs (each shared subexpression once), with mpmath."""

from __future__ import annotations

import sympy as sp
from sympy.core.sympify import _sympify

from symrnn.ops import sigmoid

_MPMATH = {sp.exp: "exp", sp.log: "log", sp.tanh: "tanh"}


def numeric(value, digits: int = 50) -> sp.Float:
    """A real number expression evaluated to about ``digits`` significant digits, each shared subexpression once.

    Exact RNN states nest: h_t contains every entry of h_{t-1}, so as a tree it grows like N^(2t) although it is
    small as a graph.  SymPy's ``evalf`` walks the tree; this walks the graph (working with 15 guard digits).
    """
    import mpmath

    memo: dict = {}

    def ev(e):
        if e in memo:
            return memo[e]
        if e.is_Rational:
            out = mpmath.mpf(e.p) / e.q
        elif e.is_Float:
            out = mpmath.mpf(e)
        elif isinstance(e, sp.Add):
            out = mpmath.fsum(ev(a) for a in e.args)
        elif isinstance(e, sp.Mul):
            out = mpmath.fprod(ev(a) for a in e.args)
        elif isinstance(e, sp.Pow):
            out = mpmath.power(ev(e.base), ev(e.exp))
        elif isinstance(e, sp.exp):
            out = mpmath.exp(ev(e.args[0]))
        elif isinstance(e, sp.log):
            out = mpmath.log(ev(e.args[0]))
        else:
            out = mpmath.mpf(sp.N(e, mpmath.mp.dps))  # E, pi, other functions: SymPy's own evaluation
        memo[e] = out
        return out

    expr = _sympify(value)
    if expr.free_symbols:
        raise ValueError(f"{value} has free symbols {sorted(map(str, expr.free_symbols))}: not a number")
    with mpmath.workdps(digits + 15):
        result = ev(expr)
        if isinstance(result, mpmath.mpc):
            if abs(result.imag) > abs(result) * mpmath.mpf(10) ** (-digits):
                raise ValueError(f"{value} is not real")
            result = result.real
        return sp.Float(result, digits)


def graph_value(expr: sp.Expr, dps: int = 80):
    """The value of a closed expression with mpmath at ``dps`` digits, each distinct subexpression once.

    ``evalf`` walks the tree, exponential in T for an unrolled recurrence; this walks the graph. None when a node is
    not one of the arithmetic and functions here, or does not evaluate to a finite number.
    """
    import mpmath

    with mpmath.workdps(dps):
        values: dict[sp.Expr, object] = {}
        stack = [(expr, False)]
        while stack:
            node, done = stack.pop()
            if node in values:
                continue
            if not done and node.args:
                stack.append((node, True))
                stack.extend((a, False) for a in node.args if a not in values)
                continue
            args = [values[a] for a in node.args]
            try:
                if node.is_Rational:
                    v = mpmath.mpf(int(node.p)) / int(node.q)
                elif node.is_Number or node.is_NumberSymbol:
                    v = mpmath.mpf(str(node.evalf(dps + 10)))
                elif node.is_Add:
                    v = mpmath.fsum(args)
                elif node.is_Mul:
                    v = mpmath.fprod(args)
                elif node.is_Pow:
                    v = args[0] ** args[1]
                elif node.func in _MPMATH:
                    v = getattr(mpmath, _MPMATH[node.func])(args[0])
                elif node.func is sigmoid:
                    v = 1 / (1 + mpmath.exp(-args[0]))
                else:
                    return None
            except (ZeroDivisionError, ValueError, OverflowError):
                return None
            values[node] = v
        out = values[expr]
        return out if mpmath.isfinite(out) else None
