"""Experiment-file features for convolutional and recurrent models: ordered (time-series) splits,
BLAS thread limits, layer sizes inferred from the data, image files, the prediction-vs-truth figure."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("pydantic")

from nnscratch.base.errors import ConfigError
from nnscratch.experiments import builder, sweep
from nnscratch.experiments.config import load_config


def sine_config(**data: object) -> dict:
    return {
        "data": {"dataset": "sine", "params": {"n_samples": 40, "window": 4}, **data},
        "model": {
            "layers": [
                {"type": "Reshape", "shape": [4, 1]},
                {"type": "RNN", "input_size": 1, "hidden_size": 3},
                {"type": "LastTimeStep"},
                {"type": "Linear", "in_features": 3, "out_features": 1},
            ]
        },
        "training": {"epochs": 2, "batch_size": 8},
    }


# -- [data] split = "ordered" --------------------------------------------------------------------
def test_ordered_split_holds_out_the_last_rows():
    cfg = load_config(sine_config(test_size=0.25, split="ordered"))
    data, test = builder.load_data(cfg)
    split = builder.make_split(cfg, data, test, None)
    np.testing.assert_array_equal(split.train_index, np.arange(30))
    np.testing.assert_array_equal(split.test_index, np.arange(30, 40))
    np.testing.assert_array_equal(split.X_test, data.X[30:])
    random = builder.make_split(load_config(sine_config(test_size=0.25)), data, test, None)
    assert not np.array_equal(random.test_index, np.arange(30, 40))  # the default shuffles


def test_ordered_cv_folds_are_consecutive_blocks():
    cfg = load_config({**sine_config(split="ordered"), "evaluation": {"cv": 4}})
    folds = builder.fold_indices(cfg, builder.load_data(cfg)[0].y, "regression")
    for k, (train, test) in enumerate(folds):
        np.testing.assert_array_equal(test, np.arange(10 * k, 10 * k + 10))
        assert len(train) == 30 and not set(train) & set(test)


def test_ordered_validation_split_is_the_end_of_the_training_part(monkeypatch):
    seen = {}
    real_fit = sweep.fit

    def spy(model, X, y, **kwargs):
        seen["X"], seen["val"] = X, kwargs["validation_data"][0]
        return real_fit(model, X, y, **kwargs)

    monkeypatch.setattr(sweep, "fit", spy)
    config = sine_config(test_size=0.25, split="ordered")
    config["training"]["validation_split"] = 0.2
    cfg = load_config(config)
    sweep.run_point(cfg.to_dict(), None, 0)
    X = builder.load_data(cfg)[0].X
    np.testing.assert_array_equal(seen["X"], X[:24])
    np.testing.assert_array_equal(seen["val"], X[24:30])


def test_ordered_split_that_leaves_no_training_rows_is_an_error():
    config = sine_config(test_size=0.5, split="ordered")
    config["data"]["params"] = {"n_samples": 1, "window": 4}
    cfg = load_config(config)
    with pytest.raises(ConfigError, match=r"data.test_size: .*nothing to train on"):
        builder.make_split(cfg, *builder.load_data(cfg), None)


def test_bad_split_name_is_a_located_error():
    with pytest.raises(ConfigError, match=r"data.split.*'random' or 'ordered'"):
        load_config(sine_config(split="time"))


# -- [training] threads --------------------------------------------------------------------------
def test_threads_limits_blas_while_training(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    seen = []
    real_fit = sweep.fit

    def spy(*args, **kwargs):
        seen.append([p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"])
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(sweep, "fit", spy)
    config = sine_config()
    config["training"]["threads"] = 1
    limited = sweep.run_point(load_config(config).to_dict(), None, 0)
    del config["training"]["threads"]
    free = sweep.run_point(load_config(config).to_dict(), None, 0)
    assert all(n == 1 for n in seen[0])
    assert limited["history"] == free["history"]  # same numbers, only the speed differs


def test_threads_must_be_positive():
    config = sine_config()
    config["training"]["threads"] = 0
    with pytest.raises(ConfigError, match=r"training.threads.*>= 1"):
        load_config(config)


# -- layer sizes inferred from the data ------------------------------------------------------------
def build(layers: list[dict], n_features: int = 64):
    cfg = load_config({"data": {"dataset": "digits"}, "model": {"layers": layers}})
    return builder.build_model(cfg, n_features, 10, "cross_entropy", np.random.default_rng(0))


CNN = [
    {"type": "Unflatten", "dim": 1, "unflattened_size": [1, 8, 8]},
    {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
    {"type": "BatchNorm2d"},
    {"type": "ReLU"},
    {"type": "MaxPool2d", "kernel_size": 2},
    {"type": "Conv2d", "out_channels": 6, "kernel_size": 3},
    {"type": "Dropout", "p": 0.5},
    {"type": "Flatten"},
    {"type": "Linear", "out_features": 10},
]


def test_sizes_are_inferred_from_the_shape_reaching_each_layer():
    model = build(CNN)
    conv1, bn, conv2, linear = model[1], model[2], model[5], model[8]
    assert conv1.in_channels == 1 and bn.num_features == 4 and conv2.in_channels == 4
    assert linear.in_features == 6 * 2 * 2  # 8x8 -> pool 4x4 -> 3x3 conv without padding 2x2
    np.testing.assert_array_equal(bn.running_mean, 0.0)  # the probe ran in eval mode: no update
    assert model(np.zeros((3, 64))).shape == (3, 10)
    assert model.training and all(m.training for m in model)
    rnn = build(
        [{"type": "Reshape", "shape": [8, 8]}, {"type": "GRU", "hidden_size": 5}, {"type": "LastTimeStep"}]
    )
    assert rnn[1].input_size == 8


def test_inference_keeps_the_weights_of_an_explicit_dense_list():
    explicit = [
        {"type": "Linear", "in_features": 64, "out_features": 5},
        {"type": "Tanh"},
        {"type": "Linear", "in_features": 5, "out_features": 10},
    ]
    implicit = [{k: v for k, v in layer.items() if k != "in_features"} for layer in explicit]
    a, b = build(explicit).state_dict(), build(implicit).state_dict()
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_a_size_that_cannot_be_inferred_names_the_layer():
    with pytest.raises(
        ConfigError, match=r"model.layers\[0\] \(Conv2d\): in_channels cannot be inferred .*\(N, 64\)"
    ):
        build([{"type": "Conv2d", "out_channels": 4, "kernel_size": 3}])


def test_a_layer_that_cannot_take_its_input_is_reported_at_build_time():
    layers = [*CNN[:-1], {"type": "Linear", "in_features": 64, "out_features": 10}]
    with pytest.raises(ConfigError, match=r"model.layers\[8\] \(Linear\): cannot take the data .*\(N, 24\)"):
        build(layers)
    with pytest.raises(ConfigError, match=r"model.layers\[0\] \(Unflatten\): .*\(N, 60\)"):
        build(CNN, n_features=60)


# -- the prediction-vs-truth figure of regression runs ---------------------------------------------
def test_prediction_figure_draws_both_panels():
    from nnscratch.experiments.figures import prediction_figure

    truth = np.array([0.0, 1.0, 2.0, 3.0])
    fig = prediction_figure(truth, truth + 0.1, [7, 4, 5, 6], title="t")
    left, right = fig.axes
    line_truth, line_pred = left.get_lines()
    np.testing.assert_array_equal(line_truth.get_xdata(), [4, 5, 6, 7])  # drawn in row order
    np.testing.assert_array_equal(line_pred.get_ydata(), [1.1, 2.1, 3.1, 0.1])
    assert line_truth.get_linestyle() == "-"  # consecutive rows: a line
    assert "R² 0.99" in right.get_title()
    scattered = prediction_figure(truth, truth, [0, 2, 4, 9])
    assert scattered.axes[0].get_lines()[0].get_linestyle() == "None"  # gaps: dots


def test_regression_runs_write_the_figure_into_folder_and_report(tmp_path):
    from nnscratch.experiments.runner import run

    folder = run(load_config(sine_config(test_size=0.25, split="ordered")), "train", tmp_path / "r")
    assert (folder / "prediction_vs_truth.png").read_bytes()[:4] == b"\x89PNG"
    assert "![Prediction vs truth](prediction_vs_truth.png)" in (folder / "report.md").read_text()
    assert "the last 25% of the rows held out" in (folder / "report.md").read_text()


# -- image files: NPZ (N, H, W) arrays and IDX pairs -------------------------------------------------
def bars(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 6x6 uint8 images: a vertical bar (label 0) or a horizontal one (label 1), at random places."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    images = rng.integers(0, 60, size=(n, 6, 6)).astype(np.uint8)
    where = rng.integers(0, 6, size=n)
    for i in range(n):  # test data, not a fast path
        if y[i]:
            images[i, where[i], :] = 255
        else:
            images[i, :, where[i]] = 255
    return images, y.astype(np.uint8)


CONV_FILE = """
[data]
{source}

