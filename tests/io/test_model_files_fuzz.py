"""Fuzzing the loaders: damaged model files and checkpoints either load or raise ModelFileError.

Byte-level damage (flips, truncation, insertions, random files) must load to the *same* model or
be refused. Structural damage (header fields changed, arrays retyped, reshaped, added, removed,
turned into object arrays) must be refused, or load into a model that predicts — like the original
or differently, for a still-valid file — or raises one of nnscratch's own errors. Nothing may
raise another exception, and nothing may hang (an alarm bounds each attempt).
"""

from __future__ import annotations

import contextlib
import copy
import io
import signal

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import nnscratch as ns
from helpers.io_files import json_paths, pack, to_bytes, unpack
from nnscratch.base.errors import ModelFileError, NNScratchError
from nnscratch.io.architecture import to_config

FUZZ = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
X = np.random.default_rng(0).normal(size=(6, 3))


def _models():
    return [
        ns.Sequential(ns.Linear(3, 4, rng=0), ns.Tanh(), ns.Linear(4, 2, rng=1), ns.LeakyReLU(0.1)),
        ns.Sequential(
            ns.Linear(3, 3, bias=False, dtype=np.float32, rng=2),
            ns.Sequential(ns.ReLU(), ns.Linear(3, 2, dtype=np.float32, rng=3)),
            ns.Softmax(),
        ),
    ]


MODELS = _models()
FILES = [
    to_bytes(lambda fh, m=m: ns.save(m, fh, history={"epoch": [1, 2], "loss": [0.5, 0.25]}, meta={"k": [1]}))
    for m in MODELS
]
EXPECTED = [m.predict_proba(X) for m in MODELS]


@contextlib.contextmanager
def time_limit(seconds: float):
    """Fail (instead of hanging) if the block runs longer than ``seconds``."""
    if not hasattr(signal, "setitimer"):  # pragma: no cover - Windows
        yield
        return

    def on_alarm(signum, frame):
        raise TimeoutError(f"loading took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def try_load(data: bytes):
    """The loaded model, or None when the loader refused the file with ModelFileError."""
    with time_limit(10):
        try:
            return ns.load(io.BytesIO(data))
        except ModelFileError:
            return None


# -- byte-level damage ------------------------------------------------------------------------------
@st.composite
def damaged_bytes(draw):
    which = draw(st.integers(0, len(FILES) - 1))
    data = bytearray(FILES[which])
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "overwrite", "random"]))
    if kind == "flip":
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(data) - 1))
            data[at] ^= draw(st.integers(1, 255))
    elif kind == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif kind == "insert":
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(min_size=1, max_size=16))
    elif kind == "delete":
        at = draw(st.integers(0, len(data) - 1))
        del data[at : at + draw(st.integers(1, 16))]
    elif kind == "overwrite":
        at = draw(st.integers(0, len(data) - 1))
        chunk = draw(st.binary(min_size=1, max_size=8))
        data[at : at + len(chunk)] = chunk
    else:
        data = bytearray(draw(st.binary(max_size=3000)))
    return which, kind, bytes(data)


@FUZZ
@given(damaged_bytes())
def test_damaged_bytes_load_identically_or_raise_model_file_error(case):
    which, kind, data = case
    model = try_load(data)
    event(f"{kind}: {'refused' if model is None else 'loaded'}")
    if model is not None:
        assert kind != "random"
        assert np.array_equal(model.predict_proba(X), EXPECTED[which])


