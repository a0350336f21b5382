"""Section ``lstm``: ``steps`` and ``formulas`` (what the document says), ``checks_cell``, ``checks_bptt`` and
``checks_standard`` (what verifies it), and ``figures``."""

from symrnn.lecture25.lstm.steps import derivation

__all__ = ["derivation"]
