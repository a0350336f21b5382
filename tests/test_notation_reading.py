"""Reading textbook notation (issue 13): bold and accented names, subscripts that are part of a name, transposes,
entrywise products, norms, bounds in either direction, derivatives written several ways, and functions.

Each reading is compared with the object built by hand (SymPy and :mod:`symrnn.notation` constructors) or with an
equivalent spelling the lecture already uses.  A few spellings need commands the tokeniser may not know yet
(``\\bm``, ``\\top``, ``\\|``, ...): those cases are expected to fail only while the tokeniser refuses their text.
"""

from __future__ import annotations

import pytest
import sympy as sp

from symrnn import notation as nt
from symrnn.latex.parse import (
    ParseError,
    RefusedName,
    ShapeMismatch,
    Sizes,
    Timeout,
    TooDeep,
    TooLarge,
    Unbalanced,
    Unexpected,
    notation_of,
    parse,
    same,
)
from symrnn.latex.parse.objects import Expectation, MatrixAt, Proportional, SubscriptedApplied
from symrnn.latex.printer import latex
from symrnn.ops import relu, sigmoid

t, i, j, k, N, V, T = nt.t, nt.i, nt.j, nt.k, nt.N, nt.V, nt.T
L, w, x, y, z = sp.symbols("L w x y z")
h_t, h_prev, x_t = nt.Vec("h", t, N), nt.Vec("h", t - 1, N), nt.Vec("x", t, V + 1)
W = sp.MatrixSymbol("W", N, V + 1)
W_hh, W_hx, W_xh = sp.MatrixSymbol("W_hh", N, N), sp.MatrixSymbol("W_hx", N, V + 1), sp.MatrixSymbol("W_xh", V + 1, N)
a, b = sp.MatrixSymbol("a", N, 1), sp.MatrixSymbol("b", N, 1)


def read(text: str, **kw):
    return parse(text, backend="none", **kw)


def cases(pairs):
    """Parametrised ``(text, expected)`` cases, each named by its text."""
    return [pytest.param(text, expected, id=text[:50]) for text, expected in pairs]


def assert_reads(text: str, expected, **kw) -> None:
    got = read(text, **kw)
    assert got == expected or same(got, expected) in ("structural", "canonical"), (text, got, expected)


# ---- 1. vectors and matrices: bold, accents ------------------------------------------------------------------------

BOLD = [
    (r"\mathbf{h}_t", h_t),
    (r"\boldsymbol{h}_t", h_t),
    (r"\bm{h}_t", h_t),
    (r"\mathbf{h}_{t-1}", h_prev),
    (r"\mathbf{x}_t", x_t),  # the sizes of \vec{x}: V + 1 entries
    (r"\mathbf{h}", sp.MatrixSymbol("h", N, 1)),  # as \vec{h}
    (r"\mathbf{W}", W),  # bold upper case: the matrix W
    (r"\mathbf{U}", sp.MatrixSymbol("U", N, N)),
    (r"\mathbf{X}", sp.MatrixSymbol("X", N, N)),  # bold X is a matrix, plain X a random variable
    (r"\tilde{\mathbf{h}}_t", nt.Vec("htilde", t, N)),  # a vector of its own
    (r"\tilde{\vec{h}}_t", nt.Vec("htilde", t, N)),
    (r"\vec{\tilde{h}}_t", nt.Vec("htilde", t, N)),  # as the printer writes it
    (r"\hat{\mathbf{x}}_t", nt.Vec("xhat", t, V + 1)),  # with x's size
    (r"\hat{y}_t", sp.IndexedBase(r"\hat{y}")[t]),  # a number of its own, as y_t is
    (r"\hat{y}", sp.Symbol(r"\hat{y}")),
    (r"\bar{c}", sp.Symbol(r"\bar{c}")),
    (r"\tilde{W}", sp.MatrixSymbol(r"\tilde{W}", N, N)),
    (r"\hat{\sigma}", sp.Symbol(r"\hat{\sigma}")),
]


@pytest.mark.parametrize(("text", "expected"), cases(BOLD))
def test_bold_and_accented_names(text, expected):
    assert_reads(text, expected)


@pytest.mark.parametrize("bold", [r"\mathbf", r"\boldsymbol", r"\bm"])
@pytest.mark.parametrize("text", [r"{h}_t", r"{h}_{t-1}", r"{x}_{t+1}", r"{c}_{t}^\top"])
def test_bold_is_the_arrow(bold, text):
    assert read(bold + text) == read(r"\vec" + text)


def test_accented_names_are_other_names():
    for accented, plain in [(r"\tilde{\mathbf{h}}_t", r"\vec{h}_t"), (r"\hat{y}_t", "y_t"), (r"\bar{c}", "c"),
                            (r"\hat{\vec{y}}_t", r"\vec{y}_t")]:
        assert read(accented) != read(plain)


PRINTED_BACK = [
    nt.Vec("htilde", t, N), nt.Vec("yhat", t - 1, N), sp.IndexedBase(r"\hat{y}")[t], sp.Symbol(r"\bar{c}"),
    sp.MatrixSymbol(r"\tilde{W}", N, N), W_hh, W_hx, sp.Symbol("b_h"), sp.MatrixSymbol("h_hh", N, 1),
    sp.MatrixSymbol("b_h", N, 1),  # printed b_{h}: read back as the vector with the expression's own sizes
    sp.MatMul(W_hh.T, h_t), nt.hadamard(h_t, nt.Vec("c", t, N)), sp.Function("f")(x, y), sp.Function("ell")(x, y),
    sp.Function("phi")(x), relu(x), nt.Applied("f", x_t, h_prev, w), sp.Max(0, z),
    nt.TotalDerivative(sp.IndexedBase("x")[t], t),
    sp.MatMul(sp.Transpose(h_t), h_t), sp.Product(sp.IndexedBase("f")[j], (j, i, t)),
]


