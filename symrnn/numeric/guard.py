"""A guard before code generation: what must not reach ``lambdify`` or :mod:`symrnn.numeric.codegen`.

An expression read from user text may hold any name the grammar admits; printed as Python, an undefined function
``\\operatorname{exec}(x)`` would be a call to ``exec``.  :func:`check_lambdifiable` refuses such names first.
"""

from __future__ import annotations

import builtins
import keyword
import re

import sympy as sp
from sympy.core.function import AppliedUndef

_SAFE_FUNCTIONS = frozenset({"exp", "log", "tanh", "sigmoid", "Abs", "Max", "Min"})


def check_lambdifiable(expr: sp.Basic) -> None:
    """Refuse (ValueError) a symbol whose name is not a plain identifier or shadows a Python builtin or keyword,
    and any function that is not a known SymPy function."""
    for s in expr.atoms(sp.Symbol, sp.MatrixSymbol):
        name = s.name if isinstance(s.name, str) else str(s.name)
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) or keyword.iskeyword(name) or hasattr(builtins, name):
            raise ValueError(f"symbol name {name!r} is refused before code generation")
    for f in expr.atoms(sp.Function):
        fname = type(f).__name__
        if isinstance(f, AppliedUndef) or fname not in _SAFE_FUNCTIONS:
            raise ValueError(f"function {fname!r} is refused before code generation")
