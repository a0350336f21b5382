"""The author's notation, read and printed back (:mod:`symrnn.latex.style`): a cell's equations re-emitted in the
style read off them are read by symrnn as the same cell (independent of the printer: the reader decides), keep the
author's commands and time index, and the lecture's notation is unchanged when no style is given."""

from __future__ import annotations

import pytest
import sympy as sp
import test_cells_literature as lit  # the cells those tests read (pytest puts tests/ on the path)
import test_read_cell as rc
import test_stacked_notation as stacked
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symrnn import notation as nt
from symrnn import read_cell
from symrnn.autodiff.hoisting import same
from symrnn.derive.shown import cell_text
from symrnn.latex.printer import latex
from symrnn.latex.style import LECTURE, PARENTHESISED, SUBSCRIPT, Style, read_style
from symrnn.notation import apply_entrywise

CELLS = {"elman lecture": rc.ELMAN_LECTURE, "elman bold": rc.ELMAN_BOLD, "linear plain": rc.LINEAR_PLAIN,
         "indrnn plain": rc.INDRNN_PLAIN, "indrnn relu bold": rc.INDRNN_RELU_BOLD, "gru bold": rc.GRU_BOLD,
         "gru plain": rc.GRU_PLAIN, "lstm bold": rc.LSTM_BOLD, "lstm plain": rc.LSTM_PLAIN, "mgu bold": rc.MGU_BOLD,
         "peephole": lit.PEEPHOLE, "ugrnn": lit.UGRNN, "janet": lit.JANET, "sru": lit.SRU,
         "ran": lit.RAN, "jordan plain": lit.JORDAN_PLAIN, "goodfellow": stacked.GOODFELLOW,
         "lipton": stacked.LIPTON, "greek": stacked.GREEK}


def _reemitted(text: str, **sizes) -> str:
    """The cell's equations as symrnn prints them in the author's style, with the text's size declarations."""
    shown = cell_text(text, **sizes)
    declared = [line for line in text.splitlines() if r"\mathbb{R}" in line]
    return "\n".join([*(f"$${latex(eq.equation, style=shown.style)}$$" for eq in shown.equations), *declared])


SIZES = {"jordan": {"sizes": {"k": 4}}}
CELLS["jordan"] = lit.JORDAN


@pytest.mark.parametrize("name", sorted(CELLS))
def test_a_cell_reemitted_in_its_authors_style_reads_back_as_the_same_cell(name):
    text, sizes = CELLS[name], SIZES.get(name, {})
    before, after = read_cell(text, **sizes), read_cell(_reemitted(text, **sizes), **sizes)
    assert after.states == before.states
    assert {p.name: (p.rows, p.cols) for p in after.params} == {p.name: (p.rows, p.cols) for p in before.params}
    step_before, step_after = before.step(), after.step()
    for state in before.states:
        assert same(_bound_alike(step_after[state]), _bound_alike(step_before[state])), state


_E = sp.Symbol("e")


def _bound_alike(expr: sp.Basic) -> sp.Basic:
    """``expr`` with every entrywise function's variable named alike (two readings bind different Dummies)."""
    if isinstance(expr, ElementwiseApplyFunction):
        (var,), body = expr.function.variables, expr.function.expr
        return apply_entrywise(sp.Lambda(_E, body.xreplace({var: _E})), _bound_alike(expr.expr))
    if not expr.args or isinstance(expr, (sp.MatrixSymbol, nt.Vec)):
        return expr
    return expr.func(*[_bound_alike(a) for a in expr.args])


def test_the_authors_commands_and_time_are_kept():
    assert r"\mathbf{h}_{t - 1}" in _reemitted(rc.GRU_BOLD) and r"\vec{" not in _reemitted(rc.GRU_BOLD)
    goodfellow = _reemitted(stacked.GOODFELLOW)
    assert r"^{(t - 1)}" in goodfellow and "_{t" not in goodfellow
    assert "{W^{hx}}" in _reemitted(stacked.LIPTON) or "{W^{xh}}" in _reemitted(stacked.LIPTON)
    plain = _reemitted(rc.GRU_PLAIN)
    assert r"\vec{" not in plain and r"\mathbf{h" not in plain and r"h_{t - 1}" in plain


@pytest.mark.parametrize(("equation", "vector", "time"), [
    (r"\vec{h}_t = \tanh(U \vec{h}_{t-1})", r"\vec", SUBSCRIPT),
    (r"\mathbf{h}_t = \tanh(U \mathbf{h}_{t-1})", r"\mathbf", SUBSCRIPT),
    (r"\bm{h}_{t} = \tanh(U \bm{h}_{t-1})", r"\boldsymbol", SUBSCRIPT),
    (r"\boldsymbol{h}^{(t)} = \tanh(W \boldsymbol{h}^{(t-1)})", r"\boldsymbol", PARENTHESISED),
    (r"h^{(t)} = \tanh(W h^{(t-1)})", "", PARENTHESISED),
    (r"  h_t &= \tanh(W h_{t-1})", "", SUBSCRIPT),
    (r"\tilde{\mathbf{h}}_t = \tanh(W \mathbf{h}_{t-1})", r"\mathbf", SUBSCRIPT),
])
def test_the_style_is_read_off_the_left_side(equation, vector, time):
    style = read_style([equation], [], [])
    assert (style.vector, style.time) == (vector, time)


def test_bold_capitals_and_labels_above():
    style = read_style([r"\mathbf{h}_t = \tanh(\mathbf{W}^{hh} \mathbf{h}_{t-1} + \mathbf{U}_x x_t)"], [],
                       ["W_hh", "U_x"])
    assert style.matrix == r"\mathbf" and style.labels_above == frozenset({"W_hh"})
    assert read_style([r"h_t = \tanh(W_{hh} h_{t-1})"], [], ["W_hh"]) == Style(vector="")
    assert read_style([], [], []) == LECTURE


def test_without_a_style_the_lecture_notation_is_printed():
    expr = sp.MatrixSymbol("W_hh", 3, 3) * nt.Vec("h", nt.t - 1, 3) + sp.MatrixSymbol("b", 3, 1)
    assert latex(expr) == latex(expr, style=None) == r"W_{hh} \vec{h}_{t - 1} + b"


def test_a_style_refuses_commands_it_does_not_know():
    with pytest.raises(ValueError, match="commands"):
        Style(vector=r"\input")
    with pytest.raises(ValueError, match="time"):
        Style(time="overhead")


def test_an_authors_bold_letters_break_a_display_where_plain_letters_would():
    from symrnn.derive.document import LONG, breakable

    bold = (r"\mathbf{n}_{1} = \tanh\left(\mathbf{W}_{in} \mathbf{x}_{1} + \left(\mathbf{W}_{hn} \mathbf{h}_{0}"
            r" + \mathbf{b}_{hn}\right) \odot \mathbf{r}_{1} + \mathbf{b}_{in}\right)")
    plain = bold.replace(r"\mathbf", "")
    assert len(bold) > LONG >= len(plain)
    assert breakable(bold).count(r"\\") == breakable(plain).count(r"\\") == 0  # one line, as plain letters
    long_bold = " + ".join(rf"\mathbf{{W}}_{{{k}}} \mathbf{{x}}_{{t}}" for k in range(40))
    long_plain = long_bold.replace(r"\mathbf", "")
    assert breakable(long_bold).count(r"\\") == breakable(long_plain).count(r"\\") > 0
