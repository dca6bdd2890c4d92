"""Checkpoints of optimizers with parameter groups: exact resume, and groups that must match."""

from __future__ import annotations

import io

import numpy as np
import pytest

import nnscratch as ns
from helpers.io_files import rewrite, to_bytes
from helpers.resume_run import data
from nnscratch.base.errors import ModelFileError


class Crash(Exception):
    pass


def build(kind: str) -> tuple[ns.Sequential, ns.Optimizer]:
    """The resume tests' model, its biases in a group of their own (no decay, another rate)."""
    model = ns.Sequential(ns.Linear(4, 16, rng=1), ns.Tanh(), ns.Linear(16, 2, rng=2))
    named = list(model.named_parameters())
    groups = [
        {"params": [p for n, p in named if not n.endswith("bias")]},
        {"params": [p for n, p in named if n.endswith("bias")], "weight_decay": 0.0, "lr": 0.02},
    ]
    if kind == "sgd":
        return model, ns.SGD(groups, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2)
    return model, ns.AdamW(groups, lr=0.01, weight_decay=0.1)


def run(kind: str, **kwargs):
    X, y = data()
    model, opt = build(kind)
    history = ns.fit(
        model, X, y, loss=ns.CrossEntropyLoss(), optimizer=opt, epochs=10, batch_size=16, seed=4,
        scheduler=lambda o: ns.StepLR(o, step_size=3, gamma=0.5), **kwargs,
    )  # fmt: skip
    return model, opt, history


def assert_same_run(a, b) -> None:
    (model_a, opt_a, hist_a), (model_b, opt_b, hist_b) = a, b
    for (key, va), vb in zip(model_a.state_dict().items(), model_b.state_dict().values(), strict=True):
        assert va.tobytes() == vb.tobytes(), f"parameter {key} differs"
    da, db = opt_a.state_dict(), opt_b.state_dict()
    assert da["step_count"] == db["step_count"] and da["param_groups"] == db["param_groups"]
    for ea, eb in zip(da["state"], db["state"], strict=True):
        assert ea.keys() == eb.keys() and all(ea[k].tobytes() == eb[k].tobytes() for k in ea)
    assert hist_a.to_dict() == hist_b.to_dict()


@pytest.mark.parametrize("kind", ["sgd", "adamw"])
def test_a_run_with_groups_and_a_schedule_resumes_bit_identically(kind, tmp_path):
    path = tmp_path / "groups.ckpt"

    def crash(state, logs):
        if state.epoch == 7:
            raise Crash

    with pytest.raises(Crash):
        run(kind, checkpoint=path, callbacks=[crash])
    saved = ns.load_checkpoint(path)
    assert saved.epoch == 6
    groups = saved.optimizer_state["param_groups"]
    assert [g["params"] for g in groups] == [["0.weight", "2.weight"], ["0.bias", "2.bias"]]
    assert [g["lr"] for g in groups] == [saved.optimizer_state["hyperparameters"]["lr"], 0.02 * 0.5**2]
    assert [g["weight_decay"] for g in groups][1] == 0.0
    resumed = run(kind, resume=path)
    assert [g["lr"] for g in resumed[1].param_groups][1] == 0.02 * 0.5**3
    assert_same_run(resumed, run(kind))


@pytest.fixture(scope="module")
def grouped_checkpoint() -> bytes:
    X, y = data()
    model, opt = build("sgd")
    ns.fit(model, X, y, loss=ns.CrossEntropyLoss(), optimizer=opt, epochs=2, batch_size=16, seed=1)
    return to_bytes(lambda fh: ns.save_checkpoint(fh, {"model": model, "optimizer": opt, "epoch": 2}))


def fit_state(model, opt) -> ns.FitState:
    return ns.FitState(model, opt, ns.CrossEntropyLoss(), ns.History(), np.random.default_rng(0), 5)


def test_restoring_into_other_groups_is_refused(grouped_checkpoint):
    ckpt = ns.load_checkpoint(io.BytesIO(grouped_checkpoint))
    model, _ = build("sgd")
    one_group = ns.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2)
    with pytest.raises(ModelFileError, match=r"parameter groups .* do not match the checkpoint's"):
        ckpt.restore(fit_state(model, one_group))
    assert one_group.step_count == 0 and len(one_group.param_groups) == 1


def test_a_group_hyperparameter_the_optimizer_lacks_is_refused(grouped_checkpoint):
    def add_key(h):
        h["optimizer"]["param_groups"][1]["betas"] = [0.9, 0.99]

    with pytest.raises(ModelFileError, match=r"param_groups\[1\] has 'betas', which SGD does not take"):
        ns.load_checkpoint(io.BytesIO(rewrite(grouped_checkpoint, add_key)))  # refused before any run


@pytest.mark.parametrize(
    "mutate",
    [
        lambda g: g.pop(),  # a parameter in no group
        lambda g: g[1]["params"].append("0.weight"),  # in two groups
        lambda g: g.append({"params": []}),  # an empty group
        lambda g: g[0].update(params="0.weight"),  # not a list
    ],
    ids=["missing", "twice", "empty", "not a list"],
)
def test_malformed_groups_in_a_checkpoint_are_refused(grouped_checkpoint, mutate):
    def damage(header):
        mutate(header["optimizer"]["param_groups"])  # in place (rewrite takes a returned value instead)

    damaged = rewrite(grouped_checkpoint, damage)
    with pytest.raises(ModelFileError, match="optimizer header is malformed"):
        ns.load_checkpoint(io.BytesIO(damaged))


def test_a_checkpoint_from_before_groups_restores_into_one_group():
    X, y = data()
    model = ns.Sequential(ns.Linear(4, 16, rng=1), ns.Tanh(), ns.Linear(16, 2, rng=2))
    opt = ns.SGD(model.parameters(), lr=0.05, momentum=0.9)
    ns.fit(model, X, y, loss=ns.CrossEntropyLoss(), optimizer=opt, epochs=1, batch_size=16, seed=1)
    blob = to_bytes(lambda fh: ns.save_checkpoint(fh, {"model": model, "optimizer": opt, "epoch": 1}))
    older = rewrite(blob, lambda h: h["optimizer"].pop("param_groups") and None)  # None: h edited in place
    fresh = ns.Sequential(ns.Linear(4, 16, rng=1), ns.Tanh(), ns.Linear(16, 2, rng=2))
    fresh_opt = ns.SGD(fresh.parameters(), lr=0.5)
    ns.load_checkpoint(io.BytesIO(older)).restore(fit_state(fresh, fresh_opt))
    assert fresh_opt.lr == 0.05 and fresh_opt.momentum == 0.9 and fresh_opt.step_count == 4
    for a, b in zip(fresh_opt.state, opt.state, strict=True):
        np.testing.assert_array_equal(a["momentum_buffer"], b["momentum_buffer"])
