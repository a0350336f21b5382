"""``max_j a_j``: the largest entry of a column vector (a scalar; per batch column in generated code)."""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn.ops.registry import Rule, register


class EntryMax(sp.Expr):
    """``max_j a_j``: the largest entry of a column vector (per batch column in generated code).

    A scalar, so it can shift a vector as ``a - m 1``; SymPy has no matrix-level maximum of entries.
    """

    is_commutative = True
    is_real = True

    def __new__(cls, vector: MatrixExpr):
        vector = sp.sympify(vector, strict=True)
        if not getattr(vector, "is_Matrix", False) or vector.shape[1] != 1:
            raise ValueError(f"EntryMax takes a column vector, got {vector!r}")
        return super().__new__(cls, vector)

    @property
    def vector(self) -> MatrixExpr:
        return self.args[0]

    def doit(self, **hints) -> sp.Expr:
        """``Max`` of the entries once the vector has a numeric length."""
        vector = self.vector.doit(**hints) if hints.get("deep", True) else self.vector
        if vector.shape[0].is_Integer:
            return sp.Max(*vector.as_explicit())
        return self.func(vector)


register(Rule(EntryMax, atomic_code=True,
              numpy=lambda node, printer: f"{printer.operand(node.vector)}.max(axis=0, keepdims=True)"))
