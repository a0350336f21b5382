"""Exact spot checks: random rational points, and whether a difference vanishes there (to 50 digits at worst)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

import sympy as sp

from symrnn.core.zerotest import symbols_of
from symrnn.numeric.graph import graph_value


def random_point(symbols: Iterable[sp.Symbol], rng: random.Random) -> dict:
    """A random exact value for each symbol, respecting its assumptions (integer, positive, real)."""
    point = {}
    for s in sorted(symbols, key=sp.default_sort_key):
        if s.is_integer:
            point[s] = sp.Integer(rng.randint(1, 6))
        elif s.is_positive:
            point[s] = sp.Rational(rng.randint(1, 97), rng.randint(1, 97))
        else:
            point[s] = sp.Rational(rng.randint(-97, 97), rng.randint(1, 97))
    return point


def value_is_zero(d: sp.Expr) -> bool | None:
    """Exact when ``d`` is rational; to 50 digits otherwise; None when it does not evaluate to a number."""
    if d.is_Rational:
        return d == 0
    value = graph_value(d, 80)
    if value is None:
        value = d.evalf(50)
        if not value.is_number or value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
            return None
    return bool(abs(value) < sp.Float("1e-40", 50))


def spot_check(diffs: Sequence[sp.Expr], trials: int, sampler, rng) -> tuple[bool, str]:
    symbols = symbols_of(diffs)
    for n in range(trials):
        point = sampler(rng) if sampler else random_point(symbols, rng)
        for idx, d in enumerate(diffs):
            zero = value_is_zero(d.xreplace(point))
            if zero is not True:
                what = "does not evaluate to a number" if zero is None else "is not zero"
                shown = ", ".join(f"${sp.latex(s)} = {v}$" for s, v in list(point.items())[:6])
                return False, f"entry {idx + 1}: difference {what} at trial {n + 1} ({shown})"
    return True, f"equal at {trials} random rational points"
