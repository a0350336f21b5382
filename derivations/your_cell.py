"""Teaching aid: back-propagation through time for YOUR cell, written in LaTeX in a Markdown or LaTeX file.

Run it as it is:  python derivations/your_cell.py FILE [--loss squared|cross-entropy] [--n N] [--T T]
Reads the cell's equations (states are the quantities used at t-1; other quantities defined at t are
intermediates; every other name is a parameter, x_t the input), prints them back, then the recursion symrnn
derives for every state and every parameter's gradient, and checks them three ways: one step proved as algebra,
the whole gradient against a 50-digit directional derivative, the generated code against finite differences.
``symrnn derive FILE`` does the same and writes the document, the report and the training code.

Example file (an Elman cell):

    $$\\mathbf{h}_t = \\tanh(\\mathbf{W}_{hh}\\mathbf{h}_{t-1} + \\mathbf{W}_{hx}\\mathbf{x}_t + \\mathbf{b}_h)$$
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    import symrnn  # noqa: F401
except ImportError:  # running from a clone without installing: use the package next to this folder
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from symrnn import notation as nt
from symrnn.autodiff import bptt, readable
from symrnn.derive import CellError, read_cell
from symrnn.derive.checks import LOSSES, Spec
from symrnn.derive.command import SourceError, read_source
from symrnn.derive.shown import cell_text
from symrnn.latex.printer import latex
from symrnn.numeric.threeway import three_way


def _arguments(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="your_cell.py", description="BPTT for a cell written in LaTeX.")
    p.add_argument("file", help="a Markdown or LaTeX file with the cell's equations")
    p.add_argument("--loss", choices=list(LOSSES), default=None,
                   help="loss on the output when the file states none as an equation (default squared)")
    p.add_argument("--n", type=int, default=None, help="state size (default: declared, else 2)")
    p.add_argument("--T", dest="steps", type=int, default=4, help="sequence length of the checks, 1..16 (default 4)")
    args = p.parse_args(argv)
    if not 1 <= args.steps <= 16 or (args.n is not None and not 1 <= args.n <= 16):
        p.error("T and N must be between 1 and 16 for this script")
    return args


def main(argv: list[str]) -> int:
    t = nt.t
    args = _arguments(argv)
    try:
        text = read_source(args.file, 2_000_000)
        cell = read_cell(text, "cell", n_state=args.n)
        shown = cell_text(text, n_state=args.n)
        spec = Spec(text, "cell", loss=args.loss, n_state=args.n)
        loss, stated = spec.loss_object(), spec.stated_loss(text)
    except (SourceError, CellError) as exc:
        print(f"your_cell.py: {exc}", file=sys.stderr)
        return 2
    b = bptt.derive(cell, loss)
    where = f"the equation on line {stated.line}" if stated else ("--loss" if args.loss else "the default")
    print(f"Read from {args.file}: states {', '.join(cell.states)}; parameters "
          + ", ".join(f"{p.name} ({p.rows} x {p.cols})" for p in cell.params)
          + f"; loss {loss.name} on {cell.output}, from {where}.")
    style = shown.style  # printed as the file writes its quantities (\mathbf, h^{(t)}, ...)
    print("\nThe cell, as read (in the order computed):")
    for eq in shown.equations:
        print(f"  [line {eq.line}, {'state' if eq.state else 'intermediate'}]  {latex(eq.equation, style=style)}")
    r = readable.readable(b, shown.equations)
    print("\nBPTT, derived (rho: what reaches a state through step t+1, 0 at t = T; each delta: the error at one\n"
          "quantity, taken at the argument of a function applied entrywise):")
    for e in r.errors:
        print(f"  {latex(e.equation, style=style)}")
    for s in cell.states:
        print(f"  {latex(b.rho(s, t - 1), style=style)} = {latex(r.recurrent[s], style=style)}")
    print("\nEach parameter's gradient is a sum over t = 1..T of:")
    for name, expr in r.grads.items():
        print(f"  dL/d{name}: {latex(expr, style=style)}")

    print(f"\nThree verifications (T = {args.steps}):")
    result = three_way(cell, loss, args.steps)
    for part in result.parts:
        print(f"  {part.kind + ':':<9} {'passed' if part.passed else 'FAILED'}: {part.detail}")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
