"""The proof cache: a check's verdict and evidence, kept on disk under a hash of everything the verdict depends on.

An entry is one JSON file ``proofs/<key[:2]>/<key>.json`` holding the outcome, when and by which versions it was
computed, and a SHA-256 of its own content.  An entry that does not parse, has another format, names another key
or fails its checksum is ignored (the check runs again and the entry is rewritten); entries are written whole (a
temporary file in the same folder, then ``os.replace``), so concurrent builds never see half an entry.  Only
verdicts of checks that ran to the end are stored; a check that raised is always run again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from symrnn.core.derivation import Evidence, Outcome, Step
from symrnn.core.fingerprint import Unfingerprintable, fingerprint, package_source, versions

FORMAT = "symrnn-proof-cache/1"
_FOLDER = "proofs"


def default_folder(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/symrnn``, else ``~/.cache/symrnn``."""
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "symrnn"


@dataclass(frozen=True)
class Entry:
    """A verdict read back from the cache."""

    outcome: Outcome
    seconds: float
    computed_at: str
    computed_by: str


def _checksum(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def _entry(data: object, key: str) -> Entry | None:
    """The entry in ``data`` if it is well-formed, of this format, for this key and intact; else None."""
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
        return None
    body = {k: v for k, v in data.items() if k != "checksum"}
    if data.get("checksum") != _checksum(body):
        return None
    out = data.get("outcome")
    if not (isinstance(out, dict) and isinstance(out.get("passed"), bool) and isinstance(out.get("detail"), str)
            and out.get("evidence") in {e.value for e in Evidence} and isinstance(data.get("seconds"), (int, float))
            and isinstance(data.get("computed_at"), str) and isinstance(data.get("computed_by"), str)):
        return None
    return Entry(Outcome(out["passed"], Evidence(out["evidence"]), out["detail"]), float(data["seconds"]),
                 data["computed_at"], data["computed_by"])


class ProofCache:
    """Verdicts on disk under ``folder/proofs``; ``key`` says what a step's verdict depends on."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        self._context: tuple | None = None

    @property
    def entries(self) -> Path:
        return self.folder / _FOLDER

    def context(self) -> tuple:
        """What every verdict depends on: the versions of symrnn and its libraries, and symrnn's source."""
        if self._context is None:
            self._context = (FORMAT, versions(), package_source())
        return self._context

    def key(self, step: Step, section: str, seed: int) -> str | None:
        """The hash of the step's statement and check (kind, data, callables with their code) in this context.

        None when some part has no deterministic description: that check is never looked up or stored."""
        try:
            return fingerprint(self.context(), section, step.id, seed, type(step.check).__name__, step.statement,
                               step.check)
        except (Unfingerprintable, RecursionError):
            return None

    def _path(self, key: str) -> Path:
        return self.entries / key[:2] / f"{key}.json"

    def get(self, key: str | None) -> Entry | None:
        """The stored verdict for ``key``, or None (absent, unreadable, foreign or corrupt: never trusted)."""
        if key is None:
            return None
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return _entry(data, key)

    def put(self, key: str | None, outcome: Outcome, seconds: float) -> None:
        """Store a verdict, written whole; a check that raised is not stored."""
        if key is None or outcome.detail.startswith("check raised"):
            return
        by = ", ".join(f"{name} {v}" for name, v in self.context()[1].items())
        body = {"format": FORMAT, "key": key, "seconds": round(seconds, 3), "computed_by": by,
                "computed_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "outcome": {"passed": outcome.passed, "evidence": outcome.evidence.value, "detail": outcome.detail}}
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_whole(path, json.dumps({**body, "checksum": _checksum(body)}, indent=1) + "\n")

    def clear(self) -> int:
        """Delete every stored verdict and made file (only the cache's own ``proofs`` and ``artifacts`` folders);
        the number of entries removed."""
        count = 0
        for sub in (self.entries, self.folder / "artifacts"):
            count += sum(1 for _ in sub.rglob("*.json")) if sub.is_dir() else 0
            shutil.rmtree(sub, ignore_errors=True)
        return count


def write_whole(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
