"""``symrnn audit`` on documents that define a recurrent cell: BPTT claims checked against the cell, every planted
error found at its line with a correct suggestion, no error on the clean twins (tests/data/audit_cells/SOURCES.md)."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import mpmath
import numpy as np
import pytest

from symrnn import audit, cli
from symrnn.audit.bptt_claims import compare
from symrnn.audit.cell_model import CellModel, find_aliases, parse_claim, read_model
from symrnn.latex.parse import DEFAULT_LIMITS

DATA = Path(__file__).parent / "data" / "audit_cells"
TWINS = ["elman_plain", "output_layer_bf", "lstm_plain", "gru_vec", "elman_boldsymbol", "superscript_nabla"]


def planted_in(data: Path) -> list[tuple[str, int, str]]:
    """(file, line, kind) of every planted error, as ``data/SOURCES.md`` lists them."""
    rows = re.findall(r"^\| `([a-z_]+_planted\.md)` \| (\d+) \| ([^|]+) \|$", (data / "SOURCES.md").read_text(),
                      re.M)
    return [(f, int(line), kind.strip()) for f, line, kind in rows]


@functools.cache
def audited(path: Path) -> tuple[audit.Finding, ...]:
    return tuple(audit.audit_text(path.read_text(encoding="utf-8")))


@functools.cache
def cell_model_of(path: Path) -> CellModel:
    source = path.read_text(encoding="utf-8")
    m = read_model(source)
    assert isinstance(m, CellModel), m
    find_aliases(m, source, DEFAULT_LIMITS)
    return m


def planted() -> list[tuple[str, int, str]]:
    return planted_in(DATA)


def findings(name: str) -> tuple[audit.Finding, ...]:
    return audited(DATA / name)


def model(name: str) -> CellModel:
    return cell_model_of(DATA / name)


def test_the_corpus_has_twenty_planted_errors_in_three_notations():
    assert_planted(DATA, TWINS, 20, ("missing transpose", "wrong time index", "missing sum", "dropped path",
                                     "wrong derivative of tanh", "lost factor"))
    texts = " ".join((DATA / f"{t}.md").read_text() for t in TWINS)
    assert all(mark in texts for mark in (r"\mathbf{h}", r"\vec{h}", r"\boldsymbol{h}", "h_{t-1}"))


def assert_planted(data: Path, twins: list[str], least: int, kinds: tuple[str, ...]) -> None:
    """At least ``least`` planted errors, in every twin, of every kind; a planted file differs from its twin exactly
    on the lines SOURCES.md lists (and its title)."""
    rows = planted_in(data)
    assert len(rows) >= least and {f for f, _, _ in rows} == {f"{t}_planted.md" for t in twins}
    written = " ".join(k for _, _, k in rows)
    assert all(kind in written for kind in kinds), [kind for kind in kinds if kind not in written]
    for twin in twins:
        clean = (data / f"{twin}.md").read_text().split("\n")
        dirty = (data / f"{twin}_planted.md").read_text().split("\n")
        lines = {line for f, line, _ in rows if f == f"{twin}_planted.md"}
        assert len(clean) == len(dirty)
        assert {n for n, (a, b) in enumerate(zip(clean, dirty), start=1) if a != b} == lines | {1}


@pytest.mark.parametrize("twin", TWINS)
def test_a_clean_twin_gets_no_error_and_its_claims_are_checked(twin):
    found = findings(f"{twin}.md")
    assert [f for f in found if f.level == "error"] == []
    assert [f for f in found if f.check == "internal"] == []
    assert len([f for f in found if f.check == "bptt" and f.level == "ok"]) >= 5


@pytest.mark.parametrize("row", planted(), ids=lambda r: f"{r[0]}:{r[1]}")
def test_every_planted_error_is_found_at_its_line_with_a_correct_suggestion(row):
    name, line, kind = row
    errors = [f for f in findings(name) if f.line == line and f.level == "error" and f.check == "bptt"]
    assert len(errors) == 1, (kind, [f for f in findings(name) if f.line == line])
    suggestion = errors[0].suggestion
    assert suggestion and "=" in suggestion
    # the suggestion, read back in the document's notation, holds on the cell (both sides evaluated independently)
    m = model(name)
    assert compare(m, parse_claim(m, suggestion, DEFAULT_LIMITS))[0] == "ok", suggestion


def test_the_planted_documents_have_no_other_error():
    for twin in TWINS:
        lines = {line for f, line, _ in planted() if f == f"{twin}_planted.md"}
        assert {f.line for f in findings(f"{twin}_planted.md") if f.level == "error"} == lines


def test_an_approximation_is_a_warning_not_an_error():
    [f] = [f for f in findings("elman_plain.md") if f.line == 29]
    assert (f.level, f.check) == ("warning", "bptt") and "approximation" in f.message


def test_the_instance_differentiates_like_the_engine():
    """The reference the claims are compared with (central differences through the unrolled cell) against the
    engine's BPTT on the same values: every parameter's gradient and dL/dh_t."""
    from symrnn.audit.unrolled import Instance
    from symrnn.autodiff import bptt
    from symrnn.derive.cell_reading import read_cell
    from symrnn.derive.checks import LOSSES

    for name, loss in (("elman_plain.md", "squared"), ("lstm_plain.md", "squared")):
        m = model(name)
        inst = Instance(m, seed=3)
        b = bptt.derive(read_cell((DATA / name).read_text()), LOSSES[loss]())
        with mpmath.workdps(50):
            run = bptt.run(b, inst.params, inst.xs, inst.ys, inst.h0, mode="mpmath")
            for p, g in run.grads.items():
                assert max(abs(x) for x in (np.asarray(g) - inst.gradient(p)).flat) < 1e-25, p
            for k in range(1, inst.T + 1):
                assert max(abs(x) for x in (run.deltas[k - 1]["h"] - inst.total("h", k)).flat) < 1e-25


def test_json_carries_the_suggestion(tmp_path, capsys):
    assert cli.main(["audit", str(DATA / "elman_plain_planted.md"), "--json"]) == 1
    rows = json.loads(capsys.readouterr().out)
    [row] = [r for r in rows if r["line"] == 13 and r["level"] == "error"]
    assert row["suggestion"].startswith(r"\frac{\partial L}{\partial h_t} = ")
    assert all("suggestion" not in r for r in rows if r["level"] == "ok")


def test_annotate_writes_a_copy_and_leaves_the_input_unchanged(tmp_path, capsys):
    source = tmp_path / "notes.md"
    text = (DATA / "gru_vec_planted.md").read_text()
    source.write_text(text)
    out = tmp_path / "notes.annotated.md"
    assert cli.main(["audit", str(source), "--annotate", str(out)]) == 1
    capsys.readouterr()
    assert source.read_text() == text
    lines = out.read_text().split("\n")
    at = lines.index(text.split("\n")[22])  # line 23: a planted error
    assert lines[at + 2].startswith("> **error** (line 23): ") and "Suggested: $" in lines[at + 2]
    assert [line for line in lines if not line.startswith("> ") and line] == [line for line in text.split("\n")
                                                                              if line]
    assert not list(tmp_path.glob(".*.tmp"))


def test_annotate_refuses_to_overwrite_the_input(tmp_path, capsys):
    source = tmp_path / "notes.md"
    text = (DATA / "elman_plain.md").read_text()
    source.write_text(text)
    assert cli.main(["audit", str(source), "--annotate", str(tmp_path / "." / "notes.md")]) == 2
    assert "names the file being audited" in capsys.readouterr().err
    assert source.read_text() == text


def test_a_document_without_a_loss_gets_warnings_not_errors():
    text = "\n".join(line for line in (DATA / "elman_plain_planted.md").read_text().split("\n")
                     if not line.startswith("$$L =") and "squared error" not in line)
    found = audit.audit_text(text)
    assert [f for f in found if f.level == "error" and f.check == "bptt"] == []
    assert any(f.check == "bptt" and f.level == "warning" and "no loss" in f.message for f in found)


def test_the_spans_that_define_the_model_say_so():
    """lstm_plain.md defines its gates and states on lines 5-15 and its loss on line 19 (read off the file)."""
    said = {f.line: f.message for f in findings("lstm_plain.md") if f.check == "equation"}
    for line, name in ((5, "f"), (7, "i"), (9, "o"), (11, "ctilde"), (13, "c"), (15, "h")):
        assert said[line].startswith(f"defines {name}_t: part of the cell"), said[line]
    assert said[19] == "defines the loss (squared error of h_t) the claims are checked against"


def test_a_span_that_only_names_a_symbol_is_no_claim():
    found = audit.audit_text(r"Here $\odot$ is the elementwise product and $\tanh$ the activation.")
    assert [(f.level, f.message) for f in found] == [
        ("ok", rf"names the symbol {s} in the prose, no claim") for s in (r"\odot", r"\tanh")]
    [unread] = audit.audit_text(r"Here $\odot x$ is not read.")
    assert unread.level == "unread"
