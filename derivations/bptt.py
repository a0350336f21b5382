"""Teaching aid: back-propagation through time, derived, then checked three ways.

Run it as it is:  python derivations/bptt.py [rnn|elman|gru] [T]
Prints the unrolled graph for a small T, the BPTT recursion derived for the cell, its gradients on a small
example, and the three verifications with their verdicts.  Source: Mark Hasegawa-Johnson, "Lecture 25: Recurrent
Neural Networks", CC-BY 4.0.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

try:
    import symrnn  # noqa: F401
except ImportError:  # running from a clone without installing: use the package next to this folder
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


import sympy as sp

from symrnn.autodiff import bptt, readable
from symrnn.derive import read_cell
from symrnn.derive.shown import cell_text
from symrnn.latex.printer import latex
from symrnn.models import cells, losses
from symrnn.numeric.threeway import three_way

ELMAN = r"$$\vec{h}_t = \tanh(U\vec{h}_{t-1} + W\vec{x}_t + \vec{b})$$"
GRU = r"""
$$\vec{z}_t = \sigma(W_z\vec{x}_t + U_z\vec{h}_{t-1} + \vec{b}_z)$$
$$\vec{r}_t = \sigma(W_r\vec{x}_t + U_r\vec{h}_{t-1} + \vec{b}_r)$$
$$\vec{n}_t = \tanh(W_n\vec{x}_t + \vec{r}_t \odot (U_n\vec{h}_{t-1} + \vec{b}_n))$$
$$\vec{h}_t = (1 - \vec{z}_t) \odot \vec{n}_t + \vec{z}_t \odot \vec{h}_{t-1}$$
"""


def _written(text: str, name: str):
    """A cell written in LaTeX: the cell and its equations as written (gates named)."""
    return read_cell(text, name, n_state=2, n_input=2), cell_text(text, n_state=2, n_input=2).equations


CELLS = {"rnn": (lambda: (cells.rnn(2, 3), None), losses.cross_entropy()),
         "elman": (lambda: _written(ELMAN, "elman"), losses.squared_error()),
         "gru": (lambda: _written(GRU, "gru"), losses.squared_error())}


def main(argv: list[str]) -> int:
    name = argv[0] if argv else "rnn"
    if name not in CELLS:
        print(f"unknown cell {name!r}: choose one of {', '.join(CELLS)}", file=sys.stderr)
        return 2
    try:
        steps = int(argv[1]) if len(argv) > 1 else 3
    except ValueError:
        print(f"T must be a whole number, got {argv[1]!r}", file=sys.stderr)
        return 2
    if not 1 <= steps <= 6:
        print("T must be between 1 and 6 for this script (the unrolled graph is printed)", file=sys.stderr)
        return 2
    make, loss = CELLS[name]
    cell, equations = make()
    b = bptt.derive(cell, loss)
    print(f"Cell {cell.name}, loss {loss.name}.  One step:")
    for e in equations or readable.of_cell(b):
        print(f"  {latex(sp.Eq(e.lhs, e.rhs, evaluate=False))}")
    print("\nThe unrolled graph (a very deep network whose layers share the weights):")
    print("  h_0 -> " + " -> ".join(f"[F(., x_{k})] -> h_{k}" for k in range(1, steps + 1)) + " -> L")
    r = readable.readable(b, equations)
    print("\nBPTT, derived (rho_t: what reaches h_t through step t+1, 0 at t = T; each delta: the error at one\n"
          "quantity, at the argument of a function applied entrywise):")
    for e in r.errors:
        print(f"  {latex(e.equation)}")
    for s in cell.states:
        print(f"  rho_(t-1) = {latex(r.recurrent[s])}")
    for p, expr in r.grads.items():
        print(f"  dL/d{p} += {latex(expr)}")

    rng = random.Random(0)
    case = bptt.random_case(cell, loss, steps, rng)
    grads = bptt.gradient_at(b, case, digits=20)
    print(f"\nGradients on a random rational example (T={steps}):")
    for p, g in grads.items():
        print(f"  dL/d{p} = {[[float(v) for v in row] for row in g.tolist()]}")

    print("\nThree verifications:")
    labels = {"symbolic": ("proved", "FAILED"), "exact": ("passed", "FAILED"), "numeric": ("passed", "FAILED")}
    result = three_way(cell, loss, steps, exact_T=8)
    for part in result.parts:
        verdict = labels[part.kind][0 if part.passed else 1]
        if part.kind == "symbolic":
            print(f"  symbolic: {part.detail}: {verdict}")
        else:
            print(f"  {part.kind + ':':<9} {verdict}: {part.detail}")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
