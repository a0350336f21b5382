"""A user's recurrent cell, written in LaTeX, read into a :class:`symrnn.models.cells.Cell` that the engine
differentiates: ``read_cell(text)`` (:mod:`.cell_reading`), and its named errors (:mod:`.errors`)."""

from symrnn.derive.cell_reading import read_cell
from symrnn.derive.errors import (
    SUPPORTED_FUNCTIONS,
    BadName,
    CellError,
    CyclicDefinition,
    DefinedTwice,
    NoState,
    ShapesDisagree,
    UndefinedQuantity,
    UnreadableEquation,
    UnsupportedConstruct,
    UnsupportedFunction,
)

__all__ = ["SUPPORTED_FUNCTIONS", "BadName", "CellError", "CyclicDefinition", "DefinedTwice", "NoState",
           "ShapesDisagree", "UndefinedQuantity", "UnreadableEquation", "UnsupportedConstruct", "UnsupportedFunction",
           "read_cell"]
