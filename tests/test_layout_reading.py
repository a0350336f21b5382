"""The layouts authors use: relations laid out in rows (``aligned``, ``align``, ``gather``, ``split``, ...),
separated by spacing or words, with punctuation and equation numbering; and finding the math spans of Markdown and
LaTeX sources.  Each expected value is computed independently, from the separate relations parsed on their own."""

from __future__ import annotations

import time

import pytest
import sympy as sp

from symrnn.latex.parse import (
    EmptyInput,
    Limits,
    ParseError,
    TooDeep,
    Unbalanced,
    Unexpected,
    UnknownMacro,
    parse,
    tokenize,
)
from symrnn.latex.spans import MathSpan, find_spans
from symrnn.lecture25 import source as lecture


def both(*texts: str) -> tuple:
    """The tuple a span holding these relations reads as: each relation parsed on its own."""
    return tuple(parse(t_) for t_ in texts)


# ---- rows: layout environments -------------------------------------------------------------------------------------

ROWS = [
    (r"\begin{aligned} a &= b \\ c &= d \end{aligned}", both("a = b", "c = d")),
    (r"\begin{align} a &= b \\ c &= d \end{align}", both("a = b", "c = d")),
    (r"\begin{align*} a &= b \\ c &\approx d \end{align*}", both("a = b", r"c \approx d")),
    (r"\begin{gather} a = b \\ c = d \end{gather}", both("a = b", "c = d")),
    (r"\begin{gather*} a = b \\ c = d \end{gather*}", both("a = b", "c = d")),
    (r"\begin{eqnarray} a &=& b \\ c &=& d \end{eqnarray}", both("a = b", "c = d")),
    (r"\begin{equation} a = b + c \end{equation}", parse("a = b + c")),
    (r"\begin{equation*} a = b + c \end{equation*}", parse("a = b + c")),
    (r"\begin{split} a &= b \\ &= c \end{split}", parse("a = b = c")),
    # the chain continued on the next row, and a row break that only carries on the expression
    (r"\begin{aligned} a &= b \\ &= c \end{aligned}", parse("a = b = c")),
    (r"\begin{aligned} a &= b \\ &= c \\ d &= f \end{aligned}", (parse("a = b = c"), parse("d = f"))),
    (r"\begin{aligned} a &= b + c \\ &\quad + d \end{aligned}", parse("a = b + c + d")),
    (r"\begin{equation} \begin{split} a &= b \\ &\approx c \end{split} \end{equation}", parse(r"a = b \approx c")),
    (r"\begin{multline} a = b + c \\ + d \\ - f \end{multline}", parse("a = b + c + d - f")),
    # two equations side by side in align: every second & starts another relation
    (r"\begin{align} a &= b & c &= d \\ f &= g & u &= v \end{align}", both("a = b", "c = d", "f = g", "u = v")),
    # a row break with spacing, an empty last row, trailing punctuation on rows
    (r"\begin{aligned} a &= b \\[4pt] c &= d \\ \end{aligned}", both("a = b", "c = d")),
    (r"\begin{aligned} a &= b, \\ c &= d. \end{aligned}", both("a = b", "c = d")),
    (r"\begin{aligned} a &= b; \\ &= c. \end{aligned}", parse("a = b = c")),
    # a row of its own that starts with a minus sign but holds a relation is not a continuation
    (r"\begin{aligned} a &= b \\ -c &= d \end{aligned}", both("a = b", "-c = d")),
    # the lecture's notation inside rows
    (r"\begin{aligned} \vec{h}_t &= g(U\vec{h}_{t-1} + W\vec{x}_t) \\ \vec{h}_0 &= \vec{x}_0 \end{aligned}",
     both(r"\vec{h}_t = g(U\vec{h}_{t-1} + W\vec{x}_t)", r"\vec{h}_0 = \vec{x}_0")),
    (r"\begin{aligned} P(Y_t = j | Y_{t-1} = i) &= u_{j,i} \\ &\approx 0.28 \end{aligned}",
     parse(r"P(Y_t = j | Y_{t-1} = i) = u_{j,i} \approx 0.28")),
]


