"""Checkpoints: an interrupted-and-resumed run ends bit-identical to an uninterrupted one."""

from __future__ import annotations

import inspect
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import nnscratch as ns
from helpers.io_files import rewrite, to_bytes
from helpers.resume_run import EPOCHS, build, data, train
from nnscratch.base.errors import HyperparameterError, ModelFileError
from nnscratch.training.checkpoint import Checkpoint

SRC = str(Path(ns.__file__).resolve().parents[1])
SCRIPT = str(Path(__file__).resolve().parents[1] / "helpers" / "resume_run.py")


def assert_same_run(a, b):
    (model_a, opt_a, hist_a), (model_b, opt_b, hist_b) = a, b
    sa, sb = model_a.state_dict(), model_b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert sa[key].tobytes() == sb[key].tobytes(), f"parameter {key} differs"
    da, db = opt_a.state_dict(), opt_b.state_dict()
    assert da["step_count"] == db["step_count"] and da["hyperparameters"] == db["hyperparameters"]
    for ea, eb in zip(da["state"], db["state"], strict=True):
        assert ea.keys() == eb.keys()
        assert all(ea[k].tobytes() == eb[k].tobytes() for k in ea)
    assert hist_a.to_dict() == hist_b.to_dict()


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_a_killed_run_resumes_bit_identically(kind, tmp_path):
    path = tmp_path / "run.ckpt"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, str(Path(SCRIPT).parent)])}
    proc = subprocess.Popen([sys.executable, SCRIPT, str(path), kind], env=env, stdout=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not path.exists():
            assert proc.poll() is None, "the training process ended before writing a checkpoint"
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.005)
        time.sleep(0.12)  # a few more epochs (and maybe a kill in the middle of writing one)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
    assert proc.returncode == -signal.SIGKILL and b"finished" not in out
    saved = ns.load_checkpoint(path)
    assert 0 < saved.epoch < EPOCHS
    assert len(saved.history) == saved.epoch
    assert saved.optimizer_state["step_count"] == saved.epoch * 7  # 64 samples in batches of 10

    resumed = train(kind, resume=path)
    uninterrupted = train(kind)
    assert_same_run(resumed, uninterrupted)
    # and resuming twice from the same file gives the same again
    assert_same_run(train(kind, resume=path), uninterrupted)


class Crash(Exception):
    pass


class Noisy(ns.Module):
    """A layer with its own generator (like dropout): its stream must resume too."""

    def __init__(self, scale: float = 0.1) -> None:
        super().__init__()
        self.scale = scale
        self.noise_rng = np.random.default_rng(7)

    def forward(self, x):
        if self.training:
            return x + self.scale * self.noise_rng.standard_normal(x.shape)
        return x

    def backward(self, grad_out, *, input_grad=True):
        return grad_out


ns.io.register_layer(Noisy)


def test_layer_generators_and_schedulers_resume_too(tmp_path):
    X, y = data()

    def run(stop_at=None, resume=None):
        model = ns.Sequential(ns.Linear(4, 8, rng=1), Noisy(), ns.ReLU(), ns.Linear(8, 2, rng=2))
        opt = ns.RMSprop(model.parameters(), lr=0.01, momentum=0.5, centered=True)
        sched = ns.StepLR(opt, step_size=3, gamma=0.5)
        rng = np.random.default_rng(5)
        state = {"model": model, "optimizer": opt, "scheduler": sched, "rng": rng, "epoch": 0}
        history = ns.History()
        state["history"] = history
        if resume is not None:
            ckpt = ns.load_checkpoint(resume)
            fit_state = ns.FitState(model, opt, ns.CrossEntropyLoss(), history, rng, 12)
            fit_state.scheduler = sched
            ckpt.restore(fit_state)
            state["epoch"] = fit_state.epoch
        loss = ns.CrossEntropyLoss()
        for epoch in range(state["epoch"] + 1, 13):
            order = rng.permutation(len(X))
            for i in range(0, len(X), 16):
                idx = order[i : i + 16]
                value = loss(model(X[idx]), y[idx])
                opt.zero_grad()
                model.backward(loss.backward())
                opt.step()
            sched.step()
            history.append(epoch, loss=value)
            state["epoch"] = epoch
            ns.save_checkpoint(tmp_path / "manual.ckpt", state)
            if epoch == stop_at:
                raise Crash
        return model, opt, history

    with pytest.raises(Crash):
        run(stop_at=5)
    ckpt = ns.load_checkpoint(tmp_path / "manual.ckpt")
    assert ckpt.epoch == 5 and ckpt.scheduler_state["last_epoch"] == 5
    assert set(ckpt.module_rng_states) == {"1.noise_rng"}
    assert_same_run(run(resume=tmp_path / "manual.ckpt"), run())


def test_fit_resume_after_a_crash_in_process(tmp_path):
    path = tmp_path / "run.ckpt"

    def crash(state, logs):
        if state.epoch == 11:
            raise Crash

    with pytest.raises(Crash):
        train("adam", checkpoint=path, checkpoint_every=5, callbacks=[crash])
    assert ns.load_checkpoint(path).epoch == 10
    assert_same_run(train("adam", resume=path), train("adam"))


