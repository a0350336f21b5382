"""Section ``lstm``'s figure: how much of step 1 survives, and how much gradient reaches h_1, for the RNN with
U = 1/2 and for the lecture's LSTM with forget gates near 1 and near 0."""

from __future__ import annotations

import numpy as np

from symrnn.autodiff import bptt
from symrnn.models import cells, losses, lstm

SQUARED = losses.squared_error()


def forgetting_data(steps: int = 30, seed: int = 0) -> dict:
    """Survival of the step-1 contents and ||dL/dh_1|| (loss at step T only) for the RNN and two LSTMs."""
    rng = np.random.default_rng(seed)
    n = 2
    xs = rng.uniform(0.5, 1.5, size=(steps, n))
    cell = lstm.lecture_lstm(n)
    small = {p.name: 0.1 * rng.normal(size=(p.rows, p.cols)) for p in cell.params}
    small["W_i"] = small["W_i"] - 2.0 * np.eye(n)  # write a little at each step: the lecture's c_t is unbounded
    out: dict = {"t": np.arange(1, steps + 1), "rnn": 0.5 ** np.arange(steps)}
    setups = {}
    for label, sign in (("near 1", 1.0), ("near 0", -1.0)):
        params = dict(small, W_f=sign * 5.0 * np.eye(n) + small["W_f"])
        setups[label] = params
        rows = lstm.trace(cell, params, xs)
        f = np.array([r["f"][0] for r in rows])
        out[f"lstm {label}"] = np.concatenate([[1.0], np.cumprod(f[1:])])  # prod_{j=2..t} f_j
        out[f"f {label}"] = (float(f.min()), float(f.max()))
    b_lstm = bptt.derive(cell, SQUARED)
    b_rnn = bptt.derive(cells.rnn(n, n, "identity"), SQUARED)
    rnn_params = {"U": 0.5 * np.eye(n), "W": np.eye(n)}
    zeros = {"h": np.zeros((n, 1)), "c": np.zeros((n, 1))}
    seq = [x[:, None] for x in xs]
    models = {"rnn": (b_rnn, rnn_params, {"h": zeros["h"]})}
    models.update({f"lstm {label}": (b_lstm, params, zeros) for label, params in setups.items()})
    # the engine's own forward pass, so that a zero error before step T is exactly zero
    states = {key: [st[b.cell.output] for st in bptt.run(b, params, seq, [zeros["h"]] * steps, h0,
                                                         mode="numpy").states[1:]]
              for key, (b, params, h0) in models.items()}
    grads: dict = {key: [] for key in models}
    for length in range(1, steps + 1):
        for key, (b, params, h0) in models.items():
            ys = list(states[key][:length])  # no error before step T ...
            ys[-1] = ys[-1] - 1.0  # ... and an error of one in every entry at step T
            run = bptt.run(b, params, seq[:length], ys, h0, mode="numpy", gradients=False)
            grads[key].append(float(np.linalg.norm(run.deltas[0]["h"])))
    out["grads"] = {key: np.array(v) for key, v in grads.items()}
    return out


def forgetting_figure() -> object:
    """The two panels of :func:`forgetting_data` (a matplotlib Figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = forgetting_data()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    ts = data["t"]
    ax1.semilogy(ts, data["rnn"], "k-", label=r"RNN, $U = 1/2$: $(1/2)^{t-1}$")
    for label, style in (("near 1", "b-"), ("near 0", "r-")):
        lo, hi = data[f"f {label}"]
        ax1.semilogy(ts, data[f"lstm {label}"], style,
                     label=rf"LSTM, $f_t$ in [{lo:.3f}, {hi:.3f}]: $f_2 f_3 \cdots f_t$")
    ax1.set_xlabel("t")
    ax1.set_ylabel("fraction of the step-1 contents left")
    ax1.set_ylim(1e-30, 2)
    ax1.legend(fontsize=8)
    ax2.semilogy(ts, data["grads"]["rnn"], "k-", label="RNN, U = 1/2, linear g")
    ax2.semilogy(ts, data["grads"]["lstm near 1"], "b-", label="LSTM, forget gates near 1")
    ax2.semilogy(ts, data["grads"]["lstm near 0"], "r-", label="LSTM, forget gates near 0")
    ax2.set_xlabel("T (loss at step T only)")
    ax2.set_ylabel(r"$\|d\mathfrak{L}/d\vec{h}_1\|$")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig
