"""The loop over t around a cell's generated kernels: the one text that :func:`~symrnn.autodiff.training.compile_bptt`
runs and that ``symrnn derive`` copies, function by function (:data:`FUNCTIONS`), into ``NAME_bptt.py``.

The functions use nothing but NumPy (imported as ``numpy``) and ``k``, the generated code (:class:`Generated`):
:class:`~symrnn.autodiff.kernels.Kernels` here, the standalone module's own ``Generated`` class there.

Inside the loop, arrays over time are indexed time first, ``(T, n, B)`` (a state ``(T+1, n, B)``, index 0 for
t = 0).  Around it they are *folded*, ``(n, T*B)``, the B columns of step t at ``t*B .. (t+1)*B``: ``W x_t`` for
every t is then one product ``W X`` before the loop, and ``sum_t a_t b_t^T`` over the batch and the steps one
product ``A B^T`` after it (the forms :mod:`symrnn.autodiff.hoisting` finds in the step).  What a hoisted product
reads or writes (the states, the stored factors ``a_t``, the input-only parts) is laid out folded in memory and
indexed time first through a view (:func:`folded_buffer`, :func:`unfold`), so the only copies are of the inputs
and the saved intermediates; the per-step kernels read strided ``(n, B)`` blocks, which BLAS takes as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy


class Generated(Protocol):
    """What the loop reads: the kernels, and the layout of their arguments and results."""

    params: tuple[str, ...]  # parameter names, in the kernels' argument order
    states: tuple[str, ...]
    output: str  # the state the loss reads
    log_output: bool  # the forward kernel also returns ln h_t, last (a softmax under cross-entropy)
    n_saved: int  # forward intermediates handed to the backward kernel (ln h_t not counted)
    n_deltas: int  # per-step factors the backward kernel returns, stored for after the loop
    step_grads: tuple[str, ...]  # parameters whose contributions the backward kernel returns, accumulated per step
    after_grads: tuple[str, ...]  # parameters whose contributions the after kernel returns
    after_args: tuple[tuple[str, int], ...]  # the after kernel's arrays: (x|y|previous|current|saved|delta, index)
    inputs_kernel: Callable | None  # (*params, X) -> the input-only parts of the step for all t (None: none)
    forward_kernel: Callable  # (*params, *states_{t-1}, x_t, *inputs_t) -> *states_t, *saved_t[, ln h_t]
    loss_kernel: Callable  # (h_t, y_t[, ln h_t]) -> the loss at t summed over the batch
    backward_kernel: Callable  # (*params, *states_{t-1}, x_t, *states_t, y_t, *rho_t, *saved_t[, ln h_t])
    #                            -> *rho_{t-1}, *deltas_t, *step contributions, the loss at t (over the batch)
    after_kernel: Callable | None  # (*params, *arrays of after_args) -> the contributions summed over t
    scale: tuple[int, int, int]  # the loss's factor c T^k as (numerator of c, denominator of c, k): (1, 1, 0) summed


def fold(a: numpy.ndarray) -> numpy.ndarray:
    """``(T, n, B) -> (n, T*B)``: the columns of step t at ``t*B .. (t+1)*B`` (a copy, unless laid out folded)."""
    steps, rows, batch = a.shape
    return a.transpose(1, 0, 2).reshape(rows, steps * batch)


def unfold(a: numpy.ndarray, steps: int) -> numpy.ndarray:
    """``(n, T*B) -> (T, n, B)``, a view (step t's columns, strided); a column ``(n, 1)`` is the same at every step."""
    rows, width = numpy.shape(a)
    if width == 1:
        return numpy.broadcast_to(a, (steps, rows, 1))
    return numpy.reshape(a, (rows, steps, width // steps)).transpose(1, 0, 2)


def folded_buffer(steps: int, shape: tuple) -> numpy.ndarray:
    """An empty ``(T, n, B)`` array laid out folded, ``(n, T, B)`` in memory: written a step at a time in the loop,
    read after it by :func:`fold` as the ``(n, T*B)`` operand of one product, with no copy."""
    return numpy.empty((shape[0], steps) + tuple(shape[1:])).transpose(1, 0, 2)


def run_forward(k: Generated, p: list, xs: numpy.ndarray, h0: list,
                x: numpy.ndarray | None = None) -> tuple[list, list]:
    """Every state h_0 .. h_T as a ``(T+1, n, B)`` array and the saved intermediates (with ln h_t) as ``(T, n, B)``:
    step t is one contiguous block.  ``xs`` is ``(T, D, B)``; ``x``, the inputs folded, if already made."""
    steps = xs.shape[0]
    inputs = []
    if k.inputs_kernel is not None:  # the input-only parts of the step, for every t at once: one product each
        inputs = [unfold(v, steps) for v in k.inputs_kernel(*p, fold(xs) if x is None else x)]
    states = [folded_buffer(steps + 1, numpy.shape(v)) for v in h0]
    for state, v in zip(states, h0):
        state[0] = v
    saved = []
    for t in range(steps):
        out = k.forward_kernel(*p, *(s[t] for s in states), xs[t], *(v[t] for v in inputs))
        for state, v in zip(states, out):
            state[t + 1] = v
        if t == 0:
            saved = [numpy.empty((steps,) + numpy.shape(v)) for v in out[len(states):]]
        for buffer, v in zip(saved, out[len(states):]):
            buffer[t] = v
    return states, saved


def loss_factor(k: Generated, steps: int) -> float:
    """The loss's factor at T = ``steps``: 1 for a loss summed over t, 1/T for one averaged over t."""
    numerator, denominator, power = k.scale
    return numerator / denominator * float(steps) ** power


def total_loss(k: Generated, states: list, saved: list, ys: numpy.ndarray) -> float:
    """The loss summed over the batch and then over t, in time order, times the loss's factor."""
    steps = ys.shape[0]
    h = states[k.states.index(k.output)]
    terms = []
    for t in range(steps):
        log = (saved[-1][t],) if k.log_output else ()
        terms.append(float(k.loss_kernel(h[t + 1], ys[t], *log).sum()))
    return sum(terms) * loss_factor(k, steps)


def run_bptt(k: Generated, p: list, xs: numpy.ndarray, ys: numpy.ndarray, h0: list) -> tuple[float, dict]:
    """The loss and ``{parameter: gradient}``: forward, then backward from t = T to 1, then the hoisted sums.  The
    kernels are those of the loss summed over t; a loss with a factor (1/T: averaged over t) multiplies the sums
    by it at the end (the recursion is linear in the error it starts from)."""
    steps, _, batch = xs.shape
    x = fold(xs)
    states, saved = run_forward(k, p, xs, h0, x)
    count = len(states)
    grads = {name: numpy.zeros_like(v) for name, v in zip(k.params, p)}
    rhos = [numpy.zeros((s.shape[1], batch)) for s in states]
    deltas = [numpy.empty((0, 0, 0))] * k.n_deltas
    terms = [0.0] * steps
    for t in range(steps - 1, -1, -1):
        out = k.backward_kernel(*p, *(s[t] for s in states), xs[t], *(s[t + 1] for s in states), ys[t],
                                *rhos, *(v[t] for v in saved))
        rhos = out[:count]
        if t == steps - 1:
            deltas = [folded_buffer(steps, numpy.shape(v)) for v in out[count:count + k.n_deltas]]
        for buffer, v in zip(deltas, out[count:count + k.n_deltas]):
            buffer[t] = v
        for name, g in zip(k.step_grads, out[count + k.n_deltas:-1]):
            accumulate(grads[name], g)
        terms[t] = float(out[-1].sum())
    if k.after_kernel is not None:  # every sum over t of a stored factor times a stored quantity: one product
        arrays, sums = after_arrays(k, x, ys, states, saved, deltas), {}
        for name, g in zip(k.after_grads, k.after_kernel(*p, *arrays)):
            accumulate(grads[name], g, sums)
    factor = loss_factor(k, steps)
    if factor != 1.0:
        for g in grads.values():
            g *= factor
    return sum(terms) * factor, grads


def after_arrays(k: Generated, x: numpy.ndarray, ys: numpy.ndarray, states: list, saved: list,
                 deltas: list) -> list:
    """The arrays the after kernel takes, as ``k.after_args`` names them, folded ``(n, T*B)``."""
    pick = {"x": lambda i: x, "y": lambda i: fold(ys), "previous": lambda i: fold(states[i][:-1]),
            "current": lambda i: fold(states[i][1:]), "saved": lambda i: fold(saved[i]),
            "delta": lambda i: fold(deltas[i])}
    return [pick[kind](i) for kind, i in k.after_args]


def accumulate(total: numpy.ndarray, part, sums: dict | None = None) -> None:
    """``total += part``; a part with a column per batch item (a bias's) is summed over its columns first, once for
    a part that several parameters share (the two biases of one sum) when they pass the same ``sums``."""
    if numpy.shape(part) != total.shape:
        sums = {} if sums is None else sums
        if id(part) not in sums:  # the parts are alive until the last is added: an id is never reused meanwhile
            sums[id(part)] = numpy.sum(part, axis=1, keepdims=True)
        part = sums[id(part)]
    total += part


#: The functions the standalone module copies, in order.
FUNCTIONS = (fold, unfold, folded_buffer, run_forward, loss_factor, total_loss, run_bptt, after_arrays, accumulate)
