"""``MultiheadAttention``: float64 gradchecks, and parity with torch.nn.MultiheadAttention
(batch_first) to 1e-12 for outputs, input gradients and every parameter gradient."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as ns
from nnscratch.base.errors import HyperparameterError, ShapeError


@settings(max_examples=20, deadline=None)
@given(
    heads=st.sampled_from([1, 2]),
    head_dim=st.integers(1, 3),
    T=st.integers(1, 4),
    N=st.integers(1, 2),
    causal=st.booleans(),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_gradcheck(heads, head_dim, T, N, causal, bias, seed):
    E = heads * head_dim
    layer = ns.MultiheadAttention(E, heads, bias=bias, is_causal=causal, rng=seed)  # masks every call
    x = np.random.default_rng(seed).normal(size=(N, T, E))
    report = ns.gradcheck(layer, x, seed=seed)
    assert report.passed, report


def twin(ours: ns.MultiheadAttention, torch):
    t = torch.nn.MultiheadAttention(ours.embed_dim, ours.num_heads, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        t.in_proj_weight.copy_(torch.tensor(ours.in_proj_weight.data))
        t.in_proj_bias.copy_(torch.tensor(ours.in_proj_bias.data))
        t.out_proj.weight.copy_(torch.tensor(ours.out_proj.weight.data))
        t.out_proj.bias.copy_(torch.tensor(ours.out_proj.bias.data))
    return t


@pytest.mark.torch
@pytest.mark.parametrize(
    ("heads", "causal", "padding"), [(1, False, False), (1, True, False), (4, False, True), (2, True, True)]
)
def test_matches_torch_in_float64(heads, causal, padding):
    torch = pytest.importorskip("torch")
    N, T, E = 3, 5, 8
    ours = ns.MultiheadAttention(E, heads, rng=1)
    theirs = twin(ours, torch)
    rng = np.random.default_rng(heads)
    x, g = rng.normal(size=(N, T, E)), rng.normal(size=(N, T, E))
    mask = np.triu(np.ones((T, T), bool), 1) if causal else None
    keys = None
    if padding:
        keys = np.zeros((N, T), bool)
        keys[0, -2:] = keys[2, -1] = True
    xt = torch.tensor(x, requires_grad=True)
    yt, _ = theirs(
        xt, xt, xt,
        attn_mask=None if mask is None else torch.tensor(mask),
        key_padding_mask=None if keys is None else torch.tensor(keys),
        need_weights=False,
    )  # fmt: skip
    yt.backward(torch.tensor(g))
    y = ours(x, is_causal=causal, key_padding_mask=keys)
    dx = ours.backward(g)
    pairs = [
        (y, yt.detach()),
        (dx, xt.grad),
        (ours.in_proj_weight.grad, theirs.in_proj_weight.grad),
        (ours.in_proj_bias.grad, theirs.in_proj_bias.grad),
        (ours.out_proj.weight.grad, theirs.out_proj.weight.grad),
        (ours.out_proj.bias.grad, theirs.out_proj.bias.grad),
    ]
    for a, b in pairs:
        np.testing.assert_allclose(a, b.numpy(), rtol=0, atol=1e-12)
    assert ours.attn_weights.shape == (N, heads, T, T)
    np.testing.assert_allclose(ours.attn_weights.sum(-1), 1.0)
    if causal:
        assert np.all(np.triu(ours.attn_weights[0, 0], 1) == 0)


def test_a_bool_mask_equals_the_float_mask_and_a_causal_hint():
    layer = ns.MultiheadAttention(4, 2, rng=0)
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    causal = np.triu(np.ones((3, 3), bool), 1)
    a = layer(x, attn_mask=causal)
    b = layer(x, attn_mask=np.where(causal, -np.inf, 0.0))
    c = layer(x, is_causal=True)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_names_save_and_load():
    model = ns.Sequential(ns.Residual(ns.MultiheadAttention(4, 2, rng=0)), ns.Linear(4, 1, rng=1))
    names = ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert list(model.state_dict())[:4] == [f"0.module.{n}" for n in names]
    buf = io.BytesIO()
    ns.save(model, buf)
    buf.seek(0)
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    np.testing.assert_array_equal(ns.load(buf)(x), model(x))


def test_refusals():
    with pytest.raises(HyperparameterError, match="divisible"):
        ns.MultiheadAttention(5, 2)
    with pytest.raises(HyperparameterError, match=r"dropout must be in \[0, 1\)"):
        ns.MultiheadAttention(4, 2, dropout=1.0)
    layer = ns.MultiheadAttention(4, 2, rng=0)
    with pytest.raises(ShapeError, match=r"\(N, T, 4\)"):
        layer(np.zeros((2, 4)))
    with pytest.raises(ShapeError, match="attn_mask"):
        layer(np.zeros((1, 3, 4)), attn_mask=np.zeros((2, 2), bool))
    with pytest.raises(ShapeError, match="key_padding_mask"):
        layer(np.zeros((1, 3, 4)), key_padding_mask=np.zeros((1, 2), bool))


@pytest.mark.parametrize("scale", [0.1, 1e3])  # scores within 60 of each other (one shift), or far apart
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_softmax_is_stable_whichever_shift_it_takes(scale, dtype):
    """softmax(S + M) against a float64 reference shifted by each row's maximum, with a float mask
    of −1e4 (PyTorch's other convention) that leaves one row a single key, and a padding key."""
    from nnscratch.engine.layers.attention import _common_shift

    layer = ns.MultiheadAttention(6, 2, dtype=dtype, rng=0)
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(2, 5, 6)) * scale).astype(dtype)
    mask = np.zeros((5, 5))
    mask[1, 1:] = -1e4
    padding = np.zeros((2, 5), bool)
    padding[1, 3] = True
    layer(x, attn_mask=mask, key_padding_mask=padding)
    Q, K = (z.astype(np.float64) for z in layer._cache[1:3])
    S = Q @ K.transpose(0, 1, 3, 2) / np.sqrt(3) + mask + np.where(padding, -np.inf, 0.0)[:, None, None, :]
    shifted = np.exp(S - S.max(axis=-1, keepdims=True))
    reference = shifted / shifted.sum(axis=-1, keepdims=True)
    A = layer.attn_weights
    assert A.dtype == dtype and np.all(np.isfinite(A))
    np.testing.assert_allclose(A.sum(-1), 1.0, rtol=1e-5)
    assert np.all(A[1, :, :, 3] == 0)
    if scale < 1:  # scores of ~1e6 outweigh a −1e4 mask, as they would in PyTorch
        assert np.all(A[:, :, 1, 1:] == 0)
    if dtype == np.float64:  # in float32, scores of ~1e6 are themselves rounded by ~0.1
        np.testing.assert_allclose(A, reference, rtol=1e-9, atol=1e-12)
    S_unmasked = Q @ K.transpose(0, 1, 3, 2) / np.sqrt(3)
    span = S_unmasked.max() - S_unmasked.min()
    assert (_common_shift(S_unmasked, []) is None) == (span > 60)
    assert _common_shift(np.zeros((1, 1, 2, 2)), [np.array([[0.0, -np.inf], [0.0, 0.0]])]) == 0.0
    assert _common_shift(np.zeros((1, 1, 2, 2)), [np.full((2, 2), -np.inf)]) is None
    assert _common_shift(np.zeros((1, 1, 2, 2)), [np.array([[0.0, -1e4], [0.0, 0.0]])]) is None


