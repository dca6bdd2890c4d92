"""Callbacks: early stopping with best-weight restore, LR schedules, progress bars."""

import io

import numpy as np
import pytest

import nnscratch as ns
from nnscratch.base.errors import DivergenceError, DTypeError, HyperparameterError
from nnscratch.training.callbacks import EarlyStopping, LambdaCallback, LRSchedulerCallback, ProgressBar


def net(seed=0):
    return ns.Sequential(ns.Linear(2, 4, rng=seed), ns.Tanh(), ns.Linear(4, 1, rng=seed + 1), ns.Sigmoid())


def scripted_run(scores, es, epochs=None):
    """Train XOR while a callback feeds ``scores`` into the record as ``"score"``; return the
    history, the model, and a snapshot of the weights after every epoch."""
    X, y = ns.datasets.load("xor")
    model = net()
    snapshots = {}

    def feed(state, logs):
        logs["score"] = scores[state.epoch - 1]
        snapshots[state.epoch] = state.model.state_dict()

    h = ns.fit(
        model,
        X,
        y,
        loss=ns.BCELoss(),
        lr=0.5,
        epochs=epochs or len(scores),
        callbacks=[feed, es],
        metrics=None,
    )
    return h, model, snapshots


def same_weights(model, state):
    return all(np.array_equal(v, state[k]) for k, v in model.state_dict().items())


def test_early_stopping_stops_after_patience_and_restores_the_best_epoch():
    es = EarlyStopping(monitor="score", patience=2, mode="min")
    h, model, snaps = scripted_run([5.0, 4.0, 3.0, 3.5, 3.6, 2.0, 1.0], es)
    assert len(h) == 5 and es.stopped_epoch == 5  # epochs 4 and 5 did not improve on epoch 3
    assert es.best == 3.0 and es.best_epoch == 3
    assert same_weights(model, snaps[3]) and not same_weights(model, snaps[5])


def test_early_stopping_without_restore_keeps_the_last_weights():
    es = EarlyStopping(monitor="score", patience=1, restore_best_weights=False)
    h, model, snaps = scripted_run([1.0, 2.0, 0.5], es)
    assert len(h) == 2 and same_weights(model, snaps[2])


def test_early_stopping_restores_best_even_when_it_never_stops():
    es = EarlyStopping(monitor="score", patience=10)
    h, model, snaps = scripted_run([3.0, 1.0, 2.0, 2.5], es)
    assert len(h) == 4 and es.stopped_epoch == 0 and es.best_epoch == 2
    assert same_weights(model, snaps[2])


def test_early_stopping_min_delta_and_max_mode():
    es = EarlyStopping(monitor="score", patience=2, min_delta=0.1)
    h, _, _ = scripted_run([1.0, 0.95, 0.92, 0.5], es)  # 0.95 and 0.92 are within min_delta
    assert len(h) == 3 and es.best == 1.0
    es_max = EarlyStopping(monitor="val_accuracy", patience=1)
    assert es_max.mode == "max" and EarlyStopping(monitor="val_loss").mode == "min"
    assert EarlyStopping(monitor="f1").mode == "max"
    up = EarlyStopping(monitor="score", patience=1, mode="max")
    h, _, _ = scripted_run([0.1, 0.2, 0.15, 0.9], up)
    assert len(h) == 3 and up.best == 0.2


def test_early_stopping_on_real_validation_loss_restores_the_best_model():
    ds = ns.datasets.load("moons", n_samples=60, noise=0.35, seed=3)
    train, val = ds.split(0.5, seed=0)
    model = ns.Sequential(ns.Linear(2, 32, rng=0), ns.Tanh(), ns.Linear(32, 1, rng=1), ns.Sigmoid())
    es = EarlyStopping(monitor="val_loss", patience=5)
    h = ns.fit(
        model,
        *train,
        loss=ns.BCELoss(),
        optimizer="adam",
        lr=0.05,
        epochs=300,
        validation_data=tuple(val),
        callbacks=[es],
    )
    assert min(h["val_loss"]) == es.best == h["val_loss"][es.best_epoch - 1]
    assert ns.BCELoss()(model(val.X), val.y) == pytest.approx(es.best, rel=1e-12)
    assert len(h) < 300  # this small, noisy set overfits: training stops early
    assert es.stopped_epoch == len(h)


