"""Time ``symrnn audit`` on a ~500-line document in a fresh process, against the issue's budget of 30 s.

    python benchmarks/audit_speed.py [--lines 500] [--rounds 1] [--keep PATH]

The document is built from material symrnn ships or tests with: the bundled Lecture 25 (``symrnn/lecture25/*.md``),
then the HMM documents of ``tests/data/audit_hmm/`` and the corpus variants of ``tests/data/corpus/variant-*.md``,
each under its own heading, taken whole in that order until the document reaches ``--lines`` (the last piece cut at a
blank line).  Each round runs ``python -m symrnn audit FILE --json`` in a new process (imports, reading, the model
and every check included), with the default budget; the best wall time is printed with its ratio to 30 s, and the
counts of findings by level from the last round.  The document is written to a temporary file (``--keep PATH``:
there instead, and kept).

Not a test: the time depends on the machine and its load.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_SECONDS = 30.0
SOURCES = [*sorted((ROOT / "symrnn" / "lecture25").glob("*.md")),
           *sorted(p for p in (ROOT / "tests" / "data" / "audit_hmm").glob("*.md") if p.name != "SOURCES.md"),
           *sorted((ROOT / "tests" / "data" / "corpus").glob("variant-*.md"))]


def document(lines: int) -> str:
    """About ``lines`` lines of real material: whole files in order, the last one cut at a blank line."""
    out: list[str] = []
    for path in SOURCES:
        if len(out) >= lines:
            break
        text = path.read_text(encoding="utf-8").splitlines()
        piece = [f"# From {path.relative_to(ROOT)}", "", *text, ""]
        room = lines - len(out)
        if len(piece) > room:
            blanks = [n for n in range(room) if not piece[n].strip()]
            piece = piece[:blanks[-1] + 1] if blanks else []
        out += piece
    return "\n".join(out) + "\n"


def audit_once(path: Path) -> tuple[float, list[dict]]:
    """Wall time of one audit in a fresh process, and its findings."""
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "symrnn", "audit", str(path), "--json"], capture_output=True,
                         text=True, cwd=ROOT, check=False)
    seconds = time.perf_counter() - start
    if run.returncode not in (0, 1):
        raise SystemExit(f"symrnn audit failed ({run.returncode}): {run.stderr.strip()[-400:]}")
    return seconds, json.loads(run.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=500, help="the document's length (default 500)")
    parser.add_argument("--rounds", type=int, default=1, help="audits to time; the best is reported (default 1)")
    parser.add_argument("--keep", type=Path, default=None, help="write the document here and keep it")
    args = parser.parse_args(argv)
    text = document(args.lines)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "audit_speed.md"
        path.write_text(text, encoding="utf-8")
        n_lines = len(text.splitlines())
        print(f"document: {n_lines} lines, {len(text.encode())} bytes, from {len(SOURCES)} source files")
        times, found = [], []
        for _ in range(max(args.rounds, 1)):
            seconds, found = audit_once(path)
            times.append(seconds)
    best = min(times)
    counts = collections.Counter(f["level"] for f in found)
    print("findings: " + ", ".join(f"{counts[lv]} {lv}" for lv in ("ok", "warning", "error", "unread")))
    print(f"audit time: {best:.2f} s (best of {len(times)}), {best / BUDGET_SECONDS:.2f} of the {BUDGET_SECONDS:g} s "
          f"budget; {1000 * best / n_lines:.1f} ms per line")
    return 0


if __name__ == "__main__":
    sys.exit(main())
