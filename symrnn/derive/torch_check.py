"""The generated code against torch autograd of the same equations: a peer library differentiating the cell as read.

The cell's step (the user's equations, intermediates substituted) and its loss are evaluated on float64 tensors by
the one reference evaluator (:func:`symrnn.autodiff.bptt.loss_value` in ``"torch"`` mode: every operation of the
table evaluated by torch), and ``torch.autograd`` differentiates that forward pass.  Nothing of symrnn's derivation
enters: the gradients of ``NAME_bptt.py`` are compared with autograd's.  torch is a test extra, never a runtime
dependency: without it the check is not offered (:func:`available`).
"""

from __future__ import annotations

import importlib.util
import random

import numpy as np

from symrnn.core.derivation import Evidence, Outcome
from symrnn.derive.checks import NUMERIC_BATCH, NUMERIC_STEPS, Spec

TOLERANCE = 1e-10  #: largest relative difference (float64: both sides round differently, through T steps)


def available() -> bool:
    """Whether torch can be imported (without importing it)."""
    return importlib.util.find_spec("torch") is not None


def autograd(cell, loss, params: dict, xs: np.ndarray, ys: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    """The loss and its gradients by torch autograd of the cell's forward pass (``xs`` (T, D, B); ``ys`` (T, Q, B)
    or integer classes (T, B)); the initial states are zero."""
    import torch

    from symrnn.autodiff import bptt

    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    rows = cell.current()[cell.output].shape[0]
    if ys.ndim == 2:  # class indices: one-hot columns
        ys = np.stack([np.eye(int(rows))[:, y] for y in ys])
    txs = [torch.tensor(x, dtype=torch.float64) for x in xs]
    tys = [torch.tensor(y, dtype=torch.float64) for y in ys]
    batch = xs.shape[2]
    h0 = {s: torch.zeros((int(cell.current()[s].shape[0]), batch), dtype=torch.float64) for s in cell.states}
    value = bptt.loss_value(cell, loss, tensors, txs, tys, h0, mode="torch")
    grads = torch.autograd.grad(value, list(tensors.values()), allow_unused=True)
    return float(value.detach()), {k: (g.numpy() if g is not None else np.zeros_like(params[k]))
                          for k, g in zip(tensors, grads)}


def check(spec: Spec, rng: random.Random) -> Outcome:
    """``NAME_bptt.py``'s loss and gradients against torch autograd of the same equations, on one random batch."""
    from symrnn.derive import standalone
    from symrnn.numeric.threeway import numeric_case

    made = standalone.build(spec)
    module = standalone.load(made.source, spec.name)
    cell, loss = made.compiled.cell, made.compiled.bptt.loss
    params, xs, ys = numeric_case(cell, loss, NUMERIC_STEPS, NUMERIC_BATCH, rng.randint(0, 10**6))
    value, grads = module.loss_and_grads(params, xs, ys)
    want, want_grads = autograd(cell, loss, params, xs, ys)
    worst = max([abs(value - want) / max(1.0, abs(want))]
                + [float(np.max(np.abs(grads[k] - g) / np.maximum(1.0, np.abs(g)))) for k, g in want_grads.items()])
    return Outcome(worst <= TOLERANCE, Evidence.NUMERIC,
                   f"$N = {cell.n_state}$, $D = {cell.n_input}$, $T = {NUMERIC_STEPS}$, batch {NUMERIC_BATCH}: "
                   f"`{spec.name}_bptt.py` against torch autograd of the equations as read (torch float64): largest "
                   f"relative difference {worst:.1e} over the loss and {len(want_grads)} gradients "
                   f"(tolerance {TOLERANCE:.0e})")
