"""The lecture's part-of-speech example: "John hit the ball", tagged by the RNN and, exactly, by belief propagation.

The model is the lecture's: vocabulary [ball, hit, John, the] (W has no out-of-vocabulary column), tags
[Det, Noun, Verb], ``U = 1/10 [[1,1,8],[8,1,1],[1,8,1]]`` and ``W = 1/100 [[1,1,1,97],[49,1,49,1],[1,97,1,1]]`` as
exact Rationals, ``h_0 = 0`` and ``g(xi) = softmax(xi - 1)``.  Every number shown is computed here from these
matrices; nothing is copied from the lecture's printed results.

The RNN approximates the HMM's filtering posterior ``P(Y_t | X_1, ..., X_t)``: belief propagation with the same U
and W, normalised at every t, starting from an initial distribution pi (uniform by default).  The RNN's ``h_0 = 0``
plays the part of a uniform pi: ``U h_0`` is then a constant vector, and softmax ignores a constant added to every
entry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import sympy as sp

from symrnn import notation as nt
from symrnn.models import belief_propagation
from symrnn.models.hmm import HMM, ModelError
from symrnn.models.nonlinearities import Nonlinearity, resolve
from symrnn.models.rnn import RNN, U_, W_

VOCABULARY = ("ball", "hit", "John", "the")
TAGS = ("Det", "Noun", "Verb")
SENTENCE = ("John", "hit", "the", "ball")
U = sp.ImmutableMatrix(sp.Rational(1, 10) * sp.Matrix([[1, 1, 8], [8, 1, 1], [1, 8, 1]]))
W = sp.ImmutableMatrix(sp.Rational(1, 100) * sp.Matrix([[1, 1, 1, 97], [49, 1, 49, 1], [1, 97, 1, 1]]))


class InputTooLong(ModelError):
    """More words than the tagger's budget allows."""


def uniform(n: int) -> sp.Matrix:
    """The uniform distribution over n states, as an exact column."""
    return sp.ones(n, 1) / n


def hmm(pi: sp.Matrix | None = None) -> HMM:
    """The example's HMM; ``pi`` (the initial distribution, exact or float) defaults to uniform."""
    return HMM(U, W, uniform(len(TAGS)) if pi is None else pi, states=TAGS, vocabulary=VOCABULARY)


_MAX_DIGITS = 60
_MAX_EXPONENT = 60
_PRIOR_ENTRY = re.compile(
    rf"^(?=.{{1,{_MAX_DIGITS}}}$)[+-]?(\d+\.?\d*|\.\d+)(?:[eE](?P<exp>[+-]?\d{{1,4}}))?(?:/\d+)?$")

#: The most words ``tag`` takes: exact belief propagation's fractions grow with every word (cost ~ T^2).
MAX_WORDS = 1000


def parse_prior(text: str, n: int = len(TAGS)) -> sp.Matrix:
    """A prior given as comma-separated fractions or decimals (``1/3,1/3,1/3``), read by ``fractions.Fraction``.

    Nothing is evaluated: each piece must be a number literal.
    """
    pieces = [piece.strip() for piece in text.split(",")]
    if len(pieces) != n:
        raise ModelError(f"prior {text!r} has {len(pieces)} entries; the model has {n} states")
    for piece in pieces:
        number = _PRIOR_ENTRY.match(piece)
        if not number or abs(int(number.group("exp") or 0)) > _MAX_EXPONENT:
            raise ModelError(f"prior entry {piece[:40]!r} is not a fraction or decimal of at most {_MAX_DIGITS} "
                             f"characters with an exponent of at most {_MAX_EXPONENT}; give {n} fractions such as "
                             "1/3,1/3,1/3")
    try:
        values = [Fraction(piece) for piece in pieces]
    except (ValueError, ZeroDivisionError) as exc:
        raise ModelError(f"prior {text!r}: {exc}; give {n} fractions such as 1/3,1/3,1/3") from None
    if len(values) != n:
        raise ModelError(f"prior {text!r} has {len(values)} entries; the model has {n} states")
    return sp.Matrix([sp.Rational(v.numerator, v.denominator) for v in values])


