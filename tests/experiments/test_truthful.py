"""Experiments that tell the truth: like with like, held-out curves, failures that show.

Each test runs a small experiment file through the CLI (in-process) or the runner and checks the
run folder's numbers against their definitions.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnscratch.cli import EXIT_DIVERGED, app
from nnscratch.experiments.config import load_config
from nnscratch.experiments.sweep import plan, run_point

EXAMPLES = Path(__file__).parents[2] / "examples"

SMALL = """\
[experiment]
name = "small"
seed = 5
{experiment}

[data]
dataset = "moons"
params = {{ n_samples = 80, noise = 0.15, seed = 1 }}
test_size = 0.25

[model]
hidden = [6]
activation = "tanh"

[optimizer]
name = "sgd"
lr = 0.5

[training]
epochs = 25
batch_size = 16

{extra}
"""


def write(tmp_path: Path, experiment: str = "", extra: str = "") -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL.format(experiment=experiment, extra=extra))
    return path


def invoke(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


# -- like with like ----------------------------------------------------------------------------
def test_a_sweep_over_learning_rates_too_small_to_move_compares_equal_settings(tmp_path):
    # neither point moves its weights: with the seed rule both report the same numbers
    path = write(tmp_path, extra='[sweep]\n"optimizer.lr" = [1e-12, 2e-12]\n')
    code, out = invoke("sweep", path, "--out", tmp_path / "sw", "--no-figures")
    assert code == 0, out
    m = json.loads((tmp_path / "sw" / "metrics.json").read_text())
    a, b = (p["mean"] for p in m["points"])
    assert a["test_accuracy"] == b["test_accuracy"] and a["train_accuracy"] == b["train_accuracy"]
    assert a["test_loss"] == pytest.approx(b["test_loss"], rel=1e-9)
    # and the report says so, and that neither point learned
    page = (tmp_path / "sw" / "report.md").read_text()
    assert "All settings and folds start from the same initial weights" in page
    assert page.count("> **Warning:**") == 2 and "no progress" in page
    assert out.count("warning: optimizer.lr=") == 2


def test_every_point_of_a_learning_rate_sweep_starts_from_the_same_loss(tmp_path):
    # full batch: the epoch-1 loss is the loss of the initial weights, before any update
    path = write(tmp_path, extra='[sweep]\n"optimizer.lr" = [0.01, 0.1, 0.5, 1.0]\n')
    cfg = load_config(path, ["training.batch_size=1000", "training.epochs=2"])
    tasks = plan(cfg, cv=False, sweep=True)
    assert len({t.seed for t in tasks}) == 1
    first = [run_point(t.config, t.fold, t.seed)["history"]["loss"] for t in tasks]
    assert len({h[0] for h in first}) == 1, first
    assert len({h[1] for h in first}) == 4  # then the learning rates make the difference


def test_every_cv_fold_starts_from_the_same_weights(tmp_path):
    path = write(tmp_path, extra="[evaluation]\ncv = 3\n")
    # a step of 1e-30 leaves every weight as it was: the saved weights are the initial ones
    cfg = load_config(path, ["training.epochs=1", "optimizer.lr=1e-30"])
    tasks = plan(cfg, cv=True, sweep=False)
    weights = [run_point(t.config, t.fold, t.seed)["state_dict"] for t in tasks]
    assert len(weights) == 3
    for w in weights[1:]:
        assert all(np.array_equal(w[k], weights[0][k]) for k in w)


def test_repeats_report_mean_and_std_over_seeds(tmp_path):
    path = write(tmp_path, extra='[sweep]\n"model.hidden" = [[2], [8]]\n')
    code, out = invoke("sweep", path, "--repeats", "3", "--out", tmp_path / "sw")
    assert code == 0, out
    m = json.loads((tmp_path / "sw" / "metrics.json").read_text())
    assert m["repeats"] == 3
    for p in m["points"]:
        assert p["repeats"] == 3 and len(p["per_repeat"]) == 3
        values = [r["test_accuracy"] for r in p["per_repeat"]]
        assert p["mean"]["test_accuracy"] == pytest.approx(np.mean(values))
        assert p["std"]["test_accuracy"] == pytest.approx(np.std(values))
    assert out.count("repeat 3") == 2
    page = (tmp_path / "sw" / "report.md").read_text()
    assert "mean ± std over 3 seeds" in page and "| test accuracy |" in page.replace("  ", " ")
    assert (tmp_path / "sw" / "sweep_test_accuracy_vs_model_hidden.png").is_file()
    # a train run with repeats: the first seed's folder, the mean ± std over all in the report
    code, out = invoke("train", path, "--repeats", "2", "--out", tmp_path / "tr", "--no-figures")
    assert code == 0, out
    t = json.loads((tmp_path / "tr" / "metrics.json").read_text())
    assert t["summary"]["repeats"] == 2 and "mean over 2 seeds" in out


# -- held-out curves ---------------------------------------------------------------------------
def test_a_run_with_a_test_split_records_test_curves_that_end_at_the_reported_numbers(tmp_path):
    path = write(tmp_path, extra="[evaluation]\nmetrics = ['accuracy', 'f1']\n")
    code, out = invoke("train", path, "--out", tmp_path / "tr", "--no-figures")
    assert code == 0, out
    rows = read_csv(tmp_path / "tr" / "history.csv")
    assert {"loss", "accuracy", "test_loss", "test_accuracy"} <= set(rows[0])
    m = json.loads((tmp_path / "tr" / "metrics.json").read_text())
    # the test curve is evaluated after each epoch: its last point is the final model's number
    assert float(rows[-1]["test_loss"]) == pytest.approx(m["test"]["loss"], rel=1e-12)
    assert float(rows[-1]["test_accuracy"]) == m["test"]["accuracy"]
    assert m["summary"]["mean"]["test_f1"] == m["test"]["f1"]


def test_numbers_are_labelled_last_epoch_loss_versus_final_model_loss(tmp_path):
    path = write(tmp_path)
    code, _ = invoke("train", path, "--out", tmp_path / "tr", "--no-figures")
    assert code == 0
    m = json.loads((tmp_path / "tr" / "metrics.json").read_text())
    rows = read_csv(tmp_path / "tr" / "history.csv")
    assert m["last_epoch_loss"] == float(rows[-1]["loss"])
    page = (tmp_path / "tr" / "report.md").read_text()
    assert "training loss averaged over the last epoch (before its updates" in page
    assert "loss (final model)" in page


# -- failures show -----------------------------------------------------------------------------
def test_moons_with_a_huge_learning_rate_exits_as_diverged(tmp_path):
    code, out = invoke(
        "train", EXAMPLES / "moons_2331.toml", "--set", "optimizer.lr=1e6", "--out", tmp_path / "m", "-q"
    )
    assert code == EXIT_DIVERGED == 3
    assert "error: training diverged at epoch" in out and "smaller learning rate" in out


def test_a_run_that_does_not_learn_warns_in_the_cli_and_the_report(tmp_path):
    path = write(tmp_path)
    code, out = invoke("train", path, "--set", "optimizer.lr=1e-12", "--out", tmp_path / "tr", "--no-figures")
    assert code == 0
    assert "warning: no progress" in out and "[warning: did not learn" in out
    html = (tmp_path / "tr" / "report.html").read_text()
    body = html[html.index("<h1>") :]
    assert body.index("class='warning'") < body.index("<h2>")  # a banner above everything else


def test_a_single_class_dataset_is_a_data_error(tmp_path):
    data = tmp_path / "one.csv"
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.3f},{b:.3f},1" for a, b in rng.normal(size=(30, 2)))
    data.write_text("x1,x2,label\n" + rows + "\n")
    path = tmp_path / "one.toml"
    path.write_text(f'[data]\ncsv = "{data}"\ntarget = "label"\n[training]\nepochs = 3\n')
    code, out = invoke("train", path, "--out", tmp_path / "o")
    assert code == 2 and "single class" in out


def test_summed_losses_are_also_reported_per_sample_so_parts_compare(tmp_path):
    path = write(tmp_path, extra='[loss]\nname = "bce"\nreduction = "sum"\n')
    code, out = invoke("train", path, "--set", "optimizer.lr=0.02", "--out", tmp_path / "tr", "--no-figures")
    assert code == 0, out
    m = json.loads((tmp_path / "tr" / "metrics.json").read_text())
    for part in ("train", "test"):
        assert m[part]["loss_per_sample"] == pytest.approx(m[part]["loss"] / m[part]["n"], rel=1e-15)
    assert m["summary"]["mean"]["test_loss_per_sample"] == m["test"]["loss_per_sample"]
    assert "loss per sample (final model)" in (tmp_path / "tr" / "report.md").read_text()
