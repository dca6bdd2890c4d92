"""Record the fsync and rename calls of a write, to check its order: file fsync, rename, folder fsync."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def record_fsync_and_replace(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Path]]:
    """From now on, ``("fsync", path of the fd)`` and ``("replace", target)`` are appended to the
    returned list as the calls happen (and the real calls still run)."""
    events: list[tuple[str, Path]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", Path(f"/proc/self/fd/{fd}").resolve()))
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        events.append(("replace", Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events
