"""A derivation is data: an ordered list of steps, each an equation, a justification, and a check.

The verifier, the renderers and the audit all read the same steps, so a document can only show what was checked.
Checks are plain dataclasses; :func:`symrnn.verify.run_check` says how each kind is run and which strength of
evidence it reached.
"""

from __future__ import annotations

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
