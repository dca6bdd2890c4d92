"""Positional encodings: learned (``PositionalEmbedding``) and fixed (``SinusoidalPositionalEncoding``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as ns
from nnscratch.base.errors import ShapeError


def test_sinusoidal_table_is_the_papers_formula():
    pe = ns.SinusoidalPositionalEncoding(6)(np.zeros((1, 4, 6)))[0]
    for p in range(4):
        for i in range(3):
            omega = 10000 ** (-2 * i / 6)
            assert pe[p, 2 * i] == pytest.approx(math.sin(p * omega), abs=1e-15)
            assert pe[p, 2 * i + 1] == pytest.approx(math.cos(p * omega), abs=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sinusoidal_keeps_the_dtype_and_odd_widths_work(dtype):
    layer = ns.SinusoidalPositionalEncoding(5, max_len=8)
    y = layer(np.ones((2, 3, 5), dtype))
    assert y.dtype == dtype and y.shape == (2, 3, 5)
    assert layer.state_dict() == {}
    g = np.random.default_rng(0).normal(size=(2, 3, 5)).astype(dtype)
    assert layer.backward(g) is g  # dL/dx = dL/dy: PE is a constant


def test_learned_embedding_gradient_sums_over_the_batch():
    layer = ns.PositionalEmbedding(6, 2, rng=0)
    x = np.zeros((3, 4, 2))
    np.testing.assert_array_equal(layer(x)[1], layer.weight.data[:4])
    g = np.random.default_rng(1).normal(size=(3, 4, 2))
    np.testing.assert_array_equal(layer.backward(g), g)
    np.testing.assert_allclose(layer.weight.grad[:4], g.sum(axis=0), rtol=0, atol=1e-15)
    assert not layer.weight.grad[4:].any()  # positions not reached get no gradient


@settings(max_examples=25, deadline=None)
@given(T=st.integers(1, 5), D=st.integers(1, 4), batch=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_gradcheck(T, D, batch, seed):
    model = ns.Sequential(
        ns.PositionalEmbedding(5, D, rng=seed),
        ns.SinusoidalPositionalEncoding(D),
        ns.Tanh(),
        ns.Linear(D, 2, rng=seed + 1),
    )
    x = np.random.default_rng(seed).normal(size=(batch, T, D))
    report = ns.gradcheck(model, x, seed=seed)
    assert report.passed, report


def test_refusals():
    with pytest.raises(ShapeError, match="positions 0 … 3"):
        ns.PositionalEmbedding(4, 2, rng=0)(np.zeros((1, 5, 2)))
    with pytest.raises(ShapeError, match=r"\(N, T, 2\)"):
        ns.SinusoidalPositionalEncoding(2)(np.zeros((3, 2)))


@pytest.mark.torch
def test_matches_torch_in_float64():
    torch = pytest.importorskip("torch")
    learned, fixed = ns.PositionalEmbedding(7, 6, rng=0), ns.SinusoidalPositionalEncoding(6)
    emb = torch.nn.Embedding(7, 6).double()
    emb.load_state_dict({k: torch.tensor(v) for k, v in learned.state_dict().items()})
    # the PyTorch tutorial's table (pytorch.org "Language modeling with nn.Transformer")
    position = torch.arange(5, dtype=torch.float64).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, 6, 2, dtype=torch.float64) * (-math.log(10000.0) / 6))
    pe = torch.zeros(5, 6, dtype=torch.float64)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(position * div_term), torch.cos(position * div_term)
    x = np.random.default_rng(2).normal(size=(3, 5, 6))
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.tanh(xt + emb(torch.arange(5)) + pe)
    (yt**3).sum().backward()
    model = ns.Sequential(learned, fixed, ns.Tanh())
    y = model(x)
    dx = model.backward(3 * y**2)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(learned.weight.grad, emb.weight.grad.numpy(), rtol=0, atol=1e-12)
