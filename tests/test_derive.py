"""``symrnn derive FILE``: an Elman cell and a GRU written in LaTeX are derived into a folder; every check passes,
the files are there and nothing is written elsewhere; the standalone ``NAME_bptt.py``, run with only NumPy (symrnn,
SymPy and torch unimportable), equals ``compile_bptt`` and torch autograd of an independent torch implementation;
a bad cell and an unwritable folder end with exit status 2 and one line.

The Elman cell gets the full checks; the GRU gets ``--quick`` (the same checks, smaller: the full GRU takes about
40 s of two cores, measured in the README) to keep this module near a minute."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from symrnn import cli
from symrnn.autodiff.training import compile_bptt
from symrnn.core.fingerprint import package_source
from symrnn.derive import read_cell
from symrnn.models import losses

ROOT = Path(__file__).resolve().parent.parent
T, B = 5, 3
TOL = 1e-10

ELMAN = r"""
# An Elman network

Sizes: $\mathbf{x}_t \in \mathbb{R}^d$, $\mathbf{h}_t \in \mathbb{R}^h$,
$\mathbf{W}_{hh} \in \mathbb{R}^{h \times h}$, $\mathbf{W}_{hx} \in \mathbb{R}^{h \times d}$,
$\mathbf{b}_h \in \mathbb{R}^h$.

$$\mathbf{h}_t = \tanh(\mathbf{W}_{hh}\mathbf{h}_{t-1} + \mathbf{W}_{hx}\mathbf{x}_t + \mathbf{b}_h)$$
"""

GRU = r"""
The GRU as torch documents it, in plain letters:

$$r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr})$$
$$z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz})$$
$$n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn}))$$
$$h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$$
"""

BAD = "A cell with a gate nobody defines:\n\n$$h_t = \\tanh(W h_{t-1} + g_t)$$\n"

CELLS = {"elman": (ELMAN, []), "gru": (GRU, ["--quick", "--n", "3", "--d", "2"])}


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.fixture(scope="module")
def derived(tmp_path_factory):
    """Both cells derived by the command into ``work/out``, from ``work`` as the current folder."""
    import os

    work = tmp_path_factory.mktemp("derive")
    for name, (text, _) in CELLS.items():
        (work / f"{name}.md").write_text(text, encoding="utf-8")
    before, cwd, source = _listing(work), os.getcwd(), package_source()
    os.chdir(work)
    runs = {}
    try:
        for name, (_, options) in CELLS.items():
            start = time.perf_counter()
            status = cli.main(["derive", f"{name}.md", "--out", "out", "--jobs", "2", "--quiet", *options])
            runs[name] = (status, time.perf_counter() - start)
    finally:
        os.chdir(cwd)
    return work, before, runs, source


def test_every_check_passes_and_the_files_are_written(derived):
    work, _, runs, _ = derived
    out = work / "out"
    for name in CELLS:
        assert runs[name][0] == 0, name
        for suffix in (".md", ".tex", ".html", "_bptt.py"):
            assert (out / f"{name}{suffix}").stat().st_size > 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))  # the last cell derived: the GRU
    assert report["name"] == "gru" and report["passed"] and report["quick"]
    assert report["sizes"] == {"N": 3, "D": 2, "Q": 3} and report["states"] == ["h"]
    ids = [c["id"] for c in report["checks"]]
    assert ids[:6] == ["cell", "unrolled", "loss", "delta", "errors", "rho-h"]
    assert ids[-3:] == ["exact", "code", "torch"]  # torch is installed with the test extra
    assert {f"grad-{p}" for p in report["params"]} == set(ids[6:-3])
    assert all(c["passed"] for c in report["checks"])
    evidence = {c["id"]: c["evidence"] for c in report["checks"]}
    assert evidence.pop("unrolled") == "numeric" and evidence.pop("exact") == "exact"  # 60 digits; rationals
    assert set(evidence.values()) == {"symbolic", "numeric"} and evidence["code"] == evidence["torch"] == "numeric"
    md = (out / "gru.md").read_text(encoding="utf-8")
    assert "### 1. The cell as read" in md and r"z_{t} = \sigma" in md and r"\vec{z}" not in md and "FAILED" not in md
    assert r"\frac{d\mathfrak{L}}{dW_{hn}} = \sum_{t=1}^{T}" in md


def test_nothing_is_written_outside_the_folder(derived):
    work, before, _, _ = derived
    written = _listing(work) - before
    assert written and all(p == "out" or p.startswith("out/") for p in written)
    assert not [p for p in written if Path(p).name.startswith(".")]  # no temporary file or .latex- folder left
    if any(p.endswith(".pdf") for p in written):
        assert {"out/elman.pdf", "out/gru.pdf"} <= written


def test_a_second_run_reads_every_verdict_from_the_cache(derived, tmp_path, capsys):
    work, _, _, source = derived
    capsys.readouterr()
    assert cli.main(["derive", str(work / "elman.md"), "--out", str(tmp_path / "again"), "--json", "--quiet",
                     "--no-pdf", "--jobs", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and report["name"] == "elman"
    assert report["params"] == {"W_hh": [2, 2], "W_hx": [2, 3], "b_h": [2, 1]}
    assert (tmp_path / "again" / "elman_bptt.py").read_text() == (work / "out" / "elman_bptt.py").read_text()
    if package_source() != source:  # every verdict's key holds symrnn's source: an edit meanwhile is a new key
        pytest.skip("symrnn's source changed while this module ran")
    assert all(c["cached"] for c in report["checks"]), [(c["id"], c["cached"]) for c in report["checks"]]


# ---- the standalone module --------------------------------------------------------------------------------------

_RUN = r"""
import importlib.abc, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("symrnn", "sympy", "mpmath", "torch"):
            raise ImportError(f"{name} is not allowed here")
