"""Every checkpoint field is checked when loading: what ``fit(resume=...)`` could not use is refused
by ``load_checkpoint`` with a ModelFileError naming the field (issue #18)."""

from __future__ import annotations

import io

import numpy as np
import pytest

import nnscratch as ns
from helpers.io_files import rewrite, to_bytes
from helpers.resume_run import build, data
from nnscratch.base.errors import ModelFileError, StateDictError


def _checkpoint(kind: str) -> bytes:
    X, y = data()
    model, opt = build("sgd" if kind == "rmsprop" else kind)
    if kind == "rmsprop":
        opt = ns.RMSprop(model.parameters(), lr=0.01, momentum=0.5)
    sched = ns.StepLR(opt, step_size=2)
    ns.fit(model, X, y, loss=ns.CrossEntropyLoss(), optimizer=opt, epochs=2, batch_size=16, seed=1)
    state = {
        "model": model,
        "optimizer": opt,
        "scheduler": sched,
        "rng": np.random.default_rng(3),
        "epoch": 2,
    }
    return to_bytes(lambda fh: ns.save_checkpoint(fh, state))


@pytest.fixture(scope="module")
def valid() -> dict[str, bytes]:
    return {kind: _checkpoint(kind) for kind in ("sgd", "adam", "rmsprop")}


def hyper(key, value, where="both"):
    def edit(h):
        opt = h["optimizer"]
        targets = [opt["hyperparameters"]] if where != "group" else []
        targets += opt["param_groups"] if where != "top" else []
        for target in targets:
            target[key] = value

    return edit


def array(key, fn):
    def edit(arrays):
        arrays[key] = fn(arrays[key])

    return edit


W = "optimizer/0.weight/exp_avg"
CASES = {
    "adam betas of one": ("adam", hyper("betas", [0.9]), None, r"'betas' must be a list of 2"),
    "adam lr list": ("adam", hyper("lr", [0.01]), None, r"'lr' must be a finite number"),
    "adam lr list, top only": ("adam", hyper("lr", [0.01], "top"), None, r"'lr' must be a finite number"),
    "adam eps list": ("adam", hyper("eps", [1e-8]), None, r"'eps' must be a finite number"),
    "adam weight_decay list": ("adam", hyper("weight_decay", [0.0]), None, "'weight_decay' must be"),
    "sgd momentum list": ("sgd", hyper("momentum", [0.9]), None, r"'momentum' must be a finite number"),
    "sgd dampening list": ("sgd", hyper("dampening", [0.0]), None, r"'dampening' must be a finite number"),
    "sgd nesterov string": ("sgd", hyper("nesterov", "yes"), None, "'nesterov' must be true or false"),
    "adam amsgrad flipped": ("adam", hyper("amsgrad", True), None, r"needs \['exp_avg', 'exp_avg_sq', 'max"),
    "adam amsgrad number": ("adam", hyper("amsgrad", 1), None, "'amsgrad' must be true or false"),
    "rmsprop centered flipped": ("rmsprop", hyper("centered", True), None, r"needs \['grad_avg'"),
    "adam lr negative": ("adam", hyper("lr", -1), None, r"lr must be a finite number >= 0"),
    "adam lr negative in a group": ("adam", hyper("lr", -1, "group"), None, r"param_groups\[0\]: lr must"),
    "adam eps negative": ("adam", hyper("eps", -1), None, r"eps must be a finite number >= 0"),
    "adam beta of one": ("adam", hyper("betas", [0.9, 1.0]), None, r"betas\[1\] must be in \[0.0, 1.0\)"),
    "sgd momentum negative": ("sgd", hyper("momentum", -0.5), None, "momentum must be a finite number >= 0"),
    "sgd weight_decay negative": ("sgd", hyper("weight_decay", -1), None, "weight_decay must be"),
    "sgd unknown hyperparameter": (
        "sgd",
        hyper("betas", [0.9, 0.9]),
        None,
        "'betas', which SGD does not take",
    ),
    "epoch 2**62": ("adam", lambda h: h.update(epoch=2**62), None, r"epoch must be an integer in \[0, "),
    "step count 2**62": ("adam", lambda h: h["optimizer"].update(step_count=2**62), None, "step_count"),
    "scheduler epoch": ("adam", lambda h: h["scheduler"].update(last_epoch=-4), None, "last_epoch"),
    "scheduler rates": ("adam", lambda h: h["scheduler"].update(base_lrs=[-1.0]), None, "base_lrs"),
    "state of shape ()": ("adam", None, array(W, lambda a: a[0, 0]), r"shape \(\) and dtype <f8; expected"),
    "state float16": ("adam", None, array(W, lambda a: a.astype(np.float16)), "dtype <f2"),
    "state big-endian": ("adam", None, array(W, lambda a: a.astype(">f8")), "dtype >f8"),
    "state long double": ("adam", None, array(W, lambda a: a.astype(np.longdouble)), "native byte order"),
    "state float32 for float64": ("adam", None, array(W, lambda a: a.astype(np.float32)), "dtype <f4"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_load_checkpoint_refuses_what_resume_could_not_use(valid, case, tmp_path):
    kind, header_fn, arrays_fn, message = CASES[case]
    blob = rewrite(valid[kind], header_fn, arrays_fn)
    with pytest.raises(ModelFileError, match=message):
        ns.load_checkpoint(io.BytesIO(blob))
    path = tmp_path / "c.ckpt"
    path.write_bytes(blob)
    X, y = data()
    model, opt = build("sgd" if kind == "rmsprop" else kind)
    if kind == "rmsprop":
        opt = ns.RMSprop(model.parameters(), lr=0.01, momentum=0.5)
    with pytest.raises(ModelFileError, match=message):  # the same message from fit, not a crash
        ns.fit(model, X, y, loss=ns.CrossEntropyLoss(), optimizer=opt, epochs=3, resume=path)


def test_the_untouched_checkpoints_resume(valid, tmp_path):
    X, y = data()
    for kind, blob in valid.items():
        (tmp_path / kind).write_bytes(blob)
        model, opt = build("sgd" if kind == "rmsprop" else kind)
        if kind == "rmsprop":
            opt = ns.RMSprop(model.parameters(), lr=0.01, momentum=0.5)
        history = ns.fit(
            model, X, y, loss=ns.CrossEntropyLoss(), optimizer=opt, epochs=3, resume=tmp_path / kind
        )
        assert history.epoch == [3]  # epochs 1-2 came from the checkpoint (saved without history)


def test_optimizer_load_state_dict_refuses_state_a_step_could_not_use():
    model, opt = build("adam")
    X, y = data()
    ns.fit(model, X, y, loss=ns.CrossEntropyLoss(), optimizer=opt, epochs=1)
    state = opt.state_dict()
    scalar = {**state, "state": [{k: np.float64(0.5) for k in s} for s in state["state"]]}
    with pytest.raises(StateDictError, match=r"shape \(\)"):
        opt.load_state_dict(scalar)
    flipped = {**state, "param_groups": [{**g, "amsgrad": True} for g in state["param_groups"]]}
    with pytest.raises(StateDictError, match="max_exp_avg_sq"):
        opt.load_state_dict(flipped)
    opt.load_state_dict(state)  # the untouched state still loads