@pytest.mark.parametrize(("text", "expected"), ROWS)
def test_layout_environments_give_one_relation_per_row(text, expected):
    assert parse(text) == expected


def test_rows_are_the_sympy_relations_themselves():
    a, b, c, d = sp.symbols("a b c d")
    assert parse(r"\begin{aligned} a &= b \\ c &= d \end{aligned}") == (sp.Eq(a, b, evaluate=False),
                                                                         sp.Eq(c, d, evaluate=False))
    chain = parse(r"\begin{aligned} a &= b \\ &= c \end{aligned}")
    assert list(chain.args[0]) == [a, b, c] and chain == parse("a = b = c")


def test_a_layout_inside_a_math_span_reads_as_the_span():
    span = find_spans(r"$$\begin{aligned} a &= b \\ c &= d \end{aligned}$$")[0]
    assert parse(span.text) == both("a = b", "c = d")


def test_a_layout_environment_with_its_own_separators():
    text = r"\begin{aligned} a &= b \quad c = d \\ f &= g \text{ and } u = v \end{aligned}"
    assert parse(text) == both("a = b", "c = d", "f = g", "u = v")


# ---- separators between relations: spacing, words, punctuation, numbering ---------------------------------------

@pytest.mark.parametrize("space", [r"\quad", r"\qquad", r"\;", r"\,", r"\:", r"\!", "~", r"\ "])
def test_spacing_between_two_relations_separates_them(space):
    assert parse(f"a = x + y {space} b = z") == both("a = x + y", "b = z")


def test_spacing_separated_definitions_of_the_lecture_kind():
    u = r"U = \frac{1}{10} \begin{bmatrix} 1 & 8 \\ 8 & 1 \end{bmatrix}"
    h = r"\vec{h}_t = U\vec{h}_{t-1}"
    assert parse(rf"{u} \qquad {h}") == both(u, h)
    assert parse(rf"{u}, \qquad {h}.") == both(u, h)


@pytest.mark.parametrize(("text", "alone"), [
    (r"a = b \, c", "a = b c"),  # spacing inside a product
    (r"a \,=\, b", "a = b"),  # around the relation
    (r"\sum_{i} \, x_i = 1", r"\sum_{i} x_i = 1"),  # before a relation's first side
    (r"a = b \quad = c", "a = b = c"),  # a piece that starts with a relation continues the chain
    (r"P(Y_t = j \;|\; Y_{t-1} = i)", r"P(Y_t = j | Y_{t-1} = i)"),  # inside brackets, never a separator
])
def test_spacing_that_does_not_stand_between_two_relations_is_only_spacing(text, alone):
    assert parse(text) == parse(alone)


@pytest.mark.parametrize("word", [r"\text{ and }", r"\text{and}", r"\text{where}", r"\text{ with }",
                                  r"\quad\text{and}\quad", r", \text{ where }", r"\qquad \text{and} \qquad"])
def test_words_between_relations_separate_them(word):
    assert parse(rf"a = b + c {word} d = f") == both("a = b + c", "d = f")


@pytest.mark.parametrize("qualifier", [r"\text{for } t = 1, \dots, T", r"\quad \text{for all } t",
                                       r", \quad \text{for } t \geq 1.", r"\text{ for each } i"])
def test_a_trailing_for_qualifier_is_dropped(qualifier):
    assert parse(rf"h_t = a + b {qualifier}") == parse("h_t = a + b")


def test_a_for_qualifier_ends_only_its_own_row():
    text = r"\begin{aligned} h_t &= a \quad \text{for } t \geq 1 \\ h_0 &= b \end{aligned}"
    assert parse(text) == both("h_t = a", "h_0 = b")


@pytest.mark.parametrize("mark", [".", ",", ";", " .", ". ", ",.", r"\quad."])
def test_trailing_punctuation_is_ignored(mark):
    assert parse(f"a = b + c{mark}") == parse("a = b + c")


