"""Made files kept in the cache: read back only when intact and made from the same inputs, else made again."""

from __future__ import annotations

import json

from symrnn.core import artifacts
from symrnn.core.cache import ProofCache
from symrnn.core.derivation import Figure
from symrnn.documents import build as build_mod


def _counting(data: bytes):
    calls = []

    def produce() -> bytes:
        calls.append(1)
        return data
    return produce, calls


def test_an_artifact_is_made_once_then_read_back(tmp_path):
    cache = ProofCache(tmp_path)
    produce, calls = _counting(b"\x89PNG made")
    assert artifacts.made(cache, "figure", ("a", 1), produce) == b"\x89PNG made"
    assert artifacts.made(cache, "figure", ("a", 1), produce) == b"\x89PNG made"
    assert len(calls) == 1
    other, other_calls = _counting(b"other")
    assert artifacts.made(cache, "figure", ("a", 2), other) == b"other"  # other inputs: another entry
    assert artifacts.made(cache, "pdf", ("a", 1), other) == b"other"  # another kind: another entry
    assert len(other_calls) == 2
    assert artifacts.made(None, "figure", ("a", 1), other) == b"other" and len(other_calls) == 3


def test_a_damaged_or_foreign_artifact_is_made_again(tmp_path):
    cache = ProofCache(tmp_path)
    produce, calls = _counting(b"the real bytes")
    artifacts.made(cache, "figure", ("x",), produce)
    [blob] = (tmp_path / "artifacts").rglob("*.bin")
    meta = blob.with_suffix(".json")
    blob.write_bytes(b"the real bytez")  # one byte changed
    assert artifacts.made(cache, "figure", ("x",), produce) == b"the real bytes" and len(calls) == 2
    info = json.loads(meta.read_text())
    meta.write_text(json.dumps({**info, "key": "0" * 64}))  # an entry that names another key
    assert artifacts.made(cache, "figure", ("x",), produce) == b"the real bytes" and len(calls) == 3
    meta.write_text("{not json")
    assert artifacts.made(cache, "figure", ("x",), produce) == b"the real bytes" and len(calls) == 4
    blob.unlink()
    assert artifacts.made(cache, "figure", ("x",), produce) == b"the real bytes" and len(calls) == 5
    assert not list((tmp_path / "artifacts").rglob("*.tmp"))
    assert cache.clear() >= 1 and not (tmp_path / "artifacts").exists()


def test_a_cached_figure_is_the_figure_drawn_now(tmp_path):
    def draw():
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, 1, 2], [1, 0, 1])
        return fig

    fig = Figure("tiny", "a tiny figure", draw)
    fresh = build_mod.figure_png(fig)
    cache = ProofCache(tmp_path / "cache")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = build_mod.save_figure(fig, tmp_path / "a", cache).read_bytes()
    second = build_mod.save_figure(fig, tmp_path / "b", cache).read_bytes()
    assert first == second == fresh and fresh.startswith(b"\x89PNG")
