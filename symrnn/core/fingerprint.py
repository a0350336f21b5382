"""Fingerprints: a stable hash of everything a check's verdict depends on.

A fingerprint is the same in every process and every run for the same content, and differs when the content does:
SymPy objects are hashed by structure (``srepr``, visiting each shared subexpression once), callables by qualified
name, the source of their module, their defaults and the values they close over, and everything by the source of
the whole ``symrnn`` package and the versions of the libraries that decide identities.  Content that cannot be
fingerprinted deterministically (an object known only by its address) raises :class:`Unfingerprintable`: such a
check is always run, never looked up.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import re
import sys
import types
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import sympy as sp
from sympy.printing.repr import ReprPrinter

_LIBRARIES = ("symrnn", "sympy", "python-flint", "mpmath", "numpy")
_MAX_DEPTH = 12


class Unfingerprintable(Exception):
    """The content has no deterministic description (e.g. an object shown only by its address)."""


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def versions() -> dict[str, str]:
    """The versions of symrnn and of the libraries its verdicts rest on (``"-"`` when one is not installed)."""
    out = {"python": sys.version.split()[0]}
    for name in _LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "-"
    return out


def package_source(root: Path | None = None) -> str:
    """A hash of every ``.py`` file of the symrnn package: any edit to the code invalidates every verdict."""
    root = Path(__file__).resolve().parent.parent if root is None else root
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


class _HashPrinter(ReprPrinter):
    """``srepr`` whose long pieces are replaced by their hash, memoised per subexpression (a DAG, not a tree)."""

    def __init__(self) -> None:
        super().__init__()
        self._memo: dict = {}
        self.dummies: dict = {}  # Dummy -> its number in order of appearance (indices differ between processes)

    def _print_Dummy(self, expr) -> str:
        number = self.dummies.setdefault(expr, len(self.dummies))
        return re.sub(r"dummy_index=\d+", f"dummy={number}", super()._print_Symbol(expr))

    def dummy_order(self) -> list[int]:
        """The dummies' numbers in order of creation: what sorting them (e.g. to draw random points) sees."""
        return [self.dummies[d] for d in sorted(self.dummies, key=lambda d: d.dummy_index)]

    def _print(self, expr, **kwargs) -> str:
        key = (type(expr), expr) if isinstance(expr, sp.Basic) and not isinstance(expr, sp.Float) else None
        if key is not None and key in self._memo:
            return self._memo[key]
        text = super()._print(expr, **kwargs)
        if len(text) > 80:
            text = "#" + _sha(text)
        if key is not None:
            self._memo[key] = text
        return text

    def _print_Add(self, expr, order=None) -> str:  # stored argument order: deterministic, and no sorting
        return "Add(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Mul(self, expr, order=None) -> str:
        return "Mul(" + ", ".join(self._print(a) for a in expr.args) + ")"


def _callable(fn: Callable, printer: _HashPrinter, depth: int) -> str:
    if isinstance(fn, types.MethodType):
        return f"method({_callable(fn.__func__, printer, depth)}, {_value(fn.__self__, printer, depth + 1)})"
    if isinstance(fn, type) or not isinstance(fn, types.FunctionType):
        module = getattr(fn, "__module__", None) or "?"
        return f"{module}.{getattr(fn, '__qualname__', type(fn).__qualname__)}"
    module = sys.modules.get(fn.__module__)
    try:
        source = _sha(inspect.getsource(module)) if module is not None else "-"
    except (OSError, TypeError):
        source = _sha(fn.__code__.co_code.hex() + repr(fn.__code__.co_consts))
    cells = [c.cell_contents for c in fn.__closure__ or () if c.cell_contents is not fn]
    return (f"fn({fn.__module__}.{fn.__qualname__}, module {source}, "
            f"defaults {_value(fn.__defaults__, printer, depth + 1)}, "
            f"kwdefaults {_value(fn.__kwdefaults__, printer, depth + 1)}, closure {_value(cells, printer, depth + 1)})")


def _value(obj, printer: _HashPrinter, depth: int = 0) -> str:
    """A deterministic description of ``obj`` (hashes for long SymPy pieces)."""
    if depth > _MAX_DEPTH:
        raise Unfingerprintable("nested too deep")
    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
        return repr(obj)
    if isinstance(obj, (sp.Basic, sp.MatrixBase)):
        return printer._print(obj)
    if isinstance(obj, (list, tuple, frozenset, set)):
        items = [_value(x, printer, depth + 1) for x in obj]
        return f"{type(obj).__name__}[{', '.join(sorted(items) if isinstance(obj, (set, frozenset)) else items)}]"
    if isinstance(obj, dict):
        items = sorted(f"{_value(k, printer, depth + 1)}: {_value(v, printer, depth + 1)}" for k, v in obj.items())
        return "{" + ", ".join(items) + "}"
    if callable(obj) and isinstance(obj, (types.FunctionType, types.MethodType, types.BuiltinFunctionType, type)):
        return _callable(obj, printer, depth)
    if isinstance(obj, types.ModuleType):
        return f"module {obj.__name__}"
    name = f"{type(obj).__module__}.{type(obj).__qualname__}"
    if name.startswith("numpy.") and hasattr(obj, "tobytes"):  # arrays and scalars: every byte, not a summary
        return f"{name}({obj.dtype}, {getattr(obj, 'shape', ())}, {hashlib.sha256(obj.tobytes()).hexdigest()})"
    if dataclasses.is_dataclass(obj):
        fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        return f"{name}{_value(fields, printer, depth + 1)}"
    if name.startswith("symrnn.") and hasattr(obj, "__dict__"):  # our own plain classes: their attributes
        return f"{name}{_value(vars(obj), printer, depth + 1)}"
    raise Unfingerprintable(f"{name} has no deterministic description")  # hidden state (RNGs, handles, ...)


def fingerprint(*parts: object) -> str:
    """The hex SHA-256 of the parts' descriptions; raises :class:`Unfingerprintable`."""
    printer = _HashPrinter()
    described = [_value(p, printer) for p in parts]
    return _sha("\n".join([*described, f"dummies {printer.dummy_order()}"]))
