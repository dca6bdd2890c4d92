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

from nnscratch.base.errors import ConfigError
from nnscratch.base.files import atomic_write

Block = tuple[str, Any]  # ("h1"|"h2"|"p"|"warning"|"list"|"table"|"code"|"image"|"link", payload)

_FIGURES = [
    ("learning_curve.png", "Learning curve"),
    ("decision_boundary.png", "Decision boundary"),
    ("confusion_matrix.png", "Confusion matrix"),
    ("prediction_vs_truth.png", "Prediction vs truth"),
    ("network.png", "Network"),
]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return "" if value is None else str(value)


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
        items.append(f"Loss: {run['loss']}; optimizer: {_fmt(run.get('optimizer'))}.")
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


_SEED_RULE = (
    "All settings and folds start from the same initial weights and shuffle their mini-batches "
    "the same way (both come from experiment.seed), so the differences come from what varies, "
    "not from initialisation luck."
)


def _label(key: str, cv: bool = False) -> str:
    """A header that says which data a number is on (as :mod:`nnscratch.experiments.summary`)."""
    if key == "last_epoch_loss":
        return "loss averaged over the last epoch"
    part, _, metric = key.partition("_")
    if part == "test" and cv:
        return f"held-out fold {metric}"
    return f"{part} {metric}" if metric and part in ("train", "test") else key.replace("_", " ")


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
        ("table", (["seed", *(_label(k, cv) for k in keys)], rows)),
    ]


def _train_numbers(m: dict[str, Any]) -> list[Block]:
    parts = [p for p in ("train", "test") if m.get(p)]
    keys = [k for k in m[parts[0]] if k != "n"]
    rows = [[p, m[p]["n"], *(m[p].get(k) for k in keys)] for p in parts]
    blocks: list[Block] = [
        ("h2", "Results"),
        (
            "p",
            f"{m['epochs_run']} epochs. The table holds the final model's numbers on each part; the "
            f"training loss averaged over the last epoch (before its updates, as the learning curve "
            f"shows it) was {_fmt(m['last_epoch_loss'])}.",
        ),
        ("table", (["data", "samples", *(k if k != "loss" else "loss (final model)" for k in keys)], rows)),
    ]
    blocks += _repeats(m, cv=False)
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
            f"Metrics of each fold's final model on its held-out fold, then their average over the "
            f"folds ({m['n_samples']} test predictions). {_SEED_RULE}",
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
            ("table", (["", *(_label(k) for k in train_keys)], rows)),
        ]
    blocks += _repeats(m, cv=True)
    if m.get("confusion_matrix"):
        blocks += [
            ("h2", "Confusion matrix accumulated over the folds"),
            _confusion(m["confusion_matrix"], m["labels"]),
        ]
    return blocks


def _sweep_numbers(m: dict[str, Any]) -> list[Block]:
    keys = m["keys"]
    cv = bool(m.get("cv"))
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
        rows.append([p["index"], *(_fmt(p["params"][k]) for k in keys), *cells, link])
    repeats = m.get("repeats", 1)
    spread = (
        f"mean ± std over {repeats} seeds"
        if repeats > 1
        else ("mean ± std over the folds" if cv else "one training per setting")
    )
    where = f"{m['cv']}-fold cross-validation" if cv else f"a train/{m['evaluated_on']} split"
    blocks: list[Block] = [
        ("h2", "Results"),
        (
            "p",
            f"{len(m['points'])} settings on {where} ({spread}). Train numbers are the final model on "
            f"its training data, test numbers on data it never saw. {_SEED_RULE}",
        ),
        ("table", (["#", *keys, *(_label(k, cv) for k in metric_keys or ["result"]), "run"], rows)),
    ]
    for p in m["points"]:
        if p.get("diverged"):
            blocks.append(("p", f"Setting {p['index']} ({_params(p['params'])}) diverged: {p['diverged']}"))
    if m.get("best"):
        b = m["best"]
        blocks.append(
            (
                "p",
                f"Best {_label(b['by'], cv)}: {_fmt(b['value'])} with {_params(b['params'])} "
                f"(point {b['index']}).",
            )
        )
    return blocks


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {_fmt(v)}" for k, v in params.items())


