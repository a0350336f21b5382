"""Teaching aid: the lecture's part-of-speech RNN, step by step, beside the exact answer it approximates.

Run it as it is:  python derivations/pos_tagging.py [WORD ...] [--g NAME]
Words come from the vocabulary [ball, hit, John, the] (default: John hit the ball); NAME is a nonlinearity from
symrnn's table (default: lecture, g(xi) = softmax(xi - 1)).  Every number is computed from the lecture's U and W.
Source: Mark Hasegawa-Johnson, "Lecture 25: Recurrent Neural Networks", CC-BY 4.0.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import symrnn  # noqa: F401
except ImportError:  # running from a clone without installing: use the package next to this folder
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from symrnn.latex.printer import latex
from symrnn.models import nonlinearities, pos_tagging
from symrnn.notation import decimal_text, factored


def plain(vector, places: int = 4) -> str:
    return "[" + ", ".join(decimal_text(v, places) for v in vector) + "]"


def parse(argv: list[str]) -> tuple[list[str], str]:
    words, g = [], "lecture"
    args = iter(argv)
    for arg in args:
        if arg == "--g":
            g = next(args, "")
        elif arg.startswith("--g="):
            g = arg.split("=", 1)[1]
        else:
            words.append(arg)
    return words or list(pos_tagging.SENTENCE), g


def main(argv: list[str]) -> int:
    words, name = parse(argv)
    try:
        g = nonlinearities.get(name)
        model = pos_tagging.hmm()
        steps = pos_tagging.worked_example(words, g, model, digits=50)  # 50 digits: any sentence length
        rows = pos_tagging.tag(words, g=g, model=model)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Sentence: {' '.join(words)}    nonlinearity: {g.description}")
    print(f"U = {latex(factored(model.U))}")
    print(f"W = {latex(factored(model.W))}")
    print(f"vocabulary {list(model.vocabulary)}, tags {list(model.states)}, h_0 = 0\n")
    for step in steps:
        print(f"t = {step.t}: x_{step.t} = one-hot({step.word!r}) = {list(step.x)}")
        print(f"  U h_{step.t - 1} + W x_{step.t} = {plain(step.preactivation)}")
        print(f"  h_{step.t} = g(U h_{step.t - 1} + W x_{step.t}) = {plain(step.h)}")
        print(f"  LaTeX: {latex(pos_tagging.worked_line(step, g, model, preactivation=True))}")
        if g.is_softmax:  # only a softmax's entries can be read as probabilities
            print(f"  reading: {latex(pos_tagging.reading(steps, step.t, model.states))}")
        print()
    if g.is_softmax:
        print("Exactly, in powers of e:")
        for form in pos_tagging.closed_forms(steps, g, model):
            defs = "".join(f", {latex(sym)} = {latex(expr)}" for sym, expr in form.definitions)
            print(f"  h_{form.t} = {latex(form.display())}{defs}")
        print()
    print("The RNN beside the exact filtering posterior P(Y_t | X_1..X_t) (belief propagation, uniform prior):")
    print(pos_tagging.table(rows, model.states))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
