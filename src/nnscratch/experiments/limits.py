"""What an experiment may ask of the machine, checked when its file is read, before anything is
allocated: caps on epochs and samples, and a memory budget for the model and the data.

The memory a run needs is estimated from the config and the data files' first bytes (a CSV's
first lines, an NPZ's array headers, an IDX header), never by loading them:

    model = parameters × dtype bytes × 4   (weights, gradients, two optimizer moments)
          + max(batch × 3, samples) × (sum of what each layer holds per sample) × dtype bytes
            (a batch's outputs, caches and their gradients; or the evaluation of every sample
            at once, whose forward pass keeps its caches too)
    data  = samples × (features + 1) × 8 bytes × 3   (the loaded arrays, the split, a scaled copy)

The budget is ``experiment.memory_budget`` (GiB), else the environment variable
``NNSCRATCH_MEMORY_BUDGET`` (GiB), else half of this machine's memory.
"""

from __future__ import annotations

import gzip
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnscratch.base.errors import ConfigError, DataError
from nnscratch.data import CATALOGUE
from nnscratch.data.csv_fast import peek

from ._errors import Located

BUDGET_ENV = "NNSCRATCH_MEMORY_BUDGET"
GIB = 2**30
PARAMETER_COPIES = 4
ACTIVATION_COPIES = 3
DATA_COPIES = 3
#: Weight matrices per hidden unit of a recurrent layer (its gates).
RECURRENT_GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}
#: The argument that sets the size of a layer with parameters (where an error about it points).
SIZE_ARGS = {"Linear": "out_features", "Conv2d": "out_channels", "Embedding": "num_embeddings"}


def memory_budget(value: float | None) -> tuple[int, str]:
    """(bytes, where that number comes from) of the memory budget."""
    if value is not None:
        return int(value * GIB), f"experiment.memory_budget = {value:g}"
    env = os.environ.get(BUDGET_ENV, "").strip()
    if env:
        try:
            gib = float(env)
        except ValueError:
            gib = float("nan")
        if not gib > 0 or gib == float("inf"):
            raise ConfigError(
                f"{BUDGET_ENV}: expected a number of GiB > 0, e.g. {BUDGET_ENV}=16. Received: {env!r}"
            )
        return int(gib * GIB), f"{BUDGET_ENV}={env}"
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): a laptop's size
        total = 16 * GIB
    return total // 2, "half of this machine's memory"


