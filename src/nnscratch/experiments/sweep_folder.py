"""Writing a sweep's folder: one run folder per grid point in ``points/``, then the summary.

The sweep folder holds ``metrics.json`` (every point's parameters, mean and std of its metrics,
the best point), ``sweep.csv`` (the same as a table), the sweep figures and the report. A point
whose training diverged (NaN or inf loss) is recorded as such; the others still run.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from nnscratch._version import __version__
from nnscratch.base.files import atomic_open

from . import figures
from .config import ExperimentConfig
from .run_folder import (
    dataset_info,
    dump_json,
    finish,
    mark_incomplete,
    write_config,
    write_history,
    write_single,
)
from .summary import primary
from .sweep import Task, where


def _slug(params: dict[str, Any]) -> str:
    text = "_".join(f"{k.split('.')[-1]}={v}" for k, v in params.items())
    return re.sub(r"[^A-Za-z0-9_.=-]+", "", text.replace(" ", ""))[:80]


def _write_diverged(sub: Path, task: Task, pairs: list[tuple[Task, dict[str, Any]]], kind: str) -> str:
    """A point whose training blew up: its config, the history up to then, and the message."""
    bad_task, bad = next((t, r) for t, r in pairs if r["diverged"])
    message = where(bad_task) + bad["diverged"]
    write_config(sub, task.config)
    write_history(sub / "history.csv", [bad], "train")
    dump_json(
        sub / "metrics.json", {"kind": kind, "params": task.params, "seed": task.seed, "diverged": message}
    )
    dump_json(
        sub / "run.json",
        {"kind": kind, "name": task.config["experiment"]["name"], "params": task.params, "diverged": message},
    )
    return message


def write_sweep(
    folder: Path,
    cfg: ExperimentConfig,
    tasks: list[Task],
    results: list[dict[str, Any]],
    use_cv: bool,
    seconds: float,
    *,
    draw: bool = True,
) -> None:
    """Write every point's run folder and the sweep's own files into ``folder`` (``draw``: the PNGs).

    A point's numbers are labelled ``train_*`` / ``test_*`` (see :mod:`.summary`): the mean over
    its repeats (each the mean over its folds), and their std.
    """
    write_config(folder, cfg.to_dict())
    points: list[dict[str, Any]] = []
    kind = "cv" if use_cv else "train"
    for i in range(max(t.point for t in tasks) + 1):
        pairs = [(t, r) for t, r in zip(tasks, results, strict=True) if t.point == i]
        task = pairs[0][0]
        sub = folder / "points" / f"{i + 1:03d}_{_slug(task.params)}"
        sub.mkdir(parents=True)
        mark_incomplete(sub)
        point: dict[str, Any] = {
            "index": i + 1,
            "params": task.params,
            "seed": task.seed,
            "folder": str(sub.relative_to(folder)),
        }
        if any(r["diverged"] for _, r in pairs):
            point.update(mean={}, std={}, diverged=_write_diverged(sub, task, pairs, kind))
            points.append(point)
            continue
        first = [r for t, r in pairs if t.repeat == 0]
        every = [(t.repeat, r) for t, r in pairs]
        seconds_point = sum(r["seconds"] for _, r in pairs)
        m = write_single(
            sub, cfg, task.config, first, kind, seconds_point, task.params, draw=draw, repeats=every
        )
        point.update(m["summary"], confusion_matrix=m.get("confusion_matrix"), warnings=m["warnings"])
        points.append(point)
    finished = [p for p in points if p["mean"]]
    metrics: dict[str, Any] = {
        "kind": "sweep",
        "experiment": cfg.experiment.name,
        "keys": list(cfg.sweep),
        "cv": cfg.evaluation.cv if use_cv else None,
        "repeats": cfg.experiment.repeats,
        "evaluated_on": "cv" if use_cv else results[0]["evaluated_on"],
        "points": points,
    }
    by = primary(list(finished[0]["mean"])) if finished else None
    if by:
        best = max(finished, key=lambda p: p["mean"][by])
        metrics["best"] = {
            "by": by,
            "index": best["index"],
            "params": best["params"],
            "value": best["mean"][by],
        }
    dump_json(folder / "metrics.json", metrics)
    _write_csv(folder / "sweep.csv", cfg, points)
    if finished and draw:
        figures.sweep_figures(folder, cfg, finished, results, tasks)
    finish(
        folder,
        {
            "kind": "sweep",
            "name": cfg.experiment.name,
            "description": cfg.experiment.description,
            "dataset": dataset_info(cfg) if "data.dataset" not in cfg.sweep else {"name": "(swept)"},
            "keys": list(cfg.sweep),
            "points": len(points),
            "tasks": len(tasks),
            "seconds": round(seconds, 3),
            "nnscratch": __version__,
        },
    )


def _write_csv(path: Path, cfg: ExperimentConfig, points: list[dict[str, Any]]) -> None:
    finished = [p for p in points if p["mean"]]
    metric_keys = list(finished[0]["mean"]) if finished else []
    std_keys = list(finished[0]["std"]) if finished else []
    with atomic_open(path, "w", encoding=None, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["point", *cfg.sweep, *metric_keys, *(f"{k}_std" for k in std_keys), "diverged", "folder"]
        )
        for p in points:
            values = [
                json.dumps(v) if isinstance(v, list) else v for v in (p["params"][k] for k in cfg.sweep)
            ]
            numbers = [repr(p["mean"][k]) if p["mean"] else "" for k in metric_keys]
            spreads = [repr(p["std"][k]) if p["std"] else "" for k in std_keys]
            writer.writerow([p["index"], *values, *numbers, *spreads, p.get("diverged", ""), p["folder"]])


__all__ = ["write_sweep"]
