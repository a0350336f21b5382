"""Section ``rnn``'s notes on the lecture's printed example, generated from the recomputed numbers (never copied)."""

from __future__ import annotations

from symrnn.lecture25.common import dec
from symrnn.lecture25.rnn.example import Example
from symrnn.models import pos_tagging


def _entry(j: int, t: int, value: str = "") -> str:
    """The RNN's entry ``h_{j,t}`` as inline maths, from its indices (``= value`` when a value is given)."""
    return f"$h_{{{j},{t}}}" + (f" = {value}$" if value else "$")


def line_notes(example: Example) -> dict[int, str]:
    """Worked line t -> where the lecture's printed line differs."""
    h, w = example.hs, example.model.W
    noun = pos_tagging.TAGS.index("Noun")
    return {
        1: (rf"Two differences. The lecture's $W$ has five entries in its first row; $W$ is ${w.rows} \times {w.cols}$ "
            "(one column per vocabulary word) and symrnn prints it as the model holds it. The lecture rounds "
            f"{_entry(noun + 1, 1)} down: computed, {_entry(noun + 1, 1, dec(h[0][noun], 4))}, which rounds to "
            f"{dec(h[0][noun])}."),
        2: (r"The lecture carries $\vec{h}_1$ into this line with its second entry one hundredth lower (see "
            r"$\vec{h}_1$); symrnn shows the computed $\vec{h}_1$, rounded. The result, "
            rf"$\vec{{h}}_2 = [{', '.join(dec(v) for v in h[1])}]$, is the same."),
        4: (r"The lecture's line is garbled: its $\vec{x}_4$ has a row of $W$ spliced into it and is followed by a "
            rf"stray column of zeros, and its $\vec{{h}}_4$ has four entries, though there are {len(example.tags)} "
            rf"tags. Computed, $\vec{{x}}_4$ is the one-hot vector of '{example.words[3]}' ({w.cols} entries) and "
            rf"$\vec{{h}}_4 = [{', '.join(dec(v) for v in h[3])}]$, which agrees "
            r"with the lecture's own reading $P(Y_4 = \text{Noun} | \dots)$ below."),
    }


def reading_notes(example: Example) -> dict[int, str]:
    """Reading t -> where the lecture's printed probability differs."""
    noun = pos_tagging.TAGS.index("Noun")
    return {1: f"The lecture's value is one hundredth lower: computed, "
               f"{_entry(noun + 1, 1, dec(example.hs[0][noun], 4))}, which rounds to {dec(example.hs[0][noun])}."}


def section_notes(example: Example) -> tuple[str, ...]:
    """The section's closing note: every difference from the printed example."""
    noun = pos_tagging.TAGS.index("Noun")
    return (
        "Differences from the lecture's printed example, found by recomputing it: the first worked line's $W$ has "
        f"an extra entry in its first row; {_entry(noun + 1, 1)} is printed one hundredth low (computed "
        f"{dec(example.hs[0][noun], 4)}, which rounds to {dec(example.hs[0][noun])}), both in $\\vec{{h}}_1$'s "
        r"line, carried into $\vec{h}_2$'s line and in the reading $P(Y_1 = \text{Noun} | X_1 = \text{John})$; "
        r"$\vec{x}_4$ is printed with five entries in the observation sequence; $\vec{h}_4$'s line is garbled (a "
        r"row of $W$ inside $\vec{x}_4$, a stray zero column, and four entries in $\vec{h}_4$).",
    )