def network(g: Nonlinearity | str = "lecture", model: HMM | None = None) -> RNN:
    """The example's RNN (or one with another model's U and W), ``h_0 = 0``."""
    model = hmm() if model is None else model
    return RNN(model.U, model.W, g)


def filtering(model: HMM, xs: Sequence[int]) -> list[sp.Matrix]:
    """The exact filtering posterior ``P(Y_t | X_1..X_t)`` for t = 1..T: belief propagation, normalised."""
    return [h / sp.Add(*h) for h in belief_propagation.forward(model, xs)]


def argmax(values: Sequence) -> int:
    """Index of the largest value (0-based); ties (to 40 digits) go to the smallest index."""
    nums = [nt.numeric(v, 50) for v in values]
    best = 0
    for n in range(1, len(nums)):
        if nums[n] - nums[best] > sp.Float("1e-40", 50):
            best = n
    return best


# ---- the worked example ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkedStep:
    """One line of the worked example: ``h_t = g(U h_{t-1} + W x_t)`` with every intermediate value, exact."""

    t: int
    word: str
    k: int  # 1-based column of W
    x: sp.Matrix
    h_prev: sp.Matrix
    preactivation: sp.Matrix
    h: sp.Matrix


def worked_example(words: Sequence[str] = SENTENCE, g: Nonlinearity | str = "lecture",
                   model: HMM | None = None, digits: int | None = None) -> list[WorkedStep]:
    """Run the RNN over ``words``, keeping each step's intermediate vectors: exactly, or with each state
    rounded to ``digits`` significant digits (exact states nest ever deeper: use digits for long sentences)."""
    model = hmm() if model is None else model
    net = network(g, model)
    steps, h = [], sp.Matrix(net.h0)
    for t, (word, k) in enumerate(zip(words, model.encode(list(words)), strict=True), start=1):
        x = net.one_hot(k)
        pre = net.preactivation(h, x)
        new = net.g(pre) if digits is None else net.g(pre).evalf(digits)
        steps.append(WorkedStep(t, word, k, x, h, pre, new))
        h = new
    return steps


def worked_line(step: WorkedStep, g: Nonlinearity | str = "lecture", model: HMM | None = None,
                places: int = 2, preactivation: bool | None = None) -> nt.Chain:
    """``h_t = g(U h_{t-1} + W x_t) = g(U [h_{t-1}] + W [x_t]) = [h_t]`` in the lecture's layout, numbers rounded.

    As in the lecture, where ``h_{t-1} = 0`` the product ``U h_{t-1}`` is shown as the zero vector, followed by the
    pre-activation ``g([U h_{t-1} + W x_t])``; ``preactivation=True`` shows that value on every line.
    """
    model = hmm() if model is None else model
    g = resolve(g)
    name = g.display_name or g.name
    n = step.h.rows
    first_step = step.h_prev.is_zero_matrix
    symbolic = nt.Applied(name, U_ * nt.Vec("h", step.t - 1, nt.N) + W_ * nt.Vec("x", step.t, nt.V + 1))
    if first_step:
        carried = sp.ImmutableMatrix(sp.zeros(n, 1))
    else:
        carried = sp.MatMul(nt.factored(model.U), nt.rounded(step.h_prev, places), evaluate=False)
    numbers = nt.Applied(name, sp.MatAdd(carried, sp.MatMul(nt.factored(model.W), sp.ImmutableMatrix(step.x),
                                                            evaluate=False), evaluate=False))
    terms = [nt.Vec("h", step.t, nt.N), symbolic, numbers]
    if first_step if preactivation is None else preactivation:
        terms.append(nt.Applied(name, nt.rounded(step.preactivation, places)))
    terms.append(nt.rounded(step.h, places))
    return nt.Chain(terms, ["="] * (len(terms) - 1))