def test_the_one_array_mask_is_what_the_layer_adds():
    """``_additive_mask`` (used by the worked attention trace) sums the masks to (N, H, T, T)."""
    layer = ns.MultiheadAttention(4, 2, rng=0)
    padding = np.array([[False, False, True], [False, False, False]])
    M = layer._additive_mask(2, 3, np.dtype(np.float32), None, padding, True)
    assert M.shape == (2, 2, 3, 3) and M.dtype == np.float32
    expected = np.where(np.triu(np.ones((3, 3), bool), 1) | padding[:, None, None, :], -np.inf, 0.0)
    np.testing.assert_array_equal(M, np.broadcast_to(expected, (2, 2, 3, 3)))
    assert layer._additive_mask(2, 3, np.dtype(np.float64), None, None, False) is None


def test_a_causal_layer_masks_every_call_without_a_mask():
    x = np.random.default_rng(0).normal(size=(2, 5, 4))
    causal, plain = ns.MultiheadAttention(4, 2, is_causal=True, rng=0), ns.MultiheadAttention(4, 2, rng=0)
    np.testing.assert_array_equal(causal(x), plain(x, is_causal=True))
    assert not np.triu(causal.attn_weights[0, 0], 1).any()  # no query reads a later key
    given = np.zeros((5, 5))  # an explicit mask replaces the default
    np.testing.assert_array_equal(causal(x, attn_mask=given), plain(x))
    model = ns.Sequential(causal, ns.Linear(4, 1, rng=1))
    assert ns.gradcheck(model.astype(np.float64), x, seed=0).passed
    assert "is_causal=True" in repr(causal)