def show_bytes(n: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", GIB), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} bytes"


# -- the data's shape, from the config and the files' headers -----------------------------------
@dataclass
class DataShape:
    """Samples, features and outputs of the configured data (estimates); ``key`` is the key that
    sets the size (e.g. ``data.params.n_samples`` or ``data.csv``)."""

    samples: int
    features: int
    outputs: int
    key: tuple[str, ...]


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def data_shape(data: Any) -> DataShape | None:
    """The shape of ``[data]`` (a validated DataTable) without loading it; None when unknown."""
    try:
        if data.dataset is not None:
            return _builtin_shape(data.dataset, data.params)
        if data.csv is not None:
            rows, width = _csv_shape(Path(data.csv), data.delimiter)
            if data.y_csv is None:
                width -= 1
            rows += _csv_shape(Path(data.test_csv), data.delimiter)[0] if data.test_csv else 0
            return DataShape(rows, max(width, 1), 1, ("data", "csv"))
        if data.npz is not None:
            rows, features = _npz_shape(Path(data.npz))
            rows += _npz_shape(Path(data.test_npz))[0] if data.test_npz else 0
            return DataShape(rows, features, 1, ("data", "npz"))
        rows, features = _idx_shape(Path(data.idx[0]))
        rows += _idx_shape(Path(data.test_idx[0]))[0] if data.test_idx else 0
        return DataShape(rows, features, 10, ("data", "idx"))
    except (OSError, ValueError, EOFError, DataError, zipfile.BadZipFile, KeyError):
        return None  # reading the data says what is wrong with it


def _builtin_shape(name: str, params: dict[str, Any]) -> DataShape | None:
    entry = CATALOGUE.get(name)
    if entry is None:
        return None
    samples = _int(params.get("n_samples"), entry.n_samples)
    features = _int(params.get("n_features"), entry.n_features)
    features = _int(params.get("window"), features)
    classes = _int(params.get("n_classes", params.get("n_class")), entry.n_classes or 1)
    centers = params.get("centers")
    if isinstance(centers, list) and centers and isinstance(centers[0], list):
        classes, features = len(centers), len(centers[0])
    key = ("data", "params", "n_samples") if "n_samples" in params else ("data", "dataset")
    return DataShape(samples, features, classes, key)


def _csv_shape(path: Path, delimiter: str) -> tuple[int, int]:
    """(rows, columns): the columns of the first line; the rows from the file's size and the
    average length of its first 64 KiB of lines."""
    width = len(peek(path, delimiter, limit=1)[0][1])
    with open(path, "rb") as fh:
        head = fh.read(65536)
    lines = max(head.count(b"\n"), 1)
    return max(1, round(path.stat().st_size / (len(head) / lines))), width


def _npz_shape(path: Path) -> tuple[int, int]:
    with zipfile.ZipFile(path) as archive, archive.open("X.npy") as fh:
        fmt = np.lib.format
        version = fmt.read_magic(fh)  # then the header only, not the data
        shape = (fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0)(fh)[0]
    return (shape[0], int(np.prod(shape[1:], dtype=np.int64))) if shape else (1, 1)


def _idx_shape(path: Path) -> tuple[int, int]:
    with open(path, "rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
    with gzip.open(path, "rb") if gz else open(path, "rb") as fh:
        head = fh.read(4)
        dims = np.frombuffer(fh.read(4 * head[3]), dtype=">u4").astype(np.int64)
    return (int(dims[0]), int(np.prod(dims[1:]))) if len(dims) else (1, 1)


# -- the model's size, from the config ----------------------------------------------------------
def model_layers(model: Any, features: int, outputs: int) -> list[tuple[tuple[Any, ...], int, int]]:
    """``(key, parameters, width)`` of every layer, width being the values one sample leaves behind
    it (its output, plus what an attention layer caches); the key is where the file sets the
    layer's size."""
    out: list[tuple[tuple[Any, ...], int, int]] = []
    if model.layers is None:
        width = features
        for size in [*(model.hidden or []), model.outputs or outputs]:
            out.append((("model", "hidden"), width * size + size, size))
            width = size
        return out
    width = features
    for i, spec in enumerate(model.layers):
        params, width, held = _entry_size(spec, width)
        size_arg = SIZE_ARGS.get(spec.type, "hidden_size" if spec.type in RECURRENT_GATES else "")
        kw = spec.kwargs()
        out.append((("model", "layers", i, *([size_arg] if size_arg in kw else [])), params, held))
    return out


def _entry_size(spec: Any, width: int) -> tuple[int, int, int]:
    """(parameters, output width, values held per sample) of one entry, containers included."""
    if spec.layers is not None or spec.branches is not None:  # Residual, Parallel: their children
        params = held = 0
        widths = []
        for chain in [spec.layers] if spec.layers is not None else spec.branches:
            w = width
            for child in chain:
                p, w, h = _entry_size(child, w)
                params, held = params + p, held + h
            widths.append(w)
        out = sum(widths) if spec.kwargs().get("merge") == "concat" else widths[0]
        return params, out, held + out
    kw = spec.kwargs()
    extra = attention_held(spec.type, kw, width)
    params, width = _layer_size(spec.type, kw, width)
    return params, width, width + extra


def _layer_size(kind: str, kw: dict[str, Any], width: int) -> tuple[int, int]:
    """(parameters, output width) of one ``[[model.layers]]`` entry, from its arguments."""
    if kind == "Linear":
        n_in, n_out = _int(kw.get("in_features"), width), _int(kw.get("out_features"), 1)
        return n_in * n_out + n_out, n_out
    if kind == "Conv2d":
        c_in, c_out = _int(kw.get("in_channels"), 1), _int(kw.get("out_channels"), 1)
        k = kw.get("kernel_size")
        kh, kw_ = (k[0], k[-1]) if isinstance(k, list) and k else (k, k)
        area = _int(kh, 1) * _int(kw_, 1)
        return c_out * c_in * area + c_out, max(1, width * c_out // c_in)
    if kind in RECURRENT_GATES:
        gates, n_in = RECURRENT_GATES[kind], _int(kw.get("input_size"), 1)
        hidden, layers = _int(kw.get("hidden_size"), 1), _int(kw.get("num_layers"), 1)
        first = gates * hidden * (n_in + hidden + 2)
        return first + (layers - 1) * gates * hidden * (2 * hidden + 2), hidden
    if kind == "Embedding":
        dim = _int(kw.get("embedding_dim"), 1)
        return _int(kw.get("num_embeddings"), 1) * dim, width * dim
    if kind.startswith("BatchNorm"):
        return 4 * _int(kw.get("num_features"), 1), width
    if kind == "LayerNorm":
        shape = kw.get("normalized_shape")
        return 2 * int(np.prod(shape if isinstance(shape, list) else [_int(shape, 1)])), width
    if kind == "PositionalEmbedding":
        return _int(kw.get("max_len"), 1) * _int(kw.get("embedding_dim"), 1), width
    if kind == "MultiheadAttention":
        d = _int(kw.get("embed_dim"), 1)
        return 4 * d * d + 4 * d, width
    if kind == "TransformerEncoderLayer":
        d, ff = _int(kw.get("d_model"), 1), _int(kw.get("dim_feedforward"), 2048)
        return 4 * d * d + 4 * d + 2 * d * ff + ff + d + 4 * d, width
    return 0, width


def attention_held(kind: str, kw: dict[str, Any], width: int) -> int:
    """Values per sample an attention layer keeps beyond its output: Q, K, V, the weights A
    (heads × T × T) and, in a TransformerEncoderLayer, the feed-forward and norm caches."""
    if kind not in ("MultiheadAttention", "TransformerEncoderLayer"):
        return 0
    d = _int(kw.get("embed_dim", kw.get("d_model")), 1)
    heads = _int(kw.get("num_heads", kw.get("nhead")), 1)
    T = max(1, width // d)
    held = T * 4 * d + heads * T * T * 2  # Q K V O; A and its scores
    if kind == "TransformerEncoderLayer":
        held += T * (2 * _int(kw.get("dim_feedforward"), 2048) + 8 * d)
    return held


def check_limits(cfg: Any) -> None:
    """Raise a located error when ``cfg`` (a validated ExperimentConfig) asks for more epochs or
    samples than its caps, or more memory than the budget, before anything is allocated."""
    limits = cfg.experiment
    if cfg.training.epochs > limits.max_epochs:
        raise Located(
            "training.epochs",
            f"at most experiment.max_epochs = {limits.max_epochs} epochs (raise experiment.max_epochs "
            f"to train longer). Received: epochs = {cfg.training.epochs}",
        )
    shape = data_shape(cfg.data)
    if shape is None:
        return
    if cfg.data.dataset is not None and shape.samples > limits.max_samples:
        raise Located(
            "data.params.n_samples",
            f"at most experiment.max_samples = {limits.max_samples} samples (raise "
            f"experiment.max_samples for more). Received: n_samples = {shape.samples}",
        )
    folds = cfg.evaluation.cv or 0
    exact = cfg.data.csv is None  # a CSV's rows are estimated from its size, the others are known
    if folds > (shape.samples if exact else limits.max_samples):
        raise Located(
            "evaluation.cv",
            f"at most one fold per sample ({shape.samples if exact else limits.max_samples}). "
            f"Received: cv = {folds}",
        )
    itemsize = np.dtype(cfg.model.dtype).itemsize
    layers = model_layers(cfg.model, shape.features, shape.outputs)
    n_params = sum(p for _, p, _ in layers)
    batch = min(cfg.training.batch_size or shape.samples, shape.samples)
    rows = max(batch * ACTIVATION_COPIES, shape.samples)  # a training batch, or evaluating all samples
    activations = rows * (shape.features + sum(w for _, _, w in layers)) * itemsize
    weights = n_params * itemsize * PARAMETER_COPIES
    data = shape.samples * (shape.features + 1) * 8 * DATA_COPIES
    budget, source = memory_budget(limits.memory_budget)
    total = weights + activations + data
    if total <= budget:
        return
    # point at what costs most: the largest layer, the widest layer, the batch size or the data
    biggest = max(layers, key=lambda layer: layer[1]) if layers else (("model",), 0, 0)
    widest = max(layers, key=lambda layer: layer[2]) if layers else (("model",), 0, 0)
    if data >= max(weights, activations):
        key, why = shape.key, "its data is too large"
    elif weights >= activations:
        key, why = biggest[0], "the model is too large"
    elif rows > batch * ACTIVATION_COPIES:
        why = f"the activations of evaluating all {shape.samples:,} samples at once are too large"
        key = widest[0]
    else:
        why = f"a batch's activations are too large (batches of {batch}: see training.batch_size)"
        batch_key = ("training", "batch_size") if cfg.training.batch_size else shape.key
        key = widest[0] if widest[2] > batch else batch_key
    raise Located(
        key,
        f"a run within the memory budget of {show_bytes(budget)} ({source}); {why}: this one needs "
        f"about {show_bytes(total)}: the model {show_bytes(weights)} ({n_params:,} parameters × "
        f"{itemsize} bytes × {PARAMETER_COPIES} for weights, gradients and optimizer state), "
        f"{show_bytes(activations)} of activations ({rows:,} samples at once), the data "
        f"{show_bytes(data)} ({shape.samples:,} samples × {shape.features + 1} values). Make it "
        f"smaller, or raise the budget: experiment.memory_budget = <GiB> or {BUDGET_ENV}=<GiB>",
    )


__all__ = [
    "BUDGET_ENV",
    "DataShape",
    "check_limits",
    "data_shape",
    "memory_budget",
    "model_layers",
]
