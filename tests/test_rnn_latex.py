"""Section ``rnn``'s equations, emitted from symrnn's objects, against the lecture's LaTeX.

Every equation of the lecture's RNN section is compared after :func:`symrnn.latex.normalise`.  Where the lecture's
line is garbled or its number disagrees with the computation, the test names the error, finds it in the lecture's
text, corrects exactly that, and asserts that the corrected line is what symrnn emits.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pytest
import sympy as sp

from symrnn import notation as nt
from symrnn.core.verify import statement_latex
from symrnn.latex.printer import latex, normalise
from symrnn.lecture25 import source as lecture
from symrnn.lecture25.rnn import steps as section
from symrnn.models import pos_tagging as pt

SOURCE = lecture.text()


@pytest.fixture(scope="module")
def steps():
    return {s.id: s for s in section.derivation().steps}


def lecture_of(step) -> str:
    return lecture.find(SOURCE, step.lecture).text


@dataclass(frozen=True)
class Block:
    """A ``\\begin{bmatrix}...\\end{bmatrix}`` in a normalised line: its span and its rows of cells."""

    start: int
    end: int
    rows: tuple[tuple[str, ...], ...]

    @property
    def shape(self) -> list[int]:
        return [len(r) for r in self.rows]


def blocks(text: str) -> list[Block]:
    out = []
    for m in re.finditer(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", text):
        rows = tuple(tuple(cell for cell in row.split("&")) for row in m.group(1).split(r"\\"))
        out.append(Block(m.start(), m.end(), rows))
    return out


def replace(text: str, block: Block, new: str) -> str:
    return text[:block.start] + new + text[block.end:]


def numpy_states() -> np.ndarray:
    """h_1..h_4 recomputed here: h_t = softmax(U h_{t-1} + W x_t - 1), h_0 = 0."""
    U = np.array([[1, 1, 8], [8, 1, 1], [1, 8, 1]]) / 10  # noqa: N806
    W = np.array([[1, 1, 1, 97], [49, 1, 49, 1], [1, 97, 1, 1]]) / 100  # noqa: N806
    h, out = np.zeros(3), []
    for k in (2, 1, 3, 0):  # John, hit, the, ball in the vocabulary [ball, hit, John, the]
        z = U @ h + W[:, k] - 1
        h = np.exp(z) / np.exp(z).sum()
        out.append(h)
    return np.array(out)


MATCHING = ["update", "update-additive", "x-definition", "h-approximates", "g-definition", "weights-U", "weights-W",
            "h3", "interpretation", "reading-2", "reading-3", "reading-4"]


@pytest.mark.parametrize("step_id", MATCHING)
def test_equation_matches_the_lecture(steps, step_id):
    step = steps[step_id]
    assert normalise(statement_latex(step)) == normalise(lecture_of(step))
    assert not step.lecture_note  # nothing to explain


def test_every_compared_step_is_either_matching_or_explained(steps):
    for step in steps.values():
        if step.lecture is None:
            continue
        same = normalise(statement_latex(step)) == normalise(lecture_of(step))
        assert same == (step.id in MATCHING), step.id
        assert same or step.lecture_note, step.id


def test_the_sections_equations_are_all_located(steps):
    """Each equation of the lecture's RNN section (between its heading and the training section) is compared."""
    start = SOURCE.index("## Recurrent neural network")
    end = SOURCE.index("Training an RNN\n")
    spans = [eq for eq in lecture.equations(SOURCE) if start <= eq.start < end]
    located = {lecture.find(SOURCE, s.lecture).start for s in steps.values() if s.lecture}
    missing = [eq.text[:60] for eq in spans if eq.start not in located]
    # the first is the HMM section's factorisation (compared there); the others are compared here
    assert len(missing) == 1 and missing[0].startswith(r"P(\dots, Y_{t-1}, X_{t-1}, Y_t, X_t)")


def test_printer_pieces():
    xi = sp.MatrixSymbol("xi", nt.N, 1)
    assert latex(nt.FunctionEntry("softmax", 2, nt.VecShift(xi, -1))) == \
        r"\operatorname{softmax}_{2}\left(\vec{\xi} - 1\right)"
    assert latex(nt.VecShift(xi, sp.Symbol("c"))) == r"\vec{\xi} + c"
    assert latex(nt.Applied("g", xi)) == r"g\left(\vec{\xi}\right)"
    assert latex(nt.Applied("tanh", xi)) == r"\tanh\left(\vec{\xi}\right)"
    assert latex(nt.OneIf(nt.Is(nt.X(nt.t), nt.Text("ball")))) == r"1 \text{ if } X_{t} = \text{ball}"
    assert [latex(nt.Rounded(v)) for v in (sp.Rational(1, 5), sp.Rational(-1, 1000), sp.Rational(5, 1000))] == \
        ["0.20", "0.00", "0.01"]
    assert latex(nt.Chain([1, 2, 3], ["=", "approx"])) == r"1 = 2 \approx 3"
    assert latex(nt.factored(pt.W)).startswith(r"\frac{1}{100}\begin{bmatrix}1 & 1 & 1 & 97")
    assert latex(nt.factored(pt.U)).startswith(r"\frac{1}{10}\begin{bmatrix}")
    with pytest.raises(ValueError):
        nt.Text("a b")
    with pytest.raises(ValueError):
        nt.Chain([1, 2], ["<"])


def test_flowgraph_lecture_omits_the_parentheses(steps):
    """Error named: the lecture writes ln U h_{t-1}, which reads as the log of the matrix U."""
    step = steps["flowgraph"]
    lec = normalise(lecture_of(step))
    assert r"\ln U\vec{h}_{t-1}" in lec and r"\ln W\vec{x}_t" in lec
    corrected = lec.replace(r"\ln U\vec{h}_{t-1}", r"\ln(U\vec{h}_{t-1})")
    corrected = corrected.replace(r"\ln W\vec{x}_t", r"\ln(W\vec{x}_t)")
    assert corrected == normalise(statement_latex(step))


