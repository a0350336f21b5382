"""Running the audit's checks within a :class:`symrnn.core.budget.Budget`: a check that runs out of time or memory,
or fails unexpectedly, becomes a finding on its line, and the findings computed before it are kept.

A span whose checks evaluate something (a worked step, a claim, a derivative, an update, a distribution) runs in a
forked worker (:func:`symrnn.core.budget.run_bounded`: wall clock and address space); the other spans' checks are
structural and run in-process under a wall-clock deadline (``SIGALRM``, in the main thread).  A :class:`Clock` holds
the whole document to ``budget.total_seconds``: each piece of work gets at most what is left of it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from symrnn.audit.findings import Finding
from symrnn.core.budget import Budget, BudgetExceeded, MemoryLimit, TimeLimit, alarm, run_bounded

BUDGET = "budget"
INTERNAL = "internal"
TOTAL_OPTION = "--total-seconds"  #: the option that raises ``Budget.total_seconds``


def one_line(exc: BaseException) -> str:
    """``Name: first line of the message`` (at most 200 characters)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def guarded(name: str, line: int, out: list[Finding], fn: Callable, *args: Any) -> Any:
    """``fn(*args)``; an unexpected exception becomes a warning naming the check ``name`` (the budget's own
    exceptions, running out of memory and nesting too deeply pass through, to be reported by :func:`run_span`)."""
    try:
        return fn(*args)
    except (BudgetExceeded, MemoryError, RecursionError):
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of a check is reported, never a traceback
        out.append(Finding(line, "warning", f"not checked: the {name} check failed ({one_line(exc)})", INTERNAL))
        return None


def deadline(seconds: float, what: str) -> contextlib.AbstractContextManager:
    """Raise :class:`TimeLimit` in this (main) thread after ``seconds`` (:func:`symrnn.core.budget.alarm`)."""
    return alarm(seconds, lambda: TimeLimit(f"{what} ran past the limit of {seconds:g} s and was stopped "
                                            "(--seconds raises it)"))


def budget_finding(line: int, exc: BudgetExceeded, budget: Budget) -> Finding:
    """The finding for a piece of work stopped by the budget."""
    if isinstance(exc, TimeLimit):
        why = f"ran past the limit of {budget.seconds:g} s (--seconds raises it)"
    elif isinstance(exc, MemoryLimit):
        why = f"needed more than {budget.memory_mb} MB (--memory-mb raises it)"
    else:
        why = str(exc)
    return Finding(line, "warning", f"not checked: {why}", BUDGET)


def run_span(work: Callable[[], Any], line: int, budget: Budget, in_worker: bool, fallback: Any) -> Any:
    """``work()`` within the budget: in a forked worker or in-process under a deadline.  Out of budget or failing
    unexpectedly, ``fallback(finding)`` is returned instead."""
    what = f"the checks of line {line}"
    try:
        if in_worker:
            return run_bounded(work, budget=budget, what=what)
        with deadline(budget.seconds, what):
            return work()
    except BudgetExceeded as exc:
        return fallback(budget_finding(line, exc, budget))
    except MemoryError:
        return fallback(budget_finding(line, MemoryLimit(), budget))
    except RecursionError:
        return fallback(budget_finding(line, BudgetExceeded("nested too deeply to evaluate"), budget))
    except Exception as exc:  # noqa: BLE001 - never a traceback
        return fallback(Finding(line, "warning", f"not checked: {one_line(exc)}", INTERNAL))


class Clock:
    """The whole document's wall clock: ``budget.total_seconds`` from its creation.

    :meth:`run` gives a piece of work ``budget.seconds`` or what is left of the total, whichever is less; work stopped
    because the total ran out is reported by the caller as not checked (:meth:`finding`), never as a per-span
    time limit.
    """

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.stop = time.monotonic() + budget.total_seconds

    def left(self) -> float:
        """Seconds left of the total (zero or less: it has run out)."""
        return self.stop - time.monotonic()

    def run(self, work: Callable[[], Any], line: int, in_worker: bool, fallback: Callable) -> tuple[bool, Any]:
        """``(True, run_span(work, ...))``, or ``(False, None)`` when the total ran out before or during the work."""
        left = self.left()
        if left <= 0:
            return False, None
        if left >= self.budget.seconds:
            return True, run_span(work, line, self.budget, in_worker, fallback)
        short = replace(self.budget, seconds=left)
        cut = budget_finding(line, TimeLimit(""), short)  # what run_span reports when the shortened limit stops it
        stopped: list[Finding] = []

        def fall(finding: Finding) -> Any:
            if finding == cut:
                stopped.append(finding)
                return None
            return fallback(finding)

        result = run_span(work, line, short, in_worker, fall)
        return not stopped, None if stopped else result

    def finding(self, line: int, unchecked: int, spans: int) -> Finding:
        """The error for a document whose audit ran out of its total time at ``line``."""
        return Finding(line, "error", f"not checked from here: {unchecked} of {spans} math spans, the audit ran past "
                       f"its limit of {self.budget.total_seconds:g} s for the whole document ({TOTAL_OPTION} raises "
                       "it)", BUDGET)
