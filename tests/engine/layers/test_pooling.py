"""MaxPool2d / AvgPool2d: vectorised vs loop reference, ties, gradchecks, PyTorch parity, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as ns
from nnscratch.base.errors import HyperparameterError, ShapeError
from nnscratch.engine.layers import _reference as ref


@st.composite
def pool_configs(draw, max_size=8, dilation=True):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    # at least one effective kernel of real pixels, so no window holds padding only (refused)
    h = draw(st.integers(dh * (kh - 1) + 1, max(max_size, dh * (kh - 1) + 1)))
    w = draw(st.integers(dw * (kw - 1) + 1, max(max_size, dw * (kw - 1) + 1)))
    return dict(kernel=(kh, kw), stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw), shape=(2, 2, h, w))


@settings(max_examples=40, deadline=None)
@given(cfg=pool_configs(), seed=st.integers(0, 2**16), relu=st.booleans())
def test_maxpool_matches_reference(cfg, seed, relu):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(cfg["shape"])
    if relu:  # many exact ties (windows of zeros): the first maximum must win
        x = np.maximum(x, 0.0)
    layer = ns.MaxPool2d(cfg["kernel"], cfg["stride"], cfg["padding"], cfg["dilation"])
    y = layer(x)
    g = rng.standard_normal(y.shape)
    y_ref, dx_ref = ref.maxpool2d(x, cfg["kernel"], cfg["stride"], cfg["padding"], cfg["dilation"], g)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_allclose(layer.backward(g), dx_ref, atol=1e-12, rtol=0)


@settings(max_examples=40, deadline=None)
@given(cfg=pool_configs(dilation=False), seed=st.integers(0, 2**16), include=st.booleans())
def test_avgpool_matches_reference(cfg, seed, include):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(cfg["shape"])
    layer = ns.AvgPool2d(cfg["kernel"], cfg["stride"], cfg["padding"], count_include_pad=include)
    y = layer(x)
    g = rng.standard_normal(y.shape)
    y_ref, dx_ref = ref.avgpool2d(x, cfg["kernel"], cfg["stride"], cfg["padding"], include, g)
    np.testing.assert_allclose(y, y_ref, atol=1e-12, rtol=0)
    np.testing.assert_allclose(layer.backward(g), dx_ref, atol=1e-12, rtol=0)


@settings(max_examples=15, deadline=None)
@given(cfg=pool_configs(max_size=6), seed=st.integers(0, 2**16))
def test_pooling_gradcheck(cfg, seed):
    x = np.random.default_rng(seed).standard_normal(cfg["shape"])
    for layer in (
        ns.MaxPool2d(cfg["kernel"], cfg["stride"], cfg["padding"], cfg["dilation"]),
        ns.AvgPool2d(cfg["kernel"], cfg["stride"], cfg["padding"], count_include_pad=False),
    ):
        report = ns.gradcheck(layer, x, seed=seed)
        assert report.passed, str(report)


def test_maxpool_tie_goes_to_first_maximum():
    x = np.zeros((1, 1, 2, 2))
    layer = ns.MaxPool2d(2)
    assert layer(x)[0, 0, 0, 0] == 0.0
    dx = layer.backward(np.ones((1, 1, 1, 1)))
    np.testing.assert_array_equal(dx[0, 0], [[1.0, 0.0], [0.0, 0.0]])
    x = np.array([[[[1.0, 3.0], [3.0, 2.0]]]])
    layer(x)
    np.testing.assert_array_equal(layer.backward(np.ones((1, 1, 1, 1)))[0, 0], [[0, 1], [0, 0]])


def test_overlapping_max_windows_accumulate():
    x = np.array([[[[0.0, 5.0, 0.0]]]])
    layer = ns.MaxPool2d((1, 2), stride=1)
    np.testing.assert_array_equal(layer(x)[0, 0], [[5.0, 5.0]])
    np.testing.assert_array_equal(layer.backward(np.array([[[[1.0, 2.0]]]]))[0, 0], [[0.0, 3.0, 0.0]])


@pytest.mark.torch
@pytest.mark.parametrize(
    ("kind", "kwargs"),
    [
        ("max", dict(kernel_size=2)),
        ("max", dict(kernel_size=3, stride=2, padding=1, dilation=2)),
        ("max", dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1))),
        ("avg", dict(kernel_size=2)),
        ("avg", dict(kernel_size=3, stride=2, padding=1)),
        ("avg", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ],
)
def test_pooling_matches_pytorch(kind, kwargs, rng):
    torch = pytest.importorskip("torch")
    x = np.maximum(rng.standard_normal((2, 3, 9, 7)), 0.0)  # ReLU-like input, with ties
    layer = ns.MaxPool2d(**kwargs) if kind == "max" else ns.AvgPool2d(**kwargs)
    t = torch.nn.MaxPool2d(**kwargs) if kind == "max" else torch.nn.AvgPool2d(**kwargs)
    y = layer(x)
    g = rng.standard_normal(y.shape)
    xt = torch.tensor(x, requires_grad=True)
    yt = t(xt)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(y, yt.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.backward(g), xt.grad.numpy(), atol=1e-12)


def test_pooling_default_stride_is_kernel_and_float32():
    layer = ns.MaxPool2d(3)
    assert layer.stride == (3, 3)
    y = layer(np.ones((1, 1, 7, 7), dtype=np.float32))
    assert y.shape == (1, 1, 2, 2) and y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32
    assert ns.AvgPool2d(2)(np.ones((1, 1, 4, 4), dtype=np.float32)).dtype == np.float32


@pytest.mark.parametrize("cls", [ns.MaxPool2d, ns.AvgPool2d])
def test_pooling_bad_inputs(cls):
    with pytest.raises(ShapeError, match="4-D"):
        cls(2)(np.zeros((3, 4, 4)))
    with pytest.raises(ShapeError, match="too small"):
        cls(3)(np.zeros((1, 1, 2, 2)))
    with pytest.raises(HyperparameterError, match="half the kernel"):
        cls(2, padding=2)
    with pytest.raises(HyperparameterError, match="kernel_size"):
        cls(0)
    layer = cls(2)
    layer(np.zeros((1, 1, 4, 4)))
    with pytest.raises(ShapeError, match="grad_out"):
        layer.backward(np.zeros((1, 1, 4, 4)))


def test_a_window_of_padding_only_is_refused_not_minus_infinity():
    # kernel 2 with dilation 2 and padding 1 over a single column: both taps land in the padding
    layer = ns.MaxPool2d((1, 2), stride=1, padding=(0, 1), dilation=(1, 2))
    with pytest.raises(ns.ShapeError, match="covers only padding"):
        layer(np.ones((2, 2, 1, 1)))
    assert np.isfinite(layer(np.ones((2, 2, 1, 3)))).all()
