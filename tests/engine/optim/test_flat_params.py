"""Optimizers that update small parameters as one flat group take exactly the per-parameter steps."""

from __future__ import annotations

import numpy as np
import pytest

import nnscratch as ns
from helpers.training import train_steps
from nnscratch.engine.optim import flat as _flat_params

OPTIMIZERS = {
    "sgd": lambda ps: ns.SGD(ps, lr=0.1),
    "sgd_momentum_wd": lambda ps: ns.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-2),
    "sgd_nesterov": lambda ps: ns.SGD(ps, lr=0.1, momentum=0.8, nesterov=True),
    "sgd_dampening": lambda ps: ns.SGD(ps, lr=0.1, momentum=0.9, dampening=0.3),
    "adam": lambda ps: ns.Adam(ps, lr=1e-2, weight_decay=1e-3),
    "adam_amsgrad": lambda ps: ns.Adam(ps, lr=1e-2, amsgrad=True),
    "adamw": lambda ps: ns.AdamW(ps, lr=1e-2),
    "rmsprop": lambda ps: ns.RMSprop(ps, lr=1e-2, momentum=0.5, centered=True, weight_decay=1e-3),
}


def _model(dtype, seed=0) -> ns.Sequential:
    # small layers (grouped) and one over FLAT_MAX elements (updated on its own)
    return ns.Sequential(
        ns.Linear(3, 5, dtype=dtype, rng=seed),
        ns.Tanh(),
        ns.Linear(5, 140, dtype=dtype, rng=seed + 1),
        ns.ReLU(),
        ns.Linear(140, 130, dtype=dtype, rng=seed + 2),
        ns.Tanh(),
        ns.Linear(130, 1, dtype=dtype, rng=seed + 3),
    )


def _train(
    name: str, dtype, steps: int, flat: bool, monkeypatch, between=None
) -> tuple[ns.Sequential, object]:
    monkeypatch.setattr(_flat_params, "FLAT_MAX", _flat_params.FLAT_MAX if flat else -1)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((16, 3)).astype(dtype)
    y = rng.standard_normal((16, 1)).astype(dtype)
    model, loss = _model(dtype), ns.MSELoss()
    opt = OPTIMIZERS[name](model.parameters())
    for step in range(steps):
        loss.forward(model.forward(x), y)
        opt.zero_grad()
        model.backward(loss.backward(), input_grad=False)
        opt.step()
        if between is not None:
            model, opt = between(step, model, opt)
    return model, opt


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_flat_updates_are_bit_identical_to_per_parameter_ones(name, dtype, monkeypatch):
    flat_model, flat_opt = _train(name, dtype, 5, True, monkeypatch)
    plain_model, plain_opt = _train(name, dtype, 5, False, monkeypatch)
    assert flat_opt._plan.groups and not plain_opt._plan.groups  # the two paths were taken
    # all but the 140×130 weight (one run, or two if the model straddles two slabs)
    assert sum(len(group.params) for group in flat_opt._plan.groups) == 7
    for (k, a), (_, b) in zip(flat_model.state_dict().items(), plain_model.state_dict().items(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=k)
        assert a.dtype == dtype
    for sa, sb in zip(flat_opt.state_dict()["state"], plain_opt.state_dict()["state"], strict=True):
        assert sa.keys() == sb.keys()
        for key in sa:
            np.testing.assert_array_equal(sa[key], sb[key])


def test_the_group_is_a_view_of_the_parameters_own_arrays(monkeypatch):
    """The flat arrays are views spanning the parameters' data and gradients; the parameters keep
    their arrays, and their state entries are views of the group's state."""
    monkeypatch.setattr(_flat_params, "FLAT_MAX", _flat_params.FLAT_MAX)
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 1))
    model, loss = _model(np.float64), ns.MSELoss()
    w = model[0].weight
    data, grad = w.data, w.grad
    opt = OPTIMIZERS["sgd_momentum_wd"](model.parameters())
    train_steps(model, opt, x, y, loss, 2)
    assert w.data is data and w.grad is grad
    group = next(group for group in opt._plan.groups if w in group.params)
    assert np.shares_memory(w.data, group.data) and np.shares_memory(w.grad, group.grad)
    i = opt.params.index(w)
    buf = opt.state[i]["momentum_buffer"]
    assert buf.shape == w.shape and np.shares_memory(buf, group.state["momentum_buffer"])
    big = model[4].weight  # over FLAT_MAX elements: arrays of its own, updated by itself
    assert not any(np.shares_memory(big.data, group.data) for group in opt._plan.groups)


