"""Parameter groups: per-group hyperparameters as in ``torch.optim``, side by side with PyTorch
(float64), with the flat fast path, through state dicts and schedulers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as ns
from helpers.torch_nets import torch_mlp
from helpers.training import train_steps
from nnscratch.base.errors import DTypeError, HyperparameterError, StateDictError, StateError
from nnscratch.engine.optim import flat as _flat_params

# name -> (factory(params, **overrides-as-defaults), the overrides of the second group)
# Both groups differ from each other in lr and weight_decay.
OPTIMIZERS = {
    "sgd": (lambda ps, m: m.SGD(ps, lr=0.1, weight_decay=0.05), {"lr": 0.3, "weight_decay": 0.0}),
    "sgd_momentum": (
        lambda ps, m: m.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.05),
        {"lr": 0.02, "weight_decay": 0.0},
    ),
    "sgd_nesterov": (
        lambda ps, m: m.SGD(ps, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1),
        {"lr": 0.2, "weight_decay": 0.0, "momentum": 0.5},
    ),
    "adam": (lambda ps, m: m.Adam(ps, lr=0.01, weight_decay=0.1), {"lr": 0.03, "weight_decay": 0.0}),
    "adam_amsgrad": (
        lambda ps, m: m.Adam(ps, lr=0.02, betas=(0.8, 0.9), amsgrad=True, weight_decay=0.05),
        {"lr": 0.005, "weight_decay": 0.0, "betas": (0.7, 0.99)},
    ),
    "adamw": (lambda ps, m: m.AdamW(ps, lr=0.01, weight_decay=0.3), {"lr": 0.02, "weight_decay": 0.0}),
    "rmsprop": (lambda ps, m: m.RMSprop(ps, lr=0.01, weight_decay=0.1), {"lr": 0.003, "weight_decay": 0.0}),
    "rmsprop_centered_momentum": (
        lambda ps, m: m.RMSprop(ps, lr=0.01, centered=True, momentum=0.5, weight_decay=0.1),
        {"lr": 0.02, "weight_decay": 0.0, "alpha": 0.9},
    ),
}


def split(named) -> tuple[list, list]:
    """(weights, biases) of ``named`` (name, parameter) pairs."""
    named = list(named)
    return [p for n, p in named if not n.endswith("bias")], [p for n, p in named if n.endswith("bias")]


def grouped(name: str, named, module):
    """``name``'s optimizer (nnscratch's or torch's, by ``module``): weights in group 0 with the
    constructor's values, biases in group 1 with the overrides."""
    make, overrides = OPTIMIZERS[name]
    weights, biases = split(named)
    return make([{"params": weights}, {"params": biases, **overrides}], module)


def mlp(seed: int = 0) -> ns.Sequential:
    return ns.Sequential(
        ns.Linear(3, 5, rng=seed),
        ns.Tanh(),
        ns.Linear(5, 4, rng=seed + 1),
        ns.Sigmoid(),
        ns.Linear(4, 2, rng=seed + 2),
    )


def data(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(8, 3)), rng.integers(0, 2, size=8)


# -- side by side with torch.optim --------------------------------------------------------------
@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_two_groups_step_as_torch(name):
    torch = pytest.importorskip("torch")
    ours = mlp()
    theirs = torch_mlp(torch).double()
    with torch.no_grad():
        for key, value in theirs.state_dict().items():
            value.copy_(torch.from_numpy(ours.state_dict()[key]))
    opt, opt_t = (
        grouped(name, ours.named_parameters(), ns),
        grouped(name, theirs.named_parameters(), torch.optim),
    )
    assert (
        [len(g["params"]) for g in opt.param_groups]
        == [len(g["params"]) for g in opt_t.param_groups]
        == [3, 3]
    )
    for ours_group, their_group in zip(opt.param_groups, opt_t.param_groups, strict=True):
        for key, value in ours_group.items():
            if key not in ("params", "l1"):  # l1: ours only (torch's twin puts L1 in the loss)
                assert value == their_group[key], key
    X, y = data()
    loss, loss_t = ns.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    for _ in range(6):
        train_steps(ours, opt, X, y, loss, 1)
        opt_t.zero_grad()
        loss_t(theirs(torch.from_numpy(X)), torch.from_numpy(y)).backward()
        opt_t.step()
    theirs_state = theirs.state_dict()
    for key, value in ours.state_dict().items():
        np.testing.assert_allclose(
            value, theirs_state[key].detach().numpy(), rtol=1e-12, atol=1e-13, err_msg=key
        )


