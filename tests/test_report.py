"""Reports a student can follow: every file of the run linked, figures explained, settings written
as ``key = value`` text and never as raw JSON."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers.experiments import cli_run, moons_file
from nnscratch.report import report_blocks


def run(tmp_path: Path, command: str, extra: str = "") -> Path:
    path = moons_file(
        tmp_path / f"{command}.toml",
        name="linked",
        seed=0,
        data_seed=0,
        n_samples=48,
        hidden=3,
        reduction="sum",
        optimizer='name = "sgd"\nlr = 0.05\nmomentum = 0.5',
        training="epochs = 3",
        extra=extra,
    )
    out = tmp_path / command
    cli_run(command, path, "--out", out, "-q", *(["--jobs", "1"] if command == "sweep" else []))
    return out


@pytest.fixture(scope="module")
def train_folder(tmp_path_factory) -> Path:
    return run(tmp_path_factory.mktemp("report"), "train")


def prose(page: str) -> str:
    """The HTML page without its code blocks (the resolved TOML) and embedded images."""
    page = re.sub(r"<pre>.*?</pre>", "", page, flags=re.S)
    return re.sub(r"src='data:[^']*'", "", page)


def test_the_report_links_every_file_of_the_run(train_folder):
    page = (train_folder / "report.html").read_text()
    md = (train_folder / "report.md").read_text()
    written = [p.name for p in train_folder.iterdir() if p.name not in ("report.html", "report.md")]
    for name in ("history.csv", "predictions.csv", "metrics.json", "model.npz", "config.toml", "network.png"):
        assert name in written
    for name in written:
        assert f'<a href="{name}">{name}</a>' in page
        assert f"[{name}]({name})" in md
    assert '<a href="history.csv">history.csv</a>: loss and metrics after each epoch' in page


def test_the_report_explains_each_figure(train_folder):
    page = (train_folder / "report.html").read_text()
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page)
    assert len(captions) == page.count("data:image/png;base64,") == 4
    boundary = next(c for c in captions if c.startswith("<b>Decision boundary.</b>"))
    assert "true class" in boundary and "misclassified" in boundary
    assert '<a href="decision_boundary.png">decision_boundary.png</a>' in boundary
    curve = next(c for c in captions if c.startswith("<b>Learning curve.</b>"))
    assert "divided by its number of samples" in curve  # the run's loss is a sum
    md = (train_folder / "report.md").read_text()
    assert (
        "![Decision boundary](decision_boundary.png)\n\n*Left: every sample coloured by its true class." in md
    )


def test_the_report_writes_settings_as_text_not_json(train_folder):
    page = prose((train_folder / "report.html").read_text())
    md = re.sub(r"```.*?```", "", (train_folder / "report.md").read_text(), flags=re.S)
    for text in (page, md):
        assert '{"' not in text and '["' not in text
    assert "optimizer: sgd (lr = 0.05, momentum = 0.5, " in md


def test_a_sweep_report_shows_its_settings_without_json_quotes(tmp_path):
    extra = '\n[sweep]\n"data.dataset" = ["moons", "circles"]\n"optimizer.lr" = [0.05, 0.5]\n'
    folder = run(tmp_path, "sweep", extra)
    blocks = report_blocks(folder)
    (table,) = [payload for kind, payload in blocks if kind == "table"]
    head, rows = table
    assert head[:3] == ["#", "data.dataset", "optimizer.lr"]
    assert [row[1] for row in rows] == ["moons", "moons", "circles", "circles"]
    assert [row[2] for row in rows] == ["0.05", "0.5", "0.05", "0.5"]  # as written in the file
    page = prose((folder / "report.html").read_text())
    assert '"moons"' not in page and '{"' not in page
    assert '<a href="sweep.csv">sweep.csv</a>' in page and '<a href="points/">points/</a>' in page
    figures = [payload for kind, payload in blocks if kind == "image"]
    assert {Path(f[0]).name for f in figures} >= {
        "sweep_test_accuracy_vs_optimizer_lr.png",
        "sweep_curves.png",
    }
    assert all(len(f) == 3 and f[2] for f in figures)  # every figure has a caption