@pytest.mark.parametrize("expr", PRINTED_BACK, ids=[sp.srepr(e)[:50] for e in PRINTED_BACK])
def test_new_names_print_and_read_back(expr):
    text = latex(expr)
    assert_reads(text, expr, notation=notation_of(expr))


# ---- 2. subscripts: part of a name, or an index ---------------------------------------------------------------------

SUBSCRIPTS = [
    (r"W_{hx}", W_hx),  # rows as h (N), columns as x (V + 1)
    (r"W_{hh}", W_hh),
    (r"\mathbf{W}_\textrm{hh}", W_hh),
    (r"\mathbf{W}_{\textrm{hh}}", W_hh),
    (r"\mathbf{W}_{\mathrm{xh}}", W_xh),
    (r"W_{\text{hh}}", W_hh),
    (r"W_{xi}", sp.MatrixSymbol("W_xi", N, V + 1)),  # after a matrix, any letters name it (i is an index letter)
    (r"U_f", sp.MatrixSymbol("U_f", N, N)),
    (r"b_h", sp.Symbol("b_h")),  # b is a parameter: one letter names it
    (r"\mathbf{b}_h", sp.MatrixSymbol("b_h", N, 1)),  # a bias vector
    (r"\vec{b}_{f}", sp.MatrixSymbol("b_f", N, 1)),
    (r"b_{hh}", sp.Symbol("b_hh")),
    (r"x_{hh}", sp.Symbol("x_hh")),  # two letters, neither an index letter
    (r"\vec{h}_{\mathrm{enc}}", sp.MatrixSymbol("h_enc", N, 1)),  # text: always a name
    (r"h_t", sp.IndexedBase("h")[t]),  # indices stay indices
    (r"h_{t-1}", sp.IndexedBase("h")[t - 1]),
    (r"h_{i,t}", nt.h(i, t)),
    (r"x_{t+1}", sp.IndexedBase("x")[t + 1]),
    (r"y_T", sp.IndexedBase("y")[T]),
    (r"h_{ij}", sp.IndexedBase("h")[sp.Symbol("ij")]),  # letters with an index letter: an index, as before
    (r"c_h", sp.IndexedBase("c")[sp.Symbol("h")]),  # c is not a parameter: one letter indexes it
    (r"\vec{h}_\tau", nt.Vec("h", sp.Symbol("tau"), N)),
    (r"\vec{h}_{T}", nt.Vec("h", T, N)),
]


@pytest.mark.parametrize(("text", "expected"), cases(SUBSCRIPTS))
def test_subscripts_name_or_index(text, expected):
    assert_reads(text, expected)


def test_the_subscript_rule_is_data_in_sizes():
    letters = Sizes(index_letters=frozenset({"t", "h"}))
    assert read("x_{hh}", notation=letters) == sp.IndexedBase("x")[sp.Symbol("hh")]  # h is now an index letter
    assert read("b_h", notation=letters) == sp.IndexedBase("b")[sp.Symbol("h")]
    params = Sizes(parameters=frozenset({"b", "c"}))
    assert read("c_h", notation=params) == sp.Symbol("c_h")
    declared = Sizes(matrices={"W": (N, V + 1), "W_hx": (N, N)}, vectors={"x": V + 1, "b_h": 3})
    assert read("W_{hx}", notation=declared) == sp.MatrixSymbol("W_hx", N, N)  # a declared shape wins
    assert read(r"\vec{b}_h", notation=declared) == sp.MatrixSymbol("b_h", 3, 1)
    assert Sizes().matrix_shape("W_hy") == (N, N) and Sizes().matrix_shape("W_f") == (N, V + 1)


def test_the_lecture_readings_are_unchanged():
    assert read(r"\vec{h}_t = g(U\vec{h}_{t-1} + W\vec{x}_t)") == sp.Eq(
        h_t, nt.Applied("g", sp.MatrixSymbol("U", N, N) * h_prev + W * x_t), evaluate=False)
    assert read(r"P(Y_{query}, X_1)") == nt.P([nt.RV("Y", sp.Symbol("query")), nt.X(1)])
    assert read(r"u_{j,i}") == nt.u(j, i)
    assert read("f_t") == sp.IndexedBase("f")[t]
    assert read(r"b_{ii}", notation=Sizes(matrices={"b_ii": (N, 1)})) == sp.MatrixSymbol("b_ii", N, 1)


# ---- 3. operators ----------------------------------------------------------------------------------------------------