@pytest.mark.torch
def test_add_param_group_mid_training_steps_as_torch():
    """A group added after some steps starts with fresh state (momentum buffers), as in torch."""
    torch = pytest.importorskip("torch")
    first0, second0 = np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.7])
    grads = [(np.array([0.5, -1.0, 2.0]) * k, np.array([-0.4, 1.5]) * k) for k in (1.0, 0.5, -2.0, 1.5)]
    a, b = ns.Parameter(first0.copy()), ns.Parameter(second0.copy())
    at, bt = (torch.nn.Parameter(torch.from_numpy(x.copy())) for x in (first0, second0))
    opt = ns.SGD([a], lr=0.1, momentum=0.9, weight_decay=0.01)
    opt_t = torch.optim.SGD([at], lr=0.1, momentum=0.9, weight_decay=0.01)
    for step, (ga, gb) in enumerate(grads):
        if step == 2:
            opt.add_param_group({"params": [b], "lr": 0.5})
            opt_t.add_param_group({"params": [bt], "lr": 0.5})
        opt.zero_grad()
        opt_t.zero_grad()
        a.grad += ga
        b.grad += gb
        at.grad, bt.grad = torch.from_numpy(ga.copy()), torch.from_numpy(gb.copy())
        opt.step()
        opt_t.step()
    np.testing.assert_allclose(a.data, at.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(b.data, bt.detach().numpy(), rtol=1e-13)
    assert not np.array_equal(b.data, second0)


SCHEDULERS = {
    "step": (lambda o: ns.StepLR(o, step_size=2, gamma=0.5), lambda o, t: t.StepLR(o, 2, 0.5)),
    "multistep": (lambda o: ns.MultiStepLR(o, [2, 5], 0.3), lambda o, t: t.MultiStepLR(o, [2, 5], 0.3)),
    "exponential": (lambda o: ns.ExponentialLR(o, gamma=0.8), lambda o, t: t.ExponentialLR(o, gamma=0.8)),
    "cosine": (
        lambda o: ns.CosineAnnealingLR(o, T_max=6, eta_min=0.001),
        lambda o, t: t.CosineAnnealingLR(o, T_max=6, eta_min=0.001),
    ),
}


def two_group_sgd(module, params=None):
    a, b = params or (ns.Parameter(np.ones(2)), ns.Parameter(np.ones(3)))
    return module.SGD([{"params": [a]}, {"params": [b], "lr": 0.02}], lr=0.2)


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_a_schedule_sets_every_groups_rate_from_its_own_start(name):
    sched = SCHEDULERS[name][0](two_group_sgd(ns))
    assert sched.base_lrs == [0.2, 0.02] and sched.base_lr == 0.2
    for _ in range(6):
        sched.step()
        first, second = sched.get_last_lr()
        assert [g["lr"] for g in sched.optimizer.param_groups] == [first, second]
        assert sched.optimizer.lr == first  # opt.lr reads the first group
        if name != "cosine":  # a factor applied to each group's own start
            assert second == pytest.approx(first / 10, rel=1e-14)
    assert first != 0.2


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_a_schedule_on_two_groups_matches_torch(name):
    torch = pytest.importorskip("torch")
    make_ours, make_theirs = SCHEDULERS[name]
    sched = make_ours(two_group_sgd(ns))
    opt_t = two_group_sgd(torch.optim, [torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(3))])
    sched_t = make_theirs(opt_t, torch.optim.lr_scheduler)
    for _ in range(6):
        opt_t.step()
        sched_t.step()
        sched.step()
        np.testing.assert_allclose(sched.get_last_lr(), sched_t.get_last_lr(), rtol=1e-12)


