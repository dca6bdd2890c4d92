"""The TensorFlow Playground's regression sets: ``plane`` and ``multi_gaussian``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as ns
from nnscratch.base.errors import HyperparameterError
from nnscratch.data import describe, list_datasets, load
from nnscratch.data.regression import BUMPS, bumps_target, plane_target

NAMES = ["plane", "multi_gaussian"]
CLEAN = {"plane": plane_target, "multi_gaussian": bumps_target}


@pytest.mark.parametrize("name", NAMES)
def test_shape_dtype_task_and_square(name):
    ds = load(name, n_samples=300)
    assert name in list_datasets()
    assert ds.X.shape == (300, 2) and ds.X.dtype == np.float64
    assert ds.y.shape == (300,) and ds.y.dtype == np.float64
    assert ds.task == "regression" and ds.target_names == [] and ds.feature_names == ["x0", "x1"]
    assert np.abs(ds.X).max() <= 6.0 and np.abs(ds.X).max() > 5.0
    assert len(np.unique(ds.y)) == 300  # continuous targets
    assert describe(name)["task"] == "regression"


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31), noise=st.floats(0.0, 0.5))
def test_determined_by_the_seed(name, seed, noise):
    a, b = load(name, n_samples=50, noise=noise, seed=seed), load(name, n_samples=50, noise=noise, seed=seed)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    other = load(name, n_samples=50, noise=noise, seed=seed + 1)
    assert not np.array_equal(a.X, other.X)


@pytest.mark.parametrize("name", NAMES)
def test_without_noise_the_target_is_the_clean_function(name):
    ds = load(name, n_samples=100, seed=4)
    np.testing.assert_array_equal(ds.y, CLEAN[name](ds.X))


@pytest.mark.parametrize("name", NAMES)
def test_noise_moves_where_the_target_is_read_and_keeps_the_points(name):
    clean = load(name, n_samples=2000, seed=1)
    errors = []
    for noise in (0.05, 0.2, 0.5):
        noisy = load(name, n_samples=2000, noise=noise, seed=1)
        np.testing.assert_array_equal(noisy.X, clean.X)  # the same points: only the targets move
        errors.append(np.sqrt(np.mean((noisy.y - clean.y) ** 2)))
    assert 0 < errors[0] < errors[1] < errors[2]


def test_plane_noise_is_the_plane_at_a_jittered_point():
    """For the plane, reading at x + noise·u adds noise·(u0 + u1)/10, u uniform in [-6, 6]²."""
    clean, noisy = load("plane", n_samples=5000, seed=2), load("plane", n_samples=5000, noise=0.5, seed=2)
    shift = noisy.y - clean.y
    assert np.abs(shift).max() <= 0.5 * 12 / 10 + 1e-12
    # var(u0 + u1) = 2·12²/12 = 24, so the shift's standard deviation is 0.05·√24
    assert np.std(shift) == pytest.approx(0.05 * np.sqrt(24), rel=0.05)


def test_plane_is_x0_plus_x1_over_10():
    X = np.array([[6.0, 6.0], [-6.0, 6.0], [1.0, 2.0]])
    np.testing.assert_allclose(plane_target(X), [1.2, 0.0, 0.3])


def test_bumps_are_signed_at_their_centres_and_vanish_far_away():
    np.testing.assert_allclose(bumps_target(BUMPS[:, :2]), BUMPS[:, 2], atol=1e-3)
    assert abs(bumps_target(np.array([[0.0, 0.0], [-6.0, 6.0]]))).max() < 0.05
    ds = load("multi_gaussian", n_samples=2000)
    assert -1.0 <= ds.y.min() < -0.8 and 0.8 < ds.y.max() <= 1.0


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", [{"n_samples": 0}, {"noise": -0.1}])
def test_bad_options_are_refused_by_name(name, bad):
    with pytest.raises(HyperparameterError, match=next(iter(bad))):
        load(name, **bad)


def test_a_linear_model_fits_the_noise_free_plane():
    ds = load("plane", n_samples=100)
    model = ns.Sequential(ns.Linear(2, 1, rng=0))
    ns.fit(
        model,
        ds.X,
        ds.y,
        loss=ns.MSELoss(),
        optimizer=ns.SGD(model.parameters(), lr=0.02),
        epochs=300,
        progress=False,
    )
    np.testing.assert_allclose(model.layers[0].weight.data, [[0.1, 0.1]], atol=1e-6)
