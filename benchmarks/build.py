"""Time ``symrnn build`` cold with one process, cold with the default number of workers, and warm, in one run.

    python benchmarks/build.py [--section NAME ...] [--pdf]

Each build is the command itself (``python -m symrnn build``, in a subprocess, so import time counts) with
``--out`` and ``--cache`` in a temporary folder: "cold" starts from an empty cache, "warm" reuses the cache the
default-jobs build filled.  Targets on a 2-core machine: cold <= 45 s, warm <= 5 s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from symrnn.core.schedule import default_jobs


def timed_build(out: Path, cache: Path, jobs: int | None, sections: list[str], pdf: bool) -> tuple[float, dict]:
    """Seconds taken by one ``symrnn build`` and its report."""
    cmd = [sys.executable, "-m", "symrnn", "build", "--out", str(out), "--cache", str(cache), "--quiet"]
    cmd += [] if jobs is None else ["--jobs", str(jobs)]
    cmd += [] if pdf else ["--no-pdf"]
    for s in sections:
        cmd += ["--section", s]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"build failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return seconds, json.loads((out / "report.json").read_text())


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--section", action="append", default=[])
    ap.add_argument("--pdf", action="store_true", help="typeset the PDF too (default: --no-pdf)")
    args = ap.parse_args(argv)
    jobs = default_jobs()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runs = {}
        for label, cache, n in (("cold, --jobs 1", "c1", 1), (f"cold, default jobs ({jobs})", "c2", None),
                                ("warm, default jobs", "c2", None)):
            runs[label] = timed_build(root / label.split(",")[0] / cache, root / cache, n, args.section, args.pdf)
            report = runs[label][1]
            cached = sum(c.get("cached", False) for c in report["checks"])
            counts = {e: sum(c["evidence"] == e for c in report["checks"]) for e in ("symbolic", "exact", "numeric")}
            print(f"{label:28s} {runs[label][0]:7.1f} s  {len(report['checks'])} checks ({counts['symbolic']} "
                  f"symbolic, {counts['exact']} exact, {counts['numeric']} numeric), {cached} cached", flush=True)
    (one, _), (par, _), (warm, _) = runs.values()
    print(f"ratios: jobs 1 / default jobs = {one / par:.2f}x, cold (default jobs) / warm = {par / warm:.1f}x, "
          f"cold (jobs 1) / warm = {one / warm:.1f}x")
    print(f"targets: cold <= 45 s: {'met' if par <= 45 else 'NOT met'} ({par:.1f} s); "
          f"warm <= 5 s: {'met' if warm <= 5 else 'NOT met'} ({warm:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
