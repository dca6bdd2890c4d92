"""A run folder's resolved config (no tables that do nothing for the run) and the figures' sample
counts, which turn a summed loss into a per-sample one."""

from __future__ import annotations

import csv
import json
import tomllib
from pathlib import Path

import pytest

from helpers.experiments import cli_run, moons_file
from nnscratch.experiments import load_config
from nnscratch.experiments.config import validate
from nnscratch.experiments.figures import sample_counts
from nnscratch.experiments.run_folder import write_config


def train(tmp_path: Path, name: str, reduction: str = "sum", lr: float = 0.05) -> Path:
    path = moons_file(
        tmp_path / f"{name}.toml",
        name="tiny",
        seed=2,
        data_seed=1,
        n_samples=60,
        hidden=4,
        reduction=reduction,
        optimizer=f'name = "gd"\nlr = {lr!r}',
        training="epochs = 4\nvalidation_split = 0.2",
    )
    cli_run("train", path, "--out", tmp_path / name, "-q", "--no-figures")
    return tmp_path / name


def history(folder: Path) -> dict[str, list[float]]:
    with open(folder / "history.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k: [float(r[k]) for r in rows] for k in rows[0]}


def test_a_train_run_writes_no_empty_sweep_or_default_cluster_table(tmp_path):
    run = train(tmp_path, "run")
    text = (run / "config.toml").read_text()
    assert "[sweep]" not in text and "[cluster]" not in text
    as_json = json.loads((run / "config.json").read_text())
    assert "sweep" not in as_json and "cluster" not in as_json
    original = load_config(tmp_path / "run.toml")
    assert validate(tomllib.loads(text)) == original == validate(as_json)


def test_write_config_keeps_the_tables_that_say_something(tmp_path):
    cfg = load_config(
        {
            "data": {"dataset": "xor"},
            "sweep": {"optimizer.lr": [0.1, 1.0]},
            "cluster": {"timeout": 60.0},
        }
    )
    write_config(tmp_path, cfg.to_dict())
    written = tomllib.loads((tmp_path / "config.toml").read_text())
    assert written["sweep"] == {"optimizer.lr": [0.1, 1.0]} and written["cluster"]["timeout"] == 60.0
    assert validate(written) == cfg == validate(json.loads((tmp_path / "config.json").read_text()))


def test_sample_counts_make_a_summed_loss_the_mean_loss(tmp_path):
    """Full-batch gradient descent on a sum with lr / n takes the same steps as on the mean with lr,
    so each summed curve divided by its sample count must equal the mean run's curve."""
    mean_run = train(tmp_path, "mean", "mean", lr=0.5)
    n_fit = 45 - 9  # 60 rows less 25 % test (15), less ceil(20 % of 45) = 9 validation rows
    sum_run = train(tmp_path, "sum", "sum", lr=0.5 / n_fit)
    metrics = json.loads((sum_run / "metrics.json").read_text())
    summed = history(sum_run)
    result = {"train": metrics["train"], "test": metrics["test"], "task": metrics["task"], "history": summed}
    counts = sample_counts(load_config(tmp_path / "sum.toml"), result)
    assert counts["loss"] == n_fit and counts["val_loss"] == 9
    assert set(counts) == {k for k in ("loss", "val_loss", "test_loss") if k in summed}
    means = history(mean_run)
    for key, n in counts.items():
        assert [v / n for v in summed[key]] == pytest.approx(means[key], rel=1e-9)
    result["history"] = means
    assert sample_counts(load_config(tmp_path / "mean.toml"), result) is None
