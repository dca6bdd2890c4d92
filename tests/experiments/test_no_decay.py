"""``[optimizer] no_decay``: weight decay for the weights, none for the parameters named."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pydantic")

import nnscratch as ns
from helpers.experiments import small_moons_run
from nnscratch.base.errors import ConfigError
from nnscratch.experiments import builder, sweep


def experiment(tmp_path, name="sgd", extra='no_decay = ["bias"]'):
    return small_moons_run(
        tmp_path,
        model='hidden = [4, 3]\nactivation = "tanh"',
        optimizer=f'name = "{name}"\nlr = 0.5\nweight_decay = 0.1\n{extra}',
    )


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "adamw", "rmsprop"])
def test_no_decay_bias_gives_the_biases_a_group_without_weight_decay(tmp_path, name):
    cfg, model = experiment(tmp_path, name)
    assert cfg.optimizer.no_decay == ["bias"]
    opt = builder.build_optimizer(cfg, model)
    named = dict(model.named_parameters())
    decayed, exempt = opt.param_groups
    assert [id(p) for p in decayed["params"]] == [id(named[k]) for k in ("0.weight", "2.weight", "4.weight")]
    assert [id(p) for p in exempt["params"]] == [id(named[k]) for k in ("0.bias", "2.bias", "4.bias")]
    assert (decayed["weight_decay"], exempt["weight_decay"]) == (0.1, 0.0)
    assert decayed["lr"] == exempt["lr"] == 0.5
    assert opt.weight_decay == 0.1  # the first group's: the table's value


def test_a_step_with_zero_gradients_shrinks_the_weights_only(tmp_path):
    cfg, model = experiment(tmp_path, "sgd")
    opt = builder.build_optimizer(cfg, model)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    opt.zero_grad()
    opt.step()  # g = 0: only weight decay moves anything, θ ← θ - lr·λ·θ
    for key, value in model.state_dict().items():
        if key.endswith("bias"):
            np.testing.assert_array_equal(value, before[key])
        else:
            np.testing.assert_array_equal(value, before[key] - 0.5 * (0.1 * before[key]))
            assert np.abs(value).sum() < np.abs(before[key]).sum()


def test_without_no_decay_every_parameter_decays(tmp_path):
    cfg, model = experiment(tmp_path, "sgd", extra="")
    opt = builder.build_optimizer(cfg, model)
    assert len(opt.param_groups) == 1 and opt.params == model.parameters()
    before = model.state_dict()
    opt.zero_grad()
    opt.step()
    assert all(np.abs(v).sum() < np.abs(before[k]).sum() for k, v in model.state_dict().items())


def test_a_pattern_in_no_parameter_name_is_a_config_error_listing_the_names(tmp_path):
    cfg, model = experiment(tmp_path, extra='no_decay = ["bias", "bais"]')
    with pytest.raises(ConfigError) as info:
        builder.build_optimizer(cfg, model)
    message = str(info.value)
    assert "optimizer.no_decay: 'bais' is in no parameter's name" in message
    assert "0.weight, 0.bias, 2.weight, 2.bias, 4.weight, 4.bias" in message
    assert "'bias' is" not in message  # only the pattern that matched nothing


def test_a_pattern_matching_every_parameter_leaves_one_undecayed_group(tmp_path):
    cfg, model = experiment(tmp_path, extra='no_decay = ["."]')
    (group,) = builder.build_optimizer(cfg, model).param_groups
    assert group["weight_decay"] == 0.0 and len(group["params"]) == 6


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('no_decay = [""]', r"optimizer.no_decay\[0\]"),
        ('no_decay = "bias"', r"optimizer.no_decay"),
    ],
)
def test_no_decay_must_be_a_list_of_strings(tmp_path, extra, message):
    with pytest.raises(ConfigError, match=message):
        experiment(tmp_path, extra=extra)


def test_a_run_trains_with_the_groups(tmp_path, monkeypatch):
    seen = []
    real_fit = sweep.fit

    def spy(model, X, y, **kwargs):
        seen.append(kwargs["optimizer"])
        return real_fit(model, X, y, **kwargs)

    monkeypatch.setattr(sweep, "fit", spy)
    cfg, _ = experiment(tmp_path, "adamw")
    result = sweep.run_point(cfg.to_dict(), None, 0)
    (opt,) = seen
    assert isinstance(opt, ns.AdamW) and [g["weight_decay"] for g in opt.param_groups] == [0.1, 0.0]
    assert opt.step_count == 2 and len(result["history"]["loss"]) == 2
