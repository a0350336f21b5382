"""Numbers for the reference evaluator: NumPy arrays of mpmath numbers (at ``mpmath.mp.dps``) or of floats.

A rule's ``evaluate(node, recurse, numbers)`` builds constants and applies scalar functions through a
:class:`Numbers`; a scalar function with a ``definition`` in the table is evaluated through that definition.
"""

from __future__ import annotations

from functools import lru_cache

import mpmath
import numpy as np
import sympy as sp

from symrnn.ops.registry import find


class Numbers:
    """``module``: ``"mpmath"`` (object arrays of mpmath numbers) or ``"numpy"`` (float arrays)."""

    def __init__(self, module: str = "mpmath"):
        self.module = module
        self.dtype = object if module == "mpmath" else float

    def number(self, c):
        """The rational (or integer) ``c`` as an mpmath number or a float."""
        c = sp.Rational(c)
        return mpmath.mpf(c.p) / c.q if self.module == "mpmath" else float(c)

    def ones(self, shape) -> np.ndarray:
        return np.ones(tuple(int(n) for n in shape), dtype=self.dtype)

    def eye(self, n) -> np.ndarray:
        one, n = self.number(1), int(n)
        return np.array([[one if r == c else 0 * one for c in range(n)] for r in range(n)], dtype=self.dtype)

    def apply(self, fn, arr: np.ndarray) -> np.ndarray:
        """The scalar function ``fn`` (a SymPy function class or a Lambda) on every entry of ``arr``."""
        return np.vectorize(_compiled(fn, self.module), otypes=[self.dtype])(arr)


def _defined(body: sp.Expr) -> sp.Expr:
    """``body`` with every function that the table defines replaced by its definition, innermost last."""
    for _ in range(16):  # a definition may use another defined function (nesting is shallow)
        swap = {}
        for f in body.atoms(sp.Function):
            entry = find(f.func)
            if entry is not None and getattr(entry, "definition", None) is not None:
                swap[f] = entry.definition(*f.args)
        if not swap:
            return body
        body = body.xreplace(swap)
    raise ValueError(f"the definitions of the functions in {body} do not terminate")


@lru_cache(maxsize=256)
def _compiled(fn, module: str):
    if isinstance(fn, sp.Lambda):
        (var,), body = fn.variables, fn.expr
    else:
        var = sp.Dummy("z")
        body = fn(var)
    return sp.lambdify(var, _defined(body), modules=module)