@pytest.mark.parametrize("numbering", [r"\label{eq:rnn-1}", r"\nonumber", r"\notag", r"\tag{3}", r"\tag*{A.1}",
                                       r"\label{x} \tag{2}"])
def test_labels_and_tags_are_ignored(numbering):
    assert parse(rf"a = b {numbering}") == parse("a = b")
    assert parse(rf"\begin{{align}} a &= b {numbering} \\ c &= d \end{{align}}") == both("a = b", "c = d")


def test_comma_lists_read_as_before_and_mix_with_spacing():
    assert parse("a = b, c = d") == both("a = b", "c = d")
    assert parse(r"a = b, c = d \qquad f = g") == both("a = b", "c = d", "f = g")


def test_cases_and_array_keep_their_meaning():
    plain = parse(r"\begin{cases} 1 & x > 0 \\ 0 & \text{otherwise} \end{cases}")
    assert isinstance(plain, sp.Piecewise)
    assert parse(r"\begin{cases} 1, & x > 0 \\ 0, & \text{otherwise}. \end{cases}") == plain
    table = r"\begin{array}{ll} \text{word} & \text{tag} \\ \text{the} & \text{Det} \end{array}"
    assert parse(table) == parse(table + ".")


# ---- guard rails -------------------------------------------------------------------------------------------------

def test_an_unknown_environment_is_still_refused_by_name():
    with pytest.raises(UnknownMacro, match="unknown environment 'foo'") as exc:
        parse(r"a = b \quad \begin{foo} c \end{foo}")
    assert exc.value.pos == len(r"a = b \quad \begin{")


def test_a_layout_environment_inside_an_expression_is_refused_by_name():
    with pytest.raises(Unexpected, match=r"\\begin\{aligned\}") as exc:
        parse(r"x = \begin{aligned} a &= b \end{aligned}")
    assert exc.value.pos == 4


def test_errors_in_a_later_row_name_their_position_in_the_whole_input():
    text = r"\begin{aligned} a &= b \\ c &= d + \end{aligned}"
    with pytest.raises(Unexpected) as exc:
        parse(text)
    assert exc.value.pos == text.index(r"\end")
    text = r"a = b \qquad c = d \cdot ) + 1"
    with pytest.raises(ParseError) as exc:
        parse(text)
    assert exc.value.pos == text.index(")")


@pytest.mark.parametrize(("text", "error"), [
    (".", EmptyInput),
    (r"\quad", EmptyInput),
    (r"\label{eq}", EmptyInput),
    (r"\begin{aligned} \end{aligned}", Unexpected),
    (r"\begin{aligned} \\ \\ \end{aligned}", Unexpected),
    (r"a = b . c", Unexpected),  # a full stop is punctuation only at the end
    (r"a = b \label{eq", Unbalanced),
    (r"a = b \tag 3", Unexpected),
    (r"\begin{aligned} a &= b", Unbalanced),
    (r"\begin{aligned} a &= b \end{align}", Unbalanced),
    (r"a = \quad", Unexpected),
    (r"a = b \qquad c =", Unexpected),
    (r"\begin{aligned} a &= \\ c &= d \end{aligned}", Unexpected),
])
def test_layout_guard_rails(text, error):
    with pytest.raises(error):
        parse(text)


def test_a_connective_with_nothing_after_it_leaves_the_relation_before_it():
    assert parse(r"a = b \text{ and }") == parse("a = b")


def test_nested_layouts_are_bounded_by_the_nesting_limit():
    deep = r"\begin{aligned}" * 45 + "a = b" + r"\end{aligned}" * 45
    with pytest.raises(TooDeep):
        parse(deep)
    fine = r"\begin{aligned}" * 10 + "a = b" + r"\end{aligned}" * 10
    assert parse(fine) == parse("a = b")


