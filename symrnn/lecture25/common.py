"""Shorthands shared by the four sections: unevaluated equations and products, the loss symbol, its derivatives,
numbers as printed, and check outcomes."""

from __future__ import annotations

import sympy as sp

from symrnn import notation as nt
from symrnn.core.derivation import Evidence, Outcome

#: The loss, printed as the lecture prints it.
LOSS = sp.Symbol(r"\mathfrak{L}")


def eq(lhs: sp.Basic, rhs: sp.Basic) -> sp.Eq:
    """``lhs = rhs``, kept as written."""
    return sp.Eq(lhs, rhs, evaluate=False)


def mul(*factors: sp.Basic) -> sp.Expr:
    """A product kept in the order written (the lecture's order)."""
    return sp.Mul(*factors, evaluate=False)


def D(f: sp.Basic, v: sp.Basic) -> nt.TotalDerivative:  # noqa: N802 - d, as printed
    """The total derivative ``df/dv``."""
    return nt.TotalDerivative(f, v)


def pD(f: sp.Basic, v: sp.Basic) -> nt.PartialDerivative:  # noqa: N802
    """The partial derivative ``∂f/∂v``."""
    return nt.PartialDerivative(f, v)


def dec(value: sp.Basic, places: int = 2) -> str:
    """A number as the document prints it: ``places`` decimals."""
    return nt.decimal_text(value, places)


def ok(evidence: Evidence, detail: str) -> Outcome:
    """A passed check."""
    return Outcome(True, evidence, detail)


def fail(evidence: Evidence, detail: str) -> Outcome:
    """A failed check."""
    return Outcome(False, evidence, detail)
