"""The ``symrnn`` command line: ``build``, ``verify``, ``derive``, ``tag`` (and later sections' commands)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class Terminated(BaseException):
    """SIGTERM arrived: raised from the signal handler so that ``finally`` blocks and context managers clean up."""


def _terminate(signum: int, _frame) -> None:
    raise Terminated(f"terminated by signal {signum}")


def _as_command() -> bool:
    return bool(sys.argv) and Path(sys.argv[0]).name in ("symrnn", "__main__.py")


if _as_command():  # run as the command (not imported by a program): SIGTERM ends it quietly from the start
    signal.signal(signal.SIGTERM, _terminate)
try:  # importing SymPy takes a second or more: Ctrl-C or SIGTERM then end the command quietly too
    from symrnn.core.budget import DEFAULT, Budget, BudgetExceeded, SizeLimit, check_count, run_bounded
    from symrnn.core.cache import ProofCache, default_folder
    from symrnn.core.progress import display
    from symrnn.core.schedule import default_jobs, verify_all
    from symrnn.core.verify import Result
    from symrnn.documents import build as build_mod
    from symrnn.lecture25 import SECTIONS
    from symrnn.lecture25 import derivations as build_derivations
    from symrnn.models import nonlinearities, pos_tagging
except (KeyboardInterrupt, Terminated) as exc:
    if not _as_command():
        raise
    interrupted = isinstance(exc, KeyboardInterrupt)
    sys.stderr.write(f"symrnn: error: {'interrupted' if interrupted else exc}\n")
    os._exit(130 if interrupted else 143)

#: Exit statuses (documented in the README, "Limits and exit statuses").
OK, FAILED, USAGE, BUDGET, INTERNAL, INTERRUPTED, TERMINATED = 0, 1, 2, 3, 4, 130, 143



def _table(results: Sequence[Result], width: int = 72) -> str:
    rows = [("id", "statement", "evidence", "verdict")]
    for r in results:
        stmt = r.statement if len(r.statement) <= width else r.statement[: width - 3] + "..."
        rows.append((f"{r.section}/{r.id}", stmt, r.evidence, "pass" if r.passed else "FAIL"))
    widths = [max(len(row[c]) for row in rows) for c in range(4)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def _cache(args: argparse.Namespace) -> ProofCache | None:
    return None if getattr(args, "no_cache", False) else ProofCache(args.cache or default_folder())


def _jobs(args: argparse.Namespace) -> int:
    return args.jobs or default_jobs()


def count(low: int = 1, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in ``low..high`` (argparse names the option in its error)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip(), 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text[:40]!r}") from None
        if value < low or (high is not None and value > high):
            span = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {span}, got {value}")
        return value

    parse.__name__ = "count"
    return parse


def positive(text: str) -> float:
    """An argparse type: a finite number greater than 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text[:40]!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number greater than 0, got {text[:40]!r}")
    return value


def _budget(args: argparse.Namespace) -> Budget:
    """The command's one budget: the defaults, overridden by whichever of its budget options were given."""
    names = ("seconds", "total_seconds", "memory_mb", "max_bytes", "max_spans", "max_words")
    return DEFAULT.override(**{n: getattr(args, n, None) for n in names})


def _budget_options(p: argparse.ArgumentParser, *names: str) -> None:
    helps = {"seconds": ("--seconds", positive, "S", f"wall clock for the bounded work (default {DEFAULT.seconds:g})"),
             "memory_mb": ("--memory-mb", count(16), "MB",
                           f"memory of the bounded worker (default {DEFAULT.memory_mb})"),
             "max_bytes": ("--max-bytes", count(1), "N", f"largest input file (default {DEFAULT.max_bytes})"),
             "max_words": ("--max-words", count(1), "N", f"most words to tag (default {DEFAULT.max_words})"),
             "total_seconds": ("--total-seconds", positive, "S",
                               f"wall clock for the whole audit, reading included (default {DEFAULT.total_seconds:g})"),
             "max_spans": ("--max-spans", count(1), "N",
                           f"most math spans in a document (default {DEFAULT.max_spans})")}
    for name in names:
        flag, kind, metavar, text = helps[name]
        p.add_argument(flag, dest=name, type=kind, default=None, metavar=metavar, help=text)


