"""Reports of run folders: ``report.html`` (self-contained, images embedded) and ``report.md``.

``write_report(folder)`` describes one train, cv or sweep run from the files the runner wrote
(``run.json``, ``metrics.json``, ``config.toml``, the PNGs); ``write_index(folder, runs)`` writes a
page linking several runs. Both documents are built from the same blocks, so they say the same.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from nnscratch.base.errors import ConfigError
from nnscratch.base.files import atomic_write

# ("h1"|"h2"|"p"|"list"|"table"|"code"|"image"|"files", payload); a table cell may be ("link", (href, text)).
# An image is (path, title) or (path, title, caption); files are [(href, description), ...].
Block = tuple[str, Any]

_FIGURES = [
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
]

#: What each file of a run folder holds, for the report's list of files.
_FILE_NOTES = {
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


def _fmt(value: Any) -> str:
    """A value as text for people: floats to 4 decimals, lists as ``[a, b]``, tables as
    ``key = value`` pairs (never raw JSON)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict):  # settings: numbers as written (lr = 0.05, not 0.0500)
        return ", ".join(f"{k} = {_setting(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def _setting(value: Any) -> str:
    """A hyperparameter value as written in an experiment file: ``0.05``, ``1e-04``, ``[3, 3]``."""
    return f"{value:g}" if isinstance(value, float) else _fmt(value)


def _optimizer(opt: Any) -> str:
    """``sgd (lr = 0.1, momentum = 0.9)`` from the optimizer table."""
    if not isinstance(opt, dict) or "name" not in opt:
        return _fmt(opt)
    rest = _fmt({k: v for k, v in opt.items() if k != "name"})
    return f"{opt['name']} ({rest})" if rest else str(opt["name"])


def _read(folder: Path, name: str) -> dict[str, Any]:
    path = folder / name
    if not path.is_file():
        raise ConfigError(f"{folder}: not a run folder (no {name}); run `nnscratch train|cv|sweep` first")
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("status") == "incomplete":
        raise ConfigError(f"{folder}: the run did not finish (run.json says incomplete); run it again")
    return data


# -- the blocks of one run -------------------------------------------------------------------------
def _what(run: dict[str, Any]) -> list[Block]:
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
        items.append(f"Loss: {run['loss']}; optimizer: {_optimizer(run.get('optimizer'))}.")
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


def _train_numbers(m: dict[str, Any]) -> list[Block]:
    parts = [p for p in ("train", "test") if m.get(p)]
    keys = [k for k in m[parts[0]] if k != "n"]
    rows = [[p, m[p]["n"], *(m[p].get(k) for k in keys)] for p in parts]
    blocks: list[Block] = [
        ("h2", "Results"),
        ("p", f"{m['epochs_run']} epochs; final training loss {_fmt(m['final_loss'])}."),
        ("table", (["data", "samples", *keys], rows)),
    ]
    if m.get("confusion_matrix"):
        blocks += [
            ("h2", f"Confusion matrix ({m['evaluated_on']} data)"),
            _confusion(m["confusion_matrix"], m["labels"]),
        ]
    return blocks


def _cv_numbers(m: dict[str, Any]) -> list[Block]:
    keys = [k for k in m["mean"]]
    rows = [[f["fold"] + 1, f["n"], *(f[k] for k in keys)] for f in m["folds"]]
    rows.append(["mean", sum(f["n"] for f in m["folds"]), *(m["mean"][k] for k in keys)])
    rows.append(["std", "", *(m["std"][k] for k in keys)])
    blocks: list[Block] = [
        ("h2", f"Results: {m['folds_count']}-fold cross-validation"),
        (
            "p",
            f"Metrics on each held-out fold, then their average over the folds "
            f"({m['n_samples']} test predictions).",
        ),
        ("table", (["fold", "test samples", *keys], rows)),
    ]
    if m.get("confusion_matrix"):
        blocks += [
            ("h2", "Confusion matrix accumulated over the folds"),
            _confusion(m["confusion_matrix"], m["labels"]),
        ]
    return blocks


def _sweep_numbers(m: dict[str, Any]) -> list[Block]:
    keys = m["keys"]
    finished = [p for p in m["points"] if p["mean"]]
    metric_keys = list(finished[0]["mean"]) if finished else []
    rows = []
    for p in m["points"]:
        if p["mean"]:
            cells = [
                _fmt(p["mean"][k]) + (f" ± {_fmt(p['std'][k])}" if k in p["std"] else "") for k in metric_keys
            ]
            link: Any = ("link", (p["folder"] + "/report.html", "report"))
        else:
            cells = ["diverged"] + [""] * (len(metric_keys) - 1) if metric_keys else ["diverged"]
            link = ""
        rows.append([p["index"], *(_setting(p["params"][k]) for k in keys), *cells, link])
    where = (
        f"{m['cv']}-fold cross-validation (mean ± std)" if m.get("cv") else f"the {m['evaluated_on']} data"
    )
    blocks: list[Block] = [
        ("h2", "Results"),
        ("p", f"{len(m['points'])} settings, metrics on {where}."),
        ("table", (["#", *keys, *(metric_keys or ["result"]), "run"], rows)),
    ]
    for p in m["points"]:
        if p.get("diverged"):
            blocks.append(("p", f"Setting {p['index']} ({_fmt(p['params'])}) diverged: {p['diverged']}"))
    if m.get("best"):
        b = m["best"]
        blocks.append(
            ("p", f"Best {b['by']}: {_fmt(b['value'])} with {_fmt(b['params'])} (point {b['index']}).")
        )
    return blocks


def report_blocks(folder: str | Path) -> list[Block]:
    """The content of a run folder's report."""
    folder = Path(folder)
    run, m = _read(folder, "run.json"), _read(folder, "metrics.json")
    title = f"{run['name']}: {run['kind']}"
    if run.get("params"):
        title += " (" + ", ".join(f"{k} = {_fmt(v)}" for k, v in run["params"].items()) + ")"
    blocks: list[Block] = [("h1", title)]
    if run.get("description"):
        blocks.append(("p", run["description"]))
    if run["kind"] == "sweep":
        blocks.append(
            (
                "p",
                f"A grid over {', '.join(run['keys'])}: {run['points']} settings, {run['tasks']} "
                f"trainings in {run['seconds']:.1f} s.",
            )
        )
        blocks += (
            _what({"dataset": run.get("dataset")})[:2] if run.get("dataset", {}).get("n_samples") else []
        )
        blocks += _sweep_numbers(m)
        figures = [(p.name, *_sweep_caption(p.name, m)) for p in sorted(folder.glob("sweep_*.png"))]
    else:
        blocks += _what(run)
        blocks += _train_numbers(m) if run["kind"] == "train" else _cv_numbers(m)
        figures = [f for f in _FIGURES if (folder / f[0]).is_file()]
        if "reduction='sum'" in str(run.get("loss")):
            figures = [f if f[0] != "learning_curve.png" else (*f[:2], f[2] + _PER_SAMPLE) for f in figures]
    if figures:
        blocks.append(("h2", "Figures"))
        blocks += [("image", (folder / f, title, caption)) for f, title, caption in figures]
    if (folder / "config.toml").is_file():
        blocks += [
            ("h2", "Configuration (resolved)"),
            ("code", (folder / "config.toml").read_text(encoding="utf-8")),
        ]
    blocks += [("h2", "Files"), ("files", _files(folder))]
    return blocks


_PER_SAMPLE = (
    ' The loss is a sum over the samples (reduction = "sum"), so each curve is divided by its '
    "number of samples: train and held-out curves share one scale."
)


def _sweep_caption(name: str, m: dict[str, Any]) -> tuple[str, str]:
    """The title and caption of one of a sweep's figures."""
    if name == "sweep_curves.png":
        return "Learning curves", "The loss after each epoch, one colour and marker per setting."
    what = name.removesuffix(".png").removeprefix("sweep_").replace("_", " ")
    point = "Each point is one setting's result"
    if any(p.get("std") for p in m.get("points", [])):
        over = "folds" if m.get("cv") else "repeat seeds"
        point = f"Each point is a setting's mean over its {over}, the error bar ± one standard deviation"
    return what, f"{point}; each series has its own colour and marker, so equal results stay visible."


def _files(folder: Path) -> list[tuple[str, str]]:
    """Every file and folder the run wrote (but the reports), linked with what it holds."""
    out = []
    for p in sorted(folder.iterdir()):
        if p.name in ("report.html", "report.md"):
            continue
        note = _FILE_NOTES.get(p.name) or next((f"figure: {t}" for f, t, _ in _FIGURES if f == p.name), "")
        if not note and p.suffix == ".png":
            note = "figure: " + _sweep_caption(p.name, {})[0]
        out.append((p.name + ("/" if p.is_dir() else ""), note))
    return out


# -- rendering -----------------------------------------------------------------------------------
def _cell_md(cell: Any) -> str:
    if isinstance(cell, tuple) and cell and cell[0] == "link":
        href, text = cell[1]
        return f"[{text}]({href.replace('report.html', 'report.md')})"
    return _fmt(cell).replace("|", "\\|")


def _cell_html(cell: Any) -> str:
    if isinstance(cell, tuple) and cell and cell[0] == "link":
        href, text = cell[1]
        return f'<a href="{html.escape(href)}">{html.escape(text)}</a>'
    return html.escape(_fmt(cell))


def to_markdown(blocks: list[Block], folder: Path) -> str:
    out = []
    for kind, payload in blocks:
        if kind == "h1":
            out.append(f"# {payload}\n")
        elif kind == "h2":
            out.append(f"## {payload}\n")
        elif kind == "p":
            out.append(f"{payload}\n")
        elif kind == "list":
            out.append("\n".join(f"- {item}" for item in payload) + "\n")
        elif kind == "code":
            out.append(f"```\n{payload.rstrip()}\n```\n")
        elif kind == "table":
            head, rows = payload
            out.append("| " + " | ".join(_cell_md(h) for h in head) + " |")
            out.append("|" + "---|" * len(head))
            out += ["| " + " | ".join(_cell_md(c) for c in row) + " |" for row in rows]
            out.append("")
        elif kind == "image":
            path, title, *caption = payload
            out.append(f"![{title}]({os.path.relpath(path, folder)})\n")
            if caption:
                out.append(f"*{caption[0]}*\n")
        elif kind == "files":
            out.append(
                "\n".join(
                    f"- [{href}]({quote(href)})" + (f": {note}" if note else "") for href, note in payload
                )
            )
            out.append("")
    return "\n".join(out)


_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}
th{background:#f3f3f3}pre{background:#f6f8fa;padding:.6rem;overflow-x:auto}figure{margin:1rem 0}
img{max-width:100%;border:1px solid #eee}figcaption{color:#555;font-size:.9rem}"""


def _embed(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def to_html(blocks: list[Block]) -> str:
    title = next((p for k, p in blocks if k == "h1"), "nnscratch report")
    out = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
    ]
    for kind, payload in blocks:
        if kind in ("h1", "h2", "p"):
            out.append(f"<{kind}>{html.escape(str(payload))}</{kind}>")
        elif kind == "list":
            out.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in payload) + "</ul>")
        elif kind == "code":
            out.append(f"<pre>{html.escape(payload)}</pre>")
        elif kind == "table":
            head, rows = payload
            out.append("<table><tr>" + "".join(f"<th>{_cell_html(h)}</th>" for h in head) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{_cell_html(c)}</td>" for c in row) + "</tr>" for row in rows]
            out.append("</table>")
        elif kind == "image":
            path, title, *caption = payload
            text = html.escape(title)
            if caption:  # a figure of the report's own folder: explained, and its file linked
                name = Path(path).name
                link = f'<a href="{html.escape(quote(name))}">{html.escape(name)}</a>'
                text = f"<b>{text}.</b> {html.escape(caption[0])} ({link})"
            out.append(
                f"<figure><img src='{_embed(path)}' alt='{html.escape(title)}'>"
                f"<figcaption>{text}</figcaption></figure>"
            )
        elif kind == "files":
            items = [
                f'<li><a href="{html.escape(quote(href))}">{html.escape(href)}</a>'
                + (f": {html.escape(note)}" if note else "")
                + "</li>"
                for href, note in payload
            ]
            out.append("<ul class='files'>" + "".join(items) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out)


def write_report(folder: str | Path) -> Path:
    """Write ``report.html`` and ``report.md`` into a run folder; return the HTML path."""
    folder = Path(folder)
    blocks = report_blocks(folder)
    atomic_write(folder / "report.md", to_markdown(blocks, folder))
    return atomic_write(folder / "report.html", to_html(blocks))


# -- an index over several runs ------------------------------------------------------------------
def _headline(m: dict[str, Any]) -> str:
    if m["kind"] == "train":
        part = m.get("test") or m["train"]
        key = "accuracy" if "accuracy" in part else next(k for k in part if k != "n")
        return f"{m['evaluated_on']} {key} {_fmt(part[key])}"
    if m["kind"] == "cv":
        key = "accuracy" if "accuracy" in m["mean"] else next(iter(m["mean"]))
        return f"cv {key} {_fmt(m['mean'][key])} ± {_fmt(m['std'][key])}"
    best = m.get("best")
    if not best:
        return "every setting diverged"
    if len(m["points"]) <= 8:  # short enough to list every setting

        def short(v: Any) -> str:
            return _fmt(v) if not isinstance(v, float) else f"{v:g}"

        cells = [
            "/".join(short(v) for v in p["params"].values())
            + (f" {p['mean'][best['by']]:.2f}" if p["mean"] else " diverged")
            for p in m["points"]
        ]
        return f"{best['by']}: " + ", ".join(cells)
    return f"best {best['by']} {_fmt(best['value'])} at {_fmt(best['params'])}"


def index_rows(folders: list[Path]) -> list[dict[str, Any]]:
    rows = []
    for f in folders:
        run, m = _read(f, "run.json"), _read(f, "metrics.json")
        rows.append(
            {
                "folder": f,
                "name": run["name"],
                "kind": run["kind"],
                "data": run.get("dataset", {}).get("name", ""),
                "result": _headline(m),
                "seconds": run.get("seconds", 0.0),
            }
        )
    return rows


def write_index(folder: str | Path, runs: list[str | Path], title: str = "nnscratch runs") -> Path:
    """Write ``report.html``/``report.md`` in ``folder`` linking the reports of ``runs``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = index_rows([Path(r) for r in runs])
    table = [
        [
            r["name"],
            r["kind"],
            r["data"],
            r["result"],
            f"{r['seconds']:.1f}",
            ("link", (os.path.relpath(r["folder"] / "report.html", folder), "report")),
        ]
        for r in rows
    ]
    blocks: list[Block] = [
        ("h1", title),
        ("p", f"{len(rows)} runs."),
        ("table", (["experiment", "kind", "data", "result", "training (s)", "report"], table)),
    ]
    for r in rows:
        picture = next(
            (
                r["folder"] / f
                for f in ("decision_boundary.png", "prediction_vs_truth.png", "learning_curve.png")
                if (r["folder"] / f).is_file()
            ),
            None,
        )
        picture = picture or next(iter(sorted(r["folder"].glob("sweep_*.png"))), None)
        if picture is not None:
            blocks += [
                ("h2", f"{r['name']} ({r['kind']}): {r['result']}"),
                ("image", (picture, picture.name)),
            ]
    atomic_write(folder / "report.md", to_markdown(blocks, folder))
    return atomic_write(folder / "report.html", to_html(blocks))


__all__ = ["report_blocks", "to_html", "to_markdown", "write_index", "write_report"]
