"""Issue 11, the command line: hostile input ends in one named line on stderr and a documented exit status.

Every case runs ``python -m symrnn`` in a subprocess and checks the status, the message, that stderr holds no
traceback and that the output folder holds nothing half-written.  Time bounds are loose "did not hang" limits.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from symrnn import cli
from symrnn.documents import build as build_mod

HANG = 300  # seconds: only a hang exceeds this


def run(*args: str, timeout: float = HANG, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "symrnn", *args], capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def clean(proc: subprocess.CompletedProcess | subprocess.Popen, err: str, status: int) -> None:
    code = proc.returncode
    assert code == status, (code, err)
    assert "Traceback" not in err, err
    assert [line for line in err.splitlines() if "error:" in line], err


def leftovers(folder: Path) -> list[str]:
    """Temporary files (``.name.*.tmp``), latexmk folders (``.latex-*``) and write probes left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) if folder.exists() else []


# ---- options ---------------------------------------------------------------------------------------------------

BAD_OPTIONS = [
    (["gradcheck", "rnn", "--max-entries", "0"], "--max-entries"),
    (["gradcheck", "rnn", "--max-entries", "10001"], "--max-entries"),
    (["gradcheck", "rnn", "--n", "0"], "--n"),
    (["gradcheck", "rnn", "--T", "-1"], "--T"),
    (["gradcheck", "rnn", "--batch", "1e3"], "--batch"),
    (["gradcheck", "rnn", "--seed", "-1"], "--seed"),
    (["verify", "--jobs", "0"], "--jobs"),
    (["build", "--jobs", "x"], "--jobs"),
    (["tag", "--places", "13"], "--places"),
    (["tag", "--max-words", "0"], "--max-words"),
    (["tag", "--seconds", "0"], "--seconds"),
    (["tag", "--seconds", "nan"], "--seconds"),
    (["tag", "--seconds", "inf"], "--seconds"),
    (["tag", "--memory-mb", "-5"], "--memory-mb"),
    (["audit", "x.md", "--max-bytes", "0"], "--max-bytes"),
]


