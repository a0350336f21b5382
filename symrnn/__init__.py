"""symrnn: derive and verify the mathematics of recurrent models symbolically.

``symrnn.read(text)`` reads a document's math (:func:`symrnn.latex.document.read`), ``symrnn.read_cell(text)``
turns a cell written in LaTeX into a :class:`~symrnn.models.cells.Cell` (:func:`symrnn.derive.read_cell`),
``symrnn.derive(cell, loss, out)`` derives, verifies and writes it (:func:`symrnn.derive.derive`); the rest lives in
the subpackages (``symrnn.lecture25``, ``symrnn.audit``, ``symrnn.autodiff``, ...), imported when used.
"""

from __future__ import annotations

from typing import Any


def read(text: str, *args: Any, **kwargs: Any):
    """Every math span of ``text`` read into SymPy, the notation inferred, the unread spans with reasons: see
    :func:`symrnn.latex.document.read` (imported here on first use, so that ``import symrnn`` stays light)."""
    from symrnn.latex.document import read as _read

    return _read(text, *args, **kwargs)


def read_cell(text: str, *args: Any, **kwargs: Any):
    """A recurrent cell written in LaTeX as a :class:`~symrnn.models.cells.Cell`: see
    :func:`symrnn.derive.read_cell` (imported on first use)."""
    from symrnn.derive import read_cell as _read_cell

    return _read_cell(text, *args, **kwargs)


def __getattr__(name: str) -> Any:
    """``symrnn.derive`` (a callable package) on first use, without importing it with ``symrnn``."""
    if name == "derive":
        import importlib

        return importlib.import_module("symrnn.derive")
    raise AttributeError(f"module 'symrnn' has no attribute {name!r}")
