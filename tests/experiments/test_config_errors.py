"""Malformed experiment files, overrides and data files: each gives a located, readable error.

The messages name the file (and line), the dotted key, what was expected and what was received.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from nnscratch.base.errors import ConfigError, DataError
from nnscratch.experiments.config import load_config

GOOD = """\
[experiment]
name = "t"
seed = 0

[data]
dataset = "moons"
params = { n_samples = 40, noise = 0.2 }

[model]
hidden = [3]
activation = "tanh"

[optimizer]
name = "sgd"
lr = 0.5

[training]
epochs = 5
"""


def write(tmp_path: Path, text: str, name: str = "exp.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path: Path, text: str, overrides: list[str] | None = None) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides or [])
    message = str(info.value)
    assert "\n" not in message  # one line, for the CLI
    return message


def test_the_good_file_loads(tmp_path):
    assert (
        load_config(write(tmp_path, GOOD.replace('name = "t"\n', ""), name="my_run.toml")).experiment.name
        == "my_run"
    )
    cfg = load_config(write(tmp_path, GOOD))
    assert (
        cfg.optimizer.lr == 0.5
        and cfg.model.hidden == [3]
        and cfg.data.params == {"n_samples": 40, "noise": 0.2}
    )


def test_unknown_key_names_file_line_key_and_suggests(tmp_path):
    msg = error_of(tmp_path, GOOD.replace("lr = 0.5", "lrr = 0.5"))
    assert "exp.toml:15: optimizer.lrr:" in msg
    assert "unknown key 'lrr'" in msg and "Did you mean 'lr'?" in msg
    assert "Received: lrr = 0.5" in msg


def test_unknown_table(tmp_path):
    msg = error_of(tmp_path, GOOD + "\n[optimiser]\nlr = 1.0\n")
    assert "optimiser" in msg and "Did you mean 'optimizer'?" in msg
    assert "exp.toml:20: optimiser:" in msg


def test_wrong_type_string_for_integer(tmp_path):
    msg = error_of(tmp_path, GOOD.replace("epochs = 5", 'epochs = "5"'))
    assert "exp.toml:18: training.epochs: expected an integer" in msg
    assert 'Received: epochs = "5"' in msg


def test_float_for_integer_and_bool_for_number(tmp_path):
    assert "expected an integer" in error_of(tmp_path, GOOD.replace("epochs = 5", "epochs = 10.5"))
    assert "optimizer.lr: expected a number" in error_of(tmp_path, GOOD.replace("lr = 0.5", "lr = true"))


def test_negative_learning_rate(tmp_path):
    msg = error_of(tmp_path, GOOD.replace("lr = 0.5", "lr = -1"))
    assert msg == f"{tmp_path / 'exp.toml'}:15: optimizer.lr: expected a number > 0.0. Received: lr = -1"


def test_infinite_learning_rate(tmp_path):
    assert "finite number" in error_of(tmp_path, GOOD.replace("lr = 0.5", "lr = inf"))


def test_one_fold_is_impossible(tmp_path):
    msg = error_of(tmp_path, GOOD + "\n[evaluation]\ncv = 1\n")
    assert "evaluation.cv: expected a number >= 2" in msg and "Received: cv = 1" in msg


def test_unknown_dataset_suggests_the_close_name(tmp_path):
    msg = error_of(tmp_path, GOOD.replace('dataset = "moons"', 'dataset = "moon"'))
    assert "data.dataset:" in msg and "Did you mean 'moons'?" in msg and "Received: dataset = 'moon'" in msg


def test_unknown_dataset_option(tmp_path):
    msg = error_of(tmp_path, GOOD.replace("noise = 0.2", "noize = 0.2"))
    assert "data.params.noize" in msg and "Did you mean 'noise'?" in msg


def test_unknown_activation(tmp_path):
    msg = error_of(tmp_path, GOOD.replace('activation = "tanh"', 'activation = "tanhh"'))
    assert "exp.toml:11: model.activation: unknown activation 'tanhh'." in msg
    assert "Did you mean 'tanh'?" in msg


def test_one_activation_per_hidden_layer(tmp_path):
    msg = error_of(tmp_path, GOOD.replace('activation = "tanh"', 'activation = ["tanh", "relu"]'))
    assert "model.activation: expected one activation per hidden layer (1)" in msg


def test_missing_csv_file(tmp_path):
    msg = error_of(
        tmp_path,
        GOOD.replace('dataset = "moons"', 'csv = "nowhere.csv"').replace(
            "params = { n_samples = 40, noise = 0.2 }\n", 'target = "label"\n'
        ),
    )
    assert "data.csv: expected an existing file; not found:" in msg and "nowhere.csv" in msg


def test_missing_data_table(tmp_path):
    msg = error_of(tmp_path, "[training]\nepochs = 3\n")
    assert "data: expected a value: this key is required" in msg


def test_two_data_sources(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,label\n1,2,0\n")
    msg = error_of(tmp_path, GOOD.replace('dataset = "moons"', 'dataset = "moons"\ncsv = "d.csv"'))
    assert "data.dataset: expected exactly one data source" in msg and "Received: dataset, csv" in msg


def test_option_of_another_optimizer(tmp_path):
    msg = error_of(tmp_path, GOOD.replace("lr = 0.5", "lr = 0.5\nbetas = [0.9, 0.99]"))
    assert "optimizer.betas: expected only options of the 'sgd' optimizer" in msg


def test_loss_and_output_that_do_not_fit(tmp_path):
    text = (
        GOOD.replace('activation = "tanh"', 'activation = "tanh"\noutput = "sigmoid"')
        + '\n[loss]\nname = "bce_logits"\n'
    )
    msg = error_of(tmp_path, text)
    assert "model.output" in msg and "bce_logits applies the sigmoid itself" in msg


def test_unknown_layer_type_and_argument(tmp_path):
    layers = GOOD.replace('hidden = [3]\nactivation = "tanh"\n', "")
    msg = error_of(tmp_path, layers + '\n[[model.layers]]\ntype = "Lineer"\nout_features = 1\n')
    assert "model.layers[0].type" in msg and "Did you mean 'Linear'?" in msg
    msg = error_of(tmp_path, layers + '\n[[model.layers]]\ntype = "Linear"\nout_feature = 1\n')
    assert "model.layers[0].out_feature" in msg and "Did you mean 'out_features'?" in msg


def test_shorthand_and_layer_list_together(tmp_path):
    msg = error_of(tmp_path, GOOD + '\n[[model.layers]]\ntype = "Linear"\nout_features = 1\n')
    assert "model.hidden: expected either the shorthand" in msg


def test_early_stopping_needs_validation(tmp_path):
    msg = error_of(tmp_path, GOOD.replace("epochs = 5", "epochs = 5\nearly_stopping = true"))
    assert "training.validation_split: expected a validation_split > 0" in msg


def test_unknown_choice_lists_the_choices(tmp_path):
    msg = error_of(tmp_path, GOOD + '\n[evaluation]\naverage = "mean"\n')
    assert "exp.toml:21: evaluation.average: expected one of 'auto', 'binary', 'macro'" in msg
    assert 'Received: average = "mean"' in msg


def test_bad_sweep_value_is_located_at_its_grid_line(tmp_path):
    msg = error_of(tmp_path, GOOD + '\n[sweep]\n"optimizer.lr" = [0.1, -1.0]\n')
    assert "exp.toml:21: in sweep point (optimizer.lr = -1.0): optimizer.lr: expected a number > 0.0" in msg


def test_sweep_over_an_unknown_key_and_a_non_list(tmp_path):
    msg = error_of(tmp_path, GOOD + '\n[sweep]\n"optimizer.lrr" = [0.1]\n')
    assert "unknown key 'lrr'" in msg
    msg = error_of(tmp_path, GOOD + '\n[sweep]\n"optimizer.lr" = 0.1\n')
    assert 'sweep."optimizer.lr": expected a list' in msg


def test_invalid_toml_syntax(tmp_path):
    msg = error_of(tmp_path, GOOD.replace("lr = 0.5", "lr = = 0.5"))
    assert "exp.toml:15: not valid TOML" in msg and "line 15" in msg


def test_experiment_file_not_found(tmp_path):
    with pytest.raises(ConfigError, match=r"experiment file not found: .*missing\.toml"):
        load_config(tmp_path / "missing.toml")


# -- --set overrides -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("optimizer.lr", "expected KEY=VALUE"),
        ("=0.1", "expected KEY=VALUE"),
        ("optimizer..lr=0.1", "the key must be dotted names"),
        ("model.hidden=[4,", "the value is not a TOML literal"),
    ],
)
def test_bad_set_syntax(tmp_path, item, expected):
    msg = error_of(tmp_path, GOOD, [item])
    assert msg.startswith(f"--set {item!r}:") and expected in msg


def test_set_values_are_validated_like_the_file(tmp_path):
    msg = error_of(tmp_path, GOOD, ["optimizer.lr=-1"])
    assert msg == "--set optimizer.lr=-1: optimizer.lr: expected a number > 0.0. Received: lr = -1"
    assert "unknown key 'lrr'" in error_of(tmp_path, GOOD, ["optimizer.lrr=0.1"])
    assert (
        error_of(tmp_path, GOOD, ["training=3"])
        == "--set training=3: training: expected a table. Received: training = 3"
    )
    msg = error_of(tmp_path, GOOD, ["model.hidden.x=3"])
    assert msg.startswith("--set model.hidden.x: model.hidden is a value, not a table") and "[3]" in msg
    msg = error_of(tmp_path, GOOD.replace("hidden = [3]\n", ""), ["model.hidden.x=3"])
    assert msg.startswith("--set model.hidden.x=3: model.hidden: expected a list")


def test_set_parses_toml_literals_and_bare_words(tmp_path):
    cfg = load_config(
        write(tmp_path, GOOD),
        [
            "model.hidden=[8, 8]",
            "model.activation=relu",
            "training.shuffle=false",
            "sweep.optimizer.lr=[0.1,1.0]",
        ],
    )
    assert cfg.model.hidden == [8, 8] and cfg.model.activation == "relu" and cfg.training.shuffle is False
    assert cfg.sweep == {"optimizer.lr": [0.1, 1.0]}


def test_error_details_are_structured(tmp_path):
    path = write(tmp_path, GOOD.replace("lr = 0.5", "lr = -1").replace("epochs = 5", "epochs = 0"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    keys = [d["key"] for d in info.value.details]
    assert keys == ["optimizer.lr", "training.epochs"]
    assert "(and 1 more: training.epochs)" in str(info.value)


# -- malformed data files: errors at load time, one line through the CLI ---------------------------
def run_cli(args: list[str]):
    from typer.testing import CliRunner

    from nnscratch.cli import app

    return CliRunner().invoke(app, args)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("a,b,label\n1,2,0\n3,x,1\n", "x"),  # a non-numeric value
        ("a,b,label\n1,2,0\n3,4\n", "2"),  # a ragged row
        ("a,b,label\n1,2,0\n3,nan,1\n", "NaN"),  # a missing value
    ],
)
def test_malformed_csv_data_gives_one_line_error(tmp_path, content, expected):
    (tmp_path / "d.csv").write_text(content)
    text = GOOD.replace('dataset = "moons"', 'csv = "d.csv"\ntarget = "label"').replace(
        "params = { n_samples = 40, noise = 0.2 }\n", ""
    )
    path = write(tmp_path, text)
    with pytest.raises(DataError):
        from nnscratch.experiments.builder import load_data

        load_data(load_config(path))
    result = run_cli(["train", str(path), "--out", str(tmp_path / "run"), "--no-figures"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("error: ") and "d.csv" in lines[-1] and "Traceback" not in result.output
    assert expected.lower() in lines[-1].lower()


def test_missing_target_column(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,c\n1,2,0\n3,4,1\n")
    text = GOOD.replace('dataset = "moons"', 'csv = "d.csv"\ntarget = "label"').replace(
        "params = { n_samples = 40, noise = 0.2 }\n", ""
    )
    result = run_cli(["train", str(write(tmp_path, text)), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "label" in result.output and "error:" in result.output


def test_bad_npz_file(tmp_path):
    (tmp_path / "d.npz").write_bytes(b"not a zip")
    text = GOOD.replace('dataset = "moons"', 'npz = "d.npz"').replace(
        "params = { n_samples = 40, noise = 0.2 }\n", ""
    )
    result = run_cli(["train", str(write(tmp_path, text)), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "d.npz" in result.output and "npz" in result.output
