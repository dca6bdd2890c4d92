"""``TransformerEncoderLayer``: float64 parity with torch (both norm_first, both activations,
with a causal mask) for outputs, input gradients and every parameter gradient; a gradcheck."""

from __future__ import annotations

import io

import numpy as np
import pytest

import nnscratch as ns
from nnscratch.base.errors import HyperparameterError


@pytest.mark.torch
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_matches_torch_in_float64(norm_first, activation):
    torch = pytest.importorskip("torch")
    ours = ns.TransformerEncoderLayer(
        8, 2, 16, dropout=0.0, activation=activation, norm_first=norm_first, rng=0
    )
    theirs = torch.nn.TransformerEncoderLayer(
        8,
        2,
        16,
        dropout=0.0,
        activation=activation,
        batch_first=True,
        norm_first=norm_first,
        dtype=torch.float64,
    )
    assert list(ours.state_dict()) == list(theirs.state_dict())  # PyTorch's submodule and parameter names
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(1)
    x, g = rng.normal(size=(3, 5, 8)), rng.normal(size=(3, 5, 8))
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt, src_mask=torch.tensor(np.triu(np.ones((5, 5), bool), 1)), is_causal=True)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(ours(x, is_causal=True), yt.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.backward(g), xt.grad.numpy(), rtol=0, atol=1e-12)
    torch_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, torch_params[name].grad.numpy(), rtol=0, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("norm_first", [False, True])
def test_gradcheck(norm_first):
    layer = ns.TransformerEncoderLayer(4, 2, 6, dropout=0.0, activation="gelu", norm_first=norm_first, rng=3)
    x = np.random.default_rng(2).normal(size=(2, 3, 4))
    report = ns.gradcheck(layer, x, seed=0)
    assert report.passed, report


def test_save_load_and_refusals():
    layer = ns.TransformerEncoderLayer(4, 2, 6, dropout=0.0, norm_first=True, rng=0)
    buf = io.BytesIO()
    ns.save(layer, buf)
    buf.seek(0)
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    again = ns.load(buf)
    np.testing.assert_array_equal(again(x), layer(x))
    assert again.norm_first and again.dim_feedforward == 6
    with pytest.raises(HyperparameterError, match="activation"):
        ns.TransformerEncoderLayer(4, 2, activation="tanh")


@pytest.mark.parametrize("norm_first", [False, True])
def test_input_grad_false_skips_dx_but_not_the_parameter_gradients(norm_first):
    layer = ns.TransformerEncoderLayer(8, 2, 16, dropout=0.0, norm_first=norm_first, rng=0)
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=(2, 5, 8)), rng.normal(size=(2, 5, 8))
    layer(x, is_causal=True)
    dx = layer.backward(g)
    full = {name: p.grad.copy() for name, p in layer.named_parameters()}
    layer.zero_grad()
    layer(x, is_causal=True)
    assert layer.backward(g, input_grad=False) is None
    assert dx.shape == x.shape
    for name, p in layer.named_parameters():
        np.testing.assert_array_equal(p.grad, full[name], err_msg=name)


def test_float32_stays_float32_through_the_block():
    layer = ns.TransformerEncoderLayer(8, 2, 16, dropout=0.0, dtype=np.float32, rng=0)
    x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype(np.float32)
    mask = np.triu(np.full((5, 5), -np.inf), 1)  # a float64 mask: cast, never an upcast
    y = layer(x, attn_mask=mask, key_padding_mask=np.zeros((2, 5), bool))
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == layer.self_attn.attn_weights.dtype == np.float32
    for name, p in layer.named_parameters():
        assert p.grad.dtype == np.float32, name
    xhat, s, _ = layer.norm1._cache
    assert xhat.dtype == s.dtype == np.float32


def test_dropout_reaches_the_attention_weights_as_in_pytorch():
    layer = ns.TransformerEncoderLayer(4, 2, 8, dropout=0.2, rng=0)
    assert layer.self_attn.dropout == 0.2  # torch: self_attn = MultiheadAttention(..., dropout=dropout)
    x = np.random.default_rng(0).normal(size=(2, 5, 4))
    report = ns.gradcheck(layer, x, seed=0)  # every generator rewound: the same masks each time
    assert report.passed, report
    assert not np.array_equal(layer.train()(x), layer.eval()(x))
