"""The numbers of a run, as report blocks: what was trained, results of a train, cv or sweep run,
and the warnings banner that puts a failed or unlearned training above everything else."""

from __future__ import annotations

from typing import Any

from .text import SEED_RULE, Block, fmt, label, optimizer_text, setting


def what_was_trained(run: dict[str, Any]) -> list[Block]:
    data = run.get("dataset", {})
    items = []
    if data:
        classes = data.get("class_counts")
        counts = f"; classes {', '.join(f'{k}: {v}' for k, v in classes.items())}" if classes else ""
        items.append(
            f"Data: {data.get('name')} ({data.get('task')}), {data.get('n_samples')} samples × "
            f"{data.get('n_features')} features{counts}. {data.get('description', '')}".strip()
        )
        split = []
        ordered = data.get("split") == "ordered"
        if data.get("test_size"):
            rest = "; the cross-validation folds are cut from the rest" if run.get("kind") == "cv" else ""
            part = f"the last {data['test_size']:.0%} of the rows" if ordered else f"{data['test_size']:.0%}"
            split.append(f"{part} held out for testing{rest}")
        if ordered:
            split.append("rows kept in order (no shuffling; cross-validation folds are consecutive blocks)")
        if data.get("test_samples"):
            split.append(f"a test file of {data['test_samples']} samples")
        if data.get("standardize"):
            split.append("features standardised with the training statistics")
        if split:
            items.append("Split: " + "; ".join(split) + ".")
    if run.get("loss"):
        items.append(f"Loss: {run['loss']}; optimizer: {optimizer_text(run.get('optimizer'))}.")
    if run.get("training"):
        t = run["training"]
        batches = f"mini-batches of {t['batch_size']}" if t.get("batch_size") else "full batch"
        items.append(f"Training: {t['epochs']} epochs, {batches}.")
    if run.get("n_parameters") is not None:
        items.append(f"Parameters: {run['n_parameters']}; wall time {run.get('seconds', 0):.2f} s.")
    blocks: list[Block] = [("h2", "What was trained"), ("list", items)]
    if run.get("model"):
        blocks.append(("code", run["model"]))
    return blocks


def _confusion(cm: list[list[int]], labels: list[str]) -> Block:
    head = ["true \\ predicted", *labels]
    return ("table", (head, [[labels[i], *row] for i, row in enumerate(cm)]))


def _repeats(m: dict[str, Any], cv: bool) -> list[Block]:
    """Mean ± std over the repeats, when the run was repeated with several seeds."""
    s = m.get("summary") or {}
    if s.get("repeats", 1) <= 1:
        return []
    keys = list(s["mean"])
    rows = [[i + 1, *(row[k] for k in keys)] for i, row in enumerate(s["per_repeat"])]
    rows += [["mean", *(s["mean"][k] for k in keys)], ["std", *(s["std"][k] for k in keys)]]
    return [
        ("h2", f"Over {s['repeats']} seeds"),
        (
            "p",
            "The same run with each seed spawned from experiment.seed; "
            "the tables above are the first seed's.",
        ),
        ("table", (["seed", *(label(k, cv) for k in keys)], rows)),
    ]


_TRAIN_HEADS = {"loss": "loss (final model)", "loss_per_sample": "loss per sample (final model)"}


def train_numbers(m: dict[str, Any]) -> list[Block]:
    parts = [p for p in ("train", "test") if m.get(p)]
    keys = [k for k in m[parts[0]] if k != "n"]
    rows = [[p, m[p]["n"], *(m[p].get(k) for k in keys)] for p in parts]
    blocks: list[Block] = [
        ("h2", "Results"),
        (
            "p",
            f"{m['epochs_run']} epochs. The table holds the final model's numbers on each part; the "
            f"training loss averaged over the last epoch (before its updates, as the learning curve "
            f"shows it) was {fmt(m['last_epoch_loss'])}.",
        ),
        ("table", (["data", "samples", *(_TRAIN_HEADS.get(k, k) for k in keys)], rows)),
    ]
    blocks += _repeats(m, cv=False)
    positions = ", every position" if m.get("task") == "sequence" else ""
    if m.get("confusion_matrix") and len(m["labels"]) <= _TABLE_CLASSES:
        blocks += [
            ("h2", f"Confusion matrix ({m['evaluated_on']} data{positions})"),
            _confusion(m["confusion_matrix"], m["labels"]),
        ]
    elif m.get("confusion_matrix"):
        blocks.append(("p", f"{len(m['labels'])} classes: the confusion matrix is in metrics.json."))
    return blocks + _sequence_blocks(m)


#: the most classes a confusion matrix is written out for as a table
_TABLE_CLASSES = 20


