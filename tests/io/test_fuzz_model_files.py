"""A seeded fuzz suite of hostile model files and checkpoints, bounded per case (issue #18).

Each case is a valid file damaged one way: every header field replaced by another type, shape or
sign, arrays retyped or reshaped, bytes flipped or cut, compression bombs, expression bombs. Each
must end in ModelFileError, or load into something usable (a model that predicts, a checkpoint a
run resumes from), within 2 s and 300 MB (helpers/bounds.py measures each case). The cases come
from a fixed seed: a failure names its case and reproduces.
"""

from __future__ import annotations

import copy
import io
import random

import numpy as np
import pytest

import nnscratch as ns
from helpers.bombs import BZIP2, BZIP2_GIGABYTE, DEFLATE, LZMA, STORED, bomb, deflate_zeros, lzma_zeros
from helpers.bounds import MEGABYTES, SECONDS, measured
from helpers.io_files import json_paths, pack, to_bytes, unpack
from helpers.resume_run import data
from nnscratch.base.errors import ModelFileError

sympy = pytest.importorskip("sympy")
SEED = 18
X = np.random.default_rng(0).normal(size=(6, 3))
COUNTS: dict[str, int] = {}
USED: list = []  # each case's measured time and memory, for the report


# -- the valid files ---------------------------------------------------------------------------------
def _model_files() -> list[bytes]:
    from nnscratch.io.architecture import activation_from_expression

    x = sympy.Symbol("x")
    models = [
        ns.Sequential(ns.Linear(3, 4, rng=0), ns.Tanh(), ns.Linear(4, 2, rng=1), ns.LeakyReLU(0.1)),
        ns.Sequential(
            ns.Linear(3, 3, bias=False, dtype=np.float32, rng=2),
            ns.Sequential(ns.ReLU(), ns.Linear(3, 2, dtype=np.float32, rng=3)),
            ns.Softmax(),
        ),
        ns.Sequential(ns.Linear(3, 2, rng=4), ns.Activation.from_expression("relu(x) + sin(x)")),
        ns.Sequential(ns.Linear(3, 2, rng=5), activation_from_expression(x / (1 + sympy.exp(-x)), "silu")),
    ]
    files = [to_bytes(lambda fh, m=m: ns.save(m, fh, history={"epoch": [1], "loss": [0.5]})) for m in models]
    return [*files, to_bytes(lambda fh: ns.save(models[2], fh, compress=True))]


def _checkpoints() -> list[tuple[str, bytes]]:
    Xc, yc = data()
    out = []
    for kind in ("sgd", "adam", "rmsprop"):
        model, opt = _run(kind)
        sched = ns.StepLR(opt, step_size=2)
        history = ns.fit(
            model, Xc, yc, loss=ns.CrossEntropyLoss(), optimizer=opt, epochs=2, batch_size=16, seed=1
        )
        state = {"model": model, "optimizer": opt, "scheduler": sched, "rng": np.random.default_rng(3)}
        state.update(epoch=2, history=history)
        out.append((kind, to_bytes(lambda fh, s=state: ns.save_checkpoint(fh, s))))
    return out


def _run(kind: str):
    model = ns.Sequential(ns.Linear(4, 5, rng=1), ns.Tanh(), ns.Linear(5, 2, rng=2))
    opt = {
        "sgd": lambda p: ns.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
        "adam": lambda p: ns.Adam(p, lr=0.01, amsgrad=True),
        "rmsprop": lambda p: ns.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
    }[kind](model.parameters())
    return model, opt


MODEL_FILES = _model_files()
CHECKPOINTS = _checkpoints()


# -- mutations ---------------------------------------------------------------------------------------


def _variants(value, rng: random.Random) -> list:
    """Other types, shapes and signs for ``value``."""
    out = [None, True, False, "x", "", [], {}, 0, -1, 1, 2**63, 10**30, -(2**62), 0.5, -0.5, 1e308, [value]]
    out.append({"k": value})
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        out += [
            -value,
            value * 1000,
            float(value),
            [value, value],
            float("nan") if rng.random() < 0.1 else 0.0,
        ]
    if isinstance(value, list):
        out += [[*value, value[-1] if value else 1], value[:-1], value * 3, [str(v) for v in value]]
    if isinstance(value, bool):
        out += [not value, int(value), str(value)]
    if isinstance(value, str):
        out += [value.upper(), value + "x", "float16", "Linear", ">f8"]
    return out


