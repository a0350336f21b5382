"""Made files kept beside the proof cache: a figure's PNG, the PDF of a given LaTeX source, the lecture's audit.

Each is a deterministic function of its inputs and of symrnn's code; it is stored under the same kind of key as a
verdict (the proof cache's context: symrnn's whole source and the libraries' versions, plus the inputs named by
the caller) as ``artifacts/<key[:2]>/<key>.bin`` with a ``.json`` beside it holding the key and the SHA-256 of the
bytes.  A missing, foreign or corrupt pair is made again and rewritten, never trusted; both files are written
whole.  Without a cache the producer simply runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from symrnn.core.cache import ProofCache, write_whole
from symrnn.core.fingerprint import Unfingerprintable, fingerprint

FORMAT = "symrnn-artifact/1"
FOLDER = "artifacts"


def _paths(cache: ProofCache, key: str) -> tuple[Path, Path]:
    base = cache.folder / FOLDER / key[:2] / key
    return base.with_suffix(".bin"), base.with_suffix(".json")


def _read(cache: ProofCache, key: str) -> bytes | None:
    blob, meta = _paths(cache, key)
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
        data = blob.read_bytes()
    except (OSError, ValueError):
        return None
    if not (isinstance(info, dict) and info.get("format") == FORMAT and info.get("key") == key
            and info.get("sha256") == hashlib.sha256(data).hexdigest()):
        return None
    return data


def made(cache: ProofCache | None, kind: str, inputs: tuple, produce: Callable[[], bytes]) -> bytes:
    """The bytes ``produce()`` makes from ``inputs``: from the cache when an intact entry has this key, else made
    now and stored.  ``inputs`` must name everything the bytes depend on besides symrnn's code and versions."""
    if cache is None:
        return produce()
    try:
        key = fingerprint(cache.context(), FORMAT, kind, *inputs)
    except (Unfingerprintable, RecursionError):
        return produce()
    data = _read(cache, key)
    if data is not None:
        return data
    data = produce()
    blob, meta = _paths(cache, key)
    try:
        blob.parent.mkdir(parents=True, exist_ok=True)
        write_whole(blob, data)
        stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        write_whole(meta, json.dumps({"format": FORMAT, "key": key, "kind": kind, "computed_at": stamp,
                                      "sha256": hashlib.sha256(data).hexdigest()}) + "\n")
    except OSError:
        pass  # an unwritable cache costs time on the next build, never the result of this one
    return data
