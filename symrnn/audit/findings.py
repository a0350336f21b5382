"""What the audit reports: one finding per verdict, at four levels.

``ok``, ``warning`` and ``error`` are verdicts on what symrnn read and checked (only a claim checked and found
false, or mathematics found malformed, is an ``error``); ``unread`` is a span symrnn could not read, with the
reason and position: a limit of the reader, never an error in the document."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

LEVELS = ("ok", "unread", "warning", "error")  # in order of severity
UNREAD = "unread"


@dataclass(frozen=True)
class Finding:
    """One verdict: the 1-based line, ``ok``/``warning``/``error``, a one-line reason, what was checked, and for a
    claim found false the correct statement (LaTeX)."""

    line: int
    level: str
    message: str
    check: str = "equation"
    suggestion: str | None = None  # the correct statement, as LaTeX in the document's notation

    def as_dict(self) -> dict:
        """The finding as JSON: ``suggestion`` only when there is one."""
        out = asdict(self)
        if out["suggestion"] is None:
            del out["suggestion"]
        return out


def worse(a: str, b: str) -> str:
    """The more severe of two levels."""
    return b if LEVELS.index(b) > LEVELS.index(a) else a


def summary(findings: Sequence[Finding]) -> str:
    """``"80 ok, 10 warnings, 10 errors"``, then ``", 3 unread"`` when some spans could not be read."""
    counts = {lv: sum(f.level == lv for f in findings) for lv in LEVELS}
    unread = f", {counts['unread']} unread" if counts["unread"] else ""
    return f"{counts['ok']} ok, {counts['warning']} warnings, {counts['error']} errors{unread}"


def shown(expr: object, limit: int = 120) -> str:
    """``expr`` as short LaTeX for a message (a number as text): a number too long to print is shown to 6 digits, a
    long expression is cut at ``limit`` characters."""
    import sympy as sp

    from symrnn.latex.printer import latex

    try:
        if getattr(expr, "is_Number", False):
            text = str(expr)
        else:
            ours = isinstance(expr, sp.Basic) and any(type(n).__module__.startswith("symrnn.")
                                                      for n in sp.preorder_traversal(expr))
            try:  # symrnn's own objects (a derivative in a vector) print through symrnn's printer
                text = latex(expr) if ours else sp.latex(expr)
            except (AttributeError, TypeError, NotImplementedError):  # SymPy picks methods by class name
                text = latex(expr)
    except ValueError:  # an integer of more than 4,300 digits: Python refuses to print it
        text = None
    except (AttributeError, TypeError, NotImplementedError, RecursionError):  # an object no printer can show
        return f"(a {type(expr).__name__} that cannot be printed)"
    if text is None or (len(text) > limit and getattr(expr, "is_Number", False)):
        try:
            return str(sp.N(expr, 6))
        except (ValueError, TypeError):
            return "(a number too large to print)"
    return text if len(text) <= limit else text[:limit] + "..."
