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


from symrnn.autodiff import bptt
from symrnn.latex.printer import latex
from symrnn.models import cells, losses
from symrnn.numeric.threeway import three_way

CELLS = {"rnn": (lambda: cells.rnn(2, 3), losses.cross_entropy()),
         "elman": (lambda: cells.elman(2, 2), losses.squared_error()),
         "gru": (lambda: cells.gru(2, 2), losses.squared_error())}


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
    cell = make()
    b = bptt.derive(cell, loss)
    print(f"Cell {cell.name}, loss {loss.name}.  One step:")
    for s, expr in b.step.items():
        print(f"  {s}_t = {latex(expr)}")
    print("\nThe unrolled graph (a very deep network whose layers share the weights):")
    print("  h_0 -> " + " -> ".join(f"[F(., x_{k})] -> h_{k}" for k in range(1, steps + 1)) + " -> L")
    print("\nBPTT, derived (delta_t = dL/dh_t, rho_t its part through h_{t+1}):")
    for s in cell.states:
        print(f"  delta_t = {latex(b.seed[s])}")
        print(f"  rho_(t-1) = {latex(b.recurrent[s])}")
    for p, expr in b.param_grads.items():
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
