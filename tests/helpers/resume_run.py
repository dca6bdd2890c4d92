"""A small training run shared by the resume tests; run as a script it trains with checkpoints
(slowly, so the test can kill it part-way): ``python _resume_run.py CHECKPOINT sgd|adam``."""

from __future__ import annotations

import sys
import time

import numpy as np

import nnscratch as ns

EPOCHS = 30


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4))
    y = (X[:, 0] * X[:, 1] + X[:, 2] > 0).astype(np.int64)
    return X, y


def build(kind: str) -> tuple[ns.Sequential, ns.Optimizer]:
    model = ns.Sequential(ns.Linear(4, 16, rng=1), ns.Tanh(), ns.Linear(16, 2, rng=2))
    if kind == "sgd":
        opt = ns.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)
    else:
        opt = ns.Adam(model.parameters(), lr=0.01, weight_decay=1e-4)
    return model, opt


def train(kind: str, **kwargs):
    X, y = data()
    model, opt = build(kind)
    history = ns.fit(
        model,
        X,
        y,
        loss=ns.CrossEntropyLoss(),
        optimizer=opt,
        epochs=EPOCHS,
        batch_size=10,
        seed=123,
        **kwargs,
    )
    return model, opt, history


if __name__ == "__main__":
    path, kind = sys.argv[1], sys.argv[2]
    train(kind, checkpoint=path, callbacks=[lambda state, logs: time.sleep(0.05)])
    print("finished")