# -- the flat fast path per group ------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_groups_of_whole_layers_keep_flat_runs_and_are_bit_identical(name, monkeypatch):
    """Layers side by side in memory form flat runs; a run never crosses groups, and the result
    equals the per-parameter updates bit for bit."""

    def train(flat: bool):
        monkeypatch.setattr(_flat_params, "FLAT_MAX", _flat_params.FLAT_MAX if flat else -1)
        model = mlp()
        make, overrides = OPTIMIZERS[name]
        named = list(model.named_parameters())
        first = [p for n, p in named if n.startswith(("0.", "2."))]
        last = [p for n, p in named if n.startswith("4.")]
        opt = make([{"params": first}, {"params": last, **overrides}], ns)
        train_steps(model, opt, *data(), ns.CrossEntropyLoss(), 5)
        return model, opt

    flat_model, flat_opt = train(True)
    plain_model, plain_opt = train(False)
    runs = flat_opt._plan.groups
    assert runs and not plain_opt._plan.groups
    group_of = {id(p): i for i, g in enumerate(flat_opt.param_groups) for p in g["params"]}
    assert all(len({group_of[id(p)] for p in run.params}) == 1 for run in runs)
    assert {group_of[id(run.params[0])] for run in runs} == {0, 1}  # both groups have a run
    for (key, a), b in zip(flat_model.state_dict().items(), plain_model.state_dict().values(), strict=True):
        assert a.tobytes() == b.tobytes(), key


def plain_steps(opt, params, grads) -> None:
    for g in grads:
        opt.zero_grad()
        for p, gp in zip(params, g, strict=True):
            p.grad += gp
        opt.step()


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(["sgd", "adam", "adamw", "rmsprop"]),
    lrs=st.tuples(st.floats(1e-4, 0.5), st.floats(1e-4, 0.5)),
    decays=st.tuples(st.sampled_from([0.0, 1e-3, 0.1]), st.sampled_from([0.0, 1e-3, 0.1])),
    momentum=st.sampled_from([0.0, 0.9]),
    seed=st.integers(0, 2**16),
)
def test_groups_step_as_separate_optimizers_would(kind, lrs, decays, momentum, seed):
    """One optimizer with two groups takes, bit for bit, the steps of two optimizers each given one
    group's parameters and hyperparameters."""
    classes = {"sgd": ns.SGD, "adam": ns.Adam, "adamw": ns.AdamW, "rmsprop": ns.RMSprop}
    cls = classes[kind]
    extra = {"momentum": momentum} if kind in ("sgd", "rmsprop") else {}
    rng = np.random.default_rng(seed)
    shapes = [(3, 2), (3,), (2, 3), (2,)]
    start = [rng.normal(size=s) for s in shapes]
    grads = [[rng.normal(size=s) for s in shapes] for _ in range(4)]
    together = [ns.Parameter(x.copy()) for x in start]
    opt = cls(
        [{"params": together[:2]}, {"params": together[2:], "lr": lrs[1], "weight_decay": decays[1]}],
        lr=lrs[0],
        weight_decay=decays[0],
        **extra,
    )
    plain_steps(opt, together, grads)
    apart = [ns.Parameter(x.copy()) for x in start]
    first = cls(apart[:2], lr=lrs[0], weight_decay=decays[0], **extra)
    second = cls(apart[2:], lr=lrs[1], weight_decay=decays[1], **extra)
    for g in grads:
        plain_steps(first, apart[:2], [g[:2]])
        plain_steps(second, apart[2:], [g[2:]])
    for a, b in zip(together, apart, strict=True):
        assert a.data.tobytes() == b.data.tobytes()


# -- attributes, state dicts -------------------------------------------------------------------------
def test_a_plain_parameter_list_is_one_group_with_the_constructors_values():
    model = mlp()
    opt = ns.Adam(model.parameters(), lr=0.01, weight_decay=1e-3)
    (group,) = opt.param_groups
    assert group["params"] == model.parameters() == opt.params
    assert {k: v for k, v in group.items() if k != "params"} == opt.defaults == opt.hyperparameters()
    assert opt.defaults == {
        "lr": 0.01,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
        "weight_decay": 1e-3,
        "amsgrad": False,
        "l1": 0.0,
    }