OPERATORS = [
    (r"\mathbf{W}_{hh}^\top \mathbf{h}_t", sp.MatMul(W_hh.T, h_t)),
    (r"W^\top", W.T), (r"W^T", W.T), (r"W^{T}", W.T), (r"W^{\top}", W.T),
    (r"W^\intercal", W.T), (r"W^{\intercal}", W.T),
    (r"\mathbf{h}_t^\top", h_t.T), (r"\vec{h}_t^{T}", h_t.T),
    (r"x^\top", x),  # a number is its own transpose
    (r"x^T", x**T),  # T after a number is the exponent T
    (r"x^{-1}", sp.Pow(x, -1)),
    (r"(x + y)^{-1}", sp.Pow(x + y, -1)),
    (r"\vec{a} \odot \vec{b}", nt.hadamard(a, b)),
    (r"\mathbf{a} \circ \mathbf{b}", nt.hadamard(a, b)),
    (r"\mathbf{a} \otimes \mathbf{b}", nt.hadamard(a, b)),
    (r"\mathbf{h}_t \odot \mathbf{h}_{t-1}", nt.hadamard(h_t, h_prev)),
    (r"U \circ U", nt.hadamard(sp.MatrixSymbol("U", N, N), sp.MatrixSymbol("U", N, N))),
    (r"x \cdot y", sp.Mul(x, y, evaluate=False)),
    (r"x \times y", sp.Mul(x, y, evaluate=False)),
    (r"2 \times 3", sp.Mul(2, 3, evaluate=False)),
    (r"\mathbf{a} \cdot \mathbf{b}", sp.MatMul(a.T, b)),  # the dot product a^T b
    (r"\|\mathbf{h}_t\|^2", sp.MatMul(sp.Transpose(h_t), h_t)),
    (r"\|\mathbf{h}_t\|^{2}", sp.MatMul(sp.Transpose(h_t), h_t)),
    (r"\|\mathbf{h}_t\|_2^2", sp.MatMul(sp.Transpose(h_t), h_t)),
    (r"\lVert \mathbf{h}_t \rVert_2^2", sp.MatMul(sp.Transpose(h_t), h_t)),
    (r"\Vert \mathbf{h}_t \Vert^2", sp.MatMul(sp.Transpose(h_t), h_t)),
    (r"\|\mathbf{h}_t\|", sp.HadamardPower(sp.MatMul(sp.Transpose(h_t), h_t), sp.S.Half)),
    (r"\|\mathbf{h}_t - \mathbf{h}_{t-1}\|^2", sp.MatMul(sp.Transpose(h_t - h_prev), h_t - h_prev)),
    (r"\|\mathbf{a} - \sigma(\|\mathbf{b}\|) \mathbf{b}\|^2",  # in parentheses \| opens a norm again
     sp.MatMul(sp.Transpose(a - sp.MatMul(nt.elementwise(sigmoid, sp.HadamardPower(b.T * b, sp.S.Half)), b)),
               a - sp.MatMul(nt.elementwise(sigmoid, sp.HadamardPower(b.T * b, sp.S.Half)), b))),
    (r"\prod_{j=t}^{i} x_j", sp.Product(sp.IndexedBase("x")[j], (j, i, t))),  # from t down to i: the range
    (r"\prod_{j=i+1}^{t} x_j", sp.Product(sp.IndexedBase("x")[j], (j, i + 1, t))),
    (r"\prod_{j=t}^{i+1} x_j", sp.Product(sp.IndexedBase("x")[j], (j, i + 1, t))),
    (r"\prod_{j=5}^{2} x_j", sp.Product(sp.IndexedBase("x")[j], (j, 2, 5))),
    (r"\prod_{j=t+1}^{t} x_j", sp.Product(sp.IndexedBase("x")[j], (j, t + 1, t))),  # empty, as written
    (r"\sum_{k=T}^{t} x_k", sp.Sum(sp.IndexedBase("x")[k], (k, t, T))),
    (r"\sum_{k=t}^{1} x_k", sp.Sum(sp.IndexedBase("x")[k], (k, 1, t))),
    (r"\sum_{t=1}^{T} x_t", sp.Sum(sp.IndexedBase("x")[t], (t, 1, T))),
]


@pytest.mark.parametrize(("text", "expected"), cases(OPERATORS))
def test_operators(text, expected):
    assert_reads(text, expected)


def test_powers_of_matrices_and_their_transposes():
    square = Sizes(matrices={"W": (N, N)})
    W_sq = sp.MatrixSymbol("W", N, N)
    assert read(r"(\mathbf{W}^\top)^{T-i}", notation=square) == sp.MatPow(W_sq.T, T - i)
    assert read(r"(\mathbf{W}_{hh}^\top)^{T-i}") == sp.MatPow(W_hh.T, T - i)
    assert read(r"(W^T)^{t}", notation=square) == sp.MatPow(W_sq.T, t)
    with pytest.raises(ShapeMismatch, match="a power of a V \\+ 1 x N matrix"):
        read(r"(W^T)^{T-i}")  # W is N x (V + 1) by default: no power


def test_entrywise_products_check_their_sides():
    numeric = Sizes(vectors={"a": 2, "b": 3})
    for op in (r"\odot", r"\circ", r"\otimes"):
        with pytest.raises(ShapeMismatch):
            read(rf"\vec{{a}} {op} \vec{{b}}", notation=numeric)
    with pytest.raises(Unexpected, match="composition is not read"):
        read(r"x \circ y")
    with pytest.raises(Unexpected, match="Kronecker product is not read"):
        read(r"U \otimes U")
    with pytest.raises(Unexpected, match="cross product"):
        read(r"\vec{a} \times \vec{b}")


# ---- 4. calculus ----------------------------------------------------------------------------------------------------

