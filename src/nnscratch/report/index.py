"""A page over several runs: one row per run with its headline number, linking each report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nnscratch.base.files import atomic_write

from .render import to_html, to_markdown
from .text import Block, fmt, label, read_json


def headline(m: dict[str, Any]) -> str:
    s = m.get("summary") or {}
    if m["kind"] == "train":
        part = m.get("test") or m["train"]
        key = "accuracy" if "accuracy" in part else next(k for k in part if k != "n")
        # sequences: whole sequences right first, then positions right
        exact = (
            f"exact_match {fmt(part['exact_match'])}, "
            if "exact_match" in part and key != "exact_match"
            else ""
        )
        text = f"{m['evaluated_on']} {exact}{key} {fmt(part[key])}"
        if s.get("repeats", 1) > 1:
            both = f"{m['evaluated_on']}_{key}"
            text += f" (mean over {s['repeats']} seeds {fmt(s['mean'][both])} ± {fmt(s['std'][both])})"
        return text + ("  [warning: did not learn, see the report]" if m.get("warnings") else "")
    if m["kind"] == "cv":
        key = "accuracy" if "accuracy" in m["mean"] else next(iter(m["mean"]))
        text = f"cv {key} {fmt(m['mean'][key])} ± {fmt(m['std'][key])}"
        return text + ("  [warning: did not learn, see the report]" if m.get("warnings") else "")
    best = m.get("best")
    if not best:
        return "every setting diverged"
    if len(m["points"]) <= 8:  # short enough to list every setting

        def short(v: Any) -> str:
            return fmt(v) if not isinstance(v, float) else f"{v:g}"

        def result(p: dict[str, Any]) -> str:
            if not p["mean"]:
                return " diverged"
            return f" {p['mean'][best['by']]:.2f}" + (" (did not learn)" if p.get("warnings") else "")

        cells = ["/".join(short(v) for v in p["params"].values()) + result(p) for p in m["points"]]
        return f"{label(best['by'])}: " + ", ".join(cells)
    failed = sum(1 for p in m["points"] if not p["mean"] or p.get("warnings"))
    warned = f"; {failed} settings diverged or did not learn" if failed else ""
    return f"best {label(best['by'])} {fmt(best['value'])} at {fmt(best['params'])}{warned}"


def index_rows(folders: list[Path]) -> list[dict[str, Any]]:
    rows = []
    for f in folders:
        run, m = read_json(f, "run.json"), read_json(f, "metrics.json")
        rows.append(
            {
                "folder": f,
                "name": run["name"],
                "kind": run["kind"],
                "data": run.get("dataset", {}).get("name", ""),
                "result": headline(m),
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


__all__ = ["headline", "index_rows", "write_index"]