# -- structural damage -------------------------------------------------------------------------------
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.sampled_from([0, 1, -1, 2, 3, 4, 1024, 2**31, 10**9, 10**30])
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["Linear", "Sequential", "Tanh", "Activation", "Module", "float32", "float64"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def _nodes(node):
    """The layer nodes of an architecture, depth first."""
    yield node
    for child in node.get("varargs", []):
        yield from _nodes(child["__module__"])


DECODED = [unpack(f) for f in FILES]
PATHS = [[p for p in json_paths(h) if p] for h, _ in DECODED]
DTYPES = [
    "float16",
    "float32",
    "float64",
    ">f8",
    "int8",
    "int64",
    "uint8",
    "bool",
    "complex64",
    "U3",
    "f8,f8",
]


def _mutate_header(draw, header, paths):
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        parent = header
        try:
            for step in path[:-1]:
                parent = parent[step]
            last = path[-1]
            op = draw(st.sampled_from(["set", "delete", "add"]))
            if op == "set":
                parent[last] = draw(json_values)
            elif op == "delete":
                del parent[last]
            elif isinstance(parent[last], dict):
                parent[last][draw(st.text(max_size=6))] = draw(json_values)
            elif isinstance(parent[last], list):
                parent[last].append(draw(json_values))
        except (KeyError, IndexError, TypeError):
            pass  # an earlier mutation removed or retyped this location
    return header


def _mutate_arrays(draw, arrays):
    keys = sorted(arrays)
    op = draw(
        st.sampled_from(["dtype", "reshape", "drop", "add", "object", "scalar", "empty", "nan", "rename"])
    )
    key = draw(st.sampled_from(keys))
    if op == "dtype":
        arrays[key] = arrays[key].astype(draw(st.sampled_from(DTYPES)))
    elif op == "reshape":
        arrays[key] = arrays[key].reshape(-1) if arrays[key].ndim > 1 else arrays[key][None]
    elif op == "drop":
        del arrays[key]
    elif op == "add":
        arrays[draw(st.sampled_from([*keys, "extra", "0.weight.x", "a/b"]))] = np.zeros(
            draw(st.integers(0, 3))
        )
    elif op == "object":
        arrays[key] = np.array([None, 1.0, "x"], dtype=object)
    elif op == "scalar":
        arrays[key] = np.float64(draw(st.floats()))
    elif op == "empty":
        arrays[key] = np.zeros((0, *arrays[key].shape[1:]), arrays[key].dtype)
    elif op == "nan":
        arrays[key] = arrays[key].copy()
        arrays[key].flat[0] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    else:
        arrays[key + draw(st.sampled_from(["_", ".npy", "/x"]))] = arrays.pop(key)
    return arrays


@st.composite
def damaged_structure(draw):
    which = draw(st.integers(0, len(FILES) - 1))
    header, arrays = copy.deepcopy(DECODED[which])
    target = draw(st.sampled_from(["header", "arrays", "both", "raw header", "activation"]))
    raw = None
    if target == "activation":  # a change that keeps the file valid but alters the model
        nodes = [n for n in _nodes(header["architecture"]) if not n.get("varargs") and n["type"] != "Linear"]
        node = draw(st.sampled_from(nodes))
        node["type"] = draw(st.sampled_from(["Tanh", "ReLU", "Sigmoid", "Identity", "Softmax", "LeakyReLU"]))
        node["args"] = draw(
            st.sampled_from([{}, {"dim": 0}, {"dim": 5}])
            | st.builds(lambda v: {"negative_slope": v}, st.floats(-1, 2) | json_values)
        )
        layers = [n for n in _nodes(header["architecture"]) if not n.get("varargs")]
        header["activations"] = [n["type"].lower() for n in layers if n["type"] != "Linear"]
    if target in ("header", "both"):
        header = _mutate_header(draw, header, PATHS[which])
    if target in ("arrays", "both"):
        arrays = _mutate_arrays(draw, arrays)
    if target == "raw header":
        raw = draw(
            st.sampled_from(
                [
                    np.frombuffer(b"\x00\xff{", np.uint8),
                    np.frombuffer(b"null", np.uint8),
                    np.frombuffer(b'"text"', np.uint8),
                    np.zeros(3, np.float64),
                    np.array(["{}"]),
                    np.array([{}], dtype=object),
                ]
            )
        )
    return which, pack(header, arrays, raw_header=raw)


@FUZZ
@given(damaged_structure())
def test_damaged_structure_loads_or_raises_model_file_error(case):
    which, data = case
    model = try_load(data)
    if model is None:
        event("refused")
        return
    try:
        with np.errstate(all="ignore"):
            out = model.predict_proba(X)
    except NNScratchError:
        event("loaded; predicting raised an nnscratch error")
        return  # a still-valid file whose (changed) architecture cannot take this input
    assert isinstance(out, np.ndarray)
    # unchanged weights and architecture give the original predictions
    original = DECODED[which][0]["architecture"]
    if to_config(model) == original and _same_weights(model, DECODED[which][1]):
        event("loaded the same model")
        assert np.array_equal(out, EXPECTED[which])
    else:
        event("loaded a changed but valid model")


def _same_weights(model, arrays):
    state = model.state_dict()
    return state.keys() == arrays.keys() and all(np.array_equal(state[k], arrays[k]) for k in state)


# -- checkpoints ---------------------------------------------------------------------------------------
def _checkpoint() -> bytes:
    model = ns.Sequential(ns.Linear(3, 4, rng=0), ns.Tanh(), ns.Linear(4, 1, rng=1))
    opt = ns.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ns.fit(model, X, (X[:, 0] > 0).astype(float), loss=ns.BCEWithLogitsLoss(), optimizer=opt, epochs=2)
    state = {"model": model, "optimizer": opt, "rng": np.random.default_rng(1), "epoch": 2, "history": None}
    return to_bytes(lambda fh: ns.save_checkpoint(fh, state))


CHECKPOINT = _checkpoint()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_checkpoints_load_or_raise_model_file_error(data):
    raw = bytearray(CHECKPOINT)
    if data.draw(st.booleans()):
        for _ in range(data.draw(st.integers(1, 3))):
            raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
        blob = bytes(raw)
    else:
        header, arrays = unpack(CHECKPOINT)
        header = _mutate_header(data.draw, header, [p for p in json_paths(header) if p])
        blob = pack(header, arrays)
    with time_limit(10):
        try:
            ckpt = ns.load_checkpoint(io.BytesIO(blob))
        except ModelFileError:
            return
        model = ns.Sequential(ns.Linear(3, 4), ns.Tanh(), ns.Linear(4, 1))
        opt = ns.SGD(model.parameters(), lr=0.1, momentum=0.9)
        state = ns.FitState(model, opt, ns.MSELoss(), ns.History(), np.random.default_rng(0), 5)
        with contextlib.suppress(ModelFileError):
            ckpt.restore(state)


def test_the_fuzz_inputs_are_valid_to_begin_with():
    for data, expected in zip(FILES, EXPECTED, strict=True):
        assert np.array_equal(ns.load(io.BytesIO(data)).predict_proba(X), expected)
    assert ns.load_checkpoint(io.BytesIO(CHECKPOINT)).epoch == 2
    with pytest.raises(ModelFileError):
        ns.load(io.BytesIO(b""))