f_args = sp.Function("f")(sp.IndexedBase("x")[t], sp.IndexedBase("h")[t - 1], w)
CALCULUS = [
    (r"\frac{\partial L}{\partial \mathbf{W}}", nt.VecDerivative(L, W, partial=True)),  # a gradient, shaped as W
    (r"\partial L / \partial \mathbf{h}_t", nt.VecDerivative(L, h_t, partial=True)),
    (r"\partial L / \partial w", nt.PartialDerivative(L, w)),
    (r"\partial_w L", nt.PartialDerivative(L, w)),
    (r"\partial_{\mathbf{W}} L", nt.VecDerivative(L, W, partial=True)),
    (r"\nabla_{\mathbf{W}} L", nt.VecDerivative(L, W)),  # the gradient: the total derivative, as dL/dW
    (r"\nabla_{w} L", nt.TotalDerivative(L, w)),
    (r"\frac{dL}{dw}", nt.TotalDerivative(L, w)),
    (r"\frac{\mathrm{d} L}{\mathrm{d} w}", nt.TotalDerivative(L, w)),
    (r"\frac{d}{dt} x_t", nt.TotalDerivative(sp.IndexedBase("x")[t], t)),
    (r"\frac{\partial}{\partial w} L", nt.PartialDerivative(L, w)),
    (r"\frac{\partial}{\partial \mathbf{h}_t} L", nt.VecDerivative(L, h_t, partial=True)),
    (r"\frac{\partial f(x_t, h_{t-1}, w)}{\partial h_{t-1}}", nt.PartialDerivative(f_args, sp.IndexedBase("h")[t - 1])),
    (r"\frac{d f(x_t, h_{t-1}, w)}{d w}", nt.TotalDerivative(f_args, w)),
]


@pytest.mark.parametrize(("text", "expected"), cases(CALCULUS))
def test_derivatives(text, expected):
    assert_reads(text, expected)


def test_derivative_spellings_agree():
    pairs = [(r"\partial L / \partial \mathbf{h}_t", r"\frac{\partial L}{\partial \vec{h}_t}"),
             (r"\nabla_{\mathbf{W}} L", r"\frac{dL}{dW}"),
             (r"\frac{d}{dt} x_t", r"\frac{dx_t}{dt}"),
             (r"\partial_w L", r"\frac{\partial L}{\partial w}")]
    for one, other in pairs:
        assert read(one) == read(other)
    assert read(r"\frac{dL}{dw}") != read(r"\frac{\partial L}{\partial w}")  # total and partial differ


# ---- 5. functions ---------------------------------------------------------------------------------------------------

FUNCTIONS = [
    (r"\tanh(x)", sp.tanh(x, evaluate=False)),
    (r"\sigma(x)", sigmoid(x)),
    (r"\operatorname{sigmoid}(x)", sigmoid(x)),
    (r"\mathrm{sigmoid}(x)", sigmoid(x)),
    (r"\sigma(\mathbf{h}_t)", nt.elementwise(sigmoid, h_t)),
    (r"\operatorname{softmax}(\mathbf{h}_t)", nt.Applied("softmax", h_t)),
    (r"\mathrm{softmax}(\mathbf{h}_t)", nt.Applied("softmax", h_t)),
    (r"\textrm{softmax}(\mathbf{h}_t)", nt.Applied("softmax", h_t)),
    (r"\text{softmax}(\mathbf{h}_t)", nt.Applied("softmax", h_t)),
    (r"\mathrm{ReLU}(z)", relu(z)),
    (r"\operatorname{relu}(\mathbf{h}_t)", nt.elementwise(relu, h_t)),
    (r"\max(0, z)", sp.Max(0, z)),
    (r"\max(0, \mathbf{h}_t)", nt.elementwise(relu, h_t)),  # entrywise: ReLU
    (r"\max(x, y)", sp.Max(x, y)),
    (r"\exp(x)", sp.exp(x, evaluate=False)),
    (r"\log(x)", sp.log(x, evaluate=False)),  # natural
    (r"\ln x", sp.log(x, evaluate=False)),
    (r"\phi(x)", sp.Function("phi")(x)),
    (r"\varphi(x)", sp.Function("varphi")(x)),
    (r"f(x)", sp.Function("f")(x)),
    (r"f(x, y)", sp.Function("f")(x, y)),
    (r"f(\mathbf{h}_t)", nt.Applied("f", h_t)),  # a named vector function, as g
    (r"f(\mathbf{x}_t, \mathbf{h}_{t-1}, w)", nt.Applied("f", x_t, h_prev, w)),  # valued as its first argument
    (r"l(\mathbf{y}_t, \mathbf{o}_t)", sp.Function("l")(nt.Vec("y", t, N), nt.Vec("o", t, N))),  # a loss: a number
    (r"\ell(\mathbf{y}_t, \hat{\mathbf{y}}_t)", sp.Function("ell")(nt.Vec("y", t, N), nt.Vec("yhat", t, N))),
    (r"q(x, y)", sp.Function("q")(x, y)),  # any letter before a comma list
    (r"\ell(y, x)", sp.Function("ell")(y, x)),
    (r"\ell", sp.Symbol("ell")),
    (r"\ell_t", sp.IndexedBase("ell")[t]),
    (r"l(y_t, o_t)", sp.Function("l")(sp.IndexedBase("y")[t], sp.IndexedBase("o")[t])),
    (r"L = \sum_{t=1}^{T} l(y_t, o_t)",
     sp.Eq(L, sp.Sum(sp.Function("l")(sp.IndexedBase("y")[t], sp.IndexedBase("o")[t]), (t, 1, T)), evaluate=False)),
    (r"x(1 - x)", sp.Mul(x, 1 - x, evaluate=False)),  # one argument after another letter: a product, as before
]