def test_many_rows_and_separators_read_within_the_time_limit():
    rows = r"\begin{aligned}" + " ".join(rf"a_{{{n}}} &= b \\" for n in range(1000)) + r"\end{aligned}"
    spaced = r" \quad ".join(rf"a_{{{n}}} = b" for n in range(1000))
    for text in (rows, spaced):
        start = time.perf_counter()
        read = parse(text, backend="none")
        assert isinstance(read, tuple) and len(read) == 1000
        assert time.perf_counter() - start < 5
    with pytest.raises(ParseError):  # the deadline still applies
        parse(spaced, backend="none", limits=Limits(seconds=1e-4))


def test_the_tokeniser_marks_spacing_before_a_token():
    toks = tokenize(r"a \quad b~c d")
    assert [t_.spaced for t_ in toks[:-1]] == [False, True, True, False]


# ---- finding the spans -------------------------------------------------------------------------------------------

def spans(text: str, **kw) -> list[tuple]:
    return [(s.line, s.start, s.end, s.text, s.display, s.delimiter) for s in find_spans(text, **kw)]


def test_dollar_spans_with_hand_counted_positions():
    assert spans("a $x$ b\n$$y = 1$$\n") == [(1, 2, 5, "x", False, "$"), (2, 8, 17, "y = 1", True, "$$")]


def test_parenthesis_and_bracket_spans():
    assert spans(r"see \(a+b\) and") == [(1, 4, 11, "a+b", False, "\\(")]
    assert spans("x\n\n\\[ c \\]") == [(3, 3, 10, "c", True, "\\[")]


def test_math_environments_outside_any_dollar():
    text = "intro\n\\begin{align} a &= b \\end{align} after"
    assert spans(text) == [(2, 6, 38, r"\begin{align} a &= b \end{align}", True, "align")]
    assert parse(find_spans(text)[0].text) == parse("a = b")
    found = spans(r"\begin{equation*}x\end{equation*} \begin{math}y\end{math} \begin{displaymath}z\end{displaymath}")
    assert [(s[4], s[5]) for s in found] == [(True, "equation*"), (False, "math"), (True, "displaymath")]
    names = ["equation", "align", "gather", "gather*", "multline", "eqnarray", "displaymath", "math"]
    for name in names:
        assert spans(rf"\begin{{{name}}} a = b \end{{{name}}}")[0][5] == name
    assert spans(r"\begin{itemize} $x$ \end{itemize}") == [(1, 16, 19, "x", False, "$")]


def test_an_environment_inside_a_dollar_span_is_part_of_it():
    text = r"$$\begin{aligned} a &= b \end{aligned}$$"
    assert spans(text) == [(1, 0, len(text), r"\begin{aligned} a &= b \end{aligned}", True, "$$")]
    assert len(find_spans(r"\[ \begin{equation} a \end{equation} \]")) == 1


def test_escaped_dollars_are_no_delimiters():
    assert spans(r"costs \$5 and \$6, but $z$") == [(1, 23, 26, "z", False, "$")]
    assert spans(r"$a \$ b$") == [(1, 0, 8, r"a \$ b", False, "$")]
    assert spans(r"\\$x$") == [(1, 2, 5, "x", False, "$")]  # an escaped backslash, then math


def test_markdown_code_is_skipped():
    assert spans("`$a$` and $b$") == [(1, 10, 13, "b", False, "$")]
    assert spans("``a ` $x$`` $y$") == [(1, 12, 15, "y", False, "$")]
    assert spans("`$q$") == [(1, 1, 4, "q", False, "$")]  # an unclosed backtick is a backtick
    assert spans("```\n$a$\n```\n$b$\n") == [(4, 12, 15, "b", False, "$")]
    assert spans("  ~~~~\n$a$\n~~~\n~~~~\n$b$") == [(5, 20, 23, "b", False, "$")]
    assert spans("```python\n$a$ \\(b\\)") == []  # an unclosed fence runs to the end
    assert spans(r"`\(x\)` \(y\)") == [(1, 8, 13, "y", False, "\\(")]


