"""Exports of a playground session: the model file and the experiment file that reproduces it."""

from __future__ import annotations

import io
import math

from .datasets import LIBRARY_NAMES
from .session import Session


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
    from ..io import save

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


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def experiment_toml(session: Session) -> str:
    """An experiment file for ``nnscratch train`` with this session's data, network and training."""
    c = session.config
    lines = [
        "# Exported from the nnscratch playground. Run it with:  nnscratch train playground.toml",
        "[experiment]",
        'name = "playground"',
        f"seed = {c.seed}",
        f'description = "playground session exported after {session.epoch} epochs"',
        "",
        "[data]",
    ]
    if c.dataset == "upload":
        lines += ['csv = "playground_data.csv"  # the uploaded file: save it next to this one', "target = -1"]
    else:
        params = {"n_samples": c.n_samples, "seed": c.seed}
        if c.dataset != "linear":
            params["noise"] = c.noise
        if c.dataset in ("spirals", "gaussians"):
            params["n_classes"] = c.n_classes
        inline = ", ".join(f"{k} = {_toml_value(v)}" for k, v in params.items())
        lines += [f'dataset = "{LIBRARY_NAMES.get(c.dataset, c.dataset)}"', f"params = {{ {inline} }}"]
    if c.test_fraction:
        lines.append(f"test_size = {c.test_fraction}")
    loss = {"sigmoid": "bce_logits", "softmax": "cross_entropy", "identity": "mse"}[session.output]
    optimizer = [f'name = "{c.optimizer}"', f"lr = {c.lr}"]
    if c.optimizer == "momentum":
        optimizer.append(f"momentum = {c.momentum}")
    if c.l2:
        optimizer.append(f"weight_decay = {c.l2}")
    lines += [
        "",
        "[model]",
        f"hidden = {_toml_value(c.hidden)}",
        f"activation = {_toml_value(c.activations)}",
        'output = "none"  # raw scores; the loss applies sigmoid/softmax in its stable fused form',
        'init = "xavier_uniform"',
        "",
        "[loss]",
        f'name = "{loss}"',
        "",
        "[optimizer]",
        *optimizer,
        "",
        "[training]",
        f"epochs = {max(session.epoch, 1)}",
        f"batch_size = {c.batch_size}",
        "",
    ]
    return "\n".join(lines)
