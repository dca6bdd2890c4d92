"""Atomic file writing: the one way the package writes a file.

``atomic_write(path, data)`` writes text, bytes or, given a callable, whatever ``data(fh)`` writes
to a binary handle; ``with atomic_open(path, "w") as fh:`` hands out the handle itself. Either way
the bytes go to a temporary file in the target's folder (so the rename stays on one file system),
which is flushed, fsync'ed and ``os.replace``'d onto the target; then the folder is fsync'ed so the
rename itself survives a crash. A reader sees the old file or the whole new one, never a mixture.

Any failure before the rename (an ``OSError`` such as ENOSPC, an exception raised by the caller's
code, ``KeyboardInterrupt``) removes the temporary file and leaves the target as it was. An
``OSError`` about the target or its temporary file is raised again naming the target.

The new file gets the permissions any newly created file gets, ``0o666 & ~umask`` (and any default
ACL of the folder): the temporary file is created with ``os.open(..., 0o666)`` and the kernel applies
the umask. Replacing a file does not keep its old mode.

Standard library only, like the rest of the base layer.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
_MODES = {"w": "w", "wt": "w", "wb": "wb"}

PathLike = str | os.PathLike[str]


def _create_temp(target: Path) -> tuple[int, Path]:
    """A new, empty file beside ``target``: its descriptor and its path."""
    stem = target.name[:200]  # room for the suffix within the usual 255-byte name limit
    for _ in range(100):
        tmp = target.with_name(f".{stem}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, _FLAGS, 0o666), tmp
        except FileExistsError:
            continue
        except OSError as exc:  # name the target, not a temporary name the caller never chose
            raise OSError(exc.errno, exc.strerror, os.fspath(target)) from exc
    raise FileExistsError(errno.EEXIST, "no unused temporary file name beside the target", str(target))


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


def _naming_target(exc: OSError, target: Path, tmp: Path | None) -> OSError | None:
    """``exc`` again, naming ``target``; ``None`` when it is about some other file (keep it as is)."""
    if exc.filename is not None and (tmp is None or os.fspath(exc.filename) != os.fspath(tmp)):
        return None
    try:
        if exc.errno is not None:
            return type(exc)(exc.errno, exc.strerror or os.strerror(exc.errno), os.fspath(target))
        return type(exc)(f"{target}: {exc}")
    except Exception:  # an OSError subclass with a constructor of its own
        return None


@contextlib.contextmanager
def atomic_open(
    path: PathLike, mode: str = "wb", *, encoding: str | None = "utf-8", newline: str | None = None
) -> Iterator[IO[Any]]:
    """Open a temporary file for writing; on a clean exit it replaces ``path`` atomically.

    ``mode`` is ``"wb"`` (bytes) or ``"w"`` / ``"wt"`` (text, with ``encoding`` and ``newline``
    as for :func:`open`; ``encoding=None`` is the locale's). If the ``with`` block raises, the
    temporary file is removed and ``path`` is untouched.
    """
    if mode not in _MODES:
        raise ValueError(f"atomic_open writes in mode 'w', 'wt' or 'wb'. Received: {mode!r}")
    target = Path(path)
    tmp: Path | None = None
    try:
        fd, tmp = _create_temp(target)
        if _MODES[mode] == "wb":
            fh = os.fdopen(fd, "wb")
        else:
            try:
                fh = os.fdopen(fd, "w", encoding=encoding, newline=newline)
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
    _fsync_directory(target.parent)


def atomic_write(
    path: PathLike,
    data: str | bytes | bytearray | memoryview | Callable[[IO[bytes]], object],
    *,
    encoding: str | None = "utf-8",
) -> Path:
    """Write ``data`` to ``path`` atomically and return the path.

    ``data`` is text (written with ``encoding``), bytes, or a callable that writes to the binary
    file handle it is given (``atomic_write(path, lambda fh: np.save(fh, array))``).
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


__all__ = ["atomic_open", "atomic_write"]
