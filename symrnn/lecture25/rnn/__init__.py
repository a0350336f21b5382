"""Section ``rnn``: ``steps`` and ``notes`` (what the document says), ``example`` (the worked example, computed),
``checks`` and ``checks_example`` (what verifies it)."""

from symrnn.lecture25.rnn.steps import derivation

__all__ = ["derivation"]
