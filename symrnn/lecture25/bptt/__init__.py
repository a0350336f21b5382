"""Section ``bptt``: ``steps`` (what the document says), ``checks`` (what verifies it) and ``figures``."""

from symrnn.lecture25.bptt.steps import derivation

__all__ = ["derivation"]
