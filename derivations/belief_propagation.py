"""Teaching aid: belief propagation, Viterbi and log belief propagation on a small HMM, then every checked step.

Run it as it is:  python derivations/belief_propagation.py [observations...]
Observations are 1-based symbol indices (default: 1 3 2 2).  Source: Mark Hasegawa-Johnson, "Lecture 25:
Recurrent Neural Networks", CC-BY 4.0.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import symrnn  # noqa: F401
except ImportError:  # running from a clone without installing: use the package next to this folder
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sympy as sp

from symrnn.core.cache import ProofCache, default_folder
from symrnn.core.schedule import verify_all
from symrnn.core.verify import statement_latex
from symrnn.latex.printer import latex
from symrnn.lecture25.hmm import steps as section
from symrnn.models import belief_propagation, log_forward, viterbi
from symrnn.models.hmm import HMM
from symrnn.notation import factored


def example() -> HMM:
    """Two states that tend to persist, three observation symbols; exact rational entries."""
    U = sp.Matrix([[sp.Rational(9, 10), sp.Rational(2, 10)], [sp.Rational(1, 10), sp.Rational(8, 10)]])  # noqa: N806
    W = sp.Matrix([[sp.Rational(6, 10), sp.Rational(3, 10), sp.Rational(1, 10)],  # noqa: N806
                   [sp.Rational(1, 10), sp.Rational(2, 10), sp.Rational(7, 10)]])
    return HMM(U, W, sp.Matrix([sp.Rational(1, 2), sp.Rational(1, 2)]))


def main(argv: list[str]) -> int:
    try:
        xs = [int(a) for a in argv] or [1, 3, 2, 2]
    except ValueError:
        print(f"observations must be 1-based integers, got {' '.join(argv)}", file=sys.stderr)
        return 2
    model = example()
    try:
        xs = model.encode(xs)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    print("U =", latex(factored(model.U)), "   W =", latex(factored(model.W)))
    print(f"observations x = {xs}\n")
    for t, h in enumerate(belief_propagation.forward(model, xs), start=1):
        print(f"h_{t} = {list(h)}  ~ {[round(float(v), 5) for v in h]}")
    total = belief_propagation.likelihood(model, xs)
    print(f"P(X_1..X_T) = {total} ~ {float(total):.6g}; log-domain forward: "
          f"ln P = {log_forward.log_likelihood(model, xs):.12g} (exact {float(sp.log(total)):.12g})")
    best = viterbi.viterbi(model, xs)
    print(f"Viterbi path {best.path} with probability {best.probability} ~ {float(best.probability):.6g}\n")

    failed = 0
    derivation = section.derivation()
    results = verify_all([derivation], cache=ProofCache(default_folder()))  # a second run reads the verdicts back
    for n, (step, result) in enumerate(zip(derivation.steps, results, strict=True), start=1):
        failed += not result.passed
        print(f"{n:2d}. {step.title}\n    {statement_latex(step)}\n    "
              f"[{result.evidence}] {'passed' if result.passed else 'FAILED'}: {result.detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
