"""Temporary files that killed writes left behind are removed by the next successful write.

The helper writes ``.<name>.<8 hex digits>.tmp`` beside the target and holds an ``flock`` on it
until the rename. A process killed mid-write leaves that file; the next successful write of the
same target removes it, but never a file another writer still holds, nor anything whose name,
kind or target is not exactly the helper's own.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as ns
from nnscratch.base import files
from nnscratch.base.files import atomic_open, atomic_write, remove_stale_temps

SRC = Path(__file__).resolve().parents[2] / "src"

# ns.save in a child process that stops mid-write (half a zip written) until it is killed
KILLED_MID_SAVE = """
import sys, time
import nnscratch as ns
from nnscratch.io import container

def stuck(fh, members, compress):
    fh.write(b"PK" * 4096)
    fh.flush()
    print("writing", flush=True)
    time.sleep(120)

container._write_npz = stuck
ns.save(ns.Sequential(ns.Linear(2, 2, rng=0)), sys.argv[1])
"""


def temps(folder: Path, name: str) -> list[str]:
    return sorted(p for p in os.listdir(folder) if p.startswith(f".{name}.") and p.endswith(".tmp"))


def start_stuck_saves(target: Path, count: int) -> list[subprocess.Popen]:
    """``count`` processes, each stopped in the middle of ``ns.save(..., target)``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", KILLED_MID_SAVE, str(target)], stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(count)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
    return procs


def kill(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


needs_posix = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")


@needs_posix
def test_saves_killed_mid_write_leave_temps_that_the_next_save_removes(tmp_path):
    target = tmp_path / "model.npz"
    kill(start_stuck_saves(target, 3))
    assert len(temps(tmp_path, "model.npz")) == 3  # what every kill used to leave for good
    assert all((tmp_path / t).stat().st_size > 0 for t in temps(tmp_path, "model.npz"))
    model = ns.Sequential(ns.Linear(2, 2, rng=1))
    ns.save(model, target)
    assert os.listdir(tmp_path) == ["model.npz"]
    assert ns.load(target).state_dict()["0.weight"].tolist() == model.state_dict()["0.weight"].tolist()


@needs_posix
def test_a_save_still_running_in_another_process_keeps_its_temp(tmp_path):
    target = tmp_path / "model.npz"
    procs = start_stuck_saves(target, 1)
    try:
        live = temps(tmp_path, "model.npz")
        ns.save(ns.Sequential(ns.Linear(2, 2, rng=1)), target)
        assert temps(tmp_path, "model.npz") == live and len(live) == 1
    finally:
        kill(procs)
    ns.save(ns.Sequential(ns.Linear(2, 2, rng=1)), target)  # now it is abandoned
    assert os.listdir(tmp_path) == ["model.npz"]


def test_a_write_in_progress_in_this_process_keeps_its_temp(tmp_path):
    target = tmp_path / "out.txt"
    with atomic_open(target, "w") as fh:
        fh.write("outer")
        (outer,) = temps(tmp_path, "out.txt")
        atomic_write(target, "inner")  # succeeds, and must not take the outer temp for stale
        assert temps(tmp_path, "out.txt") == [outer] and target.read_text() == "inner"
    assert target.read_text() == "outer" and os.listdir(tmp_path) == ["out.txt"]


def _abandoned(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_bytes(b"left by a killed write")
    return path


def test_only_the_helpers_own_temps_of_that_target_are_removed(tmp_path):
    target = tmp_path / "m.npz"
    stale = [_abandoned(tmp_path, ".m.npz.0123abcd.tmp"), _abandoned(tmp_path, ".m.npz.ffffffff.tmp")]
    keep = [
        _abandoned(tmp_path, name)
        for name in (
            ".m.npz.zzzzzzzz.tmp",  # not hex
            ".m.npz.0123ABCD.tmp",  # the helper writes lower-case hex
            ".m.npz.0123abcde.tmp",  # nine digits
            ".m.npz.0123abc.tmp",  # seven
            ".m.npz.0123abcd.tmp.bak",
            "m.npz.0123abcd.tmp",  # no leading dot
            ".m.npz.0123abcd.temp",
            ".other.npz.0123abcd.tmp",  # another target's
            ".m.npz.other.0123abcd.tmp",
            ".xm.npz.0123abcd.tmp",
            "m.npz",
            "notes.txt",
        )
    ]
    (tmp_path / ".m.npz.aaaaaaaa.tmp").mkdir()  # a folder of that name is not ours
    (tmp_path / ".m.npz.aaaaaaaa.tmp" / "inside").write_text("x")
    outside = tmp_path / "elsewhere.bin"
    outside.write_bytes(b"linked to")
    (tmp_path / ".m.npz.bbbbbbbb.tmp").symlink_to(outside)  # nor a link (nor what it points to)
    atomic_write(target, b"new")
    assert not any(p.exists() for p in stale)
    assert all(p.read_bytes() == b"left by a killed write" for p in keep if p.name != "m.npz")
    assert (tmp_path / ".m.npz.aaaaaaaa.tmp" / "inside").read_text() == "x"
    assert (tmp_path / ".m.npz.bbbbbbbb.tmp").is_symlink() and outside.read_bytes() == b"linked to"
    assert target.read_bytes() == b"new"


def test_a_failed_write_removes_only_its_own_temp(tmp_path, monkeypatch):
    stale = _abandoned(tmp_path, ".x.txt.00000000.tmp")

    def no_space(fh):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(ns.WriteError):
        atomic_write(tmp_path / "x.txt", no_space)
    assert os.listdir(tmp_path) == [stale.name]  # the stale one goes with the next success


class _NoLocks:
    """``fcntl`` on a file system that refuses locks (some network file systems)."""

    LOCK_EX, LOCK_NB = 2, 4

    @staticmethod
    def flock(fd, op):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))


