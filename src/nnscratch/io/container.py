"""The file container behind model files and checkpoints: a ``.npz`` zip of ``.npy`` arrays.

One member, ``__header__.npy``, holds a UTF-8 JSON document as a 1-D ``uint8`` array (never a
pickled object); every other member is a plain numeric array. Writing is atomic; reading never
unpickles, never trusts a size it has not checked, and turns every way a corrupt file can fail
inside :mod:`zipfile`, :mod:`zlib` or the ``.npy`` header parser into :class:`ModelFileError`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from nnscratch.base.errors import DTypeError, ModelFileError
from nnscratch.base.files import atomic_write
from nnscratch.engine.losses import Loss
from nnscratch.engine.optim.optimizers import Optimizer
from nnscratch.engine.optim.schedulers import LRScheduler

HEADER_KEY = "__header__"
MAX_HEADER_BYTES = 64 * 2**20  # a header is JSON text: anything bigger is not one of ours
_NPY_HEADER_LIMIT = 65536  # generous bound for the .npy header of one array
_MAX_DEFLATE_RATIO = 1032  # zlib's largest possible expansion
_READ_CHUNK = 1 << 20  # members are inflated this much at a time, never past their declared size
# NumPy writes members stored or deflated; zipfile inflates bzip2 and LZMA members in one call with
# no output cap (a 648-byte bzip2 member became gigabytes), so only these two are read at all.
_COMPRESSIONS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}

# What zipfile, zlib and numpy's .npy header parser raise on damaged bytes. Our own checks raise
# ModelFileError directly; only calls into these libraries are wrapped, so a bug of ours is not
# hidden behind a "corrupt file" message.
_PARSE_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    KeyError,
    struct.error,
    NotImplementedError,
    RuntimeError,
    UnicodeDecodeError,
    OverflowError,
    MemoryError,
)


@contextlib.contextmanager
def _parsing(what: str, source: str) -> Iterator[None]:
    try:
        yield
    except ModelFileError:
        raise
    except _PARSE_ERRORS as exc:
        raise ModelFileError(
            f"{source} is not a valid nnscratch file: cannot read {what} "
            f"({type(exc).__name__}: {exc}). The file is truncated or corrupt."
        ) from exc


# -- writing ---------------------------------------------------------------------------------------
def _json_default(value: Any) -> Any:
    """Encode the NumPy scalars/arrays and library objects that users naturally put in metadata."""
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray) and value.size <= 10_000 and value.dtype.kind in "biuf":
        return value.tolist()
    if isinstance(value, (Path, np.dtype)):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Optimizer):
        record = {"type": type(value).__name__, **value.hyperparameters()}
        if len(value.param_groups) > 1:  # each group's hyperparameters (the first group's above)
            record["param_groups"] = [
                {k: v for k, v in g.items() if k != "params"} for g in value.param_groups
            ]
        return record
    if isinstance(value, Loss):
        return {"type": type(value).__name__, "reduction": value.reduction}
    if isinstance(value, LRScheduler):
        return value.state_dict()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode_header(header: Mapping[str, Any]) -> np.ndarray:
    """The header as a 1-D uint8 array of its UTF-8 JSON text."""
    try:
        text = json.dumps(header, default=_json_default, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise DTypeError(
            "metadata saved in a model file must be JSON-serialisable (numbers, strings, lists, "
            f"dicts). Received a value that is not: {exc}"
        ) from exc
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).copy()


def _write_npz(fh: IO[bytes], arrays: Mapping[str, np.ndarray], compress: bool) -> None:
    """Write the zip through NumPy (separate function so tests can simulate a crash mid-write)."""
    (np.savez_compressed if compress else np.savez)(fh, **arrays)


def write_container(
    target: str | os.PathLike[str] | IO[bytes],
    header: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
    *,
    compress: bool = False,
) -> Path | None:
    """Write ``header`` and ``arrays`` as one ``.npz``; atomically (:func:`nnscratch.base.files.atomic_write`)
    when ``target`` is a path."""
    members = {HEADER_KEY: encode_header(header)}
    for key, value in arrays.items():
        if key == HEADER_KEY or key.startswith("__"):
            raise ModelFileError(f"array names may not start with '__'. Received: {key!r}")
        members[key] = np.asarray(value, order="C")  # (ascontiguousarray would make 0-d arrays 1-d)
    if hasattr(target, "write"):
        _write_npz(target, members, compress)  # type: ignore[arg-type]
        return None
    return atomic_write(target, lambda fh: _write_npz(fh, members, compress))


# -- reading ---------------------------------------------------------------------------------------
class ArraySpec:
    """What a member's ``.npy`` header declares: shape, dtype, memory order, data offset."""

    __slots__ = ("dtype", "fortran", "info", "offset", "shape")

    def __init__(
        self, info: zipfile.ZipInfo, shape: tuple[int, ...], dtype: np.dtype, fortran: bool, offset: int
    ):
        self.info, self.shape, self.dtype, self.fortran, self.offset = info, shape, dtype, fortran, offset

    @property
    def size(self) -> int:
        return math.prod(self.shape)


