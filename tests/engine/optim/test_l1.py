"""L1 regularisation (``l1``): the subgradient l1·sign(θ) joins the gradient before each update.

Checked against hand-computed steps, against central differences of the penalty l1·Σ|θ| (away
from the kink at 0) and side by side with PyTorch optimizers on ``loss + l1 * sum(|θ|)``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import nnscratch as ns
from helpers.torch_nets import torch_mlp
from helpers.training import train_steps, trajectory
from nnscratch.base.errors import HyperparameterError
from nnscratch.engine.optim.penalty import penalty

THETA0 = np.array([1.0, -2.0, 0.5])
GRADS = [np.array([0.5, -1.0, 2.0]), np.array([0.1, 0.3, -0.2]), np.array([-0.4, 0.0, 1.5])]

# values at least 0.01 from the kink of |θ| at 0, where central differences with h = 1e-6 are exact
away_from_zero = st.floats(0.01, 5.0, allow_nan=False, width=64).flatmap(lambda v: st.sampled_from([v, -v]))


def run(make_opt, theta0=THETA0, grads=GRADS) -> list[np.ndarray]:
    return trajectory(make_opt, theta0, grads)


def test_sgd_l1_step_adds_l1_sign_theta():
    lr, lam = 0.1, 0.05
    theta, expected = THETA0.copy(), []
    for g in GRADS:
        theta = theta - lr * (g + lam * np.sign(theta))  # the subgradient of L + λ·Σ|θ|
        expected.append(theta)
    for a, e in zip(run(lambda ps: ns.SGD(ps, lr=lr, l1=lam)), expected, strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-13, atol=1e-15)


def test_l1_and_l2_together():
    lr, lam1, lam2 = 0.1, 0.05, 0.02
    theta, expected = THETA0.copy(), []
    for g in GRADS:
        theta = theta - lr * (g + lam1 * np.sign(theta) + lam2 * theta)
        expected.append(theta)
    actual = run(lambda ps: ns.SGD(ps, lr=lr, l1=lam1, weight_decay=lam2))
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-13, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(
    theta=st.integers(1, 6).flatmap(lambda n: arrays(np.float64, n, elements=away_from_zero)),
    lam1=st.floats(1e-4, 2.0),
    lam2=st.floats(0.0, 2.0),
)
def test_the_step_is_the_gradient_of_the_penalty_by_central_differences(theta, lam1, lam2):
    """With a zero loss gradient and lr = 1, one SGD step moves θ by exactly ∂penalty/∂θ."""
    p = ns.Parameter(theta.copy())
    opt = ns.SGD([p], lr=1.0, l1=lam1, weight_decay=lam2)
    opt.zero_grad()
    opt.step()
    step = theta - p.data
    h = 1e-6
    numeric = np.empty_like(theta)
    for i in range(theta.size):
        plus, minus = theta.copy(), theta.copy()
        plus[i] += h
        minus[i] -= h
        numeric[i] = (
            penalty([ns.Parameter(plus)], weight_decay=lam2, l1=lam1)
            - penalty([ns.Parameter(minus)], weight_decay=lam2, l1=lam1)
        ) / (2 * h)
    np.testing.assert_allclose(step, numeric, rtol=1e-6, atol=1e-8)


def test_penalty_value():
    p, q = ns.Parameter(np.array([1.0, -2.0])), ns.Parameter(np.array([[0.5]]))
    assert penalty([p, q], l1=0.1) == pytest.approx(0.1 * 3.5)
    assert penalty([p, q], weight_decay=0.2) == pytest.approx(0.1 * (1 + 4 + 0.25))
    model = ns.Linear(2, 1, rng=0)
    assert penalty(model, l1=1.0) == pytest.approx(np.abs(model.weight.data).sum() + abs(model.bias.data[0]))
    with pytest.raises(HyperparameterError, match="l1"):
        penalty(model, l1=-1.0)


@pytest.mark.parametrize("make", [ns.SGD, ns.Adam, ns.AdamW, ns.RMSprop])
def test_a_zero_weight_stays_zero_sign_of_zero_is_zero(make):
    p = ns.Parameter(np.array([0.0, 1.0]))
    opt = make([p], lr=0.1, l1=0.5, weight_decay=0.0)
    for _ in range(3):
        opt.zero_grad()
        opt.step()
    assert p.data[0] == 0.0 and p.data[1] < 1.0


@pytest.mark.parametrize("make", [ns.SGD, ns.Adam, ns.AdamW, ns.RMSprop])
def test_negative_l1_is_refused_by_name(make):
    with pytest.raises(HyperparameterError, match=r"l1.*-0\.1"):
        make([ns.Parameter(np.ones(2))], lr=0.1, l1=-0.1)


def test_l1_per_parameter_group_and_state_dict():
    a, b = ns.Parameter(np.array([1.0, -1.0])), ns.Parameter(np.array([2.0]))
    opt = ns.SGD([{"params": [a]}, {"params": [b], "l1": 0.0}], lr=0.1, l1=0.5)
    opt.zero_grad()
    opt.step()
    np.testing.assert_allclose(a.data, [0.95, -0.95])
    assert b.data[0] == 2.0  # its group has no L1
    state = opt.state_dict()
    assert [g["l1"] for g in state["param_groups"]] == [0.5, 0.0]
    # a state dict saved before l1 existed has no "l1": the optimizer's own values stay
    for group in state["param_groups"]:
        del group["l1"]
    del state["hyperparameters"]["l1"]
    again = ns.SGD([{"params": [a]}, {"params": [b], "l1": 0.0}], lr=0.1, l1=0.5)
    again.load_state_dict(state)
    assert [g["l1"] for g in again.param_groups] == [0.5, 0.0]


# -- side by side with PyTorch: ours with l1 = theirs on loss + l1 * Σ|θ| ------------------------------
OPTIMIZERS = {
    "sgd": (lambda ps: ns.SGD(ps, lr=0.1, l1=0.01), lambda ps, t: t.optim.SGD(ps, lr=0.1)),
    "sgd_momentum_wd": (
        lambda ps: ns.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.02, l1=0.01),
        lambda ps, t: t.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.02),
    ),
    "adam": (
        lambda ps: ns.Adam(ps, lr=0.01, weight_decay=0.01, l1=0.003),
        lambda ps, t: t.optim.Adam(ps, lr=0.01, weight_decay=0.01),
    ),
    "adamw": (
        lambda ps: ns.AdamW(ps, lr=0.01, weight_decay=0.1, l1=0.003),
        lambda ps, t: t.optim.AdamW(ps, lr=0.01, weight_decay=0.1),
    ),
    "rmsprop": (
        lambda ps: ns.RMSprop(ps, lr=0.01, momentum=0.5, weight_decay=0.01, l1=0.003),
        lambda ps, t: t.optim.RMSprop(ps, lr=0.01, momentum=0.5, weight_decay=0.01),
    ),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_steps_match_torch_on_the_loss_plus_l1_penalty(name):
    torch = pytest.importorskip("torch")
    make_ours, make_theirs = OPTIMIZERS[name]
    ours = ns.Sequential(
        ns.Linear(3, 5, rng=0), ns.Tanh(), ns.Linear(5, 4, rng=1), ns.Sigmoid(), ns.Linear(4, 2, rng=2)
    )
    theirs = torch_mlp(torch).double()
    with torch.no_grad():
        for key, value in theirs.state_dict().items():
            value.copy_(torch.from_numpy(ours.state_dict()[key]))
    opt, opt_t = make_ours(ours.parameters()), make_theirs(list(theirs.parameters()), torch)
    lam = opt.l1
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(8, 3)), rng.integers(0, 2, size=8)
    loss, loss_t = ns.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    for _ in range(6):
        train_steps(ours, opt, X, y, loss, 1)
        opt_t.zero_grad()
        objective = loss_t(theirs(torch.from_numpy(X)), torch.from_numpy(y))
        objective = objective + lam * sum(p.abs().sum() for p in theirs.parameters())
        objective.backward()
        opt_t.step()
    theirs_state = theirs.state_dict()
    for key, value in ours.state_dict().items():
        np.testing.assert_allclose(value, theirs_state[key].detach().numpy(), rtol=1e-11, atol=1e-12)
