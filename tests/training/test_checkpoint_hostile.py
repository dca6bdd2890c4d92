"""Edited checkpoints: whatever ``fit(resume=)`` could not use, ``load_checkpoint`` refuses first.

Each case is one a tester found passing ``load_checkpoint`` and then crashing the resumed run
with a foreign error (or being accepted silently): now all end in ``ModelFileError`` at load.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

import nnscratch as ns
from helpers.io_files import rewrite, to_bytes
from nnscratch.base.errors import ModelFileError

X = np.random.default_rng(0).normal(size=(20, 3))
Y = (X[:, 0] > 0).astype(float)
OPTIMIZERS = {"adam": ns.Adam, "sgd": ns.SGD, "rmsprop": ns.RMSprop, "adamw": ns.AdamW}


def build(kind: str, **options):
    model = ns.Sequential(ns.Linear(3, 4, rng=0), ns.Tanh(), ns.Linear(4, 1, rng=1))
    return model, OPTIMIZERS[kind](model.parameters(), lr=0.01, **options)


def checkpoint(kind: str, **options) -> bytes:
    model, opt = build(kind, **options)
    ns.fit(model, X, Y, loss=ns.BCEWithLogitsLoss(), optimizer=opt, epochs=2, seed=0)
    state = {"model": model, "optimizer": opt, "rng": np.random.default_rng(1), "epoch": 2}
    return to_bytes(lambda fh: ns.save_checkpoint(fh, state))


def hyper(**changes):
    def edit(header):
        header["optimizer"]["hyperparameters"].update(changes)
        for group in header["optimizer"]["param_groups"]:
            group.update(changes)

    return edit


def optimizer_arrays(fn):
    def edit(arrays):
        for key in [k for k in arrays if k.startswith("optimizer/")]:
            arrays[key] = fn(arrays[key])

    return edit


CASES = {
    "betas has one value": ("adam", {}, hyper(betas=[0.9]), None, "betas must be a pair"),
    "lr is a list": ("adam", {}, hyper(lr=[0.01]), None, "lr must be a number"),
    "eps is a list": ("adam", {}, hyper(eps=[1e-8]), None, "eps must be a number"),
    "weight_decay is a list": ("adam", {}, hyper(weight_decay=[0.0]), None, "weight_decay must be a number"),
    "momentum is a list": ("sgd", {"momentum": 0.9}, hyper(momentum=[0.9]), None, "momentum must be"),
    "dampening is a list": ("sgd", {"momentum": 0.9}, hyper(dampening=[0.0]), None, "dampening must be"),
    "amsgrad flipped on": ("adam", {}, hyper(amsgrad=True), None, "max_exp_avg_sq"),
    "negative lr": ("adam", {}, hyper(lr=-1.0), None, "lr must be a finite number >= 0"),
    "negative eps": ("adam", {}, hyper(eps=-1.0), None, "eps must be a finite number >= 0"),
    "epoch 2**62": ("adam", {}, lambda h: h.update(epoch=2**62), None, "epoch must be an integer in"),
    "step count 2**62": ("adam", {}, lambda h: h["optimizer"].update(step_count=2**62), None, "malformed"),
    "state of shape ()": ("adam", {}, None, optimizer_arrays(lambda a: np.float64(1.0)), "shape ()"),
    "state as float16": ("adam", {}, None, optimizer_arrays(lambda a: a.astype(np.float16)), "<f2"),
    "state big-endian": ("adam", {}, None, optimizer_arrays(lambda a: a.astype(">f8")), ">f8"),
    "state long double": (
        "adam",
        {},
        None,
        optimizer_arrays(lambda a: a.astype(np.longdouble)),
        "expected native",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_load_refuses_what_resume_could_not_use(case, tmp_path):
    kind, options, header_fn, arrays_fn, message = CASES[case]
    blob = rewrite(checkpoint(kind, **options), header_fn, arrays_fn)
    with pytest.raises(ModelFileError, match=message if message.isidentifier() else None) as info:
        ns.load_checkpoint(io.BytesIO(blob))
    assert message in str(info.value)
    path = tmp_path / "edited.ckpt"
    path.write_bytes(blob)
    model, opt = build(kind, **options)
    with pytest.raises(ModelFileError):  # the resumed run says the same, and trains nothing
        ns.fit(model, X, Y, loss=ns.BCEWithLogitsLoss(), optimizer=opt, epochs=5, seed=0, resume=path)


@pytest.mark.parametrize(("kind", "options"), [("adam", {}), ("adam", {"amsgrad": True}),
                                               ("sgd", {"momentum": 0.9, "nesterov": True}),
                                               ("rmsprop", {"centered": True, "momentum": 0.5}),
                                               ("adamw", {"weight_decay": 0.1})])  # fmt: skip
def test_an_unedited_checkpoint_loads_and_resumes_exactly(kind, options, tmp_path):
    path = tmp_path / "run.ckpt"
    path.write_bytes(checkpoint(kind, **options))
    ckpt = ns.load_checkpoint(path)
    assert ckpt.epoch == 2
    resumed, opt = build(kind, **options)
    ns.fit(resumed, X, Y, loss=ns.BCEWithLogitsLoss(), optimizer=opt, epochs=4, seed=0, resume=path)
    straight, opt = build(kind, **options)
    ns.fit(straight, X, Y, loss=ns.BCEWithLogitsLoss(), optimizer=opt, epochs=2, seed=0)
    # the probe step at load left the checkpoint's own weights untouched
    for name, array in ckpt.model.state_dict().items():
        assert np.array_equal(array, straight.state_dict()[name])
    four, opt = build(kind, **options)  # full batch: no shuffling, so 2 + 2 epochs equal 4
    ns.fit(four, X, Y, loss=ns.BCEWithLogitsLoss(), optimizer=opt, epochs=4, seed=0)
    for name, array in four.state_dict().items():
        assert np.array_equal(array, resumed.state_dict()[name])
