"""Time ``symrnn build`` section by section (verification and documents, no PDF), in one run.

    python benchmarks/build_sections.py [section ...]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from symrnn.documents.build import build
from symrnn.lecture25 import SECTIONS


def main(argv: list[str]) -> int:
    names = argv or list(SECTIONS)
    times = {}
    with tempfile.TemporaryDirectory() as out:
        for name in names:
            start = time.perf_counter()
            res = build(Path(out) / name, [name], make_pdf=False)
            times[name] = time.perf_counter() - start
            passed = sum(r.passed for r in res.results)
            print(f"{name:6s} {times[name]:7.1f} s  {passed}/{len(res.results)} checks passed")
    total = sum(times.values())
    print(f"total  {total:7.1f} s; shares: " + ", ".join(f"{n} {t / total:.0%}" for n, t in times.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