@pytest.mark.parametrize(("text", "expected"), cases(FUNCTIONS))
def test_functions(text, expected):
    assert_reads(text, expected)


def test_a_textbook_rnn_reads():
    text = r"\mathbf{h}_t = \tanh(\mathbf{W}_{hh}\mathbf{h}_{t-1} + \mathbf{W}_{xh}\mathbf{x}_t + \mathbf{b}_h)"
    sizes = Sizes(matrices={"W_xh": (N, V + 1)})
    inner = sp.MatAdd(sp.MatMul(W_hh, h_prev), sp.MatMul(sp.MatrixSymbol("W_xh", N, V + 1), x_t),
                      sp.MatrixSymbol("b_h", N, 1))
    assert_reads(text, sp.Eq(h_t, nt.elementwise(sp.tanh, inner), evaluate=False), notation=sizes)


# ---- guard rails ----------------------------------------------------------------------------------------------------

REFUSED = [
    (r"\|\mathbf{h}_t", ParseError),  # the norm is never closed
    (r"\|x\|^2", Unexpected),  # a norm of a number is not read
    (r"\|\mathbf{h}_t\|_1", Unexpected),  # only the Euclidean norm
    (r"\nabla L", Unexpected),  # the gradient needs its variable
    (r"\frac{d}{dt}", Unexpected),  # an operator with nothing to differentiate
    (r"\partial L", Unexpected),
    (r"\partial L / x", Unexpected),
    (r"\max(0, \mathbf{a}, y)", Unexpected),
    (r"\max(\mathbf{a}, \mathbf{b})", Unexpected),
    (r"\mathbf{hx}", RefusedName),
    (r"\mathbf{W}_\textrm{h h}", RefusedName),
    (r"\mathbf{h}_{i,t}", Unexpected),  # a vector takes one time index
    (r"\tilde{\frac{1}{2}}", ParseError),
    (r"\lVert " * 300 + "x", TooDeep),
    (r"\partial " * 300 + "x", TooDeep),
    (r"\nabla_{x} " * 300 + "x", TooDeep),
]


@pytest.mark.parametrize(("text", "error"), REFUSED, ids=[c[0][:40] for c in REFUSED])
def test_what_is_not_read_is_a_parse_error_with_a_position(text, error):
    with pytest.raises(error) as info:
        read(text)
    assert 0 <= info.value.pos <= len(text)


def test_nothing_is_evaluated_that_could_blow_up():
    got = read(r"\prod_{j=10^{6}}^{1} j")  # written downwards: the range, still unevaluated
    assert isinstance(got, sp.Product) and got.limits[0][1:] == (1, 10**6)
    with pytest.raises(ParseError):
        read(r"\|\mathbf{h}_t\|^{10^{10}}")
    with pytest.raises(ParseError):
        read(r"\max(0, 9^{9^{9}})")


def test_an_argument_list_is_scanned_once_per_group():
    text = "f(" * 30 + "x, y" + ")" * 30
    got = read(text)
    assert isinstance(got, sp.Function("f")(x).func)
    long = "q(" + " + ".join(["x"] * 2000) + ", y)"
    assert read(long).func == sp.Function("q")


def test_applied_functions_rebuild_inside_larger_expressions():
    """SymPy rebuilds a node from its args (a Symbol for the name): scaling or adding an applied function works and
    prints."""
    g_h = parse(r"g(\vec{h}_t)")
    assert parse(r"2 g(\vec{h}_t)") == 2 * g_h
    assert parse(r"\vec{h}_{t-1} + g(U\vec{h}_{t-1})") == parse(r"g(U\vec{h}_{t-1}) + \vec{h}_{t-1}")
    assert g_h.func(*g_h.args) == g_h
    assert latex(parse(r"W g(\vec{h}_t)")) == r"W g\left(\vec{h}_{t}\right)"


# ---- 6. the corpus's notation (issue 13): each reading against its object built by hand ---------------------------

H, X_m = sp.MatrixSymbol("H", N, N), sp.MatrixSymbol("X", N, N)
W_xh_m = sp.MatrixSymbol("W_xh", V + 1, N)
xi_t, x_i = sp.IndexedBase("xi")[t], sp.IndexedBase("x")
u = sp.Symbol("u")

BATCH_MATRICES = [  # D2L: a bold capital with a time index is the matrix (one row per example) at that step
    (r"\mathbf{H}_t", MatrixAt(H, t)),
    (r"\mathbf{H}_{t-1}", MatrixAt(H, t - 1)),
    (r"\mathbf{H}_\tau", MatrixAt(H, sp.Symbol("tau"))),
    (r"H_t", MatrixAt(H, t)),  # a plain capital is a matrix too
    (r"\tilde{\mathbf{H}}_t", MatrixAt(sp.MatrixSymbol(r"\tilde{H}", N, N), t)),
    (r"\overrightarrow{\mathbf{H}}_t", MatrixAt(sp.MatrixSymbol(r"\overrightarrow{H}", N, N), t)),
    (r"\mathbf{H}_t^{(l)}", nt.LayerCopy(MatrixAt(H, t), sp.Symbol("l"))),  # layer l's copy
    (r"\mathbf{H}_0", sp.MatrixSymbol("H_0", N, N)),  # a number or a word names the matrix, as before
    (r"\mathbf{W}_{xh}", W_xh_m),
    (r"\mathbf{H}_t = \mathbf{X}_t \mathbf{W}_{xh} + \mathbf{H}_{t-1} \mathbf{W}_{hh}",
     sp.Eq(MatrixAt(H, t), sp.MatAdd(sp.MatMul(MatrixAt(X_m, t), W_xh_m), sp.MatMul(MatrixAt(H, t - 1), W_hh)),
           evaluate=False)),
    (r"\mathbf{H}_t = \mathbf{Z}_t \odot \mathbf{H}_{t-1} + (1 - \mathbf{Z}_t) \odot \tilde{\mathbf{H}}_t",
     sp.Eq(MatrixAt(H, t), sp.MatAdd(
         nt.hadamard(MatrixAt(sp.MatrixSymbol("Z", N, N), t), MatrixAt(H, t - 1)),
         nt.hadamard(nt.VecShift(-MatrixAt(sp.MatrixSymbol("Z", N, N), t), 1),
                     MatrixAt(sp.MatrixSymbol(r"\tilde{H}", N, N), t))), evaluate=False)),  # 1 - Z: every entry
]


