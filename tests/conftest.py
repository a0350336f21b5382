"""Shared test setup: a private proof cache for the whole run (never the user's), and verified sections through it."""

from __future__ import annotations

import fcntl
import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Point ``XDG_CACHE_HOME`` (read by ``symrnn`` and by the subprocesses tests start) at a temporary folder.

    Under pytest-xdist the folder is shared by the run's workers (entries are written whole, so that is safe): a
    proof one worker ran is read back by the others instead of being run again."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "xdg-cache"
    folder.mkdir(parents=True, exist_ok=True)
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old


@pytest.fixture(scope="session")
def verified(private_cache):
    """``verified(section)``: that section's results, run once per session through the run's proof cache.

    Tests that run a command over a section ask for it first, so that the command reads the verdicts back."""
    from symrnn.core.cache import ProofCache, default_folder
    from symrnn.core.schedule import verify_all
    from symrnn.lecture25 import SECTIONS

    done: dict = {}

    def results(section: str, seed: int = 0):
        if (section, seed) not in done:
            # one worker verifies the section while the others wait for its verdicts instead of repeating them
            with open(private_cache / f"{section}-{seed}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                done[(section, seed)] = verify_all([SECTIONS[section](seed)], seed,
                                                   cache=ProofCache(default_folder()))
        return done[(section, seed)]

    return results
