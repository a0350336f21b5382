"""The LaTeX front end: the lecture's notation read into symrnn's own objects, and both backends as second readers."""

from __future__ import annotations

import pytest
import sympy as sp

from symrnn import lecture
from symrnn import notation as nt
from symrnn.functions import sigmoid
from symrnn.parse import (
    Backend,
    BackendError,
    Notation,
    ParseError,
    ShapeMismatch,
    Unexpected,
    available_backends,
    check_lambdifiable,
    parse,
    parse_math,
    same,
)

t, i, j, k, N, V, T = nt.t, nt.i, nt.j, nt.k, nt.N, nt.V, nt.T
U, W = nt.matrix("U", N, N), nt.matrix("W", N, V + 1)
h_t, h_prev, x_t = nt.Vec("h", t, N), nt.Vec("h", t - 1, N), nt.Vec("x", t, V + 1)
BACKENDS = ["none", *available_backends()]


def mul(*f):
    return sp.Mul(*f, evaluate=False)


CASES = [
    # relations: = keeps both sides; \approx and \leftarrow are the notation's relations
    ("a = b", sp.Eq(sp.Symbol("a"), sp.Symbol("b"), evaluate=False)),
    (r"f_t \approx 1", nt.Approx(sp.IndexedBase("f")[t], 1)),
    (r"u_{j,i} \leftarrow u_{j,i} - \eta \frac{\partial \Omega}{\partial u_{j,i}}",
     nt.Assign(nt.u(j, i), sp.Add(nt.u(j, i), mul(-1, mul(nt.eta, nt.PartialDerivative(sp.Symbol("Omega"),
                                                                                        nt.u(j, i)))),
                                  evaluate=False))),
    # probability notation
    (r"P(Y_t = j | Y_{t-1} = i)", nt.P([nt.Is(nt.Y(t), j)], [nt.Is(nt.Y(t - 1), i)])),
    (r"P(\dots, Y_t = j, X_t)", nt.P([nt.Dots(), nt.Is(nt.Y(t), j), nt.X(t)])),
    (r"P(Y_1, X_1, \dots, Y_T, X_T)", nt.P([nt.Span(1, T)])),
    (r"P(Y_q = j, X_1, ..., X_T)", nt.P([nt.Is(nt.Y(nt.q), j), nt.Span(1, T, states=False)])),
    (r"P(Y_{query}, X_1)", nt.P([nt.RV("Y", sp.Symbol("query")), nt.X(1)])),
    # sums, products, max
    (r"\sum_i P(Y_t = j | Y_{t-1} = i)", nt.StateSum(nt.P([nt.Is(nt.Y(t), j)], [nt.Is(nt.Y(t - 1), i)]), i)),
    (r"\max_{i} v_{i,t-1}", nt.StateMax(nt.v(i, t - 1), i)),
    (r"\prod_{t=1}^T P(X_t | Y_t)", sp.Product(nt.P([nt.X(t)], [nt.Y(t)]), (t, 1, T))),
    (r"\sum_{i=1}^N e^{\xi_i - 1}", sp.Sum(sp.exp(sp.IndexedBase("xi")[i] - 1), (i, 1, N))),
    # vectors, matrices, comma subscripts
    (r"\vec{h}_{t-1}", h_prev),
    (r"U\vec{h}_{t-1} + W\vec{x}_t", U * h_prev + W * x_t),
    (r"h_{i,t}", nt.h(i, t)),
    (r"\vec{h}_t = \begin{bmatrix} h_{1,t} \\ \vdots \\ h_{N,t} \end{bmatrix}",
     sp.Eq(h_t, nt.DotsMatrix("h", N, 1, t))),
    (r"\frac{1}{10} \begin{bmatrix} 1 & 8 \\ 9 & 2 \end{bmatrix}",
     nt.ScaledMatrix(sp.Rational(1, 10), sp.Matrix([[1, 8], [9, 2]]))),
    (r"x_{k,t} = \begin{cases} 1 & X_t = k \\ 0 & \text{otherwise} \end{cases}",
     sp.Eq(nt.x(k, t), sp.Piecewise((1, sp.Eq(nt.X(t), k, evaluate=False)), (0, True)))),
    # functions: elementwise, named vector functions, entries, kept unevaluated
    (r"\exp\left(\ln a + \ln b\right)",
     sp.exp(sp.Add(sp.log(sp.Symbol("a")), sp.log(sp.Symbol("b")), evaluate=False), evaluate=False)),
    (r"\log x", sp.log(sp.Symbol("x"), evaluate=False)),  # natural, as the lecture's \ln
    (r"\sigma(x + y)", sigmoid(sp.Add(sp.Symbol("x"), sp.Symbol("y"), evaluate=False))),
    (r"\sigma\left(U_f \vec{h}_{t-1}\right)", nt.elementwise(sigmoid, nt.matrix("U_f", N, N) * h_prev)),
    (r"\ln U\vec{h}_{t-1}", nt.elementwise(sp.log, U * h_prev)),  # ln of the vector U h_{t-1}
    (r"g(U\vec{h}_{t-1}, W\vec{x}_t)", nt.Applied("g", U * h_prev, W * x_t)),
    (r"\operatorname{softmax}_j(\vec{\xi} - 1)",
     nt.FunctionEntry("softmax", j, nt.VecShift(sp.MatrixSymbol("xi", N, 1), -1))),
    # derivatives: total d versus partial
    (r"\frac{d\mathfrak{L}}{dh_{i,t}}", nt.TotalDerivative(sp.Symbol(r"\mathfrak{L}"), nt.h(i, t))),
    (r"\frac{\partial h_{j,t+1}}{\partial h_{i,t}}", nt.PartialDerivative(nt.h(j, t + 1), nt.h(i, t))),
    # words and decimals
    (r"P(Y_1 = \text{Noun} | X_1 = \text{John}) \approx 0.44",
     nt.Approx(nt.P([nt.Is(nt.Y(1), nt.Text("Noun"))], [nt.Is(nt.X(1), nt.Text("John"))]),
               nt.Rounded(sp.Rational(44, 100), 2))),
    (r"Y_1, \ldots, Y_T", (nt.Y(1), nt.Dots(), nt.Y(T))),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_lecture_notation_reads_as_symrnn_objects(text, expected):
    got = parse(text, backend="none")
    assert same(got, expected) in ("structural", "canonical"), (got, expected)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_reads_the_lecture_the_same(backend):
    """Each installed backend gives the same result as symrnn alone: it only seconds the arithmetic."""
    texts = sorted({e.text for e in lecture.equations(lecture.text())})
    seen = 0
    for text in texts:
        try:
            alone = parse(text, backend="none")
        except ParseError:
            with pytest.raises(ParseError):
                parse(text, backend=backend)
            continue
        parsed = parse_math(text, backend=backend)
        assert same(parsed.expr, alone) in ("structural", "canonical")
        seen += parsed.second_readings
    if backend != "none":
        assert seen >= 20  # t-1, V+1, \frac{1}{10}, ... were really handed to the backend


def test_a_backend_that_disagrees_is_an_error_naming_both_readings():
    liar = Backend("liar", lambda text: sp.Integer(7))
    with pytest.raises(BackendError, match=r"reads 't-1' as 7, symrnn as t - 1") as exc:
        parse(r"\vec{h}_{t-1}", backend=liar)
    assert exc.value.pos == 9


def test_a_backend_answer_outside_the_allow_list_is_refused():
    odd = Backend("odd", lambda text: sp.Function("system")(sp.Symbol("x")))
    with pytest.raises(BackendError, match="allow-list"):
        parse(r"h_{t-1}", backend=odd)


def test_the_lecture_spans_that_cannot_be_read_are_its_own_errors():
    texts = {e.text for e in lecture.equations(lecture.text())}
    failing = {}
    for text in texts:
        try:
            parse(text, backend="none")
        except ParseError as exc:
            failing[text[:11]] = type(exc).__name__
    assert failing == {r"t 1 \neq": "Unexpected",  # "t - 1 \neq q" lost its minus sign and its right side
                       r"\vec{h}_{1}": "ShapeMismatch",  # W's first row has 5 entries
                       r"\vec{h}_{4}": "ShapeMismatch"}  # a garbled column [1; 0; 0; 1 & 97 & 1 & 1]
    assert len(texts) - len(failing) == 73


def test_decimals_keep_their_shown_precision():
    parsed = parse_math(r"\begin{bmatrix}0.28\\0.4\end{bmatrix}", backend="none")
    assert [(d.text, d.value, d.places) for d in parsed.decimals] == [
        ("0.28", sp.Rational(7, 25), 2), ("0.4", sp.Rational(2, 5), 1)]


def test_sizes_come_from_the_notation_and_can_be_declared():
    assert parse(r"\vec{x}_t", backend="none").shape == (V + 1, 1)
    custom = Notation(vectors={"h": 3}, matrices={"U": (3, 3)})
    assert parse(r"U\vec{h}_{t-1}", notation=custom, backend="none").shape == (3, 1)


def test_size_errors_name_the_shapes_and_the_position():
    with pytest.raises(ShapeMismatch, match=r"cannot multiply a 2 x 2 matrix by a 3 x 1 one at position 0"):
        parse(r"\begin{bmatrix}1&2\\3&4\end{bmatrix}\begin{bmatrix}1\\2\\3\end{bmatrix}", backend="none")
    with pytest.raises(ShapeMismatch, match=r"ragged bmatrix: row 1 has 2, row 2 has 1"):
        parse(r"\begin{bmatrix}1&2\\3\end{bmatrix}", backend="none")
    # sizes that may be equal (N and V + 1) are left to the audit
    assert parse(r"\vec{c}_{t-1} + \vec{x}_t", backend="none").args[1].shape == (V + 1, 1)


def test_the_whole_input_is_read():
    with pytest.raises(Unexpected, match="the rest of the input was not read"):
        parse("a + b & c", backend="none")


def test_names_are_checked_before_code_generation():
    check_lambdifiable(parse(r"\tanh(x) + \exp(y)", backend="none"))
    for text in (r"\operatorname{exec}(x)", r"\mathfrak{L} + 1", r"\operatorname{print}"):
        with pytest.raises(ValueError, match="refused before code generation"):
            check_lambdifiable(parse(text, backend="none"))