def reading(steps: Sequence[WorkedStep], t: int, states: Sequence[str] = TAGS, places: int = 2) -> nt.Approx:
    """The lecture's reading of ``h_t``: ``P(Y_t = tag | X_1 = w_1, ..., X_t = w_t) ~ max_j h_{j,t}``."""
    step = steps[t - 1]
    j = argmax(list(step.h))
    given = [nt.Is(nt.X(s.t), nt.Text(s.word)) for s in steps[:t]]
    return nt.Approx(nt.P([nt.Is(nt.Y(t), nt.Text(states[j]))], given), nt.Rounded(step.h[j], places))


@dataclass(frozen=True)
class ClosedForm:
    """``h_t`` in closed form: ``h = [e^{d_1}, ..., e^{d_N}] / sum_i e^{d_i}``, with new exponents named ``Delta``."""

    t: int
    exponents: tuple[sp.Expr, ...]  # d_j: 0, rationals, or symbols defined in ``definitions``
    definitions: tuple[tuple[sp.Symbol, sp.Expr], ...]  # Delta_t = expression in earlier Deltas

    @property
    def h(self) -> sp.Matrix:
        e = sp.Matrix([sp.exp(d) for d in self.exponents])
        return e / sp.Add(*e)

    def display(self) -> nt.ScaledMatrix:
        """``\\frac{1}{\\sum_i e^{d_i}} [e^{d_1}; ...]`` for printing."""
        e = sp.Matrix([sp.exp(d) for d in self.exponents])
        return nt.ScaledMatrix(1 / sp.Add(*e), e)


def closed_forms(steps: Sequence[WorkedStep], g: Nonlinearity | str = "lecture",
                 model: HMM | None = None) -> list[ClosedForm]:
    """Exact ``h_1..h_T`` in powers of e for a softmax-family g, each step's exponents named, never nested.

    Softmax ignores a constant added to every entry, so ``h_t = softmax(a - a_m)`` where ``a`` is the
    pre-activation and ``a_m`` its smallest entry: each exponent ``a_j - a_m`` is 0, a rational number, or a new
    symbol ``Delta_t`` defined in terms of the previous step's symbols.
    """
    g = resolve(g)
    if not g.is_softmax:
        raise ValueError(f"closed forms are for softmax-type nonlinearities, not {g.name}")
    model = hmm() if model is None else model
    out: list[ClosedForm] = []
    h = sp.zeros(model.N, 1)
    values: dict[sp.Symbol, sp.Float] = {}  # each Delta's value, to choose the smallest entry
    for step in steps:
        a = model.U * h + model.W * step.x
        m = min(range(a.rows), key=lambda j: (nt.numeric(a[j].xreplace(values), 50), j))
        diffs = [sp.cancel(sp.together(a[j] - a[m])) for j in range(a.rows)]
        named: dict[sp.Expr, sp.Symbol] = {}
        for d in diffs:
            if not d.is_Rational and d not in named:
                named[d] = sp.Symbol(f"Delta_{step.t}" + (f",{len(named) + 1}" if named else ""), real=True)
        if len(named) > 1:  # every symbol numbered once there is more than one
            named = {d: sp.Symbol(f"Delta_{step.t},{n}", real=True) for n, d in enumerate(named, start=1)}
        exponents = tuple(named.get(d, d) for d in diffs)
        form = ClosedForm(step.t, exponents, tuple((s, d) for d, s in named.items()))
        values.update({s: nt.numeric(d.xreplace(values), 60) for d, s in named.items()})
        out.append(form)
        h = form.h
    return out


def expand_closed_forms(forms: Sequence[ClosedForm]) -> list[sp.Matrix]:
    """The closed forms with every ``Delta`` replaced by its (nested) value: exact ``h_1..h_T``."""
    values: dict[sp.Symbol, sp.Expr] = {}
    out = []
    for form in forms:
        for sym, expr in form.definitions:
            values[sym] = expr.xreplace(values)
        out.append(form.h.xreplace(values))
    return out


