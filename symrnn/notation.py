"""The lecture's notation, in one place: index symbols, entry symbols, vectors, matrices and probabilities.

Everything here builds SymPy objects; how they print lives in :mod:`symrnn.latex`.  Indices are 1-based, as in
the lecture: ``u_{j,i}`` is row j, column i of U.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import sympy as sp
from sympy.core.sympify import _sympify  # strict: refuses strings, so no text is ever parsed here
from sympy.matrices.expressions import MatrixExpr
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

# Index and size symbols.  Sizes are positive integers; indices are integers.
t, q, i, j, k = sp.symbols("t q i j k", integer=True, positive=True)
T, N, V = sp.symbols("T N V", integer=True, positive=True)
eta = sp.Symbol("eta", positive=True)

#: Which lecture names are vectors (printed ``\vec{h}_t``); everything else upper-case is a matrix.
VECTORS = frozenset({"h", "x", "c", "xi", "pi", "v", "delta"})

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def _name(base) -> str:
    return base.name if isinstance(base, sp.Symbol) else base


def check_name(name: str) -> str:
    """Return ``name`` if it is a plain identifier (letters then letters/digits), else raise ValueError.

    Names end up inside LaTeX and generated code, so anything else (spaces, braces, backslashes, quotes) is refused.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"invalid symbol name {name!r}: use letters and digits only, starting with a letter")
    return name


def _fmt(index) -> str:
    return sp.latex(index) if isinstance(index, sp.Basic) else str(index)


def entry(base: str, *index, positive: bool = True, real: bool = True) -> sp.Symbol:
    """The scalar entry ``base_{index}`` (e.g. ``u_{j,i}``); numeric indices are 1-based."""
    check_name(base)
    sub = ",".join(_fmt(ix) for ix in index)
    assumptions = {"positive": True} if positive else {"real": real}
    return sp.Symbol(f"{base}_{{{sub}}}", **assumptions)


def entry_matrix(base: str, rows: int, cols: int, *, positive: bool = True) -> sp.Matrix:
    """An explicit ``rows x cols`` matrix of entry symbols ``base_{r,c}`` (1-based)."""
    return sp.Matrix(rows, cols, lambda r, c: entry(base, r + 1, c + 1, positive=positive))


def entry_vector(base: str, n: int, *, positive: bool = True) -> sp.Matrix:
    """An explicit column of entry symbols ``base_{1}, ..., base_{n}``."""
    return sp.Matrix(n, 1, lambda r, _c: entry(base, r + 1, positive=positive))


def one_hot(k_index: int, size: int) -> sp.Matrix:
    """The one-hot column with a 1 in (1-based) position ``k_index``."""
    if not 1 <= k_index <= size:
        raise ValueError(f"one-hot index {k_index} outside 1..{size}")
    return sp.Matrix(size, 1, lambda r, _c: sp.Integer(1 if r + 1 == k_index else 0))


class Vec(MatrixExpr):
    """The lecture's column vector ``\\vec{base}_{time}`` with ``n`` entries; ``time`` may be symbolic (``t-1``)."""

    is_commutative = False

    def __new__(cls, base: str, time, n):
        base = check_name(_name(base))
        return super().__new__(cls, sp.Symbol(base), _sympify(time), _sympify(n))

    base = property(lambda self: self.args[0].name)
    time = property(lambda self: self.args[1])
    shape = property(lambda self: (self.args[2], sp.Integer(1)))

    def _entry(self, i, j, **kwargs):
        if isinstance(i, (int, sp.Integer)):
            return entry(self.base, i + 1, self.time)
        n = self.shape[0]
        if not n.is_Integer:
            raise ValueError(f"entry {i} of {self.base} needs a numeric size, got {n}")
        # a symbolic row (a summation index inside MatMul) selects among the entry symbols
        return sp.Piecewise(*[(entry(self.base, r + 1, self.time), sp.Eq(i, r)) for r in range(int(n))])


def matrix(name: str, rows, cols) -> sp.MatrixSymbol:
    """An abstract matrix such as ``U`` (N x N) or ``W_f``."""
    check_name(name.replace("_", ""))
    return sp.MatrixSymbol(name, rows, cols)


def elementwise(fn, expr: MatrixExpr) -> MatrixExpr:
    """Apply a scalar SymPy function entrywise to a matrix expression (printed ``\\exp\\left(...\\right)``)."""
    return expr.applyfunc(fn)


