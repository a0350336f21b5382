"""One resource budget for every entry point: input caps checked before work starts, and untrusted work run where
it can be stopped.

Caps (bytes, spans, words, matrix entries, digits, exponents, nesting) are plain numbers on a frozen
:class:`Budget`; every command takes its defaults and overrides them from options.  Work on untrusted input (SymPy
algebra on a user's LaTeX, a user's document) runs through :func:`run_bounded`: a forked worker process with an
address-space limit and a wall-clock deadline, so that a tiny input that would take hours or gigabytes (``2^{10^{10}}``)
ends as a named :class:`BudgetExceeded`, never a hang, and the caller keeps whatever it had computed before.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import pickle
import resource
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any


class BudgetExceeded(Exception):
    """Work refused or stopped because it would exceed the budget; the message names the limit and the option."""


class SizeLimit(BudgetExceeded):
    """The input is larger than the budget allows (bytes, spans, words, entries, digits)."""


class TimeLimit(BudgetExceeded):
    """The work ran past its wall-clock deadline and was stopped."""


class MemoryLimit(BudgetExceeded):
    """The work needed more memory than the budget allows and was stopped."""


@dataclass(frozen=True)
class Budget:
    """Limits for one run of an entry point.  Defaults suit a 2-core, few-GB machine and documents of lecture size."""

    seconds: float = 60.0  #: wall clock for one bounded piece of work (a span, a derivation, a check)
    total_seconds: float = 120.0  #: wall clock for a whole document's audit: reading and every span's checks
    memory_mb: int = 2048  #: address space of a bounded worker
    max_bytes: int = 2_000_000  #: an input file or text
    max_spans: int = 5_000  #: math spans in one document
    max_words: int = 1_000  #: words given to the tagger
    max_entries: int = 10_000  #: entries of one matrix
    max_digits: int = 200  #: digits of one integer literal
    max_result_digits: int = 4_000  #: digits of a number a power may produce (Python prints at most 4,300)
    max_depth: int = 40  #: nesting of brackets and groups

    def override(self, **changes: Any) -> Budget:
        """A copy with the given limits changed (``None`` values are ignored); each must be positive."""
        changes = {k: v for k, v in changes.items() if v is not None}
        for name, value in changes.items():
            if name not in self.__dataclass_fields__:
                raise ValueError(f"unknown budget limit {name!r}")
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
                raise ValueError(f"budget limit {name} must be a positive number, got {value!r}")
        return replace(self, **changes)


DEFAULT = Budget()


def check_count(count: int, limit: int, what: str, option: str) -> None:
    """Refuse ``count`` items of ``what`` when over ``limit``, naming the option that raises it."""
    if count > limit:
        raise SizeLimit(f"{count} {what}: more than the limit of {limit} ({option} raises it)")


def check_power(base: int | float, exponent: int | float, budget: Budget = DEFAULT) -> None:
    """Refuse ``base ** exponent`` when its integer part would have more than ``max_result_digits`` digits."""
    if base in (0, 1, -1) or exponent <= 0:
        return
    digits = float(exponent) * math.log10(abs(float(base))) if abs(float(base)) != math.inf else math.inf
    if digits > budget.max_result_digits:
        raise SizeLimit(f"{base}^{exponent} would have about {digits:.3g} digits, more than the limit of "
                        f"{budget.max_result_digits}")


def read_text(path: str | os.PathLike, budget: Budget = DEFAULT) -> str:
    """A UTF-8 text file, read only up to the byte cap (``/dev/zero`` is refused, not read until memory runs out)."""
    p = Path(path)
    try:
        with p.open("rb") as handle:
            data = handle.read(budget.max_bytes + 1)
    except IsADirectoryError:
        raise SizeLimit(f"{p}: is a folder, not a file") from None
    if len(data) > budget.max_bytes:
        raise SizeLimit(f"{p}: larger than the limit of {budget.max_bytes} bytes (--max-bytes raises it)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SizeLimit(f"{p}: not UTF-8 text (byte {exc.start + 1}: {exc.reason})") from None


#: after the first alarm, how often it is raised again (in case the work caught and swallowed it)
ALARM_REPEAT = 0.05


def alarm(seconds: float, error: Callable[[], BaseException]) -> contextlib.AbstractContextManager:
    """Raise ``error()`` in the main thread once ``seconds`` have passed, and again every :data:`ALARM_REPEAT` s until
    the block ends: a preemptive deadline for in-process work (SymPy's loops) that checks no clock of its own.

    Work in C that holds the interpreter (one huge integer power) is not interrupted: such inputs are refused by size
    before they are computed.  An alarm that lands in a finalizer (where Python can only print an exception) is not
    printed; it fires again.  Outside the main thread, or without ``setitimer``, there is no alarm.  An enclosing
    alarm keeps its own deadline and error: the earlier deadline fires first, and the outer alarm is restored on
    exit.  An alarm landing while the block is entered or left is not raised there (it would skip the cleanup and
    outlive the block): inside the block it fires again, and leaving disarms it.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        return contextlib.nullcontext()
    return _Alarm(seconds, error)


class _Alarm:
    """The context manager of :func:`alarm` (a class, not a generator: its own frames are known to the handler)."""

    def __init__(self, seconds: float, error: Callable[[], BaseException]) -> None:
        self.seconds, self.error, self.raised = seconds, error, []
        self.outer = self.outer_repeat = 0.0
        self.armed = False

    def _expire(self, signum, frame) -> None:  # noqa: ARG002 - the signal handler's signature
        if frame is not None and frame.f_code in _ALARM_CODES:
            return  # entering or leaving: the repeat fires inside the block, or leaving disarms it
        self.raised.append(self.error())
        raise self.raised[-1]

    def _unraisable(self, info) -> None:  # raised where Python can only print it (a finalizer): the alarm repeats
        if not any(info.exc_value is exc for exc in self.raised):
            self.hook(info)

    def __enter__(self) -> None:
        self.outer, self.outer_repeat = signal.getitimer(signal.ITIMER_REAL)
        if self.outer and self.outer <= self.seconds:
            return  # the enclosing alarm comes first and raises its own error
        self.started = time.monotonic()
        self.hook, sys.unraisablehook = sys.unraisablehook, self._unraisable
        self.previous = signal.signal(signal.SIGALRM, self._expire)
        self.armed = True
        signal.setitimer(signal.ITIMER_REAL, max(self.seconds, 1e-6), ALARM_REPEAT)

    def __exit__(self, *exc_info: object) -> None:
        if not self.armed:
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)
        sys.unraisablehook = self.hook
        self.armed = False
        if self.outer:
            signal.setitimer(signal.ITIMER_REAL, max(self.outer - (time.monotonic() - self.started), 1e-3),
                             self.outer_repeat)


