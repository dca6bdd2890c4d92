"""Flatten, Unflatten, Reshape, LastTimeStep: rearrangements and their inverse gradients."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as ns
from nnscratch.base.errors import HyperparameterError, ShapeError


@settings(max_examples=15, deadline=None)
@given(shape=st.lists(st.integers(1, 3), min_size=2, max_size=4), seed=st.integers(0, 2**16))
def test_shape_layers_gradcheck(shape, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    layers = [ns.Flatten(), ns.Flatten(0, -1), ns.Reshape((-1,)), ns.Unflatten(1, (shape[1], 1))]
    if len(shape) == 3:
        layers.append(ns.LastTimeStep())
    for layer in layers:
        report = ns.gradcheck(layer, x, seed=seed)
        assert report.passed, f"{layer!r}\n{report}"


def test_flatten_and_unflatten_follow_pytorch():
    x = np.arange(2 * 3 * 4 * 5, dtype=float).reshape(2, 3, 4, 5)
    assert ns.Flatten()(x).shape == (2, 60)
    assert ns.Flatten(1, 2)(x).shape == (2, 12, 5)
    assert ns.Unflatten(1, (1, 8, 8))(np.zeros((3, 64))).shape == (3, 1, 8, 8)
    assert ns.Reshape((8, 8))(np.zeros((3, 64))).shape == (3, 8, 8)
    layer = ns.LastTimeStep()
    y = layer(x[:, :, :, 0])
    np.testing.assert_array_equal(y, x[:, -1, :, 0])
    dx = layer.backward(np.ones_like(y))
    assert dx[:, -1].sum() == y.size and dx[:, :-1].sum() == 0


def test_shape_layer_errors():
    with pytest.raises(ShapeError, match="Reshape"):
        ns.Reshape((7, 7))(np.zeros((2, 64)))
    with pytest.raises(ShapeError, match="Unflatten"):
        ns.Unflatten(1, (3, 3))(np.zeros((2, 64)))
    with pytest.raises(ShapeError, match="LastTimeStep"):
        ns.LastTimeStep()(np.zeros((2, 3)))
    with pytest.raises(ShapeError, match="Flatten"):
        ns.Flatten(start_dim=3)(np.zeros((2, 3)))
    with pytest.raises(HyperparameterError, match="shape"):
        ns.Reshape((0, 2))
    with pytest.raises(HyperparameterError, match="start_dim"):
        ns.Flatten(start_dim=1.5)