class _EntrywiseOnOne(ElementwiseApplyFunction):
    """An entrywise function of a 1 x 1 matrix expression, kept as one.

    SymPy's constructor passes a 1 x 1 argument to the function as if it were a scalar, and ``Lambda(y, y (1 - y))``
    of a matrix expression fails inside MatMul; this class is rebuilt (by xreplace, subs, doit) without that
    shortcut. Printers reach it through ``_print_ElementwiseApplyFunction``.
    """

    def __new__(cls, function, expr):
        return MatrixExpr.__new__(cls, function, _sympify(expr))


def apply_entrywise(fn: sp.Lambda, expr: MatrixExpr) -> MatrixExpr:
    """``ElementwiseApplyFunction(fn, expr)``, also when ``expr`` is 1 x 1."""
    if expr.shape == (1, 1):
        return _EntrywiseOnOne(fn, expr)
    return ElementwiseApplyFunction(fn, expr)


def hadamard(*factors: MatrixExpr) -> MatrixExpr:
    """The elementwise product (printed with ``\\odot``)."""
    return sp.HadamardProduct(*factors)


# ---- probability notation ------------------------------------------------------------------------------------------


class RV(sp.Expr):
    """A random variable of the lecture, ``Y_t`` or ``X_t``, at a (possibly symbolic) time."""

    def __new__(cls, name: str, time):
        name = check_name(_name(name))
        return super().__new__(cls, sp.Symbol(name), _sympify(time))

    name = property(lambda self: self.args[0].name)
    time = property(lambda self: self.args[1])


class Is(sp.Expr):
    """The event ``Y_t = j``: a random variable taking a (1-based) value."""

    def __new__(cls, rv: RV, value):
        return super().__new__(cls, rv, _sympify(value))

    rv = property(lambda self: self.args[0])
    value = property(lambda self: self.args[1])


class Dots(sp.Expr):
    """``\\dots`` leading a probability's argument list: every earlier observation, earlier states eliminated."""

    def __new__(cls):
        return super().__new__(cls)


class Span(sp.Expr):
    """``Y_1, X_1, \\dots, Y_T, X_T``: every state and observation from ``start`` to ``stop``.

    With ``states=False`` only the observations: ``X_1, \\dots, X_T``.
    """

    def __new__(cls, start, stop, states: bool = True):
        return super().__new__(cls, _sympify(start), _sympify(stop), sp.true if states else sp.false)

    start = property(lambda self: self.args[0])
    stop = property(lambda self: self.args[1])
    states = property(lambda self: bool(self.args[2]))


class P(sp.Expr):
    """``P(events | given)``. A bare ``RV`` among the events means its observed (X) or assigned (Y) value."""

    is_commutative = True

    def __new__(cls, events: Iterable, given: Iterable = ()):
        return super().__new__(cls, sp.Tuple(*events), sp.Tuple(*given))

    events = property(lambda self: tuple(self.args[0]))
    given = property(lambda self: tuple(self.args[1]))


def Y(time) -> RV:  # noqa: N802 - the lecture's name
    return RV("Y", time)


def X(time) -> RV:  # noqa: N802 - the lecture's name
    return RV("X", time)


class StateSum(sp.Expr):
    """``\\sum_i expr``: a sum over every state value of ``i`` (1..N), printed without bounds as in the lecture."""

    is_commutative = True

    def __new__(cls, expr, index: sp.Symbol):
        return super().__new__(cls, _sympify(expr), index)

    expr = property(lambda self: self.args[0])
    index = property(lambda self: self.args[1])


class StateMax(StateSum):
    """``\\max_i expr``: the largest value over every state value of ``i``."""


def h(j_, t_) -> sp.Indexed:
    """``h_{j,t}``: the forward (belief propagation) quantity P(..., Y_t = j, X_t)."""
    return sp.IndexedBase("h")[j_, t_]


def v(j_, t_) -> sp.Indexed:
    """``v_{j,t}``: the Viterbi quantity, the probability of the best path ending in state j at time t."""
    return sp.IndexedBase("v")[j_, t_]


def u(j_, i_) -> sp.Indexed:
    """``u_{j,i} = P(Y_t = j | Y_{t-1} = i)``."""
    return sp.IndexedBase("u")[j_, i_]


def w(j_, k_) -> sp.Indexed:
    """``w_{j,k} = P(X_t = k | Y_t = j)``."""
    return sp.IndexedBase("w")[j_, k_]


def g(j_, q_) -> sp.Indexed:
    """``g_{j,q}``: belief propagation's answer to the query ``Y_q = j`` (the add over ``Y_q`` skipped)."""
    return sp.IndexedBase("g")[j_, q_]


def x(k_, t_) -> sp.Indexed:
    """``x_{k,t}``: entry k of the one-hot observation vector at time t."""
    return sp.IndexedBase("x")[k_, t_]


