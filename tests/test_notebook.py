"""Notebook display of steps, derivations and results, and docs/tutorial.ipynb executed cell by cell."""

from __future__ import annotations

from pathlib import Path

import pytest
import sympy as sp

from symrnn.core.derivation import Derivation, Figure, Identity, Instances, Step
from symrnn.core.verify import verify_step

TUTORIAL = Path(__file__).resolve().parent.parent / "docs" / "tutorial.ipynb"
x = sp.Symbol("x")


def _step(reason: str = "Twice x is x plus x.") -> Step:
    return Step("double", "Doubling", sp.Eq(x + x, 2 * x), reason, Identity(x + x, 2 * x),
                lecture_note="The lecture writes 2x.")


def test_a_step_shows_its_statement_reason_and_check():
    md = _step()._repr_markdown_()
    assert "$$\n2 x = 2 x\n$$" in md or "$$\n" in md
    assert "**Doubling** (`double`)" in md and "Twice x is x plus x." in md
    assert "an identity" in md and "not run yet" in md and "The lecture writes 2x." in md
    assert _step()._repr_latex_().startswith("$$\n") and _step()._repr_latex_().endswith("\n$$")


def test_prose_is_escaped_for_markdown_but_inline_maths_kept():
    md = _step("a *b* <i>c</i> h_{t-1} costs $x$ and [link](y)")._repr_markdown_()
    assert r"a \*b\* \<i>c\</i> h\_{t-1} costs $x$ and \[link\](y)" in md


def test_a_result_shows_its_verdict():
    step = _step()
    result = verify_step(step, "toy")
    md = result._repr_markdown_()
    assert md.count("$$") == 2 and result.statement in md
    assert "*Check (symbolic):* passed." in md
    assert r"\text{(symbolic: passed)}" in result._repr_latex_()
    failed = verify_step(Step("wrong", "Wrong", sp.Eq(x, 2 * x), "No.", Identity(x, 2 * x)), "toy")
    assert "**FAILED**" in failed._repr_markdown_() and "FAILED" in failed._repr_latex_()


def test_a_derivation_shows_every_step():
    d = Derivation("toy", "A toy", "Intro.", [_step(), Step("other", "Other", sp.Eq(x, x), "Trivially.",
                                                          Instances(lambda: [], "none"))],
                   notes=["A note."], figures=[Figure("fig", "A figure.", lambda: None)])
    md = d._repr_markdown_()
    assert md.startswith("### A toy (`toy`)") and md.count("$$") == 4
    assert "**1. Doubling**" in md and "**2. Other**" in md and "> A note." in md and "A figure." in md


def test_the_tutorial_runs(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(TUTORIAL, as_version=4)
    nbformat.validate(notebook)
    client = nbclient.NotebookClient(notebook, timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, if any cell errors
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    shown = [o for o in outputs if "text/markdown" in o.get("data", {})]
    assert len(shown) >= 5  # the section, the steps and the results displayed themselves
    assert any("*Check (symbolic):* passed." in o["data"]["text/markdown"] for o in shown)
    assert not list(tmp_path.iterdir()), "the tutorial wrote files"
