"""The one guard before code generation: every name that could reach ``lambdify`` or :mod:`symrnn.numeric.codegen`.

Printed as Python, a SymPy name becomes code: an undefined function named ``print`` is a call to ``print``, one
named ``__import__('os').system('...') or abs`` runs a shell command, and a full-width ``ｅｘｅｃ`` is ``exec`` once
Python normalises identifiers.  :func:`vet` walks an expression before any code is generated and refuses, with
:class:`UnsafeName` naming the offender:

- a symbol name (``Symbol``, ``Dummy``, ``MatrixSymbol``) that is not a *safe identifier*: ASCII letters, digits and
  ``_``, starting with a letter, at most 100 characters, not a Python keyword, builtin or module name used by the
  generated code (so no dunder either);
- a function that is neither one of SymPy's functions in :data:`ALLOWED_FUNCTIONS` nor registered itself (not a
  subclass) as a scalar function in the table of operations (:mod:`symrnn.ops`); undefined functions
  (``sp.Function("f")``) are refused whatever their name;
- any other class outside SymPy whose name is not a safe identifier, and anything that is not a SymPy object.

:func:`safe_identifier` turns an argument's name into a safe identifier instead (``h_{t-1}`` -> ``h_t_1``), for the
callers that rename their arguments before printing.
"""

from __future__ import annotations

import builtins
import keyword
import re

import sympy as sp
from sympy.core.function import Application, FunctionClass

#: SymPy's own functions that NumPy and mpmath code may call (compared as classes, never by name).
ALLOWED_FUNCTIONS = frozenset({
    sp.exp, sp.log, sp.sin, sp.cos, sp.tan, sp.asin, sp.acos, sp.atan, sp.atan2, sp.sinh, sp.cosh, sp.tanh,
    sp.asinh, sp.acosh, sp.atanh, sp.Abs, sp.sign, sp.Max, sp.Min, sp.Heaviside, sp.Piecewise, sp.floor,
    sp.ceiling, sp.erf, sp.re, sp.im,
})

MAX_NAME = 100
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*", re.ASCII)
#: Names the generated modules import: a symbol with one of them would shadow the module.
_MODULES = frozenset({"numpy", "mpmath", "math", "scipy", "sympy", "builtins", "cmath"})
_RESERVED = frozenset(dir(builtins)) | _MODULES


class UnsafeName(ValueError):
    """A name that must not reach generated code; ``name`` is the offending name, ``kind`` what carries it."""

    def __init__(self, name: object, kind: str, reason: str) -> None:
        self.name, self.kind, self.reason = name, kind, reason
        shown = repr(name) if len(repr(name)) <= 2 * MAX_NAME else repr(name)[:2 * MAX_NAME] + "..."
        super().__init__(f"{kind} name {shown} is refused before code generation: {reason}")


def _problem(name: object, underscore: bool = False) -> str | None:
    """Why ``name`` is not a safe identifier, or None; ``underscore``: a leading ``_`` (not ``__``) is allowed."""
    if not isinstance(name, str):
        return f"not a string but {type(name).__name__}"
    if len(name) > MAX_NAME:
        return f"longer than {MAX_NAME} characters"
    if name.startswith("__"):
        return "a dunder name"
    if not _IDENTIFIER.fullmatch(name[1:] if underscore and name.startswith("_") else name):
        return "not an ASCII Python identifier starting with a letter"
    if keyword.iskeyword(name):
        return "a Python keyword"
    if name in _RESERVED:
        return "a Python builtin or a module the generated code uses"
    return None


def check_name(name: object, kind: str = "symbol") -> str:
    """``name`` if it is a safe identifier (see the module's docstring), else :class:`UnsafeName`.

    A class name (``kind="class"``) may start with one ``_``: it is never printed as code.
    """
    reason = _problem(name, underscore=kind == "class")
    if reason is not None:
        raise UnsafeName(name, kind, reason)
    return name


def safe_identifier(name: str) -> str:
    """A safe identifier made from ``name``: ``h_{t-1}`` -> ``h_t_1``; a reserved word gets a trailing ``_``."""
    out = re.sub(r"_+", "_", re.sub(r"[^0-9A-Za-z_]", "_", str(name), flags=re.ASCII)).strip("_")[:80]
    if not out or out[0].isdigit():
        out = "v" + out
    if keyword.iskeyword(out) or out in _RESERVED:
        out += "_"
    return out


def _registered(cls: type) -> bool:
    from symrnn.ops import registry  # imported on use: the table's own functions are named through this guard

    entry = registry.find(cls)
    return isinstance(entry, registry.Scalar) and entry.func is cls


def check_function(cls: type) -> type:
    """``cls`` if it is an allowed SymPy function or a registered scalar function, else :class:`UnsafeName`."""
    name = getattr(cls, "__name__", cls)
    if cls in ALLOWED_FUNCTIONS:
        return cls
    check_name(name, "function")
    if not _registered(cls):
        raise UnsafeName(name, "function", "neither a known SymPy function nor registered in symrnn.ops")
    return cls


def vet(expr: sp.Basic, *, symbols: bool = True) -> sp.Basic:
    """Return ``expr`` if every name in it may reach generated code, else raise :class:`UnsafeName`.

    ``symbols=False`` checks functions and classes only, for a caller (:func:`symrnn.numeric.codegen.kernel`)
    that renames the symbols with :func:`safe_identifier` and vets the renamed expression again.
    """
    stack, seen = [expr], set()
    while stack:  # each distinct subexpression once: shared subtrees cost nothing more
        node = stack.pop()
        if isinstance(node, FunctionClass):
            check_function(node)
            continue
        if not isinstance(node, sp.Basic):  # printed through str(): whatever that returns would be code
            raise UnsafeName(type(node).__name__, "object", "not an immutable SymPy object")
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, Application):  # sp.Function, and Max, Min
            check_function(node.func)
        elif isinstance(node, (sp.Symbol, sp.MatrixSymbol)):
            if symbols:
                check_name(node.name, "symbol")
        elif not type(node).__module__.startswith("sympy."):
            check_name(type(node).__name__, "class")
        stack.extend(node.args)
    return expr


def check_lambdifiable(expr: sp.Basic) -> None:
    """:func:`vet` (the name under which the parser's tests call it)."""
    vet(expr)
