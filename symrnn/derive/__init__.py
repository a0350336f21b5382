"""A user's recurrent cell, written in LaTeX, read into a :class:`symrnn.models.cells.Cell` that the engine
differentiates: ``read_cell(text)`` (:mod:`.cell_reading`), and its named errors (:mod:`.errors`).

The package is also callable: ``symrnn.derive(cell, loss, out)`` derives, verifies and writes a cell's documents and
training code (:func:`derive`; the command ``symrnn derive``).
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Any

from symrnn.derive.cell_reading import loss_equation, read_cell
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
    UnsupportedLoss,
)

__all__ = ["SUPPORTED_FUNCTIONS", "BadName", "CellError", "CyclicDefinition", "DefinedTwice", "NoState",
           "ShapesDisagree", "UndefinedQuantity", "UnreadableEquation", "UnsupportedConstruct", "UnsupportedFunction",
           "UnsupportedLoss", "derive", "loss_equation", "read_cell"]


def derive(cell: str | os.PathLike, loss: str | None = None, out: str | os.PathLike = "build", **options: Any):
    """Derive, verify and write the cell ``cell`` defines: LaTeX/Markdown text, or a path (``pathlib.Path``) to a
    file of it.  ``loss``: ``"squared"`` or ``"cross-entropy"`` when the text has no loss equation, or a loss equation
    in LaTeX (``r"L = \\frac{1}{T}\\sum_t \\frac{1}{2}\\|h_t - y_t\\|^2"``: summed, averaged over t or with another
    constant factor, :mod:`.loss_reading`), read as if it ended the text; ``out``: the folder (default ``./build``);
    ``options``: :func:`symrnn.derive.command.derive_text`'s (``n_state``, ``n_input``, ``n_output``, ``quick``, ...).
    Returns the :class:`~symrnn.derive.command.Derived` result (verdicts, files written)."""
    from symrnn.derive.checks import LOSSES
    from symrnn.derive.command import default_name, derive_file, derive_text, read_source

    if isinstance(loss, str) and loss not in LOSSES and "=" in loss:  # a loss equation: appended to the text
        if isinstance(cell, os.PathLike):
            options.setdefault("name", default_name(cell))
            options.setdefault("source_name", Path(cell).name)
            cell = read_source(cell, options.pop("max_bytes", 2_000_000))
        return derive_text(f"{cell.rstrip()}\n\n$${loss}$$\n", out, **options)
    if isinstance(cell, os.PathLike):
        return derive_file(cell, out, loss=loss, **options)
    return derive_text(cell, out, loss=loss, **options)


class _CallablePackage(types.ModuleType):
    """This package, callable as :func:`derive` (``symrnn.derive(...)``) while its modules stay importable."""

    def __call__(self, *args: Any, **kwargs: Any):
        return derive(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
