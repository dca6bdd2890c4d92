"""The files of one train / cv run folder (see :mod:`.runner` for the whole layout)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from nnscratch._version import __version__
from nnscratch.base.files import atomic_open, atomic_write
from nnscratch.io.model import save as io_save
from nnscratch.report import write_report

from . import _toml, figures
from .builder import build_model, load_data, loss_name
from .config import ExperimentConfig, validate
from .summary import setting_numbers
from .sweep import summarize
from .tables import ClusterTable


# -- writing one train / cv run ----------------------------------------------------------------
def write_config(folder: Path, config: dict[str, Any]) -> None:
    """Write the resolved config as ``config.toml`` and ``config.json``, less the tables that do
    nothing for this run: an empty ``[sweep]`` and a ``[cluster]`` left at its defaults (both
    validate back to the same config, the defaults filling them in again)."""
    config = {k: v for k, v in config.items() if not _unused(k, v)}
    atomic_write(folder / "config.toml", _toml.dumps(config))
    atomic_write(folder / "config.json", json.dumps(config, indent=2))


def _unused(table: str, value: Any) -> bool:
    if table == "sweep":
        return not value
    if table == "cluster":
        return value is None or value == ClusterTable().model_dump(mode="json")
    return False


def dump_json(path: Path, data: Any) -> None:
    atomic_write(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def write_single(
    folder: Path,
    cfg: ExperimentConfig,
    config: dict[str, Any],
    results: list[dict[str, Any]],
    kind: str,
    seconds: float,
    params: dict[str, Any] | None = None,
    *,
    draw: bool = True,
    repeats: list[tuple[int, dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Write a train (one result) or cv (one result per fold) run; return its metrics.

    ``results`` are the first repeat's (its model, history and predictions are written);
    ``repeats`` lists ``(repeat, result)`` of every repeat, for the mean ± std over them.
    """
    point_cfg = validate(config)
    write_config(folder, config)
    first = results[0]
    every = repeats if repeats is not None else [(0, r) for r in results]
    metrics: dict[str, Any] = {
        "kind": kind,
        "experiment": point_cfg.experiment.name,
        "params": params or {},
        "seed": first["seed"],
        "task": first["task"],
        "labels": first["labels"],
    }
    if kind == "train":
        metrics.update(
            train=first["train"],
            test=first["test"],
            evaluated_on=first["evaluated_on"],
            epochs_run=first["epochs_run"],
            last_epoch_loss=first["history"]["loss"][-1],
        )
        if "confusion_matrix" in first:
            metrics["confusion_matrix"] = first["confusion_matrix"]
        for key in ("samples", "generated"):  # sequence tasks
            if first.get(key):
                metrics[key] = first[key]
    else:
        metrics.update(summarize(results))
        metrics["folds_count"] = len(results)
        metrics["n_samples"] = sum(len(r["predictions"]["y_true"]) for r in results)
    metrics["summary"] = setting_numbers([r for _, r in every], [rep for rep, _ in every])
    metrics["warnings"] = list(dict.fromkeys(w for _, r in every for w in r.get("warnings", [])))
    dump_json(folder / "metrics.json", metrics)
    write_history(folder / "history.csv", results, kind)
    _write_predictions(folder / "predictions.csv", results, kind)
    models = _save_models(folder, point_cfg, results, kind)
    # each figure drawn, with what this run's figure shows beyond its usual caption (for the report)
    drawn = (
        figures.run_figures(folder, point_cfg, results, metrics, models, point=bool(params)) if draw else {}
    )
    data_info = dataset_info(point_cfg)
    finish(
        folder,
        {
            "kind": kind,
            "name": point_cfg.experiment.name,
            "description": point_cfg.experiment.description,
            "params": params or {},
            "dataset": data_info,
            "model": first["model"],
            "n_parameters": first["n_parameters"],
            "loss": first["loss"],
            "optimizer": point_cfg.optimizer.model_dump(exclude_none=True),
            "training": point_cfg.training.model_dump(exclude_none=True),
            "seconds": round(seconds, 3),
            "figures": drawn,
            "nnscratch": __version__,
        },
    )
    return metrics


def mark_incomplete(folder: Path) -> None:
    """Start a run folder with ``run.json`` saying ``"status": "incomplete"`` (readers refuse it);
    :func:`finish` replaces it once every other file is whole."""
    dump_json(folder / "run.json", {"status": "incomplete"})


def finish(folder: Path, record: dict[str, Any]) -> None:
    """Write the report, then ``run.json``: the record that the run finished comes last."""
    write_report(folder, record)
    dump_json(folder / "run.json", record)


def dataset_info(cfg: ExperimentConfig) -> dict[str, Any]:
    data, test = load_data(cfg)
    info = data.summary()
    info.pop("feature_names", None) if info.get("n_features", 0) > 12 else None
    if test is not None:
        info["test_samples"] = len(test)
    info["test_size"] = cfg.data.test_size
    info["split"] = cfg.data.split
    info["standardize"] = cfg.data.standardize
    return info


def write_history(path: Path, results: list[dict[str, Any]], kind: str) -> None:
    keys: list[str] = []
    for r in results:
        keys += [k for k in r["history"] if k != "epoch" and k not in keys]
    with atomic_open(path, "w", encoding=None, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow((["fold"] if kind == "cv" else []) + ["epoch", *keys])
        for r in results:
            h = r["history"]
            for i, epoch in enumerate(h["epoch"]):
                row = [repr(h[k][i]) if k in h else "" for k in keys]
                writer.writerow(([r["fold"] + 1] if kind == "cv" else []) + [epoch, *row])


def _write_predictions(path: Path, results: list[dict[str, Any]], kind: str) -> None:
    with atomic_open(path, "w", encoding=None, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow((["fold"] if kind == "cv" else []) + ["index", "y_true", "y_pred", "score"])
        for r in results:
            p = r["predictions"]
            scores = p["score"] or [""] * len(p["index"])
            for row in zip(p["index"], p["y_true"], p["y_pred"], scores, strict=True):
                writer.writerow(([r["fold"] + 1] if kind == "cv" else []) + [*row])


def rebuild_model(cfg: ExperimentConfig, result: dict[str, Any]) -> Any:
    """The trained network of a result: rebuilt from the config, then its weights loaded."""
    model = build_model(
        cfg,
        result["n_features"],
        result["n_outputs"],
        loss_name(cfg, result["task"]),
        np.random.default_rng(0),
    )
    model.load_state_dict(result["state_dict"])
    return model


def _save_models(folder: Path, cfg: ExperimentConfig, results: list[dict[str, Any]], kind: str) -> list[Any]:
    """Save each trained model with :func:`nnscratch.save` (its history and seed in the header)."""
    models = []
    for r in results:
        model = rebuild_model(cfg, r)
        models.append(model)
        path = folder / ("model.npz" if kind == "train" else f"model_folds/fold_{r['fold'] + 1}.npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"experiment": cfg.experiment.name, "seed": r["seed"], "fold": r["fold"]}
        meta["scaler"] = r["scaler"]
        meta["labels"] = r["labels"]  # class names; for text, the vocabulary `nnscratch generate` reads
        io_save(model, path, history=r["history"], meta=meta)
    return models


__all__ = [
    "dataset_info",
    "dump_json",
    "finish",
    "mark_incomplete",
    "rebuild_model",
    "write_config",
    "write_history",
    "write_single",
]