def _banner(m: dict[str, Any]) -> list[Block]:
    """Failures first: a run that diverged or did not learn says so above its numbers."""
    lines = list(m.get("warnings") or [])
    for p in m.get("points", []):
        if p.get("diverged"):
            lines.append(f"setting {p['index']} ({_params(p['params'])}) diverged: {p['diverged']}")
        lines += [f"setting {p['index']} ({_params(p['params'])}): {w}" for w in p.get("warnings") or []]
    return [("warning", line) for line in lines]


def report_blocks(folder: str | Path) -> list[Block]:
    """The content of a run folder's report."""
    folder = Path(folder)
    run, m = _read(folder, "run.json"), _read(folder, "metrics.json")
    title = f"{run['name']}: {run['kind']}"
    if run.get("params"):
        title += " (" + ", ".join(f"{k} = {_fmt(v)}" for k, v in run["params"].items()) + ")"
    blocks: list[Block] = [("h1", title), *_banner(m)]
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
        figures = sorted(p.name for p in folder.glob("sweep_*.png"))
        titles = {f: f.removesuffix(".png").replace("sweep_", "").replace("_", " ") for f in figures}
    else:
        blocks += _what(run)
        blocks += _train_numbers(m) if run["kind"] == "train" else _cv_numbers(m)
        figures = [f for f, _ in _FIGURES if (folder / f).is_file()]
        titles = dict(_FIGURES)
    if figures:
        blocks.append(("h2", "Figures"))
        blocks += [("image", (folder / f, titles.get(f, f))) for f in figures]
    if (folder / "config.toml").is_file():
        blocks += [
            ("h2", "Configuration (resolved)"),
            ("code", (folder / "config.toml").read_text(encoding="utf-8")),
        ]
    files = sorted(
        str(p.relative_to(folder)) for p in folder.iterdir() if p.name not in ("report.html", "report.md")
    )
    blocks += [("h2", "Files"), ("p", ", ".join(files))]
    return blocks


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
        elif kind == "warning":
            out.append(f"> **Warning:** {payload}\n")
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
            path, title = payload
            out.append(f"![{title}]({os.path.relpath(path, folder)})\n")
    return "\n".join(out)


_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}
th{background:#f3f3f3}pre{background:#f6f8fa;padding:.6rem;overflow-x:auto}figure{margin:1rem 0}
img{max-width:100%;border:1px solid #eee}figcaption{color:#555;font-size:.9rem}
.warning{background:#fff4e5;border-left:4px solid #e67700;padding:.5rem .8rem}"""


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
        elif kind == "warning":
            out.append(f"<p class='warning'><strong>Warning:</strong> {html.escape(str(payload))}</p>")
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
            path, caption = payload
            out.append(
                f"<figure><img src='{_embed(path)}' alt='{html.escape(caption)}'>"
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
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
    s = m.get("summary") or {}
    if m["kind"] == "train":
        part = m.get("test") or m["train"]
        key = "accuracy" if "accuracy" in part else next(k for k in part if k != "n")
        text = f"{m['evaluated_on']} {key} {_fmt(part[key])}"
        if s.get("repeats", 1) > 1:
            label = f"{m['evaluated_on']}_{key}"
            text += f" (mean over {s['repeats']} seeds {_fmt(s['mean'][label])} ± {_fmt(s['std'][label])})"
        return text + ("  [warning: did not learn, see the report]" if m.get("warnings") else "")
    if m["kind"] == "cv":
        key = "accuracy" if "accuracy" in m["mean"] else next(iter(m["mean"]))
        text = f"cv {key} {_fmt(m['mean'][key])} ± {_fmt(m['std'][key])}"
        return text + ("  [warning: did not learn, see the report]" if m.get("warnings") else "")
    best = m.get("best")
    if not best:
        return "every setting diverged"
    if len(m["points"]) <= 8:  # short enough to list every setting

        def short(v: Any) -> str:
            return json.dumps(v).strip('"') if not isinstance(v, float) else f"{v:g}"

        cells = [
            "/".join(short(v) for v in p["params"].values())
            + (f" {p['mean'][best['by']]:.2f}" if p["mean"] else " diverged")
            for p in m["points"]
        ]
        return f"{_label(best['by'])}: " + ", ".join(cells)
    return f"best {_label(best['by'])} {_fmt(best['value'])} at {_params(best['params'])}"


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