_ALARM_CODES = frozenset({_Alarm.__enter__.__code__, _Alarm.__exit__.__code__})


def _child(conn, fn: Callable, args: tuple, kwargs: dict, memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        pass  # a lower hard limit is already in force
    try:
        outcome = ("ok", fn(*args, **kwargs))
    except MemoryError:
        outcome = ("memory", None)
    except RecursionError:
        outcome = ("error", BudgetExceeded("nested too deeply to evaluate"))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent, named
        outcome = ("error", exc)
    try:
        payload = pickle.dumps(outcome)
    except Exception:  # noqa: BLE001 - an unpicklable result or exception becomes a message
        detail = "".join(traceback.format_exception_only(type(outcome[1]), outcome[1])).strip()
        payload = pickle.dumps(("error", RuntimeError(detail)))
    try:
        conn.send_bytes(payload)
    except MemoryError:
        conn.send_bytes(pickle.dumps(("memory", None)))
    finally:
        conn.close()


def run_bounded(fn: Callable, *args: Any, budget: Budget = DEFAULT, what: str = "the work", **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in a forked worker with ``budget.memory_mb`` of address space and ``budget.seconds``
    of wall clock.  Returns its result, re-raises its exception, or raises :class:`TimeLimit` /
    :class:`MemoryLimit` naming ``what``.  ``fn``, its arguments and its result must pickle.
    """
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args, kwargs, budget.memory_mb), daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(budget.seconds):
            raise TimeLimit(f"{what} ran past the limit of {budget.seconds:g} s and was stopped (--seconds raises it)")
        try:
            kind, value = pickle.loads(parent.recv_bytes())
        except EOFError:
            kind, value = "memory", None  # the worker died without answering: the allocator's abort
    finally:
        parent.close()
        if proc.is_alive():
            proc.kill()
        proc.join()
    if kind == "ok":
        return value
    if kind == "memory":
        raise MemoryLimit(f"{what} needed more than {budget.memory_mb} MB and was stopped (--memory-mb raises it)")
    raise value
