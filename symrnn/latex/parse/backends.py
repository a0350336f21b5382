"""The latex2sympy backends, used only as an independent second reading of plain-arithmetic pieces.

Neither backend reads the lecture's notation (see docs/parsing.md for the measurements), so each is handed only
pieces such as ``t-1``, ``V+1``, ``\\frac{1}{10}``; its answer is rebuilt through an allow-list (numbers, single
letters, ``+``, ``*``, ``^``) and compared with symrnn's own reading by the parser.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy as sp

from symrnn.latex.parse.errors import BackendError
from symrnn.latex.parse.tokens import Token, letter_symbol

#: Backends in order of preference (see docs/parsing.md for the measurements behind the order).
BACKENDS = ("latex2sympy2_extended", "latex2sympy2")


@dataclass(frozen=True)
class Backend:
    """A latex2sympy backend: its module name and a function from LaTeX text to a SymPy object."""

    name: str
    call: Callable[[str], Any]


def available_backends() -> list[str]:
    """The installed backends, preferred first."""
    out = []
    for name in BACKENDS:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - any import failure means "not usable here"
            continue
        out.append(name)
    return out


def load_backend(name: str = "auto") -> Backend | None:
    """The named backend (``"auto"``: the first installed of :data:`BACKENDS`; ``"none"``: no backend)."""
    if name == "none":
        return None
    names = available_backends() if name == "auto" else [name]
    if name not in ("auto", *BACKENDS):
        raise ValueError(f"unknown backend {name!r}: use one of auto, none, {', '.join(BACKENDS)}")
    for candidate in names:
        try:
            module = importlib.import_module(candidate)
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f"backend {candidate} is not installed: {exc}") from exc
        if candidate == "latex2sympy2_extended":
            fn = module.latex2sympy

            def call(text: str, _fn=fn):
                return _fn(text, normalization_config=None)
        else:
            fn = module.latex2sympy

            def call(text: str, _fn=fn):
                return _fn(text, variable_values={})  # resets the module's variable table on every call
        return Backend(candidate, call)
    return None


_PLAIN_CMDS = frozenset({"frac", "cdot", "times"})


def plain_arithmetic(toks: Sequence[Token]) -> bool:
    """Integers, single letters, + - and fractions only, with at least one operation (worth a second reading)."""
    ops = 0
    for t_ in toks:
        if t_.kind == "num" and "." not in t_.value:
            continue
        if t_.kind == "letter":
            continue
        if t_.kind == "sym" and t_.value in "+-(){}":
            ops += t_.value in "+-"
            continue
        if t_.kind == "cmd" and t_.value in _PLAIN_CMDS:
            ops += 1
            continue
        return False
    words = [t_ for a, t_ in zip(toks, toks[1:], strict=False) if a.kind == t_.kind == "letter" and t_.glued]
    return ops > 0 and not words


def from_backend(value: Any, text: str, tok: Token) -> sp.Expr:
    """A backend's answer rebuilt node by node from an allow-list; anything else is a BackendError."""
    if isinstance(value, (list, tuple)) or not isinstance(value, sp.Basic):
        raise BackendError(f"backend returned {type(value).__name__}, not an expression", tok.pos, text)
    if isinstance(value, sp.Float):
        return sp.Rational(Fraction(repr(float(value))))
    if isinstance(value, (sp.Integer, sp.Rational)):
        return value
    if isinstance(value, sp.Symbol):
        if not re.fullmatch(r"[A-Za-z]", value.name):
            raise BackendError(f"backend produced the symbol {value.name!r}", tok.pos, text)
        return letter_symbol(value.name)
    if isinstance(value, (sp.Add, sp.Mul, sp.Pow)):
        return value.func(*[from_backend(a, text, tok) for a in value.args])
    raise BackendError(f"backend produced {type(value).__name__}, outside the arithmetic allow-list", tok.pos, text)