[[model.layers]]
type = "Unflatten"
dim = 1
unflattened_size = [1, 6, 6]

[[model.layers]]
type = "Conv2d"
out_channels = 4
kernel_size = 3

[[model.layers]]
type = "ReLU"

[[model.layers]]
type = "Flatten"

[[model.layers]]
type = "Linear"
out_features = 2

[loss]
name = "cross_entropy"

[optimizer]
name = "adam"
lr = 0.02

[training]
epochs = 40
"""


def run_file(tmp_path, source: str) -> dict:
    import json

    from typer.testing import CliRunner

    from nnscratch.cli import app

    (tmp_path / "exp.toml").write_text(CONV_FILE.replace("{source}", source))
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["train", str(tmp_path / "exp.toml"), "--out", str(out), "-q", "--no-figures"]
    )
    assert result.exit_code == 0, result.output
    return json.loads((out / "metrics.json").read_text()) | {
        "run": json.loads((out / "run.json").read_text())
    }


def test_a_conv_model_trains_on_npz_images(tmp_path):
    for name, seed in (("train", 0), ("test", 1)):
        images, labels = bars(40, seed)
        np.savez(tmp_path / f"{name}.npz", X=images, y=labels)
    m = run_file(tmp_path, 'npz = "train.npz"\ntest_npz = "test.npz"\nstandardize = true')
    assert m["test"]["n"] == 40 and m["test"]["accuracy"] >= 0.95, m["test"]
    assert m["run"]["dataset"]["n_features"] == 36
    assert "Unflatten(1, [1, 6, 6])" in m["run"]["dataset"]["description"]


def test_a_conv_model_trains_on_idx_files(tmp_path):
    from nnscratch.data import save_idx

    for name, seed in (("train", 0), ("t10k", 1)):
        images, labels = bars(40, seed)
        save_idx(tmp_path / f"{name}-images-idx3-ubyte.gz", images)
        save_idx(tmp_path / f"{name}-labels-idx1-ubyte", labels)
    source = (
        'idx = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte"]\n'
        'test_idx = ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte"]'
    )
    m = run_file(tmp_path, source)
    assert m["test"]["n"] == 40 and m["test"]["accuracy"] >= 0.95, m["test"]
    assert m["train"]["n"] == 40 and m["run"]["dataset"]["test_samples"] == 40


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        ({"idx": ["a.idx"]}, r"data.idx: expected at least 2 item"),
        (
            {"idx": ["exp.toml", "missing.idx"]},
            r"data.idx: expected an existing file; not found: .*missing",
        ),
        (
            {"dataset": "digits", "test_idx": ["exp.toml", "exp.toml"]},
            r"data.test_idx: expected test_idx only together with idx",
        ),
        (
            {"dataset": "digits", "idx": ["exp.toml", "exp.toml"]},
            r"exactly one data source.*Received: dataset, idx",
        ),
    ],
)
def test_bad_idx_entries_are_located_errors(tmp_path, data, pattern):
    (tmp_path / "exp.toml").write_text("")
    with pytest.raises(ConfigError, match=pattern):
        load_config({"data": data}, base_dir=tmp_path)


def test_a_file_that_is_not_idx_is_a_data_error(tmp_path):
    from nnscratch.base.errors import DataError

    (tmp_path / "images.idx").write_bytes(b"not an idx file")
    (tmp_path / "labels.idx").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x00")
    cfg = load_config({"data": {"idx": ["images.idx", "labels.idx"]}}, base_dir=tmp_path)
    with pytest.raises(DataError, match=r"images.idx: bad magic number"):
        builder.load_data(cfg)
