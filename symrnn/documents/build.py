"""``symrnn build``: verify every section and write the document (Markdown, LaTeX, PDF, HTML) and the report.

Every file is written whole: to a temporary file in the output folder, then renamed over its final name, so an
interrupted run leaves no half-written file.  Nothing is written outside the output folder.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from symrnn.core import artifacts
from symrnn.core.cache import ProofCache
from symrnn.core.derivation import Figure
from symrnn.core.progress import Progress
from symrnn.core.schedule import verify_all
from symrnn.core.verify import Result
from symrnn.documents import html as html_page
from symrnn.documents import render, slides
from symrnn.lecture25 import SECTIONS
from symrnn.lecture25 import derivations as build_derivations

DEFAULT_OUT = Path("build")
FORMATS = ("md", "tex", "html")  # ``--format all`` is every one of them; ``tex`` brings the PDF (with latexmk)


class OutputError(OSError):
    """An output folder cannot be created or written."""


def writable_folder(path: str | os.PathLike, option: str = "--out") -> Path:
    """Create ``path`` if missing and prove it writable (a temporary file, removed) before any work starts; an
    :class:`OutputError` naming ``option`` otherwise."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".symrnn-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"{option} {folder}: cannot write there ({exc.strerror or exc})") from None
    return folder


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp's 0600 would make the document unreadable to others
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class TypesetError(RuntimeError):
    """latexmk failed or took too long; the message says which, with the log's last lines."""


def tex_version() -> str:
    """The first line of ``pdflatex --version``: the PDF depends on it ("" when it cannot be run)."""
    exe = shutil.which("pdflatex")
    try:
        proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30, check=False) \
            if exe else None
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout.splitlines()[0] if proc and proc.stdout else ""


