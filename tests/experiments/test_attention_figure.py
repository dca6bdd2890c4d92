"""A trained run whose model holds attention layers gets attention.png, linked in its report with a
sentence naming the sample and the layer; a run without attention gets none."""

import csv
import json

import matplotlib.image as mpimg
import numpy as np
import pytest

import nnscratch as ns
from helpers.experiments import cli_run
from nnscratch.experiments import builder
from nnscratch.experiments.config import load_config
from nnscratch.experiments.figures import attention_figure
from nnscratch.plots import attention_maps

T, E = 4, 4  # 4 tokens of 4 numbers: each sample is a row of 16 floats

TRANSFORMER = f"""
[[model.layers]]
type = "Reshape"
shape = [{T}, {E}]

[[model.layers]]
type = "TransformerEncoderLayer"
d_model = {E}
nhead = 2
dim_feedforward = 8
dropout = 0.0
activation = "gelu"

[[model.layers]]
type = "LastTimeStep"

[[model.layers]]
type = "Linear"
out_features = 1
"""


def experiment(tmp_path, *, test_size=0.25, layers=TRANSFORMER):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, T * E))
    np.savez(tmp_path / "tokens.npz", X=X, y=(X[:, 0] > 0).astype(np.int64))
    path = tmp_path / "attn.toml"
    path.write_text(
        f'[experiment]\nname = "attn"\nseed = 0\n\n[data]\nnpz = "tokens.npz"\ntest_size = {test_size}\n\n'
        f'[model]{layers}\n[loss]\nname = "bce_logits"\n\n[optimizer]\nname = "adam"\nlr = 0.01\n\n'
        "[training]\nepochs = 2\n"
    )
    return path


def first_evaluated_row(folder):
    with open(folder / "predictions.csv", newline="") as fh:
        return int(next(csv.DictReader(fh))["index"])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    here = tmp_path_factory.mktemp("attn")
    cli_run("train", experiment(here), "--out", here / "run", "-q")
    return here / "run"


def test_a_transformer_run_writes_attention_png_linked_in_its_report(trained):
    png = trained / "attention.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = mpimg.imread(png)
    assert image.ndim == 3 and image.shape[0] > 200 and image[..., :3].std() > 0.05
    note = json.loads((trained / "run.json").read_text())["figures"]["attention.png"]
    row = first_evaluated_row(trained)
    assert note.startswith(
        f"The attention weights of layer 1.self_attn on the first test sample (row {row} of"
    )
    md = (trained / "report.md").read_text()
    assert "![Attention weights](attention.png)" in md and note in md
    html = (trained / "report.html").read_text()
    assert 'href="attention.png"' in html and "layer 1.self_attn on the first test sample" in html


def test_run_json_names_every_figure_drawn(trained):
    drawn = json.loads((trained / "run.json").read_text())["figures"]
    assert set(drawn) == {p.name for p in trained.glob("*.png")}
    assert drawn["learning_curve.png"] == ""  # nothing to add to its usual caption


def test_the_plotted_weights_are_the_models_on_the_first_test_sample_and_rows_sum_to_1(trained):
    cfg = load_config(trained / "config.toml")
    model = ns.load(trained / "model.npz")
    fig, sentence = attention_figure(cfg, model)
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == ["1.self_attn, head 1", "1.self_attn, head 2"]
    data, test = builder.load_data(cfg)
    split = builder.make_split(cfg, data, test, None)
    assert split.test_index[0] == first_evaluated_row(trained)
    expected = attention_maps(model, split.X_test[:1])["1.self_attn"][0]
    for h, ax in enumerate(panels):
        plotted = np.ma.filled(ax.images[0].get_array(), 0.0)
        assert plotted.shape == (T, T)
        np.testing.assert_allclose(plotted.sum(axis=1), 1.0)
        np.testing.assert_array_equal(plotted, expected[h])
    assert sentence in (trained / "report.md").read_text()


def test_without_a_held_out_part_the_first_training_sample_is_shown(tmp_path):
    cli_run("train", experiment(tmp_path, test_size=0.0), "--out", tmp_path / "run", "-q")
    note = json.loads((tmp_path / "run" / "run.json").read_text())["figures"]["attention.png"]
    assert "on the first training sample (row 0 of the data; nothing is held out)" in note
    assert note in (tmp_path / "run" / "report.md").read_text()


def test_cross_validation_shows_fold_1s_first_held_out_sample(tmp_path):
    cli_run("cv", experiment(tmp_path, test_size=0.0), "--out", tmp_path / "cv", "-q")
    note = json.loads((tmp_path / "cv" / "run.json").read_text())["figures"]["attention.png"]
    row = first_evaluated_row(tmp_path / "cv")
    assert f"the first sample held out from fold 1 (row {row} of the data), by fold 1's model" in note


def test_a_model_without_attention_gets_no_attention_figure(tmp_path):
    mlp = '\n[[model.layers]]\ntype = "Linear"\nout_features = 3\n\n[[model.layers]]\ntype = "Tanh"\n\n'
    mlp += '[[model.layers]]\ntype = "Linear"\nout_features = 1\n'
    cli_run("train", experiment(tmp_path, layers=mlp), "--out", tmp_path / "run", "-q")
    assert not (tmp_path / "run" / "attention.png").exists()
    assert "attention.png" not in json.loads((tmp_path / "run" / "run.json").read_text())["figures"]
    assert "Attention" not in (tmp_path / "run" / "report.md").read_text()


def test_transformer_layer_arguments_are_checked_in_experiment_files(tmp_path):
    """activation is a plain string argument of TransformerEncoderLayer: accepted as written, and
    a wrong one refused when the model is built, naming its entry."""
    cfg = load_config(experiment(tmp_path))
    assert cfg.model.layers[1].kwargs()["activation"] == "gelu"
    model = builder.build_model(cfg, T * E, 1, "bce_with_logits", np.random.default_rng(0))
    assert isinstance(model[1], ns.TransformerEncoderLayer) and isinstance(model[1].act, ns.GELU)
    bad = load_config(experiment(tmp_path, layers=TRANSFORMER.replace('"gelu"', '"tanh"')))
    where = r"model.layers\[1\] \(TransformerEncoderLayer\): activation must be 'relu' or 'gelu'"
    with pytest.raises(ns.ConfigError, match=where):
        builder.build_model(bad, T * E, 1, "bce_with_logits", np.random.default_rng(0))
