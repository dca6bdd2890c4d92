"""Fuzzing the loaders with hostile files (seeded, bounded): each ends in ModelFileError, or loads
into something usable, within 2 s — and the compression cases within 300 MB.

- model files: compression bombs (bzip2, LZMA, deflate lying about its size), formulas whose
  constants explode, random expression trees up to 40 levels deep, and every header field of the
  architecture replaced by another type, a list (a shape change) or a negated number;
- checkpoints of four optimizers with their hyperparameters, step count, epoch and state arrays
  mutated by type, shape, sign and dtype: whatever ``load_checkpoint`` accepts, ``fit(resume=)``
  must be able to use.
"""

from __future__ import annotations

import contextlib
import copy
import io
import signal
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, seed, settings
from hypothesis import strategies as st

import nnscratch as ns
from helpers.bombs import BZIP2, BZIP2_GIGABYTE, DEFLATE, LZMA, bomb, deflate_zeros, lzma_zeros
from helpers.io_files import pack, to_bytes, unpack
from nnscratch.base.errors import ModelFileError, NNScratchError

pytest.importorskip("sympy")

SECONDS, BYTES = 2.0, 300 * 2**20
X = np.linspace(-2, 2, 18).reshape(-1, 3)
Y = (X[:, 0] > 0).astype(float)
MODEL = ns.Sequential(
    ns.Linear(3, 4, rng=0), ns.Activation.from_expression("relu(x) + sin(x)"), ns.Linear(4, 1, rng=1)
)
VALID = to_bytes(lambda fh: ns.save(MODEL, fh))
HEADER, ARRAYS = unpack(VALID)
LZMA_BOMB = lzma_zeros(64 * 2**20)
DEFLATE_BOMB = deflate_zeros(64 * 2**20)


