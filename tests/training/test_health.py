"""Failures show: divergence beyond NaN, saturation and no progress warn, one class is an error."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nnscratch as ns
from nnscratch.training import health
from nnscratch.training.health import smaller_lr


def _moons(n: int = 200):
    return ns.datasets.load("moons", n_samples=n, noise=0.2, seed=0)


def _net(out: int = 1, last: ns.Module | None = None, seed: int = 0) -> ns.Sequential:
    layers = [ns.Linear(2, 8, rng=seed), ns.Tanh(), ns.Linear(8, out, rng=seed + 1)]
    return ns.Sequential(*layers, *([last] if last is not None else []))


@pytest.mark.parametrize(
    ("loss", "out", "optimizer"),
    [
        (ns.CrossEntropyLoss(), 2, "sgd"),
        (ns.BCEWithLogitsLoss(), 1, "sgd"),
        (ns.BCEWithLogitsLoss(), 1, "adam"),
        (ns.BCEWithLogitsLoss(), 1, "rmsprop"),
        (ns.BCELoss(), 1, "sgd"),
    ],
)
def test_a_huge_learning_rate_is_a_divergence_not_a_result(loss, out, optimizer):
    X, y = _moons()
    model = _net(out, ns.Sigmoid() if isinstance(loss, ns.BCELoss) else None)
    with pytest.raises(ns.DivergenceError, match=r"diverged at epoch \d+.*smaller learning rate") as info:
        ns.fit(model, X, y, loss=loss, optimizer=optimizer, lr=1e6, epochs=50, metrics=None)
    assert "lr=1e+06" in str(info.value)


def test_a_loss_that_grows_a_thousandfold_stops_the_run_naming_the_epoch():
    check = health.HealthCheck(_net(), ns.MSELoss(), 10)
    check.after_epoch(1, 0.5, lr=0.1)
    check.after_epoch(2, 0.5 * health.LOSS_GROWTH_LIMIT, lr=0.1)  # at the limit: still a run
    with pytest.raises(ns.DivergenceError, match=r"epoch 3: the loss grew to 500\.1 from 0\.5"):
        check.after_epoch(3, 0.5 * health.LOSS_GROWTH_LIMIT + 0.1, lr=0.1)


def test_summed_losses_are_compared_per_sample():
    # the same per-sample growth stops a run whatever N is
    for n in (10, 1000):
        check = health.HealthCheck(_net(), ns.MSELoss("sum"), n)
        check.after_epoch(1, 0.5 * n, lr=0.1)
        check.after_epoch(2, 400.0 * n, lr=0.1)
        with pytest.raises(ns.DivergenceError):
            check.after_epoch(3, 600.0 * n, lr=0.1)


def test_weights_that_blow_up_stop_the_run():
    model = _net()
    check = health.HealthCheck(model, ns.MSELoss(), 10)
    check.after_epoch(1, 1.0, lr=0.1)
    model.parameters()[0].data[0, 0] = 1e6
    with pytest.raises(ns.DivergenceError, match=r"epoch 2: the largest weight reached \|θ\| = 1e\+06"):
        check.after_epoch(2, 1.0, lr=0.1)


def test_no_progress_is_a_training_warning():
    X, y = _moons(60)
    with pytest.warns(ns.TrainingWarning, match=r"no progress: the last epoch's loss"):
        ns.fit(_net(), X, y, loss=ns.BCEWithLogitsLoss(), lr=1e-12, epochs=3)


def test_saturated_misclassifying_outputs_warn():
    X, y = _moons(60)
    model = _net(1, ns.Sigmoid())
    model.layers[2].weight.data[:] = 0.0
    model.layers[2].bias.data[:] = 40.0  # sigmoid(40) = 1 - 4e-18 for every sample: all class 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ns.fit(model, X, y, loss=ns.MSELoss(), lr=1e-3, epochs=2)
    messages = [str(w.message) for w in caught if w.category is ns.TrainingWarning]
    assert len(messages) == 2  # the gradient vanished, so the loss did not move either
    assert messages[0].startswith("no progress: the last epoch's loss 0.5 ")
    assert "saturated outputs" in messages[1] and "30 of 60 samples are misclassified" in messages[1]


def test_a_confident_correct_fit_does_not_warn():
    X = np.array([[-1.0], [1.0]] * 10)
    y = np.array([0, 1] * 10)
    model = ns.Sequential(ns.Linear(1, 1, rng=0), ns.Sigmoid())
    with warnings.catch_warnings():
        warnings.simplefilter("error", ns.TrainingWarning)
        ns.fit(model, X, y, loss=ns.BCELoss(), lr=50.0, epochs=300)
    assert ns.evaluate(model, X, y, ns.BCELoss())["accuracy"] == 1.0


@pytest.mark.parametrize("loss", [ns.BCELoss(), ns.CrossEntropyLoss(), ns.MSELoss()])
def test_a_single_class_target_is_a_data_error(loss):
    X = np.random.default_rng(0).normal(size=(20, 2))
    out = 3 if isinstance(loss, ns.CrossEntropyLoss) else 1
    model = _net(out, ns.Sigmoid() if not isinstance(loss, ns.CrossEntropyLoss) else None)
    with pytest.raises(ns.DataError, match=r"single class \(1\) in all 20 samples"):
        ns.fit(model, X, np.ones(20, dtype=int), loss=loss, epochs=1)


def test_verbose_prints_the_loss_before_training_as_epoch_0(capsys):
    X, y = _moons(40)
    model = _net()
    before = ns.evaluate(model, X, y, ns.BCEWithLogitsLoss())["loss"]
    ns.fit(model, X, y, loss=ns.BCEWithLogitsLoss(), lr=0.5, epochs=3, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["epoch", "0", "loss", f"{before:.6g}"]
    assert [line.split()[1] for line in lines] == ["0", "1", "2", "3"]


def test_the_advice_writes_both_rates_in_one_notation():
    assert smaller_lr(1e6) == "Try a smaller learning rate than lr=1e+06, e.g. lr=1e+05."
    assert smaller_lr(0.5) == "Try a smaller learning rate than lr=0.5, e.g. lr=0.05."
