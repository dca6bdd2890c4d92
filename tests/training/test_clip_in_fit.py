"""``fit(clip_grad_norm=)`` and ``[training] clip_grad_norm``: every step's gradients scaled as
``ns.clip_grad_norm_`` scales them, before the optimizer reads them."""

from __future__ import annotations

import numpy as np
import pytest

import nnscratch as ns
from nnscratch.base.errors import ConfigError, HyperparameterError
from nnscratch.experiments.config import load_config
from nnscratch.experiments.sweep import run_point


def net(seed: int = 0) -> ns.Sequential:
    return ns.Sequential(ns.Linear(3, 8, rng=seed), ns.Tanh(), ns.Linear(8, 2, rng=seed + 1))


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3)) * 5  # large inputs: large gradients, so clipping acts
    return X, (X[:, 0] > 0).astype(int)


@pytest.mark.parametrize("max_norm", [0.05, 0.3, 100.0])
def test_fit_clips_like_the_manual_loop(max_norm):
    X, y = data()
    model = net()
    ns.fit(model, X, y, loss=ns.CrossEntropyLoss(), optimizer=ns.SGD(model.parameters(), lr=0.5),
           epochs=3, batch_size=5, shuffle=False, clip_grad_norm=max_norm)  # fmt: skip
    manual = net()
    opt, loss, norms = ns.SGD(manual.parameters(), lr=0.5), ns.CrossEntropyLoss(), []
    for _ in range(3):
        for i in range(0, 20, 5):
            loss(manual.forward(X[i : i + 5].astype(float)), y[i : i + 5])
            opt.zero_grad()
            manual.backward(loss.backward(), input_grad=False)
            norms.append(ns.clip_grad_norm_(manual.parameters(), max_norm))
            opt.step()
    for a, b in zip(model.parameters(), manual.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    assert (max(norms) > max_norm) == (max_norm < 100.0)  # the small limits did clip


def test_refusals():
    X, y = data()
    with pytest.raises(HyperparameterError, match="clip_grad_norm"):
        ns.fit(net(), X, y, loss=ns.CrossEntropyLoss(), optimizer="sgd", lr=0.1, epochs=1, clip_grad_norm=0)


def test_experiment_files_take_it(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text(
        '[data]\ndataset = "moons"\nparams = { n_samples = 40 }\n\n[model]\nhidden = [4]\n\n'
        '[optimizer]\nname = "sgd"\nlr = 1.0\n\n[training]\nepochs = 3\nbatch_size = 8\n'
    )
    runs = {}
    for clip in (None, 0.01):
        cfg = load_config(path, [] if clip is None else [f"training.clip_grad_norm={clip}"])
        runs[clip] = run_point(cfg.to_dict(), None, 0)["history"]["loss"]
    assert runs[None][-1] != runs[0.01][-1]  # everything else is the same
    with pytest.raises(ConfigError, match=r"training\.clip_grad_norm"):
        load_config(path, ["training.clip_grad_norm=-1"])
