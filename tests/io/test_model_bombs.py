"""Hostile model files end in ModelFileError quickly and in little memory: compression bombs,
formulas whose constants explode, expression trees that make sympy's derivative explode.

Each case a tester found: a 648-byte bzip2 header member made ``ns.load`` use 1-2 GB; a formula
``x + 9**9**9`` hung ``ns.load``, ``load_checkpoint`` and ``nnscratch inspect``; a tree of nested
``Max`` 30 deep took over 30 s. The bounds asserted here (2 s, 300 MB) are the issue's.
"""

from __future__ import annotations

import io
import time
import tracemalloc
import zlib

import numpy as np
import pytest
from typer.testing import CliRunner

import nnscratch as ns
from helpers.bombs import BZIP2, BZIP2_GIGABYTE, DEFLATE, LZMA, bomb, deflate_zeros, lzma_zeros
from helpers.io_files import rewrite, to_bytes
from nnscratch.base.errors import ModelFileError

pytest.importorskip("sympy")

SECONDS, BYTES = 2.0, 300 * 2**20
X = np.linspace(-2, 2, 12).reshape(-1, 1)


def bounded(load, data: bytes):
    """``load(fileobj)``'s result or exception, asserting the time it took (a plain run) and its
    peak memory (a second run under tracemalloc, which slows sympy several-fold), each from cold
    sympy caches."""
    sympy_cache = pytest.importorskip("sympy.core.cache")

    def attempt():
        sympy_cache.clear_cache()
        try:
            return load(io.BytesIO(data))
        except ModelFileError as exc:
            return exc

    start = time.perf_counter()
    out = attempt()
    elapsed = time.perf_counter() - start
    assert elapsed < SECONDS, f"took {elapsed:.2f} s"
    tracemalloc.start()
    try:
        attempt()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < BYTES, f"peaked at {peak / 2**20:.0f} MiB"
    return out


def custom_model(formula: str = "relu(x) + sin(x)") -> ns.Sequential:
    return ns.Sequential(
        ns.Linear(1, 2, rng=0), ns.Activation.from_expression(formula), ns.Linear(2, 1, rng=1)
    )


VALID = to_bytes(lambda fh: ns.save(custom_model(), fh))


def with_function(function: dict) -> bytes:
    def edit(header):
        header["architecture"]["varargs"][1]["__module__"]["function"] = function

    return rewrite(VALID, edit)


# -- compression bombs --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "data"),
    [(BZIP2, BZIP2_GIGABYTE), (LZMA, lzma_zeros(64 * 2**20))],
    ids=["bzip2 1 GiB", "lzma 64 MiB"],
)
@pytest.mark.parametrize("loader", [ns.load, ns.load_checkpoint], ids=["load", "load_checkpoint"])
def test_a_bzip2_or_lzma_member_is_refused_before_it_is_inflated(method, data, loader):
    out = bounded(loader, bomb(method, data, extra=VALID))
    assert isinstance(out, ModelFileError) and "compression method" in str(out)


def test_a_deflate_member_inflating_past_its_declared_size_is_refused():
    data = deflate_zeros(32 * 2**20)  # 32 MiB of zeros claimed as 1000 bytes: the ratio check passes
    out = bounded(ns.load, bomb(DEFLATE, data, declared=1000, extra=VALID))
    assert isinstance(out, ModelFileError)
    assert "declared" in str(out) or "truncated" in str(out) or "CRC" in str(out) or "ratio" in str(out)


def test_the_bombs_helper_builds_what_it_says():
    assert zlib.decompress(deflate_zeros(1000), -15) == bytes(1000)


# -- formulas and expression trees --------------------------------------------------------------------
@pytest.mark.parametrize(
    "formula",
    ["x + 9**9**9", "x**(10**6)", "x + 2**(2**64)", "(x + 1)**100000", "x + " + "(" * 40 + "x" + ")" * 40],
)
def test_a_formula_that_would_explode_is_refused_fast(formula):
    out = bounded(ns.load, with_function({"formula": formula}))
    assert isinstance(out, ModelFileError), out


def _nested_max(depth: int) -> dict:
    node: dict = {"symbol": "x"}
    for i in range(depth):
        node = {"fn": "Max", "args": [node, {"fn": "Mul", "args": [{"int": i + 2}, {"symbol": "x"}]}]}
    return node


@pytest.mark.parametrize("depth", [20, 30, 100])
def test_a_deep_expression_tree_loads_or_is_refused_fast(depth):
    out = bounded(ns.load, with_function({"expression": _nested_max(depth)}))
    if depth > 24:
        assert isinstance(out, ModelFileError) and "levels" in str(out)
    elif not isinstance(out, ModelFileError):  # within the limits: a working model
        assert np.isfinite(out.predict_proba(X)).all()


def test_an_expression_tree_with_a_huge_exact_power_is_refused():
    huge = {"fn": "Add", "args": [{"symbol": "x"}, {"fn": "Pow", "args": [{"int": 999_999}, {"int": 64}]}]}
    tower = huge
    for _ in range(6):  # (999999**64)**64... : exact, enormous, and never computed
        tower = {"fn": "Pow", "args": [tower, {"int": 64}]}
    out = bounded(ns.load, with_function({"expression": tower}))
    assert isinstance(out, ModelFileError) and "bits" in str(out)


def test_a_saved_custom_activation_still_round_trips_exactly():
    model = custom_model("relu(x) + sin(x)")
    loaded = ns.load(io.BytesIO(to_bytes(lambda fh: ns.save(model, fh))))
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_a_checkpoint_with_the_exploding_formula_is_refused(tmp_path):
    model = custom_model()
    opt = ns.SGD(model.parameters(), lr=0.1)
    blob = to_bytes(lambda fh: ns.save_checkpoint(fh, {"model": model, "optimizer": opt, "epoch": 1}))

    def edit(header):
        header["model"]["architecture"]["varargs"][1]["__module__"]["function"] = {"formula": "x + 9**9**9"}

    out = bounded(ns.load_checkpoint, rewrite(blob, edit))
    assert isinstance(out, ModelFileError)


def test_nnscratch_inspect_refuses_it_in_one_line(tmp_path):
    from nnscratch.cli import app

    path = tmp_path / "bomb.npz"
    path.write_bytes(with_function({"formula": "x + 9**9**9"}))
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["inspect", str(path)])
    assert time.perf_counter() - start < 10 * SECONDS  # the CLI's start-up included
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output