class Container:
    """An opened file: its JSON ``header`` and the declared specs of its arrays (read lazily)."""

    def __init__(self, zf: zipfile.ZipFile, source: str, length: int) -> None:
        self._zf = zf
        self.source = source
        with _parsing("the zip directory", source):
            infos = zf.infolist()
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            raise ModelFileError(f"{source} holds duplicate members; refusing an ambiguous file.")
        self.specs: dict[str, ArraySpec] = {}
        for info in infos:
            _check_declared_size(info, length, source)
            if not info.filename.endswith(".npy"):
                raise ModelFileError(
                    f"{source} holds a member {info.filename!r} that is not a .npy array; a model file "
                    "holds only arrays and its JSON header."
                )
            self.specs[info.filename[:-4]] = self._read_spec(info)
        header_spec = self.specs.pop(HEADER_KEY, None)
        if header_spec is None:
            raise ModelFileError(
                f"{source} has no {HEADER_KEY!r} member: it is a plain .npz, not an nnscratch file "
                "(save one with nnscratch.save)."
            )
        self.header = self._read_header(header_spec)

    def _read_spec(self, info: zipfile.ZipInfo) -> ArraySpec:
        name = info.filename
        with _parsing(f"the .npy header of {name!r}", self.source), self._zf.open(info) as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh, _NPY_HEADER_LIMIT)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh, _NPY_HEADER_LIMIT)
            else:
                raise ModelFileError(f"{self.source}: member {name!r} has unknown .npy version {version}")
            offset = fh.tell()
        if dtype.hasobject or dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype:
            raise ModelFileError(
                f"{self.source}: array {name[:-4]!r} has dtype {dtype}; only plain numeric arrays "
                "(bool, int, float) are accepted — object arrays would need pickle, which is refused."
            )
        expected = offset + math.prod(shape) * dtype.itemsize
        if info.file_size != expected:
            raise ModelFileError(
                f"{self.source}: member {name!r} is {info.file_size} bytes but its header declares "
                f"shape {shape} of {dtype} ({expected} bytes): the file is truncated or corrupt."
            )
        return ArraySpec(info, tuple(shape), dtype, bool(fortran), offset)

    def _read_header(self, spec: ArraySpec) -> dict[str, Any]:
        if spec.dtype != np.uint8 or len(spec.shape) != 1 or spec.size > MAX_HEADER_BYTES:
            raise ModelFileError(
                f"{self.source}: the header must be a 1-D uint8 array of at most {MAX_HEADER_BYTES} "
                f"bytes. Received: shape {spec.shape}, dtype {spec.dtype}"
            )
        raw = self._read_bytes(spec, HEADER_KEY)
        try:
            header = json.loads(bytes(raw).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ModelFileError(f"{self.source}: the header is not valid UTF-8 JSON ({exc}).") from exc
        if not isinstance(header, dict):
            raise ModelFileError(
                f"{self.source}: the header must be a JSON object. Received: {type(header).__name__}"
            )
        return header

    def _read_bytes(self, spec: ArraySpec, key: str) -> memoryview:
        """The member's bytes after its .npy header, inflated in bounded chunks: never more than
        the declared size is held, and a member that inflates past it is refused."""
        size = spec.info.file_size
        data = bytearray()
        with _parsing(f"array {key!r}", self.source), self._zf.open(spec.info) as fh:
            while len(data) < size:
                chunk = fh.read(min(_READ_CHUNK, size - len(data)))
                if not chunk:
                    break
                data += chunk
            beyond = fh.read(1)  # at the declared end: zipfile verifies the CRC-32 here
        if beyond:
            raise ModelFileError(
                f"{self.source}: array {key!r} inflates to more than its declared {size} bytes; "
                "refusing a corrupt or hostile file."
            )
        if len(data) != size:
            raise ModelFileError(f"{self.source}: array {key!r} is truncated.")
        return memoryview(data)[spec.offset :]

    def read(self, key: str) -> np.ndarray:
        """The array ``key`` as a fresh, writable, C-contiguous ndarray."""
        spec = self.specs[key]
        data = self._read_bytes(spec, key)
        flat = np.frombuffer(data, dtype=spec.dtype, count=spec.size)
        arr = flat.reshape(spec.shape, order="F" if spec.fortran else "C")
        return np.array(arr, order="C", copy=True)


def _check_declared_size(info: zipfile.ZipInfo, length: int, source: str) -> None:
    """Sizes in the zip directory are claims; tie them to the bytes actually in the file, so that
    nothing is allocated for data the file could not hold (deflate expands at most ~1032:1).
    Only stored and deflated members are accepted: other methods have no such bound here."""
    if info.compress_type not in _COMPRESSIONS:
        raise ModelFileError(
            f"{source}: member {info.filename!r:.80} uses zip compression method {info.compress_type}; "
            f"model files hold only {' or '.join(_COMPRESSIONS.values())} members (as NumPy writes them)."
        )
    stored = info.compress_type == zipfile.ZIP_STORED
    limit = info.compress_size if stored else _MAX_DEFLATE_RATIO * info.compress_size + 1024
    if info.compress_size > length or info.file_size > limit:
        raise ModelFileError(
            f"{source}: member {info.filename!r:.80} claims {info.file_size} bytes, more than the "
            f"{length}-byte file can hold: it is truncated or corrupt."
        )


@contextlib.contextmanager
def open_container(source: str | os.PathLike[str] | IO[bytes]) -> Iterator[Container]:
    """Open a model file or checkpoint (a path or a binary file object) for validated reading."""
    if hasattr(source, "read"):
        name = getattr(source, "name", None) or "the file object"
        fh: IO[bytes] = source  # type: ignore[assignment]
        owned = False
    else:
        name = str(source)
        fh = open(source, "rb")
        owned = True
    try:
        with _parsing("the zip structure", name):
            length = fh.seek(0, os.SEEK_END)
            fh.seek(0)
            zf = zipfile.ZipFile(fh)
        with zf:
            yield Container(zf, name, length)
    finally:
        if owned:
            fh.close()


__all__ = [
    "HEADER_KEY",
    "ArraySpec",
    "Container",
    "encode_header",
    "open_container",
    "write_container",
]
