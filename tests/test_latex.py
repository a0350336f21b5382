"""The lecture-notation printer, the normalisation, and the hmm section's equations against the lecture's."""

from __future__ import annotations

import pytest
import sympy as sp

from symrnn import notation as nt
from symrnn.core.verify import statement_latex
from symrnn.latex.printer import latex, normalise
from symrnn.lecture25 import source as lecture
from symrnn.lecture25.hmm import steps as hmm

t, N, V, i, j = nt.t, nt.N, nt.V, nt.i, nt.j


def test_vectors_matrices_and_elementwise_functions():
    U, W = nt.matrix("U", N, N), nt.matrix("W", N, V + 1)  # noqa: N806
    expr = nt.elementwise(sp.exp, nt.elementwise(sp.log, U * nt.Vec("h", t - 1, N))
                          + nt.elementwise(sp.log, W * nt.Vec("x", t, V + 1)))
    text = latex(expr)
    assert r"\mapsto" not in text
    assert normalise(text) == r"\exp(\ln(U\vec{h}_{t-1})+\ln(W\vec{x}_t))"
    assert normalise(latex(nt.hadamard(U * nt.Vec("h", t - 1, N), W * nt.Vec("x", t, V + 1)))) == \
        r"(U\vec{h}_{t-1})\odot(W\vec{x}_t)"
    assert latex(nt.Vec("xi", t, N)) == r"\vec{\xi}_{t}"


def test_scalar_factored_matrix():
    m = sp.Matrix([[1, 1, 8], [8, 1, 1], [1, 8, 1]]) / 10
    scaled = nt.factored(m)
    assert scaled.as_explicit() == m
    assert latex(scaled) == r"\frac{1}{10}\begin{bmatrix}1 & 1 & 8\\8 & 1 & 1\\1 & 8 & 1\end{bmatrix}"


def test_probability_sums_products_and_max():
    trans = nt.P([nt.Is(nt.Y(t), j)], [nt.Is(nt.Y(t - 1), i)])
    assert latex(trans) == "P(Y_{t} = j | Y_{t - 1} = i)"
    assert latex(nt.StateSum(trans, i)).startswith(r"\sum_{i} P(")
    assert latex(nt.StateMax(trans, i)).startswith(r"\max_{i} P(")
    prod = sp.Product(sp.Mul(nt.P([nt.Y(t)], [nt.Y(t - 1)]), nt.P([nt.X(t)], [nt.Y(t)]), evaluate=False),
                      (t, 1, nt.T))
    assert normalise(latex(prod)) == r"\prod_{t=1}^TP(Y_t|Y_{t-1})P(X_t|Y_t)"


@pytest.mark.parametrize(("a", "b"), [
    (r"\left( x \right)", "(x)"),
    (r"h_{t}", "h_t"),
    (r"P(..., Y_t)", r"P(\dots,Y_t)"),
    (r"\ln U", r"\ln U"),
    (r"\log{x}", r"\ln{x}"),
])
def test_normalisation(a, b):
    assert normalise(a) == b


def test_normalisation_keeps_different_things_different():
    assert normalise(r"\ln U\vec{h}") != normalise(r"\ln(U\vec{h})")
    assert normalise(r"h_{t-1}") != normalise(r"h_t-1")


def test_every_lecture_equation_of_the_section_matches_or_is_named():
    """Each step that quotes the lecture matches after normalisation, unless its note names the difference."""
    steps = [s for s in hmm.derivation().steps if s.lecture]
    assert len(steps) >= 11
    source = lecture.text()
    for step in steps:
        cmp = lecture.compare(statement_latex(step), step.lecture, step.lecture_note, source)
        if step.id == "log-bp":
            # Transcription ambiguity: the lecture's "\ln U\vec{h}_{t-1}" is ln of the vector U h_{t-1}.
            assert not cmp.matches and "logarithm is of the vector" in step.lecture_note
            assert normalise(cmp.emitted) == r"\vec{h}_t=\exp(\ln(U\vec{h}_{t-1})+\ln(W\vec{x}_t))"
        else:
            assert cmp.matches, (step.id, normalise(cmp.lecture), normalise(cmp.emitted))


def test_the_garbled_query_condition_is_named():
    # The lecture prints "If  $t 1 \neq$  query": the minus sign of t - 1 was lost in transcription.
    assert r"$t 1 \neq$" in lecture.text()
    add = next(s for s in hmm.derivation().steps if s.id == "bp-add")
    assert "lost a minus sign" in add.lecture_note


