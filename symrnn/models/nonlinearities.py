"""The RNN's nonlinearity ``g``, from one table shared by the RNN, BPTT and LSTM sections.

``g`` maps the pre-activation column ``xi = U h_{t-1} + W x_t`` to a column of the same size.  Each entry of the
table gives ``g`` three ways: exact SymPy on an explicit column (``g(xi)``), float64 NumPy along axis 0
(``g.numpy``), and the formula for entry j that the document shows (``g.entry_formula``).  The lecture's choice is
``g(xi) = softmax(xi - 1)``, which equals ``softmax(xi)`` because softmax is shift-invariant (proved in section rnn).

Users name table entries (``get("tanh")``); names are checked with :func:`symrnn.notation.check_name` and never
parsed.  A user's own function is given as a SymPy function object (``custom("softplus", lambda z: sp.log(1 +
sp.exp(z)))``), never as text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from symrnn import notation as nt
from symrnn.numeric import guard
from symrnn.ops import sigmoid


class NonlinearityError(ValueError):
    """An unknown or malformed nonlinearity (names the table's entries)."""


@dataclass(frozen=True)
class Nonlinearity:
    """A vector function ``g``; ``scalar`` is set when it acts entrywise, ``shift`` when it is ``softmax(xi+shift)``."""

    name: str
    description: str
    vector: Callable[[sp.Matrix], sp.Matrix]
    numpy: Callable[[np.ndarray], np.ndarray] | None
    scalar: Callable[[sp.Expr], sp.Expr] | None = None
    shift: int | None = None
    display_name: str = ""
    function: type | None = None  # the function of the table of operations (symrnn.ops) applied at matrix level

    def __post_init__(self) -> None:
        nt.check_name(self.name)
        nt.check_name(self.display_name or self.name)
        if self.function is not None:  # applied at matrix level (symrnn.models.cells), it reaches generated code
            guard.vet(self.function)

    def __call__(self, xi: sp.Matrix | Sequence) -> sp.Matrix:
        """``g(xi)`` exactly, for an explicit column ``xi``."""
        xi = sp.Matrix(xi)
        if xi.cols != 1:
            raise NonlinearityError(f"{self.name} takes a column vector, got shape {xi.rows} x {xi.cols}")
        return sp.Matrix(self.vector(xi))

    @property
    def elementwise(self) -> bool:
        """Whether g acts entry by entry (then ``scalar`` is its scalar function)."""
        return self.scalar is not None

    @property
    def is_softmax(self) -> bool:
        """Whether g is ``softmax(xi + shift)``."""
        return self.shift is not None

    def jacobian(self, xi: sp.Matrix | Sequence) -> sp.Matrix:
        """``d g(xi) / d xi``: the N x N Jacobian at an explicit column (entries may be symbols)."""
        xi = sp.Matrix(xi)
        dummies = [sp.Dummy(f"xi{n}", real=True) for n in range(xi.rows)]
        jac = self(sp.Matrix(dummies)).jacobian(dummies)
        return jac.xreplace(dict(zip(dummies, xi, strict=True)))

    def entry_formula(self, index: sp.Expr, size: sp.Expr, base: str = "xi") -> sp.Expr:
        """Entry ``index`` of ``g(xi)`` written with ``xi_i`` and, for softmax, a sum over ``i = 1..size``."""
        xi = sp.IndexedBase(nt.check_name(base), real=True)
        if self.is_softmax:
            i = nt.i if index != nt.i else nt.j
            return sp.exp(xi[index] + self.shift) / sp.Sum(sp.exp(xi[i] + self.shift), (i, 1, size))
        if self.scalar is None:
            raise NonlinearityError(f"{self.name} has no entry formula")
        return self.scalar(xi[index])

    def applied(self, *args) -> nt.Applied:
        """``g(args)`` for display."""
        return nt.Applied(self.display_name or self.name, *args)


# ---- the built-in entries --------------------------------------------------------------------------------------


def softmax(xi: sp.Matrix, shift=0) -> sp.Matrix:
    """``softmax(xi + shift)`` by its definition, ``exp(xi_j + shift) / sum_i exp(xi_i + shift)``."""
    e = sp.Matrix(xi).applyfunc(lambda z: sp.exp(z + shift))
    total = sp.Add(*e)
    return e.applyfunc(lambda v: v / total)


def softmax_numpy(xi: np.ndarray, shift: float = 0.0) -> np.ndarray:
    """Float64 softmax along axis 0, shifted by the column maximum so that no exp overflows."""
    z = np.asarray(xi, dtype=float) + shift
    z = z - z.max(axis=0, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=0, keepdims=True)


def _sigmoid(z: sp.Expr) -> sp.Expr:
    return 1 / (1 + sp.exp(-z))


def _sigmoid_numpy(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))  # = 1/(1+e^-z), with no overflow


