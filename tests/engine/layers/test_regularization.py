"""Dropout and BatchNorm1d/2d: train/eval behaviour, gradchecks, references, PyTorch parity."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as ns
from nnscratch.base.errors import HyperparameterError, ShapeError
from nnscratch.engine.layers import _reference as ref

# ------------------------------------------------------------------------------------ Dropout


def test_dropout_inverted_scaling_and_eval_identity():
    layer = ns.Dropout(0.25, rng=0)
    x = np.ones((400, 50))
    y = layer(x)
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    assert abs(kept.mean() - 0.75) < 0.01
    g = np.random.default_rng(1).standard_normal(x.shape)
    np.testing.assert_array_equal(layer.backward(g), g * y)  # same mask, same scaling
    layer.eval()
    assert layer(x) is x
    np.testing.assert_array_equal(layer.backward(g), g)


def test_dropout_is_reproducible_from_its_seed_and_edge_probabilities():
    x = np.random.default_rng(0).standard_normal((4, 6))
    np.testing.assert_array_equal(ns.Dropout(0.5, rng=3)(x), ns.Dropout(0.5, rng=3)(x))
    np.testing.assert_array_equal(ns.Dropout(0.0, rng=0)(x), x)
    np.testing.assert_array_equal(ns.Dropout(1.0, rng=0)(x), np.zeros_like(x))
    assert ns.Dropout(0.5, rng=0)(x.astype(np.float32)).dtype == np.float32


@settings(max_examples=15, deadline=None)
@given(p=st.floats(0.0, 0.9), n=st.integers(1, 4), f=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_dropout_gradcheck_replays_its_generator(p, n, f, seed):
    layer = ns.Dropout(p, rng=seed)
    report = ns.gradcheck(layer, np.random.default_rng(seed).standard_normal((n, f)), seed=seed)
    assert report.passed, str(report)


@pytest.mark.parametrize("p", [-0.1, 1.5, "half", float("nan")])
def test_dropout_bad_probability(p):
    with pytest.raises(HyperparameterError, match="Received: p="):
        ns.Dropout(p)


# ---------------------------------------------------------------------------------- BatchNorm


@st.composite
def bn_inputs(draw):
    kind = draw(st.sampled_from(["1d", "1d-seq", "2d"]))
    n, c = draw(st.integers(2, 4)), draw(st.integers(1, 3))
    shape = {
        "1d": (n, c),
        "1d-seq": (n, c, draw(st.integers(1, 3))),
        "2d": (n, c, 2, draw(st.integers(1, 3))),
    }
    return kind, shape[kind]


def _bn(kind, c, **kw):
    return ns.BatchNorm2d(c, **kw) if kind == "2d" else ns.BatchNorm1d(c, **kw)


@settings(max_examples=25, deadline=None)
@given(cfg=bn_inputs(), seed=st.integers(0, 2**16), training=st.booleans())
def test_batchnorm_gradcheck_train_and_eval(cfg, seed, training):
    kind, shape = cfg
    rng = np.random.default_rng(seed)
    layer = _bn(kind, shape[1])
    layer.weight.data[...] = rng.uniform(0.5, 2, shape[1])
    layer.bias.data[...] = rng.standard_normal(shape[1])
    layer.running_mean[...] = rng.standard_normal(shape[1])
    layer.running_var[...] = rng.uniform(0.5, 2, shape[1])
    layer.train(training)
    report = ns.gradcheck(layer, rng.standard_normal(shape) * 2 + 1, seed=seed)
    assert report.passed, str(report)


@settings(max_examples=25, deadline=None)
@given(cfg=bn_inputs(), seed=st.integers(0, 2**16))
def test_batchnorm_train_matches_loop_reference(cfg, seed):
    kind, shape = cfg
    rng = np.random.default_rng(seed)
    layer = _bn(kind, shape[1])
    layer.weight.data[...] = rng.standard_normal(shape[1])
    layer.bias.data[...] = rng.standard_normal(shape[1])
    x = rng.standard_normal(shape)
    y = layer(x)
    g = rng.standard_normal(shape)
    dx = layer.backward(g)
    y_ref, dx_ref, dgamma, dbeta = ref.batchnorm_train(x, layer.weight.data, layer.bias.data, layer.eps, g)
    np.testing.assert_allclose(y, y_ref, atol=1e-10, rtol=0)
    np.testing.assert_allclose(dx, dx_ref, atol=1e-10, rtol=0)
    np.testing.assert_allclose(layer.weight.grad, dgamma, atol=1e-10, rtol=0)
    np.testing.assert_allclose(layer.bias.grad, dbeta, atol=1e-10, rtol=0)


@pytest.mark.torch
@pytest.mark.parametrize(("kind", "shape"), [("1d", (6, 3)), ("1d", (4, 3, 5)), ("2d", (4, 3, 5, 2))])
@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_matches_pytorch_train_eval_and_running_stats(kind, shape, momentum, affine, rng):
    torch = pytest.importorskip("torch")
    layer = _bn(kind, 3, momentum=momentum, affine=affine)
    tcls = torch.nn.BatchNorm2d if kind == "2d" else torch.nn.BatchNorm1d
    t = tcls(3, momentum=momentum, affine=affine).double()
    if affine:
        layer.weight.data[...] = rng.uniform(0.5, 2, 3)
        layer.bias.data[...] = rng.standard_normal(3)
    t.load_state_dict({k: torch.tensor(v) for k, v in layer.state_dict().items()})
    for training in (True, True, True, False):
        layer.train(training)
        t.train(training)
        x = rng.standard_normal(shape) * 3 + 2
        g = rng.standard_normal(shape)
        layer.zero_grad()
        t.zero_grad()
        y = layer(x)
        dx = layer.backward(g)
        xt = torch.tensor(x, requires_grad=True)
        yt = t(xt)
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(y, yt.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-12)
        if affine:
            np.testing.assert_allclose(layer.weight.grad, t.weight.grad.numpy(), atol=1e-12)
            np.testing.assert_allclose(layer.bias.grad, t.bias.grad.numpy(), atol=1e-12)
        for key, value in t.state_dict().items():
            np.testing.assert_allclose(layer.state_dict()[key], value.numpy(), atol=1e-12, err_msg=key)
    assert int(layer.num_batches_tracked) == 3


def test_batchnorm_state_dict_keys_and_round_trip():
    model = ns.Sequential(ns.Conv2d(1, 2, 3, rng=0), ns.BatchNorm2d(2), ns.ReLU())
    assert list(model.state_dict()) == [
        "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked"
    ]  # fmt: skip
    model(np.random.default_rng(0).standard_normal((4, 1, 5, 5)))
    clone = ns.Sequential(ns.Conv2d(1, 2, 3, rng=9), ns.BatchNorm2d(2), ns.ReLU())
    clone.load_state_dict(model.state_dict())
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(clone.state_dict()[key], value)
    assert clone.state_dict()["1.num_batches_tracked"].dtype == np.int64


def test_batchnorm_without_running_stats_uses_batch_statistics_in_eval():
    layer = ns.BatchNorm1d(2, track_running_stats=False).eval()
    x = np.random.default_rng(0).standard_normal((5, 2)) * 4 + 3
    y = layer(x)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    assert "running_mean" not in layer.state_dict()


def test_batchnorm_float32():
    layer = ns.BatchNorm2d(2, dtype=np.float32)
    y = layer(np.ones((2, 2, 3, 3), dtype=np.float32) + np.arange(2, dtype=np.float32)[:, None, None, None])
    assert y.dtype == np.float32 and layer.running_var.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32


def test_batchnorm_bad_inputs():
    with pytest.raises(ShapeError, match="num_features=3"):
        ns.BatchNorm1d(3)(np.zeros((4, 2)))
    with pytest.raises(ShapeError, match=r"\(N, C, H, W\)"):
        ns.BatchNorm2d(3)(np.zeros((4, 3)))
    with pytest.raises(ShapeError, match="more than 1 value per channel"):
        ns.BatchNorm1d(3)(np.zeros((1, 3)))
    ns.BatchNorm1d(3).eval()(np.zeros((1, 3)))  # fine in eval: running statistics are used
    with pytest.raises(HyperparameterError, match="eps"):
        ns.BatchNorm1d(3, eps=0)
    with pytest.raises(HyperparameterError, match="momentum"):
        ns.BatchNorm1d(3, momentum=2.0)
    with pytest.raises(HyperparameterError, match="num_features"):
        ns.BatchNorm2d(0)


def test_batchnorm_without_affine_follows_astype():
    layer = ns.BatchNorm1d(2, affine=False, track_running_stats=False).astype(np.float32)
    assert layer.dtype == np.float32
    assert layer(np.arange(6.0).reshape(3, 2)).dtype == np.float32
