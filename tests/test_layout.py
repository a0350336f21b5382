"""The package's shape, read from its files: every module named in docs/design.md, small modules and functions, and
the parser free of the verifier."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "symrnn"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name not in ("__init__.py", "__main__.py"))


def test_design_doc_names_every_module():
    design = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    missing = [str(p.relative_to(PACKAGE)) for p in _modules() if f"`{p.relative_to(PACKAGE)}`" not in design]
    assert not missing, f"docs/design.md does not name: {missing}"


def test_design_doc_names_no_module_that_is_gone():
    design = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    named = {line.split("`")[1] for line in design.splitlines() if line.startswith("| `") and ".py`" in line}
    assert named, "the module table is missing"
    assert not [n for n in named if not (PACKAGE / n).exists()]


def test_no_module_over_the_limit():
    long = {str(p.relative_to(PACKAGE)): n for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long


def test_no_function_over_the_limit():
    long = []
    for path in [*_modules(), *PACKAGE.rglob("__init__.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = node.end_lineno - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({size} lines)")
    assert not long


def test_the_parser_loads_no_verifier():
    code = ("import sys, symrnn.latex.parse as p; p.parse(r'\\vec{h}_t = U \\vec{h}_{t-1}');"
            "print(sorted(m for m in sys.modules if m.startswith(('symrnn.core.verify', 'symrnn.audit'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
