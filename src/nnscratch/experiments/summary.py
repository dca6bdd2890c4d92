"""The numbers of a setting, labelled: train and test side by side, over folds and repeats.

One setting (a train run, a cv run, a sweep point) is trained ``repeats`` times (seeds spawned
from ``experiment.seed``), each time on one split or on every fold. Its numbers are:

- ``train_<metric>``: the final model on its training data; ``test_<metric>``: the final model
  on the held-out data (the test part, or the held-out fold of a cross-validation);
- ``last_epoch_loss``: the training loss averaged over the last epoch, *before* that epoch's
  updates (what ``history.csv`` holds) — not the same as ``train_loss``, the final model's loss.

The report heads them "train accuracy", "test accuracy" ("held-out fold" in a cross-validation):
see ``nnscratch.report.text.label``. A repeat's value is the mean over its folds. The mean is
over repeats; the std is over repeats when there are several (initialisation variance),
otherwise over the folds (data variance).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def labelled(result: dict[str, Any]) -> dict[str, float]:
    """The numbers of one trained model: ``train_*``, ``test_*`` and ``last_epoch_loss``."""
    out: dict[str, float] = {}
    for part in ("train", "test"):
        for key, value in (result.get(part) or {}).items():
            if key != "n":
                out[f"{part}_{key}"] = value
    if result["history"].get("loss"):
        out["last_epoch_loss"] = result["history"]["loss"][-1]
    return out


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def _std(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.std([r[k] for r in rows])) for k in rows[0]}


def per_repeat(results: list[dict[str, Any]], repeats: list[int]) -> list[dict[str, float]]:
    """One row per repeat (in repeat order): the mean over that repeat's folds."""
    rows = []
    for r in sorted(set(repeats)):
        mine = [labelled(res) for res, rep in zip(results, repeats, strict=True) if rep == r]
        rows.append(_mean(mine))
    return rows


def setting_numbers(results: list[dict[str, Any]], repeats: list[int]) -> dict[str, Any]:
    """``mean``, ``std`` (see the module docstring), ``repeats`` (their count) and ``per_repeat``."""
    rows = per_repeat(results, repeats)
    if len(rows) > 1:
        std = _std(rows)
    elif len(results) > 1:  # one repeat of a cross-validation: the spread over the folds
        std = _std([labelled(r) for r in results])
    else:
        std = {}
    return {"mean": _mean(rows), "std": std, "repeats": len(rows), "per_repeat": rows}


def primary(keys: list[str]) -> str | None:
    """The number that ranks settings: test (else train) accuracy, F1, R², else the loss."""
    for part in ("test", "train"):
        for metric in ("accuracy", "f1", "r2"):
            if f"{part}_{metric}" in keys:
                return f"{part}_{metric}"
    return None


__all__ = ["labelled", "per_repeat", "primary", "setting_numbers"]