def test_attributes_read_the_first_group_and_assignments_set_every_group():
    model = mlp()
    opt = grouped("sgd_momentum", model.named_parameters(), ns)
    assert (opt.lr, opt.weight_decay, opt.momentum) == (0.1, 0.05, 0.9)
    assert (opt.param_groups[1]["lr"], opt.param_groups[1]["weight_decay"]) == (0.02, 0.0)
    opt.lr = 0.0
    assert [g["lr"] for g in opt.param_groups] == [0.0, 0.0]
    before = [p.data.copy() for p in model.parameters()]
    train_steps(model, opt, *data(), ns.CrossEntropyLoss(), 2)  # lr 0 everywhere: nothing moves
    for p, b in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.data, b)
    opt.param_groups[1]["lr"] = 0.5  # one group's own rate, read at every step
    train_steps(model, opt, *data(), ns.CrossEntropyLoss(), 1)
    weights, biases = split(model.named_parameters())
    assert all(np.array_equal(p.data, b) for p, b in zip(weights, before[0::2], strict=True))
    assert not any(np.array_equal(p.data, b) for p, b in zip(biases, before[1::2], strict=True))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_dict_round_trip_with_groups_continues_bit_identically(name):
    X, y = data()
    loss = ns.CrossEntropyLoss()
    model = mlp()
    opt = grouped(name, model.named_parameters(), ns)
    train_steps(model, opt, X, y, loss, 3)
    opt.param_groups[1]["lr"] *= 0.5  # as a schedule would: the saved state keeps it
    saved_model, saved_opt = model.state_dict(), opt.state_dict()
    assert [g["params"] for g in saved_opt["param_groups"]] == [[0, 1, 2], [3, 4, 5]]
    train_steps(model, opt, X, y, loss, 4)

    resumed = mlp(seed=10)
    resumed.load_state_dict(saved_model)
    resumed_opt = grouped(name, resumed.named_parameters(), ns)
    resumed_opt.load_state_dict(saved_opt)
    assert resumed_opt.param_groups[1]["lr"] == OPTIMIZERS[name][1]["lr"] * 0.5
    assert resumed_opt.step_count == 3
    train_steps(resumed, resumed_opt, X, y, loss, 4)
    for key, value in model.state_dict().items():
        assert resumed.state_dict()[key].tobytes() == value.tobytes(), key


def test_a_state_for_other_groups_is_refused_and_changes_nothing():
    model = mlp()
    grouped_opt = grouped("sgd_momentum", model.named_parameters(), ns)
    train_steps(model, grouped_opt, *data(), ns.CrossEntropyLoss(), 2)
    one_group = ns.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.05)
    with pytest.raises(StateDictError, match="has 2 parameter groups, expected 1"):
        one_group.load_state_dict(grouped_opt.state_dict())
    assert one_group.step_count == 0 and one_group.state == [{} for _ in range(6)]
    layers = list(model.named_parameters())
    other_split = ns.SGD(
        [{"params": [p for _, p in layers[:2]]}, {"params": [p for _, p in layers[2:]]}], momentum=0.9
    )
    with pytest.raises(StateDictError, match=r"param_groups\[0\] does not hold the parameters \[0, 1\]"):
        other_split.load_state_dict(grouped_opt.state_dict())
    bad = grouped_opt.state_dict()
    bad["param_groups"][1]["weight_decay"] = -1.0
    with pytest.raises(StateDictError, match=r"param_groups\[1\]: weight_decay must be"):
        grouped("sgd_momentum", model.named_parameters(), ns).load_state_dict(bad)


def test_a_state_dict_from_before_groups_still_loads():
    p = [ns.Parameter(np.ones(2))]
    old = {"type": "SGD", "hyperparameters": {"lr": 0.5, "momentum": 0.9}, "step_count": 2, "state": [{}]}
    opt = ns.SGD(p, lr=0.1)
    opt.load_state_dict(old)
    assert (opt.lr, opt.momentum, opt.step_count) == (0.5, 0.9, 2)


def test_scheduler_state_round_trips_with_groups_and_reads_an_older_one():
    sched = ns.StepLR(two_group_sgd(ns), step_size=2, gamma=0.5)
    for _ in range(3):
        sched.step()
    resumed = ns.StepLR(two_group_sgd(ns), step_size=2, gamma=0.5)
    resumed.load_state_dict(sched.state_dict())
    assert resumed.get_last_lr() == sched.get_last_lr() == [0.1, 0.01]
    older = ns.StepLR(ns.SGD([ns.Parameter(np.ones(1))], lr=1.0), step_size=2, gamma=0.5)
    older.load_state_dict({"type": "StepLR", "base_lr": 0.8, "last_epoch": 2})
    assert older.get_last_lr() == [0.4]
    with pytest.raises(StateDictError, match="one starting learning rate per parameter group"):
        resumed.load_state_dict({"type": "StepLR", "base_lr": 0.8, "last_epoch": 2})