def test_observation_sequence_x4_has_five_entries(steps):
    """Error named: x_4 is printed with five entries; the vocabulary has four words and W four columns."""
    step = steps["observations"]
    lec, ours = normalise(lecture_of(step)), normalise(statement_latex(step))
    lb, ob = blocks(lec), blocks(ours)
    assert [b.shape for b in lb] == [[1] * 4, [1] * 4, [1] * 4, [1] * 5]
    assert [b.shape for b in ob] == [[1] * 4] * 4
    assert lb[3].rows[4] == ("0",)  # the extra entry is a zero: dropping it gives the one-hot vector of 'ball'
    corrected = replace(lec, lb[3], r"\begin{bmatrix}" + r"\\".join(c for (c,) in lb[3].rows[:4]) + r"\end{bmatrix}")
    assert corrected == ours


def test_h1_line_has_a_five_entry_row_in_w_and_h21_rounded_down(steps):
    step = steps["h1"]
    lec, ours = normalise(lecture_of(step)), normalise(statement_latex(step))
    lb, ob = blocks(lec), blocks(ours)
    # error 1: W's first row has five entries (W is 3 x 4)
    assert lb[1].shape == [5, 4, 4] and ob[1].shape == [4, 4, 4]
    assert lb[1].rows[1:] == ob[1].rows[1:]
    # error 2: h_{2,1} printed one hundredth low
    h1 = numpy_states()[0]
    printed = [float(c) for (c,) in lb[-1].rows]
    assert [float(c) for (c,) in ob[-1].rows] == [round(v, 2) for v in h1]
    wrong = [n for n in range(3) if printed[n] != round(h1[n], 2)]
    assert wrong == [1] and printed[1] == math.floor(h1[1] * 100) / 100
    corrected = replace(replace(lec, lb[-1], ours[ob[-1].start:ob[-1].end]), lb[1], ours[ob[1].start:ob[1].end])
    assert corrected == ours


def test_h2_line_carries_the_low_h21(steps):
    step = steps["h2"]
    lec, ours = normalise(lecture_of(step)), normalise(statement_latex(step))
    lb, ob = blocks(lec), blocks(ours)
    h = numpy_states()
    carried = [float(c) for (c,) in lb[1].rows]
    assert [float(c) for (c,) in ob[1].rows] == [round(v, 2) for v in h[0]]
    assert [n for n in range(3) if carried[n] != round(h[0][n], 2)] == [1]
    assert [float(c) for (c,) in lb[-1].rows] == [round(v, 2) for v in h[1]]  # the result itself is right
    corrected = replace(lec, lb[1], ours[ob[1].start:ob[1].end])
    assert corrected == ours


def test_h3_line_is_computed_not_copied():
    steps_ = pt.worked_example()
    line = normalise(latex(pt.worked_line(steps_[2])))
    h = numpy_states()
    assert [float(c) for (c,) in blocks(line)[-1].rows] == [round(v, 2) for v in h[2]]
    assert [float(c) for (c,) in blocks(line)[1].rows] == [round(v, 2) for v in h[1]]


def test_h4_line_is_garbled(steps):
    """Errors named: a row of W spliced into x_4, a stray zero column after it, and h_4 with four entries."""
    step = steps["h4"]
    lec, ours = normalise(lecture_of(step)), normalise(statement_latex(step))
    lb, ob = blocks(lec), blocks(ours)
    assert len(lb) == 6 and len(ob) == 5  # U, h_3, W, x_4, h_4 -- the lecture has one block more
    w_rows = lb[2].rows
    x4 = lb[3]
    assert x4.shape == [1, 1, 1, 4] and x4.rows[3] == w_rows[2]  # x_4's last "entry" is W's third row
    assert lb[4].shape == [1, 1, 1, 1] and all(c == ("0",) for c in lb[4].rows)  # the stray zero column
    assert lb[5].shape == [1, 1, 1, 1] and ob[4].shape == [1, 1, 1]  # h_4 with four entries; three tags
    h4 = numpy_states()[3]
    assert [float(c) for (c,) in ob[4].rows] == [round(v, 2) for v in h4]
    assert [c for (c,) in ob[3].rows] == ["1", "0", "0", "0"]  # x_4: 'ball' is the first word
    corrected = lec[:x4.start] + ours[ob[3].start:ob[3].end] + lec[lb[4].end:lb[5].start] \
        + ours[ob[4].start:ob[4].end] + lec[lb[5].end:]
    assert corrected == ours


def test_reading_1_is_printed_one_hundredth_low(steps):
    step = steps["reading-1"]
    lec, ours = normalise(lecture_of(step)), normalise(statement_latex(step))
    value = float(re.search(r"\\approx(0\.\d+)$", lec).group(1))
    h1 = numpy_states()[0]
    assert value == math.floor(h1[1] * 100) / 100 != round(h1[1], 2)
    assert lec.replace(f"{value:.2f}", f"{round(h1[1], 2):.2f}") == ours


def test_worked_line_layout_options():
    steps_ = pt.worked_example()
    plain = normalise(latex(pt.worked_line(steps_[1])))
    full = normalise(latex(pt.worked_line(steps_[1], preactivation=True)))
    assert plain.count("g(") == 2 and full.count("g(") == 3
    pre = [round(float(nt.numeric(v, 20)), 2) for v in steps_[1].preactivation]
    assert [float(c) for (c,) in blocks(full)[-2].rows] == pre
    assert normalise(latex(pt.worked_line(steps_[0], preactivation=False))).count("g(") == 2
