"""Conv2d: fast im2col path vs the loop reference, gradchecks, PyTorch parity, bad inputs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as ns
from nnscratch.base.errors import HyperparameterError, ShapeError, StateError
from nnscratch.engine.layers import _reference as ref


@st.composite
def conv_configs(draw, max_size=7):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), max_size))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), max_size))
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    bias = draw(st.booleans())
    return dict(
        n=n,
        c=c,
        o=o,
        kernel=(kh, kw),
        stride=(sh, sw),
        padding=(ph, pw),
        dilation=(dh, dw),
        hw=(h, w),
        bias=bias,
    )


def _layer(cfg, seed=0):
    return ns.Conv2d(
        cfg["c"],
        cfg["o"],
        cfg["kernel"],
        cfg["stride"],
        cfg["padding"],
        cfg["dilation"],
        cfg["bias"],
        rng=seed,
    )


@settings(max_examples=40, deadline=None)
@given(cfg=conv_configs(), seed=st.integers(0, 2**16))
def test_conv_fast_path_matches_loop_reference(cfg, seed):
    rng = np.random.default_rng(seed)
    layer = _layer(cfg, seed)
    x = rng.standard_normal((cfg["n"], cfg["c"], *cfg["hw"]))
    y = layer(x)
    pads = (cfg["padding"][0],) * 2 + (cfg["padding"][1],) * 2
    b = layer.bias.data if layer.bias is not None else None
    y_ref = ref.conv2d(x, layer.weight.data, b, cfg["stride"], pads, cfg["dilation"])
    np.testing.assert_allclose(y, y_ref, atol=1e-10, rtol=0)
    g = rng.standard_normal(y.shape)
    dx = layer.backward(g)
    dx_ref, dw_ref, db_ref = ref.conv2d_backward(
        x, layer.weight.data, g, cfg["stride"], pads, cfg["dilation"]
    )
    np.testing.assert_allclose(dx, dx_ref, atol=1e-10, rtol=0)
    np.testing.assert_allclose(layer.weight.grad, dw_ref, atol=1e-10, rtol=0)
    if layer.bias is not None:
        np.testing.assert_allclose(layer.bias.grad, db_ref, atol=1e-10, rtol=0)


@settings(max_examples=15, deadline=None)
@given(cfg=conv_configs(max_size=5), seed=st.integers(0, 2**16))
def test_conv_gradcheck_inputs_and_parameters(cfg, seed):
    x = np.random.default_rng(seed).standard_normal((cfg["n"], cfg["c"], *cfg["hw"]))
    report = ns.gradcheck(_layer(cfg, seed), x, seed=seed)
    assert report.passed, str(report)
    assert {c.name for c in report.checks} >= {"input", "weight"}


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel", [3, 4, (2, 3)])
def test_conv_string_padding_matches_reference(padding, kernel):
    from nnscratch.engine.layers._im2col import resolve_padding

    rng = np.random.default_rng(1)
    layer = ns.Conv2d(2, 3, kernel, padding=padding, dilation=(1, 2), rng=1)
    x = rng.standard_normal((2, 2, 7, 8))
    y = layer(x)
    if padding == "same":
        assert y.shape[2:] == x.shape[2:]
    pads = resolve_padding(padding, layer.kernel_size, layer.stride, layer.dilation)
    np.testing.assert_allclose(
        y, ref.conv2d(x, layer.weight.data, layer.bias.data, (1, 1), pads, (1, 2)), atol=1e-10
    )
    g = rng.standard_normal(y.shape)
    dx_ref, dw_ref, _ = ref.conv2d_backward(x, layer.weight.data, g, (1, 1), pads, (1, 2))
    np.testing.assert_allclose(layer.backward(g), dx_ref, atol=1e-10)
    np.testing.assert_allclose(layer.weight.grad, dw_ref, atol=1e-10)


@pytest.mark.torch
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=3),
        dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 2), dilation=(1, 2)),
        dict(kernel_size=3, padding="same", dilation=2),
        dict(kernel_size=1, stride=2, bias=False),
    ],
)
def test_conv_matches_pytorch(kwargs, rng):
    torch = pytest.importorskip("torch")
    layer = ns.Conv2d(3, 4, rng=0, **kwargs)
    t = torch.nn.Conv2d(3, 4, **kwargs).double()
    t.weight.data = torch.tensor(layer.weight.data.copy())
    if layer.bias is not None:
        t.bias.data = torch.tensor(layer.bias.data.copy())
    x = rng.standard_normal((2, 3, 9, 8))
    y = layer(x)
    g = rng.standard_normal(y.shape)
    dx = layer.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    yt = t(xt)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(y, yt.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, t.weight.grad.numpy(), atol=1e-12)
    if layer.bias is not None:
        np.testing.assert_allclose(layer.bias.grad, t.bias.grad.numpy(), atol=1e-12)


def test_conv_pytorch_initialisation_bounds_and_names():
    layer = ns.Conv2d(3, 5, (2, 4), rng=0)
    bound = 1 / np.sqrt(3 * 2 * 4)
    assert layer.weight.shape == (5, 3, 2, 4) and layer.bias.shape == (5,)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.8 * bound
    model = ns.Sequential(ns.Conv2d(1, 2, 3, rng=0), ns.ReLU(), ns.Flatten(), ns.Linear(2 * 4 * 4, 3, rng=0))
    assert list(model.state_dict()) == ["0.weight", "0.bias", "3.weight", "3.bias"]


def test_conv_float32_stays_float32_and_skips_input_grad():
    layer = ns.Conv2d(2, 3, 3, padding=1, dtype=np.float32, rng=0)
    y = layer(np.ones((2, 2, 5, 5)))
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y), input_grad=False) is None
    assert layer.weight.grad.dtype == np.float32 and np.abs(layer.weight.grad).sum() > 0


def test_conv_cnn_in_sequential_gradcheck():
    model = ns.Sequential(
        ns.Conv2d(1, 2, 3, padding=1, rng=0),
        ns.Tanh(),
        ns.MaxPool2d(2),
        ns.Conv2d(2, 3, 2, rng=1),
        ns.Flatten(),
        ns.Linear(12, 2, rng=2),
    )
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6))
    report = ns.gradcheck(model, x)
    assert report.passed, str(report)


@pytest.mark.parametrize(
    ("x_shape", "match"),
    [((3, 5, 5), "4-D"), ((1, 2, 5, 5), "3 input channel"), ((1, 3, 2, 2), "too small")],
)
def test_conv_bad_input_shapes(x_shape, match):
    with pytest.raises(ShapeError, match=match):
        ns.Conv2d(3, 4, 3)(np.zeros(x_shape))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=0),
        dict(kernel_size=(1, 2, 3)),
        dict(kernel_size=3, stride=0),
        dict(kernel_size=3, padding=-1),
        dict(kernel_size=3, padding="full"),
        dict(kernel_size=3, padding="same", stride=2),
        dict(kernel_size=2.5),
    ],
)
def test_conv_bad_configuration(kwargs):
    with pytest.raises(HyperparameterError, match="Received"):
        ns.Conv2d(1, 1, **kwargs)


def test_conv_backward_errors():
    layer = ns.Conv2d(1, 1, 2)
    with pytest.raises(StateError):
        layer.backward(np.zeros((1, 1, 2, 2)))
    layer(np.zeros((1, 1, 3, 3)))
    with pytest.raises(ShapeError, match="grad_out"):
        layer.backward(np.zeros((1, 1, 3, 3)))
