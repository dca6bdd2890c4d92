"""Loading image data sets from the files they ship in: IDX (MNIST, Fashion-MNIST) and NPZ.

IDX layout (big-endian), as described on the MNIST page:

    bytes 0-1   0x00 0x00                 magic prefix
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    4·d bytes   each dimension as a big-endian uint32
    then        prod(dims) elements, big-endian, row-major

Files may be gzip-compressed (``train-images-idx3-ubyte.gz``); this is detected from the content.
Every problem — a bad magic number, an unknown type code, a truncated or over-long file, images and
labels of different lengths, a missing NPZ key, an object array — raises
:class:`nnscratch.base.errors.DataError` naming the file and what was expected. NPZ files are read with
``allow_pickle=False``: they can never execute code.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from nnscratch.base.backend import as_float_dtype
from nnscratch.base.errors import DataError
from nnscratch.base.files import atomic_write

from .dataset import Dataset

#: IDX type code -> big-endian NumPy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: str | os.PathLike) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise DataError(f"IDX file not found: expected an existing file. Received: path={str(p)!r}")
    raw = p.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(f"{p.name}: the gzip stream is corrupt or truncated ({exc}).") from exc
    return raw


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into an array of its shape and native dtype.

    Parameters
    ----------
    path : str or PathLike
        E.g. ``train-images-idx3-ubyte`` (shape (60000, 28, 28), uint8) or
        ``train-labels-idx1-ubyte.gz`` (shape (60000,)).

    Returns
    -------
    ndarray
        The data, converted to the machine's byte order.
    """
    name = Path(path).name
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataError(f"{name}: too short for an IDX header (4 bytes). Received: {len(raw)} bytes")
    if raw[0] != 0 or raw[1] != 0:
        raise DataError(
            f"{name}: bad magic number: an IDX file starts with two zero bytes. Received: {raw[:4].hex(' ')}"
        )
    code, ndim = raw[2], raw[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DataError(f"{name}: unknown IDX element type 0x{code:02X}; expected one of {known}.")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(
            f"{name}: truncated header: {ndim} dimensions need {header} bytes. Received: {len(raw)}"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    body = len(raw) - header
    if body != expected:
        problem = "truncated" if body < expected else "longer than its header says"
        raise DataError(
            f"{name}: file is {problem}: dimensions {dims} of {dtype.name} need {expected} data bytes. "
            f"Received: {body} bytes"
        )
    data = np.frombuffer(raw, dtype=dtype, count=math.prod(dims), offset=header).reshape(dims)
    return data.astype(dtype.newbyteorder("="))


def save_idx(path: str | os.PathLike, array: Any, *, compress: bool | None = None) -> None:
    """Write ``array`` as an IDX file (gzip-compressed when ``compress`` or the name ends in .gz)."""
    arr = np.asarray(array)
    matches = [code for code, dt in IDX_DTYPES.items() if dt.newbyteorder("=") == arr.dtype]
    if not matches:
        raise DataError(
            "save_idx supports uint8, int8, int16, int32, float32 and float64 arrays. "
            f"Received: dtype {arr.dtype}"
        )
    if arr.ndim > 255:
        raise DataError(f"IDX stores at most 255 dimensions. Received: {arr.ndim}")
    code = matches[0]
    payload = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    payload += np.ascontiguousarray(arr, dtype=IDX_DTYPES[code]).tobytes()
    if compress or (compress is None and str(path).endswith(".gz")):
        payload = gzip.compress(payload)
    atomic_write(path, payload)


def load_idx_images(
    images_path: str | os.PathLike,
    labels_path: str | os.PathLike,
    *,
    scale: bool = True,
    dtype: Any = np.float32,
    channel_axis: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Load an MNIST-style pair of IDX files as ``(X, y)`` ready for a CNN.

    Returns X of shape (N, 1, H, W) (or (N, H, W) without ``channel_axis``) as ``dtype``, divided by
    255 when ``scale`` and the images are uint8, and y (N,) as int64 class indices.
    """
    images, labels = load_idx(images_path), load_idx(labels_path)
    if images.ndim != 3:
        raise DataError(
            f"{Path(images_path).name}: expected images of shape (N, H, W). Received: shape {images.shape}"
        )
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataError(
            f"{Path(labels_path).name}: expected integer labels of shape (N,). "
            f"Received: shape {labels.shape}, dtype {labels.dtype}"
        )
    if len(images) != len(labels):
        raise DataError(
            f"images and labels disagree: {len(images)} images in {Path(images_path).name} but "
            f"{len(labels)} labels in {Path(labels_path).name}."
        )
    X = images.astype(as_float_dtype(dtype))
    if scale and images.dtype == np.uint8:
        X /= 255.0
    if channel_axis:
        X = X[:, None]
    return X, labels.astype(np.int64)


def from_idx(
    images_path: str | os.PathLike,
    labels_path: str | os.PathLike,
    *,
    scale: bool = True,
    name: str | None = None,
) -> Dataset:
    """An MNIST-style IDX pair as a :class:`Dataset`, each (H, W) image flattened to a row of H·W pixels.

    A :class:`Dataset` holds 2-D features, so a convolutional model starts with
    ``Unflatten(1, (1, H, W))`` to get its (N, 1, H, W) images back (the experiment files'
    ``[data] idx = ["images.idx", "labels.idx"]`` use this). Pixels are divided by 255 when
    ``scale`` and the images are uint8; labels are kept as stored.
    """
    X, y = load_idx_images(images_path, labels_path, scale=scale, dtype=np.float64, channel_axis=False)
    n, h, w = X.shape
    features = [f"pixel_{r}_{c}" for r in range(h) for c in range(w)]
    desc = (
        f"IDX images {Path(images_path).name} ({h}x{w}, flattened to {h * w} pixel features; "
        f"Unflatten(1, [1, {h}, {w}]) restores them) with labels {Path(labels_path).name}."
    )
    name = name or Path(images_path).name.split(".")[0]
    return Dataset(X.reshape(n, h * w), y, name, features, [], "", desc)


def load_image_npz(
    path: str | os.PathLike, x_key: str = "x", y_key: str | None = "y"
) -> tuple[np.ndarray, np.ndarray | None]:
    """Load images (and labels) from an ``.npz`` archive without ever unpickling.

    Parameters
    ----------
    path : str or PathLike
    x_key, y_key : str
        Names of the image and label arrays (Keras' ``mnist.npz`` uses ``"x_train"``/``"y_train"``);
        ``y_key=None`` loads images only.

    Returns
    -------
    (X, y)
        As stored; y is None when ``y_key`` is None.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"NPZ file not found: expected an existing file. Received: path={str(p)!r}")
    try:
        archive = np.load(p, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{p.name}: not a readable .npz archive ({exc}).") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{p.name}: expected an .npz archive of named arrays, found a single .npy array.")
    with archive:
        keys = sorted(archive.files)
        wanted = [k for k in (x_key, y_key) if k is not None]
        missing = [k for k in wanted if k not in keys]
        if missing:
            raise DataError(f"{p.name}: missing array(s) {missing}. Available keys: {keys}")
        arrays = []
        for key in wanted:
            try:
                arr = archive[key]
            except ValueError as exc:  # object arrays need pickle, which is refused
                raise DataError(
                    f"{p.name}: array {key!r} holds Python objects, which cannot be loaded safely "
                    "(allow_pickle=False). Store numeric arrays instead."
                ) from exc
            except (OSError, zipfile.BadZipFile, EOFError) as exc:
                raise DataError(f"{p.name}: array {key!r} is corrupt or truncated ({exc}).") from exc
            if arr.dtype.kind not in "biuf":
                raise DataError(f"{p.name}: array {key!r} must be numeric. Received: dtype {arr.dtype}")
            arrays.append(arr)
    X = arrays[0]
    y = arrays[1] if y_key is not None else None
    if X.ndim < 2:
        raise DataError(
            f"{p.name}: images {x_key!r} must have a sample axis and pixels. Received: shape {X.shape}"
        )
    if y is not None and (y.ndim == 0 or len(y) != len(X)):
        raise DataError(
            f"{p.name}: {x_key!r} and {y_key!r} disagree: {len(X)} images but labels of shape {y.shape}."
        )
    return X, y


__all__ = ["IDX_DTYPES", "from_idx", "load_idx", "load_idx_images", "load_image_npz", "save_idx"]