def cmd_build(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    build_mod.writable_folder(args.out, "--out")  # before the work: an unwritable folder fails at once
    res = build_mod.build(Path(args.out), args.section, args.seed, make_pdf=not args.no_pdf, jobs=_jobs(args),
                          cache=_cache(args), progress=display(args.quiet, label="symrnn build"),
                          formats=args.format, make_slides=args.slides)
    return _summary("symrnn build", res, start, lambda r: f"{r.section}/{r.id}")


def _summary(label: str, res, start: float, name: Callable[[Result], str]) -> int:
    """The one-line summary of a run's checks, the failures, messages and files written; the exit status."""
    failed = [r for r in res.results if not r.passed]
    levels = {lv: sum(r.evidence == lv for r in res.results) for lv in ("symbolic", "exact", "numeric")}
    print(f"{label}: {len(res.results) - len(failed)}/{len(res.results)} checks passed "
          f"({levels['symbolic']} symbolic, {levels['exact']} exact, {levels['numeric']} numeric) "
          f"in {time.perf_counter() - start:.1f} s, {sum(r.cached for r in res.results)} from the proof cache")
    for r in failed:
        print(f"  FAILED {name(r)}: {r.detail}")
    for msg in res.messages:
        print(f"  {msg}")
    for f in res.files:
        print(f"  wrote {f}")
    return 0 if res.ok and not res.pdf_failed else 1


def cmd_derive(args: argparse.Namespace) -> int:
    """``symrnn derive FILE``: the cell's BPTT derived, verified and written (:mod:`symrnn.derive.command`)."""
    from symrnn.derive.command import derive_file

    start = time.perf_counter()
    res = derive_file(args.file, args.out, name=args.name, max_bytes=args.budget.max_bytes, loss=args.loss,
                      n_state=args.n, n_input=args.d, seed=args.seed, jobs=_jobs(args), cache=_cache(args),
                      progress=display(args.quiet, label="symrnn derive"), make_pdf=not args.no_pdf,
                      quick=args.quick, output=args.output)
    if args.json:
        print(json.dumps(res.report, indent=2, ensure_ascii=False))
        return 0 if res.ok and not res.pdf_failed else 1
    return _summary(f"symrnn derive: {res.name}", res, start, lambda r: r.id)


def cmd_verify(args: argparse.Namespace) -> int:
    ders = build_derivations(args.section, args.seed)
    results = verify_all(ders, args.seed, _jobs(args), _cache(args), display(args.quiet, label="symrnn verify"),
                         {d.section: SECTIONS[d.section] for d in ders})
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2, ensure_ascii=False))
    else:
        print(_table(results))
    return 0 if all(r.passed for r in results) else 1


def cmd_cache(args: argparse.Namespace) -> int:
    """``symrnn cache clear``: delete every stored verdict; ``symrnn cache path``: where they are."""
    cache = ProofCache(args.cache or default_folder())
    if args.action == "clear":
        print(f"removed {cache.clear()} cached entries (verdicts and made files) from {cache.folder}")
    else:
        print(cache.entries)
    return 0


def _speed_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--jobs", type=count(1, 256), default=None, metavar="N",
                   help=f"worker processes (default: the number of cores, here {default_jobs()}; 1: in this process)")
    p.add_argument("--cache", metavar="DIR", help=f"proof cache folder (default: {default_folder()})")
    p.add_argument("--no-cache", action="store_true", help="run every check; neither read nor write the cache")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def cmd_tag(args: argparse.Namespace) -> int:
    """Tag a sentence with the RNN and with exact belief propagation; a table or JSON."""
    budget = args.budget
    words = args.words or list(pos_tagging.SENTENCE)
    check_count(len(words), budget.max_words, "words", "--max-words")
    g = nonlinearities.get(args.g)
    model = pos_tagging.hmm(pos_tagging.parse_prior(args.prior) if args.prior else None)
    model.encode(list(words))  # an unknown word is refused here, before the bounded work
    rows = run_bounded(pos_tagging.tag, words, g=g, model=model, max_words=budget.max_words, budget=budget,
                       what=f"tagging {len(words)} words")
    if args.json:
        print(pos_tagging.as_json(rows, model, g))
        return 0
    prior = ", ".join(str(p) for p in model.pi)
    print(f"\"{' '.join(words)}\": the RNN h_t = g(U h_(t-1) + W x_t) with g = {g.description}, beside the exact "
          f"posterior P(Y_t | X_1..X_t) by belief propagation (prior [{prior}])")
    print(pos_tagging.table(rows, model.states, args.places))
    return 0


