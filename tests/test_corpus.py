"""The recurrent-network corpus (``tests/data/corpus/``) and its reading benchmark (``benchmarks/read_corpus.py``).

Every corpus file is listed in ``SOURCES.md`` under an open licence and every entry names a file; each file is small
UTF-8 text with math; the benchmark runs on one file and prints its totals.  No reading percentage is asserted: the
parser is changing, and the benchmark is there to measure it.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "corpus"
SOURCES = CORPUS / "SOURCES.md"
BENCHMARK = ROOT / "benchmarks" / "read_corpus.py"

#: SPDX identifiers of the licences a corpus file may carry (open: copying and adapting allowed, commercial use too)
OPEN_LICENCES = frozenset({"CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "MIT", "Apache-2.0", "BSD-2-Clause",
                           "BSD-3-Clause"})
FIELDS = ("Title", "Authors", "Source", "Licence", "Removed")
MAX_BYTES = 200_000
MIN_SPANS = 5

_HEADING = re.compile(r"^## (.+?)\s*$", re.M)
# independent of the project's span finders on purpose: $$...$$ (any lines) or $...$ within one line
_DOLLAR_SPAN = re.compile(r"\$\$[^$]+\$\$|\$[^$\n]+\$")


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.is_file() and p.name != SOURCES.name)


def entries() -> dict[str, str]:
    """``SOURCES.md``'s entries: a ``## name`` heading and the text up to the next heading."""
    text = SOURCES.read_text(encoding="utf-8")
    heads = list(_HEADING.finditer(text))
    return {m.group(1): text[m.end():heads[i + 1].start() if i + 1 < len(heads) else len(text)]
            for i, m in enumerate(heads)}


def field_of(entry: str, name: str) -> str | None:
    m = re.search(rf"^- {name}: (.+)$", entry, re.M)
    return m.group(1).strip() if m else None


def test_corpus_is_there():
    files = corpus_files()
    assert SOURCES.is_file()
    assert len(files) >= 8, [p.name for p in files]
    assert sum(not p.name.startswith("variant-") for p in files) >= 5
    assert sum(p.name.startswith("variant-") for p in files) >= 3


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_every_file_has_an_entry_with_an_open_licence(path):
    entry = entries().get(path.name)
    assert entry is not None, f"{path.name} has no entry in SOURCES.md"
    for name in FIELDS:
        assert field_of(entry, name), f"{path.name}: SOURCES.md entry lacks '- {name}:'"
    licence = field_of(entry, "Licence").split()[0]
    assert licence in OPEN_LICENCES, f"{path.name}: licence {licence!r} is not in the allow-list"


def test_every_entry_names_an_existing_file():
    names = entries()
    assert names, "SOURCES.md has no entries"
    for name in names:
        assert (CORPUS / name).is_file(), f"SOURCES.md lists {name}, which is not in {CORPUS}"
    assert set(names) == {p.name for p in corpus_files()}


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_file_is_small_utf8_with_math(path):
    data = path.read_bytes()
    assert len(data) < MAX_BYTES, f"{path.name} is {len(data)} bytes"
    text = data.decode("utf-8")  # raises on anything but UTF-8
    spans = _DOLLAR_SPAN.findall(text)
    assert len(spans) >= MIN_SPANS, f"{path.name} has {len(spans)} $ spans"


def test_benchmark_runs_on_one_file():
    small = CORPUS / "labml-lstm.md"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, str(BENCHMARK), str(small)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert any(line.startswith(f"{small.name}: ") and " equations, " in line for line in lines), done.stdout
    totals = [line for line in lines if line.startswith("TOTAL: ")]
    assert len(totals) == 1, done.stdout
    assert re.match(r"TOTAL: 1 files, \d+ spans \(\d+ read\), \d+ equations, \d+ read \((\d+\.\d%|n/a)\), "
                    r"(?:[\d.]+|inf) spans/s$", totals[0]), totals[0]


@functools.cache
def _benchmark_module():
    """``benchmarks/read_corpus.py`` imported as a module (registered first: its dataclass needs ``sys.modules``)."""
    spec = importlib.util.spec_from_file_location("read_corpus", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("latex, expected", [
    (r"h_t = g(x_t)", True),
    (r"\mathbf{x}_t \in \mathbb{R}^d", True),
    (r"1 \leq t \leq T", True),
    (r"t < T", True),
    (r"u_{j,i} \leftarrow u_{j,i} - \eta \frac{\partial \Omega}{\partial u_{j,i}}", True),
    (r"\begin{aligned} a_t &= b_t, \\ c_t &= d_t \end{aligned}", True),
    (r"\begin{align*} c_t &= f_t c_{t-1} \end{align*}", True),
    (r"\underbrace{\left[\sum_{h_1} p(h_1)\right]}_{=: \pi_2(h_2)} p(x_2)", False),
    (r"\sum_{t=1}^T \ell(\mathbf{o}_t, y_t)", False),
    (r"P(Y_t = j | Y_{t-1} = i)", False),
    (r"\begin{bmatrix} 1 \text{ if } X_t = \text{ball} \end{bmatrix}", False),
    (r"\begin{cases} 1 & X_t = k \\ 0 & \text{otherwise} \end{cases}", False),
    (r"\int_0^\infty f(x) dx", False),
    (r"\{\ldots, (x_{t-1}, h_{t-1}, o_{t-1}), \ldots\}", False),
    (r"\mathbf{W}_{qh}", False),
])
def test_what_states_an_equation(latex, expected):
    assert _benchmark_module().states_equation(latex) is expected


#: real errors of public material as published (file -> {line: check}), each explained under "Known errors" in
#: tests/data/corpus/SOURCES.md and checked by finite differences in tests/test_audit_abstract.py
KNOWN_ERRORS = {"d2l-bptt.md": {47: "chain rule", 54: "chain rule"}}


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_the_audit_finds_no_error_in_correct_material(path):
    """Every corpus file is correct mathematics (public material as published, variants written correct) except
    the known real errors listed in SOURCES.md: what the audit cannot check is ``unread`` or a warning, never an
    ``error`` (a false alarm), and each known error is found at its line by the check that should find it."""
    from symrnn import audit

    errors = {f.line: f.check for f in audit.audit_text(path.read_text(encoding="utf-8")) if f.level == "error"}
    assert errors == KNOWN_ERRORS.get(path.name, {})


def test_the_known_errors_are_recorded_in_sources():
    text = (CORPUS / "SOURCES.md").read_text(encoding="utf-8")
    for name, lines in KNOWN_ERRORS.items():
        entry = text.split(f"## {name}")[1].split("\n## ")[0]
        assert "Known errors" in entry
        assert all(f"line {line}:" in entry for line in lines)
