"""Compatibility: ``numeric_case`` lives in :mod:`symrnn.numeric.threeway`.

Kept only for ``tests/test_bptt.py``; delete once it imports from there.
"""

from symrnn.numeric.threeway import numeric_case

__all__ = ["numeric_case"]