@pytest.mark.parametrize(("text", "expected"), cases(BATCH_MATRICES))
def test_matrices_at_a_time_step(text, expected):
    assert_reads(text, expected)


def test_a_declared_batch_matrix_gives_its_matrix_a_shape():
    import symrnn
    n_, h_ = sp.symbols("n h")
    doc = symrnn.read(r"$\mathbf{H}_{t-1} \in \mathbb{R}^{n \times h}$ and $\mathbf{W}_{hh}^{(l)} \in "
                      r"\mathbb{R}^{h \times h}$")
    assert doc.notation.shapes["H"] == (n_, h_) and doc.notation.shapes["W_hh"] == (h_, h_)
    assert "H" in doc.notation.matrices


APPLIED = [
    (r"h_t = f_W(h_{t-1}, x_t)",  # a function named with its subscript
     sp.Eq(sp.IndexedBase("h")[t], sp.Function("f_W")(sp.IndexedBase("h")[t - 1], x_i[t]), evaluate=False)),
    (r"\phi_l(\mathbf{h}_t)", SubscriptedApplied("phi_l", h_t)),  # layer l's activation, a vector function
    (r"\operatorname{softmax}_j(\mathbf{h}_t)", nt.FunctionEntry("softmax", j, h_t)),  # an index: an entry
    (r"\ell_t(\mathbf{o}_t)", sp.Function("ell_t")(nt.Vec("o", t, N))),  # a loss stays a number
    (r"L(x, y, w)", sp.Function("L")(x, y, w)),  # a capital before a comma list
    (r"p_t(x, y)", sp.Function("p_t")(x, y)),
    (r"(x_1, x_2, \ldots, x_{j-1})", sp.Tuple(x_i[1], x_i[2], nt.Dots(), x_i[j - 1])),  # a sequence
    (r"h = (h_1, \ldots, h_T)",
     sp.Eq(sp.Symbol("h"), sp.Tuple(sp.IndexedBase("h")[1], nt.Dots(), sp.IndexedBase("h")[T]), evaluate=False)),
    (r"\text{prod}\left(\mathbf{a}, \mathbf{b}\right)", nt.Applied("prod", a, b)),  # any word before a comma list
    (r"\mathop{LN}(\mathbf{h}_t)", nt.Applied("LN", h_t)),
    (r"tanh(x)", sp.tanh(x, evaluate=False)),  # a function's name in plain letters
    (r"\tanh^2(x)", sp.tanh(x, evaluate=False) ** 2),
    (r"\tanh^{2}(\mathbf{h}_t)", sp.HadamardPower(nt.elementwise(sp.tanh, h_t), 2)),
]


@pytest.mark.parametrize(("text", "expected"), cases(APPLIED))
def test_functions_with_subscripts_tuples_and_words(text, expected):
    assert_reads(text, expected)


def test_the_old_readings_of_letters_before_parentheses_stay():
    assert read(r"x(1 - x)") == sp.Mul(x, 1 - x, evaluate=False)
    assert read(r"p(1 - p)") == sp.Mul(sp.Symbol("p"), 1 - sp.Symbol("p"), evaluate=False)  # a product, not P
    assert read(r"\pi_t(h_t)") == sp.Mul(sp.IndexedBase("pi")[t], sp.IndexedBase("h")[t], evaluate=False)


PRIMES = [
    (r"\sigma'(z)", sp.Derivative(sigmoid(z), z)),
    (r"\sigma^\prime(z)", sp.Derivative(sigmoid(z), z)),
    (r"\tanh'(x + y)", sp.Subs(sp.Derivative(sp.tanh(u), u), u, x + y)),  # SymPy's form of f'(g)
    (r"tanh^{'}(x + y)", sp.Subs(sp.Derivative(sp.tanh(u), u), u, x + y)),
    (r"f''(x)", sp.Derivative(sp.Function("f")(x), (x, 2))),
    (r"\tanh'(\mathbf{h}_t)", nt.elementwise(sp.Lambda(u, sp.Derivative(sp.tanh(u), u)), h_t)),  # entrywise
    (r"\tanh'(a) = 1 - \tanh^2(a)",
     sp.Eq(sp.Derivative(sp.tanh(sp.Symbol("a")), sp.Symbol("a")), 1 - sp.tanh(sp.Symbol("a")) ** 2,
           evaluate=False)),
    (r"h'", sp.Symbol("h'")),  # a name of its own
    (r"t > t'", sp.Gt(t, sp.Symbol("t'"), evaluate=False)),
]


@pytest.mark.parametrize(("text", "expected"), cases(PRIMES))
def test_primes(text, expected):
    assert_reads(text, expected)