sys.meta_path.insert(0, Refuse())
folder, name, data, result = sys.argv[1:]
sys.path.insert(0, folder)
import numpy
module = __import__(name)
d = numpy.load(data)
params = {k[2:]: d[k] for k in d.files if k.startswith("p_")}
assert set(params) == set(module.PARAMS) and all(params[k].shape == s for k, s in module.PARAMS.items())
assert set(module.init_params(0)) == set(module.PARAMS)
loss, grads = module.loss_and_grads(params, d["xs"], d["ys"])
states = module.forward(params, d["xs"])
numpy.savez(result, loss=loss, h=states[module.OUTPUT], **{"g_" + k: v for k, v in grads.items()})
print(sorted(m for m in sys.modules if m.split(".")[0] in ("symrnn", "sympy", "mpmath", "torch")))
"""


def _data(cell, seed: int):
    rng = np.random.default_rng(seed)
    params = {p.name: rng.normal(scale=0.6, size=(p.rows, p.cols)) for p in cell.params}
    return params, rng.normal(size=(T, cell.n_input, B)), rng.normal(size=(T, cell.n_state, B))


def _standalone(folder: Path, name: str, params, xs, ys, tmp_path: Path):
    data, result = tmp_path / f"{name}-in.npz", tmp_path / f"{name}-out.npz"
    np.savez(data, xs=xs, ys=ys, **{f"p_{k}": v for k, v in params.items()})
    proc = subprocess.run([sys.executable, "-I", "-c", _RUN, str(folder), f"{name}_bptt", str(data), str(result)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"  # nothing of symrnn, SymPy, mpmath or torch was imported
    out = np.load(result)
    return float(out["loss"]), {k[2:]: out[k] for k in out.files if k.startswith("g_")}, out["h"]


def _close(loss, grads, want_loss, want_grads):
    assert set(grads) == set(want_grads)
    assert abs(loss - want_loss) <= TOL * max(1.0, abs(want_loss))
    for k, g in grads.items():
        np.testing.assert_allclose(g, want_grads[k], rtol=TOL, atol=TOL, err_msg=k)


def _torch_loss(step, params, xs, ys, n):
    """Squared error summed over t and the batch, the states from ``step(p, h, x)``; gradients by autograd."""
    import torch

    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    h, total = torch.zeros(n, xs.shape[2], dtype=torch.float64), torch.zeros((), dtype=torch.float64)
    for t in range(xs.shape[0]):
        h = step(p, h, torch.tensor(xs[t]))
        total = total + 0.5 * ((h - torch.tensor(ys[t])) ** 2).sum()
    total.backward()
    return total.item(), {k: v.grad.numpy() for k, v in p.items()}


def _elman_torch(p, h, x):
    import torch

    return torch.tanh(p["W_hh"] @ h + p["W_hx"] @ x + p["b_h"])


def _gru_torch(p, h, x):
    import torch

    r = torch.sigmoid(p["W_ir"] @ x + p["b_ir"] + p["W_hr"] @ h + p["b_hr"])
    z = torch.sigmoid(p["W_iz"] @ x + p["b_iz"] + p["W_hz"] @ h + p["b_hz"])
    n = torch.tanh(p["W_in"] @ x + p["b_in"] + r * (p["W_hn"] @ h + p["b_hn"]))
    return (1 - z) * n + z * h


@pytest.mark.parametrize("name, step, sizes", [("elman", _elman_torch, {}),
                                               ("gru", _gru_torch, {"n_state": 3, "n_input": 2})])
def test_the_standalone_module_equals_compile_bptt_and_torch(derived, tmp_path, name, step, sizes):
    pytest.importorskip("torch")
    work, _, _, _ = derived
    cell = read_cell(CELLS[name][0], name, **sizes)
    params, xs, ys = _data(cell, 7)
    loss, grads, h = _standalone(work / "out", name, params, xs, ys, tmp_path)
    compiled = compile_bptt(cell, losses.squared_error())
    _close(loss, grads, *compiled.loss_and_grads(params, xs, ys))
    np.testing.assert_allclose(h, compiled.forward(params, xs)["h"], rtol=TOL, atol=TOL)
    _close(loss, grads, *_torch_loss(step, params, xs, ys, cell.n_state))


def test_the_standalone_module_reads_well(derived):
    work, _, _, _ = derived
    source = (work / "out" / "gru_bptt.py").read_text(encoding="utf-8")
    assert source.startswith('r"""gru: back-propagation through time') and "\nimport numpy\n" in source
    assert r"n_{t} = \tanh" in source and "dL/dW_hn +=" in source  # the equations, in the docstring
    assert "'W_ir': 'W_{ir}'" in source.split("LATEX_NAMES = ")[1].split("\n")[0]
    imports = [n for n in ast.walk(ast.parse(source)) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert [(type(n).__name__, [a.name for a in n.names]) for n in imports] == [("Import", ["numpy"])]


# ---- refusals ------------------------------------------------------------------------------------------------------


def test_a_bad_cell_is_one_line_naming_the_line(tmp_path, capsys):
    (tmp_path / "bad.md").write_text(BAD, encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["derive", str(tmp_path / "bad.md"), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("symrnn: error: line 3: g_t is used")
    assert not list(out.iterdir())  # nothing written
    assert cli.main(["derive", str(tmp_path / "missing.md"), "--out", str(out)]) == 2
    assert "missing.md: no such file" in capsys.readouterr().err
    assert cli.main(["derive", str(tmp_path / "bad.md"), "--out", str(out), "--name", "class"]) == 2
    assert "--name 'class'" in capsys.readouterr().err
    (tmp_path / "elman.md").write_text(ELMAN, encoding="utf-8")
    assert cli.main(["derive", str(tmp_path / "elman.md"), "--out", str(out), "--loss", "cross-entropy"]) == 2
    assert capsys.readouterr().err.startswith("symrnn: error: line 8: --loss cross-entropy reads h_t as probabilities")
    assert not list(out.iterdir())


def test_an_unwritable_out_fails_before_any_work(tmp_path, capsys):
    (tmp_path / "bad.md").write_text(BAD, encoding="utf-8")
    (tmp_path / "file").write_text("not a folder")
    start = time.perf_counter()
    status = cli.main(["derive", str(tmp_path / "bad.md"), "--out", str(tmp_path / "file" / "out")])
    err = capsys.readouterr().err
    assert status == 2 and time.perf_counter() - start < 5
    assert err.count("\n") == 1 and err.startswith("symrnn: error: --out") and "cannot write there" in err


def test_the_teaching_script(derived):
    work, _, _, _ = derived
    proc = subprocess.run([sys.executable, str(ROOT / "derivations" / "your_cell.py"), str(work / "elman.md"),
                           "--T", "3"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert r"\boldsymbol{\rho}_{t - 1} = \mathbf{W}_{hh}^{T}" in proc.stdout and "dL/dW_hx:" in proc.stdout  # bold
    assert re.findall(r"^  (\w+): +passed: ", proc.stdout, re.M) == ["symbolic", "exact", "numeric"]
    layered = work / "layered.md"  # an output layer (a state nothing feeds back) and an averaged loss equation
    layered.write_text("$$h_t = \\tanh(W h_{t-1} + U x_t + b)$$\n$$o_t = V h_t$$\n"
                       "$$L = \\frac{1}{T}\\sum_t \\frac{1}{2}\\|o_t - y_t\\|^2$$\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, str(ROOT / "derivations" / "your_cell.py"), str(layered), "--T", "3"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "from the equation on line 3" in proc.stdout and r"\frac{1}{T}" in proc.stdout
    assert re.findall(r"^  (\w+): +passed: ", proc.stdout, re.M) == ["symbolic", "exact", "numeric"]
    bad = subprocess.run([sys.executable, str(ROOT / "derivations" / "your_cell.py"), str(work / "nothing.md")],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "no such file" in bad.stderr


def test_the_package_is_callable_on_a_text_or_a_path(tmp_path):
    import symrnn

    cell = tmp_path / "mine.md"
    cell.write_text(r"$$\vec{h}_t = \tanh(U\vec{h}_{t-1} + W\vec{x}_t)$$", encoding="utf-8")
    res = symrnn.derive(cell, out=tmp_path / "a", quick=True, make_pdf=False)
    assert res.ok and {f.name for f in res.files} == {"mine.md", "mine.tex", "mine.html", "mine_bptt.py",
                                                      "report.json"}
    res = symrnn.derive(cell.read_text(encoding="utf-8"), "squared", tmp_path / "b", name="el", quick=True,
                        make_pdf=False)
    report = json.loads((tmp_path / "b" / "report.json").read_text(encoding="utf-8"))
    assert res.ok and report["name"] == "el" and report["passed"]
    assert symrnn.derive.read_cell is not None  # the package's modules stay reachable


def test_a_real_browser_draws_the_derived_page(derived, tmp_path):
    from test_html import _browser, _chromium  # tests/ is on the path (pytest rootdir importing)

    exe = _chromium()
    if exe is None:
        pytest.skip("no chromium or chromium-browser on PATH (CI installs Debian's chromium)")
    page = derived[0] / "out" / "gru.html"
    text = page.read_text(encoding="utf-8")
    statements = [c["statement"] for c in json.loads((derived[0] / "out" / "report.json").read_text())["checks"]]
    assert text.count("<math") >= len(statements) and "$$" not in text and "<script" not in text
    dom = _browser(exe, tmp_path / "profile", "--dump-dom", page.resolve().as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<math") == text.count("<math") and "<merror" not in dom.stdout
    shot = tmp_path / "page.png"
    drawn = _browser(exe, tmp_path / "profile-2", f"--screenshot={shot}", "--window-size=1000,1400",
                     page.resolve().as_uri())
    assert drawn.returncode == 0 and shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000
    assert [line for line in (dom.stderr + drawn.stderr).splitlines() if ":CONSOLE" in line] == []


def test_the_derived_pdf_has_no_raw_tex_in_its_text(derived):
    """Every name in the prose (the user's states, parameters) is typeset: the PDF's text shows no ``_``, ``^`` or
    ``\\`` but in code, the user's own lines quoted as written and the generated module's file name."""
    import shutil
    import subprocess

    if shutil.which("pdftotext") is None or not (derived[0] / "out" / "gru.pdf").exists():
        pytest.skip("no pdftotext, or no PDF (latexmk missing)")
    for name in CELLS:
        text = subprocess.run(["pdftotext", str(derived[0] / "out" / f"{name}.pdf"), "-"], capture_output=True,
                              text=True, check=True, timeout=60).stdout
        quoted = CELLS[name][0]
        lines = [line.replace(f"{name}_bptt.py", "") for line in text.splitlines()]
        raw = [line for line in lines if any(c in line for c in "_^\\")
               and line.split(": ", 1)[-1].strip() not in quoted]
        assert len(text) > 1000 and raw == [], raw[:5]
