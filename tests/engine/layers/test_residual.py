"""``Residual``: y = x + F(x), its gradient summed where x fans out; and ``clip_grad_norm_``."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as ns
from nnscratch.base.errors import DTypeError, HyperparameterError, ShapeError


def block(width: int, seed: int) -> ns.Residual:
    return ns.Residual(
        ns.Sequential(
            ns.Linear(width, 2 * width, rng=seed), ns.Tanh(), ns.Linear(2 * width, width, rng=seed + 1)
        )
    )


def test_forward_is_the_input_plus_the_module():
    res = block(3, 0)
    x = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_array_equal(res(x), x + res.module(x))


def test_backward_sums_the_identity_path_and_the_module_path():
    res = block(3, 0)
    x = np.random.default_rng(1).normal(size=(4, 3))
    g = np.random.default_rng(2).normal(size=(4, 3))
    res(x)
    dx = res.backward(g)
    inner = block(3, 0).module  # the same weights, fresh gradients
    inner(x)
    np.testing.assert_allclose(dx, g + inner.backward(g), rtol=0, atol=1e-15)
    assert res.backward(g, input_grad=False) is None  # parameters still get their gradients
    assert np.abs(res.module.layers[0].weight.grad).sum() > 0


@settings(max_examples=25, deadline=None)
@given(width=st.integers(1, 4), batch=st.integers(1, 4), depth=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_gradcheck_of_stacked_residual_blocks(width, batch, depth, seed):
    model = ns.Sequential(*(block(width, seed + 10 * i) for i in range(depth)), ns.Linear(width, 1, rng=seed))
    x = np.random.default_rng(seed).normal(size=(batch, width))
    report = ns.gradcheck(model, x, seed=seed)
    assert report.passed, report


def test_state_dict_names_save_and_load():
    model = ns.Sequential(ns.Linear(2, 3, rng=0), block(3, 1), ns.Linear(3, 1, rng=3))
    assert list(model.state_dict())[2:4] == ["1.module.0.weight", "1.module.0.bias"]
    buf = io.BytesIO()
    ns.save(model, buf)
    buf.seek(0)
    again = ns.load(buf)
    x = np.random.default_rng(0).normal(size=(6, 2))
    np.testing.assert_array_equal(again(x), model(x))


def test_refusals():
    with pytest.raises(DTypeError, match="wraps one Module"):
        ns.Residual(ns.Linear)
    with pytest.raises(ShapeError, match="keep its input's shape"):
        ns.Residual(ns.Linear(3, 2, rng=0))(np.zeros((1, 3)))


@pytest.mark.torch
def test_matches_torch_in_float64():
    torch = pytest.importorskip("torch")
    model = ns.Sequential(block(4, 0), ns.ReLU(), block(4, 5))
    twins = []
    for res in (model.layers[0], model.layers[2]):
        a, b = res.module.layers[0], res.module.layers[2]
        la, lb = torch.nn.Linear(4, 8).double(), torch.nn.Linear(8, 4).double()
        for t, ours in ((la, a), (lb, b)):
            t.weight.data = torch.tensor(ours.weight.data)
            t.bias.data = torch.tensor(ours.bias.data)
        twins.append((la, lb))

    def torch_forward(x):
        for i, (la, lb) in enumerate(twins):
            x = x + lb(torch.tanh(la(x)))
            if i == 0:
                x = torch.relu(x)
        return x

    x = np.random.default_rng(3).normal(size=(5, 4))
    g = np.random.default_rng(4).normal(size=(5, 4))
    xt = torch.tensor(x, requires_grad=True)
    out_t = torch_forward(xt)
    out_t.backward(torch.tensor(g))
    out = model(x)
    dx = model.backward(g)
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=1e-12)
    for res, (la, lb) in zip((model.layers[0], model.layers[2]), twins, strict=True):
        np.testing.assert_allclose(
            res.module.layers[0].weight.grad, la.weight.grad.numpy(), rtol=0, atol=1e-12
        )
        np.testing.assert_allclose(res.module.layers[2].bias.grad, lb.bias.grad.numpy(), rtol=0, atol=1e-12)


# -- clip_grad_norm_ ---------------------------------------------------------------------------------
def grads_of(seed: int, scale: float) -> ns.Sequential:
    model = ns.Sequential(ns.Linear(3, 4, rng=seed), ns.Linear(4, 2, rng=seed + 1))
    rng = np.random.default_rng(seed)
    for p in model.parameters():
        p.grad[...] = rng.normal(size=p.shape) * scale
    return model


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("scale", [1e-3, 1.0, 100.0])
def test_clip_grad_norm_by_its_definition(norm_type, scale):
    model = grads_of(0, scale)
    before = np.concatenate([p.grad.ravel() for p in model.parameters()])
    total = ns.clip_grad_norm_(model.parameters(), 1.0, norm_type)
    expected = (
        np.max(np.abs(before))
        if norm_type == math.inf
        else np.sum(np.abs(before) ** norm_type) ** (1 / norm_type)
    )
    assert total == pytest.approx(expected, rel=1e-12)
    after = np.concatenate([p.grad.ravel() for p in model.parameters()])
    np.testing.assert_allclose(after, before * min(1.0, 1.0 / (total + 1e-6)), rtol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("norm_type", [2.0, math.inf])
def test_clip_grad_norm_matches_torch(norm_type):
    torch = pytest.importorskip("torch")
    model = grads_of(1, 10.0)
    tparams = [torch.nn.Parameter(torch.tensor(p.data)) for p in model.parameters()]
    for t, p in zip(tparams, model.parameters(), strict=True):
        t.grad = torch.tensor(p.grad)
    total_t = torch.nn.utils.clip_grad_norm_(tparams, 0.5, norm_type)
    total = ns.clip_grad_norm_(model.parameters(), 0.5, norm_type)
    assert total == pytest.approx(float(total_t), rel=1e-12)
    for t, p in zip(tparams, model.parameters(), strict=True):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_refusals():
    model = grads_of(0, 1.0)
    with pytest.raises(HyperparameterError):
        ns.clip_grad_norm_(model.parameters(), -1.0)
    with pytest.raises(HyperparameterError, match="norm_type"):
        ns.clip_grad_norm_(model.parameters(), 1.0, 0)
    assert ns.clip_grad_norm_([], 1.0) == 0.0
