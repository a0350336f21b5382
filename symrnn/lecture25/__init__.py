"""The lecture's sections, each a derivation; ``SECTIONS`` lists them in the lecture's order.

Each section is a subpackage: ``steps`` holds its content (equations, reasons, prose), the ``checks*`` modules the
computations that verify it, ``figures`` its figures.  ``common`` holds the shorthands they share; ``source`` the
bundled lecture text (``lecture25.md``) and its math spans.
"""

from __future__ import annotations

from collections.abc import Callable

from symrnn.core.derivation import Derivation
from symrnn.lecture25 import bptt, hmm, lstm, rnn

#: section id -> builder(seed) of its derivation.
SECTIONS: dict[str, Callable[[int], Derivation]] = {
    "hmm": hmm.derivation,
    "rnn": rnn.derivation,
    "bptt": bptt.derivation,
    "lstm": lstm.derivation,
}


def derivations(sections: list[str] | None = None, seed: int = 0) -> list[Derivation]:
    """The derivations of the named sections (all by default), in the lecture's order."""
    names = list(SECTIONS) if not sections else sections
    unknown = [s for s in names if s not in SECTIONS]
    if unknown:
        raise KeyError(f"unknown section {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    return [SECTIONS[name](seed) for name in names]
