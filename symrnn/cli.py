"""The ``symrnn`` command line: ``build``, ``verify``, ``tag`` (and later sections' commands)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from symrnn.core.verify import Result, verify_step
from symrnn.documents import build as build_mod
from symrnn.lecture25 import SECTIONS
from symrnn.lecture25 import derivations as build_derivations
from symrnn.models import nonlinearities, pos_tagging


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
    return 0 if res.ok and not res.pdf_failed else 1


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


def cmd_tag(args: argparse.Namespace) -> int:
    """Tag a sentence with the RNN and with exact belief propagation; a table or JSON."""
    if not 0 <= args.places <= 12:
        raise ValueError(f"--places must be between 0 and 12, got {args.places}")
    g = nonlinearities.get(args.g)
    model = pos_tagging.hmm(pos_tagging.parse_prior(args.prior) if args.prior else None)
    words = args.words or list(pos_tagging.SENTENCE)
    rows = pos_tagging.tag(words, g=g, model=model)
    if args.json:
        print(pos_tagging.as_json(rows, model, g))
        return 0
    prior = ", ".join(str(p) for p in model.pi)
    print(f"\"{' '.join(words)}\": the RNN h_t = g(U h_(t-1) + W x_t) with g = {g.description}, beside the exact "
          f"posterior P(Y_t | X_1..X_t) by belief propagation (prior [{prior}])")
    print(pos_tagging.table(rows, model.states, args.places))
    return 0


def cmd_gradcheck(args: argparse.Namespace) -> int:
    from symrnn.autodiff import bptt, training
    from symrnn.lecture25.bptt_section import numeric_case
    from symrnn.models import cells, losses, lstm
    from symrnn.models.nonlinearities import resolve
    from symrnn.numeric import gradcheck

    for name, value in (("--n", args.n), ("--d", args.d), ("--T", args.steps), ("--batch", args.batch)):
        if not 1 <= value <= 512:
            raise ValueError(f"{name} must be between 1 and 512, got {value}")
    makers = {"rnn": lambda: cells.rnn(args.n, args.d if args.d != 3 else args.n + 1, args.g),
              "elman": lambda: cells.elman(args.n, args.d), "gru": lambda: cells.gru(args.n, args.d),
              "lstm": lambda: lstm.standard_lstm(args.n, args.d), "lstm-lecture": lambda: lstm.lecture_lstm(args.n)}
    cell = makers[args.cell]()
    softmax = args.cell == "rnn" and resolve(args.g).is_softmax
    loss = losses.cross_entropy() if (args.loss or ("cross-entropy" if softmax else "")) == "cross-entropy" \
        else losses.squared_error()
    print(f"{cell.name}: N={cell.n_state}, D={cell.n_input}, T={args.steps}, loss {loss.name}")
    start = time.perf_counter()
    ok_exact, worst, msg = bptt.exact_check(cell, loss, args.steps, seed=args.seed)
    print(f"  exact   {'pass' if ok_exact else 'FAIL'}: {msg} ({time.perf_counter() - start:.1f} s)")
    compiled = training.compile_bptt(cell, loss)
    params, inputs, targets = numeric_case(cell, loss, args.steps, args.batch, args.seed)

    def bar(done: int, total: int) -> None:
        filled = int(30 * done / total)
        print(f"\r  numeric [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}", end="", file=sys.stderr, flush=True)

    res = gradcheck.gradcheck(compiled, params, inputs, targets, max_entries=args.max_entries, seed=args.seed,
                              progress=bar)
    print(file=sys.stderr)
    print(f"  numeric {'pass' if res.passed else 'FAIL'}: {res.message}")
    return 0 if ok_exact and res.passed else 1


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

    tg = sub.add_parser("tag", help="tag a sentence with the lecture's RNN and with exact belief propagation")
    tg.add_argument("words", nargs="*", metavar="WORD",
                    help=f"the sentence (default: {' '.join(pos_tagging.SENTENCE)}); vocabulary: "
                         f"{', '.join(pos_tagging.VOCABULARY)}")
    tg.add_argument("--json", action="store_true", help="print the table as JSON")
    tg.add_argument("--g", default="lecture", metavar="NAME",
                    help=f"the RNN's nonlinearity: {', '.join(nonlinearities.names())} (default: lecture, "
                         "softmax(xi - 1))")
    tg.add_argument("--prior", metavar="P1,P2,P3",
                    help="initial distribution of the exact model, as fractions over "
                         f"{', '.join(pos_tagging.TAGS)} (default: uniform)")
    tg.add_argument("--places", type=int, default=2, help="decimals shown (default: 2)")
    tg.set_defaults(func=cmd_tag)
    from symrnn.audit import register

    register(sub)

    gc = sub.add_parser("gradcheck", help="verify BPTT for a recurrent cell: exact (50 digits) and finite differences")
    gc.add_argument("cell", choices=["rnn", "elman", "gru", "lstm", "lstm-lecture"], help="the recurrent cell")
    gc.add_argument("--n", type=int, default=4, help="state size N (default 4)")
    gc.add_argument("--d", type=int, default=3, help="input size (default 3; the lecture's RNN uses N+1, its LSTM N)")
    gc.add_argument("--T", dest="steps", type=int, default=8, help="sequence length T (default 8)")
    gc.add_argument("--g", default="lecture", help="nonlinearity of the rnn cell, from the table (default lecture)")
    gc.add_argument("--loss", choices=["cross-entropy", "squared-error"], default=None,
                    help="default: cross-entropy for a softmax rnn, squared error otherwise")
    gc.add_argument("--batch", type=int, default=2)
    gc.add_argument("--seed", type=int, default=0)
    gc.add_argument("--max-entries", type=int, default=200, help="finite differences on at most this many entries")
    gc.set_defaults(func=cmd_gradcheck)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # the reader stopped early (symrnn tag --json | head): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, KeyError, OSError) as exc:
        print(f"symrnn {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
