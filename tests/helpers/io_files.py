"""Helpers for tests that build valid model files and then damage them on purpose."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import numpy as np

HEADER = "__header__"


def to_bytes(save: Callable[[Any], Any]) -> bytes:
    """Run ``save(fileobj)`` into memory and return the file's bytes."""
    buf = io.BytesIO()
    save(buf)
    return buf.getvalue()


def unpack(data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Header and arrays of a valid file (read with NumPy, no pickle)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(arrays.pop(HEADER).tobytes().decode("utf-8"))
    return header, arrays


def pack(header: Any, arrays: dict[str, Any], *, raw_header: Any = None) -> bytes:
    """Write ``header`` (any JSON value, or ``raw_header`` as the header array itself) and ``arrays``
    with NumPy's own writer — which pickles object arrays, as an attacker's file would."""
    if raw_header is None:
        raw_header = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **{HEADER: raw_header}, **arrays)
    return buf.getvalue()


def rewrite(
    data: bytes,
    header_fn: Callable[[dict[str, Any]], Any] | None = None,
    arrays_fn: Callable[[dict[str, np.ndarray]], Any] | None = None,
) -> bytes:
    """Decode a valid file, let the callbacks mutate header/arrays in place (``header_fn`` may
    instead return a replacement header), and re-encode it."""
    header, arrays = unpack(data)
    if header_fn is not None:
        result = header_fn(header)
        header = header if result is None else result
    if arrays_fn is not None:
        arrays_fn(arrays)
    return pack(header, arrays)


def json_paths(value: Any, prefix: tuple = ()) -> Any:
    """Every location in a JSON document, as key/index tuples (the root is ``()``)."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from json_paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from json_paths(v, (*prefix, i))
