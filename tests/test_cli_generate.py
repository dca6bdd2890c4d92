"""``nnscratch generate``: text sampled from the model.npz of a trained sequence task, reading its
vocabulary from the file; every mistake one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import nnscratch as ns
from nnscratch.cli import app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def lm_model(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lm") / "run"
    sets = [
        "training.epochs=2",
        "optimizer.scheduler.T_max=2",
        "data.params.stride=64",
        "evaluation.generate=0",
    ]
    args = ["train", str(EXAMPLES / "shakespeare_lm.toml"), "--out", str(out), "--quiet", "--no-figures"]
    for item in sets:
        args += ["--set", item]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out / "model.npz"


def test_generate_continues_the_prompt_reproducibly(lm_model):
    args = ["generate", str(lm_model), "--prompt", "MENENIUS:\n", "-n", "50", "--seed", "3"]
    first, again = CliRunner().invoke(app, args), CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert first.output == again.output and first.output.startswith("MENENIUS:\n")
    written = first.output[len("MENENIUS:\n") : -1]
    assert len(written) == 50 and set(written) <= set(ns.data.shakespeare_text())
    # the same numbers as ns.generate on the loaded model
    model, info = ns.load_with_info(lm_model)
    vocab = info.meta["labels"]
    ids = ns.generate(model, ns.data.encode_text("MENENIUS:\n", vocab), 50, temperature=0.8, seed=3)
    assert "".join(vocab[i] for i in ids) == written


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--prompt", "€uro"], "characters outside the vocabulary: '€'"),
        (["--prompt", "A", "--temperature", "0"], "Invalid value for '--temperature'"),
        (["--prompt", "A", "-n", "0"], "Invalid value for '--length'"),
    ],
)
def test_mistakes_are_one_line(lm_model, args, expected):
    result = CliRunner().invoke(app, ["generate", str(lm_model), *args])
    assert result.exit_code == 2 and expected in result.output, result.output


def test_a_model_without_a_vocabulary_is_refused(tmp_path):
    path = tmp_path / "plain.npz"
    ns.save(ns.Sequential(ns.Linear(2, 1, rng=0)), path)
    result = CliRunner().invoke(app, ["generate", str(path), "--prompt", "x"])
    assert result.exit_code == 2 and "does not name its vocabulary" in result.output
    assert result.output.count("\n") == 1
    missing = CliRunner().invoke(app, ["generate", str(tmp_path / "nope.npz"), "--prompt", "x"])
    assert missing.exit_code == 2 and "nope.npz" in missing.output
