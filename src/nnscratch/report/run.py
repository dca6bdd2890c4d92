"""The report of one run folder: ``write_report(folder)`` (train, cv or sweep)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nnscratch.base.files import atomic_write

from .numbers import banner, cv_numbers, sweep_numbers, train_numbers, what_was_trained
from .render import to_html, to_markdown
from .text import FIGURES, FILE_NOTES, PER_SAMPLE, Block, fmt, read_json


def report_blocks(folder: str | Path, run: dict[str, Any] | None = None) -> list[Block]:
    """The content of a run folder's report; ``run``: the run record when run.json is not written
    yet (the runner writes it last, see :func:`write_report`)."""
    folder = Path(folder)
    listed = run is not None
    run = run if run is not None else read_json(folder, "run.json")
    m = read_json(folder, "metrics.json")
    title = f"{run['name']}: {run['kind']}"
    if run.get("params"):
        title += " (" + ", ".join(f"{k} = {fmt(v)}" for k, v in run["params"].items()) + ")"
    blocks: list[Block] = [("h1", title), *banner(m)]
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
            what_was_trained({"dataset": run.get("dataset")})[:2]
            if run.get("dataset", {}).get("n_samples")
            else []
        )
        blocks += sweep_numbers(m)
        figures = [(p.name, *_sweep_caption(p.name, m)) for p in sorted(folder.glob("sweep_*.png"))]
    else:
        blocks += what_was_trained(run)
        blocks += train_numbers(m) if run["kind"] == "train" else cv_numbers(m)
        figures = [f for f in FIGURES if (folder / f[0]).is_file()]
        if "reduction='sum'" in str(run.get("loss")):
            figures = [f if f[0] != "learning_curve.png" else (*f[:2], f[2] + PER_SAMPLE) for f in figures]
        notes = run.get("figures") or {}  # what this run's figure shows (e.g. which sample), first
        figures = [
            (f, title, f"{notes[f]} {caption}" if notes.get(f) else caption) for f, title, caption in figures
        ]
    if figures:
        blocks.append(("h2", "Figures"))
        blocks += [("image", (folder / f, title, caption)) for f, title, caption in figures]
    if (folder / "config.toml").is_file():
        blocks += [
            ("h2", "Configuration (resolved)"),
            ("code", (folder / "config.toml").read_text(encoding="utf-8")),
        ]
    blocks += [("h2", "Files"), ("files", _files(folder, ("run.json",) if listed else ()))]
    return blocks


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


def _files(folder: Path, to_come: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """Every file and folder the run wrote (but the reports) and the files ``to_come`` (written
    after the report), linked with what they hold."""
    out = []
    paths = {p.name: p for p in folder.iterdir()} | {name: folder / name for name in to_come}
    for name, p in sorted(paths.items()):
        if name in ("report.html", "report.md"):
            continue
        note = FILE_NOTES.get(name) or next((f"figure: {t}" for f, t, _ in FIGURES if f == name), "")
        if not note and p.suffix == ".png":
            note = "figure: " + _sweep_caption(name, {})[0]
        out.append((name + ("/" if p.is_dir() else ""), note))
    return out


def write_report(folder: str | Path, run: dict[str, Any] | None = None) -> Path:
    """Write ``report.html`` and ``report.md`` into a run folder; return the HTML path.

    ``run`` is the run record, for the runner, which writes the report before ``run.json`` (the
    record that the run finished comes last); by default it is read from ``run.json``.
    """
    folder = Path(folder)
    blocks = report_blocks(folder, run)
    atomic_write(folder / "report.md", to_markdown(blocks, folder))
    return atomic_write(folder / "report.html", to_html(blocks))


__all__ = ["report_blocks", "write_report"]