def mutate_header(header: dict, rng: random.Random, prefer: tuple = ()) -> dict:
    header = copy.deepcopy(header)
    paths = [p for p in json_paths(header) if p]
    preferred = [p for p in paths if p[0] in prefer]
    path = rng.choice(preferred if preferred and rng.random() < 0.7 else paths)
    parent = header
    for step in path[:-1]:
        parent = parent[step]
    op = rng.random()
    if op < 0.1 and isinstance(parent, dict):
        del parent[path[-1]]
    elif op < 0.15 and isinstance(parent, dict):
        parent[rng.choice(["extra", "__x", "params"])] = rng.choice(_variants(1, rng))
    else:
        parent[path[-1]] = rng.choice(_variants(parent[path[-1]], rng))
    return header


def mutate_arrays(arrays: dict, rng: random.Random, prefix: str = "") -> dict:
    arrays = dict(arrays)
    keys = sorted(k for k in arrays if k.startswith(prefix)) or sorted(arrays)
    key = rng.choice(keys)
    a = arrays[key]
    op = rng.choice(["dtype", "dtype", "reshape", "scalar", "drop", "add", "rename", "empty", "big"])
    if op == "dtype":
        dtype = rng.choice(
            ["float16", "float32", "float64", ">f8", ">f4", "longdouble", "int64", "bool", "c8"]
        )
        arrays[key] = a.astype(dtype)
    elif op == "reshape":
        arrays[key] = a.reshape(-1) if a.ndim > 1 else a[None]
    elif op == "scalar":
        arrays[key] = np.asarray(a.reshape(-1)[0] if a.size else 0.0)
    elif op == "drop":
        del arrays[key]
    elif op == "add":
        arrays[key + rng.choice(["x", "/y", ".z"])] = np.zeros(3)
    elif op == "rename":
        arrays[key + "_"] = arrays.pop(key)
    elif op == "empty":
        arrays[key] = np.zeros((0, *a.shape[1:]), a.dtype)
    else:
        arrays[key] = np.zeros((a.shape[0] * 50, *a.shape[1:]) if a.ndim else (50,), a.dtype)
    return arrays


def damage_bytes(blob: bytes, rng: random.Random) -> bytes:
    data = bytearray(blob)
    if rng.random() < 0.5:
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= rng.randint(1, 255)
        return bytes(data)
    return bytes(data[: rng.randrange(len(data))])


FORMULA_BOMBS = [
    "x + 9**9**9", "x**(9**9)", "((9**64)**64)**64*x", "pow(x, 10**6)", "2**(2**(2**(2**x)))",
    "max(" * 33 + "x" + ",1)" * 33, "relu(" * 40 + "x" + ")" * 40, "x" + "+x" * 140,
    "exp(exp(exp(exp(exp(exp(exp(exp(x))))))))", "relu(x**9 - x**7 + sin(x))**64",
    "max(sin(x), cos(x), tanh(x), x**3, exp(-x), sigmoid(x), softplus(x), relu(x), abs(x))",
    "abs(abs(abs(abs(abs(abs(abs(abs(x-1)-1)-1)-1)-1)-1)-1)-1)", "(x+1)**64*(x-1)**64", "1/(x-x)",
    "log(0*x)", "sqrt(-1-x**2)", "x**-64", "99999999999999999999999999**64*x",
    "min(max(min(max(x,1),2),3),4)",
]  # fmt: skip


def random_formula(rng: random.Random, depth: int = 0) -> str:
    if depth > rng.randint(2, 12) or rng.random() < 0.2:
        return rng.choice(["x", "1", "2.5", "pi", "e", str(rng.randint(0, 10 ** rng.randint(1, 30)))])
    kind = rng.random()
    if kind < 0.4:
        fn = rng.choice(["relu", "sigmoid", "tanh", "exp", "log", "sin", "cos", "abs", "softplus", "sqrt"])
        return f"{fn}({random_formula(rng, depth + 1)})"
    if kind < 0.55:
        return f"max({random_formula(rng, depth + 1)}, {random_formula(rng, depth + 1)})"
    op = rng.choice(["+", "-", "*", "/", "**"])
    return f"({random_formula(rng, depth + 1)}){op}({random_formula(rng, depth + 1)})"


