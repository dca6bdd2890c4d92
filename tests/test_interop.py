"""PyTorch weight exchange and safetensors files."""

from __future__ import annotations

import numpy as np
import pytest

import nnscratch as ns
from nnscratch.base.errors import DTypeError, ModelFileError, StateDictError
from nnscratch.engine import layers
from nnscratch.interop import from_torch_state_dict, load_safetensors, save_safetensors, to_torch_state_dict

RNG = np.random.default_rng(0)


def mlp(dtype=np.float64, seed=0):
    return ns.Sequential(
        ns.Linear(3, 5, dtype=dtype, rng=seed),
        ns.Tanh(),
        ns.Linear(5, 2, dtype=dtype, rng=seed + 1),
        ns.Sigmoid(),
    )


def test_safetensors_round_trip_without_torch(tmp_path):
    pytest.importorskip("safetensors")
    for dtype in (np.float64, np.float32):
        model, other = mlp(dtype, 0), mlp(dtype, 10)
        path = save_safetensors(model, tmp_path / "w.safetensors", metadata={"note": "hi"})
        assert load_safetensors(other, path) is other
        x = RNG.normal(size=(4, 3)).astype(dtype)
        assert np.array_equal(other(x), model(x))
    import safetensors

    with safetensors.safe_open(str(path), "np") as f:
        meta = f.metadata()
    assert meta["format"] == "pt" and meta["note"] == "hi" and '"Linear"' in meta["nnscratch_architecture"]


def test_safetensors_refusals(tmp_path):
    pytest.importorskip("safetensors")
    path = save_safetensors(mlp(), tmp_path / "w.safetensors")
    with pytest.raises(ModelFileError, match="does not fit the model"):
        load_safetensors(ns.Sequential(ns.Linear(3, 4)), path)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(path.read_bytes()[:50])
    with pytest.raises(ModelFileError, match="not a valid safetensors"):
        load_safetensors(mlp(), bad)
    import safetensors.numpy

    state = mlp().state_dict()
    state["0.bias"][0] = np.nan
    bad.write_bytes(safetensors.numpy.save(state))
    with pytest.raises(ModelFileError, match="NaN"):
        load_safetensors(mlp(), bad)
    with pytest.raises(DTypeError, match="Module"):
        save_safetensors("model", tmp_path / "x.safetensors")
    with pytest.raises(DTypeError, match="metadata"):
        save_safetensors(mlp(), tmp_path / "x.safetensors", metadata={"a": 1})


def test_from_state_dict_accepts_arrays_and_reports_mismatches():
    model = mlp()
    source = mlp(seed=5).state_dict()
    from_torch_state_dict(model, {k: v.tolist() for k, v in source.items()})
    assert all(np.array_equal(model.state_dict()[k], v) for k, v in source.items())
    with pytest.raises(StateDictError, match="missing keys"):
        from_torch_state_dict(model, {"0.weight": source["0.weight"]})
    from_torch_state_dict(model, {"0.weight": source["0.weight"]}, strict=False)
    with pytest.raises(DTypeError, match="mapping"):
        from_torch_state_dict(model, [1, 2])


# -- parity with torch.nn ----------------------------------------------------------------------------
def _relu_softmax():
    return ns.Sequential(ns.Linear(3, 4, rng=1), ns.LeakyReLU(0.2), ns.Linear(4, 3, rng=2), ns.Softmax())


def _torch_mlp(nn):
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2), nn.Sigmoid())


def _torch_relu_softmax(nn):
    return nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 3), nn.Softmax(dim=-1))