def typeset(tex_source: str, images: dict[str, bytes], out: Path, name: str, timeout: float = 300) -> bytes:
    """The PDF latexmk makes from ``tex_source`` and the named images, typeset in a private temporary folder
    inside ``out`` (removed afterwards); a :class:`TypesetError` if it fails."""
    latexmk = shutil.which("latexmk")
    if latexmk is None:
        raise TypesetError("latexmk is not on PATH: no PDF written")
    work = Path(tempfile.mkdtemp(prefix=".latex-", dir=out))
    try:
        (work / f"{name}.tex").write_text(tex_source, encoding="utf-8")
        for image, data in images.items():
            (work / image).write_bytes(data)
        proc = subprocess.run([latexmk, "-pdf", "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
                              cwd=work, capture_output=True, text=True, timeout=timeout, check=False)
        made = work / f"{name}.pdf"
        if proc.returncode != 0 or not made.exists():
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
            raise TypesetError(f"latexmk failed (exit {proc.returncode}):\n{tail}")
        return made.read_bytes()
    except subprocess.TimeoutExpired:
        raise TypesetError(f"latexmk took longer than {timeout:.0f} s: no PDF written") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def pdf(tex_source: str, out: Path, name: str, images: dict[str, bytes] | None = None,
        cache: ProofCache | None = None, timeout: float = 300) -> tuple[Path | None, str]:
    """Write ``out/name.pdf`` (from the cache when this exact source, these images and this TeX made it before)."""
    if shutil.which("latexmk") is None:
        return None, "latexmk is not on PATH: no PDF written"
    images = dict(images or {})
    inputs = (name, tex_source, sorted(images.items()), tex_version())
    try:
        data = artifacts.made(cache, "pdf", inputs, lambda: typeset(tex_source, images, out, name, timeout))
    except TypesetError as exc:
        return None, str(exc)
    target = out / f"{name}.pdf"
    write_atomic(target, data)
    return target, "PDF written"


def figure_png(fig: Figure) -> bytes:
    """Draw a figure: its PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = fig.draw()
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)
    return buf.getvalue()


def figure_bytes(fig: Figure, cache: ProofCache | None = None) -> bytes:
    """A figure's PNG, drawn now or taken from the cache (keyed by the figure's code)."""
    from importlib.metadata import version

    return artifacts.made(cache, "figure", (fig.name, fig.draw, version("matplotlib")), lambda: figure_png(fig))


def save_figure(fig: Figure, out: Path, cache: ProofCache | None = None) -> Path:
    """Write ``out/name.png`` whole, drawn now or taken from the cache (keyed by the figure's code)."""
    target = out / f"{fig.name}.png"
    write_atomic(target, figure_bytes(fig, cache))
    return target


def formats_of(requested: Sequence[str] | None) -> tuple[str, ...]:
    """The formats to write, in :data:`FORMATS` order: ``None``, empty or ``"all"`` means every one."""
    wanted = set(requested or ["all"])
    unknown = wanted - {*FORMATS, "all"}
    if unknown:
        raise ValueError(f"unknown format(s) {sorted(unknown)}: choose from {', '.join(FORMATS)} or all")
    return FORMATS if "all" in wanted else tuple(f for f in FORMATS if f in wanted)


def lecture_audit(cache: ProofCache | None = None) -> list:
    """The audit of the bundled lecture (taken from the cache when this lecture text was audited by this code)."""
    from symrnn.audit import Finding, lecture_findings
    from symrnn.lecture25 import source

    data = artifacts.made(cache, "lecture-audit", (source.text(),),
                          lambda: json.dumps([f.as_dict() for f in lecture_findings()]).encode())
    return [Finding(**d) for d in json.loads(data)]


@dataclass
class BuildResult:
    results: list[Result]
    files: list[Path] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    pdf_failed: bool = False
    html_fallbacks: list[html_page.Fallback] = field(default_factory=list)  # equations shown as LaTeX, not MathML

    @property
    def ok(self) -> bool:
        return all(r.passed for r in self.results)


def _write_html(ders, results, images: dict[str, bytes], out: Path, name: str, res: BuildResult) -> None:
    page = html_page.html(ders, results, images=images)
    write_atomic(out / f"{name}.html", page.text)
    res.files.append(out / f"{name}.html")
    res.html_fallbacks = page.fallbacks
    shown = "; ".join(f"{f.where} ({f.what}): {f.reason}" for f in page.fallbacks)
    res.messages.append(f"HTML: {page.equations} equations as MathML, {len(page.fallbacks)} shown as LaTeX"
                        + (f" ({shown})" if shown else ""))


def _write_slides(ders, results, images: dict[str, bytes], out: Path, name: str, res: BuildResult,
                  make_pdf: bool, cache: ProofCache | None) -> None:
    """``name-slides.tex`` (Beamer) and, with latexmk, ``name-slides.pdf`` (through the artifacts cache)."""
    source = slides.beamer(ders, results)
    write_atomic(out / f"{name}-slides.tex", source)
    res.files.append(out / f"{name}-slides.tex")
    if not make_pdf:
        return
    made, msg = pdf(source, out, f"{name}-slides", {f"{k}.png": v for k, v in images.items()}, cache)
    res.messages.append(f"slides: {msg}")
    res.pdf_failed = res.pdf_failed or (made is None and shutil.which("latexmk") is not None)
    if made:
        res.files.append(made)


def build(out: Path = DEFAULT_OUT, sections: Sequence[str] | None = None, seed: int = 0,
          make_pdf: bool = True, name: str = "lecture25", jobs: int = 1, cache: ProofCache | None = None,
          progress: Progress | None = None, formats: Sequence[str] | None = None,
          make_slides: bool = False) -> BuildResult:
    """Verify the sections and write ``name.md``, ``name.tex``, ``name.pdf`` (with latexmk), ``name.html`` and
    ``report.json``; ``formats`` (``md``, ``tex``, ``html``; default all) limits which documents are written (the
    PDF comes with ``tex``, the figures' PNG files with ``md`` or ``tex``: the HTML page embeds its figures).
    ``make_slides`` also writes ``name-slides.tex`` and its PDF (Beamer: a frame per step).

    ``jobs`` worker processes verify the steps (1: in this process); ``cache`` keeps verdicts between builds."""
    wanted = formats_of(formats)
    out = writable_folder(out)
    ders = build_derivations(list(sections) if sections else None, seed)
    results = verify_all(ders, seed, jobs, cache, progress, {d.section: SECTIONS[d.section] for d in ders})
    res = BuildResult(results)
    figures = [fig for d in ders for fig in d.figures]
    images = {fig.name: figure_bytes(fig, cache) for fig in figures}
    if "md" in wanted or "tex" in wanted:
        for fig in figures:
            write_atomic(out / f"{fig.name}.png", images[fig.name])
            res.files.append(out / f"{fig.name}.png")
    tex_source = render.tex(ders, results) if "tex" in wanted else None
    for fmt, fname, make in (("md", f"{name}.md", lambda: render.markdown(ders, results)),
                             ("tex", f"{name}.tex", lambda: tex_source)):
        if fmt in wanted:
            write_atomic(out / fname, make())
            res.files.append(out / fname)
    if "html" in wanted:
        _write_html(ders, results, images, out, name, res)
    if make_pdf and tex_source is not None:
        made, msg = pdf(tex_source, out, name, {f"{k}.png": v for k, v in images.items()}, cache)
        res.messages.append(msg)
        res.pdf_failed = made is None and shutil.which("latexmk") is not None
        if made:
            res.files.append(made)
    if make_slides:
        _write_slides(ders, results, images, out, name, res, make_pdf, cache)
    from symrnn.audit import summary

    findings = lecture_audit(cache)
    res.messages.append(f"audit of the lecture: {summary(findings)} (details in report.json)")
    report = {"lecture": "lecture25.md", "seed": seed, "passed": res.ok,
              "checks": [r.as_dict() for r in results], "audit": [f.as_dict() for f in findings]}
    write_atomic(out / "report.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    res.files.append(out / "report.json")
    return res