FUNCTIONS = [
    "Add", "Mul", "Pow", "Pow", "Max", "Min", "exp", "log", "sin", "Abs", "sign", "Heaviside", "erf",
    "tanh", "Piecewise", "ExprCondPair", "StrictGreaterThan",
]  # fmt: skip


def random_tree(rng: random.Random, depth: int = 0) -> dict:
    if depth > rng.randint(3, 40) or rng.random() < 0.15:
        return rng.choice(
            [{"symbol": "x"}, {"int": rng.choice([2, 64, 10**6, -(10**6), 10**7])}, {"float": 1e300},
             {"rational": [1, 3]}, {"const": rng.choice(["pi", "oo", "nan", "E"])}]
        )  # fmt: skip
    fn = rng.choice(FUNCTIONS)
    n = {"Pow": 2, "ExprCondPair": 2, "StrictGreaterThan": 2, "Add": rng.randint(2, 4), "Mul": 2,
         "Max": rng.randint(2, 3), "Min": 2, "Piecewise": rng.randint(1, 2)}.get(fn, 1)  # fmt: skip
    return {"fn": fn, "args": [random_tree(rng, depth + 1) for _ in range(n)]}


def _with_formula(blob: bytes, formula) -> bytes:
    header, arrays = unpack(blob)
    header["architecture"]["varargs"][1]["__module__"]["function"] = {"formula": formula}
    return pack(header, arrays)


def _with_tree(blob: bytes, tree) -> bytes:
    header, arrays = unpack(blob)
    header["architecture"]["varargs"][1]["__module__"]["function"] = {"expression": tree}
    return pack(header, arrays)


def model_cases() -> list[tuple[str, bytes]]:
    rng = random.Random(SEED)
    decoded = [unpack(f) for f in MODEL_FILES]
    cases = []
    for i in range(300):
        which = i % len(MODEL_FILES)
        header, arrays = decoded[which]
        cases.append((f"header {i}", pack(mutate_header(header, rng), arrays)))
    for i in range(80):
        header, arrays = decoded[i % len(MODEL_FILES)]
        cases.append((f"arrays {i}", pack(header, mutate_arrays(arrays, rng))))
    for i in range(60):
        cases.append((f"bytes {i}", damage_bytes(MODEL_FILES[i % len(MODEL_FILES)], rng)))
    valid = MODEL_FILES[0]
    most = 2**32 - 1  # the largest size a zip without zip64 declares
    bombs = [
        bomb(BZIP2, BZIP2_GIGABYTE), bomb(BZIP2, BZIP2_GIGABYTE, extra=valid),
        bomb(BZIP2, BZIP2_GIGABYTE, declared=most), bomb(LZMA, lzma_zeros(8 << 20)),
        bomb(LZMA, lzma_zeros(8 << 20), extra=valid), bomb(DEFLATE, deflate_zeros(64 << 20)),
        bomb(DEFLATE, deflate_zeros(64 << 20), declared=2**30),
        bomb(DEFLATE, deflate_zeros(64 << 20), extra=valid),
        bomb(STORED, b"\x93NUMPY" + bytes(100), declared=most), bomb(STORED, b"", declared=0),
        bomb(99, b"x" * 100), bomb(DEFLATE, b"\xff" * 64),
    ]  # fmt: skip
    cases += [(f"bomb {i}", b) for i, b in enumerate(bombs)]
    formula_base, tree_base = MODEL_FILES[2], MODEL_FILES[3]
    cases += [(f"formula bomb {f[:30]!r}", _with_formula(formula_base, f)) for f in FORMULA_BOMBS]
    cases += [(f"random formula {i}", _with_formula(formula_base, random_formula(rng))) for i in range(30)]
    cases += [(f"random tree {i}", _with_tree(tree_base, random_tree(rng))) for i in range(40)]
    return cases


