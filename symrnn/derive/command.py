"""``symrnn derive FILE``: a cell written in LaTeX in; its verified BPTT derivation, document and training code out.

:func:`derive_file` reads the file (bounded in size, UTF-8), reads the cell (:func:`symrnn.derive.read_cell`: a bad
cell is a :class:`~symrnn.derive.errors.CellError` naming the line, before any check runs), builds the derivation
(:mod:`.steps`), verifies it with the proof cache and workers (:func:`symrnn.core.schedule.verify_all`, as
``symrnn build`` does), and writes, in the output folder only and every file whole: ``NAME.md``, ``NAME.tex``,
``NAME.pdf`` (when latexmk is on PATH), ``NAME_bptt.py`` (:mod:`.standalone`) and ``report.json``.  The folder is
created and proved writable before anything else.  The loss is the text's loss equation when it has one
(:mod:`.loss_reading`; ``report.json``'s ``loss_equation``), else the ``loss`` argument (``--loss``), else squared
error; a ``loss`` the equation overrides is noted in the messages.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from symrnn.core.cache import ProofCache
from symrnn.core.progress import Progress
from symrnn.core.schedule import verify_all
from symrnn.core.verify import Result
from symrnn.derive import document, standalone
from symrnn.derive.checks import LOSSES, Spec
from symrnn.derive.errors import BadName, UnsupportedConstruct
from symrnn.derive.shown import cell_text
from symrnn.derive.steps import derivation
from symrnn.documents.build import DEFAULT_OUT, pdf, writable_folder, write_atomic
from symrnn.documents.html import html
from symrnn.numeric import guard
from symrnn.ops import Softmax

__all__ = ["DEFAULT_OUT", "LOSSES", "Derived", "default_name", "derive_file", "derive_text", "read_source"]


class SourceError(ValueError):
    """The cell's file cannot be read: missing, not a file, too large, not UTF-8 text."""


@dataclass
class Derived:
    """What ``symrnn derive`` did: every check's result, the files written, notes (the PDF), the report."""

    name: str
    results: list[Result]
    files: list[Path] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    pdf_failed: bool = False
    report: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.passed for r in self.results)


def read_source(path: str | os.PathLike, max_bytes: int) -> str:
    """The file's text; a :class:`SourceError` naming the file when it cannot be read or is over ``max_bytes``."""
    p = Path(path)
    try:
        if not p.is_file():
            raise SourceError(f"{p}: no such file" if not p.exists() else f"{p}: not a file")
        size = p.stat().st_size
        if size > max_bytes:
            raise SourceError(f"{p}: {size} bytes, more than the {max_bytes} allowed (--max-bytes)")
        data = p.read_bytes()[: max_bytes + 1]
    except OSError as exc:
        raise SourceError(f"{p}: cannot be read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{p}: not UTF-8 text (byte {exc.start})") from None


def default_name(path: str | os.PathLike) -> str:
    """The cell's name from its file's name: ``my-gru.md`` -> ``my_gru``."""
    return guard.safe_identifier(Path(path).stem)


def check_name(name: str) -> str:
    """``name`` if it can name the files and the cell (a safe identifier), else :class:`BadName`."""
    try:
        return guard.check_name(name, "cell")
    except guard.UnsafeName as exc:
        raise BadName(f"--name {name!r} cannot name the cell and its files: {exc.reason}") from None


def _check_loss(spec: Spec, cell) -> list[str]:
    """Cross-entropy reads the output as probabilities: refused, naming the line, unless it is a softmax.  The notes
    to report: a ``loss`` argument that the text's loss equation overrides."""
    stated = spec.stated_loss(spec.text)
    if spec.loss_key == "cross-entropy" and not isinstance(cell.step()[cell.output], Softmax):
        shown = cell_text(spec.text, n_state=spec.n_state, n_input=spec.n_input, output=spec.output,
                          n_output=spec.n_output)
        line = next((e.line for e in shown.equations if e.name == cell.output), None)
        how = f"the loss equation on line {stated.line}" if stated is not None else "--loss cross-entropy"
        raise UnsupportedConstruct(f"{how} reads {cell.output}_t as probabilities, but {cell.output}_t is not a "
                                   "softmax; use squared error, or end the cell with a softmax",
                                   stated.line if stated is not None else line)
    notes = []
    if stated is not None and spec.loss is not None and spec.loss != stated.kind:
        notes.append(f"the loss is the text's loss equation on line {stated.line} ({stated.kind} of "
                     f"{stated.quantity}_t); --loss {spec.loss} applies only to a text without one")
    if stated is not None and stated.scale.could_extract_minus_sign():
        notes.append(f"the loss equation on line {stated.line} has a negative factor ({stated.scale} times the usual "
                     f"{stated.kind}): its gradients are derived as written, and descending them increases the "
                     "usual loss")
    return notes


