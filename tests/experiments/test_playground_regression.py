"""The Playground's regression sets from experiment files: MSE loss, identity output, with the
input features and L1 of the same issue (#19), end to end through ``nnscratch train``."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

pytest.importorskip("pydantic")

from typer.testing import CliRunner

import nnscratch as ns
from helpers.experiments import cli_run
from nnscratch.cli import app
from nnscratch.experiments import builder
from nnscratch.experiments.config import load_config


def write(tmp_path, dataset: str, noise: float = 0.1):
    path = tmp_path / f"{dataset}.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            [experiment]
            seed = 1

            [data]
            dataset = "{dataset}"
            params = {{ n_samples = 120, noise = {noise}, seed = 5 }}
            test_size = 0.25

            [model]
            features = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]
            hidden = [6]
            output = "identity"

            [loss]
            name = "mse"

            [optimizer]
            name = "adam"
            lr = 0.02
            l1 = 0.0001

            [training]
            epochs = 30
            batch_size = 10
            """
        )
    )
    return path


@pytest.mark.parametrize("dataset", ["plane", "multi_gaussian"])
def test_a_regression_run_reports_mse_and_keeps_the_setup(tmp_path, dataset):
    path = write(tmp_path, dataset)
    cfg = load_config(path)
    data, _ = builder.load_data(cfg)
    assert data.task == "regression" and builder.loss_name(cfg, data.task) == "mse"
    assert builder.n_outputs(cfg, "mse", data) == 1
    cli_run("train", path, "--out", tmp_path / "run", "-q", "--no-figures")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["task"] == "regression" and metrics["test"]["n"] == 30
    assert np.isfinite(metrics["test"]["mse"]) and "accuracy" not in metrics["test"]
    model = ns.load(tmp_path / "run" / "model.npz")
    assert isinstance(model.layers[0], ns.Features) and isinstance(model.layers[-1], ns.Linear)
    assert model(data.X[:3]).shape == (3, 1)


def test_the_plane_is_learnt_better_than_the_mean(tmp_path):
    path = write(tmp_path, "plane", noise=0.0)
    cli_run("train", path, "--out", tmp_path / "run", "-q", "--no-figures", "--set", "training.epochs=100")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test"]["r2"] > 0.95


def test_datasets_list_shows_them():
    result = CliRunner().invoke(app, ["datasets", "list"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[1:] if line.strip()}
    for name in ("plane", "multi_gaussian"):
        assert lines[name].split()[1:4] == ["regression", "200", "2"]
