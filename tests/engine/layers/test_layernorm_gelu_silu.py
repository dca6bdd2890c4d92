"""LayerNorm, GELU and SiLU: gradchecks, PyTorch parity (float64), save/load, names and bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as ns
from nnscratch.base.errors import HyperparameterError, ShapeError
from nnscratch.engine import names

# -- LayerNorm ----------------------------------------------------------------------------------


@st.composite
def ln_cases(draw):
    """A leading shape, a normalized_shape of 1 or 2 trailing dims and the layer's options."""
    lead = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    norm = tuple(draw(st.lists(st.integers(2, 4), min_size=1, max_size=2)))
    affine = draw(st.booleans())
    bias = draw(st.booleans())
    return lead, norm, affine, bias


def _layernorm(norm, affine, bias, rng):
    layer = ns.LayerNorm(norm, elementwise_affine=affine, bias=bias)
    if affine:
        layer.weight.data[...] = rng.uniform(0.5, 2, norm)
        if bias:
            layer.bias.data[...] = rng.standard_normal(norm)
    return layer


@settings(max_examples=30, deadline=None)
@given(case=ln_cases(), seed=st.integers(0, 2**16), training=st.booleans())
def test_layernorm_gradcheck_input_and_parameters(case, seed, training):
    lead, norm, affine, bias = case
    rng = np.random.default_rng(seed)
    layer = _layernorm(norm, affine, bias, rng).train(training)
    report = ns.gradcheck(layer, rng.standard_normal(lead + norm) * 2 + 1, seed=seed)
    assert report.passed, str(report)
    expected = ["input", *(["weight", "bias"][: 1 + bias] if affine else [])]
    assert [c.name for c in report.checks] == expected  # the parameters' gradients were checked too


def test_layernorm_normalises_each_sample_with_the_biased_variance(rng):
    layer = ns.LayerNorm((3, 4), eps=1e-12)
    x = rng.standard_normal((5, 3, 4)) * 7 + 3
    y = layer(x)
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(1, 2)), 1, atol=1e-9)  # np.var is the biased one
    g = rng.standard_normal(y.shape)
    dx = layer.backward(g)
    # shifting or scaling a sample leaves its output unchanged: the gradient is orthogonal to both
    np.testing.assert_allclose(dx.sum(axis=(1, 2)), 0, atol=1e-10)
    np.testing.assert_allclose((dx * y).sum(axis=(1, 2)), 0, atol=1e-9)
    assert ns.LayerNorm((3, 4), dtype=np.float32)(x.astype(np.float32)).dtype == np.float32


@pytest.mark.torch
@pytest.mark.parametrize(("lead", "norm"), [((6,), (5,)), ((2, 3), (4,)), ((3,), (2, 4)), ((), (7,))])
@pytest.mark.parametrize(("affine", "bias"), [(True, True), (True, False), (False, True)])
def test_layernorm_matches_pytorch(lead, norm, affine, bias, rng):
    torch = pytest.importorskip("torch")
    layer = _layernorm(norm, affine, bias, rng)
    t = torch.nn.LayerNorm(norm, elementwise_affine=affine, bias=bias, dtype=torch.float64)
    assert list(layer.state_dict()) == list(t.state_dict())
    t.load_state_dict({k: torch.tensor(v) for k, v in layer.state_dict().items()})
    x = rng.standard_normal(lead + norm) * 3 + 2
    g = rng.standard_normal(x.shape)
    y, dx = layer(x), layer.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    yt = t(xt)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(y, yt.detach().numpy(), atol=1e-8, rtol=0)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-8, rtol=0)
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad, getattr(t, name).grad.numpy(), atol=1e-8, rtol=0, err_msg=name)


def test_layernorm_parameters_shapes_and_options():
    layer = ns.LayerNorm(4)
    assert layer.normalized_shape == (4,) and layer.eps == 1e-5
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    np.testing.assert_array_equal(layer.weight.data, np.ones(4))
    np.testing.assert_array_equal(layer.bias.data, np.zeros(4))
    assert ns.LayerNorm((2, 3)).weight.shape == (2, 3)
    assert [n for n, _ in ns.LayerNorm(4, bias=False).named_parameters()] == ["weight"]
    assert ns.LayerNorm(4, elementwise_affine=False).parameters() == []
    assert ns.LayerNorm(4, dtype=np.float32).dtype == np.float32
    assert ns.LayerNorm(4, elementwise_affine=False).astype(np.float32).dtype == np.float32


def test_layernorm_without_input_grad_still_accumulates_parameters(rng):
    layer = ns.LayerNorm(3)
    layer(rng.standard_normal((4, 3)))
    assert layer.backward(np.ones((4, 3)), input_grad=False) is None
    np.testing.assert_allclose(layer.bias.grad, np.full(3, 4.0))


@pytest.mark.parametrize("shape", [0, -1, (), (2, 0), "4", 2.5, True])
def test_layernorm_bad_normalized_shape(shape):
    with pytest.raises(HyperparameterError, match="normalized_shape"):
        ns.LayerNorm(shape)


