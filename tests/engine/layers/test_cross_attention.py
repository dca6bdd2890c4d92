"""``MultiheadAttention`` called with (query, key, value): cross-attention. Float64 parity with
torch.nn.MultiheadAttention(batch_first) to 1e-10 for the output, all three input gradients and
every parameter gradient; gradchecks; shape errors; the self-attention form as its special case."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as ns
from nnscratch.base.errors import ShapeError


class CrossAsOneInput(ns.Module):
    """gradcheck passes one array: query, key and value stacked along time, split here."""

    def __init__(self, layer: ns.MultiheadAttention, L: int, S: int, masks: dict) -> None:
        super().__init__()
        self.inner, self.L, self.S, self.masks = layer, L, S, masks

    def forward(self, x):
        L, S = self.L, self.S
        return self.inner.forward(x[:, :L], x[:, L : L + S], x[:, L + S :], **self.masks)

    def backward(self, g, *, input_grad=True):
        grads = self.inner.backward(g, input_grad=input_grad)
        return np.concatenate(grads, axis=1) if input_grad else None


@settings(max_examples=20, deadline=None)
@given(
    heads=st.sampled_from([1, 2]),
    head_dim=st.integers(1, 3),
    L=st.integers(1, 4),
    S=st.integers(1, 4),
    N=st.integers(1, 2),
    causal=st.booleans(),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_gradcheck(heads, head_dim, L, S, N, causal, bias, seed):
    E = heads * head_dim
    layer = ns.MultiheadAttention(E, heads, bias=bias, rng=seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, L + 2 * S, E))
    masks = {"is_causal": True} if causal and S >= L else {}  # causal with S ≥ L: no empty row
    padding = np.zeros((N, S), bool)
    padding[:, 1:] = rng.random((N, S - 1)) < 0.3  # key 0 always visible: no fully masked row
    masks["key_padding_mask"] = padding
    report = ns.gradcheck(CrossAsOneInput(layer, L, S, masks), x, seed=seed)
    assert report.passed, report


def twin(ours: ns.MultiheadAttention, torch):
    t = torch.nn.MultiheadAttention(ours.embed_dim, ours.num_heads, batch_first=True, dtype=torch.float64)
    t.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    return t


@pytest.mark.torch
@pytest.mark.parametrize(
    ("heads", "L", "S", "mask"),
    [(1, 5, 3, None), (1, 2, 6, "bool"), (4, 5, 7, "float3d"), (2, 6, 4, "bool"), (4, 3, 3, "float2d")],
)
@pytest.mark.parametrize("padding", [False, True])
def test_matches_torch_in_float64(heads, L, S, mask, padding):
    torch = pytest.importorskip("torch")
    N, E = 3, 8
    ours = ns.MultiheadAttention(E, heads, rng=heads + L)
    theirs = twin(ours, torch)
    rng = np.random.default_rng(L * S)
    q, k, v = rng.normal(size=(N, L, E)), rng.normal(size=(N, S, E)), rng.normal(size=(N, S, E))
    g = rng.normal(size=(N, L, E))
    attn = None
    if mask == "bool":
        attn = rng.random((L, S)) < 0.4
        attn[:, 0] = False  # every query sees key 0: no fully masked row
    elif mask == "float2d":
        attn = rng.normal(size=(L, S))
    elif mask == "float3d":
        attn = rng.normal(size=(N * heads, L, S))
    keys = None
    if padding:
        keys = np.zeros((N, S), bool)
        keys[0, -1] = keys[2, 1:] = True
    qt, kt, vt = (torch.tensor(z, requires_grad=True) for z in (q, k, v))
    keys_t = keys
    if keys is not None and attn is not None and attn.dtype != bool:  # torch wants one mask type
        keys_t = np.where(keys, -np.inf, 0.0)
    masks_t = {
        "attn_mask": None if attn is None else torch.tensor(attn),
        "key_padding_mask": None if keys_t is None else torch.tensor(keys_t),
    }
    yt, wt = theirs(qt, kt, vt, need_weights=True, average_attn_weights=False, **masks_t)
    yt.backward(torch.tensor(g))
    y = ours(q, k, v, attn_mask=attn, key_padding_mask=keys)
    dq, dk, dv = ours.backward(g)
    their_grads = dict(theirs.named_parameters())
    pairs = [
        ("y", y, yt.detach()),
        ("attn_weights", ours.attn_weights, wt.detach()),
        ("dquery", dq, qt.grad),
        ("dkey", dk, kt.grad),
        ("dvalue", dv, vt.grad),
        *((name, p.grad, their_grads[name].grad) for name, p in ours.named_parameters()),
    ]
    assert len(pairs) == 9
    for name, a, b in pairs:
        np.testing.assert_allclose(a, b.numpy(), rtol=0, atol=1e-10, err_msg=name)
    assert ours.attn_weights.shape == (N, heads, L, S)


def test_self_attention_is_the_cross_form_with_one_input():
    layer = ns.MultiheadAttention(6, 3, rng=0)
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=(2, 4, 6)), rng.normal(size=(2, 4, 6))
    y_cross = layer(x, x, x, is_causal=True)
    grads = layer.backward(g)
    assert isinstance(grads, tuple) and len(grads) == 3
    cross_param_grads = [p.grad.copy() for p in layer.parameters()]
    layer.zero_grad()
    y_self = layer(x, is_causal=True)
    dx = layer.backward(g)
    assert isinstance(dx, np.ndarray)  # the self form keeps returning one array
    np.testing.assert_allclose(y_cross, y_self, rtol=0, atol=1e-13)
    np.testing.assert_allclose(grads[0] + grads[1] + grads[2], dx, rtol=0, atol=1e-13)
    for a, p in zip(cross_param_grads, layer.parameters(), strict=True):
        np.testing.assert_allclose(a, p.grad, rtol=0, atol=1e-13)
    layer(x, x, x)
    assert layer.backward(g, input_grad=False) is None


def test_float32_stays_float32():
    layer = ns.MultiheadAttention(4, 2, dtype=np.float32, rng=0)
    rng = np.random.default_rng(0)
    q, kv = rng.normal(size=(2, 3, 4)).astype(np.float32), rng.normal(size=(2, 5, 4)).astype(np.float32)
    y = layer(q, kv, kv, attn_mask=rng.normal(size=(3, 5)), key_padding_mask=np.eye(2, 5, dtype=bool))
    grads = layer.backward(np.ones_like(y))
    assert y.dtype == layer.attn_weights.dtype == np.float32
    assert all(gr.dtype == np.float32 for gr in grads)
    assert all(p.grad.dtype == np.float32 for p in layer.parameters())


def test_shape_errors_name_what_was_expected():
    layer = ns.MultiheadAttention(4, 2, rng=0)
    q, kv = np.zeros((2, 3, 4)), np.zeros((2, 5, 4))
    with pytest.raises(ShapeError, match="key and value together"):
        layer(q, kv)
    with pytest.raises(ShapeError, match=r"key must be \(N, S, E\) = \(2, S, 4\)"):
        layer(q, np.zeros((2, 5, 3)), kv)
    with pytest.raises(ShapeError, match=r"value must be \(N, S, E\) = \(2, S, 4\)"):
        layer(q, kv, np.zeros((1, 5, 4)))
    with pytest.raises(ShapeError, match="same shape"):
        layer(q, kv, np.zeros((2, 4, 4)))
    with pytest.raises(ShapeError, match=r"attn_mask must be \(3, 5\) or \(4, 3, 5\)"):
        layer(q, kv, kv, attn_mask=np.zeros((3, 3), bool))
    with pytest.raises(ShapeError, match=r"key_padding_mask must be \(2, 5\)"):
        layer(q, kv, kv, key_padding_mask=np.zeros((2, 3), bool))
    layer(q, kv, kv)
    with pytest.raises(ShapeError, match=r"grad_out must have shape \(2, 3, 4\)"):
        layer.backward(np.zeros((2, 5, 4)))
