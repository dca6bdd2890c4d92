"""End-to-end tests of the ``nnscratch`` command on small experiment files.

Each command runs in-process (typer's CliRunner); the run folders are checked file by file and
number by number against scikit-learn.
"""

from __future__ import annotations

import csv
import json
import pickle
import tomllib
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as skm
from typer.testing import CliRunner

from nnscratch.cli import app

SMALL = """\
[experiment]
name = "small"
seed = 3
description = "a small test run"

[data]
dataset = "moons"
params = { n_samples = 60, noise = 0.1, seed = 1 }
{data_extra}

[model]
hidden = [6]
activation = "tanh"

[optimizer]
name = "momentum"
lr = 0.2

[training]
epochs = 30
batch_size = 16
{extra}
"""


def experiment(tmp_path: Path, data_extra: str = "", extra: str = "", name: str = "small.toml") -> Path:
    path = tmp_path / name
    path.write_text(SMALL.replace("{data_extra}", data_extra).replace("{extra}", extra))
    return path


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def sk_scores(y_true, y_pred, average="binary") -> dict[str, float]:
    return {
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "precision": skm.precision_score(y_true, y_pred, average=average, zero_division=0),
        "recall": skm.recall_score(y_true, y_pred, average=average, zero_division=0),
        "f1": skm.f1_score(y_true, y_pred, average=average, zero_division=0),
    }


@pytest.fixture(scope="module")
def train_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("train")
    out = cli("train", experiment(tmp, "test_size = 0.25"), "--out", tmp / "run")
    return tmp, tmp / "run", out


def test_train_writes_a_self_contained_folder(train_run):
    _, run, out = train_run
    names = {p.name for p in run.iterdir()}
    expected = {"config.toml", "config.json", "run.json", "metrics.json", "history.csv", "predictions.csv"}
    expected |= {"learning_curve.png", "decision_boundary.png", "confusion_matrix.png", "network.png"}
    expected |= {"report.html", "report.md"}
    assert expected <= names
    assert {"model.npz"} & names or {"weights.npz"} & names
    assert "test accuracy" in out and "report.html" in out
    for png in run.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_resolved_config_reloads_to_the_same_config(train_run):
    from nnscratch.experiments.config import validate

    _, run, _ = train_run
    from_toml = validate(tomllib.loads((run / "config.toml").read_text()))
    from_json = validate(json.loads((run / "config.json").read_text()))
    assert from_toml == from_json
    assert from_toml.training.epochs == 30 and from_toml.data.test_size == 0.25


def test_train_metrics_equal_sklearn_on_the_saved_predictions(train_run):
    _, run, _ = train_run
    m = json.loads((run / "metrics.json").read_text())
    rows = read_csv(run / "predictions.csv")
    y_true = np.array([int(r["y_true"]) for r in rows])
    y_pred = np.array([int(r["y_pred"]) for r in rows])
    assert len(rows) == m["test"]["n"] == 15  # 25 % of 60
    for key, value in sk_scores(y_true, y_pred).items():
        assert m["test"][key] == pytest.approx(value, abs=1e-12)
    assert m["confusion_matrix"] == skm.confusion_matrix(y_true, y_pred).tolist()
    # the scores are the probabilities the labels were thresholded from
    scores = np.array([float(r["score"]) for r in rows])
    assert np.array_equal(scores > 0.5, y_pred == 1)


def test_train_history_and_saved_weights(train_run):
    _, run, _ = train_run
    rows = read_csv(run / "history.csv")
    assert [int(r["epoch"]) for r in rows] == list(range(1, 31))
    losses = [float(r["loss"]) for r in rows]
    assert losses[-1] < losses[0]
    m = json.loads((run / "metrics.json").read_text())
    assert m["last_epoch_loss"] == pytest.approx(losses[-1], rel=1e-12)
    weights = run / "weights.npz" if (run / "weights.npz").exists() else None
    if weights is not None:
        with np.load(weights) as archive:
            assert archive["0.weight"].shape == (6, 2) and archive["2.weight"].shape == (1, 6)


def test_same_file_and_seed_give_identical_metrics(train_run, tmp_path):
    tmp, run, _ = train_run
    cli("train", experiment(tmp, "test_size = 0.25"), "--out", tmp_path / "again", "--quiet", "--no-figures")
    assert (tmp_path / "again" / "metrics.json").read_bytes() == (run / "metrics.json").read_bytes()
    cli(
        "train",
        experiment(tmp, "test_size = 0.25"),
        "--out",
        tmp_path / "other",
        "-q",
        "--no-figures",
        "--set",
        "experiment.seed=4",
    )
    assert (tmp_path / "other" / "metrics.json").read_bytes() != (run / "metrics.json").read_bytes()