def test_lecture_equations_are_found_with_line_numbers():
    src = "a\n$$x = 1$$\nb $y$ c\n"
    eqs = lecture.equations(src)
    assert [(e.line, e.text) for e in eqs] == [(2, "x = 1"), (3, "y")]
    assert lecture.find(src, "b ").text == "y"
    with pytest.raises(LookupError):
        lecture.find(src, "zzz")


def test_a_bound_operator_parenthesises_a_sum_so_it_reads_back_as_one_body():
    a, b = sp.IndexedBase("a")[j, t], sp.IndexedBase("b")[j, t]
    assert latex(nt.StateSum(sp.Add(a, b), j)) == r"\sum_{j} \left(a_{j,t} + b_{j,t}\right)"
    assert latex(nt.StateMax(a * b, j)) == r"\max_{j} a_{j,t} b_{j,t}"  # a product needs none


def test_the_copy_of_a_matrix_at_one_step():
    assert latex(nt.LayerCopy(nt.matrix("U", N, N), t)) == "U^{(t)}"
    assert latex(nt.LayerCopy(nt.matrix("U_f", N, N), t - 1)) == "U_{f}^{(t - 1)}"


def test_long_equations_break_only_at_top_level_operators():
    from symrnn.documents.render import breakable

    inner = r"\begin{bmatrix}a, b\\c, d\end{bmatrix} \leftarrow \left(x, y\right) h_{i, t}"
    text = inner + " + " + "u" * 150 + r", \vec{h}_{2} = 0"
    broken = breakable(text)
    assert broken != text and r"\\ \vec{h}_{2} = 0" in broken.replace("&", "")  # cut at the top-level comma
    for whole in (r"\begin{bmatrix}a, b\\c, d\end{bmatrix}", r"\left(x, y\right)", "h_{i, t}"):
        assert whole in broken  # never inside a matrix, brackets or braces
    assert breakable("x + y") == "x + y"  # short: unchanged


HOSTILE = [r"\input{/etc/passwd}", "evil}\\def", r"\write18{rm -rf ~}", r"\catcode`\{=12", "a^^5cinput{x}",
           r"x}\def\x{y", r"\immediate\write", r"\csname input\endcsname", "{", "}", "50%", "#1", "a$b", "x\\"]
TEX_DANGER = {"input", "write", "def", "edef", "gdef", "let", "catcode", "csname", "immediate", "openout", "read"}


def tex_is_inert(text: str) -> bool:
    """No command that reads, writes or redefines, no bare ``%``/``#``/``^^``, and every unescaped brace closed in
    order (checked here, token by token, apart from the printer's own rules)."""
    import re

    depth = 0
    for command, char in re.findall(r"\\([A-Za-z]+|.)|(.)", text, re.S):
        if command in TEX_DANGER or char in ("%", "#") or (char == "^" and "^^" in text):
            return False
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def hostile_objects(name: str) -> dict:
    x = sp.Symbol("x")
    h = nt.Vec("h", t, N)
    return {"function": sp.Function(name)(x), "function class": sp.Function(name), "symbol": sp.Symbol(name),
            "matrix": sp.MatrixSymbol(name, 2, 2), "indexed object": sp.IndexedBase(name)[i, t],
            "symbol in a derivative": sp.Derivative(sp.Function("f")(sp.Symbol(name)), sp.Symbol(name)),
            "applied function": sp.Basic.__new__(nt.Applied, sp.Symbol(name), h),  # past the constructor's check
            "text": sp.Basic.__new__(nt.Text, sp.Symbol(name))}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_refused_never_printed_raw(name):
    import re

    from symrnn.latex.printer import UnsafeName

    for kind, expr in hostile_objects(name).items():
        with pytest.raises(UnsafeName, match=f"named {re.escape(repr(name[:80]))} as LaTeX: ") as refused:
            latex(expr)
        assert isinstance(refused.value, ValueError) and "\n" not in str(refused.value), kind


def test_any_name_either_prints_inert_latex_or_is_refused():
    import random

    from symrnn.latex.printer import UnsafeName

    rng = random.Random(0)
    alphabet = "ab_^{}\\% #$&~'()=,x1 " + "input" + "def"
    printed = 0
    for _ in range(3000):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        for expr in (sp.Symbol(name), sp.Function(name)(sp.Symbol("y")), sp.MatrixSymbol(name, 2, 1)):
            try:
                text = latex(expr)
            except UnsafeName:
                continue
            printed += 1
            assert tex_is_inert(text), (name, text)
    assert printed > 300  # the check above ran on printed names, not only on refusals