def test_dropout_drops_attention_weights_in_training_only():
    x = np.random.default_rng(0).normal(size=(3, 5, 4))
    layer, plain = ns.MultiheadAttention(4, 2, dropout=0.4, rng=0), ns.MultiheadAttention(4, 2, rng=0)
    np.testing.assert_array_equal(layer.eval()(x), plain(x))  # eval: no dropout
    layer.train()
    D_rng = np.random.Generator(np.random.PCG64())
    D_rng.bit_generator.state = layer.rng.bit_generator.state  # the masks the layer will draw
    y = layer(x)
    D = (D_rng.random(layer.attn_weights.shape) >= 0.4) / 0.6
    # the same layer by hand: O = (A ⊙ D) V, y = O W_outᵀ + b_out
    E, H, d = 4, 2, 2
    qkv = x @ layer.in_proj_weight.data.T + layer.in_proj_bias.data
    V = qkv[..., 2 * E :].reshape(3, 5, H, d).transpose(0, 2, 1, 3)
    A = layer.attn_weights  # before dropout, rows summing to 1
    np.testing.assert_allclose(A.sum(-1), 1.0, rtol=0, atol=1e-12)
    O = ((A * D) @ V).transpose(0, 2, 1, 3).reshape(3, 5, E)
    expected = O @ layer.out_proj.weight.data.T + layer.out_proj.bias.data
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-12)
    assert 0 < np.count_nonzero(D == 0) < D.size


@settings(max_examples=15, deadline=None)
@given(p=st.sampled_from([0.2, 0.5]), causal=st.booleans(), seed=st.integers(0, 2**16))
def test_gradcheck_with_dropout(p, causal, seed):
    """gradcheck rewinds the layer's generator before each forward: every evaluation draws the
    same masks, so the finite differences see one function."""
    layer = ns.MultiheadAttention(4, 2, dropout=p, is_causal=causal, rng=seed)
    x = np.random.default_rng(seed).normal(size=(2, 3, 4))
    report = ns.gradcheck(layer, x, seed=seed)
    assert report.passed, report


@pytest.mark.torch
def test_dropout_backward_matches_autograd_with_the_same_masks():
    torch = pytest.importorskip("torch")
    layer = ns.MultiheadAttention(4, 2, dropout=0.3, rng=1)
    x = np.random.default_rng(2).normal(size=(2, 5, 4))
    rng_copy = np.random.Generator(np.random.PCG64())
    rng_copy.bit_generator.state = layer.rng.bit_generator.state
    y = layer(x)
    g = np.random.default_rng(3).normal(size=y.shape)
    dx = layer.backward(g)
    D = torch.tensor((rng_copy.random((2, 2, 5, 5)) >= 0.3) / 0.7)
    t = torch.nn.MultiheadAttention(4, 2, batch_first=True).double()
    t.in_proj_weight.data = torch.tensor(layer.in_proj_weight.data)
    t.in_proj_bias.data = torch.tensor(layer.in_proj_bias.data)
    t.out_proj.weight.data = torch.tensor(layer.out_proj.weight.data)
    t.out_proj.bias.data = torch.tensor(layer.out_proj.bias.data)
    xt = torch.tensor(x, requires_grad=True)
    q, k, v = torch.nn.functional.linear(xt, t.in_proj_weight, t.in_proj_bias).chunk(3, dim=-1)
    q, k, v = (z.reshape(2, 5, 2, 2).transpose(1, 2) for z in (q, k, v))
    A = torch.softmax(q @ k.transpose(-1, -2) / np.sqrt(2), dim=-1)
    yt = t.out_proj(((A * D) @ v).transpose(1, 2).reshape(2, 5, 4))
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(layer.in_proj_weight.grad, t.in_proj_weight.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(layer.out_proj.weight.grad, t.out_proj.weight.grad.numpy(), rtol=0, atol=1e-12)