# ---- the tagger ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TagRow:
    """One word: the RNN's ``h_t``, the exact posterior, and the tag each picks."""

    t: int
    word: str
    h: sp.Matrix  # the RNN's h_t (to ``digits`` significant digits)
    posterior: sp.Matrix  # P(Y_t | X_1..X_t), exact
    rnn_tag: str
    exact_tag: str

    @property
    def confidence_lost(self) -> sp.Expr:
        """How much less probability the RNN gives the exact posterior's tag: ``p_{tag,t} - h_{tag,t}``."""
        j = argmax(list(self.posterior))
        return self.posterior[j] - self.h[j]


def tag(words: Sequence[str] = SENTENCE, pi: sp.Matrix | None = None, g: Nonlinearity | str = "lecture",
        model: HMM | None = None, digits: int | None = 50, max_words: int = MAX_WORDS) -> list[TagRow]:
    """Tag ``words`` with the RNN and with exact belief propagation (``model`` defaults to the lecture's, with
    initial distribution ``pi``).  The RNN runs to ``digits`` significant digits per step (``None``: exactly)."""
    if model is None:
        model = hmm(pi)
    elif pi is not None:
        raise ValueError("give either a model or a prior pi, not both")
    if len(words) > max_words:
        raise InputTooLong(f"{len(words)} words: the tagger takes at most {max_words} (exact fractions grow with "
                           "every word); pass max_words to raise the limit")
    xs = model.encode(list(words))
    states = model.states or tuple(str(n) for n in range(1, model.N + 1))
    hs = network(g, model).run(xs, digits)
    posts = filtering(model, xs)
    return [TagRow(t, str(w), h, p, states[argmax(list(h))], states[argmax(list(p))])
            for t, (w, h, p) in enumerate(zip(words, hs, posts, strict=True), start=1)]


def table(rows: Sequence[TagRow], states: Sequence[str] = TAGS, places: int = 2) -> str:
    """A plain-text table: per word the RNN's h_t and its tag, the exact posterior and its tag, the confidence lost."""
    header = ["t", "word", *(f"h[{s}]" for s in states), "RNN tag", *(f"P[{s}]" for s in states), "exact tag",
              "confidence lost"]
    body = [[str(r.t), r.word, *(nt.decimal_text(v, places) for v in r.h), r.rnn_tag,
             *(nt.decimal_text(v, places) for v in r.posterior), r.exact_tag,
             nt.decimal_text(r.confidence_lost, places)] for r in rows]
    text_columns = {1, 2 + len(states), 3 + 2 * len(states)}
    widths = [max(len(row[c]) for row in [header, *body]) for c in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) if c in text_columns else cell.rjust(w)
                               for c, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
                     for row in [header, *body])


def as_json(rows: Sequence[TagRow], model: HMM, g: Nonlinearity | str = "lecture") -> str:
    """The tagger's result as JSON: floats for reading, exact fractions for the posterior and the prior."""
    states = model.states or tuple(str(n) for n in range(1, model.N + 1))
    data = {
        "sentence": [r.word for r in rows],
        "tags": list(states),
        "nonlinearity": resolve(g).name,
        "prior": [str(p) for p in model.pi],
        "rows": [{"t": r.t, "word": r.word,
                  "rnn": {s: float(v) for s, v in zip(states, r.h, strict=True)}, "rnn_tag": r.rnn_tag,
                  "posterior": {s: float(v) for s, v in zip(states, r.posterior, strict=True)},
                  "posterior_exact": {s: str(v) for s, v in zip(states, r.posterior, strict=True)},
                  "exact_tag": r.exact_tag, "agree": r.rnn_tag == r.exact_tag,
                  "confidence_lost": float(r.confidence_lost)} for r in rows],
    }
    return json.dumps(data, indent=2, ensure_ascii=False)
