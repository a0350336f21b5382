"""Two LSTM cells: the lecture's, exactly as written, and the standard one of ``torch.nn.LSTM`` (its packed tensors
and documented forward pass are in :mod:`symrnn.models.lstm_pytorch`).

The lecture's LSTM (no biases, no tanh; ``c_t = f_t c_{t-1} + i_t x_t`` needs x_t to have the cell's N entries)::

    f_t = sigma(U_f h_{t-1} + W_f x_t)    i_t = sigma(U_i h_{t-1} + W_i x_t)    o_t = sigma(U_o h_{t-1} + W_o x_t)
    c_t = f_t * c_{t-1} + i_t * x_t       h_t = o_t * c_t

The standard LSTM (PyTorch's documentation, with symrnn's U for recurrent and W for input weights)::

    i_t = sigma(W_i x_t + b_ii + U_i h_{t-1} + b_hi)   (f_t, o_t likewise)
    g_t = tanh(W_g x_t + b_ig + U_g h_{t-1} + b_hg)
    c_t = f_t * c_{t-1} + i_t * g_t       h_t = o_t * tanh(c_t)

Both are :class:`symrnn.models.cells.Cell` objects with states ``("h", "c")`` and output ``h``, so the generic BPTT
engine and code generation handle them.  ``*`` is the elementwise product.  The step writes both new states in
terms of the previous ones, so ``h_t`` contains ``c_t``'s expression; the document's displays name the gates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.autodiff import matcalc
from symrnn.models.cells import Cell, Param
from symrnn.numeric import codegen
from symrnn.ops import sigmoid

t, N = nt.t, nt.N
D = sp.Symbol("D", integer=True, positive=True)  # the standard LSTM's input size (PyTorch's input_size)

LECTURE_GATES = ("f", "i", "o")
TORCH_GATES = ("i", "f", "g", "o")  # PyTorch's packing order in weight_ih_l0, weight_hh_l0 and the biases

_Z = sp.Dummy("z", real=True)
SIGMA = sp.Lambda(_Z, sigmoid(_Z))  # one Lambda per function, so that equal expressions compare equal
TANH = sp.Lambda(_Z, sp.tanh(_Z))

Size = int | sp.Expr  # a size or a time: a number or a symbol such as N, t - 1
GateBuilder = Callable[[Mapping[str, MatrixExpr], MatrixExpr, MatrixExpr], dict[str, MatrixExpr]]


# ---- the two cells -----------------------------------------------------------------------------------------------


def lecture_gates(p: Mapping[str, MatrixExpr], h_prev: MatrixExpr, x: MatrixExpr) -> dict[str, MatrixExpr]:
    """The lecture's gates ``sigma(U_g h_{t-1} + W_g x_t)`` for g in f, i, o."""
    return {g: (p[f"U_{g}"] * h_prev + p[f"W_{g}"] * x).applyfunc(SIGMA) for g in LECTURE_GATES}


def lecture_lstm(n_state: Size = N, n_input: Size | None = None) -> Cell:
    """The lecture's LSTM with N cells; the input must have N entries too (``i_t x_t`` is elementwise)."""
    n_input = n_state if n_input is None else n_input
    if sp.sympify(n_input) != sp.sympify(n_state):
        raise ValueError(f"the lecture's cell c_t = f_t c_(t-1) + i_t x_t multiplies the input gate by x_t "
                         f"elementwise, so x_t needs the cell's {n_state} entries; got an input of size {n_input}")

    def build(p, prev, x):
        gates = lecture_gates(p, prev["h"], x)
        c = sp.HadamardProduct(gates["f"], prev["c"]) + sp.HadamardProduct(gates["i"], x)
        return {"h": sp.HadamardProduct(gates["o"], c), "c": c}

    params = tuple(Param(f"{m}_{g}", n_state, n_state) for g in LECTURE_GATES for m in ("U", "W"))
    return Cell("lecture_lstm", n_state, n_state, params, build, states=("h", "c"), output="h")