# -- errors -----------------------------------------------------------------------------------------------
def _params(n=2):
    return [ns.Parameter(np.ones(2)) for _ in range(n)]


GROUP_ERRORS = {
    "in two groups": (
        lambda a, b: ns.SGD([{"params": [a, b]}, {"params": [b]}]),
        HyperparameterError,
        r"more than one parameter group: param_groups\[1\]\['params'\]\[0\] is already in param_groups\[0\]",
    ),
    "empty group": (
        lambda a, b: ns.SGD([{"params": [a]}, {"params": [], "lr": 0.1}]),
        HyperparameterError,
        r"param_groups\[1\] has no parameters",
    ),
    "no params key": (
        lambda a, b: ns.Adam([{"params": [a]}, {"lr": 0.1}]),
        HyperparameterError,
        r"param_groups\[1\] has no 'params' entry.*Received keys: \['lr'\]",
    ),
    "unknown option": (
        lambda a, b: ns.SGD([{"params": [a], "betas": (0.9, 0.9)}]),
        HyperparameterError,
        r"param_groups\[0\] has an option SGD does not take: 'betas' \(it takes lr, momentum",
    ),
    "bad override": (
        lambda a, b: ns.Adam([{"params": [a]}, {"params": [b], "weight_decay": -0.1}]),
        HyperparameterError,
        r"param_groups\[1\]: weight_decay must be a finite number >= 0. Received: weight_decay=-0.1",
    ),
    "nesterov override": (
        lambda a, b: ns.SGD([{"params": [a], "nesterov": True}], momentum=0.0),
        HyperparameterError,
        r"param_groups\[0\]: nesterov=True needs momentum > 0",
    ),
    "mixed list": (
        lambda a, b: ns.SGD([{"params": [a]}, b]),
        DTypeError,
        r"params\[1\] is Parameter, but params\[0\] is a parameter group",
    ),
    "not parameters": (
        lambda a, b: ns.SGD([{"params": [a, np.ones(2)]}]),
        DTypeError,
        r"param_groups\[0\]\['params'\]\[1\] is ndarray, expected a Parameter",
    ),
}


@pytest.mark.parametrize("case", sorted(GROUP_ERRORS))
def test_bad_groups_are_refused_with_a_clear_message(case):
    build, error, message = GROUP_ERRORS[case]
    with pytest.raises(error, match=message):
        build(*_params())


def test_add_param_group():
    a, b, c = _params(3)
    opt = ns.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.5})  # one Parameter is a group of one, as in torch
    assert opt.params == [a, b] and [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9  # the constructor's value
    with pytest.raises(HyperparameterError, match="already in param_groups"):
        opt.add_param_group({"params": [c, a]})
    assert len(opt.param_groups) == 2 and opt.params == [a, b]  # refused: nothing added
    with pytest.raises(DTypeError, match="param_group must be a dict"):
        opt.add_param_group([c])
    adam = ns.Adam([a])
    adam.add_param_group({"params": [b]})  # before the first step: fine
    a.grad += 1.0
    adam.step()
    with pytest.raises(StateError, match="add groups before the first step"):
        adam.add_param_group({"params": [c]})


def test_a_schedule_made_before_add_param_group_says_so():
    a, b = _params()
    opt = ns.SGD([a], lr=0.1)
    sched = ns.StepLR(opt, step_size=1)
    opt.add_param_group({"params": [b]})
    with pytest.raises(StateError, match="make the schedule after add_param_group"):
        sched.step()
    assert sched.last_epoch == 0 and [g["lr"] for g in opt.param_groups] == [0.1, 0.1]
    assert ns.StepLR(opt, step_size=1, gamma=0.5).get_lr() == [0.1, 0.1]


def test_repr_shows_each_groups_own_values():
    a, b = _params()
    opt = ns.SGD([{"params": [a]}, {"params": [b], "weight_decay": 0.0}], lr=0.1, weight_decay=1e-4)
    assert repr(opt) == (
        "SGD(lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0001, nesterov=False, l1=0.0, "
        "param_groups=[{}, {weight_decay=0.0}])"
    )
    assert (
        repr(ns.SGD([a], lr=0.1))
        == "SGD(lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, l1=0.0)"
    )
