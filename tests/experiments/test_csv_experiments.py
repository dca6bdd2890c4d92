"""CSV data in experiment files: ``[data] delimiter``, single-class files refused in one line, and
the file parsed once per command (every fold, the summary and the figures reuse it)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnscratch.cli import app
from nnscratch.data import files
from nnscratch.experiments import builder
from nnscratch.experiments.config import load_config


def write_data(tmp_path: Path, sep: str = ",", single: bool = False, n: int = 60) -> Path:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 2))
    y = np.ones(n, dtype=int) if single else (X[:, 0] > 0).astype(int)
    lines = [sep.join(["f1", "f2", "label"])] + [
        f"{a:.5f}{sep}{b:.5f}{sep}{t}" for (a, b), t in zip(X, y, strict=True)
    ]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def experiment(tmp_path: Path, data_extra: str = "", cv: int | None = None) -> Path:
    text = f'[data]\ncsv = "d.csv"\n{data_extra}\n[model]\nhidden = [4]\n[training]\nepochs = 5\n'
    if cv:
        text += f"[evaluation]\ncv = {cv}\n"
    path = tmp_path / "exp.toml"
    path.write_text(text)
    return path


def run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_the_delimiter_key_reads_a_semicolon_file(tmp_path):
    write_data(tmp_path, sep=";")
    data, _ = builder.load_data(load_config(experiment(tmp_path, 'delimiter = ";"')))
    assert data.X.shape == (60, 2) and data.feature_names == ["f1", "f2"]


def test_without_the_key_a_semicolon_file_says_how_to_read_it(tmp_path):
    write_data(tmp_path, sep=";")
    result = run("train", experiment(tmp_path), "--out", tmp_path / "r", "--no-figures")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "It looks semicolon-separated" in result.output and '[data] delimiter = ";"' in result.output


def test_the_delimiter_key_needs_a_csv_and_one_character(tmp_path):
    path = tmp_path / "e.toml"
    path.write_text('[data]\ndataset = "xor"\ndelimiter = ";"\n')
    with pytest.raises(
        Exception, match=r"e\.toml:3: data\.delimiter: expected delimiter only together with csv"
    ):
        load_config(path)
    write_data(tmp_path)
    with pytest.raises(
        Exception, match=r"exp\.toml:3: data\.delimiter: expected a string of at most 1 character"
    ):
        load_config(experiment(tmp_path, 'delimiter = ";;"'))


def test_a_single_class_file_is_one_error_line_without_warnings(tmp_path):
    write_data(tmp_path, single=True)
    result = run("train", experiment(tmp_path), "--out", tmp_path / "r", "--no-figures")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("error: ") and "single class" in lines[-1] and "d.csv" in lines[-1]
    assert "Warning" not in result.output and "100" not in result.output


def test_cv_parses_the_csv_once(tmp_path, monkeypatch):
    calls = []
    original = files.from_csv

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(builder, "from_csv", counting)
    write_data(tmp_path)
    result = run("cv", experiment(tmp_path, cv=3), "--out", tmp_path / "r", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert len(calls) == 1, calls  # 3 folds, the dataset summary and the figures share one read
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["folds_count"] == 3 and metrics["n_samples"] == 60


def test_the_shared_data_is_read_only_and_a_changed_file_is_read_again(tmp_path):
    path = write_data(tmp_path)
    cfg = load_config(experiment(tmp_path))
    data, _ = builder.load_data(cfg)
    assert builder.load_data(cfg)[0] is data
    with pytest.raises(ValueError, match="read-only"):
        data.X[0, 0] = 1.0
    write_data(tmp_path, n=80)
    assert path.stat().st_size != 0 and len(builder.load_data(cfg)[0]) == 80
