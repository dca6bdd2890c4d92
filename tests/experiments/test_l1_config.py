"""``[optimizer] l1``: L1 regularisation from an experiment file, beside ``weight_decay`` (L2)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pydantic")

from helpers.experiments import small_moons_run
from nnscratch.base.errors import ConfigError
from nnscratch.experiments import builder, sweep
from nnscratch.experiments.config import ExperimentConfig, load_config
from nnscratch.experiments.tables import OptimizerTable


def experiment(tmp_path, name="sgd", extra="l1 = 0.01"):
    return small_moons_run(tmp_path, model="hidden = [4]", optimizer=f'name = "{name}"\nlr = 0.5\n{extra}')


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "adamw", "rmsprop"])
def test_l1_reaches_every_optimizer(tmp_path, name):
    cfg, model = experiment(tmp_path, name)
    assert cfg.optimizer.l1 == 0.01 and cfg.to_dict()["optimizer"]["l1"] == 0.01
    assert builder.build_optimizer(cfg, model).l1 == 0.01


def test_the_default_is_no_l1(tmp_path):
    cfg, model = experiment(tmp_path, extra="")
    assert cfg.optimizer.l1 == 0.0 and builder.build_optimizer(cfg, model).l1 == 0.0


def test_a_step_with_zero_gradients_moves_each_weight_by_lr_l1_sign(tmp_path):
    cfg, model = experiment(tmp_path)
    opt = builder.build_optimizer(cfg, model)
    before = model.state_dict()
    opt.zero_grad()
    opt.step()
    for key, value in model.state_dict().items():
        np.testing.assert_allclose(value, before[key] - 0.5 * 0.01 * np.sign(before[key]), rtol=1e-15)


def test_no_decay_exempts_the_biases_from_l1_too(tmp_path):
    cfg, model = experiment(tmp_path, extra='l1 = 0.01\nweight_decay = 0.1\nno_decay = ["bias"]')
    decayed, exempt = builder.build_optimizer(cfg, model).param_groups
    assert (decayed["l1"], decayed["weight_decay"]) == (0.01, 0.1)
    assert (exempt["l1"], exempt["weight_decay"]) == (0.0, 0.0)


def test_a_negative_l1_is_a_located_config_error(tmp_path):
    with pytest.raises(
        ConfigError, match=r"exp\.toml:11: optimizer\.l1: expected a number >= 0\.0\. Received: l1 = -0\.1"
    ):
        experiment(tmp_path, extra="l1 = -0.1")


def test_the_schema_documents_l1_and_l2():
    fields = OptimizerTable.model_fields
    assert "sign(w)" in fields["l1"].description and "L1" in fields["l1"].description
    assert "L2" in fields["weight_decay"].description
    schema = ExperimentConfig.model_json_schema()
    assert "L1 regularisation" in str(schema)


def test_a_run_and_a_sweep_over_l1(tmp_path):
    cfg, _ = experiment(tmp_path)
    result = sweep.run_point(cfg.to_dict(), None, 0)
    assert len(result["history"]["loss"]) == 2
    swept = load_config(tmp_path / "exp.toml", {"sweep.optimizer.l1": [0.0, 0.001]})
    assert swept.sweep == {"optimizer.l1": [0.0, 0.001]}