def torch_pairs():
    """(name, nnscratch model, equivalent torch model builder, input shape) for what is exported."""
    pairs = [("mlp", mlp, _torch_mlp, (4, 3)), ("relu-softmax", _relu_softmax, _torch_relu_softmax, (4, 3))]
    if hasattr(layers, "Conv2d"):
        pairs.append(
            (
                "conv",
                lambda: ns.Sequential(layers.Conv2d(2, 3, 3, padding=1, rng=0), ns.ReLU()),
                lambda nn: nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU()),
                (2, 2, 5, 5),
            )
        )
    if hasattr(layers, "LSTM"):
        pairs.append(
            ("lstm", lambda: layers.LSTM(3, 4, rng=0), lambda nn: nn.LSTM(3, 4, batch_first=True), (2, 5, 3))
        )
    pairs.append(
        (
            "transformer",
            lambda: ns.Sequential(
                ns.TransformerEncoderLayer(4, 2, 8, dropout=0.0, activation="gelu", rng=0),
                ns.Linear(4, 3, rng=1),
            ),
            lambda nn: nn.Sequential(
                nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, activation="gelu", batch_first=True),
                nn.Linear(4, 3),
            ),
            (2, 5, 4),
        )
    )
    pairs.append(
        (
            "residual-parallel",
            lambda: ns.Sequential(
                ns.Residual(ns.Sequential(ns.LayerNorm(4), ns.Linear(4, 4, rng=0))),
                ns.Parallel(ns.Linear(4, 2, rng=1), ns.Linear(4, 3, rng=2), merge="concat"),
            ),
            lambda nn: nn.Sequential(_torch_residual(nn.Sequential(nn.LayerNorm(4), nn.Linear(4, 4))),
                                     _torch_concat(nn.Linear(4, 2), nn.Linear(4, 3))),
            (3, 4),
        )
    )  # fmt: skip
    return pairs


def _torch_residual(module):
    """The torch twin of ns.Residual: its child is named "module"."""
    import torch

    class Residual(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.module = module

        def forward(self, x):
            return x + self.module(x)

    return Residual()


def _torch_concat(*branches):
    """The torch twin of ns.Parallel(merge="concat"): children "0", "1", ..."""
    import torch

    class Concat(torch.nn.ModuleList):
        def forward(self, x):
            return torch.cat([b(x) for b in self], dim=-1)

    return Concat(branches)


def _first(out):
    return out[0] if isinstance(out, (tuple, list)) else out


@pytest.mark.torch
@pytest.mark.parametrize(
    ("name", "build", "build_torch", "shape"), torch_pairs(), ids=[p[0] for p in torch_pairs()]
)
def test_weights_move_both_ways_with_torch(name, build, build_torch, shape, tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("safetensors")
    import safetensors.torch

    x = RNG.normal(size=shape)
    ours, theirs = build(), build_torch(torch.nn).double().eval()
    ours.eval()

    def torch_out():
        with torch.no_grad():
            return _first(theirs(torch.from_numpy(x))).numpy()

    # nnscratch -> PyTorch, through a state dict and through a safetensors file
    theirs.load_state_dict(to_torch_state_dict(ours))
    np.testing.assert_allclose(torch_out(), _first(ours(x)), rtol=1e-12, atol=1e-14)
    save_safetensors(ours, tmp_path / "ours.safetensors")
    theirs = build_torch(torch.nn).double().eval()
    theirs.load_state_dict(safetensors.torch.load_file(tmp_path / "ours.safetensors"))
    np.testing.assert_allclose(torch_out(), _first(ours(x)), rtol=1e-12, atol=1e-14)

    # PyTorch -> nnscratch: fresh torch weights replace ours
    theirs = build_torch(torch.nn).double().eval()
    from_torch_state_dict(ours, theirs.state_dict())
    np.testing.assert_allclose(_first(ours(x)), torch_out(), rtol=1e-12, atol=1e-14)
    theirs = build_torch(torch.nn).double().eval()
    safetensors.torch.save_file(theirs.state_dict(), tmp_path / "theirs.safetensors")
    load_safetensors(ours, tmp_path / "theirs.safetensors")
    np.testing.assert_allclose(_first(ours(x)), torch_out(), rtol=1e-12, atol=1e-14)


@pytest.mark.torch
def test_torch_float32_and_tensor_dtypes_convert():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2), torch.nn.Sigmoid()
    )
    ours32, ours64 = mlp(np.float32), mlp(np.float64)
    from_torch_state_dict(ours32, theirs.state_dict())
    from_torch_state_dict(ours64, {k: v.to(torch.bfloat16) for k, v in theirs.state_dict().items()})
    assert ours32.dtype == np.float32 and ours64.dtype == np.float64
    x = RNG.normal(size=(4, 3)).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours32(x), expected, rtol=1e-6, atol=1e-6)
    sd = to_torch_state_dict(ours32)
    assert list(sd) == list(theirs.state_dict()) and sd["0.weight"].dtype == torch.float32
