"""The PNG figures of a run folder, drawn with :mod:`nnscratch.plots`.

- ``learning_curve.png``: loss (and accuracy) per epoch, train and held-out curves together (sums
  of a ``reduction = "sum"`` loss divided by their sample counts); one colour per fold for
  cross-validation
- ``decision_boundary.png``: for 2-D classification data, the ground truth beside the model's
  regions, misclassified points crossed out
- ``confusion_matrix.png``: on the test part, or summed over the folds
- ``prediction_vs_truth.png``: for regression, the predictions against the true values
- ``network.png``: the layer diagram
- ``attention.png``: for a model with attention layers, the weights of each of them (one panel per
  head) on the first held-out sample, or the first training sample when nothing is held out
- sweeps: ``sweep_<metric>.png`` (metric against each swept key; one panel per value of a text
  key such as ``data.dataset``) and ``sweep_curves.png``
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from nnscratch.data import Standardizer
from nnscratch.engine.layers.attention import MultiheadAttention

from .builder import build_loss, load_data, loss_name, make_split
from .config import ExperimentConfig
from .summary import primary
from .sweep import predictions


def _plots() -> Any:
    # plots imports matplotlib (an optional extra, slow to import): only when a figure is drawn
    from nnscratch import plots

    return plots


def _save(fig: Any, path: Path) -> None:
    _plots().save_figure(fig, path)
    fig.clear()


def curves_figure(
    histories: list[tuple[str, dict[str, list[float]]]],
    key: str = "loss",
    title: str = "",
    *,
    per_sample: list[dict[str, int] | None] | None = None,
) -> Any:
    """Overlaid learning curves, one colour and marker per run, held-out curves dashed (validation)
    or dotted (test): :func:`nnscratch.plots.plot_runs`."""
    return _plots().plot_runs(histories, key, title=title, per_sample=per_sample)


def run_figures(
    folder: Path,
    cfg: ExperimentConfig,
    results: list[dict[str, Any]],
    metrics: dict[str, Any],
    models: list[Any],
    *,
    point: bool = False,
) -> dict[str, str]:
    """Draw the figures of one train or cv run into ``folder``; return the file names written,
    each with what this run's figure shows beyond its usual caption ("" when nothing).

    A sweep point (``point=True``) leaves out the learning curve and the network diagram: the
    sweep's own figures overlay every point's curve, and the grid says what the network is.
    """
    plots = _plots()
    written: list[str] = []
    notes: dict[str, str] = {}
    name = cfg.experiment.name
    first = results[0]
    if not point:
        if len(results) == 1:
            h = first["history"]
            keys = ["loss"] + [k for k in ("accuracy",) if any(p + k in h for p in ("", "val_", "test_"))]
            fig = plots.plot_history(
                h, keys, title=f"{name}: learning curve", per_sample=sample_counts(cfg, first)
            )
        else:
            curves = [(f"fold {r['fold'] + 1}", r["history"]) for r in results]
            counts = [sample_counts(cfg, r) for r in results]
            fig = curves_figure(curves, "loss", f"{name}: loss per fold", per_sample=counts)
        _save(fig, folder / "learning_curve.png")
        written.append("learning_curve.png")
    if metrics.get("confusion_matrix") is not None:
        where = "summed over the folds" if len(results) > 1 else f"on the {first['evaluated_on']} data"
        fig = plots.plot_confusion_matrix(
            metrics["confusion_matrix"], first["labels"], title=f"Confusion matrix ({where})"
        )
        _save(fig, folder / "confusion_matrix.png")
        written.append("confusion_matrix.png")
    if first["task"] == "regression":
        where = "the held-out folds" if len(results) > 1 else f"the {first['evaluated_on']} data"
        p = [r["predictions"] for r in results]
        fig = prediction_figure(
            np.concatenate([q["y_true"] for q in p]),
            np.concatenate([q["y_pred"] for q in p]),
            np.concatenate([q["index"] for q in p]),
            title=f"{name}: prediction vs truth on {where}",
        )
        _save(fig, folder / "prediction_vs_truth.png")
        written.append("prediction_vs_truth.png")
    if first["n_features"] == 2 and first["task"] != "regression":
        X, y = _boundary_data(cfg, first)
        title = f"{name}: decision boundary on all {len(y)} samples" + (
            " (fold 1 model)" if len(results) > 1 else ""
        )
        y_pred, _ = predictions(models[0], X, cfg, loss_name(cfg, first["task"]), first["task"])
        fig = plots.plot_decision_boundary(
            models[0],
            X,
            y,
            threshold=cfg.evaluation.threshold,
            title=title,
            target_names=first["labels"],
            y_pred=y_pred,
        )
        _save(fig, folder / "decision_boundary.png")
        written.append("decision_boundary.png")
    fig = None
    try:
        fig = None if point else plots.plot_network(models[0], title=f"{name}: network")
    except (ValueError, TypeError):  # a layer the diagram cannot draw (e.g. convolutions)
        pass
    if fig is not None:
        _save(fig, folder / "network.png")
        written.append("network.png")
    drawn = attention_figure(cfg, models[0], first["fold"])
    if drawn is not None:
        fig, notes["attention.png"] = drawn
        _save(fig, folder / "attention.png")
        written.append("attention.png")
    return {name: notes.get(name, "") for name in written}


def attention_figure(cfg: ExperimentConfig, model: Any, fold: int | None = None) -> tuple[Any, str] | None:
    """The attention weights of every attention layer of ``model`` on one sample, and the sentence
    that says which sample and layers; ``None`` for a model without attention.

    The sample is the first held-out one (of the test part, or of ``fold``'s held-out part), else
    the first training sample, scaled as the model saw it.
    """
    if not any(isinstance(m, MultiheadAttention) for m in model.modules()):
        return None  # before reading the data: most models have no attention
    plots = _plots()
    data, test = load_data(cfg)
    split = make_split(cfg, data, test, fold)
    held_out = split.X_test is not None
    X = split.X_test if held_out else split.X_train
    maps = plots.attention_maps(model, X)
    if not maps:
        return None
    rows = split.test_index if held_out else split.train_index
    where = "of the test file" if rows is None else f"row {rows[0]} of the data"
    if not held_out:
        short, sample = "the first training sample", f"({where}; nothing is held out)"
    elif fold is not None:
        short = f"the first sample held out from fold {fold + 1}"
        sample = f"({where}), by fold {fold + 1}'s model"
    else:
        short, sample = "the first test sample", f"({where})"
    names = [n or "the model" for n in maps]
    layers = (
        f"layer {names[0]}" if len(names) == 1 else "layers " + ", ".join(names[:-1]) + f" and {names[-1]}"
    )
    sentence = (
        f"The attention weights of {layers} on {short} {sample}: in each head's panel, row t shows how much "
        "query position t attends to each key position (each row sums to 1)"
        + (
            "; hatched grey cells are masked positions (weight 0)."
            if any((w == 0).any() for w in maps.values())
            else "."
        )
    )
    fig = plots.plot_attention_maps(maps, title=f"{cfg.experiment.name}: attention weights on {short}")
    return fig, sentence


def sample_counts(cfg: ExperimentConfig, result: dict[str, Any]) -> dict[str, int] | None:
    """How many samples each loss of a result's history adds up, when the loss is a sum
    (``reduction = "sum"``); ``None`` for a mean loss, already per sample.

    ``loss`` sums the rows fitted on (the training part less ``training.validation_split``, cut
    as :func:`sklearn.model_selection.train_test_split` does: ``ceil(fraction · n)`` rows),
    ``val_loss`` the validation rows, ``test_loss`` the test part (or the held-out fold).
    """
    if not result.get("train") or build_loss(cfg, loss_name(cfg, result["task"])).reduction != "sum":
        return None
    n_part = int(result["train"]["n"])
    n_val = math.ceil(cfg.training.validation_split * n_part) if cfg.training.validation_split else 0
    n_test = int(result["test"]["n"]) if result.get("test") else 0
    counts = {"loss": n_part - n_val, "val_loss": n_val, "test_loss": n_test}
    return {k: n for k, n in counts.items() if n > 0 and k in result["history"]} or None


def prediction_figure(y_true: Any, y_pred: Any, index: Any = None, *, title: str = "") -> Any:
    """Regression results: truth and prediction along the rows (left), prediction against truth (right).

    Parameters
    ----------
    y_true, y_pred : array, shape (n,)
    index : array of int, shape (n,), optional
        The row of each value in the dataset (default ``0..n-1``). Rows are drawn in this order,
        joined by lines when they are consecutive (a time series held out in order), as dots otherwise.
    """
    from sklearn.metrics import r2_score

    truth = np.asarray(y_true, dtype=np.float64).reshape(-1)
    pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    rows = np.arange(len(truth)) if index is None else np.asarray(index).reshape(-1)
    order = np.argsort(rows, kind="stable")
    rows, truth, pred = rows[order], truth[order], pred[order]
    fig, axes = _plots()._figure(1, 2, (11.0, 3.8))
    left, right = axes[0]
    style = {"linestyle": "-"} if np.all(np.diff(rows) == 1) else {"linestyle": "none", "marker": "."}
    left.plot(rows, truth, color="0.55", linewidth=1, label="truth", **style)
    left.plot(rows, pred, color="C0", linewidth=1.5, label="prediction", **style)
    left.set(xlabel="row of the dataset", ylabel="value", title="truth and prediction along the rows")
    low, high = float(min(truth.min(), pred.min())), float(max(truth.max(), pred.max()))
    right.plot([low, high], [low, high], color="0.3", linewidth=1, linestyle="--", label="prediction = truth")
    right.scatter(truth, pred, s=10, color="C0", alpha=0.7, label="one sample")
    r2 = r2_score(truth, pred) if len(truth) > 1 else float("nan")
    right.set(xlabel="truth", ylabel="prediction", title=f"prediction against truth (R² {r2:.3f})")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    (h_left, l_left), (h_right, l_right) = left.get_legend_handles_labels(), right.get_legend_handles_labels()
    handles, labels = [*h_left, *h_right], [*l_left, *l_right]
    fig.legend(handles, labels, loc="outside lower center", ncols=len(handles), fontsize="small")
    fig.suptitle(title)
    return fig


def _boundary_data(cfg: ExperimentConfig, result: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """All the data (and test file), scaled as the plotted model saw it."""
    data, test = load_data(cfg)
    X, y = data.X, data.y
    if test is not None:
        X, y = np.vstack([X, test.X]), np.concatenate([y, test.y])
    if result.get("scaler"):
        X = Standardizer.from_dict(result["scaler"]).transform(X)
    return X, y


def sweep_figures(
    folder: Path,
    cfg: ExperimentConfig,
    points: list[dict[str, Any]],
    results: list[dict[str, Any]],
    tasks: list[Any],
) -> list[str]:
    """Metric-versus-hyperparameter plots and the overlaid learning curves of a sweep."""
    plots = _plots()
    keys = list(cfg.sweep)
    written = []
    # one row per repeat: plot_sweep averages them and draws their spread as error bars
    first = list(points[0]["mean"])
    key = primary(first) or next(k for k in ("test_loss", "train_loss") if k in first)
    metric = key.replace("_", " ")  # the axis says "test accuracy", as the tables do
    rows = [
        {**{k: _plain(v) for k, v in p["params"].items()}, metric: values[key]}
        for p in points
        for values in p.get("per_repeat") or [p["mean"]]
    ]
    for x in keys:
        others = [k for k in keys if k != x]
        hue = others[0] if len(others) == 1 else None
        if len(others) > 1:
            continue
        title = f"{cfg.experiment.name}: {metric} vs {x}"
        facet = hue if hue and all(isinstance(p["params"][hue], str) for p in points) else None
        fig = plots.plot_sweep(rows, x, metric, None if facet else hue, facet=facet, title=title)
        file = f"sweep_{key}_vs_{x.replace('.', '_')}.png"
        _save(fig, folder / file)
        written.append(file)
    if len(keys) > 2:
        combos = [
            {"setting": ", ".join(f"{k}={_plain(v)}" for k, v in p["params"].items()), metric: values[key]}
            for p in points
            for values in p.get("per_repeat") or [p["mean"]]
        ]
        fig = plots.plot_sweep(combos, "setting", metric, None, title=f"{cfg.experiment.name}: {metric}")
        _save(fig, folder / f"sweep_{key}.png")
        written.append(f"sweep_{key}.png")
    histories = []
    for task, result in zip(tasks, results, strict=True):
        if task.fold in (None, 0) and task.repeat == 0:
            label = ", ".join(f"{k.split('.')[-1]}={_plain(v)}" for k, v in task.params.items())
            histories.append((label, result["history"]))
    if len(histories) <= 12:
        fig = curves_figure(histories, "loss", f"{cfg.experiment.name}: training loss of each setting")
        _save(fig, folder / "sweep_curves.png")
        written.append("sweep_curves.png")
    return written


def _plain(value: Any) -> Any:
    """Lists (architectures) become strings so they can label a line or a tick."""
    return json.dumps(value) if isinstance(value, (list, dict)) else value


__all__ = [
    "attention_figure",
    "curves_figure",
    "prediction_figure",
    "run_figures",
    "sample_counts",
    "sweep_figures",
]