def standard_gates(p: Mapping[str, MatrixExpr], h_prev: MatrixExpr, x: MatrixExpr) -> dict[str, MatrixExpr]:
    """PyTorch's gates: ``act(W_g x_t + b_ig + U_g h_{t-1} + b_hg)``, act = tanh for g, the sigmoid otherwise."""
    return {g: _preactivation(p, h_prev, x, g).applyfunc(TANH if g == "g" else SIGMA) for g in TORCH_GATES}


def _preactivation(p: Mapping[str, MatrixExpr], h_prev: MatrixExpr, x: MatrixExpr, g: str,
                   evaluate: bool = True) -> MatrixExpr:
    """``W_g x_t + b_ig + U_g h_{t-1} + b_hg``; ``evaluate=False`` keeps PyTorch's order for display."""
    return sp.MatAdd(p[f"W_{g}"] * x, p[f"b_i{g}"], p[f"U_{g}"] * h_prev, p[f"b_h{g}"], evaluate=evaluate)


def standard_lstm(n_state: Size = N, n_input: Size = D) -> Cell:
    """``torch.nn.LSTM``'s cell (one layer): gates i, f, g, o with two biases each."""
    def build(p, prev, x):
        gates = standard_gates(p, prev["h"], x)
        c = sp.HadamardProduct(gates["f"], prev["c"]) + sp.HadamardProduct(gates["i"], gates["g"])
        return {"h": sp.HadamardProduct(gates["o"], c.applyfunc(TANH)), "c": c}

    params = (tuple(Param(f"W_{g}", n_state, n_input) for g in TORCH_GATES)
              + tuple(Param(f"U_{g}", n_state, n_state) for g in TORCH_GATES)
              + tuple(Param(f"b_i{g}", n_state, 1) for g in TORCH_GATES)
              + tuple(Param(f"b_h{g}", n_state, 1) for g in TORCH_GATES))
    return Cell("lstm", n_state, n_input, params, build, states=("h", "c"), output="h")


_GATES: dict[str, GateBuilder] = {"lecture_lstm": lecture_gates, "lstm": standard_gates}


def gates(cell: Cell, time: Size = t) -> dict[str, MatrixExpr]:
    """The gates of an LSTM cell at ``time`` as matrix expressions in the parameters, h_{t-1} and x_t."""
    if cell.name not in _GATES:
        raise ValueError(f"{cell.name!r} is not one of symrnn's LSTM cells ({', '.join(_GATES)})")
    return _GATES[cell.name](cell.symbols(), cell.previous(time - 1)["h"], cell.input(time))


# ---- the equations as displayed ------------------------------------------------------------------------------------


def _eq(lhs, rhs) -> sp.Eq:
    return sp.Eq(lhs, rhs, evaluate=False)


def _gate_definitions(cell: Cell, time: Size) -> dict[nt.Gate, MatrixExpr]:
    return {nt.Gate(g, time, cell.n_state): expr for g, expr in gates(cell, time).items()}


def lecture_equations(n: Size = N, time: Size = t) -> dict[str, sp.Eq]:
    """The lecture's five equations, written as the lecture writes them (gates without arrows, products by
    juxtaposition): keys f, i, o (gates), c (cell), h (output)."""
    cell = lecture_lstm(n)
    out = {nt.Gate(g, time, n).base: _eq(nt.Gate(g, time, n), expr) for g, expr in gates(cell, time).items()}
    f, i, o = (nt.Gate(g, time, n) for g in LECTURE_GATES)
    c, c_prev, x = nt.Vec("c", time, n), nt.Vec("c", time - 1, n), nt.Vec("x", time, n)
    out["c"] = _eq(c, sp.MatAdd(nt.Juxtaposed(f, c_prev), nt.Juxtaposed(i, x), evaluate=False))
    out["h"] = _eq(nt.Vec("h", time, n), nt.Juxtaposed(o, c))
    return out