@contextlib.contextmanager
def time_limit(seconds: float):
    """Fail (instead of hanging) if the block runs longer than ``seconds``."""
    if not hasattr(signal, "setitimer"):  # pragma: no cover - Windows
        yield
        return

    def on_alarm(signum, frame):
        raise TimeoutError(f"took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def load_bounded(load, data: bytes, *, trace: bool = False):
    """``load(fileobj)``, or None when refused with ModelFileError; within the time (and, with
    ``trace``, memory) bounds."""
    if trace:
        tracemalloc.start()
    try:
        with time_limit(SECONDS * (3 if trace else 1)):  # tracemalloc slows every allocation
            try:
                return load(io.BytesIO(data))
            except ModelFileError:
                return None
    finally:
        if trace:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert peak < BYTES, f"peaked at {peak / 2**20:.0f} MiB"


# -- model files ------------------------------------------------------------------------------------
leaf = st.one_of(
    st.just({"symbol": "x"}),
    st.builds(lambda v: {"int": v}, st.integers(-(10**7), 10**7)),
    st.builds(lambda v: {"float": v}, st.floats(allow_nan=True, allow_infinity=True)),
    st.builds(lambda p, q: {"rational": [p, q]}, st.integers(-(10**7), 10**7), st.integers(-3, 10**7)),
    st.builds(lambda c: {"const": c}, st.sampled_from(["pi", "E", "oo", "nan", "zoo", 3])),
)
FUNCTIONS = ["Add", "Mul", "Pow", "Max", "Min", "sin", "exp", "log", "tanh", "Abs", "Heaviside", "eval"]


def _tree(draw, depth: int):
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(leaf)
    fn = draw(st.sampled_from(FUNCTIONS))
    return {"fn": fn, "args": [_tree(draw, depth - 1) for _ in range(draw(st.integers(1, 3)))]}


def _chain(fn: str, depth: int, exponent: int = 64) -> dict:
    node: dict = {"symbol": "x"}
    for _ in range(depth):
        node = {"fn": fn, "args": [node, {"int": exponent}] if fn == "Pow" else [node, {"symbol": "x"}]}
    return node


def _with_function(function) -> bytes:
    header = copy.deepcopy(HEADER)
    header["architecture"]["varargs"][1]["__module__"]["function"] = function
    return pack(header, ARRAYS)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


HEADER_PATHS = [p for p in _paths(HEADER) if p]


def _mutated(value, draw):
    """``value`` changed by type, shape or sign."""
    how = draw(st.sampled_from(["type", "shape", "sign", "huge"]))
    if how == "type":
        return draw(st.sampled_from([None, True, "x", 1.5, {}, [], {"__dtype__": "object"}]))
    if how == "shape":
        return [value, value] if not isinstance(value, list) else value[:-1] or [value]
    if how == "sign" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return -value - 1
    return draw(st.sampled_from([2**63, -(2**63), 10**30, 1e308, -1e308]))


@st.composite
def hostile_model_files(draw):
    kind = draw(st.sampled_from(["bzip2", "lzma", "deflate", "formula", "tree", "chain", "field"]))
    if kind == "bzip2":
        return kind, bomb(BZIP2, BZIP2_GIGABYTE, declared=draw(st.integers(1, 10**6)), extra=VALID)
    if kind == "lzma":
        return kind, bomb(LZMA, LZMA_BOMB, declared=draw(st.integers(1, 10**6)), extra=VALID)
    if kind == "deflate":
        return kind, bomb(DEFLATE, DEFLATE_BOMB, declared=draw(st.integers(1, 10**6)), extra=VALID)
    if kind == "formula":
        base = draw(st.sampled_from(["9", "x", "(x + 1)", "2", "10"]))
        tower = "**".join([base] + [str(draw(st.integers(2, 10**6))) for _ in range(draw(st.integers(1, 4)))])
        depth = draw(st.integers(0, 60))
        nested = "(" * depth + "x" + ")" * depth
        formula = draw(st.sampled_from([f"x + {tower}", tower, f"Max(x, {tower})", nested]))
        return kind, _with_function({"formula": formula})
    if kind == "tree":
        return kind, _with_function({"expression": _tree(draw, draw(st.integers(1, 8)))})
    if kind == "chain":
        fn = draw(st.sampled_from(["Max", "Min", "Pow", "Add"]))
        return kind, _with_function(
            {"expression": _chain(fn, draw(st.integers(1, 40)), draw(st.integers(2, 999)))}
        )
    header = copy.deepcopy(HEADER)
    path = draw(st.sampled_from(HEADER_PATHS))
    parent = header
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = _mutated(parent[path[-1]], draw)
    return kind, pack(header, ARRAYS)


@seed(18)
@settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(hostile_model_files())
def test_hostile_model_files_end_in_model_file_error_fast(case):
    kind, data = case
    model = load_bounded(ns.load, data, trace=kind in ("bzip2", "lzma", "deflate"))
    event(f"{kind}: {'refused' if model is None else 'loaded'}")
    if kind in ("bzip2", "lzma", "deflate"):
        assert model is None
    elif model is not None:  # a harmless change: the model must still work
        with np.errstate(all="ignore"), contextlib.suppress(NNScratchError):
            assert model.predict_proba(X).shape[0] == len(X)


# -- checkpoints ------------------------------------------------------------------------------------
OPTIMIZERS = {
    "Adam": lambda p: ns.Adam(p, lr=0.01, amsgrad=True),
    "SGD": lambda p: ns.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "RMSprop": lambda p: ns.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
    "AdamW": lambda p: ns.AdamW(p, lr=0.01, weight_decay=0.1),
}


def _net():
    return ns.Sequential(ns.Linear(3, 4, rng=0), ns.Tanh(), ns.Linear(4, 1, rng=1))


def _checkpoint(kind: str) -> bytes:
    model = _net()
    opt = OPTIMIZERS[kind](model.parameters())
    ns.fit(model, X, Y, loss=ns.BCEWithLogitsLoss(), optimizer=opt, epochs=2, seed=0)
    state = {"model": model, "optimizer": opt, "rng": np.random.default_rng(1), "epoch": 2}
    return to_bytes(lambda fh: ns.save_checkpoint(fh, state))


CHECKPOINTS = {kind: unpack(_checkpoint(kind)) for kind in OPTIMIZERS}


@st.composite
def hostile_checkpoints(draw):
    kind = draw(st.sampled_from(sorted(OPTIMIZERS)))
    header, arrays = copy.deepcopy(CHECKPOINTS[kind])
    target = draw(st.sampled_from(["hyperparameter", "group", "count", "state", "field"]))
    opt = header["optimizer"]
    if target in ("hyperparameter", "group"):
        where = opt["hyperparameters"] if target == "hyperparameter" else opt["param_groups"][0]
        key = draw(st.sampled_from(sorted(k for k in where if k != "params")))
        where[key] = _mutated(where[key], draw)
    elif target == "count":
        owner, key = draw(st.sampled_from([(header, "epoch"), (opt, "step_count")]))
        owner[key] = _mutated(owner[key], draw)
    elif target == "state":
        key = draw(st.sampled_from(sorted(k for k in arrays if k.startswith("optimizer/"))))
        how = draw(st.sampled_from(["dtype", "scalar", "shape", "huge"]))
        if how == "dtype":
            arrays[key] = arrays[key].astype(draw(st.sampled_from(["<f2", ">f8", "f16", "<i8", "<f4"])))
        elif how == "scalar":
            arrays[key] = np.float64(draw(st.floats(-1e300, 1e300)))
        elif how == "shape":
            arrays[key] = arrays[key].reshape(-1)[:-1]
        else:
            arrays[key] = np.full_like(arrays[key], draw(st.sampled_from([-1.0, 1e300, -1e300, 0.0])))
    else:
        paths = [p for p in _paths(opt) if p]
        path = draw(st.sampled_from(paths))
        parent = opt
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = _mutated(parent[path[-1]], draw)
    return kind, target, pack(header, arrays)


@seed(18)
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=hostile_checkpoints())
def test_what_load_checkpoint_accepts_resume_can_use(case, tmp_path_factory):
    kind, target, data = case
    ckpt = load_bounded(ns.load_checkpoint, data)
    event(f"{target}: {'refused' if ckpt is None else 'loaded'}")
    if ckpt is None:
        return
    path = tmp_path_factory.mktemp("ckpt") / "run.ckpt"
    path.write_bytes(data)
    model = _net()
    opt = OPTIMIZERS[kind](model.parameters())
    with time_limit(SECONDS), np.errstate(all="ignore"):
        try:  # one more epoch from where the checkpoint stopped
            ns.fit(
                model, X, Y, loss=ns.BCEWithLogitsLoss(), optimizer=opt, epochs=ckpt.epoch + 1, resume=path
            )
        except ns.DivergenceError:  # mutated moments may blow the run up: reported as such
            event("resumed, then diverged")
