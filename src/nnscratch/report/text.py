"""The words of a report: how numbers, settings and keys are written, the figure captions.

Numbers are written for people (4 decimals), settings as in an experiment file (``lr = 0.05``),
never as raw JSON; a key says which data its number is on (``test_accuracy`` -> "test accuracy").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nnscratch.base.errors import ConfigError

# ("h1"|"h2"|"p"|"warning"|"list"|"table"|"code"|"image"|"files", payload); a table cell may be
# ("link", (href, text)). An image is (path, title) or (path, title, caption); files are
# [(href, description), ...].
Block = tuple[str, Any]

FIGURES = [
    (
        "learning_curve.png",
        "Learning curve",
        "Loss and accuracy after each epoch: the training data as a solid line, the validation data "
        "dashed, the test data dotted; for cross-validation one colour per fold. A held-out curve "
        "that rises while the training curve falls is the sign of overfitting.",
    ),
    (
        "decision_boundary.png",
        "Decision boundary",
        "Left: every sample coloured by its true class. Right: the region the model gives each "
        "class, the samples coloured by the class predicted; × marks a misclassified sample.",
    ),
    (
        "confusion_matrix.png",
        "Confusion matrix",
        "Rows: the true class; columns: the class predicted. The diagonal counts the correct predictions.",
    ),
    (
        "prediction_vs_truth.png",
        "Prediction vs truth",
        "Left: truth (grey) and prediction (blue) along the rows of the data. Right: each prediction "
        "against its true value; a perfect model puts every point on the dashed line.",
    ),
    (
        "network.png",
        "Network",
        "One column of nodes per layer, coloured by the activation they apply (legend beside the "
        "diagram); the lines are the weights, blue positive and red negative, thicker when larger.",
    ),
    (
        "attention.png",
        "Attention weights",
        "One panel per head, one row of panels per attention layer; brighter cells are larger weights.",
    ),
]

#: What each file of a run folder holds, for the report's list of files.
FILE_NOTES = {
    "config.toml": "the resolved configuration, every default filled in",
    "config.json": "the same configuration as JSON",
    "run.json": "what was run: data, model, loss, optimizer, timing",
    "metrics.json": "the results in machine-readable form",
    "history.csv": "loss and metrics after each epoch",
    "predictions.csv": "each evaluated sample: index, true value, prediction, score",
    "model.npz": "the trained model (nnscratch.load reads it)",
    "model_folds": "the trained model of each fold",
    "sweep.csv": "one row per setting: its parameters and metrics",
    "points": "one run folder per setting, each with its own report",
    "tasks": "the finished trainings, kept so an interrupted sweep resumes",
}


def fmt(value: Any) -> str:
    """A value as text for people: floats to 4 decimals, lists as ``[a, b]``, tables as
    ``key = value`` pairs (never raw JSON)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    if isinstance(value, dict):  # settings: numbers as written (lr = 0.05, not 0.0500)
        return ", ".join(f"{k} = {setting(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def setting(value: Any) -> str:
    """A hyperparameter value as written in an experiment file: ``0.05``, ``1e-04``, ``[3, 3]``."""
    return f"{value:g}" if isinstance(value, float) else fmt(value)


def optimizer_text(opt: Any) -> str:
    """``sgd (lr = 0.1, momentum = 0.9)`` from the optimizer table."""
    if not isinstance(opt, dict) or "name" not in opt:
        return fmt(opt)
    rest = fmt({k: v for k, v in opt.items() if k != "name"})
    return f"{opt['name']} ({rest})" if rest else str(opt["name"])


def read_json(folder: Path, name: str) -> dict[str, Any]:
    path = folder / name
    if not path.is_file():
        raise ConfigError(f"{folder}: not a run folder (no {name}); run `nnscratch train|cv|sweep` first")
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("status") == "incomplete":
        raise ConfigError(f"{folder}: the run did not finish (run.json says incomplete); run it again")
    return data


SEED_RULE = (
    "All settings and folds start from the same initial weights and shuffle their mini-batches "
    "the same way (both come from experiment.seed), so the differences come from what varies, "
    "not from initialisation luck."
)


PER_SAMPLE = (
    ' The loss is a sum over the samples (reduction = "sum"), so each curve is divided by its '
    "number of samples: train and held-out curves share one scale."
)


def label(key: str, cv: bool = False) -> str:
    """A header that says which data a number is on (as :mod:`nnscratch.experiments.summary`)."""
    if key == "last_epoch_loss":
        return "loss averaged over the last epoch"
    part, _, metric = key.partition("_")
    metric = metric.replace("_", " ")  # loss_per_sample -> loss per sample
    if part == "test" and cv:
        return f"held-out fold {metric}"
    return f"{part} {metric}" if metric and part in ("train", "test") else key.replace("_", " ")


__all__ = [
    "FIGURES",
    "FILE_NOTES",
    "PER_SAMPLE",
    "SEED_RULE",
    "Block",
    "fmt",
    "label",
    "optimizer_text",
    "read_json",
    "setting",
]