def standard_equations(n_state: Size = N, n_input: Size = D, time: Size = t) -> dict[str, sp.Eq]:
    """PyTorch's LSTM equations: keys i, f, g, o (gates), c (cell), h (output); products as ``\\odot``."""
    cell = standard_lstm(n_state, n_input)
    p, h_prev, x = cell.symbols(), cell.previous(time - 1)["h"], cell.input(time)
    out = {g: _eq(nt.Gate(g, time, n_state), _preactivation(p, h_prev, x, g, evaluate=False)
                  .applyfunc(TANH if g == "g" else SIGMA)) for g in TORCH_GATES}
    i, f, g, o = (nt.Gate(name, time, n_state) for name in TORCH_GATES)
    c, c_prev = nt.Vec("c", time, n_state), nt.Vec("c", time - 1, n_state)
    out["c"] = _eq(c, sp.MatAdd(sp.HadamardProduct(f, c_prev), sp.HadamardProduct(i, g), evaluate=False))
    out["h"] = _eq(nt.Vec("h", time, n_state), sp.HadamardProduct(o, c.applyfunc(TANH)))
    return out


def computational(expr: sp.Basic, definitions: Mapping[MatrixExpr, MatrixExpr]) -> sp.Basic:
    """A displayed expression made computable: named quantities (gates, ``c_t``) replaced by their definitions
    (repeatedly, so definitions may use each other) and juxtaposition by the elementwise product."""
    for _ in range(len(definitions) + 1):
        replaced = expr.xreplace(dict(definitions))
        if replaced == expr:
            break
        expr = replaced
    return canonical(expr.replace(lambda e: isinstance(e, nt.Juxtaposed), lambda e: sp.HadamardProduct(*e.args)))


def canonical(expr: sp.Basic) -> sp.Basic:
    """Rebuild a matrix expression bottom up with SymPy's evaluation (sums and products in canonical order)."""
    if not isinstance(expr, MatrixExpr) or not expr.args or isinstance(expr, (sp.MatrixSymbol, nt.Vec)):
        return expr
    rebuilt = expr.func(*[canonical(a) for a in expr.args])
    return rebuilt.doit(deep=False) if isinstance(rebuilt, sp.MatAdd) else rebuilt  # as ``a + b`` builds it


def step_definitions(cell: Cell, time: Size = t) -> dict[MatrixExpr, MatrixExpr]:
    """Every named quantity of one step (gates and ``c_t``) -> its expression in h_{t-1}, c_{t-1}, x_t."""
    defs: dict[MatrixExpr, MatrixExpr] = dict(_gate_definitions(cell, time))
    defs[nt.Vec("c", time, cell.n_state)] = cell.step(time)["c"]
    return defs


# ---- unrolled ------------------------------------------------------------------------------------------------------


def unroll(cell: Cell, params: Mapping[str, sp.Matrix], xs: Sequence[sp.Matrix], h0: sp.Matrix,
           c0: sp.Matrix) -> list[dict[str, sp.Matrix]]:
    """Explicit values of every gate and state for t = 1..T (exact numbers or symbols), one step at a time.

    Each entry of h_t contains h_{t-1}'s entries, so the expressions grow quickly with T: small T only for
    symbolic entries (exact rationals stay small).
    """
    step, gate_exprs = cell.step(t), gates(cell)
    prev, x_t = cell.previous(t - 1), cell.input(t)
    base = {sym: sp.Matrix(params[name]) for name, sym in cell.symbols().items()}
    h, c = sp.Matrix(h0), sp.Matrix(c0)
    out = []
    for x in xs:
        values = {**base, prev["h"]: h, prev["c"]: c, x_t: sp.Matrix(x)}
        row = {g: matcalc.explicit(expr, values) for g, expr in gate_exprs.items()}
        row["c"] = matcalc.explicit(step["c"], values)
        row["h"] = matcalc.explicit(step["h"], values)
        out.append(row)
        h, c = row["h"], row["c"]
    return out


