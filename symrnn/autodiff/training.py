"""Compiled back-propagation through time: the loss and its gradients on a batch, from generated step kernels.

:func:`compile_bptt` derives the BPTT recursion of a cell under a loss (:func:`symrnn.bptt.derive`) and turns its
matrix-level expressions at a generic time t into three NumPy kernels (:func:`symrnn.codegen.kernel`):

- forward: ``(parameters, states_{t-1}, x_t) -> states_t`` (plus ``ln h_t`` when the output is a softmax, so that
  cross-entropy never takes the log of an underflowed probability, plus the forward intermediates that the
  backward step needs, so that it does not recompute them);
- loss: ``(h_t, y_t) -> l_t`` per batch column;
- backward: ``(parameters, states_{t-1}, x_t, states_t, y_t, rho_t) -> (rho_{t-1}, dL/dtheta contributions, l_t)``
  (the loss term again, so that :meth:`Compiled.loss_and_grads` makes one kernel call per step each way).

A Python loop over t calls them; nothing is unrolled, nothing is per entry.  A batch of B sequences is ``(n, B)``
arrays throughout.  Every state of a cell (``h``, and ``c`` for an LSTM) goes through the same code path, keyed by
``cell.states`` and :func:`symrnn.bptt.rho_name`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.autodiff import matcalc
from symrnn.autodiff.bptt import BPTT, derive
from symrnn.core.budget import SizeLimit, check_count
from symrnn.models.cells import Cell
from symrnn.models.losses import Loss
from symrnn.numeric import codegen, guard
from symrnn.ops import LogSoftmax, Rule, Softmax, find
from symrnn.ops.registry import classes

ArrayMap = Mapping[str, np.ndarray]

CROSS_ENTROPY = "cross-entropy"
SQUARED_ERROR = "squared error"
MAX_STEPS = 100_000  #: time steps of one call (the ``max_steps`` argument; 10^5 steps of a small cell take seconds)
MAX_ELEMENTS = 10_000_000  #: T x B x N, the entries of one state over a call (the ``max_elements`` argument)


class InputError(ValueError):
    """Arrays handed to a compiled model do not fit it (the message names the offending array)."""


class MissingParameterError(InputError):
    """A parameter of the cell is absent from ``params`` (or an unknown one is present)."""


class ShapeError(InputError):
    """An array has the wrong shape or is not finite."""


class TargetError(InputError):
    """Targets that the loss cannot take: class indices out of range, negative probabilities."""


class InputTooLarge(InputError, SizeLimit):
    """Inputs over the caps (time steps, or time steps x batch x state size), refused before any work."""


# ---- the loss value at matrix level ------------------------------------------------------------------------------


def _loss_candidates(h: MatrixExpr, y: MatrixExpr, log_h: MatrixExpr) -> dict[str, MatrixExpr]:
    """Matrix-level per-column losses ``(1 x B)`` that :func:`_loss_term` tries against ``Loss.term``."""
    ones, e = sp.OneMatrix(1, h.shape[0]), sp.Dummy("e")
    return {
        CROSS_ENTROPY: -sp.MatMul(ones, sp.HadamardProduct(y, log_h)),
        # an elementwise square: SymPy turns (h - y) o (h - y) into a HadamardPower, which matcalc cannot expand
        SQUARED_ERROR: sp.MatMul(ones, nt.apply_entrywise(sp.Lambda(e, e**2 / 2), h - y)),
    }


def _loss_term(loss: Loss, n: int) -> str:
    """Which matrix-level form equals ``loss.term``, or raise NotImplementedError.

    Proved symbolically on entry symbols at size min(n, 3), then confirmed numerically at a random point at size
    min(n, 8) (the known losses are written for any size; a loss written for one size has an entry-level
    gradient and was refused before this).
    """
    small = min(n, 3)
    h, y = sp.MatrixSymbol("h", small, 1), sp.MatrixSymbol("y", small, 1)
    hv = sp.Matrix(small, 1, lambda r, c: sp.Symbol(f"h{r}", positive=True))
    yv = sp.Matrix(small, 1, lambda r, c: sp.Symbol(f"y{r}", real=True))
    try:
        term = loss.term(hv, yv)
    except Exception:  # a loss written for one size only
        term = None
    rng = np.random.default_rng(0)
    hn, yn = rng.uniform(0.1, 1.0, size=(min(n, 8), 1)), rng.uniform(0.0, 1.0, size=(min(n, 8), 1))
    log = sp.Dummy("e")
    for kind, form in _loss_candidates(h, y, nt.apply_entrywise(sp.Lambda(log, sp.log(log)), h)).items():
        if term is None or sp.expand(term - matcalc.explicit(form, {h: hv, y: yv})[0, 0]) != 0:
            continue
        want = {CROSS_ENTROPY: -(yn * np.log(hn)).sum(), SQUARED_ERROR: ((hn - yn) ** 2).sum() / 2}[kind]
        got = float(loss.term(sp.Matrix(hn.tolist()), sp.Matrix(yn.tolist())))
        if abs(got - want) <= 1e-9 * max(1.0, abs(want)):
            return kind
    raise NotImplementedError(f"compile_bptt knows the value of cross-entropy and squared error; the loss "
                              f"{loss.name!r} is neither (use symrnn.bptt.run(..., mode='numpy'))")


# ---- rewriting the backward step before code generation ----------------------------------------------------------


def _factor_products(expr: sp.Basic) -> sp.Basic:
    """``A B + A C`` -> ``A (B + C)`` and ``B A + C A`` -> ``(B + C) A``, bottom up: fewer matrix products."""
    if not isinstance(expr, MatrixExpr) or not expr.args or isinstance(expr, (sp.MatrixSymbol, nt.Vec)):
        return expr
    expr = expr.func(*[_factor_products(a) for a in expr.args])
    if isinstance(expr, sp.MatAdd):  # a sum of sums (one per state) is one sum
        expr = sp.MatAdd(*[b for a in expr.args for b in (a.args if isinstance(a, sp.MatAdd) else (a,))])
    for side in (0, -1):
        if isinstance(expr, sp.MatAdd):
            expr = _factor_side(expr, side)
    return expr


def _factor_side(expr: sp.MatAdd, side: int) -> MatrixExpr:
    groups: dict[sp.Basic, list[tuple[int, MatrixExpr]]] = {}
    for n, term in enumerate(expr.args):
        coeff, mats = term.as_coeff_matrices() if isinstance(term, sp.MatMul) else (sp.S.One, [term])
        if len(mats) >= 2:
            rest = mats[1:] if side == 0 else mats[:-1]
            rest_expr = rest[0] if len(rest) == 1 else sp.MatMul(*rest)
            groups.setdefault(mats[side], []).append((n, rest_expr if coeff == 1 else coeff * rest_expr))
    shared = {key: members for key, members in groups.items() if len(members) > 1}
    if not shared:
        return expr
    used = {n for members in shared.values() for n, _ in members}
    terms = [term for n, term in enumerate(expr.args) if n not in used]
    for key, members in shared.items():
        inner = _factor_products(sp.MatAdd(*[rest for _, rest in members]))
        terms.append(sp.MatMul(key, inner) if side == 0 else sp.MatMul(inner, key))
    return terms[0] if len(terms) == 1 else sp.MatAdd(*terms)


def _split_saved(exprs: list[MatrixExpr], forward: set, backward: set) -> tuple[list[MatrixExpr], dict]:
    """Replace forward intermediates in the backward step (gates such as ``sigma(W_z x + U_z h + b_z)``) by symbols.

    A subexpression is a forward intermediate if it depends on the step's inputs (states_{t-1}, x_t) but not on
    the backward quantities (states_t, y_t, rho_t).  Each is saved at the coarsest elementwise function or affine
    map, so ``z (1 - z)`` saves ``z`` once; how a node splits is its table entry's ``split`` (:mod:`symrnn.ops`).
    Returns the rewritten expressions and ``{symbol: intermediate}``.
    """
    saved: dict[MatrixExpr, sp.MatrixSymbol] = {}
    saving = classes(lambda r: r.saves_output)

    def save(node):
        if node not in saved:
            saved[node] = sp.MatrixSymbol(f"saved:{len(saved)}", *node.shape)  # ':' is no parameter's name
        return saved[node]

    def visit(node):
        if not isinstance(node, MatrixExpr) or not node.has(*forward):
            return node
        entry = find(node)
        if isinstance(entry, Rule) and entry.leaf:
            return node
        if node.has(*backward):
            return node.func(*[visit(a) for a in node.args])
        split = entry.split if isinstance(entry, Rule) else "whole"
        if split == "operands":
            return node.func(*[visit(a) for a in node.args])
        if split == "output" and _saves_output(node.args[-1]):  # an entrywise map of a saved map
            return node.func(*node.args[:-1], visit(node.args[-1]))
        if split == "scale":
            coeff, mats = node.as_coeff_matrices()
            if len(mats) == 1:
                return coeff * visit(mats[0])
        if split == "sum" and node.has(*saving):
            return sp.MatAdd(*[visit(a) for a in node.args])
        return save(node)

    out = [visit(e) for e in exprs]
    return out, {sym: node for node, sym in saved.items()}


def _saves_output(node: sp.Basic) -> bool:
    entry = find(node)
    return isinstance(entry, Rule) and entry.saves_output


def _check_matrix_level(b: BPTT) -> None:
    exprs = [*b.step.values(), *b.recurrent.values(), *b.param_grads.values()]
    for expr in exprs:
        if any(isinstance(node, sp.MatrixBase) for node in sp.preorder_traversal(expr)):
            raise NotImplementedError(
                f"the BPTT step of {b.cell.name!r} under {b.loss.name!r} contains an explicit matrix (an "
                "entry-level loss gradient); compiled code is matrix level only (use symrnn.bptt.run)")


# ---- the compiled model ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compiled:
    """Generated kernels for one cell and loss; call :meth:`loss_and_grads`, :meth:`loss` or :meth:`forward`."""

    bptt: BPTT
    loss_kind: str  # CROSS_ENTROPY or SQUARED_ERROR
    log_output: bool  # the forward kernel also returns ln h_t (a softmax output under cross-entropy)
    n_saved: int  # forward intermediates handed from the forward to the backward kernel
    forward_kernel: Callable = field(repr=False)
    loss_kernel: Callable = field(repr=False)
    backward_kernel: Callable = field(repr=False)

    @property
    def cell(self) -> Cell:
        return self.bptt.cell

    # -- validation --

    def _size(self, inputs, max_steps: int, max_elements: int) -> None:
        """Refuse inputs of more than ``max_steps`` steps or ``max_elements`` state entries (T x B x N) from their
        shape alone: a nested list is measured through its first items, nothing is converted."""
        for name, limit in (("max_steps", max_steps), ("max_elements", max_elements)):
            if isinstance(limit, bool) or not isinstance(limit, int | np.integer) or limit < 1:
                raise InputError(f"{name} must be a positive integer, got {limit!r}")
        dims, value = getattr(inputs, "shape", None), inputs
        if not (isinstance(dims, tuple) and all(isinstance(n, int | np.integer) for n in dims)):
            dims = []
            while isinstance(value, list | tuple) and len(dims) < 3:
                dims, value = [*dims, len(value)], value[0] if value else None
        if not dims:
            return  # not an array: _inputs names it
        T, B, N = int(dims[0]), int(dims[2]) if len(dims) >= 3 else 1, self.cell.n_state  # noqa: N806
        try:
            check_count(T, max_steps, "time steps", "the max_steps argument")
            check_count(T * B * N, max_elements, f"state entries (T x B x N = {T} x {B} x {N})",
                        "the max_elements argument")
        except SizeLimit as exc:
            raise InputTooLarge(str(exc)) from None

    def _params(self, params: ArrayMap) -> list[np.ndarray]:
        if not isinstance(params, Mapping):
            raise MissingParameterError(f"params must map parameter names to arrays, got {type(params).__name__}")
        names = [p.name for p in self.cell.params]
        missing = [n for n in names if n not in params]
        unknown = sorted(set(params) - set(names), key=repr)  # keys of any type: never compared with each other
        if missing or unknown:
            raise MissingParameterError(
                f"cell {self.cell.name!r} takes parameters {names}"
                + (f"; missing {missing}" if missing else "") + (f"; unknown {unknown}" if unknown else ""))
        return [_real_array(params[p.name], f"parameter {p.name}", (p.rows, p.cols)) for p in self.cell.params]

    def _inputs(self, inputs) -> tuple[np.ndarray, bool]:
        xs = _real_array(inputs, "inputs")
        batched = xs.ndim == 3
        if xs.ndim == 2:
            xs = xs[:, :, None]
        if xs.ndim != 3 or xs.shape[1] != self.cell.n_input or xs.shape[0] < 1 or xs.shape[2] < 1:
            raise ShapeError(f"inputs must be (T, D, B) or (T, D) with D = {self.cell.n_input}, T >= 1, B >= 1; "
                             f"got shape {np.shape(inputs)}")
        return np.ascontiguousarray(xs), batched

    def _targets(self, targets, T: int, B: int, batched: bool) -> np.ndarray:  # noqa: N803
        n = self.cell.n_state
        try:
            arr = np.asarray(targets)
        except Exception as exc:  # noqa: BLE001 - ragged lists and the like
            raise ShapeError(f"targets is not an array: {exc}") from None
        if arr.dtype.kind in "iu":
            if self.loss_kind != CROSS_ENTROPY:
                raise TargetError(f"integer targets are class indices, for cross-entropy; {self.bptt.loss.name} "
                                  f"needs arrays of shape (T, N, B) = {(T, n, B)}")
            want = (T, B) if batched else (T,)
            if arr.shape != want:
                raise ShapeError(f"class-index targets must have shape {want} (T{', B' if batched else ''}), "
                                 f"got {arr.shape}")
            classes = arr.reshape(T, B)
            bad = np.argwhere((classes < 0) | (classes >= n))
            if bad.size:
                time, col = bad[0]
                raise TargetError(f"target class {classes[time, col]} at t={time + 1}, batch column {col} is out "
                                  f"of range 0..{n - 1} ({len(bad)} such entries)")
            ys = np.zeros((T, n, B))
            ys[np.arange(T)[:, None], classes, np.arange(B)[None, :]] = 1.0
            return ys
        want = (T, n, B) if batched else (T, n)
        ys = _real_array(targets, "targets")
        if ys.shape != want:
            hint = " (class indices must be an integer array)" if self.loss_kind == CROSS_ENTROPY else ""
            raise ShapeError(f"targets must have shape {want} (T, N{', B' if batched else ''}), got {ys.shape}"
                             + hint)
        if self.loss_kind == CROSS_ENTROPY and (ys < 0).any():
            raise TargetError("cross-entropy targets are probabilities (one-hot): found a negative entry")
        return np.ascontiguousarray(ys.reshape(T, n, B))

    def _initial(self, h0, B: int) -> list[np.ndarray]:  # noqa: N803
        states, n = self.cell.states, self.cell.n_state
        if h0 is None:
            return [np.zeros((n, B)) for _ in states]
        if not isinstance(h0, Mapping):
            if len(states) != 1:
                raise InputError(f"cell {self.cell.name!r} has states {list(states)}: give h0 as a dict")
            h0 = {states[0]: h0}
        unknown = sorted(set(h0) - set(states), key=repr)
        if unknown:
            raise InputError(f"h0 names unknown states {unknown}; the cell's states are {list(states)}")
        out = []
        for s in states:
            if s not in h0:
                out.append(np.zeros((n, B)))
                continue
            v = _real_array(h0[s], f"initial state {s}")
            if v.ndim == 1:
                v = v[:, None]
            if v.ndim != 2 or v.shape[0] != n or v.shape[1] not in (1, B):
                raise ShapeError(f"initial state {s} must be (N,), (N, 1) or (N, B) with N = {n}, B = {B}; "
                                 f"got {np.shape(h0[s])}")
            out.append(np.array(np.broadcast_to(v, (n, B))))
        return out

    # -- running --

    def _forward(self, p: list[np.ndarray], xs: np.ndarray, h0: list[np.ndarray]):
        S = len(self.cell.states)  # noqa: N806
        states, saved, logs = [h0], [], []
        shape = h0[0].shape
        for t in range(xs.shape[0]):
            out = self.forward_kernel(*p, *states[-1], xs[t])
            new = [v if v.shape == shape else np.broadcast_to(v, shape) for v in out[:S]]
            states.append(new)
            saved.append(out[S:S + self.n_saved])
            if self.log_output:
                logs.append(out[-1])
        return states, saved, logs

    def _total_loss(self, states, logs, ys: np.ndarray) -> float:
        k = self.cell.states.index(self.cell.output)
        terms = []
        for t in range(ys.shape[0]):
            extra = (logs[t],) if self.log_output else ()
            terms.append(float(self.loss_kernel(states[t + 1][k], ys[t], *extra).sum()))
        return sum(terms)  # in time order, as loss_and_grads sums them

    def forward(self, params: ArrayMap, inputs, h0=None, *, max_steps: int = MAX_STEPS,
                max_elements: int = MAX_ELEMENTS) -> dict[str, np.ndarray]:
        """Every state ``h_0 .. h_T``: ``{state: (T+1, N, B) array}`` (``(T+1, N)`` for 2-D inputs); size caps as in
        :meth:`loss_and_grads`."""
        self._size(inputs, max_steps, max_elements)
        p = self._params(params)
        xs, batched = self._inputs(inputs)
        states, _, _ = self._forward(p, xs, self._initial(h0, xs.shape[2]))
        out = {s: np.stack([st[k] for st in states]) for k, s in enumerate(self.cell.states)}
        return out if batched else {s: v[:, :, 0] for s, v in out.items()}

    def loss(self, params: ArrayMap, inputs, targets, h0=None, *, max_steps: int = MAX_STEPS,
             max_elements: int = MAX_ELEMENTS) -> float:
        """The loss summed over time and batch (forward only); size caps as in :meth:`loss_and_grads`."""
        self._size(inputs, max_steps, max_elements)
        p = self._params(params)
        xs, batched = self._inputs(inputs)
        ys = self._targets(targets, xs.shape[0], xs.shape[2], batched)
        states, _, logs = self._forward(p, xs, self._initial(h0, xs.shape[2]))
        return self._total_loss(states, logs, ys)

    def loss_and_grads(self, params: ArrayMap, inputs, targets, h0=None, *, max_steps: int = MAX_STEPS,
                       max_elements: int = MAX_ELEMENTS) -> tuple[float, dict[str, np.ndarray]]:
        """The loss summed over time and batch, and its gradient in every parameter (arrays of their shapes).

        ``params``: name -> array of the parameter's shape.  ``inputs``: (T, D, B), or (T, D) for one sequence.
        ``targets``: for cross-entropy integer classes (T, B) (0-based) or one-hot (T, N, B); for squared error
        (T, N, B); drop the B axis for (T, D) inputs.  ``h0``: None (zeros), an array (N,), (N, 1) or (N, B), or a
        dict of them by state name.  Inputs over ``max_steps`` time steps (:data:`MAX_STEPS`, 10^5) or ``max_elements``
        state entries T x B x N (:data:`MAX_ELEMENTS`, 10^7) are refused before any work: :class:`InputTooLarge` (an
        :class:`InputError` and a :class:`~symrnn.core.budget.SizeLimit`) names the count and the limit.
        """
        self._size(inputs, max_steps, max_elements)
        p = self._params(params)
        xs, batched = self._inputs(inputs)
        T, _, B = xs.shape  # noqa: N806
        ys = self._targets(targets, T, B, batched)
        states, saved, logs = self._forward(p, xs, self._initial(h0, B))
        S = len(self.cell.states)  # noqa: N806
        names = [q.name for q in self.cell.params]
        grads = [np.zeros_like(v) for v in p]
        rhos = [np.zeros_like(v) for v in states[0]]
        terms = [0.0] * T
        for t in range(T, 0, -1):
            extra = (logs[t - 1],) if self.log_output else ()
            out = self.backward_kernel(*p, *states[t - 1], xs[t - 1], *states[t], ys[t - 1], *rhos, *saved[t - 1],
                                       *extra)
            rhos = list(out[:S])
            for acc, g in zip(grads, out[S:-1], strict=True):
                if g.shape != acc.shape:
                    g = g.sum(axis=1, keepdims=True)  # a bias: its contribution is one column per batch item
                acc += g
            terms[t - 1] = float(out[-1].sum())
        return sum(terms), dict(zip(names, grads, strict=True))


def _real_array(value, what: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise ShapeError(f"{what} is not an array: {exc}") from exc
    if arr.dtype.kind not in "biuf":
        raise ShapeError(f"{what} must be a real numeric array, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if shape is not None and arr.shape != shape:
        raise ShapeError(f"{what} must have shape {shape}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ShapeError(f"{what} has non-finite entries")
    return arr


def compile_bptt(cell: Cell, loss: Loss) -> Compiled:
    """Derive BPTT for ``cell`` under ``loss`` and generate its forward, loss and backward step kernels.

    The cell's functions are vetted (:func:`symrnn.numeric.guard.vet`) before anything is derived, and every kernel
    again before its code is generated; a refused name is :class:`~symrnn.numeric.guard.UnsafeName`.
    """
    guard.vet(sp.Tuple(*cell.step().values()), symbols=False)  # symbols are renamed by codegen.kernel
    b = derive(cell, loss)
    _check_matrix_level(b)
    kind = _loss_term(loss, cell.n_state)
    params = list(cell.symbols().values())
    prev, cur = cell.previous(nt.t - 1), cell.current(nt.t)
    x, y = cell.input(nt.t), b.target
    rhos = [b.rho(s) for s in cell.states]
    n = cell.n_state

    backward_exprs = [*(b.recurrent[s] for s in cell.states), *(b.param_grads[q.name] for q in cell.params)]
    backward_exprs = [_factor_products(e) for e in backward_exprs]
    backward_exprs, saved = _split_saved(backward_exprs, set(prev.values()) | {x}, {*cur.values(), y, *rhos})

    step = dict(b.step)
    out_expr = step[cell.output]
    log_output = kind == CROSS_ENTROPY and type(out_expr) is Softmax
    forward_outputs = [step[s] for s in cell.states] + list(saved.values())
    if log_output:
        log_h = LogSoftmax(out_expr.arg)
        forward_outputs[cell.states.index(cell.output)] = log_h.applyfunc(sp.exp)  # h = e^{ln h}: one softmax
        forward_outputs.append(log_h)
    forward = codegen.kernel([*params, *prev.values(), x], sp.Tuple(*forward_outputs), f"{cell.name}_forward")

    h = cur[cell.output]
    log_arg = sp.MatrixSymbol("log:h", n, 1)  # ':' keeps it apart from any state or parameter name
    term = _loss_candidates(h, y, log_arg if log_output else h.applyfunc(sp.log))[kind]
    loss_kernel = codegen.kernel([h, y, *([log_arg] if log_output else [])], term, f"{cell.name}_loss")

    backward = codegen.kernel([*params, *prev.values(), x, *cur.values(), y, *rhos, *saved,
                               *([log_arg] if log_output else [])],
                              sp.Tuple(*backward_exprs, term), f"{cell.name}_backward")
    return Compiled(b, kind, log_output, len(saved), forward, loss_kernel, backward)


# ---- loading PyTorch modules -------------------------------------------------------------------------------------


def _numpy(tensor) -> np.ndarray:
    return tensor.detach().cpu().double().numpy().copy()


def _single_layer(module, kind: str) -> None:
    if module.num_layers != 1 or module.bidirectional or getattr(module, "proj_size", 0):
        raise ValueError(f"{kind}: only a single-layer, unidirectional module without projections can be loaded")


def from_torch_gru(module) -> dict[str, np.ndarray]:
    """Parameters of :func:`symrnn.cells.gru` from a ``torch.nn.GRU`` (float64 NumPy arrays).

    torch packs the gates r, z, n by rows: ``weight_ih_l0`` is ``[W_r; W_z; W_n]`` (3H x D), ``weight_hh_l0``
    ``[U_r; U_z; U_n]``; the r and z biases add (``b_r = b_ir + b_hr``), while ``b_in`` and ``b_hn`` stay apart
    because ``b_hn`` is multiplied by r.
    """
    _single_layer(module, "from_torch_gru")
    H = module.hidden_size  # noqa: N806
    w_ih, w_hh = _numpy(module.weight_ih_l0), _numpy(module.weight_hh_l0)
    if module.bias:
        b_ih, b_hh = _numpy(module.bias_ih_l0), _numpy(module.bias_hh_l0)
    else:
        b_ih = b_hh = np.zeros(3 * H)
    rows = {g: slice(k * H, (k + 1) * H) for k, g in enumerate(("r", "z", "n"))}
    out = {f"W_{g}": w_ih[rows[g]] for g in rows}
    out.update({f"U_{g}": w_hh[rows[g]] for g in rows})
    out["b_r"] = (b_ih[rows["r"]] + b_hh[rows["r"]])[:, None]
    out["b_z"] = (b_ih[rows["z"]] + b_hh[rows["z"]])[:, None]
    out["b_in"] = b_ih[rows["n"]][:, None]
    out["b_hn"] = b_hh[rows["n"]][:, None]
    return out


def from_torch_rnn(module) -> dict[str, np.ndarray]:
    """Parameters of :func:`symrnn.cells.elman` from a ``torch.nn.RNN(nonlinearity='tanh')``: ``b = b_ih + b_hh``."""
    _single_layer(module, "from_torch_rnn")
    if module.nonlinearity != "tanh":
        raise ValueError(f"from_torch_rnn: the Elman cell is tanh, the module uses {module.nonlinearity!r}")
    H = module.hidden_size  # noqa: N806
    b = _numpy(module.bias_ih_l0) + _numpy(module.bias_hh_l0) if module.bias else np.zeros(H)
    return {"U": _numpy(module.weight_hh_l0), "W": _numpy(module.weight_ih_l0), "b": b[:, None]}
