"""Residual and Parallel in ``[[model.layers]]``: children as inline entries, sizes inferred inside
them, every mistake located by its path (``model.layers[1].branches[0][0]``)."""

# ruff: noqa: E501  (TOML entries are written on one line, as in a file)
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

import nnscratch as ns
from nnscratch.base.errors import ConfigError
from nnscratch.experiments import builder
from nnscratch.experiments.config import load_config

HEAD = """\
[experiment]
name = "nested"
seed = 0

[data]
dataset = "moons"
params = { n_samples = 40 }

[loss]
name = "bce_logits"

[training]
epochs = 2

[model]
"""

LAYERS = """\
[[model.layers]]
type = "Linear"
out_features = 8

[[model.layers]]
type = "Residual"
layers = [{ type = "Linear", out_features = 16 }, { type = "ReLU" }, { type = "Linear", out_features = 8 }]

[[model.layers]]
type = "Parallel"
merge = "concat"
branches = [[{ type = "Linear", out_features = 4 }, { type = "Tanh" }], [{ type = "LayerNorm", normalized_shape = 8 }]]

[[model.layers]]
type = "Linear"
out_features = 1
"""


def config(tmp_path: Path, layers: str):
    path = tmp_path / "exp.toml"
    path.write_text(HEAD + textwrap.dedent(layers))
    return load_config(path)


def test_containers_are_built_with_sizes_inferred_inside(tmp_path):
    cfg = config(tmp_path, LAYERS)
    model = builder.build_model(cfg, 2, 1, "bce_with_logits", np.random.default_rng(0))
    residual, parallel, head = model[1], model[2], model[3]
    assert isinstance(residual, ns.Residual) and residual.module[0].in_features == 8
    assert isinstance(parallel, ns.Parallel) and parallel.merge == "concat"
    assert parallel.branches[0][0].in_features == 8 and head.in_features == 12
    assert "1.module.0.weight" in model.state_dict() and "2.0.0.weight" in model.state_dict()
    x = np.random.default_rng(1).normal(size=(3, 2))
    assert ns.gradcheck(model.astype(np.float64), x, seed=0).passed


def test_the_same_file_gives_the_same_weights(tmp_path):
    cfg = config(tmp_path, LAYERS)
    a, b = (builder.build_model(cfg, 2, 1, "bce_with_logits", np.random.default_rng(5)) for _ in range(2))
    for (k, v), (k2, v2) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert k == k2 and np.array_equal(v, v2)


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ('[[model.layers]]\ntype = "Linear"\nout_features = 1\nlayers = [{ type = "ReLU" }]\n',
         "model.layers[0].layers: expected no layers key: only Residual has one"),
        ('[[model.layers]]\ntype = "Residual"\n', "model.layers[0].layers: expected a value: Residual needs layers"),
        ('[[model.layers]]\ntype = "Parallel"\nbranches = [[{ type = "ReLU" }], [{ type = "Linear", out_featurs = 2 }]]\n',
         "model.layers[0].branches[1][0].out_featurs"),
        ('[[model.layers]]\ntype = "Parallel"\nbranches = [[{ type = "ReLU" }], []]\n',
         "at least one entry in every branch"),
        ('[[model.layers]]\ntype = "Parallel"\nmerge = "mul"\nbranches = [[{ type = "ReLU" }], [{ type = "Tanh" }]]\n',
         "model.layers[0] (Parallel): merge must be 'add' or 'concat'"),
    ],
)  # fmt: skip
def test_mistakes_are_located(tmp_path, layers, expected):
    with pytest.raises(ConfigError, match=None) as info:
        cfg = config(tmp_path, layers)
        builder.build_model(cfg, 2, 1, "bce_with_logits", np.random.default_rng(0))
    assert expected in str(info.value)


def test_a_split_that_does_not_fit_the_data_is_located(tmp_path):
    cfg = config(
        tmp_path,
        '[[model.layers]]\ntype = "Parallel"\nsplit = [1, 2]\n'
        'branches = [[{ type = "Linear", out_features = 2 }], [{ type = "Linear", out_features = 2 }]]\n',
    )
    with pytest.raises(ConfigError, match=r"model.layers\[0\].split: .* adding up to the 2 columns"):
        builder.build_model(cfg, 2, 1, "bce_with_logits", np.random.default_rng(0))


def test_a_shape_mistake_inside_a_branch_names_the_branch(tmp_path):
    cfg = config(
        tmp_path,
        '[[model.layers]]\ntype = "Residual"\nlayers = [{ type = "Linear", out_features = 3 }]\n',
    )
    with pytest.raises(
        ConfigError, match=r"model.layers\[0\] \(Residual\): cannot take .* keep its input's shape"
    ):
        builder.build_model(cfg, 2, 1, "bce_with_logits", np.random.default_rng(0))


def test_the_memory_budget_counts_attention_and_the_evaluation_of_every_sample():
    """sort_digits: 10 000 sequences evaluated at once, each attention layer keeping 4 heads × 8 × 8
    weights and its Q, K, V per sequence: about 0.4 GiB, over a 0.2 GiB budget (the batch of 64
    alone, as the estimate counted before, would be under 10 MiB)."""
    examples = Path(__file__).resolve().parents[2] / "examples"
    with pytest.raises(
        ConfigError, match=r"evaluating all 10,000 samples at once are too large: .* about 393\.\d MiB"
    ):
        load_config(examples / "sort_digits.toml", ["experiment.memory_budget=0.2"])
    load_config(examples / "sort_digits.toml", ["experiment.memory_budget=1"])
