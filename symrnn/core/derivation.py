"""A derivation is data: an ordered list of steps, each an equation, a justification, and a check.

The verifier, the renderers and the audit all read the same steps, so a document can only show what was checked.
Checks are plain dataclasses; :func:`symrnn.verify.run_check` says how each kind is run and which strength of
evidence it reached.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Union

import sympy as sp


class Evidence(str, Enum):
    """How strongly a check establishes its claim, strongest first."""

    SYMBOLIC = "symbolic"  # the identity holds as algebra
    EXACT = "exact"  # equal at random rational points (or to 50 digits where exp/log make values irrational)
    NUMERIC = "numeric"  # float64 agreement (generated code, finite differences)


@dataclass(frozen=True)
class Outcome:
    """What running a check found."""

    passed: bool
    evidence: Evidence
    detail: str


Sampler = Callable[[object], dict]  # rng -> {symbol: rational value}


@dataclass(frozen=True)
class Identity:
    """``lhs == rhs`` for every value of the free symbols (matrices compared entrywise).

    Tried as algebra first (``simplifier``: ``"cancel"`` for rational functions, ``"simplify"`` otherwise, ``None``
    to skip); if that does not reach zero, evaluated exactly at ``trials`` random points from ``sampler``
    (default: positive rationals), to 50 digits when exp/log make the values irrational.
    """

    lhs: sp.Basic
    rhs: sp.Basic
    simplifier: str | None = "cancel"
    trials: int = 5
    sampler: Sampler | None = None
    label: str = ""


@dataclass(frozen=True)
class Instances:
    """Several identities that together make one claim (e.g. an equation at every t, i, j); built on demand."""

    build: Callable[[], Iterable[Identity]]
    description: str


@dataclass(frozen=True)
class Refutation:
    """``lhs == rhs`` is *not* an identity: some exact rational point separates the two sides."""

    lhs: sp.Basic
    rhs: sp.Basic
    trials: int = 20
    sampler: Sampler | None = None


@dataclass(frozen=True)
class Computation:
    """A check that is a computation compared with an independent one (brute force, a peer library, ...)."""

    run: Callable[[object], Outcome]  # rng -> Outcome
    description: str


Check = Union[Identity, Instances, Refutation, Computation]  # noqa: UP007 - a runtime alias for Python 3.10


@dataclass(frozen=True)
class Step:
    """One step of a derivation.

    ``statement`` is what the document shows (a relation, or a tuple of relations printed comma-separated);
    ``reason`` justifies it in our own words; ``check`` verifies it.  ``lecture`` is a substring that locates the
    lecture's own LaTeX for this equation in the bundled lecture (for comparison), and ``lecture_note`` says where
    and why symrnn's form differs from it.
    """

    id: str
    title: str
    statement: sp.Basic | tuple
    reason: str
    check: Check
    lecture: str | None = None
    lecture_note: str = ""
    latex_override: str | None = None  # only for statements SymPy cannot hold (e.g. an algorithm's control flow)

    def _repr_latex_(self) -> str:
        """Jupyter: the statement as display maths."""
        from symrnn.core.verify import statement_latex

        return f"$$\n{statement_latex(self)}\n$$"

    def _repr_markdown_(self) -> str:
        """Jupyter: title, the statement as ``$$...$$``, the reason, and the check that verifies it (not yet run:
        :func:`symrnn.core.verify.verify_step` runs it and returns a result that shows its verdict)."""
        kinds = {Identity: "an identity, tried as algebra, then exactly at random rational points",
                 Refutation: "a refutation: an exact rational point where the two sides differ"}
        check = kinds.get(type(self.check)) or getattr(self.check, "description", type(self.check).__name__)
        out = [f"**{markdown_prose(self.title)}** (`{self.id}`)", "", self._repr_latex_(), "",
               markdown_prose(self.reason), "", f"*Check:* {markdown_prose(check)} (not run yet: "
               "`verify_step(step, section)` runs it)."]
        if self.lecture_note:
            out += ["", f"*Where the lecture differs:* {markdown_prose(self.lecture_note)}"]
        return "\n".join(out)


@dataclass(frozen=True)
class Figure:
    """A figure of the document: ``draw()`` returns a matplotlib Figure; the build saves it as ``name.png``."""

    name: str
    caption: str
    draw: Callable[[], object]


@dataclass(frozen=True)
class Derivation:
    """A section of the lecture, derived: its steps in order, with an introduction, notes and figures."""

    section: str
    title: str
    intro: str
    steps: Sequence[Step]
    notes: Sequence[str] = field(default_factory=tuple)
    figures: Sequence[Figure] = field(default_factory=tuple)

    def _repr_markdown_(self) -> str:
        """Jupyter: the section's title, introduction, every step's statement, its notes and figures."""
        from symrnn.core.verify import statement_latex

        out = [f"### {markdown_prose(self.title)} (`{self.section}`)", "", markdown_prose(self.intro), ""]
        for n, step in enumerate(self.steps, start=1):
            out += [f"**{n}. {markdown_prose(step.title)}** (`{step.id}`)", "", "$$", statement_latex(step), "$$", ""]
        out += [f"> {markdown_prose(note)}\n" for note in self.notes]
        out += [f"*Figure `{fig.name}`:* {markdown_prose(fig.caption)} (`draw()` makes it)\n" for fig in self.figures]
        return "\n".join(out)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<$])")


def markdown_prose(text: str) -> str:
    """Prose for Markdown (a notebook's display): its ``$...$`` spans kept as maths and its backquoted spans as
    code, every other character that Markdown or the notebook's maths would read escaped with a backslash."""
    parts = re.split(r"(\$[^$]+\$|`[^`]+`)", text)
    return "".join(p if len(p) > 2 and p[0] == p[-1] and p[0] in "$`" else _MARKDOWN_SPECIAL.sub(r"\\\1", p)
                   for p in parts)
