"""``WarmupCosineLR``: linear warm-up, then cosine decay to eta_min, by its definition."""

from __future__ import annotations

import math

import pytest

import nnscratch as ns
from nnscratch.base.errors import HyperparameterError
from nnscratch.experiments.builder import build_scheduler
from nnscratch.experiments.config import load_config


def optimizer(lr: float = 0.1) -> ns.SGD:
    return ns.SGD(ns.Linear(2, 1, rng=0).parameters(), lr=lr)


def expected(epoch: int, base: float, warmup: int, T_max: int, eta_min: float) -> float:
    if epoch < warmup:
        return base * (epoch + 1) / warmup
    t = min(1.0, (epoch - warmup) / (T_max - warmup))
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t)) / 2


@pytest.mark.parametrize(("warmup", "T_max", "eta_min"), [(1, 5, 0.0), (3, 10, 0.001), (5, 6, 0.01)])
def test_every_epoch_follows_the_definition(warmup, T_max, eta_min):
    opt = optimizer(0.1)
    sched = ns.WarmupCosineLR(opt, warmup=warmup, T_max=T_max, eta_min=eta_min)
    for epoch in range(T_max + 3):
        assert opt.param_groups[0]["lr"] == pytest.approx(
            expected(epoch, 0.1, warmup, T_max, eta_min), abs=1e-15
        )
        sched.step()
    assert sched.base_lr == 0.1


def test_warmup_reaches_the_base_rate_and_the_cosine_ends_at_eta_min():
    opt = optimizer(0.2)
    sched = ns.WarmupCosineLR(opt, warmup=4, T_max=12, eta_min=0.02)
    rates = []
    for _ in range(14):
        rates.append(opt.param_groups[0]["lr"])
        sched.step()
    assert rates[0] == pytest.approx(0.05) and rates[3] == pytest.approx(0.2)
    assert rates[:4] == sorted(rates[:4]) and rates[4:13] == sorted(rates[4:13], reverse=True)
    assert rates[12] == pytest.approx(0.02) and rates[13] == pytest.approx(0.02)


def test_state_dict_round_trip_resumes_the_same_rates():
    a = ns.WarmupCosineLR(optimizer(), warmup=2, T_max=8)
    for _ in range(3):
        a.step()
    opt = optimizer()
    b = ns.WarmupCosineLR(opt, warmup=2, T_max=8)
    b.load_state_dict(a.state_dict())
    a.step()
    b.step()
    assert a.get_last_lr() == b.get_last_lr()


def test_refusals():
    with pytest.raises(HyperparameterError, match="greater than warmup"):
        ns.WarmupCosineLR(optimizer(), warmup=5, T_max=5)
    with pytest.raises(HyperparameterError):
        ns.WarmupCosineLR(optimizer(), warmup=0, T_max=5)


def test_from_an_experiment_file():
    cfg = load_config(
        {
            "data": {"dataset": "xor"},
            "optimizer": {
                "name": "adam",
                "lr": 0.01,
                "scheduler": {"name": "warmup_cosine", "warmup": 2, "T_max": 10},
            },
        }
    )
    opt = ns.Adam(ns.Linear(2, 1, rng=0).parameters(), lr=0.01)
    sched = build_scheduler(cfg, opt)
    assert isinstance(sched, ns.WarmupCosineLR) and (sched.warmup, sched.T_max) == (2, 10)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.005)
