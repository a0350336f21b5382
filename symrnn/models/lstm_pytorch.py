"""PyTorch's LSTM (``torch.nn.LSTM``, one layer) in symrnn's terms: its packed tensors in and out of the parameters
of :func:`symrnn.models.lstm.standard_lstm`, and its documented forward pass written in NumPy.

PyTorch stacks the gates in the order i, f, g, o: ``weight_ih_l0 = [W_i; W_f; W_g; W_o]`` (4H x D),
``weight_hh_l0 = [U_i; U_f; U_g; U_o]`` (4H x H), ``bias_ih_l0 = [b_ii; b_if; b_ig; b_io]`` and ``bias_hh_l0`` likewise.
The forward pass is an independent reference for the symbolic cell; torch itself is needed only by
:func:`to_torch_lstm` (and accepted, not required, by :func:`unpack` and :func:`from_torch_lstm`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from symrnn.models.lstm import TORCH_GATES

TORCH_TENSORS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


# ---- packed tensors -------------------------------------------------------------------------------------------------


def unpack(weight_ih: object, weight_hh: object, bias_ih: object = None,
           bias_hh: object = None) -> dict[str, np.ndarray]:
    """symrnn's parameters of :func:`standard_lstm` from PyTorch's packed arrays (float64 copies).

    ``weight_ih`` is ``[W_i; W_f; W_g; W_o]`` (4H x D), ``weight_hh`` is ``[U_i; U_f; U_g; U_o]`` (4H x H), the
    biases ``[b_ii; b_if; b_ig; b_io]`` and ``[b_hi; b_hf; b_hg; b_ho]`` (4H each; zeros when absent).
    """
    w_ih, w_hh = _array(weight_ih, "weight_ih"), _array(weight_hh, "weight_hh")
    if w_ih.ndim != 2 or w_hh.ndim != 2 or w_ih.shape[0] % 4 or w_hh.shape != (w_ih.shape[0], w_ih.shape[0] // 4):
        raise ValueError(f"weight_ih must be (4H, D) and weight_hh (4H, H); got {w_ih.shape} and {w_hh.shape}")
    H = w_hh.shape[1]  # noqa: N806
    b_ih = np.zeros(4 * H) if bias_ih is None else _array(bias_ih, "bias_ih")
    b_hh = np.zeros(4 * H) if bias_hh is None else _array(bias_hh, "bias_hh")
    for name, b in (("bias_ih", b_ih), ("bias_hh", b_hh)):
        if b.shape != (4 * H,):
            raise ValueError(f"{name} must have 4H = {4 * H} entries, got shape {b.shape}")
    out = {}
    for k, g in enumerate(TORCH_GATES):
        rows = slice(k * H, (k + 1) * H)
        out[f"W_{g}"] = w_ih[rows].copy()
        out[f"U_{g}"] = w_hh[rows].copy()
        out[f"b_i{g}"] = b_ih[rows][:, None].copy()
        out[f"b_h{g}"] = b_hh[rows][:, None].copy()
    return out


def pack(params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """PyTorch's packed arrays (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``) from
    symrnn's parameters of :func:`standard_lstm`: the inverse of :func:`unpack`."""
    missing = [f"{m}{g}" for g in TORCH_GATES for m in ("W_", "U_", "b_i", "b_h") if f"{m}{g}" not in params]
    if missing:
        raise ValueError(f"missing parameters {missing}")
    return {
        "weight_ih_l0": np.vstack([_array(params[f"W_{g}"], f"W_{g}") for g in TORCH_GATES]),
        "weight_hh_l0": np.vstack([_array(params[f"U_{g}"], f"U_{g}") for g in TORCH_GATES]),
        "bias_ih_l0": np.concatenate([_array(params[f"b_i{g}"], f"b_i{g}").ravel() for g in TORCH_GATES]),
        "bias_hh_l0": np.concatenate([_array(params[f"b_h{g}"], f"b_h{g}").ravel() for g in TORCH_GATES]),
    }


def _array(value, name: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().double().numpy()
    arr = np.array(value, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} has non-finite entries")
    return arr


def _check_module(module) -> None:
    if module.num_layers != 1 or module.bidirectional or getattr(module, "proj_size", 0):
        raise ValueError("only a single-layer, unidirectional torch.nn.LSTM without projections can be converted")


def from_torch_lstm(module: object) -> dict[str, np.ndarray]:
    """Parameters of :func:`standard_lstm` from a ``torch.nn.LSTM`` (float64 NumPy arrays)."""
    _check_module(module)
    bias = bool(module.bias)
    return unpack(module.weight_ih_l0, module.weight_hh_l0,
                  module.bias_ih_l0 if bias else None, module.bias_hh_l0 if bias else None)


def to_torch_lstm(params: Mapping[str, np.ndarray], module: object = None) -> object:
    """Write symrnn's parameters into a ``torch.nn.LSTM`` (a new float64 one unless ``module`` is given)."""
    import torch

    packed = pack(params)
    H, D_ = packed["weight_hh_l0"].shape[1], packed["weight_ih_l0"].shape[1]  # noqa: N806
    if module is None:
        module = torch.nn.LSTM(D_, H, dtype=torch.float64)
    _check_module(module)
    if (module.hidden_size, module.input_size) != (H, D_):
        raise ValueError(f"the module is LSTM({module.input_size}, {module.hidden_size}); the parameters are for "
                         f"LSTM({D_}, {H})")
    names = TORCH_TENSORS if module.bias else TORCH_TENSORS[:2]
    if not module.bias and (packed["bias_ih_l0"].any() or packed["bias_hh_l0"].any()):
        raise ValueError("the module has no biases but the parameters have nonzero ones")
    with torch.no_grad():
        for name in names:
            target = getattr(module, name)
            target.copy_(torch.as_tensor(packed[name], dtype=target.dtype))
    return module


# ---- the documented forward pass ------------------------------------------------------------------------------------


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def documented_forward(packed: Mapping[str, np.ndarray], xs: np.ndarray, h: np.ndarray,
                       c: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """PyTorch's documented LSTM on its packed arrays, in NumPy: ``(h_t, c_t)`` for each input of ``xs`` (T, D).

    Written from the formulas in ``torch.nn.LSTM``'s documentation (gate order i, f, g, o), independently of the
    symbolic cell, so that the two can be compared.
    """
    H = h.shape[0]  # noqa: N806
    out = []
    for x in xs:
        z = packed["weight_ih_l0"] @ x + packed["bias_ih_l0"] + packed["weight_hh_l0"] @ h + packed["bias_hh_l0"]
        ig, fg, gg, og = (z[q * H:(q + 1) * H] for q in range(4))
        c = _sigmoid(fg) * c + _sigmoid(ig) * np.tanh(gg)
        h = _sigmoid(og) * np.tanh(c)
        out.append((h, c))
    return out