class ScaledMatrix(MatrixExpr):
    """A matrix shown with a scalar factor, ``\\frac{1}{10}\\begin{bmatrix}...\\end{bmatrix}``: their product."""

    def __new__(cls, factor, entries: sp.Matrix):
        return super().__new__(cls, _sympify(factor), sp.ImmutableMatrix(entries))

    factor = property(lambda self: self.args[0])
    matrix = property(lambda self: self.args[1])
    shape = property(lambda self: self.args[1].shape)

    def _entry(self, i, j, **kwargs):
        return self.factor * self.matrix[i, j]

    def as_explicit(self) -> sp.ImmutableMatrix:
        return sp.ImmutableMatrix(self.factor * self.matrix)


def factored(m: sp.Matrix) -> ScaledMatrix:
    """A rational matrix as ``(1/d) * integer matrix``, d the least common denominator (the lecture's form)."""
    d = sp.ilcm(*[sp.Rational(e).q for e in m]) if len(m) else 1
    return ScaledMatrix(sp.Rational(1, d), m * d)


class DotsMatrix(MatrixExpr):
    """A matrix or column of entry symbols of symbolic size, printed with ``\\cdots``/``\\vdots``/``\\ddots``.

    A column can carry a time index: ``\\begin{bmatrix} h_{1,t} \\\\ \\vdots \\\\ h_{N,t} \\end{bmatrix}``.
    """

    def __new__(cls, base: str, rows, cols, time=None):
        base = check_name(_name(base))
        args = (sp.Symbol(base), _sympify(rows), _sympify(cols))
        return super().__new__(cls, *args, *(() if time is None else (_sympify(time),)))

    base = property(lambda self: self.args[0].name)
    shape = property(lambda self: (self.args[1], self.args[2]))
    time = property(lambda self: self.args[3] if len(self.args) > 3 else None)

    def entry_symbol(self, r, c) -> sp.Symbol:
        """The (1-based) entry ``base_{r,c}``, or ``base_{r,time}`` for a time-indexed column."""
        if self.time is not None:
            return entry(self.base, r, self.time)
        return entry(self.base, r, c)

    def _entry(self, i, j, **kwargs):
        return self.entry_symbol(i + 1, j + 1)


class Approx(sp.Expr):
    """``lhs \\approx rhs``: an approximation (the relation in the lecture's RNN slides)."""

    def __new__(cls, lhs, rhs):
        return super().__new__(cls, _sympify(lhs), _sympify(rhs))

    lhs = property(lambda self: self.args[0])
    rhs = property(lambda self: self.args[1])


class Assign(Approx):
    """``lhs \\leftarrow rhs``: an update, as in gradient descent."""


# ---- the RNN section's notation ---------------------------------------------------------------------------------


class Text(sp.Expr):
    """A word or a tag written as text, ``\\text{Noun}``; the name must be a plain identifier."""

    is_commutative = True

    def __new__(cls, name: str):
        return super().__new__(cls, sp.Symbol(check_name(name)))

    name = property(lambda self: self.args[0].name)


class OneIf(sp.Expr):
    """``1 \\text{ if } X_t = \\text{ball}``: an entry of the lecture's one-hot definition of ``\\vec{x}_t``."""

    is_commutative = True

    def __new__(cls, event: Is):
        return super().__new__(cls, event)

    event = property(lambda self: self.args[0])


class Rounded(sp.Expr):
    """An exact value shown as a decimal with ``places`` digits after the point (``0.20``, not ``0.2``).

    The exact value is kept; only printing rounds (half away from zero, as a reader rounds).
    """

    is_commutative = True

    def __new__(cls, value, places: int = 2):
        return super().__new__(cls, _sympify(value), sp.Integer(places))

    value = property(lambda self: self.args[0])
    places = property(lambda self: int(self.args[1]))

    def decimal(self) -> str:
        return decimal_text(self.value, self.places)


