"""``Parallel``: branches side by side, added or concatenated; fan-out gradients summed, split
inputs' gradients placed side by side."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as ns
from nnscratch.base.errors import DTypeError, HyperparameterError, ShapeError


def two_branches(merge: str, split: list[int] | None = None, seed: int = 0) -> ns.Parallel:
    a_in, b_in = split if split else (3, 3)
    width = 4
    return ns.Parallel(
        ns.Sequential(ns.Linear(a_in, width, rng=seed), ns.Tanh()),
        ns.Sequential(ns.Linear(b_in, 5, rng=seed + 1), ns.ReLU(), ns.Linear(5, width, rng=seed + 2)),
        merge=merge,
        split=split,
    )


@pytest.mark.parametrize("merge", ["add", "concat"])
@pytest.mark.parametrize("split", [None, [1, 2]])
def test_forward_merges_the_branches(merge, split):
    model = two_branches(merge, split)
    x = np.random.default_rng(0).normal(size=(6, 3))
    a, b = model.branches
    xa, xb = (x, x) if split is None else (x[:, :1], x[:, 1:])
    expected = a(xa) + b(xb) if merge == "add" else np.concatenate([a(xa), b(xb)], axis=1)
    np.testing.assert_array_equal(model(x), expected)


def test_fan_out_gradient_is_the_sum_over_branches():
    model = two_branches("concat")
    x = np.random.default_rng(1).normal(size=(4, 3))
    g = np.random.default_rng(2).normal(size=(4, 8))
    model(x)
    dx = model.backward(g)
    a, b = two_branches("concat").branches  # same weights, fresh gradients
    a(x), b(x)
    np.testing.assert_allclose(dx, a.backward(g[:, :4]) + b.backward(g[:, 4:]), rtol=0, atol=1e-15)


def test_split_input_gradient_is_placed_side_by_side():
    model = two_branches("add", [2, 1])
    x = np.random.default_rng(1).normal(size=(4, 3))
    g = np.random.default_rng(2).normal(size=(4, 4))
    model(x)
    dx = model.backward(g)
    a, b = two_branches("add", [2, 1]).branches
    a(x[:, :2]), b(x[:, 2:])
    np.testing.assert_allclose(dx, np.hstack([a.backward(g), b.backward(g)]), rtol=0, atol=1e-15)
    assert model.backward(g, input_grad=False) is None


@settings(max_examples=30, deadline=None)
@given(
    merge=st.sampled_from(["add", "concat"]),
    split=st.sampled_from([None, [1, 2], [2, 1]]),
    batch=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_gradcheck(merge, split, batch, seed):
    width = 8 if merge == "concat" else 4
    model = ns.Sequential(two_branches(merge, split, seed), ns.Linear(width, 2, rng=seed + 3))
    x = np.random.default_rng(seed).normal(size=(batch, 3))
    report = ns.gradcheck(model, x, seed=seed)
    assert report.passed, report


def test_refusals():
    with pytest.raises(DTypeError, match="two or more Module branches"):
        ns.Parallel(ns.Linear(2, 2))
    with pytest.raises(HyperparameterError, match="'add' or 'concat'"):
        ns.Parallel(ns.Linear(2, 2), ns.Linear(2, 2), merge="mul")
    with pytest.raises(HyperparameterError, match="one width per branch"):
        ns.Parallel(ns.Linear(2, 2), ns.Linear(2, 2), split=[4])
    with pytest.raises(ShapeError, match="reads 3 columns"):
        two_branches("add", [1, 2])(np.zeros((2, 4)))
    with pytest.raises(ShapeError, match="differ in shape"):
        ns.Parallel(ns.Linear(2, 2), ns.Linear(2, 3))(np.zeros((2, 2)))


@pytest.mark.torch
@pytest.mark.parametrize("merge", ["add", "concat"])
@pytest.mark.parametrize("split", [None, [1, 2]])
def test_matches_torch_in_float64(merge, split):
    torch = pytest.importorskip("torch")
    model = ns.Sequential(two_branches(merge, split), ns.Linear(8 if merge == "concat" else 4, 1, rng=9))
    twin = torch.nn.ModuleDict(
        {
            "a": torch.nn.Linear(model[0].branches[0][0].in_features, 4),
            "b1": torch.nn.Linear(model[0].branches[1][0].in_features, 5),
            "b2": torch.nn.Linear(5, 4),
            "head": torch.nn.Linear(model[1].in_features, 1),
        }
    ).double()
    ours = {
        "a": model[0].branches[0][0],
        "b1": model[0].branches[1][0],
        "b2": model[0].branches[1][2],
        "head": model[1],
    }
    for key, layer in ours.items():
        twin[key].weight.data = torch.tensor(layer.weight.data)
        twin[key].bias.data = torch.tensor(layer.bias.data)
    x = np.random.default_rng(3).normal(size=(5, 3))
    xt = torch.tensor(x, requires_grad=True)
    xa, xb = (xt, xt) if split is None else (xt[:, :1], xt[:, 1:])
    ya, yb = torch.tanh(twin["a"](xa)), twin["b2"](torch.relu(twin["b1"](xb)))
    yt = twin["head"](ya + yb if merge == "add" else torch.cat([ya, yb], dim=1))
    (yt**2).sum().backward()
    y = model(x)
    dx = model.backward(2 * y)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=1e-12)
    for key, layer in ours.items():
        np.testing.assert_allclose(layer.weight.grad, twin[key].weight.grad.numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(layer.bias.grad, twin[key].bias.grad.numpy(), rtol=0, atol=1e-12)
