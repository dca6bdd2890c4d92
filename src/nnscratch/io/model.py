"""Saving and loading models: one ``.npz`` of weights plus a JSON header — never a pickle.

::

    ns.save(model, "xor.npz", history=history, metrics={"accuracy": 1.0}, data=(X, y))
    model = ns.load("xor.npz")                      # bit-identical predictions
    model, info = ns.load_with_info("xor.npz")      # info.history, info.meta, info.metrics...

The header (``__header__``, UTF-8 JSON stored as a uint8 array) holds the format name and
version, the library version, the architecture (layer types and constructor arguments, nested
for ``Sequential``), the activation names, the dtype, a manifest of the arrays, and optional
training configuration, data fingerprint, history, metrics and free-form ``meta``.

Loading is read with ``allow_pickle``-free parsing and executes no code from the file: layer types
come from an allowlist, arguments are JSON values, every array is checked against the rebuilt
model (names, shapes, dtypes, finiteness) before it is used, and anything else — a future format
version, an unknown layer, a truncated or corrupt zip, a header that is not JSON — raises
:class:`~nnscratch.base.errors.ModelFileError`. Writes are atomic (see :func:`write_container`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from nnscratch._version import __version__
from nnscratch.base.errors import DTypeError, ModelFileError
from nnscratch.engine.history import History
from nnscratch.engine.module import Module
from nnscratch.engine.names import register_activation, register_layer, registered_activation

from .architecture import BuildLimits, activation_names, from_config, module_dtype, to_config
from .container import Container, open_container, write_container

FORMAT = "nnscratch-model"
FORMAT_VERSION = 1
PathLike = str | os.PathLike[str]


@dataclass
class ModelInfo:
    """Everything a model file's header says besides the weights."""

    format_version: int
    library_version: str
    architecture: dict[str, Any]
    activations: list[str]
    dtype: str | None
    arrays: dict[str, dict[str, Any]]
    history: History | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    data_fingerprint: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)


# -- public API ------------------------------------------------------------------------------------
def fingerprint(X: Any, y: Any = None) -> dict[str, Any]:
    """SHA-256 digests (with shape and dtype) of the training data, to record what a model saw."""
    out = {"X": _digest(X, "X")}
    if y is not None:
        out["y"] = _digest(y, "y")
    return out


def save(
    model: Module,
    path: PathLike | IO[bytes],
    history: History | dict[str, list[float]] | None = None,
    meta: dict[str, Any] | None = None,
    *,
    metrics: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    data: Any = None,
    compress: bool = False,
) -> Path | None:
    """Save ``model`` (architecture and weights) to one ``.npz`` file, atomically.

    Parameters
    ----------
    model : Module
        Built from nnscratch layers (or classes given to :func:`register_layer`).
    path : str, PathLike or binary file object
        Written exactly as given (no suffix added). A path is replaced atomically.
    history : History or dict, optional
        The training history (``fit``'s return value).
    meta : dict, optional
        Free-form JSON-serialisable metadata.
    metrics : dict, optional
        Final scores, e.g. ``{"accuracy": 0.97}``.
    training : dict, optional
        The training configuration; Optimizer and Loss objects are stored by type and settings.
    data : (X, y), X, or a :func:`fingerprint` dict, optional
        The training data, stored as SHA-256 fingerprints (never the data itself).
    compress : bool
        Deflate the arrays (smaller file, slower to write).

    Returns
    -------
    Path or None
        The path written (None for a file object).
    """
    if not isinstance(model, Module):
        raise DTypeError(f"save expects an nnscratch Module as model. Received: {model!r:.80}")
    header, arrays = describe_model(model)
    header.update(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "library_version": __version__,
            "history": history_to_json(history),
            "metrics": _as_dict(metrics, "metrics"),
            "training": _as_dict(training, "training"),
            "data_fingerprint": _data_fingerprint(data),
            "meta": _as_dict(meta, "meta"),
        }
    )
    return write_container(path, header, arrays, compress=compress)