def test_without_locks_only_old_temps_count_as_abandoned(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "fcntl", _NoLocks)
    fresh = _abandoned(tmp_path, ".x.txt.11111111.tmp")
    old = _abandoned(tmp_path, ".x.txt.22222222.tmp")
    hour_ago = time.time() - files.STALE_SECONDS - 60
    os.utime(old, (hour_ago, hour_ago))
    atomic_write(tmp_path / "x.txt", "x")
    assert fresh.exists() and not old.exists() and (tmp_path / "x.txt").read_text() == "x"


def test_without_flock_abandoned_temps_are_still_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "fcntl", None)  # Windows: a file held open cannot be deleted there
    _abandoned(tmp_path, ".x.txt.33333333.tmp")
    atomic_write(tmp_path / "x.txt", "x")
    assert os.listdir(tmp_path) == ["x.txt"]


def test_a_temp_taken_for_stale_before_it_was_locked_is_replaced_by_a_new_one(tmp_path, monkeypatch):
    """The race the lock check closes: a cleaner removes a new temp between create and lock."""
    lock, removed = files._lock, []

    def cleaner_got_there_first(fd):
        if not removed:
            (tmp,) = temps(tmp_path, "x.txt")
            os.unlink(tmp_path / tmp)
            removed.append(tmp)
        lock(fd)

    monkeypatch.setattr(files, "_lock", cleaner_got_there_first)
    atomic_write(tmp_path / "x.txt", "whole")
    assert removed and (tmp_path / "x.txt").read_text() == "whole"
    assert os.listdir(tmp_path) == ["x.txt"]


NAME = st.text(st.sampled_from("abxyz.-_0123"), min_size=1, max_size=12).filter(
    lambda n: n not in (".", "..")
)
HEX8 = st.text(st.sampled_from("0123456789abcdef"), min_size=8, max_size=8)


@settings(max_examples=40, deadline=None)
@given(
    target=NAME,
    others=st.lists(
        st.one_of(
            HEX8.map(lambda h: ("own", h)),
            st.tuples(NAME, HEX8).map(lambda p: ("other-target", f"{p[0]}.{p[1]}")),
            NAME.map(lambda n: ("plain", n)),
        ),
        max_size=8,
    ),
)
def test_exactly_the_abandoned_temps_of_the_target_go(target, others):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        names = set()
        for kind, part in others:
            name = (
                f".{target}.{part}.tmp"
                if kind == "own"
                else f".{part}.tmp"
                if kind == "other-target"
                else part
            )
            if name != target and (folder / name).resolve().parent == folder.resolve():
                (folder / name).write_bytes(b"x")
                names.add(name)
        own = {
            n
            for n in names
            if n.startswith(f".{target}.") and n.endswith(".tmp") and len(n) == len(target) + 14
        }
        own = {n for n in own if all(c in "0123456789abcdef" for c in n[len(target) + 2 : -4])}
        remove_stale_temps(folder / target)
        assert set(os.listdir(folder)) == names - own
