"""Hostile experiment files: any bytes give a located ConfigError (file:line, key), never a
traceback; memory bombs, endless runs and escaping run names are refused before anything is
allocated or written."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nnscratch.base.errors import ConfigError
from nnscratch.cli import app
from nnscratch.experiments import limits
from nnscratch.experiments.config import load_config
from nnscratch.experiments.runner import default_out

GOOD = """\
[experiment]
name = "t"

[data]
dataset = "moons"
params = { n_samples = 40, noise = 0.2 }

[model]
hidden = [3]

[training]
epochs = 5
"""


def write(tmp_path: Path, text: str | bytes, name: str = "exp.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path, sets: list[str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, sets or [])
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.fixture(autouse=True)
def _budget(monkeypatch):
    """A fixed 4 GiB budget, whatever the machine: the numbers below do not depend on its memory."""
    monkeypatch.setenv(limits.BUDGET_ENV, "4")


# -- bytes and text ----------------------------------------------------------------------------
def test_a_file_that_is_not_utf8_names_the_line_and_column(tmp_path):
    path = write(tmp_path, GOOD.encode().replace(b'"t"', b'"caf\xe9"'))
    msg = error_of(path)
    assert msg.startswith(f"{path}:2: ") and "not UTF-8" in msg and "line 2, column 12" in msg


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    cfg = load_config(write(tmp_path, b"\xef\xbb\xbf" + GOOD.encode()))
    assert cfg.experiment.name == "t" and cfg.training.epochs == 5


def test_a_toml_syntax_error_is_located(tmp_path):
    msg = error_of(write(tmp_path, GOOD.replace("epochs = 5", "epochs = = 5")))
    assert re.search(r"exp\.toml:12: not valid TOML", msg)


@pytest.mark.parametrize(
    "name",
    ["../../escaped_run", "a/b", "a\\\\b", "..", ".", "a\\u0000b", "tab\\there", "bell\\u0007", "x..y"],
)
def test_run_names_that_leave_the_runs_folder_or_hide_characters_are_located(tmp_path, name):
    msg = error_of(write(tmp_path, GOOD.replace('"t"', f'"{name}"')))
    assert "exp.toml:2: experiment.name: expected a folder name" in msg


def test_a_run_folder_is_always_inside_its_root(tmp_path):
    cfg = load_config(write(tmp_path, GOOD))
    assert default_out(cfg, "cv", tmp_path) == tmp_path / "t-cv"
    forged = cfg.model_copy(update={"experiment": cfg.experiment.model_copy(update={"name": "../x"})})
    with pytest.raises(ConfigError, match="inside"):
        default_out(forged, "train", tmp_path)


def test_the_cli_refuses_an_escaping_name_without_writing_anything(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "work").mkdir()
    path = write(tmp_path / "work", GOOD.replace('"t"', '"../../escaped_run"'))
    result = CliRunner().invoke(app, ["train", str(path), "--no-figures"])
    assert result.exit_code == 2 and result.output.count("error:") == 1
    assert "Traceback" not in result.output
    assert not list(tmp_path.rglob("escaped_run")) and not (tmp_path / "runs").exists()


# -- range errors are located ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("noise = 0.2", 'noise = "loud"', "exp.toml:6: data.params.noise: expected a number >= 0"),
        ("noise = 0.2", "noise = -1.0", "exp.toml:6: data.params.noise: expected a number >= 0"),
        (
            "n_samples = 40",
            "n_samples = 0",
            "exp.toml:6: data.params.n_samples: expected a whole number >= 1",
        ),
        ("n_samples = 40", "n_samples = true", "exp.toml:6: data.params.n_samples"),
    ],
)
def test_dataset_option_errors_are_located(tmp_path, old, new, where):
    assert where in error_of(write(tmp_path, GOOD.replace(old, new)))


@pytest.mark.parametrize(
    ("entry", "where"),
    [
        ("out_features = -3", "model.layers[0].out_features: expected a whole number >= 1"),
        ('out_features = "8"', "model.layers[0].out_features: expected a whole number >= 1"),
        ("kernel_size = [3, 0]", "model.layers[0].kernel_size"),
    ],
)
def test_layer_size_errors_are_located(tmp_path, entry, where):
    kind = "Conv2d" if "kernel" in entry else "Linear"
    extra = "\nout_channels = 2\nin_channels = 1" if kind == "Conv2d" else ""
    text = GOOD.replace("[model]\nhidden = [3]\n", f'[[model.layers]]\ntype = "{kind}"\n{entry}{extra}\n')
    msg = error_of(write(tmp_path, text))
    assert msg.startswith(f"{tmp_path / 'exp.toml'}:10: ") and where in msg


def test_dropout_probability_is_located(tmp_path):
    text = GOOD.replace("[model]\nhidden = [3]\n", '[[model.layers]]\ntype = "Dropout"\np = 1.5\n')
    assert "exp.toml:10: model.layers[0].p: expected a probability in [0, 1)" in error_of(
        write(tmp_path, text)
    )


# -- caps and the memory budget: refused before anything is allocated --------------------------
def test_endless_epochs_are_capped_and_the_cap_can_be_raised(tmp_path):
    path = write(tmp_path, GOOD.replace("epochs = 5", "epochs = 9223372036854775807"))
    msg = error_of(path)
    assert "exp.toml:12: training.epochs: expected at most experiment.max_epochs = 1000000" in msg
    big = write(tmp_path, GOOD.replace("epochs = 5", "epochs = 2000000"), "big.toml")
    assert load_config(big, ["experiment.max_epochs=3000000"]).training.epochs == 2_000_000


def test_more_folds_than_samples_are_located(tmp_path):
    path = write(tmp_path, GOOD + "\n[evaluation]\ncv = 9223372036854775807\n")
    assert "exp.toml:15: evaluation.cv: expected at most one fold per sample (40)" in error_of(path)


def test_huge_sample_counts_are_capped_then_budgeted(tmp_path):
    path = write(tmp_path, GOOD.replace("n_samples = 40", "n_samples = 2000000000"))
    assert "exp.toml:6: data.params.n_samples: expected at most experiment.max_samples" in error_of(path)
    msg = error_of(path, ["experiment.max_samples=3000000000"])
    assert "data.params.n_samples: expected a run within the memory budget of 4.0 GiB" in msg


@pytest.mark.parametrize(
    ("sets", "where"),
    [
        (["model.hidden=[100000,100000]"], "--set model.hidden=[100000, 100000]: model.hidden:"),
        (["model.dtype=float32", "model.hidden=[60000,60000]"], "model.hidden:"),
    ],
)
def test_a_model_too_large_for_the_budget_is_refused_at_once(tmp_path, sets, where):
    start = time.perf_counter()
    msg = error_of(write(tmp_path, GOOD), sets)
    assert time.perf_counter() - start < 5  # nothing was allocated (74 GiB would not be quick)
    assert where in msg and "memory budget of 4.0 GiB (NNSCRATCH_MEMORY_BUDGET=4)" in msg
    assert "parameters" in msg and "experiment.memory_budget" in msg and "NNSCRATCH_MEMORY_BUDGET" in msg


def test_a_wide_layer_is_located_at_its_size(tmp_path):
    text = GOOD.replace(
        "[model]\nhidden = [3]\n", '[[model.layers]]\ntype = "Linear"\nout_features = 1000000000\n'
    )
    msg = error_of(write(tmp_path, text))
    assert "exp.toml:10: model.layers[0].out_features: expected a run within the memory budget" in msg


def test_the_budget_is_raised_by_the_key_or_the_environment(tmp_path, monkeypatch):
    path = write(tmp_path, GOOD)
    sets = ["model.hidden=[20000,20000]"]  # 400 M parameters: 12 GiB with gradients and optimizer state
    assert "memory budget of 4.0 GiB" in error_of(path, sets)
    assert load_config(path, [*sets, "experiment.memory_budget=64"]).experiment.memory_budget == 64
    monkeypatch.setenv(limits.BUDGET_ENV, "64")
    assert load_config(path, sets).model.hidden == [20000, 20000]
    monkeypatch.setenv(limits.BUDGET_ENV, "lots")
    with pytest.raises(ConfigError, match="NNSCRATCH_MEMORY_BUDGET: expected a number of GiB"):
        load_config(path, sets)


def test_a_sweep_point_over_budget_is_located_at_its_grid_line(tmp_path):
    text = GOOD + '\n[sweep]\n"model.hidden" = [[3], [100000, 100000]]\n'
    msg = error_of(write(tmp_path, text))
    assert "exp.toml:15:" in msg and "model.hidden = [100000, 100000]" in msg and "memory budget" in msg


def test_the_cli_prints_one_line_and_exits_2_for_a_bomb(tmp_path):
    path = write(tmp_path, GOOD)
    result = CliRunner().invoke(
        app, ["train", str(path), "--set", "model.hidden=[100000,100000]", "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1].startswith("error: --set model.hidden=")
    assert not (tmp_path / "r").exists()


def test_the_cli_names_a_file_that_is_not_utf8(tmp_path):
    path = write(tmp_path, b"\xff\xfe[data]\n")
    result = CliRunner().invoke(app, ["train", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "exp.toml:1: the file is not UTF-8 text" in result.output


# -- any bytes ---------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.builds(
            lambda at, junk: GOOD.encode()[:at] + junk + GOOD.encode()[at:],
            st.integers(0, len(GOOD)),
            st.binary(min_size=1, max_size=6),
        ),
        st.builds(
            lambda at, text: (GOOD[:at] + text + GOOD[at:]).encode("utf-8", "surrogatepass"),
            st.integers(0, len(GOOD)),
            st.text(min_size=1, max_size=6),
        ),
    )
)
def test_any_bytes_load_or_give_a_one_line_config_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "exp.toml"
    path.write_bytes(data)
    try:
        load_config(path)
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
