"""Fuzzing the training API (issue 11): ``compile_bptt(cell, loss).loss_and_grads(params, inputs, targets, h0)``
with hostile arrays, about 1,000 cases in seconds.

Arrays of wrong shapes and dtypes (object, str, complex, datetime, bool), NaN, inf, huge values, empty axes, ragged
lists, non-arrays, missing and foreign keys (of any type).  Each case either returns a finite-or-overflowed float and
one gradient per parameter of the parameter's shape, or raises an :class:`InputError` subclass with a message;
nothing else escapes, and each case ends inside a loose bound.  ``benchmarks/fuzz_api.py N`` is the long run.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symrnn.autodiff.training import InputError, compile_bptt
from symrnn.models import cells, losses, lstm

CASE_SECONDS = 5.0
FUZZ = settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None,
                max_examples=300)


@pytest.fixture(scope="module")
def models():
    return {"rnn": compile_bptt(cells.rnn(3, 4), losses.cross_entropy()),
            "elman": compile_bptt(cells.elman(2, 3), losses.squared_error()),
            "lstm": compile_bptt(lstm.standard_lstm(2, 2), losses.squared_error())}


VALUES = st.sampled_from([0.0, 1.0, -1.0, 1e300, -1e300, 1e-320, np.nan, np.inf, -np.inf, 2**63, -(2**70), 0.5])
DTYPES = st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.uint8, np.bool_, np.complex128, object,
                          str, "datetime64[s]", np.longdouble])
ODD = st.sampled_from([None, "abc", 3, 2.5, {"a": 1}, [[1, 2], [3]], [], [[[]]], set(), b"\x00", ...])


@st.composite
def array(draw, shape: tuple[int, ...], hostile: bool = True):
    """An array of ``shape``; when ``hostile``, perhaps a neighbouring shape, an odd dtype, a hostile value or a
    non-array instead."""
    base = np.random.default_rng(draw(st.integers(0, 2**16))).normal(size=shape)
    if not hostile:
        return base
    how = draw(st.integers(0, 3))
    if how == 0:
        return draw(ODD)
    if how == 1:
        return np.random.default_rng(0).normal(size=tuple(draw(st.lists(st.integers(0, 5), max_size=4))))
    if how == 2 and base.size:
        base.flat[draw(st.integers(0, base.size - 1))] = draw(VALUES)
        return base
    with np.errstate(all="ignore"):
        try:
            return base.astype(draw(DTYPES))
        except (TypeError, ValueError, OverflowError):
            return base


@st.composite
def case(draw, compiled):
    """Valid arguments with one part (or, one case in six, every part) made hostile."""
    cell = compiled.cell
    T, B = draw(st.integers(1, 6)), draw(st.integers(1, 3))  # noqa: N806
    target = draw(st.sampled_from(["none", "params", "keys", "inputs", "targets", "h0", "all"]))
    bad = {part: target in (part, "all") for part in ("params", "keys", "inputs", "targets", "h0")}
    params = {p.name: draw(array((p.rows, p.cols), bad["params"] and draw(st.booleans()))) for p in cell.params}
    if bad["keys"] and draw(st.booleans()):
        params.pop(draw(st.sampled_from(sorted(params))))
    elif bad["keys"]:
        params[draw(st.one_of(st.text(max_size=3), st.integers(), st.none(), st.tuples(st.integers())))] = 1.0
    inputs = draw(array((T, cell.n_input, B), bad["inputs"]))
    if compiled.loss_kind == "cross-entropy" and draw(st.booleans()):
        low, high = (-2**70, 2**70) if bad["targets"] else (0, cell.n_state - 1)
        targets = np.array(draw(st.lists(st.integers(low, high), min_size=T * B, max_size=T * B)),
                           dtype=object if bad["targets"] else int).reshape(T, B)
    else:
        targets = draw(array((T, cell.n_state, B), bad["targets"]))
        targets = targets if bad["targets"] else np.abs(targets)  # probabilities are not negative
    h0 = None
    if bad["h0"]:
        h0 = draw(st.one_of(array((cell.n_state, B)),
                            st.dictionaries(st.sampled_from([*cell.states, "q"]), array((cell.n_state,)),
                                            max_size=2)))
    return params, inputs, targets, h0


def check(compiled, params, inputs, targets, h0) -> str:
    start = time.perf_counter()
    try:
        with np.errstate(all="ignore"):
            loss, grads = compiled.loss_and_grads(params, inputs, targets, h0)
    except InputError as exc:
        assert str(exc).strip()
        kind = type(exc).__name__
    else:
        kind = "ok"
        assert isinstance(loss, float)
        assert {p.name: (p.rows, p.cols) for p in compiled.cell.params} == {k: v.shape for k, v in grads.items()}
    assert time.perf_counter() - start < CASE_SECONDS
    return kind


@pytest.mark.parametrize("name", ["rnn", "elman", "lstm"])
def test_hostile_arrays_raise_only_input_errors(models, name):
    compiled, kinds = models[name], []

    @FUZZ
    @given(st.data())
    def run(data):
        kinds.append(check(compiled, *data.draw(case(compiled))))

    run()
    assert "ok" in kinds and len(set(kinds)) > 2  # the fuzzer reached both the kernels and the checks


def test_known_hostile_cases_are_named(models):
    rnn = models["rnn"]
    good = {"U": np.eye(3), "W": np.ones((3, 4))}
    xs, ys = np.zeros((2, 4, 1)), np.zeros((2, 1), dtype=int)
    for params, inputs, targets, message in [
        ({**good, 1: 0, "z": 0}, xs, ys, "unknown ['z', 1]"),
        (good, np.zeros((2, 4, 0)), np.zeros((2, 0), dtype=int), "B >= 1"),
        (good, np.zeros((0, 4, 1)), ys, "T >= 1"),
        (good, xs, [[0], [1, 2]], "targets is not an array"),
        (good, xs * np.nan, ys, "inputs has non-finite entries"),
        (good, xs.astype(object), ys, "dtype object"),
        (good, xs, np.full((2, 1), 2**62), "out of range 0..2"),
    ]:
        with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
            rnn.loss_and_grads(params, inputs, targets)
    with pytest.raises(InputError, match="unknown states"):
        rnn.loss_and_grads(good, xs, ys, h0={"h": np.zeros(3), 5: 1, "q": 2})