@pytest.mark.parametrize(("argv", "option"), BAD_OPTIONS, ids=[" ".join(a) for a, _ in BAD_OPTIONS])
def test_every_numeric_option_is_validated(argv, option, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert f"argument {option}" in err and "Traceback" not in err


def test_bad_option_in_a_subprocess():
    proc = run("gradcheck", "rnn", "--max-entries", "0")
    clean(proc, proc.stderr, 2)
    assert "argument --max-entries: must be between 1 and 10000, got 0" in proc.stderr


# ---- refused input ---------------------------------------------------------------------------------------------


def test_too_many_words_are_refused_before_any_work():
    start = time.monotonic()
    proc = run("tag", *(["John", "hit", "the", "ball"] * 2500))
    clean(proc, proc.stderr, 2)
    assert "10000 words: more than the limit of 1000 (--max-words raises it)" in proc.stderr
    assert time.monotonic() - start < 60  # did not tag (minutes)
    assert proc.stdout == ""


def test_max_words_lowers_the_limit():
    proc = run("tag", "John", "hit", "the", "ball", "--max-words", "3")
    clean(proc, proc.stderr, 2)
    assert "4 words: more than the limit of 3" in proc.stderr


@pytest.mark.parametrize("prior", ["1e999999999,0,0", "9" * 100 + ",0,0", "1,2", "__import__('os'),0,0", "1/0,0,1"])
def test_hostile_priors_are_refused_at_once(prior):
    proc = run("tag", "--prior", prior, timeout=60)
    clean(proc, proc.stderr, 2)
    assert "symrnn: error: prior" in proc.stderr


def test_unknown_word_is_a_named_error():
    proc = run("tag", "John", "ate")
    clean(proc, proc.stderr, 2)
    assert "ate" in proc.stderr


def test_a_slow_tagging_stops_at_the_time_budget():
    proc = run("tag", *(["John", "hit", "the", "ball"] * 250), "--seconds", "0.2")
    clean(proc, proc.stderr, 3)
    assert "ran past the limit of 0.2 s" in proc.stderr and "--seconds" in proc.stderr


# ---- output folders --------------------------------------------------------------------------------------------


def test_an_unwritable_out_fails_before_the_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    start = time.monotonic()
    proc = run("build", "--out", str(blocker / "out"), "--section", "hmm", "--jobs", "1", "--no-cache", "--no-pdf")
    clean(proc, proc.stderr, 2)
    assert f"symrnn: error: --out {blocker / 'out'}: cannot write there" in proc.stderr
    assert "checks passed" not in proc.stdout
    assert time.monotonic() - start < 15  # verifying hmm alone takes longer than this
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_read_only_out_is_refused(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes through permission bits")
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        proc = run("build", "--out", str(out), "--section", "hmm", "--no-pdf")
        clean(proc, proc.stderr, 2)
        assert "cannot write there" in proc.stderr and list(out.iterdir()) == []
    finally:
        out.chmod(stat.S_IRWXU)


def test_writable_folder_creates_and_leaves_nothing(tmp_path):
    target = tmp_path / "a" / "b"
    assert build_mod.writable_folder(target) == target
    assert list(target.iterdir()) == []


# ---- pipes -----------------------------------------------------------------------------------------------------


def test_audit_into_a_closed_pipe_keeps_its_status(tmp_path):
    """``symrnn audit FILE | head -1``: 3,000 findings (more than a pipe holds), some errors: exit 1, quietly."""
    doc = tmp_path / "bad.md"
    doc.write_text("\n\n".join(["$$1 + 1 = 2$$"] * 2000 + [r"$$\frac{1}{$$"] * 1000), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "symrnn", "audit", str(doc)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=HANG) == 1, err
    assert first.startswith(str(doc).encode()) and "Traceback" not in err and "Broken pipe" not in err


# ---- signals ---------------------------------------------------------------------------------------------------


def _default_signals() -> None:
    """In the child: Ctrl-C's default action, even when the suite runs in the background (where SIGINT is ignored
    and the ignoring is inherited)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _start(args: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "symrnn", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_signals, **kwargs)


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_ends_a_build_cleanly(tmp_path, sig, status):
    out = tmp_path / "out"
    proc = _start(["build", "--out", str(out), "--section", "hmm", "--jobs", "1", "--no-cache", "--no-pdf"])
    time.sleep(3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=HANG)
    clean(proc, err, status)
    assert ("interrupted" if sig == signal.SIGINT else "terminated") in err
    assert leftovers(out) == []
    assert not (out / "report.json").exists()  # the build was stopped before its last file


@pytest.mark.parametrize(("sig", "status", "delay"), [(signal.SIGINT, 130, 0.3), (signal.SIGINT, 130, 1.0),
                                                      (signal.SIGTERM, 143, 0.8)])
def test_a_signal_while_starting_up_is_quiet(sig, status, delay):
    """Ctrl-C or SIGTERM while SymPy is still importing: the same one line and status, no traceback."""
    proc = _start(["tag"])
    time.sleep(delay)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=HANG)
    if proc.returncode == 0:  # the machine was fast: the command had already finished
        assert "Traceback" not in err
        return
    clean(proc, err, status)
    assert err == f"symrnn: error: {'interrupted' if sig == signal.SIGINT else 'terminated by signal 15'}\n"


def test_sigterm_during_latexmk_removes_its_folder(tmp_path, verified):
    """A stand-in latexmk that records its pid and sleeps: SIGTERM then kills it and removes ``.latex-*``."""
    verified("hmm")
    bin_dir, out, marker = tmp_path / "bin", tmp_path / "out", tmp_path / "latexmk.pid"
    bin_dir.mkdir()
    fake = bin_dir / "latexmk"
    fake.write_text(f"#!/bin/sh\necho $$ > {marker}\nexec sleep 600\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = _start(["build", "--out", str(out), "--section", "hmm", "--jobs", "1"], env=env)  # the run's cache
    deadline = time.monotonic() + 2 * HANG  # a cold hmm section first
    while not marker.exists() or not marker.read_text().strip():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    assert [p.name for p in out.iterdir() if p.name.startswith(".latex-")]  # latexmk's folder exists now
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=HANG)
    clean(proc, err, 143)
    assert leftovers(out) == []
    pid = int(marker.read_text())
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the stand-in latexmk was killed, not left running


def test_span_and_total_time_limits_are_options_of_the_audit(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("".join(f"$x_{i} = {i}$\n" for i in range(1, 6)))
    capped = run("audit", str(doc), "--max-spans", "2")
    assert capped.returncode == 1 and "Traceback" not in capped.stderr
    assert "doc.md:3: error: not checked from here: 5 math spans, more than the limit of 2" in capped.stdout
    assert capped.stdout.count(": ok: ") == 2  # the first two spans are still read and reported
    stopped = run("audit", str(doc), "--total-seconds", "1e-6")
    assert stopped.returncode == 1
    assert "not checked from here: 5 of 5 math spans" in stopped.stdout and "--total-seconds" in stopped.stdout
    refused = run("audit", str(doc), "--max-spans", "0")
    assert refused.returncode == 2 and "--max-spans" in refused.stderr
