"""How much of the recurrent-network corpus (``tests/data/corpus/``) symrnn reads.

Run from the repository root (symrnn installed, or on PYTHONPATH):

    python benchmarks/read_corpus.py [FILES...] [--top 15] [--per-file 3] [--backend auto] [--verbose]

For each file (default: every ``*.md`` of the corpus but ``SOURCES.md``, sorted) it finds the math spans, reads
every span with :func:`symrnn.latex.parse.parse`, and prints the number of spans, how many state an equation (a
relation such as ``=``, ``\\approx``, ``\\leq``, ``\\in``, ``:=`` or ``\\leftarrow`` outside every bracket,
brace and matrix-like environment), how many of those read, the percentage, and the commonest reasons the others did
not read (the error's class and the first words of its reason, with counts).  Then a ``TOTAL`` line (files, spans,
equations, read, percentage, spans read per second) and the commonest reasons over the whole run: the list of what
the reader would need next.

Spans come from :func:`symrnn.latex.spans.find_spans` (``$``, ``$$``, ``\\(``, ``\\[`` and bare math
environments), read as :func:`symrnn.read` reads them (``--backend none``, the default).  Each reading
is bounded by the parser's own limits (a deadline per span); only :class:`ParseError` is caught, so anything else
escaping the parser stops the run with its traceback, as a bug should.

Not a test: the numbers change as the parser learns more notation.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from symrnn.latex.document import read_span
from symrnn.latex.parse import ParseError, parse
from symrnn.latex.spans import find_spans

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "corpus"

#: relations that make a span state something (commands by name; ``=``, ``<`` and ``>`` as characters)
RELATION_COMMANDS = frozenset({
    "approx", "leq", "le", "geq", "ge", "neq", "ne", "in", "notin", "leftarrow", "gets", "coloneqq", "eqqcolon",
    "equiv", "propto", "sim", "simeq", "cong", "triangleq", "doteq", "ll", "gg", "leqslant", "geqslant", "subset",
    "subseteq", "supset", "supseteq", "Leftarrow", "longleftarrow",
})
RELATION_CHARACTERS = frozenset("=<>")
#: environments whose rows are equations at the top level (``&=`` in ``aligned`` states an equation)
LAYOUT_ENVIRONMENTS = frozenset({
    "aligned", "align", "align*", "alignat", "alignat*", "alignedat", "gather", "gather*", "gathered", "split",
    "equation", "equation*", "eqnarray", "eqnarray*", "multline", "multline*", "flalign", "flalign*", "array",
    "displaymath", "math",
})
_TOKEN = re.compile(r"\\([A-Za-z]+)|\\(.)|(.)", re.S)
_ENVIRONMENT = re.compile(r"\s*\{([A-Za-z]+\*?)\}")
_OPENERS, _CLOSERS = frozenset("([{"), frozenset(")]}")


def states_equation(latex: str) -> bool:
    """Whether ``latex`` holds a relation at its top level: not inside ``{}``, ``()``, ``[]``, ``\\{\\}``,
    ``\\langle\\rangle`` or a matrix-like environment (``bmatrix``, ``cases``, ...); layout environments such as
    ``aligned`` do not hide their rows' relations.  So ``\\sum_{t=1}^T`` and ``P(Y_t = j)`` state nothing, while
    ``h_t = g(x_t)``, ``x \\in \\mathbb{R}^d`` and ``t < T`` do."""
    depth, pos, n = 0, 0, len(latex)
    while pos < n:
        m = _TOKEN.match(latex, pos)
        pos = m.end()
        command, escaped, char = m.group(1), m.group(2), m.group(3)
        if command is not None:
            if command in ("begin", "end"):
                env = _ENVIRONMENT.match(latex, pos)
                if env is None:
                    continue
                pos = env.end()
                if env.group(1) not in LAYOUT_ENVIRONMENTS:
                    depth = depth + 1 if command == "begin" else max(0, depth - 1)
            elif command == "langle":
                depth += 1
            elif command == "rangle":
                depth = max(0, depth - 1)
            elif command in RELATION_COMMANDS and depth == 0:
                return True
        elif escaped is not None:
            if escaped == "{":
                depth += 1
            elif escaped == "}":
                depth = max(0, depth - 1)
        elif char in _OPENERS:
            depth += 1
        elif char in _CLOSERS:
            depth = max(0, depth - 1)
        elif char in RELATION_CHARACTERS and depth == 0:
            return True
    return False


def reason_of(kind: str, reason: str, words: int = 10) -> str:
    """The error's kind and the first ``words`` words of its reason, with command arguments and a closing
    parenthetical left out, so that ``\\mathbf{h}`` and ``\\mathbf{W}`` count as one reason."""
    reason = re.sub(r"\{[^{}]*\}", "{...}", reason)
    reason = re.sub(r"\s*\([^()]*\)\s*$", "", reason)
    return f"{kind}: {' '.join(reason.split()[:words])}"


@dataclass
class FileResult:
    """The reading of one file."""

    name: str
    spans: int = 0
    spans_read: int = 0
    equations: int = 0
    equations_read: int = 0
    seconds: float = 0.0
    reasons: Counter = field(default_factory=Counter)
    unread: list[tuple[int, str, str]] = field(default_factory=list)


def _read(latex: str, backend: str) -> str | None:
    """None when the span reads, else the reason (see :func:`reason_of`): as symrnn.read reads it (declarations, then
    the parser) with ``--backend none``, else with the parser and that backend."""
    if backend == "none":
        span = read_span(latex)
        return None if span.read else reason_of(span.kind, span.reason)
    try:
        parse(latex, backend=backend)
    except ParseError as exc:
        return reason_of(type(exc).__name__, exc.reason)
    return None


def read_file(path: Path, backend: str) -> FileResult:
    """Every span of ``path`` read once; the reasons are those of the unread equations."""
    result = FileResult(path.name)
    for span in find_spans(path.read_text(encoding="utf-8")):
        latex = span.text.strip()
        if not latex:
            continue
        equation = states_equation(latex)
        result.spans += 1
        result.equations += equation
        start = time.perf_counter()
        reason = _read(latex, backend)
        result.seconds += time.perf_counter() - start
        if reason is None:
            result.spans_read += 1
            result.equations_read += equation
        elif equation:
            result.reasons[reason] += 1
            result.unread.append((getattr(span, "line", 0), latex, reason))
    return result


def corpus_files() -> list[Path]:
    """The corpus's Markdown files, sorted, without its ``SOURCES.md``."""
    return sorted(p for p in CORPUS.glob("*.md") if p.name != "SOURCES.md")


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="How much of the RNN corpus symrnn reads.")
    parser.add_argument("files", nargs="*", type=Path, help="Markdown files (default: the corpus)")
    parser.add_argument("--top", type=int, default=15, help="reasons listed for the whole run (default 15)")
    parser.add_argument("--per-file", type=int, default=3, help="reasons listed per file (default 3)")
    parser.add_argument("--backend", default="none",
                        help="none (default): read as symrnn.read does; auto or a latex2sympy backend: parse() with it")
    parser.add_argument("--verbose", "-v", action="store_true", help="list every unread equation")
    args = parser.parse_args(argv)

    files = args.files or corpus_files()
    if not files:
        print(f"no files to read (corpus: {CORPUS})")
        return 1
    print(f"spans from symrnn.latex.spans.find_spans; reader: {'symrnn.read' if args.backend == 'none' else 'parse'}"
          f" (backend={args.backend})")

    total = FileResult("TOTAL")
    for path in files:
        result = read_file(path, args.backend)
        print(f"{result.name}: {result.spans} spans ({result.spans_read} read), {result.equations} equations, "
              f"{result.equations_read} read ({percent(result.equations_read, result.equations)})")
        for reason, count in result.reasons.most_common(args.per_file):
            print(f"    {count:4d}  {reason}")
        if args.verbose:
            for line, latex, reason in result.unread:
                print(f"      line {line}: {reason}: {latex[:100]!r}")
        total.spans += result.spans
        total.spans_read += result.spans_read
        total.equations += result.equations
        total.equations_read += result.equations_read
        total.seconds += result.seconds
        total.reasons.update(result.reasons)

    rate = total.spans / total.seconds if total.seconds > 0 else float("inf")
    print(f"TOTAL: {len(files)} files, {total.spans} spans ({total.spans_read} read), {total.equations} equations, "
          f"{total.equations_read} read ({percent(total.equations_read, total.equations)}), "
          f"{rate:.1f} spans/s")
    if total.reasons:
        print(f"top reasons for unread equations ({sum(total.reasons.values())} unread):")
        for reason, count in total.reasons.most_common(args.top):
            print(f"    {count:4d}  {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