PROBABILITY = [
    (r"p(x_t \mid h_t)", nt.P([nt.RV("x", t)], [nt.RV("h", t)])),  # a name with one index: a random variable
    (r"p(x_t | h_t)", nt.P([nt.RV("x", t)], [nt.RV("h", t)])),
    (r"P(x_t \mid h_t)", nt.P([nt.RV("x", t)], [nt.RV("h", t)])),
    (r"\Pr(\xi_t = 0)", nt.P([nt.Is(nt.RV("xi", t), 0)])),
    (r"\mathbb{P}(\xi_t = 0)", nt.P([nt.Is(nt.RV("xi", t), 0)])),
    (r"p(x)", nt.P([x])),
    (r"p(w_t|w_{t-1}, \ldots w_1)",  # \ldots without its comma
     nt.P([nt.RV("w", t)], [nt.RV("w", t - 1), nt.Dots(), nt.RV("w", 1)])),
    (r"p(x_1, \ldots, x_T; h_1, \ldots, h_T)",  # ; separates two groups of the joint
     nt.P([nt.RV("x", 1), nt.Dots(), nt.RV("x", T), nt.RV("h", 1), nt.Dots(), nt.RV("h", T)])),
    (r"\mathbb{E}[\xi_t]", Expectation(xi_t)),
    (r"\mathbf{E}[\xi_t] = 1", sp.Eq(Expectation(xi_t), 1, evaluate=False)),
    (r"E[z]", Expectation(z)),
    (r"p(x_j \mid x_{-j}) \propto p(x_j)",
     Proportional(nt.P([nt.RV("x", j)], [nt.RV("x", -j)]), nt.P([nt.RV("x", j)]))),
    (r"\sum_{h_1, \ldots, h_T} p(h_1)",  # a sum over several variables
     nt.StateSum(nt.P([nt.RV("h", 1)]), sp.Tuple(sp.IndexedBase("h")[1], nt.Dots(), sp.IndexedBase("h")[T]))),
    (r"a := b", sp.Eq(sp.Symbol("a"), sp.Symbol("b"), evaluate=False)),  # definitions read as =
    (r"a =: b", sp.Eq(sp.Symbol("a"), sp.Symbol("b"), evaluate=False)),
]


@pytest.mark.parametrize(("text", "expected"), cases(PROBABILITY))
def test_probabilities_expectations_and_relations(text, expected):
    assert_reads(text, expected)


def test_the_lecture_s_probabilities_read_as_before():
    assert same(read(r"P(Y_t = j | Y_{t-1} = i)"), nt.P([nt.Is(nt.Y(t), j)], [nt.Is(nt.Y(t - 1), i)]))
    assert read(r"p(x_t \mid h_t)") == read(r"P(x_t | h_t)")


def gates(*names: str, **more) -> Sizes:
    return Sizes(gates={n_: (V + 1 if n_ == "x" else N) for n_ in names}, **more)


def test_vectors_by_usage_within_a_span():
    """Names written without a mark and used as vectors (operands of \\odot, after a matrix, a bias added to a
    vector, the side of a relation whose other side is a vector) read as vectors: the same reading as when they
    are declared (``Sizes.gates``, ``Sizes.matrices``)."""
    lstm = r"c_t = f_t \odot c_{t-1} + i_t \odot g_t"
    G = {n_: nt.Gate(n_, t, N) for n_ in "cfig"}
    assert read(lstm) == sp.Eq(G["c"], nt.hadamard(G["f"], nt.Gate("c", t - 1, N)) + nt.hadamard(G["i"], G["g"]),
                               evaluate=False)
    assert read(lstm) == read(lstm, notation=gates(*"cfig"))
    out = r"h_t = \sigma(o_t) \odot \tanh(c_t)"
    assert same(read(out), read(out, notation=gates(*"hoc")))  # h too: the other side is a vector
    torch = r"i_t = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi})"
    declared = gates(*"ixh", matrices={"W": (N, V + 1), "b_ii": (N, 1), "b_hi": (N, 1)})
    assert same(read(torch), read(torch, notation=declared))
    assert isinstance(read(r"b_{ii}"), sp.Symbol)  # alone, still a number
    bias = read(r"\mathbf{h}_t + b_h")  # a parameter added to a vector: the bias vector
    assert same(bias, sp.MatAdd(h_t, sp.MatrixSymbol("b_h", N, 1)))
    assert read(r"\vec{\xi} - 1") == nt.VecShift(sp.MatrixSymbol("xi", N, 1), -1)  # a number shifts, as before
    assert read(r"f_t \vec{h}_t") == sp.IndexedBase("f")[t] * h_t  # read as written when it reads
    with pytest.raises(Unexpected, match="composition"):
        read(r"x \circ y")  # bare names are not made vectors


def test_vectors_by_usage_across_a_document():
    import symrnn
    doc = symrnn.read("$c_t = f_t \\odot c_{t-1}$\n\n$f_t = \\sigma(W_f h_{t-1})$")
    gate = doc.spans[1].expr.lhs
    assert isinstance(gate, nt.Gate) and gate.base == "f"  # the document wrote f_t as a vector
    assert {"c", "f"} <= doc.notation.vectors


