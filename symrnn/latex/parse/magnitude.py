"""How many digits a number built from an expression could have, estimated from its tree without evaluating it.

SymPy computes ``2**(10**10)`` as soon as the power is built, and an unevaluated product or sum is computed when an
expression is rebuilt (:func:`symrnn.latex.parse.canonical` does so); a few characters of LaTeX can ask for
gigabytes.  So, before building a power and after building a product or sum, the parser asks :class:`Magnitudes`
for an upper bound of the digits any number computed from it could have (the larger of numerator and denominator),
and refuses it over :attr:`Limits.max_result_digits`.  Symbols count as small numbers, and as one digit when raised
to a power (``x^{10^{10}}`` is refused, though SymPy would leave it alone, since any value put in for ``x`` would
make it huge); the bound is deliberately generous.
"""

from __future__ import annotations

import math
from typing import Any

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt

#: Nodes whose numbers combine when evaluated (sums and products: digits add); other nodes hold their arguments
#: side by side (a matrix's entries, the two sides of a relation: the largest counts).
_COMBINING = (sp.Add, sp.Mul, sp.MatAdd, sp.MatMul, sp.HadamardProduct, nt.ScaledMatrix, nt.VecShift)
_POWERS = (sp.Pow, sp.MatPow, sp.HadamardPower)
_HUGE = 1e300


def integer_digits(n: int) -> float:
    """log10 |n| for |n| > 1 (0 for 0 and 1), from the bit length when the number is long: never printed."""
    n = abs(int(n))
    if n <= 1:
        return 0.0
    if n.bit_length() < 1000:
        return math.log10(n)
    return n.bit_length() * math.log10(2)


class Magnitudes:
    """Digit estimates for the nodes of one parse, remembered by node (each node is looked at once)."""

    def __init__(self) -> None:
        self.memo: dict[int, tuple[Any, float]] = {}

    def digits(self, expr: Any) -> float:
        """An upper bound of the digits of any number computed from ``expr`` (0 for symbols and small integers)."""
        hit = self.memo.get(id(expr))
        if hit is not None and hit[0] is expr:
            return hit[1]
        value = self._digits(expr)
        self.memo[id(expr)] = (expr, value)  # the node is kept alive, so its id is not reused during the parse
        return value

    def _digits(self, expr: Any) -> float:
        if isinstance(expr, sp.Rational):  # Integer included
            return max(integer_digits(expr.p), integer_digits(expr.q))
        if not isinstance(expr, sp.Basic) or not expr.args:
            return 0.0
        if isinstance(expr, _POWERS):
            return self.power(expr.args[0], expr.args[1])
        parts = [self.digits(a) for a in expr.args]
        if isinstance(expr, sp.Mul):
            return sum(parts)
        if isinstance(expr, _COMBINING):  # a sum (of fractions, or of products in a matrix product) may carry
            return sum(parts) + math.log10(len(parts))
        return max(parts)

    def power(self, base: Any, exponent: Any) -> float:
        """The digits ``base ** exponent`` could have: the base's digits times the exponent's size."""
        size = self.exponent_size(exponent)
        width = self.digits(base)
        if isinstance(base, sp.Basic) and base.free_symbols:
            width = max(width, 1.0)  # a symbol stands for a number: x^{10^{10}} at any point but 0 and 1 is huge
        if isinstance(base, MatrixExpr) and isinstance(base.shape[1], (int, sp.Integer)):
            width += integer_digits(int(base.shape[1]))  # a matrix power sums products of entries
        if width == 0 or size == 0:
            return 0.0
        return min(width * size, _HUGE)

    def exponent_size(self, exponent: Any) -> float:
        """An upper bound of ``|exponent|``: exact for a rational, else ten to its digits (infinite: 0)."""
        if isinstance(exponent, sp.Rational):
            high, low = integer_digits(exponent.p), integer_digits(exponent.q)
            if high - low > 300:
                return _HUGE
            return abs(exponent.p) / exponent.q if high < 300 else 10.0 ** (high - low + 1)
        if isinstance(exponent, sp.Basic) and exponent in (sp.oo, -sp.oo, sp.zoo):
            return 0.0  # b**oo is oo, 0 or nan: nothing is computed
        return 10.0 ** min(self.digits(exponent), 300.0)
