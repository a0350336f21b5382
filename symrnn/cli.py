"""The ``symrnn`` command line: ``build``, ``verify`` (and later sections' commands)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import build as build_mod
from .sections import SECTIONS
from .sections import derivations as build_derivations
from .verify import Result, verify_step


def _table(results: Sequence[Result], width: int = 72) -> str:
    rows = [("id", "statement", "evidence", "verdict")]
    for r in results:
        stmt = r.statement if len(r.statement) <= width else r.statement[: width - 3] + "..."
        rows.append((f"{r.section}/{r.id}", stmt, r.evidence, "pass" if r.passed else "FAIL"))
    widths = [max(len(row[c]) for row in rows) for c in range(4)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def cmd_build(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    res = build_mod.build(Path(args.out), args.section, args.seed, make_pdf=not args.no_pdf)
    failed = [r for r in res.results if not r.passed]
    levels = {lv: sum(r.evidence == lv for r in res.results) for lv in ("symbolic", "exact", "numeric")}
    print(f"symrnn build: {len(res.results) - len(failed)}/{len(res.results)} checks passed "
          f"({levels['symbolic']} symbolic, {levels['exact']} exact, {levels['numeric']} numeric) "
          f"in {time.perf_counter() - start:.1f} s")
    for r in failed:
        print(f"  FAILED {r.section}/{r.id}: {r.detail}")
    for msg in res.messages:
        print(f"  {msg}")
    for f in res.files:
        print(f"  wrote {f}")
    return 0 if res.ok else 1


def cmd_verify(args: argparse.Namespace) -> int:
    ders = build_derivations(args.section, args.seed)
    results = []
    for d in ders:
        for step in d.steps:
            results.append(verify_step(step, d.section, args.seed))
            if not args.json:
                print(f"  {d.section}/{step.id}: {'pass' if results[-1].passed else 'FAIL'}", file=sys.stderr)
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2, ensure_ascii=False))
    else:
        print(_table(results))
    return 0 if all(r.passed for r in results) else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="symrnn", description="Derive and verify the mathematics of Lecture 25 "
                                "(M. Hasegawa-Johnson, Recurrent Neural Networks, CC-BY 4.0).")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="verify every section and write the derivation document")
    b.add_argument("--out", default=str(build_mod.DEFAULT_OUT), help="output folder (default: ./build)")
    b.add_argument("--section", action="append", choices=list(SECTIONS), help="only this section (repeatable)")
    b.add_argument("--seed", type=int, default=0, help="seed for the random spot checks")
    b.add_argument("--no-pdf", action="store_true", help="skip the PDF even when latexmk is available")
    b.set_defaults(func=cmd_build)

    v = sub.add_parser("verify", help="run every check and print a table")
    v.add_argument("--section", action="append", choices=list(SECTIONS), help="only this section (repeatable)")
    v.add_argument("--json", action="store_true", help="print the results as JSON")
    v.add_argument("--seed", type=int, default=0, help="seed for the random spot checks")
    v.set_defaults(func=cmd_verify)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, KeyError, OSError) as exc:
        print(f"symrnn {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
