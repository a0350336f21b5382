"""The lecture's sections, each a derivation; ``SECTIONS`` lists them in the lecture's order."""

from __future__ import annotations

from collections.abc import Callable

from symrnn.core.derivation import Derivation
from symrnn.lecture25 import bptt_section as bptt
from symrnn.lecture25 import hmm_section as hmm
from symrnn.lecture25 import lstm_section as lstm
from symrnn.lecture25 import rnn_section as rnn

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
