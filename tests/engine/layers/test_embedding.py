"""Embedding: lookup, accumulated gradients for repeated ids, gradcheck, PyTorch parity, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as ns
from nnscratch.base.errors import DTypeError, HyperparameterError, LabelError
from nnscratch.engine.layers import _reference as ref


@settings(max_examples=25, deadline=None)
@given(
    v=st.integers(1, 6),
    d=st.integers(1, 4),
    n=st.integers(1, 4),
    t=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_embedding_lookup_and_gradient_match_reference(v, d, n, t, seed):
    rng = np.random.default_rng(seed)
    layer = ns.Embedding(v, d, rng=seed)
    idx = rng.integers(0, v, size=(n, t))  # repeats are likely: they must accumulate
    y = layer(idx)
    np.testing.assert_array_equal(y, layer.weight.data[idx])
    g = rng.standard_normal(y.shape)
    assert layer.backward(g) is None
    np.testing.assert_allclose(layer.weight.grad, ref.embedding_backward(idx, g, v), atol=1e-12)


@settings(max_examples=10, deadline=None)
@given(v=st.integers(1, 5), d=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_embedding_gradcheck_weight(v, d, seed):
    idx = np.random.default_rng(seed).integers(0, v, size=(3, 4))
    report = ns.gradcheck(ns.Embedding(v, d, rng=seed), idx, seed=seed, check_input=False)
    assert report.passed, str(report)
    assert [c.name for c in report.checks] == ["weight"]


def test_embedding_in_a_sequential_takes_integer_ids():
    model = ns.Sequential(
        ns.Embedding(10, 4, rng=0), ns.GRU(4, 3, rng=1), ns.LastTimeStep(), ns.Linear(3, 2, rng=2)
    )
    ids = np.array([[1, 2, 3], [9, 0, 0]])
    out = model(ids)  # Sequential casts to float64: whole-number floats are accepted as ids
    assert out.shape == (2, 2)
    model.backward(np.ones_like(out), input_grad=False)
    grad_rows = np.abs(model[0].weight.grad).sum(axis=1) > 0
    np.testing.assert_array_equal(np.flatnonzero(grad_rows), [0, 1, 2, 3, 9])
    history = ns.fit(
        model, ids, np.array([0, 1]), loss=ns.CrossEntropyLoss(), optimizer="adam", lr=0.05, epochs=30
    )
    assert history["loss"][-1] < history["loss"][0]


def test_embedding_padding_idx_gets_no_gradient():
    layer = ns.Embedding(5, 2, padding_idx=0, rng=0)
    np.testing.assert_array_equal(layer.weight.data[0], 0)
    layer(np.array([[0, 1, 0]]))
    layer.backward(np.ones((1, 3, 2)))
    np.testing.assert_array_equal(layer.weight.grad[0], 0)
    np.testing.assert_array_equal(layer.weight.grad[1], 1)


@pytest.mark.torch
def test_embedding_matches_pytorch():
    torch = pytest.importorskip("torch")
    layer = ns.Embedding(7, 3, padding_idx=2, rng=0)
    t = torch.nn.Embedding(7, 3, padding_idx=2).double()
    t.weight.data = torch.tensor(layer.weight.data.copy())
    idx = np.array([[1, 2, 2, 6], [6, 6, 0, 2]])
    g = np.random.default_rng(0).standard_normal((2, 4, 3))
    y = layer(idx)
    layer.backward(g)
    yt = t(torch.tensor(idx))
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(y, yt.detach().numpy())
    np.testing.assert_allclose(layer.weight.grad, t.weight.grad.numpy(), atol=1e-12)


def test_embedding_bad_inputs():
    layer = ns.Embedding(4, 2)
    with pytest.raises(LabelError, match=r"\[0, 4\).*index 4"):
        layer(np.array([[0, 4]]))
    with pytest.raises(LabelError, match="index -1"):
        layer(np.array([-1, 0]))
    with pytest.raises(LabelError, match="whole numbers"):
        layer(np.array([0.5, 1.0]))
    with pytest.raises(DTypeError, match="booleans"):
        layer(np.array([True, False]))
    with pytest.raises(DTypeError):
        layer(np.array(["a", "b"]))
    with pytest.raises(HyperparameterError, match="padding_idx"):
        ns.Embedding(4, 2, padding_idx=4)
    with pytest.raises(HyperparameterError, match="embedding_dim"):
        ns.Embedding(4, 0)