def cmd_gradcheck(args: argparse.Namespace) -> int:
    from symrnn.models import cells, losses, lstm
    from symrnn.models.nonlinearities import resolve
    from symrnn.numeric.threeway import three_way

    makers = {"rnn": lambda: cells.rnn(args.n, args.d if args.d != 3 else args.n + 1, args.g),
              "elman": lambda: cells.elman(args.n, args.d), "gru": lambda: cells.gru(args.n, args.d),
              "lstm": lambda: lstm.standard_lstm(args.n, args.d), "lstm-lecture": lambda: lstm.lecture_lstm(args.n)}
    cell = makers[args.cell]()
    softmax = args.cell == "rnn" and resolve(args.g).is_softmax
    loss = losses.cross_entropy() if (args.loss or ("cross-entropy" if softmax else "")) == "cross-entropy" \
        else losses.squared_error()
    print(f"{cell.name}: N={cell.n_state}, D={cell.n_input}, T={args.steps}, loss {loss.name}")

    def bar(done: int, total: int) -> None:
        filled = int(30 * done / total)
        print(f"\r  numeric [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}", end="", file=sys.stderr, flush=True)

    def show(part) -> None:
        if part.kind == "numeric":
            print(file=sys.stderr)
            print(f"  numeric {'pass' if part.passed else 'FAIL'}: {part.detail}")
        else:
            print(f"  {part.kind:<7} {'pass' if part.passed else 'FAIL'}: {part.detail} ({part.seconds:.1f} s)")

    result = three_way(cell, loss, args.steps, symbolic=False, batch=args.batch, seed=args.seed,
                       max_entries=args.max_entries, progress=bar, on_part=show)
    return 0 if result.passed else 1


def _add_derive(sub) -> None:
    """``symrnn derive FILE [options]`` (:func:`cmd_derive`)."""
    dv = sub.add_parser("derive", help="derive, verify and typeset BPTT for a cell written in LaTeX, and write its "
                                       "training code")
    dv.add_argument("file", help="a Markdown or LaTeX file with the cell's equations")
    dv.add_argument("--out", default=str(build_mod.DEFAULT_OUT), help="output folder (default: ./build)")
    dv.add_argument("--loss", choices=["squared", "cross-entropy"], default=None,
                    help="the loss on the output, summed over t, when the file has no loss equation (default: "
                    "squared error)")
    dv.add_argument("--output", default=None, metavar="NAME",
                    help="the quantity the loss reads (default: the file's loss equation's, else its output layer's, "
                    "else h, else the last state)")
    dv.add_argument("--name", default=None, help="the cell's name and its files' (default: the file's name)")
    dv.add_argument("--n", type=count(1, 512), default=None, metavar="N",
                    help="state size of the document and the generated code, 1..512 (default: declared, else 2)")
    dv.add_argument("--d", type=count(1, 512), default=None, metavar="D",
                    help="input size, 1..512 (default: declared, else 3)")
    dv.add_argument("--json", action="store_true", help="print report.json instead of the summary")
    dv.add_argument("--seed", type=count(0), default=0, help="seed for the random spot checks (default 0)")
    dv.add_argument("--no-pdf", action="store_true", help="skip the PDF even when latexmk is available")
    dv.add_argument("--quick", action="store_true", help="smaller proofs: one step at N = 2, 4, the whole gradient at "
                    "T = 2, 50 digits at N = 8, T = 16 (default: N = 2, 4, 8; T = 3; N = 16, T = 64)")
    _speed_options(dv)
    _budget_options(dv, "max_bytes")
    dv.set_defaults(func=cmd_derive)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="symrnn", description="Derive and verify the mathematics of Lecture 25 "
                                "(M. Hasegawa-Johnson, Recurrent Neural Networks, CC-BY 4.0).")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="verify every section and write the derivation document")
    b.add_argument("--out", default=str(build_mod.DEFAULT_OUT), help="output folder (default: ./build)")
    b.add_argument("--section", action="append", choices=list(SECTIONS), help="only this section (repeatable)")
    b.add_argument("--seed", type=count(0), default=0, help="seed for the random spot checks (default 0)")
    b.add_argument("--no-pdf", action="store_true", help="skip the PDF even when latexmk is available")
    b.add_argument("--format", action="append", choices=["html", "md", "tex", "all"],
                   help="which documents to write (repeatable; default all: md, tex with its PDF, html)")
    b.add_argument("--slides", action="store_true",
                   help="also write lecture25-slides.tex and its PDF (Beamer: a frame per step, with latexmk)")
    _speed_options(b)
    b.set_defaults(func=cmd_build)

    _add_derive(sub)

    v = sub.add_parser("verify", help="run every check and print a table")
    v.add_argument("--section", action="append", choices=list(SECTIONS), help="only this section (repeatable)")
    v.add_argument("--json", action="store_true", help="print the results as JSON")
    v.add_argument("--seed", type=count(0), default=0, help="seed for the random spot checks (default 0)")
    _speed_options(v)
    v.set_defaults(func=cmd_verify)

    c = sub.add_parser("cache", help="the proof cache: 'clear' deletes every stored verdict, 'path' shows where")
    c.add_argument("action", choices=["clear", "path"])
    c.add_argument("--cache", metavar="DIR", help=f"proof cache folder (default: {default_folder()})")
    c.set_defaults(func=cmd_cache)

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
    tg.add_argument("--places", type=count(0, 12), default=2, help="decimals shown, 0..12 (default: 2)")
    _budget_options(tg, "seconds", "memory_mb", "max_words")
    tg.set_defaults(func=cmd_tag)
    from symrnn.audit import register

    _budget_options(register(sub), "seconds", "memory_mb", "max_bytes", "total_seconds", "max_spans")

    gc = sub.add_parser("gradcheck", help="verify BPTT for a recurrent cell: exact (50 digits) and finite differences")
    gc.add_argument("cell", choices=["rnn", "elman", "gru", "lstm", "lstm-lecture"], help="the recurrent cell")
    size = count(1, 512)
    gc.add_argument("--n", type=size, default=4, help="state size N, 1..512 (default 4)")
    gc.add_argument("--d", type=size, default=3, help="input size (default 3; the lecture's RNN uses N+1, its LSTM N)")
    gc.add_argument("--T", dest="steps", type=size, default=8, help="sequence length T, 1..512 (default 8)")
    gc.add_argument("--g", default="lecture", help="nonlinearity of the rnn cell, from the table (default lecture)")
    gc.add_argument("--loss", choices=["cross-entropy", "squared-error"], default=None,
                    help="default: cross-entropy for a softmax rnn, squared error otherwise")
    gc.add_argument("--batch", type=size, default=2, help="batch size, 1..512 (default 2)")
    gc.add_argument("--seed", type=count(0), default=0, help="seed (default 0)")
    gc.add_argument("--max-entries", type=count(1, DEFAULT.max_entries), default=200,
                    help="finite differences on at most this many entries (default 200)")
    gc.set_defaults(func=cmd_gradcheck)
    return p


