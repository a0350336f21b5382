"""How an author writes a cell's quantities, read off their equations, so that what symrnn prints for them is in
their notation: the command around a vector's letter (``\\vec``, ``\\mathbf``, ``\\boldsymbol`` or none), around a
matrix's, time as a subscript (``h_t``) or a parenthesised superscript (``h^{(t)}``, Goodfellow et al.), and the
matrices whose label the author writes above the letter (``W^{hx}``, Lipton et al.).

:class:`Style` is plain data that :class:`~symrnn.latex.printer.LecturePrinter` reads (its ``style`` setting); the
lecture's notation is ``Style()``.  :func:`read_style` reads it from the equations' own LaTeX; it only chooses
among these forms and never copies the author's text into what is printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: The commands a vector or a matrix may be printed with (``\bm`` is printed ``\boldsymbol``: no package needed).
COMMANDS = {"vec": r"\vec", "mathbf": r"\mathbf", "boldsymbol": r"\boldsymbol", "bm": r"\boldsymbol"}
SUBSCRIPT, PARENTHESISED = "subscript", "parenthesised"


@dataclass(frozen=True)
class Style:
    """How to print a cell's vectors, matrices and time index."""

    vector: str = r"\vec"  # the command around a vector's letter, "" for a plain letter
    matrix: str = ""  # the command around a matrix's letter
    time: str = SUBSCRIPT  # SUBSCRIPT: h_{t}; PARENTHESISED: h^{(t)}
    labels_above: frozenset[str] = frozenset()  # matrices (by name, ``W_hx``) whose label is printed above

    def __post_init__(self) -> None:
        if self.vector not in ("", *COMMANDS.values()) or self.matrix not in ("", *COMMANDS.values()):
            raise ValueError(f"a style's commands are among {sorted(set(COMMANDS.values()))} or none")
        if self.time not in (SUBSCRIPT, PARENTHESISED):
            raise ValueError(f"a style's time is {SUBSCRIPT!r} or {PARENTHESISED!r}, not {self.time!r}")


LECTURE = Style()

_LEFT_SIDE = re.compile(r"^\s*(?:\\(?P<accent>tilde|hat|bar|check)\s*\{\s*)?(?:\\(?P<command>[A-Za-z]+)\s*\{\s*)?"
                        r"(?P<letter>[A-Za-z]|\\[A-Za-z]+)\s*\}?\s*\}?\s*(?P<index>[_^])")
_PARENTHESISED = re.compile(r"^\s*\{\s*\(")
_BOLD_CAPITAL = re.compile(r"\\(mathbf|boldsymbol|bm)\s*\{\s*(?:[A-Z]|\\(?:Gamma|Delta|Theta|Lambda|Xi|Pi|"
                           r"Sigma|Upsilon|Phi|Psi|Omega))\s*\}")


def _left_side(equation: str) -> tuple[str | None, str] | None:
    """The command around the defined quantity's letter and the way its time is written, or None if unread."""
    m = _LEFT_SIDE.match(equation)
    if m is None:
        return None
    command = m.group("command")
    if command is not None and command not in COMMANDS:
        return None
    rest = equation[m.end():]
    time = PARENTHESISED if m.group("index") == "^" and _PARENTHESISED.match(rest) else SUBSCRIPT
    return (COMMANDS[command] if command else ""), time


def _label_above(name: str, sources: Iterable[str]) -> bool:
    """``name`` (``W_hx``) written with its label above the letter: ``W^{hx}``, ``\\mathbf{W}^{hx}``."""
    letter, _, label = name.partition("_")
    if not label or not re.fullmatch(r"[A-Za-z]", letter) or not re.fullmatch(r"[A-Za-z0-9]+", label):
        return False
    above = re.compile(rf"(?<![A-Za-z\\]){letter}\s*\}}?\s*\^\s*\{{\s*{label}\s*\}}")
    return any(above.search(s) for s in sources)


def read_style(states: Sequence[str], others: Sequence[str], matrices: Iterable[str]) -> Style:
    """The style of a cell whose state equations are ``states`` and other equations ``others`` (their LaTeX), with
    the matrices named ``matrices``: the command and time of the first state's left side that is read (the lecture's
    when none is), the command around the capital letters when any is bold, the labels written above."""
    sides = [side for side in map(_left_side, [*states, *others]) if side is not None]
    vector, time = sides[0] if sides else (LECTURE.vector, LECTURE.time)
    every = [*states, *others]
    bold = next((m.group(1) for s in every for m in [_BOLD_CAPITAL.search(s)] if m), None)
    above = frozenset(name for name in matrices if _label_above(name, every))
    return Style(vector=vector, matrix=COMMANDS[bold] if bold else "", time=time, labels_above=above)
