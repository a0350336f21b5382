"""The parser's errors: one :class:`ParseError` subclass per kind of failure, each naming the position.

Callers catch :class:`ParseError` (a ValueError) for any unreadable input and the subclass when the kind matters:
:data:`DEFECTS` are mathematics found malformed (:mod:`symrnn.audit` reports them as errors in the document); any
other error means only that symrnn could not read the text (reported as ``unread``).
"""

from __future__ import annotations


class ParseError(ValueError):
    """A LaTeX input that cannot be read; ``pos`` is the 0-based character offset of the problem."""

    def __init__(self, reason: str, pos: int, text: str = ""):
        self.reason, self.pos, self.text = reason, pos, text
        excerpt = ""
        if text:
            lo = max(0, pos - 30)
            snippet = text[lo:pos + 30].replace("\n", " ")
            excerpt = f": ...{snippet}..." if len(text) > 60 else f": {snippet}"
        super().__init__(f"{reason} at position {pos}{excerpt}")

    def __reduce__(self):  # picklable, so that an error raised in a bounded worker reaches the caller intact
        return type(self), (self.reason, self.pos, self.text)


class EmptyInput(ParseError):
    """Nothing to read."""


class TooLong(ParseError):
    """The input exceeds :attr:`Limits.max_chars`."""


class TooLarge(TooLong):
    """A number too large to hold: a literal of more than :attr:`Limits.max_digits` digits, or a power, product or
    sum whose value could have more than :attr:`Limits.max_result_digits` digits (refused before it is computed)."""


class TooDeep(ParseError):
    """Brackets, environments, powers (``x^x^x``) or the expression built nest deeper than the limits allow."""


class Timeout(ParseError):
    """Reading took longer than :attr:`Limits.seconds`."""


class Unbalanced(ParseError):
    """A bracket, ``\\left``/``\\right`` or ``\\begin``/``\\end`` without its partner."""


class UnknownMacro(ParseError):
    """A command, environment or character outside the lecture's notation."""


class RefusedName(ParseError):
    """A name in ``\\operatorname``/``\\mathrm``/``\\text`` that is not a plain word."""


class Unexpected(ParseError):
    """A token where the grammar expects something else (including text left over after a complete input)."""


class MissingSide(Unexpected):
    """A relation with nothing on one side (``a \\neq``): malformed mathematics, not an unknown notation."""


class DivisionByZero(Unexpected):
    """A value divided by zero (``\\frac{x}{0}``, ``x / 0``, ``0^{-1}``) or otherwise undefined (``1^\\infty``)."""


class ShapeMismatch(ParseError):
    """Matrices whose sizes do not fit (a ragged ``bmatrix``, a product or sum of incompatible shapes)."""


class BackendError(ParseError):
    """The latex2sympy backend failed on, or disagreed with symrnn about, a plain-arithmetic piece."""


#: Errors that say the mathematics itself is malformed, whatever the notation: sizes that do not fit, a division by
#: zero, a bracket without its partner, a relation without a side.
DEFECTS: tuple[type[ParseError], ...] = (ShapeMismatch, DivisionByZero, Unbalanced, MissingSide)


def is_defect(exc: ParseError) -> bool:
    """Whether ``exc`` finds the mathematics malformed (an error in the document) rather than unreadable to symrnn."""
    return isinstance(exc, DEFECTS)
