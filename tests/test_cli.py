"""The command line and the build: files written whole, into the named folder only, exit codes that mean something."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

from symrnn import cli
from symrnn import lecture25 as sections
from symrnn.core.cache import ProofCache, default_folder
from symrnn.core.derivation import Derivation, Identity, Step
from symrnn.documents import build as build_mod

ROOT = Path(__file__).resolve().parent.parent


def symrnn_command() -> list[str]:
    exe = shutil.which("symrnn")
    return [exe] if exe else [sys.executable, "-m", "symrnn"]


@pytest.fixture(scope="module")
def built(tmp_path_factory, verified):
    """The main job, as a newcomer runs it: ``symrnn build`` with no arguments, from an unrelated folder (its
    verdicts read back from the run's cache, where ``verified`` put them)."""
    for name in sections.SECTIONS:
        verified(name)
    cwd = tmp_path_factory.mktemp("elsewhere")
    proc = subprocess.run(symrnn_command() + ["build"], cwd=cwd, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")})
    return cwd, proc


def test_build_writes_the_document_and_the_report(built):
    cwd, proc = built
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = cwd / "build"
    names = {p.name for p in out.iterdir()}
    assert {"lecture25.md", "lecture25.tex", "report.json"} <= names
    assert not [n for n in names if n.startswith(".")], "temporary files left behind"
    if shutil.which("latexmk"):
        assert (out / "lecture25.pdf").read_bytes().startswith(b"%PDF")
    report = json.loads((out / "report.json").read_text())
    assert report["passed"] is True and report["checks"]
    assert {c["section"] for c in report["checks"]} >= {"hmm"}
    assert all(c["evidence"] in {"symbolic", "exact", "numeric"} for c in report["checks"])
    md = (out / "lecture25.md").read_text()
    assert "CC-BY 4.0" in md and "Hasegawa-Johnson" in md
    assert "checks passed" in proc.stdout


def test_verify_json_lists_every_check(capsys, verified):
    verified("hmm")
    assert cli.main(["verify", "--section", "hmm", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    ids = {r["id"] for r in rows}
    assert {"factorisation", "bp-definition", "viterbi-path", "log-bp"} <= ids
    for r in rows:
        assert set(r) >= {"id", "section", "statement", "evidence", "passed"}
        assert r["section"] == "hmm" and r["passed"] is True


def test_verify_table(capsys, verified):
    verified("hmm")
    assert cli.main(["verify", "--section", "hmm"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["id", "statement", "evidence", "verdict"]
    assert "hmm/factorisation" in out


def _bad_section(_seed: int = 0) -> Derivation:
    a = sp.Symbol("a", positive=True)
    return Derivation("bad", "A wrong claim", "", [Step("wrong", "wrong", sp.Eq(a + 1, a), "no", Identity(a + 1, a))])


def test_a_failing_check_makes_the_exit_status_non_zero(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sections.SECTIONS, "bad", _bad_section)
    assert cli.main(["verify", "--section", "bad"]) == 1
    assert cli.main(["build", "--section", "bad", "--out", str(tmp_path / "o"), "--no-pdf"]) == 1
    assert "FAILED bad/wrong" in capsys.readouterr().out
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["passed"] is False


def test_unknown_section_is_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["verify", "--section", "nope"])
    assert exc.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_interrupted_write_leaves_no_file(tmp_path, monkeypatch):
    target = tmp_path / "doc.md"
    target.write_text("old")

    def interrupted(*_args):
        raise KeyboardInterrupt

    monkeypatch.setattr(build_mod.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_mod.write_atomic(target, "new text")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["doc.md"]


def test_build_writes_only_into_the_output_folder(tmp_path, monkeypatch, verified):
    verified("hmm")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    res = build_mod.build(out, ["hmm"], make_pdf=False, cache=ProofCache(default_folder()))  # the run's cache
    assert res.ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert all(f.parent == out for f in res.files)


def test_teaching_script_runs(verified):
    verified("hmm")  # the script reads the verdicts back from the run's cache
    proc = subprocess.run([sys.executable, str(ROOT / "derivations" / "belief_propagation.py"), "1", "2", "3"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "Viterbi path" in proc.stdout and "FAILED" not in proc.stdout
    assert r"\prod_{t=1}^{T}" in proc.stdout
    bad = subprocess.run([sys.executable, str(ROOT / "derivations" / "belief_propagation.py"), "9"],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "expected a word or an index in 1..3" in bad.stderr


def test_a_reader_that_stops_early_is_not_an_error():
    """``symrnn tag ... --json | head -1``: the closed pipe ends the command quietly, exit status 0.

    160 words make about 280 kB of JSON, more than a pipe holds, so the command is still writing when it closes."""
    proc = subprocess.Popen(symrnn_command() + ["tag", *["John", "hit", "the", "ball"] * 40, "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0 and first.strip() == b"{" and "Broken pipe" not in err, err


def test_jobs_must_be_positive(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["verify", "--section", "hmm", "--jobs", "0"])
    assert exc.value.code == 2
    assert "argument --jobs: must be between 1 and 256, got 0" in capsys.readouterr().err


def test_cache_path_follows_xdg(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cli.main(["cache", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "symrnn" / "proofs")