def test_early_stopping_explains_a_missing_monitor():
    X, y = ns.datasets.load("xor")
    with pytest.raises(
        HyperparameterError, match=r"monitors 'val_loss'.*pass validation_data.*Recorded: loss"
    ):
        ns.fit(net(), X, y, loss=ns.BCELoss(), epochs=3, callbacks=[EarlyStopping()])


def test_early_stopping_validates_its_arguments():
    with pytest.raises(HyperparameterError, match="patience"):
        EarlyStopping(patience=-1)
    with pytest.raises(HyperparameterError, match="mode"):
        EarlyStopping(mode="best")
    with pytest.raises(HyperparameterError, match="min_delta"):
        EarlyStopping(min_delta=-0.1)


def test_early_stopping_state_resets_between_runs():
    es = EarlyStopping(monitor="score", patience=1)
    scripted_run([1.0, 2.0, 3.0], es)
    assert es.stopped_epoch == 2
    h, _, _ = scripted_run([3.0, 2.0, 1.0], es)
    assert len(h) == 3 and es.stopped_epoch == 0 and es.best == 1.0


def test_lr_scheduler_callback_directly():
    X, y = ns.datasets.load("xor")
    model = net()
    opt = ns.SGD(model.parameters(), lr=0.8)
    cb = LRSchedulerCallback(ns.MultiStepLR(opt, milestones=[2, 3], gamma=0.5))
    h = ns.fit(model, X, y, loss=ns.BCELoss(), optimizer=opt, epochs=4, callbacks=[cb])
    assert h["lr"] == [0.8, 0.8, 0.4, 0.2]
    with pytest.raises(DTypeError, match="LRScheduler"):
        LRSchedulerCallback(opt)


def test_progress_bar_shows_metrics_and_closes_on_error():
    X, y = ns.datasets.load("xor")
    buf = io.StringIO()
    bar = ProgressBar(file=buf, mininterval=0)
    ns.fit(net(), X, y, loss=ns.BCELoss(), lr=0.5, epochs=3, callbacks=[bar], validation_data=(X, y))
    text = buf.getvalue()
    assert "3/3" in text and "loss=" in text and "val_accuracy=" in text
    assert bar.bar is None  # closed
    boom = LambdaCallback(lambda state, logs: (_ for _ in ()).throw(DivergenceError("stop")))
    bar2 = ProgressBar(file=io.StringIO())
    with pytest.raises(DivergenceError):
        ns.fit(net(), X, y, loss=ns.BCELoss(), epochs=3, callbacks=[bar2, boom])
    assert bar2.bar is None


def test_progress_bar_can_be_disabled():
    X, y = ns.datasets.load("xor")
    buf = io.StringIO()
    ns.fit(net(), X, y, loss=ns.BCELoss(), epochs=3, callbacks=[ProgressBar(file=buf, disable=True)])
    assert buf.getvalue() == ""


def test_plain_functions_and_bad_callbacks():
    X, y = ns.datasets.load("xor")
    seen = []
    ns.fit(
        net(),
        X,
        y,
        loss=ns.BCELoss(),
        epochs=3,
        callbacks=[lambda s, logs: seen.append((s.epoch, logs["loss"]))],
    )
    assert [e for e, _ in seen] == [1, 2, 3]
    with pytest.raises(DTypeError, match="callbacks must be"):
        ns.fit(net(), X, y, loss=ns.BCELoss(), epochs=1, callbacks=[42])
