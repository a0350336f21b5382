"""The named errors of reading a cell: one :class:`CellError` subclass per kind of bad input, each with the line.

Every error is a ValueError whose message starts with ``line N:`` (the line of the equation in the text, 1-based)
when there is one; ``line``, ``equation`` (the equation's LaTeX) and ``message`` are attributes, so that a caller can
point at the text without parsing the message.
"""

from __future__ import annotations

#: The functions a cell may apply, as the messages list them.
SUPPORTED_FUNCTIONS = ("tanh", "sigmoid (\\sigma)", "ReLU", "softplus", "exp", "log", "identity", "softmax",
                       "log-softmax")


class CellError(ValueError):
    """A cell that cannot be read; ``line`` is the 1-based line of the equation at fault (None: the whole text)."""

    def __init__(self, message: str, line: int | None = None, equation: str = ""):
        self.message, self.line, self.equation = message, line, equation
        where = f"line {line}: " if line is not None else ""
        shown = equation if len(equation) <= 120 else equation[:117] + "..."
        super().__init__(f"{where}{message}" + (f"  [{shown}]" if shown else ""))

    def __reduce__(self):  # picklable: it may cross a worker process
        return type(self), (self.message, self.line, self.equation)


class UnreadableEquation(CellError):
    """An equation the LaTeX reader could not read (its reason and position are in the message)."""


class UnsupportedConstruct(CellError):
    """Something read but outside a cell's operations: ``h_{t-2}``, a matrix power, a scalar parameter, ..."""


class UnsupportedFunction(CellError):
    """A function other than the supported ones (:data:`SUPPORTED_FUNCTIONS`, listed in the message)."""


class BadName(CellError):
    """A name that cannot become an identifier of generated code (a Python keyword, a builtin, a symbol), or a
    name the cell reserves (``x`` is the input, ``y`` the target)."""


class UndefinedQuantity(CellError):
    """A quantity used at t (or at t-1) that no equation defines at t."""


class DefinedTwice(CellError):
    """A quantity defined at t by two equations (the message names both lines)."""


class CyclicDefinition(CellError):
    """Quantities at t that depend on each other within one time step (the message names the cycle)."""


class NoState(CellError):
    """No quantity's value at t-1 is used: there is no recurrence."""


class ShapesDisagree(CellError):
    """Shapes that do not fit (a sum, product or Hadamard product, a declaration): both shapes are named."""


class UnsupportedLoss(CellError):
    """A loss equation (``L = ...``) outside the forms read: a sum over t of squared error (with 1/2) or of
    cross-entropy, of one quantity against the target ``y_t``; an average over t (1/T) is named as such."""