def load(path: PathLike | IO[bytes]) -> Module:
    """Load a model saved with :func:`save`, in eval mode; see :func:`load_with_info`."""
    return load_with_info(path)[0]


def load_with_info(path: PathLike | IO[bytes]) -> tuple[Module, ModelInfo]:
    """Load a model and its header (history, metrics, meta...).

    Raises
    ------
    ModelFileError
        For anything but a valid model file: wrong or future format version, unknown layer
        types, missing/extra/misshaped/non-numeric/object arrays, wrong dtypes, non-finite
        weights, a truncated or corrupt zip, a header that is not JSON or not of this format.
    FileNotFoundError
        If ``path`` does not exist.
    """
    with open_container(path) as c:
        h = c.header
        check_format(h, c.source, FORMAT)
        _check_keys(h, c.source, _MODEL_KEYS)
        model = build_model(c, h, prefix="")
        info = ModelInfo(
            format_version=h["format_version"],
            library_version=h["library_version"],
            architecture=h["architecture"],
            activations=h["activations"],
            dtype=h["dtype"],
            arrays=h["arrays"],
            history=history_from_json(h.get("history"), c.source),
            metrics=_header_dict(h, "metrics", c.source),
            training=_header_dict(h, "training", c.source),
            data_fingerprint=_header_dict(h, "data_fingerprint", c.source) or None,
            meta=_header_dict(h, "meta", c.source),
        )
    return model, info


# -- pieces shared with checkpoints ----------------------------------------------------------------
_MODEL_KEYS = {
    "format", "format_version", "library_version", "architecture", "activations", "dtype", "arrays",
    "history", "metrics", "training", "data_fingerprint", "meta",
}  # fmt: skip


def describe_model(model: Module, prefix: str = "") -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The model's header fields (architecture, activations, dtype, manifest) and its arrays."""
    state = model.state_dict()
    dtype = module_dtype(model)
    header = {
        "architecture": to_config(model),
        "activations": activation_names(model),
        "dtype": None if dtype is None else dtype.name,
        "arrays": {k: {"shape": list(v.shape), "dtype": v.dtype.str} for k, v in state.items()},
    }
    return header, {prefix + k: v for k, v in state.items()}


def check_format(header: dict[str, Any], source: str, expected: str) -> None:
    """Refuse a file of another format, or of a format version this library cannot read."""
    fmt = header.get("format")
    if fmt != expected:
        hint = {
            "nnscratch-checkpoint": " (it is a training checkpoint: use nnscratch.load_checkpoint)",
            "nnscratch-model": " (it is a model file: use nnscratch.load)",
        }.get(fmt if isinstance(fmt, str) else "", "")
        raise ModelFileError(f"{source} is not an {expected!r} file: its format is {fmt!r:.80}{hint}.")
    version = header.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(
            f"{source}: format_version must be a positive integer. Received: {version!r:.80}"
        )
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{source} was written by a newer nnscratch (format version {version}; this version reads "
            f"up to {FORMAT_VERSION}). Upgrade nnscratch to load it."
        )
    if not isinstance(header.get("library_version"), str):
        raise ModelFileError(f"{source}: library_version must be a string.")


