"""Run every step's check and record the strength of evidence it reached."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from symrnn.core.derivation import Computation, Derivation, Evidence, Identity, Instances, Outcome, Refutation, Step
from symrnn.core.zerotest import atoms_zero, symbols_of
from symrnn.latex.printer import latex
from symrnn.numeric.spot import spot_check

_NUMERIC_EQUAL = "equal as exact numbers"
_ORDER = [Evidence.SYMBOLIC, Evidence.EXACT, Evidence.NUMERIC]


def weakest(levels: Iterable[Evidence]) -> Evidence:
    return max(levels, key=_ORDER.index, default=Evidence.SYMBOLIC)


def _entries(expr) -> tuple[tuple[int, int], list[sp.Expr]]:
    if isinstance(expr, MatrixExpr):
        expr = expr.as_explicit()
    if isinstance(expr, sp.MatrixBase):
        return expr.shape, list(expr)
    return (1, 1), [expr]


def differences(lhs, rhs) -> list[sp.Expr]:
    """Entrywise ``lhs - rhs``; a shape mismatch is a ValueError naming both shapes."""
    (ls, le), (rs, re_) = _entries(lhs), _entries(rhs)
    if ls != rs:
        raise ValueError(f"shapes differ: left side {ls[0]} x {ls[1]}, right side {rs[0]} x {rs[1]}")
    return [a - b for a, b in zip(le, re_)]


def _free(expr) -> set:
    return symbols_of(_entries(expr)[1])


def _canonical_zero(d: sp.Expr, how: str | None) -> bool:
    if d == 0:
        return True
    if how is None:
        return False
    if how == "cancel":
        return sp.cancel(sp.together(d)) == 0
    if how == "expand":
        return sp.expand(d) == 0
    if how == "exp":  # for real d, exp(d) = 1 iff d = 0: turns sums of logs into one rational function
        return sp.cancel(sp.simplify(sp.exp(d)) - 1) == 0
    return sp.simplify(d) == 0


def run_identity(check: Identity, rng: random.Random) -> Outcome:
    try:
        diffs = differences(check.lhs, check.rhs)
    except ValueError as exc:
        return Outcome(False, Evidence.SYMBOLIC, str(exc))
    constant = not (_free(check.lhs) or _free(check.rhs))
    if atoms_zero(diffs) if check.simplifier == "atoms" else all(_canonical_zero(d, check.simplifier) for d in diffs):
        if constant:
            return Outcome(True, Evidence.EXACT, _NUMERIC_EQUAL)
        return Outcome(True, Evidence.SYMBOLIC, "difference simplifies to 0")
    ok, detail = spot_check(diffs, check.trials, check.sampler, rng)
    return Outcome(ok, Evidence.EXACT, detail)


def run_check(check, rng: random.Random) -> Outcome:
    """Run one check of any kind."""
    if isinstance(check, Identity):
        return run_identity(check, rng)
    if isinstance(check, Instances):
        counts: dict[str, int] = {}
        levels = []  # what the identities over free symbols reached; numeric instances are exact by nature
        for ident in check.build():
            out = run_identity(ident, rng)
            if not out.passed:
                return Outcome(False, out.evidence, f"{ident.label or 'an instance'}: {out.detail}")
            kind = "exact (numeric model)" if out.detail == _NUMERIC_EQUAL else out.evidence.value
            counts[kind] = counts.get(kind, 0) + 1
            if kind != "exact (numeric model)":
                levels.append(out.evidence)
        tally = ", ".join(f"{n} {kind}" for kind, n in counts.items())
        return Outcome(bool(counts), weakest(levels) if levels else Evidence.EXACT, f"{check.description}: {tally}")
    if isinstance(check, Refutation):
        diffs = differences(check.lhs, check.rhs)
        ok, detail = spot_check(diffs, check.trials, check.sampler, rng)
        if ok:
            return Outcome(False, Evidence.EXACT, f"no separating point found ({detail})")
        return Outcome(True, Evidence.EXACT, "not an identity: " + detail.replace("is not zero", "differs"))
    if isinstance(check, Computation):
        return check.run(rng)
    raise TypeError(f"unknown check type {type(check).__name__}")


@dataclass(frozen=True)
class Result:
    """One verified step, as reported by ``symrnn verify --json`` and ``report.json``.

    ``cached`` says the verdict was read from the proof cache; ``computed`` then says when, by which versions and in
    how many seconds it was computed (``seconds`` is this run's time).
    """

    id: str
    section: str
    title: str
    statement: str
    evidence: str
    passed: bool
    detail: str
    seconds: float
    cached: bool = False
    computed: dict | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def outcome(self) -> Outcome:
        return Outcome(self.passed, Evidence(self.evidence), self.detail)

    def _repr_latex_(self) -> str:
        """Jupyter: the statement as display maths, with its verdict."""
        verdict = "passed" if self.passed else "FAILED"
        return f"$$\n{self.statement} \\qquad \\text{{({self.evidence}: {verdict})}}\n$$"

    def _repr_markdown_(self) -> str:
        """Jupyter: the step's title, its statement as ``$$...$$``, the evidence reached and the verdict."""
        from symrnn.core.derivation import markdown_prose

        verdict = "passed" if self.passed else "**FAILED**"
        cached = " (verdict from the proof cache)" if self.cached else f" ({self.seconds:g} s)"
        return "\n".join([f"**{markdown_prose(self.title or self.id)}** (`{self.section}/{self.id}`)", "", "$$",
                          self.statement, "$$", "", f"*Check ({self.evidence}):* {verdict}. "
                          f"{markdown_prose(self.detail)}{cached}"])


def statement_latex(step: Step) -> str:
    """The step's statement in the lecture's notation (its override when it has one)."""
    if step.latex_override:
        return step.latex_override
    try:
        return _latex_of(step.statement)
    except TypeError:  # a statement holding a mutable matrix cannot be a key
        return latex(step.statement)


@functools.lru_cache(maxsize=2048)
def _latex_of(statement) -> str:
    """A pure function of the statement (equal SymPy objects print alike), memoised: the Markdown, LaTeX and HTML
    documents, the report and the cache's keys all print the same statements."""
    return latex(statement)


def verify_step(step: Step, section: str, seed: int = 0) -> Result:
    """Run one step's check; an exception inside a check is a failure with its message, not a crash."""
    rng = random.Random(f"{seed}:{section}:{step.id}")
    start = time.perf_counter()
    try:
        out = run_check(step.check, rng)
    except Exception as exc:  # noqa: BLE001 - a failing check must be reported, not abort the run
        out = Outcome(False, Evidence.SYMBOLIC, f"check raised {type(exc).__name__}: {exc}")
    return Result(step.id, section, step.title, statement_latex(step), out.evidence.value, out.passed, out.detail,
                  round(time.perf_counter() - start, 3))


def failed_result(section: str, step_id: str, detail: str, title: str = "", statement: str = "") -> Result:
    """A failure that no check produced (a worker that died, a step that could not be found)."""
    return Result(step_id, section, title, statement, Evidence.SYMBOLIC.value, False, detail, 0.0)


def verify(derivations: Iterable[Derivation], seed: int = 0) -> list[Result]:
    """Every step of every derivation, in this process, in order (see :func:`symrnn.core.schedule.verify_all`)."""
    return [verify_step(step, d.section, seed) for d in derivations for step in d.steps]
