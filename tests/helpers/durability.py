"""Durability helpers: record the fsync and rename calls of a write (file fsync, rename, folder
fsync), make the n-th write fail with ENOSPC, and check a folder holds no partial file."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest

from nnscratch.base import files


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


def fail_nth_write(
    monkeypatch: pytest.MonkeyPatch, n: int, how: str = "fsync", name: str | None = None
) -> list[Path]:
    """Make the ``n``-th file written through the atomic-write helper (1-based), or the first one
    called ``name``, fail with ENOSPC; return the list the targets of every write are appended
    to, in order (``n=0`` and no ``name``: none fails).

    ``how="write"`` points that file's descriptor at ``/dev/full``, so the kernel itself refuses
    its bytes (Linux); ``how="fsync"`` lets the bytes through and fails the fsync (everywhere).
    """
    targets: list[Path] = []
    create, real_fsync, doomed, failed = files._create_temp, os.fsync, set(), []

    def create_temp(target: Path) -> tuple[int, Path]:
        fd, tmp = create(target)
        targets.append(target)
        if not failed and (len(targets) == n or Path(target).name == name):
            failed.append(target)
            if how == "write":
                full = os.open("/dev/full", os.O_WRONLY)
                os.dup2(full, fd)  # the same descriptor now writes to a full device
                os.close(full)
            else:
                doomed.add(fd)
        return fd, tmp

    def fsync(fd: int) -> None:
        if fd in doomed:
            doomed.discard(fd)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(files, "_create_temp", create_temp)
    monkeypatch.setattr(os, "fsync", fsync)
    return targets


def assert_no_partial_files(folder: Path) -> None:
    """No temporary, empty or cut-off file anywhere under ``folder``: every JSON parses, every
    model loads, every PNG ends with its IEND chunk, every report and CSV ends where it should."""
    for path in folder.rglob("*"):
        if path.is_dir():
            continue
        assert not path.name.endswith(".tmp"), f"temporary file left: {path}"
        data = path.read_bytes()
        assert data, f"empty file: {path}"
        if path.suffix == ".json":
            json.loads(data)
        elif path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                assert "__header__" in z.files, path
        elif path.suffix == ".png":
            assert data.endswith(b"IEND\xaeB`\x82"), f"cut-off PNG: {path}"
        elif path.suffix == ".html":
            assert data.rstrip().endswith(b"</html>"), f"cut-off HTML: {path}"
        elif path.suffix in (".csv", ".md", ".toml"):
            assert data.endswith(b"\n"), f"cut-off text file: {path}"
