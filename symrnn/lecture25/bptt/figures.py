"""Section ``bptt``'s figure: the gradient of a linear RNN shrinks or grows with its recurrent matrix's spectral
radius."""

from __future__ import annotations

import numpy as np


def forgetting_figure() -> object:
    """Size of dL/dh_t against t for spectral radius 0.5, 1 and 1.5 (a matplotlib Figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    n, steps = 8, 40
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for radius in (0.5, 1.0, 1.5):
        U = radius * q  # noqa: N806 - every eigenvalue has modulus `radius`
        delta = rng.standard_normal((n, 1))
        norms = []
        for _ in range(steps):  # dL/dh_t = U^T dL/dh_{t+1} for the linear RNN with the loss at the last step
            norms.append(np.linalg.norm(delta))
            delta = U.T @ delta
        ax.semilogy(range(steps, 0, -1), norms, label=f"spectral radius {radius}")
    ax.set_xlabel("t (loss at t = 40)")
    ax.set_ylabel(r"$\|d\mathfrak{L}/d\vec{h}_t\|$")
    ax.legend()
    return fig