def test_model_checkpoint_callback(tmp_path):
    X, y = data()
    model, opt = build("sgd")
    every = ns.ModelCheckpoint(tmp_path / "e-{epoch:03d}.ckpt", every=3)
    best = ns.ModelCheckpoint(tmp_path / "best.ckpt", save_best_only=True, monitor="accuracy")
    ns.fit(model, X, y, loss=ns.CrossEntropyLoss(), optimizer=opt, epochs=7, callbacks=[every, best])
    assert sorted(p.name for p in tmp_path.glob("e-*")) == ["e-003.ckpt", "e-006.ckpt", "e-007.ckpt"]
    assert best.mode == "max" and best.best == max(ns.load_checkpoint(best.saved[-1]).history["accuracy"])
    last = ns.load_checkpoint(tmp_path / "e-007.ckpt")
    assert last.epoch == 7 and isinstance(last, Checkpoint)
    x = X[:5]
    assert np.array_equal(last.model(x), model(x))
    with pytest.raises(HyperparameterError, match="every"):
        ns.ModelCheckpoint(tmp_path / "x", every=0)
    with pytest.raises(HyperparameterError, match="mode"):
        ns.ModelCheckpoint(tmp_path / "x", mode="up")
    missing = ns.ModelCheckpoint(tmp_path / "x", save_best_only=True, monitor="val_loss")
    with pytest.raises(HyperparameterError, match=r"val_loss.*Available"):
        ns.fit(model, X, y, loss=ns.CrossEntropyLoss(), optimizer=opt, epochs=1, callbacks=[missing])


def test_model_checkpoint_makes_the_folders_of_its_pattern(tmp_path):
    X, y = data()
    model, opt = build("sgd")
    every = ns.ModelCheckpoint(tmp_path / "ckpt" / "deep" / "run-{epoch}.ckpt", every=2)
    ns.fit(model, X, y, loss=ns.CrossEntropyLoss(), optimizer=opt, epochs=3, callbacks=[every])
    assert sorted(p.name for p in (tmp_path / "ckpt" / "deep").iterdir()) == ["run-2.ckpt", "run-3.ckpt"]


# -- refusals ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def valid() -> bytes:
    X, y = data()
    model, opt = build("adam")
    ns.fit(model, X, y, loss=ns.CrossEntropyLoss(), optimizer=opt, epochs=2, batch_size=16, seed=1)
    state = {"model": model, "optimizer": opt, "rng": np.random.default_rng(3), "epoch": 2}
    return to_bytes(lambda fh: ns.save_checkpoint(fh, state))


def fit_state(kind="adam"):
    model, opt = build(kind)
    return ns.FitState(model, opt, ns.CrossEntropyLoss(), ns.History(), np.random.default_rng(0), 5)


def test_the_valid_checkpoint_restores(valid):
    state = fit_state()
    ns.load_checkpoint(io.BytesIO(valid)).restore(state)
    assert state.epoch == 2 and state.optimizer.step_count == 2 * 4


def _opt(mutate):
    def inner(h):
        mutate(h["optimizer"])

    return inner


