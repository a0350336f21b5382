"""The latex2sympy backends, used only as an independent second reading of plain-arithmetic pieces.

Neither backend reads the lecture's notation (see docs/parsing.md for the measurements), so each is handed only
pieces such as ``t-1``, ``V+1``, ``\\frac{1}{10}``; its answer is rebuilt through an allow-list (numbers, single
letters, ``+``, ``*``, ``^``) and compared with symrnn's own reading by the parser.  The backends' ANTLR grammars
take seconds on a few nested brackets (``((((x))))``: about 1 s, 38 levels: 20 s), so only a short, flat piece is
read in-process; any other runs in a forked worker (:func:`symrnn.core.budget.run_bounded`) stopped at the parse's
deadline.
"""

from __future__ import annotations

import functools
import importlib
import multiprocessing
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy as sp

from symrnn.core.budget import Budget, BudgetExceeded, TimeLimit, run_bounded
from symrnn.latex.parse.errors import BackendError, Timeout
from symrnn.latex.parse.tokens import Limits, Token, letter_symbol

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


def second_opinion(backend: Backend, source: str, own: Any, text: str, tok: Token) -> tuple[sp.Expr, bool]:
    """The backend's reading of ``source`` through the allow-list, and whether it equals symrnn's ``own``."""
    try:
        value = backend.call(source)
    except Exception as exc:  # noqa: BLE001 - the backends' own exceptions are plain Exception
        detail = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise BackendError(f"backend {backend.name} cannot read {source!r}: {detail}", tok.pos, text) from None
    other = from_backend(value, text, tok)
    return other, sp.expand(other - own) == 0


def flat(source: str) -> bool:
    """True when brackets and braces nest at most one level (what a backend reads quickly)."""
    level = top = 0
    for ch in source:
        level += (ch in "({[") - (ch in ")}]")
        top = max(top, level)
    return top <= 1


#: Second readings already made by an installed backend, by (backend, piece, symrnn's reading): a pure function's
#: results, so that ``t-1`` is read once per process, not once per span (the lecture: 44 pieces, 5 distinct).
_MEMO: OrderedDict[tuple[str, str, Any], tuple[sp.Expr, bool]] = OrderedDict()
_MEMO_SIZE = 512


def read_bounded(backend: Backend, source: str, own: Any, text: str, tok: Token, limits: Limits,
                 deadline: float) -> tuple[sp.Expr, bool]:
    """:func:`second_opinion`, in-process for a short flat piece, else in a worker stopped at ``deadline``;
    remembered for the installed backends."""
    key = (backend.name, source, own)
    if backend.name in BACKENDS and key in _MEMO:
        _MEMO.move_to_end(key)
        return _MEMO[key]
    result = _read_bounded(backend, source, own, text, tok, limits, deadline)
    if backend.name in BACKENDS:
        _MEMO[key] = result
        if len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return result


def _read_bounded(backend: Backend, source: str, own: Any, text: str, tok: Token, limits: Limits,
                  deadline: float) -> tuple[sp.Expr, bool]:
    work = functools.partial(second_opinion, backend, source, own, text, tok)
    if len(source) <= limits.max_backend_chars and flat(source):
        return work()
    if multiprocessing.current_process().daemon:  # a bounded worker itself: it may not start another
        raise BackendError(f"{source[:40]!r} is too long or nested for an in-process second reading, and no worker "
                           f"can be started here", tok.pos, text)
    remaining = deadline - time.perf_counter()
    if remaining <= 0:
        raise Timeout("time limit reached before the backend's second reading", tok.pos, text)
    budget = Budget(seconds=remaining, memory_mb=limits.backend_memory_mb)
    try:
        return run_bounded(work, budget=budget, what=f"the backend's reading of {source[:40]!r}")
    except TimeLimit:
        raise Timeout(f"time limit reached in the backend's second reading of {source[:40]!r}", tok.pos,
                      text) from None
    except BudgetExceeded as exc:
        raise BackendError(f"backend {backend.name} on {source[:40]!r}: {exc}", tok.pos, text) from None