def _elementwise(name: str, description: str, scalar: Callable[[sp.Expr], sp.Expr],
                 numpy: Callable[[np.ndarray], np.ndarray], display_name: str = "",
                 function: type | None = None) -> Nonlinearity:
    return Nonlinearity(name, description, lambda xi: xi.applyfunc(scalar), numpy, scalar=scalar,
                        display_name=display_name, function=function)


#: The table: name -> nonlinearity.  ``lecture`` is the lecture's ``g(xi) = softmax(xi - 1)``.
TABLE: dict[str, Nonlinearity] = {
    "lecture": Nonlinearity("lecture", "the lecture's g(xi) = softmax(xi - 1)", lambda xi: softmax(xi, -1),
                            lambda z: softmax_numpy(z, -1.0), shift=-1, display_name="g"),
    "softmax": Nonlinearity("softmax", "softmax(xi)", softmax, softmax_numpy, shift=0),
    "tanh": _elementwise("tanh", "tanh, entrywise", sp.tanh, np.tanh, function=sp.tanh),
    "sigmoid": _elementwise("sigmoid", "the logistic sigmoid 1/(1 + e^(-xi)), entrywise", _sigmoid,
                            _sigmoid_numpy, function=sigmoid),
    "identity": _elementwise("identity", "the identity (a linear RNN)", lambda z: z,
                             lambda z: np.array(z, dtype=float), display_name="id"),
}


def names() -> list[str]:
    """The table's names, in order."""
    return list(TABLE)


def get(name: str) -> Nonlinearity:
    """The table entry called ``name``; a malformed or unknown name is a NonlinearityError listing the table."""
    try:
        nt.check_name(name)
    except ValueError as exc:
        raise NonlinearityError(f"{exc}; known nonlinearities: {', '.join(TABLE)}") from None
    if name not in TABLE:
        raise NonlinearityError(f"unknown nonlinearity {name!r}; known: {', '.join(TABLE)}")
    return TABLE[name]


def resolve(g: str | Nonlinearity) -> Nonlinearity:
    """A nonlinearity given by table name or as an object."""
    if isinstance(g, Nonlinearity):
        return g
    if isinstance(g, str):
        return get(g)
    raise NonlinearityError(f"expected a table name or a Nonlinearity, got {type(g).__name__}")


def custom(name: str, fn: Callable[[sp.Expr], sp.Expr], description: str = "") -> Nonlinearity:
    """An entrywise nonlinearity from a user's SymPy function of one variable (a Lambda, a function class such as
    ``sp.atan``, or a Python function building a SymPy expression).  Text is refused: nothing is parsed.  Its
    functions must be SymPy's or registered in :mod:`symrnn.ops` (:func:`symrnn.numeric.guard.vet`; else
    :class:`~symrnn.numeric.guard.UnsafeName`) before any NumPy code is generated.
    """
    nt.check_name(name)
    if name in TABLE:
        raise NonlinearityError(f"{name!r} is already in the table; choose another name")
    if isinstance(fn, str) or not callable(fn):
        raise NonlinearityError(f"{name}: give a SymPy function, not {type(fn).__name__}")
    z = sp.Dummy("z", real=True)
    try:
        expr = fn(z)
    except Exception as exc:  # noqa: BLE001 - any failure means the function is unusable
        raise NonlinearityError(f"{name}: the function failed on a SymPy symbol: {exc}") from exc
    if not isinstance(expr, sp.Expr) or not expr.free_symbols <= {z}:
        raise NonlinearityError(f"{name}: the function must return a SymPy expression in its one argument")
    lam = sp.Lambda(z, guard.vet(expr))
    compiled = sp.lambdify(z, expr, "numpy")  # code generated from the vetted SymPy expression, never from text

    def numpy(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return np.broadcast_to(np.asarray(compiled(x), dtype=float), x.shape).copy()

    return _elementwise(name, description or f"the user's function {expr.subs(z, sp.Symbol('z'))}", lam, numpy)


def generic(name: str = "g") -> Nonlinearity:
    """An undefined vector function: entry j of ``g(xi)`` is ``g_j(xi_1, ..., xi_N)`` (for symbolic proofs)."""
    nt.check_name(name)

    def vector(xi: sp.Matrix) -> sp.Matrix:
        return sp.Matrix([sp.Function(f"{name}_{j + 1}")(*xi) for j in range(xi.rows)])

    return Nonlinearity(name, f"an undefined vector function {name}", vector, None)