def checkpoint_cases() -> list[tuple[str, str, bytes]]:
    rng = random.Random(SEED + 1)
    cases = []
    for i in range(240):
        kind, blob = CHECKPOINTS[i % len(CHECKPOINTS)]
        header, arrays = unpack(blob)
        r = rng.random()
        if r < 0.65:
            mutated = pack(
                mutate_header(header, rng, prefer=("optimizer", "scheduler", "epoch", "rng")), arrays
            )
        elif r < 0.9:
            mutated = pack(header, mutate_arrays(arrays, rng, prefix=rng.choice(["optimizer/", "model/"])))
        else:
            mutated = damage_bytes(blob, rng)
        cases.append((f"checkpoint {i}", kind, mutated))
    return cases


# -- the checks ----------------------------------------------------------------------------------------
def _bounded(label: str, attempt) -> str:
    """Run ``attempt`` (returns 'loaded' or 'refused') within the bounds; the outcome or a failure."""
    try:
        with measured() as used:
            outcome = attempt()
        USED.append(used)
    except Exception as exc:  # anything but ModelFileError (caught inside attempt) is a failure
        return f"FAIL {label}: {type(exc).__name__}: {exc!s:.200}"
    if used.seconds >= SECONDS or used.megabytes >= MEGABYTES:
        return f"FAIL {label}: {used.seconds:.2f} s, {used.megabytes:.0f} MB"
    return outcome


def _load_model(blob: bytes) -> str:
    try:
        model = ns.load(io.BytesIO(blob))
    except ModelFileError:
        return "refused"
    with np.errstate(all="ignore"):
        out = model(X)  # usable: it computes on the input width the file was made for
    assert isinstance(out, np.ndarray) and out.shape[0] == len(X)
    return "loaded"


def _resume(kind: str, blob: bytes, tmp_path) -> str:
    try:
        ckpt = ns.load_checkpoint(io.BytesIO(blob))
    except ModelFileError:
        return "refused"
    path = tmp_path / "c.ckpt"
    path.write_bytes(blob)
    model, opt = _run(kind)
    Xc, yc = data()
    try:
        with np.errstate(all="ignore"):
            ns.fit(
                model, Xc, yc, loss=ns.CrossEntropyLoss(), optimizer=opt, epochs=ckpt.epoch + 1, resume=path
            )
    except ModelFileError as exc:  # only a valid file of another run may be refused now
        assert "different architecture" in str(exc) or " state; the run's optimizer is " in str(exc), exc
        return "refused on restore"
    return "loaded"


def _report(kind: str, outcomes: list[str]) -> None:
    """Fail listing the failed cases; print the counts (shown with ``pytest -s``)."""
    failures = [o for o in outcomes if o.startswith("FAIL")]
    COUNTS[kind] = len(outcomes)
    summary = {o: outcomes.count(o) for o in sorted(set(outcomes)) if not o.startswith("FAIL")}
    cpu, wall, mb = (max(getattr(u, f) for u in USED) for f in ("seconds", "wall", "megabytes"))
    USED.clear()
    print(f"\n{kind}: {len(outcomes)} cases, {summary}, {len(failures)} failures")
    print(f"worst case: {cpu:.2f} s CPU, {wall:.2f} s wall, {mb:.0f} MB")
    assert not failures, "\n".join(failures[:20])


def test_mutated_model_files_load_or_are_refused_within_bounds():
    cases = model_cases()
    assert len(cases) >= 500
    outcomes = [_bounded(label, lambda b=blob: _load_model(b)) for label, blob in cases]
    _report("model files", outcomes)
    assert outcomes.count("refused") > len(cases) / 2


def test_mutated_checkpoints_load_and_resume_or_are_refused_within_bounds(tmp_path):
    cases = checkpoint_cases()
    assert len(cases) >= 200
    outcomes = [
        _bounded(label, lambda k=kind, b=blob: _resume(k, b, tmp_path)) for label, kind, blob in cases
    ]
    _report("checkpoints", outcomes)
    assert outcomes.count("refused") > len(cases) / 2


def test_the_fuzzed_files_are_valid_to_begin_with(tmp_path):
    for blob in MODEL_FILES:
        assert _load_model(blob) == "loaded"
    for kind, blob in CHECKPOINTS:
        assert _resume(kind, blob, tmp_path) == "loaded"