# ---- closed form of the lecture's cell ----------------------------------------------------------------------------


def cell_closed_form(forget: Sequence, inputs: Sequence, xs: Sequence, c0: object) -> list:
    """``c_t = (prod_{j<=t} f_j) c_0 + sum_{k<=t} (prod_{k<j<=t} f_j) i_k x_k`` for t = 1..T, entrywise.

    Works on scalars, SymPy expressions or NumPy arrays (any type with ``*`` and ``+`` entrywise).
    """
    if not (len(forget) == len(inputs) == len(xs)):
        raise ValueError(f"need one forget gate, input gate and input per step; got {len(forget)}, "
                         f"{len(inputs)}, {len(xs)}")
    out = []
    for T in range(1, len(xs) + 1):  # noqa: N806
        total = _prod(forget[:T]) * c0
        for k in range(T):
            total = total + _prod(forget[k + 1:T]) * inputs[k] * xs[k]
        out.append(total)
    return out


def _prod(factors: Sequence):
    out = 1
    for f in factors:
        out = out * f
    return out


# ---- running a cell step by step, with its gates -----------------------------------------------------------------


def trace(cell: Cell, params: Mapping[str, np.ndarray], xs: np.ndarray, h0: np.ndarray | None = None,
          c0: np.ndarray | None = None) -> list[dict[str, np.ndarray]]:
    """Run an LSTM cell in float64 and return, for t = 1..T, ``{gate or state: value}`` (gates and h_t, c_t).

    ``xs`` is ``(T, D)`` (one sequence) or ``(T, D, B)``; ``h0``, ``c0`` default to zeros.
    """
    if not (sp.sympify(cell.n_state).is_Integer and sp.sympify(cell.n_input).is_Integer):
        raise ValueError(f"trace needs a cell of numeric size, got {cell.n_state} x {cell.n_input}")
    xs = np.asarray(xs, dtype=np.float64)
    single = xs.ndim == 2
    if single:
        xs = xs[:, :, None]
    if xs.ndim != 3 or xs.shape[1] != int(cell.n_input):
        raise ValueError(f"inputs must be (T, D) or (T, D, B) with D = {cell.n_input}, got {np.shape(xs)}")
    n, batch = int(cell.n_state), xs.shape[2]

    def initial(v, name):
        if v is None:
            return np.zeros((n, batch))
        v = np.asarray(v, dtype=np.float64)
        v = v[:, None] if v.ndim == 1 else v
        if v.shape[0] != n:
            raise ValueError(f"{name} must have {n} entries, got shape {v.shape}")
        return np.array(np.broadcast_to(v, (n, batch)))

    names = [p.name for p in cell.params]
    missing = [m for m in names if m not in params]
    if missing:
        raise ValueError(f"missing parameters {missing} of {cell.name!r}")
    kernel = _trace_kernel(cell)
    args = [np.asarray(params[m], dtype=np.float64) for m in names]
    h, c = initial(h0, "h0"), initial(c0, "c0")
    order = list(gates(cell)) + ["c", "h"]
    out = []
    for x in xs:
        values = kernel(*args, h, c, x)
        row = {k: np.broadcast_to(v, (n, batch)).copy() for k, v in zip(order, values, strict=True)}
        h, c = row["h"], row["c"]
        out.append({k: v[:, 0] for k, v in row.items()} if single else row)
    return out


_KERNELS: dict[tuple, Callable] = {}


def _trace_kernel(cell: Cell) -> Callable:
    key = (cell.name, cell.n_state, cell.n_input)
    if key not in _KERNELS:
        step = cell.step(t)
        outputs = [*gates(cell).values(), step["c"], step["h"]]
        prev = cell.previous(t - 1)
        args = [*cell.symbols().values(), prev["h"], prev["c"], cell.input(t)]
        _KERNELS[key] = codegen.kernel(args, sp.Tuple(*outputs), f"{cell.name}_trace")
    return _KERNELS[key]
