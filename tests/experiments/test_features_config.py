"""``[model] features``: a Features layer first, from an experiment file, saved and rebuilt."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

pytest.importorskip("pydantic")

import nnscratch as ns
from helpers.experiments import cli_run
from nnscratch.base.errors import ConfigError
from nnscratch.experiments import builder
from nnscratch.experiments.config import load_config

FEATURES = '["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]'


def write(tmp_path, model: str, name: str = "feat"):
    path = tmp_path / f"{name}.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            [experiment]
            seed = 3

            [data]
            dataset = "circles"
            params = {{ n_samples = 60, noise = 0.05 }}

            [model]
            {model}

            [optimizer]
            lr = 0.3

            [training]
            epochs = 3
            """
        )
    )
    return path


def model_of(path):
    cfg = load_config(path)
    data, _ = builder.load_data(cfg)
    loss = builder.loss_name(cfg, data.task)
    outputs = builder.n_outputs(cfg, loss, data)
    return cfg, builder.build_model(cfg, data.n_features, outputs, loss, np.random.default_rng(0))


def test_the_shorthand_puts_features_first(tmp_path):
    cfg, model = model_of(write(tmp_path, f"features = {FEATURES}\nhidden = [4]"))
    first, linear = model.layers[0], model.layers[1]
    assert isinstance(first, ns.Features) and first.features == tuple(cfg.model.features)
    assert first.in_features == 2 and linear.in_features == 7
    assert model(np.zeros((5, 2))).shape == (5, 1)


def test_features_before_a_layer_list(tmp_path):
    layers = '[[model.layers]]\ntype = "Linear"\nout_features = 1\n[[model.layers]]\ntype = "Sigmoid"'
    _, model = model_of(write(tmp_path, f'features = ["x1*x2", "cos(x2)"]\n{layers}'))
    assert isinstance(model.layers[0], ns.Features)
    assert model.layers[1].in_features == 2 and len(model.layers) == 3


def test_a_features_entry_in_the_layer_list_works_too(tmp_path):
    layers = (
        '[[model.layers]]\ntype = "Features"\nfeatures = ["x1^2", "x2^2", "x1"]\n'
        '[[model.layers]]\ntype = "Linear"\nout_features = 1\n[[model.layers]]\ntype = "Sigmoid"'
    )
    _, model = model_of(write(tmp_path, layers))
    assert model.layers[0].in_features == 2 and model.layers[1].in_features == 3


def test_an_unknown_feature_is_a_located_error_naming_the_forms(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, 'features = ["x1", "x1^3"]'))
    assert (
        "feat.toml:9: model.features: expected features of the forms xi, xi^2, xi*xj, sin(xi), cos(xi)"
        in str(info.value)
    )
    assert str(info.value).endswith("Received: 'x1^3'.")
    with pytest.raises(ConfigError, match=r"model\.features: expected each feature once\. Received: x1\*x2"):
        load_config(write(tmp_path, 'features = ["x1*x2", "X2 * X1"]'))


def test_a_column_the_data_does_not_have_is_a_config_error(tmp_path):
    cfg = load_config(write(tmp_path, 'features = ["x1", "x3"]'))
    data, _ = builder.load_data(cfg)
    with pytest.raises(ConfigError, match=r"model\.features: .*in_features=2.*the data has 2 columns"):
        builder.build_model(cfg, data.n_features, 1, "bce", np.random.default_rng(0))


def test_an_empty_list_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"model\.features"):
        load_config(write(tmp_path, "features = []"))


def test_train_saves_the_features_layer_and_a_rerun_is_identical(tmp_path):
    path = write(tmp_path, f"features = {FEATURES}\nhidden = [3]")
    cli_run("train", path, "--out", tmp_path / "a", "-q")
    cli_run("train", tmp_path / "a" / "config.toml", "--out", tmp_path / "b", "-q", "--no-figures")
    a, b = ns.load(tmp_path / "a" / "model.npz"), ns.load(tmp_path / "b" / "model.npz")
    assert isinstance(a.layers[0], ns.Features) and a.layers[0].features == b.layers[0].features
    for key, value in a.state_dict().items():
        np.testing.assert_array_equal(value, b.state_dict()[key])
    assert "features" in (tmp_path / "a" / "config.toml").read_text()
    X = np.random.default_rng(0).normal(size=(4, 2))
    np.testing.assert_array_equal(a(X), b(X))
