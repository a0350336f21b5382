"""Section ``rnn``'s notes on the lecture's printed example, generated from the recomputed numbers (never copied)."""

from __future__ import annotations

from symrnn.lecture25.common import dec
from symrnn.lecture25.rnn.example import Example
from symrnn.models import pos_tagging


def line_notes(example: Example) -> dict[int, str]:
    """Worked line t -> where the lecture's printed line differs."""
    h, w = example.hs, example.model.W
    noun = pos_tagging.TAGS.index("Noun")
    return {
        1: (f"Two differences. The lecture's W has five entries in its first row; W is {w.rows} x {w.cols} (one "
            "column per vocabulary word) and symrnn prints it as the model holds it. The lecture rounds h_(2,1) "
            f"down: computed, h_(2,1) = {dec(h[0][noun], 4)}, which rounds to {dec(h[0][noun])}."),
        2: (f"The lecture carries h_1 into this line with its second entry one hundredth lower (see h_1); symrnn "
            f"shows the computed h_1, rounded. The result, h_2 = [{', '.join(dec(v) for v in h[1])}], is the same."),
        4: ("The lecture's line is garbled: its x_4 has a row of W spliced into it and is followed by a stray "
            f"column of zeros, and its h_4 has four entries, though there are {len(example.tags)} tags. Computed, x_4 "
            f"is the one-hot vector of '{example.words[3]}' ({w.cols} entries) and "
            f"h_4 = [{', '.join(dec(v) for v in h[3])}], which agrees "
            "with the lecture's own reading P(Y_4 = Noun | ...) below."),
    }


def reading_notes(example: Example) -> dict[int, str]:
    """Reading t -> where the lecture's printed probability differs."""
    noun = pos_tagging.TAGS.index("Noun")
    return {1: f"The lecture's value is one hundredth lower: computed, h_(2,1) = {dec(example.hs[0][noun], 4)}, "
               f"which rounds to {dec(example.hs[0][noun])}."}


def section_notes(example: Example) -> tuple[str, ...]:
    """The section's closing note: every difference from the printed example."""
    noun = pos_tagging.TAGS.index("Noun")
    return (
        "Differences from the lecture's printed example, found by recomputing it: the first worked line's W has "
        "an extra entry in its first row; h_(2,1) is printed one hundredth low (computed "
        f"{dec(example.hs[0][noun], 4)}, which rounds to {dec(example.hs[0][noun])}), both in h_1's line, carried "
        "into h_2's line and in the reading P(Y_1 = Noun | X_1 = John); x_4 is printed with five entries in the "
        "observation sequence; h_4's line is garbled (a row of W inside x_4, a stray zero column, and four "
        "entries in h_4).",
    )
