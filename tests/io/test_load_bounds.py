"""Loading is bounded in time and memory: compression bombs, expression bombs (issue #18).

Each hostile file here once made ``ns.load`` use gigabytes or hang; now each is refused (or, for
the deepest legitimate expression, loaded) within 2 s and 300 MB.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

import nnscratch as ns
from helpers.bombs import BZIP2, BZIP2_GIGABYTE, DEFLATE, LZMA, bomb, deflate_zeros, lzma_zeros
from helpers.bounds import bounded
from helpers.io_files import rewrite, to_bytes
from nnscratch.base.errors import ConfigError, ModelFileError

sympy = pytest.importorskip("sympy")


def formula_model(formula: str = "relu(x) + sin(x)") -> bytes:
    model = ns.Sequential(ns.Linear(2, 3, rng=0), ns.Activation.from_expression("relu(x) + sin(x)"))
    data = to_bytes(lambda fh: ns.save(model, fh))

    def edit(h):
        h["architecture"]["varargs"][1]["__module__"]["function"] = {"formula": formula}

    return rewrite(data, edit) if formula != "relu(x) + sin(x)" else data


def tree_model(tree=None) -> bytes:
    from nnscratch.io.architecture import activation_from_expression

    act = activation_from_expression(sympy.tanh(sympy.Symbol("x")), "t")
    data = to_bytes(lambda fh: ns.save(ns.Sequential(ns.Linear(2, 3, rng=0), act), fh))

    def edit(h):
        h["architecture"]["varargs"][1]["__module__"]["function"]["expression"] = tree

    return data if tree is None else rewrite(data, edit)


# -- compression --------------------------------------------------------------------------------------
def test_a_bzip2_bomb_is_refused_before_inflating():
    blob = bomb(BZIP2, BZIP2_GIGABYTE)  # 911 bytes; once inflated to 1 GiB (2 GB peak) in 3.6 s
    assert len(blob) < 1000
    with bounded(), pytest.raises(ModelFileError, match=r"compression method 12.*stored or deflate"):
        ns.load(io.BytesIO(blob))


def test_lzma_members_are_refused_too():
    with bounded(), pytest.raises(ModelFileError, match="compression method 14"):
        ns.load(io.BytesIO(bomb(LZMA, lzma_zeros(8 << 20))))


def test_a_bomb_among_valid_members_is_refused():
    valid = formula_model()
    for method, data in ((BZIP2, BZIP2_GIGABYTE), (DEFLATE, deflate_zeros(64 << 20))):
        with bounded(), pytest.raises(ModelFileError):
            ns.load(io.BytesIO(bomb(method, data, extra=valid)))


def test_deflated_files_still_load_in_bounded_chunks(monkeypatch):
    from nnscratch.io import container

    model = ns.Sequential(ns.Linear(300, 200, rng=0), ns.Tanh())
    data = to_bytes(lambda fh: ns.save(model, fh, compress=True))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_DEFLATED}
    monkeypatch.setattr(container, "_READ_CHUNK", 4096)  # many chunks per member
    loaded = ns.load(io.BytesIO(data))
    assert np.array_equal(loaded[0].weight.data, model[0].weight.data)


# -- expressions ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("formula", ["x + 9**9**9", "x**(9**9)", "((9**64)**64)**64 * x", "pow(x, 65)"])
def test_formula_powers_are_refused_without_computing_them(formula):
    with bounded(), pytest.raises(ModelFileError, match=r"exponent|bits"):
        ns.load(io.BytesIO(formula_model(formula)))
    with bounded(), pytest.raises(ConfigError, match=r"exponent|bits"):
        ns.Activation.from_expression(formula)


def test_a_formula_bomb_is_refused_by_load_checkpoint_and_inspect_too(tmp_path, capsys):
    from nnscratch.cli import main

    evil = formula_model("x + 9**9**9")
    model = ns.load(io.BytesIO(formula_model()))
    ckpt = to_bytes(lambda fh: ns.save_checkpoint(fh, {"model": model, "epoch": 1}))

    def edit(h):
        h["model"]["architecture"]["varargs"][1]["__module__"]["function"] = {"formula": "x + 9**9**9"}

    with bounded(), pytest.raises(ModelFileError, match="exponent"):
        ns.load_checkpoint(io.BytesIO(rewrite(ckpt, edit)))
    (tmp_path / "evil.npz").write_bytes(evil)
    with bounded(), pytest.raises(SystemExit) as exit_info:
        main(["inspect", str(tmp_path / "evil.npz")])
    assert exit_info.value.code == 2 and "exponent" in capsys.readouterr().err


def _nested_max(depth: int) -> dict:
    tree = {"symbol": "x"}
    for i in range(depth):
        tree = {"fn": "Max", "args": [tree, {"fn": "Mul", "args": [{"int": i + 1}, {"symbol": "x"}]}]}
    return tree


def test_a_deep_max_tree_loads_quickly_and_a_deeper_one_is_refused():
    with bounded():  # took more than 30 s (sympy rewrote each step of f' into a Piecewise)
        model = ns.load(io.BytesIO(tree_model(_nested_max(30))))
    z = np.array([[-1.0, 2.0]])
    assert model(z).shape == (1, 3)
    with bounded(), pytest.raises(ModelFileError, match="levels"):
        ns.load(io.BytesIO(tree_model(_nested_max(33))))


@pytest.mark.parametrize(
    "tree",
    [
        {"fn": "Pow", "args": [{"fn": "Pow", "args": [{"int": 999999}, {"int": 64}]}, {"int": 64}]},
        {"fn": "Add", "args": [{"symbol": "x"}] * 501},
        {"fn": "Pow", "args": [{"symbol": "x"}, {"float": 65.0}]},
        {"fn": "Pow", "args": [{"symbol": "x"}, {"const": "pi"}]},
    ],
    ids=["nested constant power", "too many nodes", "float exponent", "symbolic exponent"],
)
def test_expression_trees_are_bounded(tree):
    with bounded(), pytest.raises(ModelFileError, match="expression"):
        ns.load(io.BytesIO(tree_model(tree)))


def test_an_expression_that_cannot_be_computed_is_refused_at_load():
    zero_power = {"fn": "Pow", "args": [{"int": 0}, {"int": -1}]}  # 0**-1: ZeroDivisionError when called
    with bounded(), pytest.raises(ModelFileError, match="cannot be computed"):
        ns.load(io.BytesIO(tree_model({"fn": "Add", "args": [{"symbol": "x"}, zero_power]})))


def test_float_exponents_and_steps_round_trip(tmp_path):
    from nnscratch.io.architecture import activation_from_expression

    x = sympy.Symbol("x")
    exprs = (sympy.exp(x) ** sympy.Float(1.5), sympy.Heaviside(x) * x + sympy.erf(x), sympy.Max(x, x / 10))
    for expr in exprs:
        model = ns.Sequential(ns.Linear(2, 3, rng=0), activation_from_expression(expr, "f"))
        ns.save(model, tmp_path / "m.npz")
        loaded = ns.load(tmp_path / "m.npz")
        z = np.random.default_rng(0).normal(size=(5, 2))
        assert np.array_equal(loaded(z), model(z)) and loaded[1].expression == expr


def test_legitimate_formulas_still_round_trip_exactly(tmp_path):
    for formula in ("relu(x) + sin(x)", "relu(x)**2", "max(sin(x), cos(x), tanh(x))", "x**0.5 * sigmoid(x)"):
        model = ns.Sequential(ns.Linear(2, 3, rng=0), ns.Activation.from_expression(formula))
        ns.save(model, tmp_path / "m.npz")
        with bounded():
            loaded = ns.load(tmp_path / "m.npz")
        z = np.abs(np.random.default_rng(1).normal(size=(4, 2)))
        with np.errstate(invalid="ignore"):
            assert np.array_equal(loaded(z), model(z), equal_nan=True), formula
