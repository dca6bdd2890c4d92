"""Atomic file writing: the one way the package writes a file.

``atomic_write(path, data)`` writes text, bytes or, given a callable, whatever ``data(fh)`` writes
to a binary handle; ``with atomic_open(path, "w") as fh:`` hands out the handle itself. Either way
the bytes go to a temporary file in the target's folder (so the rename stays on one file system),
``.<name>.<8 hex digits>.tmp``, which is flushed, fsync'ed and ``os.replace``'d onto the target;
then the folder is fsync'ed so the rename itself survives a crash. A reader sees the old file or
the whole new one, never a mixture.

Any failure before the rename (an ``OSError`` such as ENOSPC, an exception raised by the caller's
code, ``KeyboardInterrupt``) removes the temporary file and leaves the target as it was. An
``OSError`` about the target or its temporary file is raised again as
:class:`~nnscratch.base.errors.WriteError` (an ``OSError`` with the same ``errno``) naming the
target: ``cannot write runs/x/metrics.json: No space left on device``.

A process killed mid-write cannot remove its temporary file; the next successful write of the same
target does. It removes only names of the pattern above for that target, and only those no live
writer holds: a writer keeps an ``flock`` on its temporary file until the rename, and a file that
can be locked has lost its writer (the kernel drops the lock of a dead process). Where ``flock``
is missing (Windows) a file still open cannot be deleted anyway; where the file system refuses
locks, only temporary files older than :data:`STALE_SECONDS` are removed.

Permissions are those ``open()`` would give: a new file gets ``0o666 & ~umask`` (and any default
ACL of the folder: the temporary file is created with ``os.open(..., 0o666)`` and the kernel
applies the umask); a file that is replaced keeps its mode.

Standard library only, like the rest of the base layer.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from .errors import WriteError

try:
    import fcntl
except ImportError:  # Windows: no flock; an open file cannot be deleted there
    fcntl = None  # type: ignore[assignment]

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
# Opening a stale candidate: never follow a link, never block on a FIFO.
_PROBE_FLAGS = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_MODES = {"w": "w", "wt": "w", "wb": "wb"}
_STEM_CHARS = 200  # room for the suffix within the usual 255-byte name limit
#: Where locks are refused, a temporary file this old (seconds) counts as left by a crash.
STALE_SECONDS = 3600.0

PathLike = str | os.PathLike[str]


def _temp_stem(target: Path) -> str:
    return target.name[:_STEM_CHARS]


def _lock(fd: int) -> None:
    """Hold an exclusive lock on the temporary file while it is written (see the module doc)."""
    if fcntl is not None:
        with contextlib.suppress(OSError):  # a file system without locks: the age rule applies
            fcntl.flock(fd, fcntl.LOCK_EX)


def _existing_mode(target: Path) -> int | None:
    """The permission bits of the regular file ``target`` replaces; None for a new file."""
    try:
        st = os.stat(target)
    except OSError:
        return None
    return stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else None


def _create_temp(target: Path) -> tuple[int, Path]:
    """A new, empty, locked file beside ``target`` (with ``target``'s mode if it exists): its
    descriptor and its path."""
    stem, mode = _temp_stem(target), _existing_mode(target)
    for _ in range(100):
        tmp = target.with_name(f".{stem}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, _FLAGS, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:  # name the target, not a temporary name the caller never chose
            raise WriteError(exc.errno, exc.strerror, os.fspath(target)) from exc
        try:
            _lock(fd)
            if os.fstat(fd).st_nlink == 0:  # another save took it for stale before we locked it
                os.close(fd)
                continue
            if mode is not None:
                os.chmod(tmp, mode)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return fd, tmp
    raise WriteError(errno.EEXIST, "no unused temporary file name beside the target", os.fspath(target))


def _fsync_directory(directory: Path) -> None:
    """Persist the rename itself (POSIX); a no-op where directories cannot be opened (Windows)."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _remove_if_abandoned(path: Path) -> None:
    """Remove the temporary file ``path`` if no writer holds it any more (regular files only)."""
    if fcntl is None:  # Windows: deleting a file a live writer holds open fails
        with contextlib.suppress(OSError):
            if stat.S_ISREG(os.lstat(path).st_mode):
                os.unlink(path)
        return
    fd = -1
    for access in (os.O_RDONLY, os.O_WRONLY):  # flock works on either; one may be refused by the mode
        with contextlib.suppress(OSError):
            fd = os.open(path, _PROBE_FLAGS | access)
            break
    if fd < 0:
        return
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # a live writer
        except OSError:  # locks refused here: only an old file counts as abandoned
            if time.time() - st.st_mtime < STALE_SECONDS:
                return
        now = os.lstat(path)
        if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):  # still the file we locked
            os.unlink(path)
    except OSError:
        pass  # gone already, or not ours to remove: never fail a write that succeeded
    finally:
        os.close(fd)