def test_a_replaced_array_rebuilds_the_group_and_nothing_is_lost(monkeypatch):
    """Code that assigns a parameter a new array makes the next step find the runs again from the
    current arrays; after Module.astype(float32) the float64 momentum buffers no longer fit a
    float32 group, and the parameters are updated one by one, as without groups."""

    def replace(step, model, opt):
        if step == 1:
            model[0].weight.data = model[0].weight.data * 1.0
        if step == 3:
            model.astype(np.float32)
        return model, opt

    flat_model, flat_opt = _train("sgd_momentum_wd", np.float64, 6, True, monkeypatch, replace)
    plain_model, _ = _train("sgd_momentum_wd", np.float64, 6, False, monkeypatch, replace)
    assert flat_opt._plan.builds == 3 and not flat_opt._plan.groups  # built, then rebuilt twice
    for a, b in zip(flat_model.state_dict().values(), plain_model.state_dict().values(), strict=True):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)


def test_two_optimizers_taking_turns_both_keep_their_groups_and_stay_correct(monkeypatch):
    """Nothing is moved, so two optimizers over the same parameters each keep flat views of the
    same memory; every step is the plain update."""
    monkeypatch.setattr(_flat_params, "FLAT_MAX", 1 << 14)
    params = [ns.Parameter(np.full(3, float(i))) for i in range(4)]
    arrays = [(p.data, p.grad) for p in params]
    reference = [p.data.copy() for p in params]
    a, b = ns.SGD(params, lr=0.1), ns.SGD(params, lr=0.01)
    for step in range(12):
        for opt, lr in ((a, 0.1), (b, 0.01)):
            opt.zero_grad()
            for p, r in zip(params, reference, strict=True):
                p.grad += r * 0.5 + step
            for r in reference:
                r -= lr * (r * 0.5 + step)
            opt.step()
    for p, r, (d, g) in zip(params, reference, arrays, strict=True):
        np.testing.assert_allclose(p.data, r, rtol=1e-13)
        assert p.data is d and p.grad is g
    assert a._plan.groups and b._plan.groups and a._plan.builds == b._plan.builds == 1


def test_zeroed_gradients_are_zero_in_the_group(monkeypatch):
    """A parameter no backward pass reached after zero_grad gets a zero gradient, not a stale one."""
    monkeypatch.setattr(_flat_params, "FLAT_MAX", 1 << 14)
    used, unused = ns.Parameter(np.ones(2)), ns.Parameter(np.ones(2))
    opt = ns.SGD([used, unused], lr=1.0)
    used.grad += 1.0
    unused.grad += 5.0
    opt.step()  # both move
    opt.zero_grad()
    used.accumulate(np.full(2, 2.0))
    opt.step()  # only `used` has a gradient now
    assert opt._plan.groups
    np.testing.assert_array_equal(used.data, [-2.0, -2.0])
    np.testing.assert_array_equal(unused.data, [-4.0, -4.0])
    np.testing.assert_array_equal(unused.grad, [0.0, 0.0])


def test_a_parameter_listed_twice_is_updated_twice_as_before(monkeypatch):
    monkeypatch.setattr(_flat_params, "FLAT_MAX", 1 << 14)
    p, q = ns.Parameter(np.zeros(2)), ns.Parameter(np.zeros(2))
    opt = ns.SGD([p, q, p], lr=1.0)
    p.grad += 1.0
    q.grad += 1.0
    opt.step()
    assert not opt._plan.groups
    np.testing.assert_array_equal(p.data, [-2.0, -2.0])
    np.testing.assert_array_equal(q.data, [-1.0, -1.0])


@pytest.mark.parametrize("name", ["sgd_momentum_wd", "adam", "rmsprop"])
def test_state_dict_round_trip_into_a_fresh_optimizer_continues_identically(name, monkeypatch):
    def reload(step, model, opt):
        if step == 2:  # a new optimizer from a checkpoint of this one
            fresh = OPTIMIZERS[name](model.parameters())
            fresh.load_state_dict(opt.state_dict())
            return model, fresh
        return model, opt

    resumed, _ = _train(name, np.float64, 5, True, monkeypatch, reload)
    straight, _ = _train(name, np.float64, 5, True, monkeypatch)
    for a, b in zip(resumed.state_dict().values(), straight.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("flat", [True, False])
@pytest.mark.parametrize("name", ["sgd_momentum_wd", "adam"])
def test_loading_an_older_state_into_the_same_optimizer_takes_effect(name, flat, monkeypatch):
    """load_state_dict replaces the state arrays: the next steps must use the loaded values (as a
    fresh optimizer loaded with them does), not keep updating the arrays the plan held."""
    saved = {}

    def rewind(into_fresh):
        def between(step, model, opt):
            if step == 1:
                saved["state"] = opt.state_dict()
            if step == 3:
                if into_fresh:
                    opt = OPTIMIZERS[name](model.parameters())
                opt.load_state_dict(saved["state"])
            return model, opt

        return between

    same_model, same_opt = _train(name, np.float64, 6, flat, monkeypatch, rewind(False))
    fresh_model, _ = _train(name, np.float64, 6, flat, monkeypatch, rewind(True))
    assert bool(same_opt._plan.groups) == flat
    for a, b in zip(same_model.state_dict().values(), fresh_model.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a, b)
