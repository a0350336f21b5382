"""The resource budget: caps refuse before work starts, bounded work ends with a named error, never a hang."""

from __future__ import annotations

import contextlib
import os
import time

import pytest
import sympy as sp

from symrnn.core.budget import (
    DEFAULT,
    Budget,
    MemoryLimit,
    SizeLimit,
    TimeLimit,
    alarm,
    check_count,
    check_power,
    read_text,
    run_bounded,
)


def test_bounded_work_returns_its_result_and_reraises_its_error():
    assert run_bounded(lambda a, b: a ** b, 3, 4) == 81
    with pytest.raises(ValueError, match="planted"):
        run_bounded(lambda: (_ for _ in ()).throw(ValueError("planted")))


def test_a_hang_is_stopped_at_the_deadline():
    start = time.monotonic()
    with pytest.raises(TimeLimit, match="the sleep ran past the limit of 0.5 s"):
        run_bounded(time.sleep, 30, budget=Budget(seconds=0.5), what="the sleep")
    assert time.monotonic() - start < 10


def test_memory_is_capped():
    with pytest.raises(MemoryLimit, match="more than 300 MB"):
        run_bounded(lambda: len(bytearray(4 * 10**9)), budget=Budget(memory_mb=300))


def test_tiny_sympy_input_that_would_never_finish_is_stopped():
    with pytest.raises((TimeLimit, MemoryLimit)):
        run_bounded(lambda: sp.Integer(9) ** (sp.Integer(9) ** 9) > 0, budget=Budget(seconds=1, memory_mb=500))


def test_recursion_becomes_a_named_error():
    def deep(n):
        return deep(n + 1)

    with pytest.raises(Exception, match="nested too deeply"):
        run_bounded(deep, 0)


def test_power_cap_uses_the_number_of_digits():
    check_power(2, 100)  # 31 digits
    assert len(str(2**100)) == 31
    with pytest.raises(SizeLimit, match="about 3.01e"):
        check_power(2, 10**10)
    with pytest.raises(SizeLimit):
        check_power(10, DEFAULT.max_result_digits + 1)
    check_power(10, DEFAULT.max_result_digits - 1)


def test_files_are_read_only_up_to_the_cap(tmp_path):
    with pytest.raises(SizeLimit, match="larger than the limit of 1000 bytes"):
        read_text("/dev/zero", Budget(max_bytes=1000))
    bad = tmp_path / "bad.md"
    bad.write_bytes(b"ok \xff")
    with pytest.raises(SizeLimit, match="byte 4"):
        read_text(bad)
    good = tmp_path / "good.md"
    good.write_text("$x$ é", encoding="utf-8")
    assert read_text(good) == "$x$ é"
    with pytest.raises(SizeLimit, match="folder"):
        read_text(tmp_path)


def test_counts_and_overrides():
    check_count(5, 5, "words", "--max-words")
    with pytest.raises(SizeLimit, match="6 words: more than the limit of 5 \\(--max-words raises it\\)"):
        check_count(6, 5, "words", "--max-words")
    assert DEFAULT.override(seconds=3, max_words=None).seconds == 3
    for bad in ({"seconds": 0}, {"max_words": -1}, {"nonsense": 1}, {"seconds": True}):
        with pytest.raises(ValueError):
            DEFAULT.override(**bad)


def _children() -> set[str]:
    me = str(os.getpid())
    out = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[1] == me:
                    out.add(pid)
        except OSError:
            pass
    return out


def test_no_worker_is_left_behind():
    before = _children()
    with pytest.raises(TimeLimit):
        run_bounded(time.sleep, 30, budget=Budget(seconds=0.2))
    assert _children() <= before


def _spin(seconds: float, swallow: int = 0) -> int:
    """Busy Python work for ``seconds`` that checks no clock of its own; the first ``swallow`` exceptions raised into
    it are caught and ignored (as a careless library would).  Returns how many it swallowed."""
    swallowed, stop = 0, time.monotonic() + seconds
    while time.monotonic() < stop:
        try:
            sum(range(10_000))
        except Exception:  # noqa: BLE001 - this is the careless library
            if swallowed == swallow:
                raise
            swallowed += 1
    return swallowed


def test_the_alarm_stops_in_process_work_even_when_the_work_swallows_it():
    start = time.monotonic()
    with pytest.raises(TimeLimit, match="spun"), alarm(0.2, lambda: TimeLimit("spun")):
        _spin(30, swallow=3)
    assert time.monotonic() - start < 5
    with alarm(0.2, lambda: TimeLimit("spun")):
        pass
    assert _spin(0.5) == 0  # the alarm is off once its block ends


def test_an_enclosing_alarm_keeps_its_deadline():
    start = time.monotonic()
    with pytest.raises(TimeLimit, match="outer"), alarm(0.3, lambda: TimeLimit("outer")):
        with alarm(20, lambda: TimeLimit("inner")):
            _spin(0.05)
        _spin(30)  # the outer deadline, restored after the inner block, still stops this
    assert time.monotonic() - start < 5
    with pytest.raises(TimeLimit, match="outer"), alarm(0.3, lambda: TimeLimit("outer")):
        with alarm(20, lambda: TimeLimit("inner")):
            _spin(30)


def test_the_alarm_stops_sympy_work_in_process():
    x, y, z = sp.symbols("x y z")
    start = time.monotonic()
    with pytest.raises(TimeLimit), alarm(0.3, lambda: TimeLimit("expansion")):
        sp.expand((x + y + z + 1) ** 400)
    assert time.monotonic() - start < 5


def test_a_parse_is_stopped_inside_work_that_does_not_check_its_deadline(monkeypatch):
    from symrnn.latex.parse import Limits, Timeout, parse
    from symrnn.latex.parse.parser import Parser

    monkeypatch.setattr(Parser, "document", lambda self: _spin(30))
    start = time.monotonic()
    with pytest.raises(Timeout, match="time limit reached"):
        parse("x + y", limits=Limits(seconds=0.3), backend="none")
    assert time.monotonic() - start < 5


def test_an_alarm_that_lands_in_a_finalizer_is_not_printed_and_fires_again(capsys):
    import gc

    class Slow:
        def __del__(self):
            _spin(0.3)  # the alarm fires in here, where Python can only print what is raised

    with pytest.raises(TimeLimit, match="spun"), alarm(0.1, lambda: TimeLimit("spun")):
        Slow()
        gc.collect()
        _spin(30)
    assert "Exception ignored" not in capsys.readouterr().err


def test_an_alarm_landing_as_its_block_is_entered_or_left_never_outlives_the_block():
    """Found by the long audit fuzz run: an alarm due just as its block ended was raised on entry to the context
    manager's exit, which then never ran, and the repeating alarm fired later outside any block.  Thousands of
    blocks whose deadline falls about when they end: after each, the handler and the timer are as before."""
    import signal

    before = signal.getsignal(signal.SIGALRM)
    for _ in range(3000):
        with contextlib.suppress(TimeLimit), alarm(2e-5, lambda: TimeLimit("late")):
            sum(range(50))
        assert signal.getsignal(signal.SIGALRM) is before and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    assert _spin(0.3) == 0