def test_report_html_is_self_contained(train_run):
    _, run, _ = train_run
    page = (run / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 4
    assert "src='learning_curve.png'" not in page and "<h1>small: train</h1>" in page
    md = (run / "report.md").read_text()
    assert "![Learning curve](learning_curve.png)" in md and "| test | 15 |" in md


def test_cv_confusion_matrix_sums_to_the_dataset_and_folds_match_sklearn(tmp_path):
    out = cli("cv", experiment(tmp_path, extra="\n[evaluation]\ncv = 4"), "--out", tmp_path / "cv")
    run = tmp_path / "cv"
    assert "fold 4" in out
    m = json.loads((run / "metrics.json").read_text())
    assert np.sum(m["confusion_matrix"]) == 60 == m["n_samples"]
    assert len(m["folds"]) == 4 and sorted(f["n"] for f in m["folds"]) == [15, 15, 15, 15]
    rows = read_csv(run / "predictions.csv")
    assert sorted(int(r["index"]) for r in rows) == list(range(60))  # every sample tested exactly once
    for fold in m["folds"]:
        part = [r for r in rows if int(r["fold"]) == fold["fold"] + 1]
        y_true = [int(r["y_true"]) for r in part]
        y_pred = [int(r["y_pred"]) for r in part]
        for key, value in sk_scores(y_true, y_pred).items():
            assert fold[key] == pytest.approx(value, abs=1e-12)
    for key in ("accuracy", "precision", "recall", "f1"):
        assert m["mean"][key] == pytest.approx(np.mean([f[key] for f in m["folds"]]), abs=1e-12)
        assert m["std"][key] == pytest.approx(np.std([f[key] for f in m["folds"]]), abs=1e-12)
    all_true = [int(r["y_true"]) for r in rows]
    all_pred = [int(r["y_pred"]) for r in rows]
    assert m["confusion_matrix"] == skm.confusion_matrix(all_true, all_pred).tolist()
    folds = run / "model_folds" if (run / "model_folds").is_dir() else run / "weights_folds"
    assert sorted(p.name for p in folds.iterdir()) == [f"fold_{k}.npz" for k in range(1, 5)]
    history = read_csv(run / "history.csv")
    assert {r["fold"] for r in history} == {"1", "2", "3", "4"}
    page = (run / "report.html").read_text()
    assert "accumulated over the folds" in page and "<td>mean</td>" in page


def test_cv_with_a_held_out_part_cuts_the_folds_from_the_rest(tmp_path):
    cli(
        "cv",
        experiment(tmp_path, "test_size = 0.25", "\n[evaluation]\ncv = 3"),
        "--out",
        tmp_path / "cv",
        "-q",
        "--no-figures",
    )
    m = json.loads((tmp_path / "cv" / "metrics.json").read_text())
    assert np.sum(m["confusion_matrix"]) == m["n_samples"] == 45
    tested = {int(r["index"]) for r in read_csv(tmp_path / "cv" / "predictions.csv")}
    cli("train", experiment(tmp_path, "test_size = 0.25"), "--out", tmp_path / "tr", "-q", "--no-figures")
    held_out = {int(r["index"]) for r in read_csv(tmp_path / "tr" / "predictions.csv")}
    assert len(tested) == 45 and len(held_out) == 15 and not tested & held_out


def test_sweep_crossed_with_cv(tmp_path):
    extra = '\n[evaluation]\ncv = 3\n\n[sweep]\n"optimizer.lr" = [0.05, 0.5]\n"model.hidden" = [[2], [6]]\n'
    out = cli("sweep", experiment(tmp_path, extra=extra), "--out", tmp_path / "sw")
    run = tmp_path / "sw"
    assert out.count("fold 3") == 4
    m = json.loads((run / "metrics.json").read_text())
    assert m["keys"] == ["optimizer.lr", "model.hidden"] and m["cv"] == 3
    assert [p["params"] for p in m["points"]] == [
        {"optimizer.lr": 0.05, "model.hidden": [2]},
        {"optimizer.lr": 0.05, "model.hidden": [6]},
        {"optimizer.lr": 0.5, "model.hidden": [2]},
        {"optimizer.lr": 0.5, "model.hidden": [6]},
    ]
    assert len({p["seed"] for p in m["points"]}) == 1  # the seed rule: every point starts alike
    for p in m["points"]:
        assert np.sum(p["confusion_matrix"]) == 60
        point = json.loads((run / p["folder"] / "metrics.json").read_text())
        assert point["summary"]["mean"] == p["mean"] and point["params"] == p["params"]
        # train and test side by side, labelled; test = the held-out folds' mean
        assert p["mean"]["test_accuracy"] == point["mean"]["accuracy"]
        assert {"train_accuracy", "train_loss", "test_loss", "last_epoch_loss"} <= set(p["mean"])
        assert (run / p["folder"] / "report.html").is_file()
    best = max(m["points"], key=lambda p: p["mean"]["test_accuracy"])
    assert m["best"]["value"] == best["mean"]["test_accuracy"] and m["best"]["by"] == "test_accuracy"
    table = read_csv(run / "sweep.csv")
    assert [row["model.hidden"] for row in table] == ["[2]", "[6]", "[2]", "[6]"]
    assert {"sweep_test_accuracy_vs_optimizer_lr.png", "sweep_test_accuracy_vs_model_hidden.png"} <= {
        p.name for p in run.iterdir()
    }
    page = (run / "report.html").read_text()
    assert page.count('href="points/0') == 4  # each point's report (the files list links points/ too)
    cli("sweep", experiment(tmp_path, extra=extra), "--out", tmp_path / "again", "-q", "--no-figures")
    assert (tmp_path / "again" / "metrics.json").read_bytes() == (run / "metrics.json").read_bytes()


def test_sweep_records_a_diverged_point_and_goes_on(tmp_path):
    text = """
[data]
dataset = "linear"
params = { n_samples = 40 }
[model]
hidden = [16, 16]
activation = "none"
output = "identity"
[loss]
name = "mse"
[training]
epochs = 60
[sweep]
"optimizer.lr" = [0.05, 20.0]
"""
    (tmp_path / "div.toml").write_text(text)
    out = cli("sweep", tmp_path / "div.toml", "--out", tmp_path / "div", "--no-figures")
    assert "diverged after" in out
    m = json.loads((tmp_path / "div" / "metrics.json").read_text())
    assert m["points"][0]["mean"]["train_accuracy"] > 0.8
    assert "diverged at epoch" in m["points"][1]["diverged"] and "smaller" in m["points"][1]["diverged"]
    assert m["best"]["index"] == 1
    result = CliRunner().invoke(app, ["train", str(tmp_path / "div.toml"), "--set", "optimizer.lr=20.0"])
    assert result.exit_code == 3 and "error: training diverged at epoch" in result.output


def test_report_command_rewrites_and_indexes(train_run, tmp_path):
    _, run, _ = train_run
    (run / "report.html").unlink()
    out = cli("report", run)
    assert (run / "report.html").is_file() and "report.html" in out
    second = tmp_path / "second"
    cli("train", experiment(tmp_path, extra="", name="b.toml"), "--out", second, "-q", "--no-figures")
    cli("report", run, second, "--out", tmp_path / "index", "--title", "Both")
    page = (tmp_path / "index" / "report.html").read_text()
    assert "<h1>Both</h1>" in page and page.count(">report</a>") == 2
    assert (tmp_path / "index" / "report.md").read_text().count("/report.md)") == 2


def test_report_runs_an_experiment_file(tmp_path):
    path = experiment(tmp_path, extra="\n[evaluation]\ncv = 3")
    cli("report", path, "--out", tmp_path / "r")
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["kind"] == "cv"


def test_csv_data_source(tmp_path, rng):
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    with open(tmp_path / "train.csv", "w") as fh:
        fh.write(
            "f1,f2,f3,label\n" + "".join(f"{a},{b},{c},{t}\n" for (a, b, c), t in zip(X, y, strict=True))
        )
    text = '[data]\ncsv = "train.csv"\ntarget = "label"\nstandardize = true\n[training]\nepochs = 50\n'
    (tmp_path / "csv.toml").write_text(text)
    cli("train", tmp_path / "csv.toml", "--out", tmp_path / "csvrun", "--no-figures")
    m = json.loads((tmp_path / "csvrun" / "metrics.json").read_text())
    assert m["train"]["n"] == 40 and m["train"]["accuracy"] >= 0.9
    run = json.loads((tmp_path / "csvrun" / "run.json").read_text())
    assert run["dataset"]["name"] == "train" and run["dataset"]["n_features"] == 3


def test_datasets_list_and_describe():
    out = cli("datasets", "list")
    for name in ("xor", "xor_easy", "linear", "moons", "circles", "digits"):
        assert f"\n{name} " in out
    out = cli("datasets", "describe", "moons", "--set", "n_samples=30")
    assert "n_samples: 30" in out and "options ([data] params)" in out
    result = CliRunner().invoke(app, ["datasets", "describe", "moon"])
    assert result.exit_code == 2 and result.output.startswith("error: unknown dataset 'moon'")


def test_datasets_plot_writes_a_scatter_and_refuses_what_it_cannot_draw(tmp_path):
    out = cli("datasets", "plot", "moons", "--out", tmp_path / "moons.png", "--set", "n_samples=40")
    assert out == f"wrote {tmp_path / 'moons.png'}\n"
    assert (tmp_path / "moons.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for args, message in [
        (["moonz"], "error: unknown dataset 'moonz'. Did you mean 'moons'?"),
        (["iris"], "error: dataset 'iris' has 4 features; `datasets plot` draws two-feature datasets"),
        (["xor", "--set", "noise=1"], "error: dataset 'xor' has no option 'noise'"),
    ]:
        result = CliRunner().invoke(app, ["datasets", "plot", *args, "--out", str(tmp_path / "x.png")])
        assert result.exit_code == 2 and result.output.startswith(message)
        assert result.output.count("\n") == 1
    assert not (tmp_path / "x.png").exists()


def test_errors_are_one_line_with_exit_code_2(tmp_path):
    result = CliRunner().invoke(app, ["train", str(experiment(tmp_path)), "--set", "optimizer.lr=-1"])
    assert result.exit_code == 2
    assert (
        result.output
        == "error: --set optimizer.lr=-1: optimizer.lr: expected a number > 0.0. Received: lr = -1\n"
    )
    result = CliRunner().invoke(app, ["sweep", str(experiment(tmp_path))])
    assert result.exit_code == 2 and "nothing to sweep" in result.output
    result = CliRunner().invoke(app, ["cv", str(tmp_path / "missing.toml")])
    assert result.exit_code == 2 and "experiment file not found" in result.output
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    result = CliRunner().invoke(app, ["train", str(experiment(tmp_path)), "--out", str(tmp_path / "mine")])
    assert result.exit_code == 2 and "not a previous run folder" in result.output
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_console_script_and_explain_wiring():
    import importlib.util

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["nnscratch"] == "nnscratch.cli:main"
    names = {c.name or c.callback.__name__ for c in app.registered_commands}
    assert {"train", "cv", "sweep", "report", "inspect", "generate", "playground", "explain"} <= names
    assert importlib.util.find_spec("nnscratch.worked.cli") is None  # one CLI: explain lives in nnscratch.cli


def test_run_point_is_pure_picklable_and_deterministic():
    from nnscratch.experiments.config import load_config
    from nnscratch.experiments.sweep import plan, repeat_seeds, run_point

    cfg = load_config(
        {
            "data": {"dataset": "xor_easy"},
            "model": {"hidden": [4]},
            "training": {"epochs": 20},
            "evaluation": {"cv": 3},
            "sweep": {"optimizer.lr": [0.1, 1.0]},
        }
    )
    tasks = plan(cfg, cv=True, sweep=True)
    assert [(t.point, t.fold) for t in tasks] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    # the seed rule: one seed for every point and fold (the experiment's first repeat)
    assert {t.seed for t in tasks} == set(repeat_seeds(0, 1))
    assert [
        int(c.generate_state(1, np.uint32)[0]) for c in np.random.SeedSequence(0).spawn(2)
    ] == repeat_seeds(0, 2)
    task = pickle.loads(pickle.dumps(tasks[4]))
    first = run_point(task.config, task.fold, task.seed)
    again = pickle.loads(pickle.dumps(run_point))(task.config, task.fold, task.seed)
    for key in ("history", "train", "test", "predictions", "confusion_matrix"):
        assert first[key] == again[key]
    assert all(np.array_equal(first["state_dict"][k], again["state_dict"][k]) for k in first["state_dict"])
    assert task.config["optimizer"]["lr"] == 1.0 and task.config["sweep"] == {}


def test_playground_command_serves_with_waitress_and_only_to_its_own_host():
    """`nnscratch playground` runs a production server (waitress), not Flask's development one,
    and answers only Host values of the address it binds (DNS rebinding, issue #19)."""
    import http.client
    import os
    import subprocess
    import sys

    pytest.importorskip("waitress")
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "nnscratch.cli", "playground", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("nnscratch playground on http://127.0.0.1:"), line + proc.stderr.read()
        port = int(line.split("127.0.0.1:")[1].split("/")[0])

        def get(host: str) -> tuple[int, dict[str, str]]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request("GET", "/", headers={"Host": host})
                res = conn.getresponse()
                res.read()
                return res.status, dict(res.getheaders())
            finally:
                conn.close()

        status, headers = get(f"127.0.0.1:{port}")
        assert status == 200 and headers["Server"] == "waitress" and headers["X-Frame-Options"] == "DENY"
        assert get(f"evil.test:{port}")[0] == 403
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