def _sequence_blocks(m: dict[str, Any]) -> list[Block]:
    """A few predicted sequences beside their targets, and generated text (sequence tasks)."""
    blocks: list[Block] = []
    if m.get("samples"):
        rows = [
            [s["input"], s["predicted"], s["target"], "yes" if s["exact"] else "no"] for s in m["samples"]
        ]
        blocks += [
            ("h2", f"Predicted sequences (the first {m['evaluated_on']} rows)"),
            ("table", (["input", "predicted", "target", "all right"], rows)),
        ]
    g = m.get("generated")
    if g:
        blocks += [
            ("h2", "Generated text"),
            (
                "p",
                f"{g['tokens']} tokens sampled one at a time at temperature {g['temperature']:g}, each "
                "from the model's distribution given what came before it. The prompt:",
            ),
            ("code", g["prompt"]),
            ("p", "and what the model wrote after it:"),
            ("code", g["text"]),
        ]
    return blocks


def cv_numbers(m: dict[str, Any]) -> list[Block]:
    keys = [k for k in m["mean"]]
    rows = [[f["fold"] + 1, f["n"], *(f[k] for k in keys)] for f in m["folds"]]
    rows.append(["mean", sum(f["n"] for f in m["folds"]), *(m["mean"][k] for k in keys)])
    rows.append(["std", "", *(m["std"][k] for k in keys)])
    blocks: list[Block] = [
        ("h2", f"Results: {m['folds_count']}-fold cross-validation"),
        (
            "p",
            f"Metrics of each fold's final model on its held-out fold, then their average over the "
            f"folds ({m['n_samples']} test predictions). {SEED_RULE}",
        ),
        ("table", (["fold", "test samples", *(f"held-out {k}" for k in keys)], rows)),
    ]
    summary = m.get("summary") or {}
    train_keys = [k for k in summary.get("mean", {}) if k.startswith("train_")]
    if train_keys:
        rows = [["mean", *(summary["mean"][k] for k in train_keys)]]
        if summary.get("std"):
            rows.append(["std", *(summary["std"][k] for k in train_keys)])
        blocks += [
            ("p", "The same models on their training folds (compare: a large gap is over-fitting):"),
            ("table", (["", *(label(k) for k in train_keys)], rows)),
        ]
    blocks += _repeats(m, cv=True)
    if m.get("confusion_matrix"):
        blocks += [
            ("h2", "Confusion matrix accumulated over the folds"),
            _confusion(m["confusion_matrix"], m["labels"]),
        ]
    return blocks


def sweep_numbers(m: dict[str, Any]) -> list[Block]:
    keys = m["keys"]
    cv = bool(m.get("cv"))
    finished = [p for p in m["points"] if p["mean"]]
    metric_keys = list(finished[0]["mean"]) if finished else []
    rows = []
    for p in m["points"]:
        if p["mean"]:
            cells = [
                fmt(p["mean"][k]) + (f" ± {fmt(p['std'][k])}" if k in p["std"] else "") for k in metric_keys
            ]
            link: Any = ("link", (p["folder"] + "/report.html", "report"))
        else:
            cells = ["diverged"] + [""] * (len(metric_keys) - 1) if metric_keys else ["diverged"]
            link = ""
        status = "diverged" if p.get("diverged") else ("did not learn" if p.get("warnings") else "ok")
        rows.append([p["index"], *(setting(p["params"][k]) for k in keys), *cells, status, link])
    repeats = m.get("repeats", 1)
    spread = (
        f"mean ± std over {repeats} seeds"
        if repeats > 1
        else ("mean ± std over the folds" if cv else "one training per setting")
    )
    if cv:
        where = f"{m['cv']}-fold cross-validation"
    elif m["evaluated_on"] == "test":
        where = "a train/test split"
    else:
        where = "the training data only (no test split)"
    held = ", test numbers on data it never saw" if cv or m["evaluated_on"] == "test" else ""
    head = ["#", *keys, *(label(k, cv) for k in metric_keys or ["result"]), "status", "run"]
    blocks: list[Block] = [
        ("h2", "Results"),
        (
            "p",
            f"{len(m['points'])} settings on {where} ({spread}). Train numbers are the final model on "
            f"its training data{held}. {SEED_RULE}",
        ),
        ("table", (head, rows)),
    ]
    for p in m["points"]:
        if p.get("diverged"):
            blocks.append(("p", f"Setting {p['index']} ({fmt(p['params'])}) diverged: {p['diverged']}"))
    if m.get("best"):
        b = m["best"]
        blocks.append(
            (
                "p",
                f"Best {label(b['by'], cv)}: {fmt(b['value'])} with {fmt(b['params'])} (point {b['index']}).",
            )
        )
    return blocks


def banner(m: dict[str, Any]) -> list[Block]:
    """Failures first: a run that diverged or did not learn says so above its numbers."""
    lines = list(m.get("warnings") or [])
    for p in m.get("points", []):
        if p.get("diverged"):
            lines.append(f"setting {p['index']} ({fmt(p['params'])}) diverged: {p['diverged']}")
        lines += [f"setting {p['index']} ({fmt(p['params'])}): {w}" for w in p.get("warnings") or []]
    return [("warning", line) for line in lines]


__all__ = ["banner", "cv_numbers", "sweep_numbers", "train_numbers", "what_was_trained"]
