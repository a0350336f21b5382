"""The zero test behind the BPTT proofs against SymPy's own route, on the same identities, in one run.

    python benchmarks/zerotest.py [N ...]        (default: 2 3 4)

For the softmax cell's one-step products (rho, dL/dU, dL/dW) at each N it times ``symrnn.core.zerotest.atoms_zero``
with python-flint and with SymPy's sparse polynomials, and SymPy's expression route: the same atom substitution,
then ``together`` and ``expand`` of the numerator. It prints the times and the ratios.
"""

from __future__ import annotations

import random
import sys
import time

import sympy as sp

from symrnn.autodiff import bptt
from symrnn.core import zerotest
from symrnn.core.verify import differences
from symrnn.models import cells, losses


def sympy_route(diffs: list[sp.Expr]) -> bool:
    """What the zero test replaces: atoms as symbols, then ``together`` and ``expand`` on expression trees."""
    mapping = zerotest.atom_symbols(zerotest._atoms_and_nesting(diffs), canonical=False)
    return all(sp.expand(sp.fraction(sp.together(d.xreplace(mapping)))[0]) == 0 for d in diffs)


def timed(fn, diffs) -> tuple[float, bool]:
    start = time.perf_counter()
    ok = fn(diffs)
    return time.perf_counter() - start, ok


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or [2, 3, 4]
    flint_polys = zerotest._polynomials
    print(f"{'N':>3} {'flint':>9} {'sympy rings':>12} {'together/expand':>16} {'ratio':>7}")
    for n in sizes:
        b = bptt.derive(cells.rnn(n, n + 1), losses.cross_entropy())
        diffs = [e for _, d, r in bptt.local_identities(b, random.Random(0)) for e in differences(d, r)]
        fast, ok1 = timed(zerotest.atoms_zero, diffs)
        zerotest._polynomials = zerotest._SymPyPolys
        try:
            rings, ok2 = timed(zerotest.atoms_zero, diffs)
        finally:
            zerotest._polynomials = flint_polys
        slow, ok3 = timed(sympy_route, diffs)
        assert ok1 and ok2 and ok3, "every route must prove the identities"
        print(f"{n:>3} {fast:>8.2f}s {rings:>11.2f}s {slow:>15.2f}s {slow / fast:>6.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
