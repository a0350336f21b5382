"""Progress goes to stderr only: live on a terminal, a line per section otherwise, nothing with --quiet."""

from __future__ import annotations

import io
import json

import sympy as sp

from symrnn import cli
from symrnn.core import progress
from symrnn.core.derivation import Derivation, Identity, Step
from symrnn.core.schedule import verify_all

a = sp.Symbol("a", positive=True)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _sections() -> list[Derivation]:
    def step(i: int) -> Step:
        return Step(f"s{i}", f"step {i}", sp.Eq(a * i, i * a), "r", Identity(a * i, i * a))

    return [Derivation("one", "1", "", [step(1), step(2)]), Derivation("two", "2", "", [step(3)])]


def test_the_display_fits_the_stream():
    assert isinstance(progress.display(quiet=True, stream=_Terminal()), progress.Silent)
    assert isinstance(progress.display(stream=_Terminal()), progress.Live)
    assert isinstance(progress.display(stream=io.StringIO()), progress.Lines)


def test_plain_lines_one_per_section():
    stream = io.StringIO()
    results = verify_all(_sections(), progress=progress.display(stream=stream, label="t"))
    lines = stream.getvalue().splitlines()
    assert len(results) == 3 and len(lines) == 2
    assert lines[0].startswith("t: one 2/2 checks passed (0 cached) in ")
    assert lines[1].startswith("t: two 1/1 checks passed (0 cached) in ")


def test_live_display_names_sections_and_counts():
    stream = _Terminal()
    verify_all(_sections(), progress=progress.display(stream=stream))
    shown = stream.getvalue()
    assert "one" in shown and "two" in shown and "2/2" in shown and "1/1" in shown


def test_stdout_and_json_do_not_depend_on_progress(capsys, verified):
    verified("rnn")
    args = ["verify", "--section", "rnn", "--json"]  # the run's cache
    assert cli.main(args) == 0
    shown = capsys.readouterr()
    assert cli.main([*args, "--quiet"]) == 0
    quiet = capsys.readouterr()
    assert quiet.err == "" and shown.err.startswith("symrnn verify: rnn 32/32 checks passed")
    rows, quiet_rows = json.loads(shown.out), json.loads(quiet.out)
    keep = ("id", "section", "title", "statement", "evidence", "passed", "detail")
    assert [{k: r[k] for k in keep} for r in rows] == [{k: r[k] for k in keep} for r in quiet_rows]
