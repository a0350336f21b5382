"""The LaTeX front end: the lecture's notation read into symrnn's own objects, and both backends as second readers."""

from __future__ import annotations

import pytest
import sympy as sp

from symrnn import notation as nt
from symrnn.latex.parse import (
    Backend,
    BackendError,
    ParseError,
    RefusedName,
    ShapeMismatch,
    Sizes,
    Unexpected,
    available_backends,
    parse,
    parse_math,
    same,
)
from symrnn.lecture25 import source as lecture
from symrnn.numeric.guard import check_lambdifiable
from symrnn.ops import Ratio, sigmoid

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
    assert failing == {r"t 1 \neq": "MissingSide",  # "t - 1 \neq q" lost its minus sign and its right side
                       r"\vec{h}_{1}": "ShapeMismatch",  # W's first row has 5 entries
                       r"\vec{h}_{4}": "ShapeMismatch"}  # a garbled column [1; 0; 0; 1 & 97 & 1 & 1]
    assert len(texts) - len(failing) == 73


def test_decimals_keep_their_shown_precision():
    parsed = parse_math(r"\begin{bmatrix}0.28\\0.4\end{bmatrix}", backend="none")
    assert [(d.text, d.value, d.places) for d in parsed.decimals] == [
        ("0.28", sp.Rational(7, 25), 2), ("0.4", sp.Rational(2, 5), 1)]


def test_sizes_come_from_the_notation_and_can_be_declared():
    assert parse(r"\vec{x}_t", backend="none").shape == (V + 1, 1)
    custom = Sizes(vectors={"h": 3}, matrices={"U": (3, 3)})
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


L = sp.Symbol(r"\mathfrak{L}")
tau = sp.Symbol("tau")
DEFAULT_READINGS = [  # the bptt and lstm sections' notation, with the default sizes
    (r"\vec{y}_t \oslash \vec{h}_t", Ratio(nt.Vec("y", t, N), h_t)),  # entrywise division
    (r"\vec{y}_t \odot \vec{c}_t \oslash \vec{h}_t",  # left to right
     Ratio(nt.hadamard(nt.Vec("y", t, N), nt.Vec("c", t, N)), h_t)),
    (r"U^{t}", sp.MatPow(U, t)),  # a power of a square matrix
    (r"U^{T}", U.T),  # T after a matrix is its transpose
    (r"U^{(t)}", nt.LayerCopy(U, t)),  # the copy of U used at step t
    (r"\frac{d\mathfrak{L}}{dU^{(t)}}", nt.VecDerivative(L, nt.LayerCopy(U, t))),
    (r"\frac{d\mathfrak{L}}{d\vec{h}_t}", nt.VecDerivative(L, h_t)),  # a gradient has the vector's shape
    (r"\frac{\partial \vec{h}_t}{\partial \vec{h}_0}", nt.PartialDerivative(h_t, nt.Vec("h", 0, N))),  # a Jacobian
    (r"\tanh\left(\vec{h}_t\right)^{\circ {2}}", sp.HadamardPower(h_t.applyfunc(sp.tanh), 2)),
    (r"\sum_{\tau=1}^{t} \vec{h}_\tau", sp.Sum(nt.Vec("h", tau, N), (tau, 1, t))),  # a Greek index
    (r"\sum_{j} \left(h_{j,t} + h_{j,t-1}\right)", nt.StateSum(nt.h(j, t) + nt.h(j, t - 1), j)),
    (r"f_t \vec{h}_t", sp.IndexedBase("f")[t] * h_t),  # without declared gates f_t is a number
    (r"\begin{array}{ll} \text{name} & \text{PyTorch (nn.LSTM)} \\ \text{rate}\ \eta & h_{j,t} \end{array}",
     nt.Table(["name", "PyTorch (nn.LSTM)"], [[sp.Tuple(nt.Words("rate"), nt.eta), nt.h(j, t)]])),
]


@pytest.mark.parametrize(("text", "expected"), DEFAULT_READINGS, ids=[c[0][:40] for c in DEFAULT_READINGS])
def test_the_bptt_and_lstm_notation_reads_as_symrnn_objects(text, expected):
    assert same(parse(text, backend="none"), expected) in ("structural", "canonical")