CASES = {
    "model file given": (lambda h: h.update(format="nnscratch-model"), "use nnscratch.load"),
    "future": (lambda h: h.update(format_version=9), "newer nnscratch"),
    "unknown field": (lambda h: h.update(code="x"), "unknown fields"),
    "epoch": (lambda h: h.update(epoch=-1), "epoch"),
    "rng kind": (lambda h: h["rng"].update(bit_generator="Evil"), "unknown bit generator"),
    "rng state": (lambda h: h["rng"].update(state="x"), "invalid"),
    "optimizer fields": (_opt(lambda o: o.pop("params")), "exactly the fields"),
    "optimizer param": (_opt(lambda o: o["params"].__setitem__(0, "9.weight")), "malformed"),
    "optimizer step": (_opt(lambda o: o.update(step_count=-3)), "malformed"),
    "optimizer keys": (_opt(lambda o: o["state_keys"]["0.weight"].append("evil")), r"holds state \['evil'"),
    "model arch": (lambda h: h["model"]["architecture"].update(type="Evil"), "unknown layer type"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_checkpoints_are_refused(valid, case):
    mutate, message = CASES[case]
    with pytest.raises(ModelFileError, match=message):
        ns.load_checkpoint(io.BytesIO(rewrite(valid, mutate)))


def test_a_refused_restore_leaves_the_run_untouched(valid):
    def add_generator(h):
        h["module_rngs"] = {"9.noise": h["rng"]}  # a valid state, for a layer this model lacks

    ckpt = ns.load_checkpoint(io.BytesIO(rewrite(valid, add_generator)))
    state = fit_state()
    X, y = data()
    ns.fit(state.model, X, y, loss=state.loss, optimizer=state.optimizer, epochs=1, seed=state.rng)
    state.history.append(1, loss=0.5)
    state.epoch = 1
    before = (state.model.state_dict(), state.optimizer.state_dict(), state.rng.bit_generator.state)
    with pytest.raises(ModelFileError, match=r"no random generator '9\.noise'"):
        ckpt.restore(state)
    model_sd, opt_sd, rng_state = before
    assert all(np.array_equal(v, state.model.state_dict()[k]) for k, v in model_sd.items())
    after = state.optimizer.state_dict()
    assert (
        after["step_count"] == opt_sd["step_count"] and after["hyperparameters"] == opt_sd["hyperparameters"]
    )
    assert all(
        np.array_equal(a[k], b[k]) for a, b in zip(after["state"], opt_sd["state"], strict=True) for k in a
    )
    assert state.rng.bit_generator.state == rng_state
    assert state.epoch == 1 and state.history.to_dict() == {"epoch": [1], "loss": [0.5]}


def test_restore_checks_the_run_matches(valid):
    ckpt = ns.load_checkpoint(io.BytesIO(valid))
    with pytest.raises(ModelFileError, match="holds Adam state"):
        ckpt.restore(fit_state("sgd"))
    state = fit_state()
    state.model = ns.Sequential(ns.Linear(4, 16), ns.ReLU(), ns.Linear(16, 2))
    with pytest.raises(ModelFileError, match="different architecture"):
        ckpt.restore(state)
    evil = io.BytesIO(rewrite(valid, _opt(lambda o: o["hyperparameters"].update(params=1))))
    with pytest.raises(ModelFileError, match="'params', which Adam does not take"):
        ns.load_checkpoint(evil)  # refused when loading, not only when restoring
    with pytest.raises(ModelFileError, match="load_checkpoint"):
        ns.load(io.BytesIO(valid))
    arrays_gone = rewrite(valid, arrays_fn=lambda a: a.pop("optimizer/0.weight/exp_avg"))
    with pytest.raises(ModelFileError, match="missing"):
        ns.load_checkpoint(io.BytesIO(arrays_gone))
    nan = rewrite(valid, arrays_fn=lambda a: a["optimizer/0.bias/exp_avg_sq"].__setitem__(0, np.nan))
    with pytest.raises(ModelFileError, match="NaN"):
        ns.load_checkpoint(io.BytesIO(nan))


class StepEveryEpoch(ns.Callback):
    """A scheduler stepped by a callback, as ``fit(scheduler=...)`` does it."""

    def __init__(self, scheduler):
        self.scheduler = scheduler

    def on_epoch_end(self, state, logs):
        self.scheduler.step()


def _scheduled_run(tmp_path, *, crash_at=None, resume=False):
    X, y = data()
    model, opt = build("sgd")
    sched = ns.StepLR(opt, step_size=4, gamma=0.5)
    saver = ns.ModelCheckpoint(tmp_path / "s.ckpt", every=3)

    def crash(state, logs):
        if state.epoch == crash_at:
            raise Crash

    # the saver is listed first: fit must still save after the scheduler has stepped
    callbacks = [saver, StepEveryEpoch(sched), crash]
    history = ns.fit(
        model, X, y, loss=ns.CrossEntropyLoss(), optimizer=opt, epochs=14, batch_size=16, seed=9,
        callbacks=callbacks, resume=tmp_path / "s.ckpt" if resume else None,
    )  # fmt: skip
    return model, opt, history


def test_a_callback_stepped_scheduler_resumes_exactly(tmp_path):
    with pytest.raises(Crash):
        _scheduled_run(tmp_path, crash_at=8)
    saved = ns.load_checkpoint(tmp_path / "s.ckpt")
    assert saved.epoch == 6 and saved.scheduler_state["last_epoch"] == 6
    assert saved.optimizer_state["hyperparameters"]["lr"] == 0.05 * 0.5  # already stepped for epoch 6
    resumed = _scheduled_run(tmp_path, resume=True)
    assert resumed[1].lr == 0.05 * 0.5**3
    (tmp_path / "reference").mkdir()
    assert_same_run(resumed, _scheduled_run(tmp_path / "reference"))


@pytest.mark.skipif("scheduler" not in inspect.signature(ns.fit).parameters, reason="fit has no scheduler=")
def test_fit_scheduler_argument_resumes_exactly(tmp_path):
    X, y = data()

    def run(**kw):
        model, opt = build("adam")
        history = ns.fit(
            model, X, y, loss=ns.CrossEntropyLoss(), optimizer=opt, epochs=12, batch_size=16, seed=4,
            scheduler=lambda o: ns.ExponentialLR(o, gamma=0.8), **kw,
        )  # fmt: skip
        return model, opt, history

    def crash(state, logs):
        if state.epoch == 7:
            raise Crash

    with pytest.raises(Crash):
        run(checkpoint=tmp_path / "f.ckpt", callbacks=[crash])
    saved = ns.load_checkpoint(tmp_path / "f.ckpt")  # epoch 7 crashed before its checkpoint
    assert saved.epoch == 6 and saved.scheduler_state["last_epoch"] == 6
    assert_same_run(run(resume=tmp_path / "f.ckpt"), run())
