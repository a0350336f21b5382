"""Compiled back-propagation through time: the loss and its gradients on a batch, from generated kernels.

:func:`compile_bptt` derives the BPTT recursion of a cell under a loss (:func:`symrnn.bptt.derive`) and generates
its kernels (:mod:`symrnn.autodiff.kernels`): what depends on the recursion runs in a Python loop over t
(:mod:`symrnn.autodiff.loop`), one forward and one backward kernel call per step; what does not (every ``W x_t``,
every ``sum_t A_t B_t^T``) is found from the step's symbolic form (:mod:`symrnn.autodiff.hoisting`) and computed
before or after the loop as one product over all steps.  Nothing is unrolled, nothing is per entry.  A batch of B
sequences is ``(n, B)`` arrays per step.  A loss with a factor (``1/T``: averaged over t) runs the kernels of the
loss summed over t and multiplies the loss and every gradient by the factor at the end (:func:`.loop.loss_factor`),
which equals the derivation's (the recursion is linear in the error it starts from; ``symrnn derive`` checks the
result against the averaged loss).  Every state of a cell (``h``, and ``c`` for an LSTM) goes through the
same code path, keyed by ``cell.states`` and :func:`symrnn.bptt.rho_name`.

:class:`Compiled` checks the arrays it is handed (named errors, size caps) before any work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from symrnn import notation as nt
from symrnn.autodiff import kernels, loop, matcalc
from symrnn.autodiff.bptt import BPTT, derive
from symrnn.autodiff.kernels import CROSS_ENTROPY, SQUARED_ERROR, Kernels, check_matrix_level
from symrnn.core.budget import SizeLimit, check_count
from symrnn.models.cells import Cell
from symrnn.models.losses import Loss, scale_parts
from symrnn.numeric import guard

ArrayMap = Mapping[str, np.ndarray]

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
    for kind, form in kernels.loss_candidates(h, y, nt.apply_entrywise(sp.Lambda(log, sp.log(log)), h)).items():
        if term is None or sp.expand(term - matcalc.explicit(form, {h: hv, y: yv})[0, 0]) != 0:
            continue
        want = {CROSS_ENTROPY: -(yn * np.log(hn)).sum(), SQUARED_ERROR: ((hn - yn) ** 2).sum() / 2}[kind]
        got = float(loss.term(sp.Matrix(hn.tolist()), sp.Matrix(yn.tolist())))
        if abs(got - want) <= 1e-9 * max(1.0, abs(want)):
            return kind
    raise NotImplementedError(f"compile_bptt knows the value of cross-entropy and squared error; the loss "
                              f"{loss.name!r} is neither (use symrnn.bptt.run(..., mode='numpy'))")


# ---- the compiled model ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compiled:
    """Generated kernels for one cell and loss; call :meth:`loss_and_grads`, :meth:`loss` or :meth:`forward`."""

    bptt: BPTT
    loss_kind: str  # CROSS_ENTROPY or SQUARED_ERROR
    kernels: Kernels = field(repr=False)  # the generated code, as the loop over t reads it

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
        T, B = int(dims[0]), int(dims[2]) if len(dims) >= 3 else 1  # noqa: N806
        N = max(self.cell.size(s) for s in self.cell.states)  # noqa: N806
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
        n = self.cell.n_output
        try:
            arr = np.asarray(targets)
        except Exception as exc:  # noqa: BLE001 - ragged lists and the like
            raise ShapeError(f"targets is not an array: {exc}") from None
        if arr.dtype.kind in "iu":
            if self.loss_kind != CROSS_ENTROPY:
                raise TargetError(f"integer targets are class indices, for cross-entropy; {self.bptt.loss.name} "
                                  f"needs arrays of shape (T, Q, B) = {(T, n, B)}")
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
            raise ShapeError(f"targets must have shape {want} (T, Q{', B' if batched else ''}), got {ys.shape}"
                             + hint)
        if self.loss_kind == CROSS_ENTROPY and (ys < 0).any():
            raise TargetError("cross-entropy targets are probabilities (one-hot): found a negative entry")
        return np.ascontiguousarray(ys.reshape(T, n, B))

    def _initial(self, h0, B: int) -> list[np.ndarray]:  # noqa: N803
        states, size = self.cell.states, self.cell.size
        if h0 is None:
            return [np.zeros((size(s), B)) for s in states]
        if not isinstance(h0, Mapping):
            if len(states) != 1:
                raise InputError(f"cell {self.cell.name!r} has states {list(states)}: give h0 as a dict")
            h0 = {states[0]: h0}
        unknown = sorted(set(h0) - set(states), key=repr)
        if unknown:
            raise InputError(f"h0 names unknown states {unknown}; the cell's states are {list(states)}")
        out = []
        for s in states:
            n = size(s)
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

    def forward(self, params: ArrayMap, inputs, h0=None, *, max_steps: int = MAX_STEPS,
                max_elements: int = MAX_ELEMENTS) -> dict[str, np.ndarray]:
        """Every state ``h_0 .. h_T``: ``{state: (T+1, N, B) array}`` (``(T+1, N)`` for 2-D inputs; an output layer's
        state has its own size Q); size caps as in :meth:`loss_and_grads`."""
        self._size(inputs, max_steps, max_elements)
        p = self._params(params)
        xs, batched = self._inputs(inputs)
        B = xs.shape[2]
        states, _ = loop.run_forward(self.kernels, p, xs, self._initial(h0, B))
        out = dict(zip(self.cell.states, states, strict=True))
        return out if batched else {s: v[:, :, 0] for s, v in out.items()}

    def loss(self, params: ArrayMap, inputs, targets, h0=None, *, max_steps: int = MAX_STEPS,
             max_elements: int = MAX_ELEMENTS) -> float:
        """The loss summed over time and batch, times its factor (1/T when averaged over t; forward only); size caps
        as in :meth:`loss_and_grads`."""
        self._size(inputs, max_steps, max_elements)
        p = self._params(params)
        xs, batched = self._inputs(inputs)
        ys = self._targets(targets, xs.shape[0], xs.shape[2], batched)
        states, saved = loop.run_forward(self.kernels, p, xs, self._initial(h0, xs.shape[2]))
        return loop.total_loss(self.kernels, states, saved, ys)

    def loss_and_grads(self, params: ArrayMap, inputs, targets, h0=None, *, max_steps: int = MAX_STEPS,
                       max_elements: int = MAX_ELEMENTS) -> tuple[float, dict[str, np.ndarray]]:
        """The loss summed over time and batch (times its factor: 1/T for a loss averaged over t), and its gradient
        in every parameter (arrays of their shapes).

        ``params``: name -> array of the parameter's shape.  ``inputs``: (T, D, B), or (T, D) for one
        sequence.  ``targets``: for cross-entropy integer classes (T, B) (0-based) or one-hot (T, Q, B); for squared
        error (T, Q, B), Q the output's size; drop the B axis for (T, D) inputs.  ``h0``: None (zeros), an array
        (N,), (N, 1) or (N, B), or a dict of them by state name.  Inputs over ``max_steps`` time steps
        (:data:`MAX_STEPS`, 10^5) or ``max_elements`` state entries T x B x N (:data:`MAX_ELEMENTS`, 10^7) are
        refused before any work: :class:`InputTooLarge` (an :class:`InputError` and a
        :class:`~symrnn.core.budget.SizeLimit`) names the count and the limit.
        """
        self._size(inputs, max_steps, max_elements)
        p = self._params(params)
        xs, batched = self._inputs(inputs)
        T, _, B = xs.shape  # noqa: N806
        ys = self._targets(targets, T, B, batched)
        return loop.run_bptt(self.kernels, p, xs, ys, self._initial(h0, B))


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


def compile_bptt(cell: Cell, loss: Loss, *, hoist: bool = True) -> Compiled:
    """Derive BPTT for ``cell`` under ``loss`` and generate its kernels; ``hoist=False`` keeps every product in the
    loop over t (the per-step reference for the hoisted code).

    The cell's functions are vetted (:func:`symrnn.numeric.guard.vet`) before anything is derived, and every kernel
    again before its code is generated; a refused name is :class:`~symrnn.numeric.guard.UnsafeName`.
    """
    guard.vet(sp.Tuple(*cell.step().values()), symbols=False)  # symbols are renamed by codegen.kernel
    b = derive(cell, loss)
    check_matrix_level(b)
    kind = _loss_term(loss, cell.n_output)
    if loss.summed:
        return Compiled(b, kind, kernels.build(b, kind, hoist=hoist))
    # the kernels compute the loss summed over t; the loop multiplies by the factor (the recursion is linear in it)
    coeff, power = scale_parts(loss.scale)
    unit = derive(cell, loss.unit())
    return Compiled(b, kind, kernels.build(unit, kind, hoist=hoist, scale=(int(coeff.p), int(coeff.q), power)))


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