def test_latex_comments_and_verbatim_are_skipped():
    assert spans("% $a$\n$b$", markdown=False) == [(2, 6, 9, "b", False, "$")]
    assert len(spans("% $a$\n$b$")) == 2  # in Markdown % is a character
    assert spans("\\begin{verbatim}$a$\\end{verbatim}$b$", markdown=False) == [(1, 33, 36, "b", False, "$")]
    assert spans("\\documentclass{article}\n% $a$\n$b$") == [(3, 30, 33, "b", False, "$")]  # LaTeX, found
    assert spans(r"``quoted'' and ``also'' $c$", markdown=False)[0][3] == "c"


def test_a_span_over_several_lines_is_numbered_by_its_first_line():
    assert spans("a\nb $x\ny$\n$z$") == [(2, 4, 9, "x\ny", False, "$"), (4, 10, 13, "z", False, "$")]


def test_unclosed_delimiters_are_text():
    assert spans(r"\( a") == []
    assert spans(r"\(a\) \(") == [(1, 0, 5, "a", False, "\\(")]
    assert spans("$a") == []
    assert spans(r"\begin{equation} a") == []
    assert spans("$$a$") == [(1, 0, 4, "$a", False, "$")]  # as lecture25.source.equations reads it


def test_spans_agree_with_the_lecture_reader_on_the_lecture():
    text = lecture.text()
    assert [(s.line, s.start, s.end, s.text) for s in find_spans(text)] == \
        [(e.line, e.start, e.end, e.text) for e in lecture.equations(text)]
    assert all(isinstance(s, MathSpan) for s in find_spans(text))


def test_non_text_is_a_type_error():
    with pytest.raises(TypeError):
        find_spans(b"$x$")


@pytest.mark.parametrize("hostile", [
    "\\(" * 300_000,
    "\\[" + "\\" * 1_000_000,
    "$\\" * 500_000,
    "`" * 1_000_000 + "$",
    "a" + "`" * 1_000_000 + "$",
    "` $" * 333_333,
    "\\begin{equation}" * 60_000,
    "```\n" * 250_000,
], ids=["parens", "backslashes", "dollar-backslash", "fence-run", "backtick-run", "backticks", "environments",
        "fences"])
def test_a_megabyte_of_hostile_text_is_scanned_quickly(hostile):
    start = time.perf_counter()
    for markdown in (True, False):
        find_spans(hostile, markdown=markdown)
    assert time.perf_counter() - start < 20  # linear: about a second; a backtracking scan would never end


# ---- arrays that lay out equations (PyTorch's documentation) --------------------------------------------------------

ARRAYS = [
    (r"\begin{array}{ll} \\ a = b \\ c = d \\ \end{array}", both("a = b", "c = d")),
    (r"\begin{array}{ll} a = b \\ c = d \end{array}", both("a = b", "c = d")),
    (r"\begin{array}{rcl} a &=& b \\ c &=& d \end{array}", both("a = b", "c = d")),  # '&' ignored, as eqnarray
    (r"\begin{array}{l} r_t = x \\ h_t = (1 - z_t) y \end{array}", both("r_t = x", "h_t = (1 - z_t) y")),
]


@pytest.mark.parametrize(("text", "expected"), ARRAYS, ids=[c[0][:40] for c in ARRAYS])
def test_an_array_of_relations_is_a_layout(text, expected):
    assert parse(text) == expected


def test_an_array_with_headings_is_still_a_table():
    table = parse(r"\begin{array}{ll} \text{a} & \text{b} \\ x = 1 & y = 2 \end{array}")
    assert type(table).__name__ == "Table"
    with pytest.raises(Unexpected, match="first row must be 2 headings"):
        parse(r"\begin{array}{ll} x & \text{b} \end{array}")  # no relation: a table, malformed


def test_definitions_laid_out_with_an_empty_group():
    """PyTorch writes ``N ={} & \\text{batch size}``: the empty group only spaces the relation."""
    assert parse(r"\begin{aligned} a ={} & b \\ c ={} & d \end{aligned}") == both("a = b", "c = d")
    assert [t_.value for t_ in tokenize("a ={} b")] == ["a", "=", "b", ""]
    assert [t_.value for t_ in tokenize("a {} b")] == ["a", "{", "}", "b", ""]  # elsewhere the braces stay
