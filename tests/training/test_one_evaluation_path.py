"""One evaluation path: every target shape a loss accepts gives ``loss(model(X), y)``, and fit's
validation, ``ns.evaluate``, cross-validation and experiment runs report the same numbers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as ns
from nnscratch.evaluation import cross_validate, cv_splits
from nnscratch.experiments.builder import build_loss, load_data, make_split, targets
from nnscratch.experiments.config import load_config
from nnscratch.experiments.run_folder import rebuild_model
from nnscratch.experiments.sweep import plan, run_point


def _one_output(seed: int, last: ns.Module | None = None) -> ns.Sequential:
    layers = [ns.Linear(3, 5, rng=seed), ns.Tanh(), ns.Linear(5, 1, rng=seed + 1)]
    return ns.Sequential(*layers, *([last] if last else []))


ONE_OUTPUT_LOSSES = [
    (lambda: ns.MSELoss(), None, "real"),
    (lambda: ns.MSELoss("sum"), None, "real"),
    (lambda: ns.L2Loss(), None, "real"),
    (lambda: ns.L2Loss("mean"), None, "real"),
    (lambda: ns.BCEWithLogitsLoss(), None, "binary"),
    (lambda: ns.BCEWithLogitsLoss("sum"), None, "binary"),
    (lambda: ns.BCELoss(), ns.Sigmoid, "binary"),
    (lambda: ns.MSELoss(), ns.Sigmoid, "binary"),
]


@settings(max_examples=40, deadline=None)
@given(
    case=st.sampled_from(range(len(ONE_OUTPUT_LOSSES))),
    n=st.integers(2, 120),
    seed=st.integers(0, 10_000),
    form=st.sampled_from(["1d", "column", "list"]),
)
def test_every_target_shape_gives_the_loss_of_the_model(case, n, seed, form):
    make_loss, last, kind = ONE_OUTPUT_LOSSES[case]
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = rng.integers(0, 2, n).astype(float) if kind == "binary" else rng.normal(size=n)
    if kind == "binary":
        y[:2] = [0.0, 1.0]  # two classes: a single class would be a DataError for fit, not here
    model = _one_output(seed % 100, last() if last else None)
    given_y = {"1d": y, "column": y[:, None], "list": y.tolist()}[form]
    loss = make_loss()
    expected = make_loss()(model(X), y[:, None])  # the loss on the output's own shape
    got = ns.evaluate(model, X, given_y, loss)
    assert got["loss"] == pytest.approx(expected, rel=1e-12)
    assert all(type(v) is float for v in got.values())
    assert (kind == "binary") == ("accuracy" in got)


@pytest.mark.parametrize("form", ["indices", "one_hot"])
def test_cross_entropy_targets_as_indices_or_one_hot_give_the_same_loss(form):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(50, 3)), rng.integers(0, 4, 50)
    model = ns.Sequential(ns.Linear(3, 4, rng=0))
    target = y if form == "indices" else np.eye(4)[y]
    got = ns.evaluate(model, X, target, ns.CrossEntropyLoss(), metrics=("accuracy", "f1"))
    assert got["loss"] == pytest.approx(ns.CrossEntropyLoss()(model(X), y), rel=1e-12)
    assert got["accuracy"] == float(np.mean(model(X).argmax(axis=1) == y))
    assert type(got["f1"]) is float


def test_fit_validation_is_evaluate_on_the_final_model():
    data = ns.datasets.load("moons", n_samples=120, noise=0.2, seed=3)
    X, Xv, y, yv = ns.datasets.train_test_split(data.X, data.y, test_size=0.3, seed=0)
    model = ns.Sequential(ns.Linear(2, 8, rng=0), ns.Tanh(), ns.Linear(8, 1, rng=1))
    loss = ns.BCEWithLogitsLoss()
    h = ns.fit(
        model, X, y, loss=loss, lr=0.5, epochs=15, validation_data=(Xv, yv), held_out={"test": (Xv, yv)}
    )
    final = ns.evaluate(model, Xv, yv, loss)
    assert h["val_loss"][-1] == final["loss"] == h["test_loss"][-1]
    assert h["val_accuracy"][-1] == final["accuracy"]


def test_cross_validation_folds_report_evaluate_of_each_fold_model():
    data = ns.datasets.load("moons", n_samples=100, noise=0.2, seed=0)
    models = []

    def build(rng):
        models.append(
            ns.Sequential(ns.Linear(2, 6, rng=rng), ns.Tanh(), ns.Linear(6, 1, rng=rng), ns.Sigmoid())
        )
        return models[-1]

    res = cross_validate(build, data.X, data.y, loss=ns.BCELoss(), lr=1.0, epochs=20, folds=4, seed=2)
    for model, fold, (tr, te) in zip(models, res.folds, cv_splits(data.y, folds=4, seed=2), strict=True):
        on_test = ns.evaluate(model, data.X[te], data.y[te], ns.BCELoss(), metrics=("accuracy", "f1"))
        on_train = ns.evaluate(model, data.X[tr], data.y[tr], ns.BCELoss())
        assert fold["test_loss"] == on_test["loss"] and fold["accuracy"] == on_test["accuracy"]
        assert fold["f1"] == on_test["f1"]
        assert fold["train_loss"] == on_train["loss"] and fold["train_accuracy"] == on_train["accuracy"]
        assert type(fold["accuracy"]) is float


@pytest.mark.parametrize("loss", ["mse", "l2", "bce", "bce_logits"])
def test_an_experiment_reports_evaluate_of_its_model(loss):
    cfg = load_config(
        {
            "experiment": {"seed": 4},
            "data": {"dataset": "moons", "params": {"n_samples": 100, "seed": 1}, "test_size": 0.25},
            "model": {"hidden": [5]},
            "loss": {"name": loss},
            "optimizer": {"lr": 0.01},  # l2 sums over the samples: 0.1 diverges
            "training": {"epochs": 10},
        }
    )
    (task,) = plan(cfg, cv=False, sweep=False)
    result = run_point(task.config, task.fold, task.seed)
    assert result["diverged"] is None
    data, test = load_data(cfg)
    split = make_split(cfg, data, test, None)
    model = rebuild_model(cfg, result)
    loss_fn = build_loss(cfg, cfg.loss.canonical())
    target = targets(split.y_test, cfg.loss.canonical(), result["n_outputs"])
    expected = ns.evaluate(model, split.X_test, target, loss_fn)
    assert result["test"]["loss"] == expected["loss"]
    assert result["test"]["accuracy"] == expected["accuracy"]