def numeric(value, digits: int = 50) -> sp.Float:
    """A real number expression evaluated to about ``digits`` significant digits, each shared subexpression once.

    Exact RNN states nest: h_t contains every entry of h_{t-1}, so as a tree it grows like N^(2t) although it is
    small as a graph.  SymPy's ``evalf`` walks the tree; this walks the graph (working with 15 guard digits).
    """
    import mpmath

    memo: dict = {}

    def ev(e):
        if e in memo:
            return memo[e]
        if e.is_Rational:
            out = mpmath.mpf(e.p) / e.q
        elif e.is_Float:
            out = mpmath.mpf(e)
        elif isinstance(e, sp.Add):
            out = mpmath.fsum(ev(a) for a in e.args)
        elif isinstance(e, sp.Mul):
            out = mpmath.fprod(ev(a) for a in e.args)
        elif isinstance(e, sp.Pow):
            out = mpmath.power(ev(e.base), ev(e.exp))
        elif isinstance(e, sp.exp):
            out = mpmath.exp(ev(e.args[0]))
        elif isinstance(e, sp.log):
            out = mpmath.log(ev(e.args[0]))
        else:
            out = mpmath.mpf(sp.N(e, mpmath.mp.dps))  # E, pi, other functions: SymPy's own evaluation
        memo[e] = out
        return out

    expr = _sympify(value)
    if expr.free_symbols:
        raise ValueError(f"{value} has free symbols {sorted(map(str, expr.free_symbols))}: not a number")
    with mpmath.workdps(digits + 15):
        result = ev(expr)
        if isinstance(result, mpmath.mpc):
            if abs(result.imag) > abs(result) * mpmath.mpf(10) ** (-digits):
                raise ValueError(f"{value} is not real")
            result = result.real
        return sp.Float(result, digits)


def decimal_text(value, places: int = 2) -> str:
    """``value`` (exact or symbolic-numeric) rounded to ``places`` decimals, half away from zero."""
    import decimal

    digits = numeric(value, places + 30)
    d = decimal.Decimal(str(digits)).quantize(decimal.Decimal(1).scaleb(-places), rounding=decimal.ROUND_HALF_UP)
    return str(abs(d) if d == 0 else d)


def rounded(m: sp.MatrixBase, places: int = 2) -> sp.ImmutableMatrix:
    """A matrix of exact values shown as decimals."""
    return sp.ImmutableMatrix(m.rows, m.cols, lambda r, c: Rounded(m[r, c], places))


class Chain(sp.Basic):
    """``a = b = c \\approx d``: a chain of relations; ``relations[n]`` joins ``terms[n]`` and ``terms[n + 1]``.

    Relations are ``"="`` or ``"approx"``.
    """

    RELATIONS = ("=", "approx")

    def __new__(cls, terms, relations):
        terms, relations = list(terms), list(relations)
        if len(relations) != len(terms) - 1 or not terms:
            raise ValueError(f"a chain of {len(terms)} terms needs {max(len(terms) - 1, 0)} relations")
        bad = [r for r in relations if r not in cls.RELATIONS]
        if bad:
            raise ValueError(f"unknown relation {bad[0]!r}: use one of {cls.RELATIONS}")
        codes = [sp.Integer(cls.RELATIONS.index(r)) for r in relations]
        return super().__new__(cls, sp.Tuple(*terms), sp.Tuple(*codes))

    terms = property(lambda self: tuple(self.args[0]))
    relations = property(lambda self: tuple(self.RELATIONS[int(c)] for c in self.args[1]))


class VecShift(MatrixExpr):
    """``\\vec{\\xi} - 1``: a vector with a scalar added to every entry (the lecture's ``\\vec{\\xi} - 1``)."""

    def __new__(cls, vector: MatrixExpr, shift):
        return super().__new__(cls, vector, _sympify(shift))

    vector = property(lambda self: self.args[0])
    shift = property(lambda self: self.args[1])
    shape = property(lambda self: self.args[0].shape)

    def _entry(self, i, j, **kwargs):
        return self.vector[i, j] + self.shift


class Applied(MatrixExpr):
    """A named vector function applied to vectors: the RNN's ``g(U\\vec{h}_{t-1}, W\\vec{x}_t)``, ``softmax(...)``.

    Display only: what the function means is given by :mod:`symrnn.nonlinearities`.  The value has the shape of
    the first argument.
    """

    def __new__(cls, name: str, *args: MatrixExpr):
        if not args:
            raise ValueError(f"{name} needs at least one argument")
        return super().__new__(cls, sp.Symbol(check_name(name)), *args)

    name = property(lambda self: self.args[0].name)
    arguments = property(lambda self: self.args[1:])
    shape = property(lambda self: self.args[1].shape)


class FunctionEntry(sp.Expr):
    """``\\operatorname{softmax}_j(\\vec{\\xi} - 1)``: entry ``index`` of a named vector function of a vector."""

    is_commutative = True

    def __new__(cls, name: str, index, argument: MatrixExpr):
        return super().__new__(cls, sp.Symbol(check_name(name)), _sympify(index), argument)

    name = property(lambda self: self.args[0].name)
    index = property(lambda self: self.args[1])
    argument = property(lambda self: self.args[2])


# ---- derivatives and argmax (read back by symrnn.parse) ---------------------------------------------------------