def derive_file(path: str | os.PathLike, out: str | os.PathLike = DEFAULT_OUT, *, name: str | None = None,
                max_bytes: int = 2_000_000, **options) -> Derived:
    """:func:`derive_text` on the file's text, named after the file unless ``name`` is given."""
    folder = writable_folder(out, "--out")  # before any work
    name = check_name(name if name is not None else default_name(path))
    return derive_text(read_source(path, max_bytes), folder, name=name, source_name=Path(path).name, **options)


def derive_text(text: str, out: str | os.PathLike = DEFAULT_OUT, *, name: str = "cell", loss: str | None = None,
                source_name: str = "the text", n_state: int | None = None, n_input: int | None = None,
                seed: int = 0, jobs: int = 1, cache: ProofCache | None = None, progress: Progress | None = None,
                make_pdf: bool = True, quick: bool = False, output: str | None = None,
                n_output: int | None = None) -> Derived:
    """Derive, verify and write the cell ``text`` defines (see the module's docstring); ``quick``: smaller proofs
    (:data:`symrnn.derive.checks.QUICK`).  The loss is the text's loss equation when it has one (``L = ...``:
    squared error or cross-entropy, summed or averaged over t or with another constant factor, :mod:`.loss_reading`;
    another form is a named error), else ``loss`` (default squared error); ``output`` chooses the quantity it reads
    (default :func:`symrnn.derive.read_cell`'s), ``n_output`` the size Q of an output layer that the text does not
    fix (default N)."""
    folder = writable_folder(out, "--out")
    spec = Spec(text, check_name(name), loss, n_state, n_input, quick, output, n_output)
    spec.loss_object()  # an unknown or unsupported loss, before any work
    notes = _check_loss(spec, spec.cell())  # a bad cell: its CellError, before any work
    d = derivation(spec, source_name)
    made = standalone.build(spec)  # before the workers fork: they inherit it
    results = verify_all([d], seed, jobs, cache, progress)
    res = Derived(spec.name, results, messages=notes)
    shown = cell_text(text, n_state=n_state, n_input=n_input, output=output, n_output=n_output)
    stated = spec.stated_loss(text)
    tex_source = document.tex(d, results, shown, source_name, stated)
    page = html([d], results, text, title=f"The cell {spec.name}: back-propagation through time, derived and "
                "verified by symrnn", credit=f"{source_name}, as read by symrnn", style=shown.style)
    for fname, data in ((f"{spec.name}.md", document.markdown(d, results, shown, source_name, stated)),
                        (f"{spec.name}.tex", tex_source), (f"{spec.name}.html", page.text),
                        (f"{spec.name}_bptt.py", made.source)):
        write_atomic(folder / fname, data)
        res.files.append(folder / fname)
    if make_pdf:
        target, message = pdf(tex_source, folder, spec.name, cache=cache)
        res.messages.append(message)
        res.pdf_failed = target is None and shutil.which("latexmk") is not None
        if target is not None:
            res.files.append(target)
    cell = made.compiled.cell
    res.report = {"cell": source_name, "name": spec.name, "loss": made.compiled.bptt.loss.name, "seed": seed,
                  "loss_scale": str(made.compiled.bptt.loss.scale),
                  "loss_equation": None if stated is None else {"line": stated.line, "kind": stated.kind,
                                                                "reads": stated.quantity,
                                                                "scale": str(stated.scale)},
                  "passed": res.ok, "quick": quick, "states": list(cell.states), "output": cell.output,
                  "sizes": {"N": cell.n_state, "D": cell.n_input, "Q": cell.n_output},
                  "params": {p.name: [p.rows, p.cols] for p in cell.params},
                  "longest_formula": document.longest_formula(d),
                  "checks": [r.as_dict() for r in results],
                  "files": [f.name for f in [*res.files, folder / "report.json"]]}
    write_atomic(folder / "report.json", json.dumps(res.report, indent=2, ensure_ascii=False) + "\n")
    res.files.append(folder / "report.json")
    return res