def remove_stale_temps(target: PathLike) -> None:
    """Remove the temporary files that crashed writes of ``target`` left beside it.

    Only names ``.<name>.<8 hex digits>.tmp`` of this target (the helper's own pattern), only
    regular files, and only those no running write holds. Called after every successful write.
    """
    target = Path(target)
    pattern = re.compile(rf"\.{re.escape(_temp_stem(target))}\.[0-9a-f]{{8}}\.tmp")
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    for name in names:
        if pattern.fullmatch(name):
            _remove_if_abandoned(target.parent / name)


def _naming_target(exc: OSError, target: Path, tmp: Path | None) -> WriteError | None:
    """``exc`` again, naming ``target``; ``None`` when it is about some other file (keep it as is)."""
    if isinstance(exc, WriteError):
        return None
    if exc.filename is not None and (tmp is None or os.fspath(exc.filename) != os.fspath(tmp)):
        return None
    strerror = exc.strerror or (os.strerror(exc.errno) if exc.errno is not None else str(exc))
    return WriteError(exc.errno, strerror, os.fspath(target))


@contextlib.contextmanager
def atomic_open(
    path: PathLike, mode: str = "wb", *, encoding: str | None = "utf-8", newline: str | None = None
) -> Iterator[IO[Any]]:
    """Open a temporary file for writing; on a clean exit it replaces ``path`` atomically.

    ``mode`` is ``"wb"`` (bytes) or ``"w"`` / ``"wt"`` (text, with ``encoding`` and ``newline``
    as for :func:`open`; ``encoding=None`` is the locale's). If the ``with`` block raises, the
    temporary file is removed and ``path`` is untouched.

    Raises
    ------
    WriteError
        An ``OSError`` (same ``errno``) naming ``path``, when it cannot be written.
    """
    if mode not in _MODES:
        raise ValueError(f"atomic_open writes in mode 'w', 'wt' or 'wb'. Received: {mode!r}")
    target = Path(path)
    tmp: Path | None = None
    lock_fd = -1  # keeps the lock past closing the handle, until the rename is done
    try:
        fd, tmp = _create_temp(target)
        try:
            lock_fd = os.dup(fd) if fcntl is not None else -1
            fh = (
                os.fdopen(fd, "wb")
                if _MODES[mode] == "wb"
                else os.fdopen(fd, "w", encoding=encoding, newline=newline)
            )
        except BaseException:
            os.close(fd)
            raise
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError):
            named = _naming_target(exc, target, tmp)
            if named is not None:
                raise named from exc
        raise
    finally:
        if lock_fd >= 0:
            os.close(lock_fd)
    _fsync_directory(target.parent)
    remove_stale_temps(target)


def atomic_write(
    path: PathLike,
    data: str | bytes | bytearray | memoryview | Callable[[IO[bytes]], object],
    *,
    encoding: str | None = "utf-8",
) -> Path:
    """Write ``data`` to ``path`` atomically and return the path.

    ``data`` is text (written with ``encoding``), bytes, or a callable that writes to the binary
    file handle it is given (``atomic_write(path, lambda fh: np.save(fh, array))``). Raises
    :class:`~nnscratch.base.errors.WriteError` naming ``path`` when it cannot be written.
    """
    if isinstance(data, str):
        with atomic_open(path, "w", encoding=encoding) as fh:
            fh.write(data)
    elif isinstance(data, bytes | bytearray | memoryview):
        with atomic_open(path, "wb") as fh:
            fh.write(data)
    elif callable(data):
        with atomic_open(path, "wb") as fh:
            data(fh)
    else:
        raise TypeError(
            f"atomic_write writes str, bytes or what a callable writes. Received: {type(data).__name__}"
        )
    return Path(path)


__all__ = ["STALE_SECONDS", "atomic_open", "atomic_write", "remove_stale_temps"]