class TotalDerivative(sp.Expr):
    """``\\frac{d f}{d v}``: the total derivative of ``f`` in ``v``, through every path (as in BPTT's ``d``)."""

    is_commutative = True

    def __new__(cls, expr, variable):
        return super().__new__(cls, _sympify(expr), _sympify(variable))

    expr = property(lambda self: self.args[0])
    variable = property(lambda self: self.args[1])


class PartialDerivative(TotalDerivative):
    """``\\frac{\\partial f}{\\partial v}``: the derivative of ``f`` in ``v`` with every other argument held fixed."""


class ArgMax(sp.Expr):
    """``\\operatorname{argmax}_{y_1, \\dots, y_T} f``: the values of ``variables`` that make ``f`` largest."""

    def __new__(cls, expr, variables):
        return super().__new__(cls, _sympify(expr), sp.Tuple(*variables))

    expr = property(lambda self: self.args[0])
    variables = property(lambda self: tuple(self.args[1]))


# ---- the LSTM section's notation --------------------------------------------------------------------------------


class Gate(Vec):
    """An LSTM gate ``f_t``: a column vector the lecture writes without an arrow (``f_t``, ``i_t``, ``o_t``)."""


class Juxtaposed(MatrixExpr):
    """An elementwise product written as the lecture writes it, by juxtaposition: ``f_t \\vec{c}_{t-1}``.

    Display only; :func:`symrnn.lstm.computational` turns it into a ``HadamardProduct``.
    """

    def __new__(cls, *factors: MatrixExpr):
        if len(factors) < 2:
            raise ValueError("a product needs at least two factors")
        shapes = {f.shape for f in factors}
        if len(shapes) != 1:
            raise ValueError(f"an elementwise product needs equal shapes, got {sorted(map(str, shapes))}")
        return super().__new__(cls, *factors)

    factors = property(lambda self: self.args)
    shape = property(lambda self: self.args[0].shape)

    def _entry(self, i, j, **kwargs):
        return sp.Mul(*[f[i, j] for f in self.args])


_WORDS = re.compile(r"^[A-Za-z0-9 .,;:'()+\-/=]+$")


class Words(sp.Basic):
    """A short phrase set as text inside math (a table cell): letters, digits, spaces and plain punctuation only.

    LaTeX specials (backslash, braces, ``$``, ``%``, ``&``, ``#``, ``^``, ``_``, ``~``) are refused, so the text
    needs no escaping.
    """

    def __new__(cls, text: str):
        if not isinstance(text, str) or not _WORDS.match(text):
            raise ValueError(f"invalid words {text!r}: use letters, digits, spaces and . , ; : ' ( ) + - / =")
        return super().__new__(cls, sp.Symbol(text))

    text = property(lambda self: self.args[0].name)


class Table(sp.Basic):
    """A table of math: ``header`` (Words) over ``rows``, each a sequence of cells.

    A cell is any printable SymPy object; a ``sp.Tuple`` cell prints its parts one after another (words and
    math mixed).
    """

    def __new__(cls, header, rows):
        header = sp.Tuple(*[h if isinstance(h, Words) else Words(h) for h in header])
        rows = sp.Tuple(*[sp.Tuple(*row) for row in rows])
        if any(len(row) != len(header) for row in rows):
            raise ValueError(f"every row needs {len(header)} cells")
        return super().__new__(cls, header, rows)

    header = property(lambda self: tuple(self.args[0]))
    rows = property(lambda self: [tuple(r) for r in self.args[1]])


class VecDerivative(MatrixExpr):
    """``\\frac{d\\mathfrak{L}}{d\\vec{h}_t}``: the derivative of a scalar in a vector, itself a column vector.

    Display only (``partial=True`` prints ``\\partial``); a check maps it to the quantity it names.
    """

    def __new__(cls, expr, variable: MatrixExpr, partial: bool = False):
        return super().__new__(cls, _sympify(expr), variable, sp.true if partial else sp.false)

    expr = property(lambda self: self.args[0])
    variable = property(lambda self: self.args[1])
    partial = property(lambda self: bool(self.args[2]))
    shape = property(lambda self: self.args[1].shape)


class LayerCopy(MatrixExpr):
    """``U^{(t)}``: the copy of a shared matrix used at step ``t`` when the unrolled network is read as a deep
    network (one layer per step); ``dL/dU`` is the sum over t of ``dL/dU^{(t)}``."""

    def __new__(cls, matrix: MatrixExpr, step):
        return super().__new__(cls, matrix, _sympify(step))

    matrix = property(lambda self: self.args[0])
    step = property(lambda self: self.args[1])
    shape = property(lambda self: self.args[0].shape)
