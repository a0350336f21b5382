"""What the audit reports: one finding per verdict, at three levels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

LEVELS = ("ok", "warning", "error")


@dataclass(frozen=True)
class Finding:
    """One verdict: the 1-based line, ``ok``/``warning``/``error``, a one-line reason, and what was checked."""

    line: int
    level: str
    message: str
    check: str = "equation"

    def as_dict(self) -> dict:
        return asdict(self)


def worse(a: str, b: str) -> str:
    """The more severe of two levels."""
    return b if LEVELS.index(b) > LEVELS.index(a) else a


def summary(findings: Sequence[Finding]) -> str:
    """``"80 ok, 10 warnings, 10 errors"``."""
    counts = {lv: sum(f.level == lv for f in findings) for lv in LEVELS}
    return f"{counts['ok']} ok, {counts['warning']} warnings, {counts['error']} errors"
