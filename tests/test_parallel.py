"""Parallel verification: the same results, report and documents whatever the number of worker processes."""

from __future__ import annotations

import json
import os

import pytest
import sympy as sp

from symrnn.core.cache import ProofCache, default_folder
from symrnn.core.derivation import Computation, Derivation, Evidence, Identity, Instances, Outcome, Step
from symrnn.core.schedule import dispatch_order, verify_all
from symrnn.documents import build as build_mod
from symrnn.lecture25 import SECTIONS

a = sp.Symbol("a", positive=True)


def _without_timings(rows: list[dict]) -> list[dict]:
    """The rows without how long each check took and whether it came from the cache."""
    return [{k: v for k, v in r.items() if k not in {"seconds", "cached", "computed"}} for r in rows]


@pytest.fixture(scope="module")
def rnn_builds(tmp_path_factory, verified):
    """The rnn section built with one process (its verdicts computed in-process by ``verified``, read back from the
    run's cache) and with two workers and no cache."""
    verified("rnn")
    out = {}
    for jobs, cache in ((1, ProofCache(default_folder())), (2, None)):
        folder = tmp_path_factory.mktemp(f"jobs{jobs}")
        res = build_mod.build(folder, ["rnn"], make_pdf=False, jobs=jobs, cache=cache)
        out[jobs] = (folder, res)
    return out


def test_reports_and_documents_do_not_depend_on_jobs(rnn_builds):
    (one, res1), (two, res2) = rnn_builds[1], rnn_builds[2]
    assert res1.ok and res2.ok
    r1, r2 = (json.loads((f / "report.json").read_text()) for f in (one, two))
    assert [c["id"] for c in r1["checks"]] == [s.id for s in SECTIONS["rnn"](0).steps]
    r1["checks"], r2["checks"] = _without_timings(r1["checks"]), _without_timings(r2["checks"])
    assert r1 == r2
    for name in ("lecture25.md", "lecture25.tex"):
        assert (one / name).read_text() == (two / name).read_text()


def test_spawned_workers_rebuild_the_section(rnn_builds):
    ders = [SECTIONS["rnn"](0)]
    results = verify_all(ders, jobs=2, builders={"rnn": SECTIONS["rnn"]}, method="spawn")
    expected = [r.as_dict() for r in rnn_builds[1][1].results]
    assert _without_timings([r.as_dict() for r in results]) == _without_timings(expected)


def _exit(_rng):
    os._exit(3)


def _fine(_rng):
    return Outcome(True, Evidence.NUMERIC, "fine")


def test_a_worker_that_dies_fails_its_step_only():
    steps = [Step("fine-1", "fine", sp.Eq(a, a), "r", Computation(_fine, "fine")),
             Step("dies", "dies", sp.Eq(a, a), "r", Computation(_exit, "exits")),
             Step("fine-2", "fine", sp.Eq(a, a), "r", Identity(a + a, 2 * a)),
             Step("fine-3", "fine", sp.Eq(a, a), "r", Computation(_fine, "fine"))]
    results = verify_all([Derivation("test", "t", "", steps)], jobs=2, method="fork")
    assert [r.id for r in results] == ["fine-1", "dies", "fine-2", "fine-3"]
    assert [r.passed for r in results] == [True, False, True, True]
    assert "exit code 3" in results[1].detail and results[1].title == "dies"


def test_long_kinds_are_dispatched_first():
    ident = Identity(a, a)
    steps = [Step("i", "i", ident, "r", ident), Step("c", "c", ident, "r", Computation(_fine, "c")),
             Step("n", "n", ident, "r", Instances(lambda: [ident], "n")), Step("j", "j", ident, "r", ident)]
    assert dispatch_order(steps) == [2, 1, 0, 3]
