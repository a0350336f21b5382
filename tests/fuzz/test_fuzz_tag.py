"""Fuzzing ``symrnn tag``: hostile words, priors and nonlinearity names (issue 11), about 1,000 cases in seconds.

In process through :func:`pos_tagging.parse_prior`, :func:`pos_tagging.hmm`, :func:`nonlinearities.get` and
:func:`pos_tagging.tag`, and a few through the command line.  Each case either tags (one row per word, posteriors
summing to 1) or raises a named ``ValueError`` subclass (``ModelError``, ``SequenceError``, ``NonlinearityError``,
``InputTooLong``) with a message; nothing else escapes, and each case ends well inside a loose bound.
``benchmarks/fuzz_api.py N`` is the long run.
"""

from __future__ import annotations

import subprocess
import sys
import time

import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symrnn.models import nonlinearities, pos_tagging
from symrnn.models.hmm import ModelError

CASE_SECONDS = 5.0  # loose: a case takes milliseconds; only a runaway exceeds this on a loaded machine
FUZZ = settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)

NUMBER = st.one_of(
    st.integers(-10**70, 10**70).map(str),
    st.fractions(max_denominator=10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-999, 999), st.integers(-10**9, 10**9)),
    st.sampled_from(["1/0", "0/0", "nan", "inf", "-0", ".", "1e", "1__0", "0x10", "1/3/3", "(1)", "1j", "١", "½",
                     "__import__('os')", "9" * 61, "1e61", "1e-61", " 1/3 ", "+.5", "-1/2"]),
)
PRIOR = st.one_of(st.lists(NUMBER, min_size=1, max_size=5).map(",".join), st.text(max_size=120))
WORD = st.one_of(st.sampled_from(pos_tagging.VOCABULARY), st.text(max_size=30),
                 st.sampled_from(["", " ", "john", "JOHN", "the\x00", "ball\n", "\u202ehit", "a" * 10_000]))
G = st.one_of(st.sampled_from(nonlinearities.names()), st.text(max_size=20))


def outcome(run) -> str:
    """``"ok"`` or the name of the named error; fails the test on anything else or a runaway."""
    start = time.perf_counter()
    try:
        run()
        kind = "ok"
    except ValueError as exc:  # ModelError, SequenceError, NonlinearityError, InputTooLong
        assert type(exc) is not ValueError and str(exc).strip(), repr(exc)
        kind = type(exc).__name__
    assert time.perf_counter() - start < CASE_SECONDS
    return kind


def tag_checked(words, prior: str | None, g: str, max_words: int = pos_tagging.MAX_WORDS) -> None:
    model = pos_tagging.hmm(pos_tagging.parse_prior(prior) if prior is not None else None)
    rows = pos_tagging.tag(words, g=nonlinearities.get(g), model=model, max_words=max_words)
    assert [r.word for r in rows] == [str(w) for w in words]
    for r in rows:
        assert sp.simplify(sp.Add(*r.posterior) - 1) == 0
        assert r.exact_tag in pos_tagging.TAGS and r.rnn_tag in pos_tagging.TAGS


@settings(FUZZ, max_examples=400)
@given(PRIOR)
def test_priors_parse_or_are_refused_by_name(text):
    def run():
        pi = pos_tagging.parse_prior(text)
        assert pi.shape == (3, 1) and all(isinstance(p, sp.Rational) for p in pi)
        pos_tagging.hmm(pi)  # a prior that is not a distribution is a ModelError

    outcome(run)


@settings(FUZZ, max_examples=300)
@given(PRIOR)
def test_priors_tag_or_are_refused_by_name(text):
    outcome(lambda: tag_checked(list(pos_tagging.SENTENCE), text, "lecture"))


@settings(FUZZ, max_examples=300)
@given(st.lists(WORD, max_size=8), G)
def test_words_and_nonlinearities_tag_or_are_refused_by_name(words, g):
    kind = outcome(lambda: tag_checked(words, None, g))
    if all(w in pos_tagging.VOCABULARY for w in words) and words and g in nonlinearities.names():
        assert kind == "ok"


@settings(FUZZ, max_examples=200)
@given(st.lists(st.sampled_from(pos_tagging.VOCABULARY), min_size=1, max_size=12), st.integers(1, 12))
def test_max_words_refuses_before_any_work(words, limit):
    kind = outcome(lambda: tag_checked(words, None, "lecture", max_words=limit))
    assert kind == ("InputTooLong" if len(words) > limit else "ok")


def test_the_prior_cap_holds_at_its_edges():
    assert pos_tagging.parse_prior("1e60,0,0")[0] == 10**60
    for text in ("1e61,0,0", "1e999999999,0,0", "9" * 61 + ",0,0"):
        start = time.perf_counter()
        try:
            pos_tagging.parse_prior(text)
        except ModelError as exc:
            assert "exponent of at most 60" in str(exc)
        else:
            raise AssertionError(f"{text!r} was accepted")
        assert time.perf_counter() - start < 1


def test_hostile_input_through_the_command_line():
    cases = [(["--prior", "1e999999999,0,0"], 2), (["--prior", "0,0,0"], 2), (["--g", "__import__"], 2),
             (["John", "\u202ehit"], 2), (["hit", "the", "--max-words", "1"], 2), (["the", "ball", "--json"], 0)]
    for args, status in cases:
        proc = subprocess.run([sys.executable, "-m", "symrnn", "tag", *args], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == status, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert (proc.stderr.startswith("symrnn: error: ") and proc.stderr.count("\n") == 1) if status else \
            proc.stdout.startswith("{")