def test_layernorm_bad_input_and_eps():
    with pytest.raises(ShapeError, match=r"normalized_shape=\(2, 3\)"):
        ns.LayerNorm((2, 3))(np.zeros((4, 3, 2)))
    with pytest.raises(ShapeError, match=r"\(\*, 5\)"):
        ns.LayerNorm(5)(np.zeros((4, 3)))
    with pytest.raises(HyperparameterError, match="eps"):
        ns.LayerNorm(3, eps=0)


# -- GELU and SiLU ------------------------------------------------------------------------------

SMOOTH = {
    "gelu": lambda: ns.GELU(),
    "gelu_tanh": lambda: ns.GELU(approximate="tanh"),
    "silu": lambda: ns.SiLU(),
}


@settings(max_examples=30, deadline=None)
@given(
    kind=st.sampled_from(sorted(SMOOTH)),
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
    scale=st.floats(0.1, 6.0),
    seed=st.integers(0, 2**16),
)
def test_gelu_and_silu_gradcheck(kind, shape, scale, seed):
    x = np.random.default_rng(seed).standard_normal(shape) * scale
    report = ns.gradcheck(SMOOTH[kind](), x, seed=seed)
    assert report.passed, str(report)


@pytest.mark.torch
@pytest.mark.parametrize("kind", sorted(SMOOTH))
def test_gelu_and_silu_match_pytorch(kind, rng):
    torch = pytest.importorskip("torch")
    t = {
        "gelu": torch.nn.GELU(),
        "gelu_tanh": torch.nn.GELU(approximate="tanh"),
        "silu": torch.nn.SiLU(),
    }[kind]
    layer = SMOOTH[kind]()
    x = np.concatenate([rng.standard_normal(200) * 4, [0.0, -40.0, 40.0, -8.0, 8.0, 1e-9]]).reshape(2, 103)
    g = rng.standard_normal(x.shape)
    y, dx = layer(x), layer.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    yt = t(xt)
    yt.backward(torch.tensor(g))
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))
    np.testing.assert_allclose(y, yt.detach().numpy(), atol=1e-8, rtol=1e-8)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-8, rtol=1e-8)


def test_gelu_and_silu_values_and_float32():
    x = np.array([-1.0, 0.0, 1.0])
    phi = np.array([0.15865525393145707, 0.5, 0.8413447460685429])  # the normal CDF at -1, 0, 1
    np.testing.assert_allclose(ns.GELU()(x), x * phi, rtol=1e-14)
    np.testing.assert_allclose(ns.SiLU()(x), x / (1 + np.exp(-x)), rtol=1e-14)
    for layer in (ns.GELU(), ns.GELU("tanh"), ns.SiLU()):
        y = layer(x.astype(np.float32))
        assert y.dtype == np.float32
        assert layer.backward(np.ones(3, dtype=np.float32)).dtype == np.float32
        assert layer.backward(np.ones(3, dtype=np.float32), input_grad=False) is None


def test_gelu_bad_approximate():
    with pytest.raises(HyperparameterError, match="Received: approximate='erf'"):
        ns.GELU(approximate="erf")


def test_activation_names_build_gelu_and_silu():
    assert type(names.activation("gelu")) is ns.GELU
    assert names.activation("GELU", approximate="tanh").approximate == "tanh"
    assert type(names.activation("silu")) is ns.SiLU
    assert type(names.activation("swish")) is ns.SiLU
    assert names.layer_type("LayerNorm") is ns.LayerNorm


# -- model files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_load_round_trip(tmp_path, rng, dtype):
    model = ns.Sequential(
        ns.Linear(4, 6, rng=0, dtype=dtype),
        ns.LayerNorm(6, eps=1e-6, dtype=dtype),
        ns.GELU(approximate="tanh"),
        ns.Linear(6, 6, rng=1, dtype=dtype),
        ns.GELU(),
        ns.Unflatten(1, (2, 3)),
        ns.LayerNorm((2, 3), bias=False, dtype=dtype),
        ns.Flatten(),
        ns.SiLU(),
        ns.LayerNorm(6, elementwise_affine=False, dtype=dtype),
    )
    model[1].weight.data[...] = rng.uniform(0.5, 2, 6)
    model[1].bias.data[...] = rng.standard_normal(6)
    model[6].weight.data[...] = rng.uniform(0.5, 2, (2, 3))
    ns.save(model, tmp_path / "m.npz")
    loaded = ns.load(tmp_path / "m.npz")
    assert repr(loaded) == repr(model)
    assert loaded[2].approximate == "tanh" and loaded[6].bias is None and loaded[9].weight is None
    assert loaded[9].dtype == np.dtype(dtype)
    x = rng.standard_normal((5, 4)).astype(dtype)
    np.testing.assert_array_equal(loaded(x), model(x))
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[key], value)
