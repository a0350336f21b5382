"""Evaluation of numeric SymPy expressions as graphs (each shared subexpression once), with mpmath."""

from __future__ import annotations

import sympy as sp
from sympy.core.sympify import _sympify


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