def test_ordinary_names_print_exactly_as_before():
    from symrnn.ops import sigmoid

    x, y, e = sp.Symbol("x"), sp.Symbol("y"), sp.Dummy("e")
    U, h = nt.matrix("U", N, N), nt.Vec("h", t - 1, N)  # noqa: N806
    expected = [
        (sp.Function("f")(x), r"f{\left(x \right)}"), (sp.Function("g_1")(x, y), r"g_{1}{\left(x,y \right)}"),
        (sp.tanh(x), r"\tanh{\left(x \right)}"), (sp.Function("tanh")(x), r"\tanh{\left(x \right)}"),
        (sp.Function("h_t")(x), r"h_{t}{\left(x \right)}"),
        (sp.Function("softmax")(x), r"\operatorname{softmax}{\left(x \right)}"),
        (sp.Function("my_fun")(x), r"\operatorname{my}_{fun}{\left(x \right)}"),
        (sp.Symbol("h_t"), "h_{t}"), (sp.Symbol("h_{t-1}"), "h_{t-1}"), (sp.Symbol("sigma"), r"\sigma"),
        (sp.Symbol(r"\sigma"), r"\sigma"), (sp.Symbol(r"\mathfrak{L}"), r"\mathfrak{L}"),
        (sp.Symbol(r"\hat{y}"), r"\hat{y}"),
        (sp.Symbol(r"\operatorname{argmax}_{y_1, \dots, y_T} P(Y_1 = y_1, X_T)"),
         r"\operatorname{argmax}_{y_1, \dots, y_T} P(Y_1 = y_1, X_T)"),
        (nt.elementwise(sp.tanh, U * h), r"\tanh\left(U \vec{h}_{t - 1}\right)"),
        (nt.elementwise(sigmoid, U * h), r"\sigma\left(U \vec{h}_{t - 1}\right)"),
        (nt.Applied("g", U * h), r"g\left(U \vec{h}_{t - 1}\right)"),
        (nt.FunctionEntry("softmax", j, U * h), r"\operatorname{softmax}_{j}\left(U \vec{h}_{t - 1}\right)"),
        (nt.apply_entrywise(sp.Lambda(e, 1 - e), nt.factored(sp.Matrix([[1, 2], [3, 4]]) / 10)),
         r"- \left(\frac{1}{10}\begin{bmatrix}1 & 2\\3 & 4\end{bmatrix}\right) + 1"),
        (nt.h(j, t), "h_{j,t}"), (nt.Text("Noun"), r"\text{Noun}"),
        (nt.Words("the cat, (a) dog"), r"\text{the cat, (a) dog}"),
        (sp.MatrixSymbol("W_r", 2, 2), "W_{r}"), (nt.Gate("f", t, N), "f_{t}"),
    ]
    for expr, want in expected:
        assert latex(expr) == want, expr


@pytest.mark.parametrize("expr", [
    nt.StateSum(sp.exp(nt.i) * nt.StateSum(nt.i, nt.i), nt.i),  # was \sum_{i} \sum_{i} i e^{i}
    nt.StateSum(sp.log(nt.i) ** 2, nt.i),  # was \sum_{i} \ln i^{2}, which reads as ln(i^2)
    nt.StateSum(sp.log(nt.i) * sp.log(nt.j), nt.i),  # was \ln i \ln j, which reads as ln(i ln j)
    nt.StateSum(nt.StateSum(nt.i, nt.i) ** 2, nt.i),  # was \sum_{i} \sum_{i} i^{2}
    -2 * sp.Symbol("a") * nt.StateSum(nt.i, nt.i),
])
def test_products_and_powers_of_greedy_operators_read_back_as_printed(expr):
    """Found by the round-trip property test: the reader lets an unparenthesised \\sum or \\ln take the rest of
    the product, so the printer puts such factors last and parenthesises all but one."""
    from symrnn.latex.parse import notation_of, parse, same

    text = latex(expr)
    assert same(parse(text, backend="none", notation=notation_of(expr)), expr) in ("structural", "canonical"), text


def test_a_value_too_small_for_decimal_rounds_to_zero_at_the_places_shown():
    from symrnn.notation.relations import decimal_text

    assert decimal_text(sp.exp(-(10**200)), 2) == "0.00"  # an exponent beyond what Python's decimal holds
    assert [decimal_text(sp.Rational(n, 1000), 2) for n in (-1, 4, 5, 333)] == ["0.00", "0.00", "0.01", "0.33"]
