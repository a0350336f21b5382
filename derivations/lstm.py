"""Teaching aid: the lecture's LSTM gate by gate on a small example, then how it forgets compared with an RNN.

Run it as it is:  python derivations/lstm.py [T]
T is the number of steps of the example (default 4, at most 50).  The example's cell has N = 2 entries and
small fixed weights; the forgetting comparison is the one drawn in the document's figure.
Source: Mark Hasegawa-Johnson, "Lecture 25: Recurrent Neural Networks", CC-BY 4.0.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import symrnn  # noqa: F401
except ImportError:  # running from a clone without installing: use the package next to this folder
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from symrnn.latex.printer import latex
from symrnn.lecture25.lstm import figures
from symrnn.models import lstm

#: The example's weights: the forget gate listens to the first input, the input gate to the second.
WEIGHTS = {
    "U_f": [[0.1, 0.0], [0.0, 0.1]], "W_f": [[3.0, 0.0], [3.0, 0.0]],
    "U_i": [[0.0, 0.1], [0.1, 0.0]], "W_i": [[0.0, 3.0], [0.0, 3.0]],
    "U_o": [[0.2, 0.0], [0.0, 0.2]], "W_o": [[0.5, 0.5], [0.5, 0.5]],
}


def inputs(steps: int) -> np.ndarray:
    """x_t = [1, 0] (keep: the forget gate opens) except [0, 1] (write) at t = 1, 5, 9, ...; in the second
    half of the sequence the first entry is -1 (forget: the forget gate closes)."""
    xs = np.zeros((steps, 2))
    for t in range(steps):
        keep = -1.0 if t >= max(2, steps // 2) else 1.0
        xs[t] = [0.0, 1.0] if t % 4 == 0 else [keep, 0.0]
    return xs


def fmt(v) -> str:
    return "[" + ", ".join(f"{x:7.4f}" for x in np.ravel(v)) + "]"


def main(argv: list[str]) -> int:
    try:
        steps = int(argv[0]) if argv else 4
    except ValueError:
        print(f"T must be a whole number, got {argv[0]!r}", file=sys.stderr)
        return 2
    if not 1 <= steps <= 50:
        print(f"T must be between 1 and 50, got {steps}", file=sys.stderr)
        return 2
    print("The lecture's LSTM, as symrnn writes it:")
    for eq in lstm.lecture_equations().values():
        print("   ", latex(eq))
    cell = lstm.lecture_lstm(2)
    params = {name: np.array(w) for name, w in WEIGHTS.items()}
    xs = inputs(steps)
    rows = lstm.trace(cell, params, xs)
    print(f"\nN = 2, h_0 = c_0 = 0, {steps} steps:")
    for t, (x, row) in enumerate(zip(xs, rows, strict=True), start=1):
        print(f"t={t:2d}  x={fmt(x)}  f={fmt(row['f'])}  i={fmt(row['i'])}  o={fmt(row['o'])}")
        print(f"      c={fmt(row['c'])}  h={fmt(row['h'])}")
    closed = lstm.cell_closed_form([r["f"] for r in rows], [r["i"] for r in rows], list(xs), np.zeros(2))
    err = float(np.max(np.abs(closed[-1] - rows[-1]["c"])))
    print(f"c_{steps} from the closed form sum_k (prod_(j>k) f_j) i_k x_k: {fmt(closed[-1])} "
          f"(differs from the run by {err:.1e})")

    data = figures.forgetting_data()
    lo1, hi1 = data["f near 1"]
    lo0, hi0 = data["f near 0"]
    print("\nHow much of step 1's contents is left at step t (the document's figure):")
    print(f"{'t':>4}  {'RNN, U = 1/2':>14}  {'LSTM, f near 1':>16}  {'LSTM, f near 0':>16}")
    for t in (1, 2, 5, 10, 20, 30):
        print(f"{t:4d}  {data['rnn'][t - 1]:14.3e}  {data['lstm near 1'][t - 1]:16.3e}  "
              f"{data['lstm near 0'][t - 1]:16.3e}")
    print(f"(forget gates between {lo1:.3f} and {hi1:.3f}, and between {lo0:.3f} and {hi0:.3f})")
    print("\n||dL/dh_1|| when only step T has an error (BPTT):")
    print(f"{'T':>4}  {'RNN, U = 1/2':>14}  {'LSTM, f near 1':>16}  {'LSTM, f near 0':>16}")
    grads = data["grads"]
    for t in (1, 2, 5, 10, 20, 30):
        print(f"{t:4d}  {grads['rnn'][t - 1]:14.3e}  {grads['lstm near 1'][t - 1]:16.3e}  "
              f"{grads['lstm near 0'][t - 1]:16.3e}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