LSTM = Sizes(vectors={"x": N}, matrices={"U_f": (N, N), "b_ii": (N, 1)}, gates={"f": N, "i": N, "o": N})
f_t, i_t, o_t = (nt.Gate(g, t, N) for g in "fio")
LSTM_READINGS = [  # gates declared: written without arrows, N-vectors, juxtaposition is entrywise
    (r"\vec{c}_t = f_t \vec{c}_{t-1} + i_t \vec{x}_t",
     sp.Eq(nt.Vec("c", t, N), sp.MatAdd(nt.Juxtaposed(f_t, nt.Vec("c", t - 1, N)),
                                       nt.Juxtaposed(i_t, nt.Vec("x", t, N))), evaluate=False)),
    (r"o_t \odot \frac{d\mathfrak{L}}{d\vec{h}_t}", nt.hadamard(o_t, nt.VecDerivative(L, h_t))),
    (r"\frac{\partial \mathfrak{L}}{\partial U_f}", nt.VecDerivative(L, nt.matrix("U_f", N, N), partial=True)),
    (r"\mathbf{1} - f_{t+1}", sp.MatAdd(sp.OneMatrix(N, 1), -nt.Gate("f", t + 1, N))),
    (r"b_{ii}", sp.MatrixSymbol("b_ii", N, 1)),  # a declared lower-case name is a column
    (r"f_{i,j}", sp.IndexedBase("f")[i, j]),  # two indices: an entry, not the gate
]


@pytest.mark.parametrize(("text", "expected"), LSTM_READINGS, ids=[c[0][:40] for c in LSTM_READINGS])
def test_declared_gates_read_as_the_lstm_section_writes_them(text, expected):
    assert same(parse(text, backend="none", notation=LSTM), expected) in ("structural", "canonical")


def test_a_gradient_is_the_same_whichever_class_holds_it():
    """bptt writes dL/dU as TotalDerivative, lstm as VecDerivative: one meaning, so one canonical form; the partial
    derivative stays another thing."""
    assert same(nt.TotalDerivative(L, U), nt.VecDerivative(L, U)) == "canonical"
    assert same(nt.PartialDerivative(L, U), nt.VecDerivative(L, U, partial=True)) == "canonical"
    assert same(nt.TotalDerivative(L, U), nt.VecDerivative(L, U, partial=True)) is None
    assert same(nt.VecDerivative(L, U), nt.VecDerivative(L, nt.matrix("W", N, V + 1))) is None


def test_a_symbol_named_by_its_latex_means_it_with_the_expression_s_sizes():
    one = nt.Vec("h", 0, 1)
    shown = sp.Eq(nt.Vec("h", t, 1), sp.Rational(1, 2) ** t * sp.Symbol(r"\vec{h}_0"), evaluate=False)
    assert same(shown, sp.Eq(nt.Vec("h", t, 1), sp.Rational(1, 2) ** t * one, evaluate=False)) == "canonical"
    assert same(shown, sp.Eq(nt.Vec("h", t, 1), sp.Rational(1, 2) ** t * nt.Vec("h", 1, 1), evaluate=False)) is None


def test_new_constructs_refuse_what_does_not_fit():
    squared = parse(r"\vec{h}_t^{2}", backend="none")  # ML texts' (1 - h_t^2): the entries squared
    assert isinstance(squared, sp.HadamardPower) and squared.args[1] == 2
    with pytest.raises(ShapeMismatch, match="a power of a N x 1 matrix"):
        parse(r"\vec{h}_t^{t}", backend="none")
    with pytest.raises(ShapeMismatch, match="ragged table of 2 columns: row 2 has 1"):
        parse(r"\begin{array}{ll} \text{a} & \text{b} \\ x \end{array}", backend="none")
    with pytest.raises(Unexpected, match="first row must be 2 headings"):
        parse(r"\begin{array}{ll} x & \text{b} \end{array}", backend="none")
    with pytest.raises(Unexpected, match="needs its columns"):
        parse(r"\begin{array} x \end{array}", backend="none")
    with pytest.raises(RefusedName):  # punctuation is a table's words only, never a name
        parse(r"\text{PyTorch (nn.LSTM)} + x", backend="none")
    with pytest.raises(ShapeMismatch, match="odot joins matrices"):
        parse(r"x \oslash \vec{h}_t", backend="none")


def test_a_copy_at_a_step_may_be_transposed_inside_its_superscript():
    row = parse(r"\boldsymbol{h}^{(t-1)\top}", backend="none")  # Goodfellow et al.'s h^{(t-1)T}
    assert isinstance(row, sp.Transpose) and isinstance(row.arg, nt.LayerCopy) and sp.expand(row.arg.step - t) == -1
    assert row.shape == (1, row.arg.shape[0])
