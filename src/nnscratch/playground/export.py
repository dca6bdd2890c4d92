"""Exports of a playground session: the model file and the experiment file that reproduces it."""

from __future__ import annotations

import io
import math

import numpy as np

from nnscratch.base.errors import HyperparameterError
from nnscratch.experiments._toml import dumps
from nnscratch.io.model import save

from .session import UPLOAD_CSV, Session, csv_rows


def _history(session: Session) -> dict[str, list[float]] | None:
    train, test = session.curves["train_loss"], session.curves["test_loss"]
    if not all(v is not None and math.isfinite(v) for v in train):
        return None  # a diverged run has no history worth keeping
    history: dict[str, list[float]] = {"epoch": list(range(len(train))), "loss": list(train)}
    if all(v is not None for v in test):
        history["val_loss"] = list(test)
    return history


def model_file(session: Session) -> bytes:
    """The trained network as an nnscratch model file (``ns.load`` reads it back)."""
    buffer = io.BytesIO()
    metrics = {
        k: v
        for k, v in (("train_accuracy", session.train_acc), ("test_accuracy", session.test_acc))
        if v is not None
    }
    save(
        session.model,
        buffer,
        history=_history(session),
        metrics=metrics,
        meta={"source": "nnscratch playground", "epoch": session.epoch, "settings": session.config.to_dict()},
        data=(session.X_train, session.y_train),
    )
    return buffer.getvalue()


def experiment_toml(session: Session) -> str:
    """The experiment file that reproduces the session with ``nnscratch train`` (same weights);
    refused at epoch 0, which no experiment file can reproduce."""
    if session.epoch == 0:  # an experiment file trains at least one epoch: it could not be epoch 0
        raise HyperparameterError(
            "the network has not trained yet (epoch 0), and an experiment file trains at least "
            "1 epoch: step or play first, then export the experiment file"
        )
    if session.edited:  # training cannot arrive at a weight set by hand
        raise HyperparameterError(
            "a weight was set by hand, and no experiment file can reproduce that: export the model "
            "file instead, or press reset to train from the initial weights again"
        )
    header = "# Exported from the nnscratch playground. Run it with:  nnscratch train playground.toml\n"
    if session.config.dataset == "upload":
        header += f"# It reads the uploaded data from {UPLOAD_CSV} (download it too) next to this file.\n"
    return header + dumps(session.experiment())


def data_csv(session: Session) -> str:
    """The session's whole dataset (train and test rows) as CSV: x0,x1,label (the label a
    regression's target)."""
    if session.config.dataset == "upload":
        return session.upload.csv
    X = np.vstack([session.X_train, session.X_test])
    y = np.concatenate([session.y_train, session.y_test])
    return csv_rows(X, y, session.task == "regression")