def build_model(c: Container, header: dict[str, Any], prefix: str) -> Module:
    """Rebuild the architecture, check every array against it, then load the weights."""
    src = c.source
    keys = [k for k in c.specs if k.startswith(prefix)]
    limits = BuildLimits.from_shapes([c.specs[k].shape for k in keys])
    model = from_config(header.get("architecture"), limits)
    expected = model.state_dict()
    actual = {k[len(prefix) :]: c.specs[k] for k in keys}
    missing, extra = sorted(set(expected) - set(actual)), sorted(set(actual) - set(expected))
    if missing or extra:
        raise ModelFileError(
            f"{src}: the arrays do not match the architecture: missing {missing}, unexpected {extra}."
        )
    for key, ref in expected.items():
        spec = actual[key]
        if spec.shape != ref.shape:
            raise ModelFileError(
                f"{src}: array {key!r} has shape {spec.shape}, the architecture needs {ref.shape}."
            )
        if spec.dtype != ref.dtype:
            raise ModelFileError(
                f"{src}: array {key!r} has dtype {spec.dtype}, the architecture needs {ref.dtype}."
            )
    manifest = header.get("arrays")
    declared = {k: {"shape": list(v.shape), "dtype": v.dtype.str} for k, v in expected.items()}
    if manifest != declared:
        raise ModelFileError(f"{src}: the header's array manifest does not match the arrays in the file.")
    dtype = module_dtype(model)
    if header.get("dtype") != (None if dtype is None else dtype.name):
        raise ModelFileError(
            f"{src}: header dtype {header.get('dtype')!r:.40} does not match the weights ({dtype})."
        )
    if header.get("activations") != activation_names(model):
        raise ModelFileError(f"{src}: the header's activation names do not match the architecture.")
    arrays = {key: c.read(prefix + key) for key in expected}
    for key, arr in arrays.items():
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ModelFileError(
                f"{src}: array {key!r} holds NaN or infinite values; refusing a broken model."
            )
    model.load_state_dict(arrays)
    model.eval()
    return model


def history_from_json(data: Any, source: str) -> History | None:
    """Validate a stored history (lists of numbers of equal length) and rebuild it."""
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("epoch", []), list):
        raise ModelFileError(f"{source}: history must be an object of lists with an 'epoch' list.")
    epochs = data.get("epoch", [])
    for key, values in data.items():
        if not isinstance(key, str) or not isinstance(values, list) or len(values) != len(epochs):
            raise ModelFileError(f"{source}: history entry {key!r:.40} must be a list as long as 'epoch'.")
        kinds = (int,) if key == "epoch" else (int, float)
        if not all(isinstance(v, kinds) and not isinstance(v, bool) for v in values):
            raise ModelFileError(f"{source}: history entry {key!r:.40} must hold only numbers.")
    return History.from_dict(data)


def _check_keys(header: dict[str, Any], source: str, allowed: set[str]) -> None:
    unknown = sorted(set(header) - allowed)
    if unknown:
        raise ModelFileError(
            f"{source}: the header has unknown fields {unknown}; refusing a file of unknown layout."
        )


def _header_dict(header: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    value = header.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ModelFileError(
            f"{source}: header field {key!r} must be an object. Received: {type(value).__name__}"
        )
    return value


# -- helpers ---------------------------------------------------------------------------------------


def _as_dict(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DTypeError(f"{name} must be a dict (JSON object). Received: {name}={value!r:.80}")
    return dict(value)


def history_to_json(history: Any) -> dict[str, list[float]] | None:
    if history is None:
        return None
    if isinstance(history, History):
        return history.to_dict()
    if isinstance(history, dict):
        return History.from_dict(history).to_dict()
    raise DTypeError(f"history must be a History (fit's result) or a dict. Received: {history!r:.80}")


def _digest(a: Any, name: str) -> dict[str, Any]:
    arr = np.asarray(a, order="C")
    if arr.dtype.kind not in "biuf":
        raise DTypeError(f"{name} must be numeric to fingerprint it. Received dtype {arr.dtype}")
    h = hashlib.sha256(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(arr.tobytes())
    return {"sha256": h.hexdigest(), "shape": list(arr.shape), "dtype": arr.dtype.name}


def _data_fingerprint(data: Any) -> dict[str, Any] | None:
    if data is None:
        return None
    if isinstance(data, dict):
        return dict(data)
    if isinstance(data, tuple) and len(data) == 2:
        return fingerprint(*data)
    return fingerprint(data)


__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ModelInfo",
    "fingerprint",
    "load",
    "load_with_info",
    "register_activation",
    "register_layer",
    "registered_activation",
    "save",
]