class _PipeGuard:
    """``sys.stdout`` that swallows a closed pipe (the reader stopped: ``| head``) so the exit status stays the one
    the command computed; later output goes to the null device."""

    def __init__(self, stream) -> None:
        self.stream, self.closed_by_reader = stream, False

    def _guard(self, action: Callable[[], object], default: object) -> object:
        if self.closed_by_reader:
            return default
        try:
            return action()
        except BrokenPipeError:
            self.closed_by_reader = True
            os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())
            return default

    def write(self, text: str) -> int:
        return self._guard(lambda: self.stream.write(text), len(text))

    def flush(self) -> None:
        self._guard(self.stream.flush, None)

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


def _error(message: object, status: int) -> int:
    text = " ".join(str(message).split()) or type(message).__name__
    print(f"symrnn: error: {text[:400]}", file=sys.stderr)
    return status


def _run(args: argparse.Namespace) -> int:
    try:
        status = args.func(args)
        sys.stdout.flush()
        return status
    except SizeLimit as exc:
        return _error(exc, USAGE)
    except BudgetExceeded as exc:
        return _error(exc, BUDGET)
    except MemoryError:
        return _error("out of memory (--memory-mb bounds the worker; a smaller input needs less)", BUDGET)
    except RecursionError:
        return _error("input nested too deeply", USAGE)
    except (ValueError, KeyError, OSError) as exc:  # ModelError, InputError, unreadable files, unknown names
        return _error(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc, USAGE)
    except Exception as exc:  # noqa: BLE001 - a bug of ours: still one line, no traceback
        return _error(f"internal error ({type(exc).__name__}: {exc}); please report it", INTERNAL)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every outcome is an exit status (README, "Limits and exit statuses"), never a traceback."""
    previous = signal.signal(signal.SIGTERM, _terminate)
    stdout = sys.stdout
    sys.stdout = _PipeGuard(stdout)
    try:
        args = parser().parse_args(argv)
        args.budget = _budget(args)
        return _run(args)
    except KeyboardInterrupt:
        return _error("interrupted", INTERRUPTED)
    except Terminated as exc:
        return _error(exc, TERMINATED)
    finally:
        sys.stdout = stdout
        if _as_command():  # the outcome is decided: a signal during the interpreter's exit must not change it
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        else:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
