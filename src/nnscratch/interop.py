"""Weights in and out of PyTorch, and ``safetensors`` files.

nnscratch's state dicts already use PyTorch's names (``"0.weight"``, ``"lstm.weight_ih_l0"``...)
and layouts (``Linear.weight`` is ``(out, in)``, ``Conv2d.weight`` is ``(out, in, kh, kw)``), so
weights move between an nnscratch model and the equivalent ``torch.nn`` model unchanged::

    torch_model.load_state_dict(to_torch_state_dict(model))      # nnscratch -> PyTorch
    from_torch_state_dict(model, torch_model.state_dict())        # PyTorch -> nnscratch

or through a ``.safetensors`` file, which both sides read without pickle::

    save_safetensors(model, "w.safetensors")    # torch: safetensors.torch.load_file(...)
    load_safetensors(model, "w.safetensors")    # from safetensors.torch.save_file(sd, ...)

See ``docs/sklearn-and-pytorch.md``.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nnscratch._version import __version__
from nnscratch.base.errors import DTypeError, MissingDependencyError, ModelFileError, StateDictError
from nnscratch.base.files import atomic_write
from nnscratch.engine.module import Module
from nnscratch.io.architecture import to_config

# PyTorch's BatchNorm counts its updates in a buffer nnscratch may not keep; it carries no weights.
_TORCH_ONLY_BUFFERS = ("num_batches_tracked",)


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise MissingDependencyError(
            "moving weights to or from PyTorch needs torch: pip install 'nnscratch[torch]'"
        ) from exc
    return torch


def _safetensors_numpy() -> Any:
    try:
        import safetensors.numpy
    except ImportError as exc:
        raise MissingDependencyError(
            "safetensors files need the safetensors package: pip install 'nnscratch[interop]'"
        ) from exc
    return safetensors.numpy


def _check_model(model: Any) -> Module:
    if not isinstance(model, Module):
        raise DTypeError(f"model must be an nnscratch Module. Received: {model!r:.80}")
    return model


def to_torch_state_dict(model: Module) -> OrderedDict[str, Any]:
    """The model's parameters and buffers as ``torch.Tensor`` copies under PyTorch's names."""
    torch = _torch()
    return OrderedDict((k, torch.from_numpy(v)) for k, v in _check_model(model).state_dict().items())


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch.Tensor, without importing torch
        value = value.detach().cpu()
        if value.is_floating_point() and str(value.dtype) not in ("torch.float32", "torch.float64"):
            value = value.double()  # bfloat16/float16: NumPy-readable and exact in float64
        value = value.numpy()
    return np.asarray(value)


def from_torch_state_dict(model: Module, state_dict: Mapping[str, Any], *, strict: bool = True) -> Module:
    """Load a PyTorch ``state_dict`` (tensors or arrays) into ``model``, converting to its dtype.

    Raises :class:`StateDictError` naming missing, unexpected or misshaped entries (with
    ``strict=False`` missing/unexpected ones are ignored). Returns ``model``.
    """
    model = _check_model(model)
    if not isinstance(state_dict, Mapping):
        raise DTypeError(f"state_dict must be a mapping of names to tensors. Received: {state_dict!r:.80}")
    own = model.state_dict()
    arrays = {
        k: _to_numpy(v)
        for k, v in state_dict.items()
        if not (k.rsplit(".", 1)[-1] in _TORCH_ONLY_BUFFERS and k not in own)
    }
    model.load_state_dict(arrays, strict=strict)
    return model


def save_safetensors(
    model: Module, path: str | os.PathLike[str], metadata: Mapping[str, str] | None = None
) -> Path:
    """Write the model's state dict as a ``.safetensors`` file (atomically).

    The file's metadata records ``format="pt"`` (so PyTorch tools accept it), the producer and,
    when the model is built from nnscratch layers, its architecture as JSON (informational).
    """
    st = _safetensors_numpy()
    model = _check_model(model)
    meta = {"format": "pt", "producer": f"nnscratch {__version__}"}
    try:
        meta["nnscratch_architecture"] = json.dumps(to_config(model))
    except ModelFileError:
        pass  # a layer nnscratch cannot describe: the weights alone are still useful
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise DTypeError(
                f"safetensors metadata maps strings to strings. Received: {key!r}: {value!r:.40}"
            )
        meta[key] = value
    data = st.save(model.state_dict(), metadata=meta)
    return atomic_write(path, lambda fh: fh.write(data))


def load_safetensors(model: Module, path: str | os.PathLike[str], *, strict: bool = True) -> Module:
    """Load the weights in a ``.safetensors`` file into ``model`` (no pickle involved).

    Raises :class:`ModelFileError` if the file is not valid safetensors, holds non-numeric or
    non-finite arrays, or does not match the model's parameters. Returns ``model``.
    """
    st = _safetensors_numpy()
    model = _check_model(model)
    data = Path(path).read_bytes()
    try:
        arrays = st.load(data)
    except Exception as exc:  # safetensors raises its own SafetensorError (and others) on bad bytes
        raise ModelFileError(
            f"{path} is not a valid safetensors file ({type(exc).__name__}: {exc})."
        ) from exc
    for key, arr in arrays.items():
        if arr.dtype.kind not in "biuf":
            raise ModelFileError(f"{path}: tensor {key!r} has dtype {arr.dtype}; numeric tensors only.")
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ModelFileError(f"{path}: tensor {key!r} holds NaN or infinite values.")
    try:
        return from_torch_state_dict(model, arrays, strict=strict)
    except StateDictError as exc:
        raise ModelFileError(f"{path} does not fit the model: {exc}") from exc


__all__ = ["from_torch_state_dict", "load_safetensors", "save_safetensors", "to_torch_state_dict"]
