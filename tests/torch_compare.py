"""Helpers shared by the PyTorch cross-checks: a normwise relative comparison and the (T, n, B) <-> (T, B, n)
layout conversions.  Importing this module skips the importing test module when torch is not installed."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

RTOL = 1e-10


def assert_relative(actual, expected, what: str) -> None:
    """``max|actual - expected| / max|expected| <= RTOL``, per array, naming ``what`` on failure."""
    actual = np.asarray(actual, dtype=float)
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    err = np.abs(actual - expected).max() / max(np.abs(expected).max(), 1e-300)
    assert err <= RTOL, f"{what}: relative difference {err:.2e}"


def to_torch(columns: np.ndarray) -> torch.Tensor:
    """(T, n, B) columns -> torch's (T, B, n)."""
    return torch.from_numpy(np.ascontiguousarray(columns.transpose(0, 2, 1)))


def columns(t: torch.Tensor) -> np.ndarray:
    """torch's (..., B, n) -> (..., n, B)."""
    return np.swapaxes(t.detach().numpy(), -1, -2)
