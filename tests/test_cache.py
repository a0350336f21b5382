"""The proof cache: same verdicts as without it, invalidated by any change, never trusting a damaged entry."""

from __future__ import annotations

import importlib
import json
import multiprocessing as mp
import subprocess
import sys
from pathlib import Path

import sympy as sp

from symrnn import cli
from symrnn.core.cache import ProofCache, default_folder
from symrnn.core.derivation import Computation, Derivation, Evidence, Identity, Outcome, Step
from symrnn.core.schedule import verify_all

a, b = sp.symbols("a b", positive=True)


def _section(*steps: Step) -> Derivation:
    return Derivation("test", "a test section", "", list(steps))


def _square() -> Step:
    return Step("square", "square", sp.Eq((a + b) ** 2, a**2 + 2 * a * b + b**2), "expand",
                Identity((a + b) ** 2, a**2 + 2 * a * b + b**2))


def _verdicts(rows: list[dict]) -> list[tuple]:
    return [(r["section"], r["id"], r["evidence"], r["passed"], r["detail"]) for r in rows]


def test_default_folder_follows_xdg(tmp_path):
    assert default_folder({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "symrnn"
    assert default_folder({}) == Path.home() / ".cache" / "symrnn"


def test_cached_verdicts_equal_uncached_ones(tmp_path, capsys):
    args = ["verify", "--section", "rnn", "--json", "--jobs", "1", "--quiet"]
    assert cli.main([*args, "--no-cache"]) == 0
    fresh = json.loads(capsys.readouterr().out)
    assert cli.main([*args, "--cache", str(tmp_path)]) == 0
    first = json.loads(capsys.readouterr().out)
    assert cli.main([*args, "--cache", str(tmp_path)]) == 0
    second = json.loads(capsys.readouterr().out)
    assert not any(r["cached"] for r in fresh + first)
    assert all(r["cached"] for r in second) and len(second) == 32
    assert all(r["computed"]["by"].startswith("python ") and "sympy" in r["computed"]["by"] for r in second)
    assert _verdicts(fresh) == _verdicts(first) == _verdicts(second)
    assert not list((tmp_path / "proofs").rglob("*.tmp"))


def test_a_changed_step_is_run_again(tmp_path):
    cache = ProofCache(tmp_path)
    [first] = verify_all([_section(_square())], cache=cache)
    [again] = verify_all([_section(_square())], cache=cache)
    assert first.passed and not first.cached and again.cached and again.detail == first.detail
    wrong = Step("square", "square", sp.Eq((a + b) ** 2, a**2 + b**2), "expand", Identity((a + b) ** 2, a**2 + b**2))
    [changed] = verify_all([_section(wrong)], cache=cache)
    assert not changed.cached and not changed.passed
    other_seed = verify_all([_section(_square())], seed=1, cache=cache)[0]
    assert not other_seed.cached


def test_an_edited_check_function_is_run_again(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    module = tmp_path / "edited_check.py"
    module.write_text("from symrnn.core.derivation import Evidence, Outcome\n"
                      "def run(rng):\n    return Outcome(True, Evidence.NUMERIC, 'first version')\n")
    mod = importlib.import_module("edited_check")
    cache = ProofCache(tmp_path / "cache")

    def step() -> Step:
        return Step("c", "c", sp.Eq(a, a), "r", Computation(mod.run, "a computation"))

    assert verify_all([_section(step())], cache=cache)[0].detail == "first version"
    assert verify_all([_section(step())], cache=cache)[0].cached
    module.write_text("from symrnn.core.derivation import Evidence, Outcome\n"
                      "def run(rng):\n    return Outcome(False, Evidence.NUMERIC, 'second version')\n")
    mod = importlib.reload(mod)
    [result] = verify_all([_section(step())], cache=cache)
    assert not result.cached and result.detail == "second version" and not result.passed


def test_the_key_is_the_same_in_another_process(tmp_path):
    code = ("import sympy as sp, sys; from symrnn.core.cache import ProofCache; from symrnn.lecture25 import hmm; "
            "print(ProofCache(sys.argv[1]).key(hmm.derivation(0).steps[-3], 'hmm', 0))")
    keys = {subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                           check=True).stdout.strip() for _ in range(2)}
    assert len(keys) == 1 and len(keys.pop()) == 64


def _damage(path: Path, how: str, other: Path) -> None:
    data = json.loads(path.read_text())
    if how == "truncated":
        path.write_text(path.read_text()[:40])
    elif how == "garbage":
        path.write_bytes(b"\x00\xff not json")
    elif how == "forged":  # a failure rewritten as a pass without a valid checksum
        data["outcome"]["passed"] = True
        path.write_text(json.dumps(data))
    elif how == "foreign":  # another key's valid entry put in this one's place
        other.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(other.read_text())
    elif how == "old format":
        data["format"] = "symrnn-proof-cache/0"
        path.write_text(json.dumps(data))


def test_a_damaged_entry_is_never_trusted(tmp_path):
    false = Step("false", "false", sp.Eq(a + 1, a), "no", Identity(a + 1, a))
    for how in ("truncated", "garbage", "forged", "foreign", "old format"):
        cache = ProofCache(tmp_path / how)
        [failed] = verify_all([_section(false)], cache=cache)
        verify_all([_section(_square())], cache=cache)
        path = cache._path(cache.key(false, "test", 0))
        other = cache._path(cache.key(_square(), "test", 0))
        _damage(path, how, other)
        [again] = verify_all([_section(false)], cache=cache)
        assert not again.cached and not again.passed and again.detail == failed.detail, how
        assert cache.get(cache.key(false, "test", 0)) is not None, how  # rewritten whole


def test_a_check_that_raised_is_not_stored(tmp_path):
    def boom(_rng):
        raise RuntimeError("kaput")

    cache = ProofCache(tmp_path)
    step = Step("s", "s", sp.Eq(a, a), "r", Computation(boom, "boom"))
    verify_all([_section(step)], cache=cache)
    assert not list(tmp_path.rglob("*.json"))


def _hammer(folder: str, key: str, n: int) -> None:
    cache = ProofCache(folder)
    for i in range(n):
        cache.put(key, Outcome(True, Evidence.SYMBOLIC, f"writer detail {i}"), 0.1)


def test_concurrent_writers_leave_a_whole_entry(tmp_path):
    key = "ab" * 32
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(str(tmp_path), key, 40)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    entry = ProofCache(tmp_path).get(key)
    assert entry is not None and entry.outcome.detail.startswith("writer detail")
    assert [p.name for p in (tmp_path / "proofs" / "ab").iterdir()] == [f"{key}.json"]


def test_cache_clear_removes_only_the_verdicts_and_made_files(tmp_path, capsys):
    from symrnn.core import artifacts

    verify_all([_section(_square())], cache=ProofCache(tmp_path))
    artifacts.made(ProofCache(tmp_path), "figure", ("f",), lambda: b"png")
    (tmp_path / "keep.txt").write_text("not ours")
    assert cli.main(["cache", "clear", "--cache", str(tmp_path)]) == 0
    assert "removed 2 cached entries" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
