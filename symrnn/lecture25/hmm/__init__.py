"""Section ``hmm``: ``steps`` (what the document says) and ``checks`` (what verifies it)."""

from symrnn.lecture25.hmm.steps import derivation

__all__ = ["derivation"]