BOLD_MORE = [
    (r"\boldsymbol{\delta}_t", nt.Vec("delta", t, N)),
    (r"\mathbf{\delta}_{t+1}", nt.Vec("delta", t + 1, N)),
    (r"\boldsymbol{\Sigma}", sp.MatrixSymbol("Sigma", N, N)),
    (r"\mathbf{0}", sp.ZeroMatrix(N, 1)),
    (r"\vec{0}", sp.ZeroMatrix(N, 1)),
    (r"\boldsymbol{1}", sp.OneMatrix(N, 1)),
    (r"\mathbf{h}_0 = \mathbf{0}", sp.Eq(nt.Vec("h", 0, N), sp.ZeroMatrix(N, 1), evaluate=False)),
    (r"\left\| \mathbf{h}_t \right\|^2", sp.MatMul(sp.Transpose(h_t), h_t)),
    (r"{\left(\mathbf{W}_{hh}^\top\right)}^{T-i}", sp.MatPow(W_hh.T, T - i)),  # a braced group as a base
    (r"[x + y] z", sp.Mul(x + y, z, evaluate=False)),  # brackets group
    (r"\underbrace{x + y}_{=: z}", x + y),  # the note is skipped
]


@pytest.mark.parametrize(("text", "expected"), cases(BOLD_MORE))
def test_bold_greek_constant_vectors_norms_and_groups(text, expected):
    assert_reads(text, expected)


def test_a_factor_before_partial_in_a_denominator_divides_the_derivative():
    scaled = read(r"\frac{\partial \ell(\mathbf{o}_t, y_t)}{T \cdot \partial \mathbf{o}_t}")
    plain = read(r"\frac{\partial \ell(\mathbf{o}_t, y_t)}{\partial \mathbf{o}_t}")
    assert scaled == sp.MatMul(sp.Pow(T, -1), plain)
    assert read(r"\frac{\partial L}{2 \partial w}") == sp.Mul(sp.Rational(1, 2), nt.PartialDerivative(L, w),
                                                              evaluate=False)


WORDS = [
    (r"\text{hidden\_size}", sp.Symbol("hidden_size")),  # an identifier: the number it names
    (r"k = \frac{1}{\text{hidden\_size}}", sp.Eq(sp.Symbol("k"), 1 / sp.Symbol("hidden_size"), evaluate=False)),
    (r"N = \text{batch size}", sp.Eq(N, nt.Words("batch size"), evaluate=False)),
    (r"\text{\"h\"}", nt.Text("h")),  # a quoted word: the word
    (r"V \in \{\text{\"h\"}, \text{\"e\"}\}",
     sp.Contains(V, sp.FiniteSet(nt.Text("h"), nt.Text("e")), evaluate=False)),
    (r"D = 2 \text{ if bidirectional=True otherwise } 1",
     sp.Eq(sp.MatrixSymbol("D", N, N),  # D is a capital letter: a matrix by the default rule
           sp.Piecewise((2, sp.Eq(sp.Symbol("bidirectional"), sp.true, evaluate=False)), (1, True),
                        evaluate=False), evaluate=False)),
    (r"H = \text{proj\_size if } \text{proj\_size}>0 \text{ otherwise hidden\_size}",
     sp.Eq(H, sp.Piecewise((sp.Symbol("proj_size"), sp.Gt(sp.Symbol("proj_size"), 0, evaluate=False)),
                           (sp.Symbol("hidden_size"), True), evaluate=False), evaluate=False)),
    (r"\begin{aligned} N ={} & \text{batch size} \\ L ={} & \text{sequence length} \end{aligned}",
     (sp.Eq(N, nt.Words("batch size"), evaluate=False), sp.Eq(L, nt.Words("sequence length"), evaluate=False))),
]


@pytest.mark.parametrize(("text", "expected"), cases(WORDS))
def test_words_sets_and_conditions(text, expected):
    assert_reads(text.replace('\\"', '"'), expected)


NOT_READ = [
    (r"\tanh^{-1}(x)", Unexpected),  # an inverse function
    (r"f''''(x)", Unexpected),  # more than three primes
    (r"\text{batch size} + 1", Unexpected),  # words are not added
    (r"(a, b) c", Unexpected),  # nor tuples multiplied
    (r"\{a, b", Unbalanced),
    (r"a \}", Unbalanced),
    (r"\left\| \mathbf{h}_t", Unbalanced),
    (r"\underbrace{x}_{", Unbalanced),
    (r"x \in y", Unexpected),  # \in a set written out only
    (r"2 \text{ if } x > 0", Unexpected),  # if without otherwise: not a value
    (r"\tanh^{10^{10}}(x)", TooLarge),
    (r"\mathbf{E}[" * 60 + "x" + "]" * 60, TooDeep),
]


@pytest.mark.parametrize(("text", "error"), NOT_READ, ids=[c[0][:40] for c in NOT_READ])
def test_the_new_readings_refuse_what_they_cannot_read(text, error):
    with pytest.raises(error) as info:
        read(text)
    assert 0 <= info.value.pos <= len(text)


def test_the_new_readings_end_quickly():
    import time
    cases_ = ["p(" * 35 + "1 - p" + ")" * 35,  # each p( is decided by one scan, never by reading twice
              "p(" * 35 + "x" + ")" * 35,
              "a = " + " + ".join(["b"] * 3000) + r" \text{ otherwise }",
              r"f_t \odot " * 200 + "c_t",
              ("c_{t} = " + " + ".join(rf"f_{{{n_}}} \odot c_{{{n_}}}" for n_ in range(300)))]
    for text in cases_:
        start = time.perf_counter()
        try:
            read(text)
        except (ParseError, Timeout):
            pass
        assert time.perf_counter() - start < 3, text[:40]
