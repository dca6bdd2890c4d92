"""A parameter's ``data`` and ``grad`` stay the same arrays for its whole life, as in PyTorch.

A reference taken before training is still the parameter's value (and gradient) after any number
of optimizer steps, whether the optimizer updates small parameters as flat runs or one by one.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nnscratch as ns
from helpers.training import train_steps
from nnscratch.engine import arena
from nnscratch.engine.optim import flat

OPTIMIZERS = {
    "sgd": lambda ps: ns.SGD(ps, lr=0.01),
    "sgd_momentum": lambda ps: ns.SGD(ps, lr=0.01, momentum=0.9, weight_decay=1e-3),
    "adam": lambda ps: ns.Adam(ps, lr=1e-2),
    "adamw": lambda ps: ns.AdamW(ps, lr=1e-2),
    "rmsprop": lambda ps: ns.RMSprop(ps, lr=1e-2, momentum=0.5),
}


def _mlp() -> tuple[ns.Sequential, np.ndarray, np.ndarray]:
    model = ns.Sequential(ns.Linear(2, 8, rng=0), ns.Tanh(), ns.Linear(8, 1, rng=1))
    rng = np.random.default_rng(0)
    return model, rng.standard_normal((24, 2)), rng.standard_normal((24, 1))


def _cnn() -> tuple[ns.Sequential, np.ndarray, np.ndarray]:
    # the first kernel has 24·12·8·8 > FLAT_MAX elements: a parameter with arrays of its own
    model = ns.Sequential(
        ns.Conv2d(12, 24, 8, rng=0), ns.ReLU(), ns.Flatten(), ns.Linear(24 * 2 * 2, 1, rng=1)
    )
    rng = np.random.default_rng(1)
    return model, 0.3 * rng.standard_normal((6, 12, 9, 9)), rng.standard_normal((6, 1))


def _lstm() -> tuple[ns.Sequential, np.ndarray, np.ndarray]:
    # weight_ih_l0 is (4·64, 80): over FLAT_MAX; the other parameters are small
    model = ns.Sequential(ns.LSTM(80, 64, rng=0), ns.LastTimeStep(), ns.Linear(64, 1, rng=1))
    rng = np.random.default_rng(2)
    return model, rng.standard_normal((5, 3, 80)), rng.standard_normal((5, 1))


MODELS = {"mlp": _mlp, "cnn": _cnn, "lstm": _lstm}


def _references(model: ns.Module) -> list[tuple[ns.Parameter, np.ndarray, np.ndarray]]:
    return [(p, p.data, p.grad) for p in model.parameters()]


def _assert_same_arrays(refs: list[tuple[ns.Parameter, np.ndarray, np.ndarray]]) -> None:
    for p, data, grad in refs:
        assert p.data is data and p.grad is grad
        assert np.shares_memory(p.data, data) and np.shares_memory(p.grad, grad)


def _manual_steps(model, X, y, opt, steps: int = 4) -> None:
    train_steps(model, opt, X, y, ns.MSELoss(), steps)


def _fit(model, X, y, opt) -> None:
    # three epochs on random targets need not learn: this test is about identity, not progress
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ns.TrainingWarning)
        ns.fit(model, X, y, loss=ns.MSELoss(), optimizer=opt, epochs=3, batch_size=2, seed=0, metrics=None)


@pytest.mark.parametrize("model_name", sorted(MODELS))
def test_the_models_cover_small_and_large_parameters(model_name):
    model, _, _ = MODELS[model_name]()
    sizes = [p.size for p in model.parameters()]
    assert any(s <= flat.FLAT_MAX for s in sizes)
    if model_name != "mlp":
        assert any(s > flat.FLAT_MAX for s in sizes)


@pytest.mark.parametrize("train", [_manual_steps, _fit], ids=["manual steps", "fit"])
@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("model_name", sorted(MODELS))
def test_references_stay_the_parameters_arrays_through_training(model_name, opt_name, train):
    model, X, y = MODELS[model_name]()
    refs = _references(model)
    before = [data.copy() for _, data, _ in refs]
    opt = OPTIMIZERS[opt_name](model.parameters())
    train(model, X, y, opt)
    _assert_same_arrays(refs)
    for b, (_, data, _) in zip(before, refs, strict=True):
        assert not np.array_equal(b, data)  # every parameter moved, in the array taken before
    assert opt._plan.groups  # the small parameters were updated as flat runs
    if train is _manual_steps:  # the last step's gradient is there, in the array taken before
        assert all(np.any(grad != 0) for _, _, grad in refs)


def test_flat_and_per_parameter_updates_agree_bit_for_bit(monkeypatch):
    results = []
    for flat_max in (flat.FLAT_MAX, -1):
        monkeypatch.setattr(flat, "FLAT_MAX", flat_max)
        model, X, y = _lstm()
        opt = ns.Adam(model.parameters(), lr=1e-2)
        _manual_steps(model, X, y, opt)
        assert bool(opt._plan.groups) == (flat_max > 0)
        results.append(model.state_dict())
    for key in results[0]:
        np.testing.assert_array_equal(results[0][key], results[1][key], err_msg=key)


def test_zero_grad_fills_the_same_arrays_with_zeros():
    model, X, y = _cnn()
    opt = ns.SGD(model.parameters(), lr=0.01)
    refs = _references(model)
    _manual_steps(model, X, y, opt, steps=2)
    opt.zero_grad()
    _assert_same_arrays(refs)
    assert all(not grad.any() for _, _, grad in refs)
    model(X)
    model.backward(np.ones((6, 1)), input_grad=False)
    model.zero_grad()
    assert all(not grad.any() for _, _, grad in refs)
    _assert_same_arrays(refs)


def test_load_state_dict_writes_into_the_same_arrays():
    model, X, y = _lstm()
    opt = ns.SGD(model.parameters(), lr=0.05, momentum=0.9)
    refs = _references(model)
    saved = model.state_dict()
    _manual_steps(model, X, y, opt)
    model.load_state_dict(saved)
    _assert_same_arrays(refs)
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.data, saved[name])
    _manual_steps(model, X, y, opt)  # the optimizer goes on updating the same arrays
    _assert_same_arrays(refs)


def test_optimizer_load_state_dict_keeps_the_parameters_and_continues_identically():
    def run(reload: bool) -> dict[str, np.ndarray]:
        model, X, y = _mlp()
        refs = _references(model)
        opt = ns.Adam(model.parameters(), lr=1e-2)
        _manual_steps(model, X, y, opt, steps=2)
        if reload:
            state = opt.state_dict()
            opt = ns.Adam(model.parameters(), lr=1e-2)
            opt.load_state_dict(state)
        _manual_steps(model, X, y, opt, steps=3)
        _assert_same_arrays(refs)
        return model.state_dict()

    straight, resumed = run(False), run(True)
    for key in straight:
        np.testing.assert_array_equal(straight[key], resumed[key])


def test_astype_to_the_same_dtype_keeps_the_arrays_and_another_dtype_trains_on():
    model, X, y = _cnn()
    refs = _references(model)
    model.astype(np.float64)  # nothing to convert
    _assert_same_arrays(refs)
    opt = ns.SGD(model.parameters(), lr=0.05, momentum=0.9)
    _manual_steps(model, X, y, opt, steps=2)
    model.astype(np.float32)  # a new dtype needs new arrays (as PyTorch's module.to(dtype))
    assert all(p.dtype == np.float32 and p.grad.dtype == np.float32 for p in model.parameters())
    refs32 = _references(model)
    before = model.state_dict()
    _manual_steps(model, X.astype(np.float32), y.astype(np.float32), opt, steps=2)
    _assert_same_arrays(refs32)  # from then on, the new arrays stay
    assert any(not np.array_equal(before[k], v) for k, v in model.state_dict().items())


def test_a_copied_model_has_arrays_of_its_own():
    model, X, y = _mlp()
    clone = model.copy()
    for p, q in zip(model.parameters(), clone.parameters(), strict=True):
        assert not np.shares_memory(p.data, q.data) and not np.shares_memory(p.grad, q.grad)
        np.testing.assert_array_equal(p.data, q.data)
    opt = ns.SGD(clone.parameters(), lr=0.1)
    refs = _references(clone)
    _manual_steps(clone, X, y, opt)
    _assert_same_arrays(refs)
    assert opt._plan.groups  # the copy's small parameters lie side by side too


def test_a_model_spread_over_several_slabs_gets_one_run_per_stretch(monkeypatch):
    """Slabs of 16 elements: W1, b1 | W2 | b2, W3, b3 — two runs and a parameter on its own, each
    updated in place, bit for bit as one by one."""
    monkeypatch.setattr(arena, "SLAB_SIZE", 16)
    monkeypatch.setattr(arena, "ARENA_MAX", 16)
    results = []
    for flat_max in (16, -1):
        monkeypatch.setattr(arena, "_open", {})
        monkeypatch.setattr(flat, "FLAT_MAX", flat_max)
        model = ns.Sequential(
            ns.Linear(2, 4, rng=0), ns.Tanh(), ns.Linear(4, 4, rng=1), ns.Tanh(), ns.Linear(4, 1, rng=2)
        )
        refs = _references(model)
        rng = np.random.default_rng(3)
        opt = ns.Adam(model.parameters(), lr=1e-2)
        _manual_steps(model, rng.standard_normal((8, 2)), rng.standard_normal((8, 1)), opt)
        _assert_same_arrays(refs)
        runs = sorted([opt.params.index(p) for p in group.params] for group in opt._plan.groups)
        assert runs == ([[0, 1], [3, 4, 5]] if flat_max > 0 else [])
        results.append(model.state_dict())
    for key in results[0]:
        np.testing.assert_array_equal(results[0][key], results[1][key], err_msg=key)
