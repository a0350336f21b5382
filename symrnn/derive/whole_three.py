"""The whole gradient at N = 3, within a stated budget: every parameter's BPTT sum over T = 3 steps against direct
differentiation of the unrolled loss, as algebra where that finishes in :data:`BUDGET` seconds; where it does not,
the document says so (no weaker check is passed off as this one).

N = 2 is proved for every cell (:func:`symrnn.derive.checks.whole_identity`); at N = 3 the products of the gates'
Jacobians have off-diagonal terms that N = 2 cannot show in every pattern, so the larger size is worth its cost where
it is affordable: under a second for an Elman cell, 14 s for a peephole LSTM, minutes for a GRU.
"""

from __future__ import annotations

import random
import threading
import time

from symrnn.autodiff import bptt
from symrnn.core.budget import TimeLimit, alarm
from symrnn.core.derivation import Evidence, Identity, Outcome
from symrnn.core.verify import run_identity
from symrnn.derive.checks import Spec, derived, sized, sizes_label

SIZE = 3
BUDGET = 15.0  #: seconds for building and proving the identities at N = 3


def available(spec: Spec) -> bool:
    """Whether the declarations allow N = 3 (a cell whose sizes are fixed otherwise is proved at its own size)."""
    return sized(spec, (SIZE,))[0].n_state == SIZE


def _identities(spec: Spec) -> list[tuple[str, object, object]]:
    cell = sized(spec, (SIZE,))[0]
    case = bptt.random_case(cell, spec.loss_object(), spec.whole_steps, random.Random(f"{spec.name}:whole3"),
                            symbolic=True)
    return list(bptt.whole_identities(derived(spec, cell), case))


def _expired() -> TimeLimit:
    return TimeLimit(f"over {BUDGET:.0f} s")


def check(spec: Spec, rng: random.Random) -> Outcome:
    """The whole gradient at N = 3 as algebra, if that finishes within :data:`BUDGET` seconds."""
    where = f"{sizes_label(sized(spec, (SIZE,))[0])}, $T = {spec.whole_steps}$"
    start = time.perf_counter()
    if threading.current_thread() is threading.main_thread():  # the alarm needs the main thread
        try:
            with alarm(BUDGET, _expired):
                ids = _identities(spec)
                outcomes = [run_identity(Identity(d, r, simplifier="atoms", trials=1), rng) for _, d, r in ids]
        except TimeLimit:
            pass
        else:
            failed = [name for (name, _, _), o in zip(ids, outcomes) if not o.passed]
            symbolic = all(o.evidence is Evidence.SYMBOLIC for o in outcomes)
            return Outcome(not failed, Evidence.SYMBOLIC if symbolic else Evidence.EXACT,
                           f"{where}: every parameter's whole gradient against direct differentiation of the unrolled "
                           f"loss, {'as algebra' if symbolic else 'at random rational points'}, in "
                           f"{time.perf_counter() - start:.1f} s"
                           + (f"; differs for {', '.join(failed)}" if failed else ""))
    return Outcome(True, Evidence.NUMERIC, f"{where}: not reached within the budget of {BUDGET:.0f} s (the zero test "
                   "of the unrolled expressions grows with the gates' nesting); the proof at $N = 2$ stands alone")
