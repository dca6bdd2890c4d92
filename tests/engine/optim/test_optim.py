"""Optimizers against hand-computed updates, schedules, checkpoints, and initialisers."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nnscratch as ns
from helpers.training import train_steps, trajectory
from nnscratch import init

GRADS = [
    np.array([0.5, -1.0, 2.0]),
    np.array([0.1, 0.3, -0.2]),
    np.array([-0.4, 0.0, 1.5]),
    np.array([1.0, 1.0, 1.0]),
]
THETA0 = np.array([1.0, -2.0, 0.5])


def run(make_opt, grads=GRADS) -> list[np.ndarray]:
    """Apply ``grads`` one per step to a single parameter; return θ after every step."""
    return trajectory(make_opt, THETA0, grads)


def assert_trajectory(actual: list[np.ndarray], expected: list[np.ndarray]) -> None:
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-13, atol=1e-15)


# -- SGD -------------------------------------------------------------------------------------------------
def test_sgd_plain():
    theta, expected = THETA0.copy(), []
    for g in GRADS:
        theta = theta - 0.1 * g
        expected.append(theta)
    assert_trajectory(run(lambda ps: ns.SGD(ps, lr=0.1)), expected)


@pytest.mark.parametrize("dampening", [0.0, 0.3])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_sgd_momentum(dampening, weight_decay):
    lr, mu = 0.1, 0.9
    theta, buf, expected = THETA0.copy(), None, []
    for g in GRADS:
        g = g + weight_decay * theta
        buf = g.copy() if buf is None else mu * buf + (1 - dampening) * g  # first step: b = g
        theta = theta - lr * buf
        expected.append(theta)
    actual = run(lambda ps: ns.SGD(ps, lr=lr, momentum=mu, dampening=dampening, weight_decay=weight_decay))
    assert_trajectory(actual, expected)


def test_sgd_nesterov():
    lr, mu = 0.05, 0.8
    theta, buf, expected = THETA0.copy(), None, []
    for g in GRADS:
        buf = g.copy() if buf is None else mu * buf + g
        theta = theta - lr * (g + mu * buf)
        expected.append(theta)
    assert_trajectory(run(lambda ps: ns.SGD(ps, lr=lr, momentum=mu, nesterov=True)), expected)


def test_sgd_weight_decay_is_l2_regularisation():
    lr, lam = 0.1, 0.01
    theta, expected = THETA0.copy(), []
    for g in GRADS:
        theta = theta - lr * (g + lam * theta)  # the gradient of L + (λ/2)‖θ‖²
        expected.append(theta)
    assert_trajectory(run(lambda ps: ns.SGD(ps, lr=lr, weight_decay=lam)), expected)


def test_sgd_does_not_modify_the_gradient():
    p = ns.Parameter(THETA0.copy())
    opt = ns.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True)
    p.grad += GRADS[0]
    opt.step()
    opt.step()
    np.testing.assert_array_equal(p.grad, GRADS[0])


# -- Adam, AdamW -----------------------------------------------------------------------------------
def adam_reference(lr, b1, b2, eps, wd=0.0, amsgrad=False, decoupled=False) -> list[np.ndarray]:
    """The textbook Adam (Kingma & Ba) with m̂ and v̂, plus the L2 / decoupled decay variants."""
    theta = THETA0.copy()
    m = np.zeros(3)
    v = np.zeros(3)
    v_max = np.zeros(3)
    out = []
    for t, g in enumerate(GRADS, start=1):
        if decoupled:
            theta = theta * (1 - lr * wd)
        else:
            g = g + wd * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        v_max = np.maximum(v_max, v)
        m_hat = m / (1 - b1**t)
        v_hat = (v_max if amsgrad else v) / (1 - b2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(theta)
    return out


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam(amsgrad, weight_decay):
    expected = adam_reference(0.01, 0.8, 0.95, 1e-6, weight_decay, amsgrad)
    actual = run(
        lambda ps: ns.Adam(
            ps, lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=weight_decay, amsgrad=amsgrad
        )
    )
    assert_trajectory(actual, expected)


def test_adam_first_step_moves_every_coordinate_by_lr():
    # m̂ / sqrt(v̂) = g / |g| on step 1: a hallmark of Adam
    (theta,) = run(lambda ps: ns.Adam(ps, lr=0.01, eps=0.0), grads=[np.array([3.0, -0.001, 50.0])])
    np.testing.assert_allclose(theta - THETA0, [-0.01, 0.01, -0.01], rtol=1e-12)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adamw_decoupled_weight_decay(amsgrad):
    expected = adam_reference(0.01, 0.9, 0.999, 1e-8, 0.2, amsgrad, decoupled=True)
    assert_trajectory(run(lambda ps: ns.AdamW(ps, lr=0.01, weight_decay=0.2, amsgrad=amsgrad)), expected)


def test_adamw_default_weight_decay_is_pytorchs():
    assert ns.AdamW([ns.Parameter(np.ones(1))]).weight_decay == 0.01


# -- RMSprop ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.7])
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_rmsprop(centered, momentum, weight_decay):
    lr, alpha, eps = 0.01, 0.9, 1e-8
    theta = THETA0.copy()
    s, mean_g, buf = np.zeros(3), np.zeros(3), np.zeros(3)
    expected = []
    for g in GRADS:
        g = g + weight_decay * theta
        s = alpha * s + (1 - alpha) * g * g
        if centered:
            mean_g = alpha * mean_g + (1 - alpha) * g
            denom = np.sqrt(s - mean_g**2) + eps
        else:
            denom = np.sqrt(s) + eps
        if momentum:
            buf = momentum * buf + g / denom
            theta = theta - lr * buf
        else:
            theta = theta - lr * g / denom
        expected.append(theta)
    actual = run(
        lambda ps: ns.RMSprop(
            ps, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered
        )
    )
    assert_trajectory(actual, expected)


# -- common behaviour -------------------------------------------------------------------------------
ALL_OPTIMIZERS = {
    "sgd": lambda ps: ns.SGD(ps, lr=0.1),
    "sgd_momentum": lambda ps: ns.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
    "sgd_nesterov": lambda ps: ns.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    "adam": lambda ps: ns.Adam(ps, lr=0.01),
    "adam_amsgrad": lambda ps: ns.Adam(ps, lr=0.01, amsgrad=True, weight_decay=0.01),
    "adamw": lambda ps: ns.AdamW(ps, lr=0.01),
    "rmsprop": lambda ps: ns.RMSprop(ps, lr=0.01),
    "rmsprop_centered_momentum": lambda ps: ns.RMSprop(ps, lr=0.01, centered=True, momentum=0.5),
}


@pytest.mark.parametrize("name", sorted(ALL_OPTIMIZERS))
def test_zero_lr_changes_nothing(name):
    def make(ps):
        opt = ALL_OPTIMIZERS[name](ps)
        opt.lr = 0.0
        return opt

    for theta in run(make):
        np.testing.assert_array_equal(theta, THETA0)


@pytest.mark.parametrize("name", sorted(ALL_OPTIMIZERS))
def test_optimizer_zero_grad_and_model_argument(name):
    model = ns.Sequential(ns.Linear(2, 3, rng=0), ns.Tanh(), ns.Linear(3, 1, rng=1))
    opt = ALL_OPTIMIZERS[name](model)  # a Module is accepted in place of model.parameters()
    assert opt.params == model.parameters()
    for p in model.parameters():
        p.grad += 1.0
    opt.zero_grad()
    assert all(np.all(p.grad == 0) for p in model.parameters())


def small_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(float)
    return X, y


@pytest.mark.parametrize("name", sorted(ALL_OPTIMIZERS))
def test_state_dict_round_trip_continues_identically(name):
    X, y = small_problem()

    def fresh():
        model = ns.Sequential(ns.Linear(2, 4, rng=0), ns.Tanh(), ns.Linear(4, 1, rng=1))
        return model, ALL_OPTIMIZERS[name](model.parameters())

    model, opt = fresh()
    train_steps(model, opt, X, y, ns.BCEWithLogitsLoss(), 3)
    saved_model, saved_opt = model.state_dict(), opt.state_dict()
    train_steps(model, opt, X, y, ns.BCEWithLogitsLoss(), 4)  # also checks that the saved state holds copies

    resumed, resumed_opt = fresh()
    resumed.load_state_dict(saved_model)
    resumed_opt.load_state_dict(saved_opt)
    assert resumed_opt.step_count == 3
    train_steps(resumed, resumed_opt, X, y, ns.BCEWithLogitsLoss(), 4)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value)


def test_loading_lr_from_a_state_dict():
    p = [ns.Parameter(np.ones(2))]
    opt = ns.SGD(p, lr=0.5, momentum=0.9)
    other = ns.SGD(p, lr=0.1)
    other.load_state_dict(opt.state_dict())
    assert other.lr == 0.5 and other.momentum == 0.9


# -- learning-rate schedules -----------------------------------------------------------------------
def lrs(scheduler, epochs=10) -> list[float]:
    out = []
    for _ in range(epochs):
        scheduler.step()
        out.append(scheduler.optimizer.lr)
    return out


def sgd(lr=1.0) -> ns.SGD:
    return ns.SGD([ns.Parameter(np.ones(1))], lr=lr)


def test_step_lr():
    assert lrs(ns.StepLR(sgd(0.8), step_size=3, gamma=0.5)) == pytest.approx(
        [0.8 * 0.5 ** (e // 3) for e in range(1, 11)]
    )


def test_multi_step_lr():
    got = lrs(ns.MultiStepLR(sgd(1.0), milestones=[6, 2], gamma=0.1))
    assert got == pytest.approx([1.0, 0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.01])


def test_exponential_lr():
    assert lrs(ns.ExponentialLR(sgd(0.3), gamma=0.9)) == pytest.approx([0.3 * 0.9**e for e in range(1, 11)])


def test_cosine_annealing_lr():
    got = lrs(ns.CosineAnnealingLR(sgd(1.0), T_max=4, eta_min=0.1), epochs=4)
    expected = [0.1 + 0.9 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(1, 5)]
    assert got == pytest.approx(expected)
    assert got[-1] == pytest.approx(0.1)
    assert got[1] == pytest.approx(0.55)


def test_scheduler_state_dict_round_trip():
    sched = ns.StepLR(sgd(1.0), step_size=2, gamma=0.5)
    lrs(sched, 3)
    resumed = ns.StepLR(sgd(1.0), step_size=2, gamma=0.5)
    resumed.load_state_dict(sched.state_dict())
    assert resumed.optimizer.lr == sched.optimizer.lr == 0.5
    assert lrs(resumed, 4) == lrs(sched, 4)


def test_schedule_drives_the_optimizer():
    p = ns.Parameter(np.zeros(1))
    opt = ns.SGD([p], lr=1.0)
    sched = ns.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        opt.zero_grad()
        p.grad += 1.0
        opt.step()
        sched.step()
    np.testing.assert_allclose(p.data, [-(1.0 + 0.5 + 0.25)])


# -- initialisers -------------------------------------------------------------------------------------
SHAPE = (300, 200)  # fan_out, fan_in in PyTorch's (out, in) layout


def test_fans_follow_pytorch():
    assert init.fans((4, 3)) == (3, 4)
    assert init.fans((8, 3, 5, 5)) == (75, 200)


def test_gains_match_torch_calculate_gain():
    assert init.gain("tanh") == pytest.approx(5 / 3)
    assert init.gain("relu") == pytest.approx(math.sqrt(2))
    assert init.gain("sigmoid") == 1.0 and init.gain("linear") == 1.0
    assert init.gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))


def uniform_bound_cases():
    fan_in, fan_out = SHAPE[1], SHAPE[0]
    return [
        (lambda r: init.uniform(SHAPE, r, low=-0.3, high=0.7), -0.3, 0.7),
        (lambda r: init.xavier_uniform(SHAPE, r), *(s * math.sqrt(6 / (fan_in + fan_out)) for s in (-1, 1))),
        (
            lambda r: init.INITIALIZERS["kaiming_uniform"](SHAPE, r, np.float64),
            *(s * math.sqrt(6 / fan_in) for s in (-1, 1)),
        ),
        (lambda r: init.torch_default(SHAPE, r), *(s / math.sqrt(fan_in) for s in (-1, 1))),
    ]


@pytest.mark.parametrize(
    ("draw", "low", "high"), uniform_bound_cases(), ids=["uniform", "xavier", "kaiming", "torch"]
)
def test_uniform_initialisers_fill_their_bounds(draw, low, high):
    w = draw(np.random.default_rng(0))
    assert w.shape == SHAPE
    assert low <= w.min() and w.max() <= high
    span = high - low
    assert w.min() < low + 0.01 * span and w.max() > high - 0.01 * span
    assert w.mean() == pytest.approx((low + high) / 2, abs=0.01 * span)
    assert w.std() == pytest.approx(span / math.sqrt(12), rel=0.02)


@pytest.mark.parametrize(
    ("draw", "std"),
    [
        (lambda r: init.normal(SHAPE, r, std=0.3), 0.3),
        (lambda r: init.xavier_normal(SHAPE, r), math.sqrt(2 / (SHAPE[0] + SHAPE[1]))),
        (lambda r: init.INITIALIZERS["he_normal"](SHAPE, r, np.float64), math.sqrt(2 / SHAPE[1])),
    ],
    ids=["normal", "xavier", "he"],
)
def test_normal_initialisers_have_their_std(draw, std):
    w = draw(np.random.default_rng(0))
    assert abs(w.mean()) < 4 * std / math.sqrt(w.size)
    assert w.std() == pytest.approx(std, rel=0.02)


@pytest.mark.parametrize("name", sorted(init.INITIALIZERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_named_initialiser_is_deterministic_by_seed(name, dtype):
    fn = init.get_initializer(name)
    a = fn((5, 4), np.random.default_rng(42), dtype)
    b = fn((5, 4), np.random.default_rng(42), dtype)
    assert a.dtype == dtype and a.shape == (5, 4)
    np.testing.assert_array_equal(a, b)
    if name != "zeros":
        assert not np.array_equal(a, fn((5, 4), np.random.default_rng(43), dtype))


def test_linear_init_is_deterministic_and_uses_no_global_state():
    before = np.random.get_state()[1].copy()  # noqa: NPY002 -- checking the legacy global state
    a = ns.Linear(5, 3, rng=7)
    b = ns.Linear(5, 3, rng=7)
    c = ns.Linear(5, 3, rng=np.random.default_rng(7))
    for layer in (b, c):
        np.testing.assert_array_equal(layer.weight.data, a.weight.data)
        np.testing.assert_array_equal(layer.bias.data, a.bias.data)
    assert not np.array_equal(ns.Linear(5, 3, rng=8).weight.data, a.weight.data)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002 -- untouched


def test_a_shared_generator_gives_different_layers(rng):
    a, b = ns.Linear(4, 4, rng=rng), ns.Linear(4, 4, rng=rng)
    assert not np.array_equal(a.weight.data, b.weight.data)


def test_linear_default_init_is_pytorchs_and_other_inits_zero_the_bias():
    layer = ns.Linear(100, 50, rng=0)
    bound = 1 / math.sqrt(100)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert np.any(layer.bias.data != 0)
    xavier = ns.Linear(100, 50, init="xavier_uniform", rng=0)
    assert np.all(xavier.bias.data == 0)
    assert np.abs(xavier.weight.data).max() <= math.sqrt(6 / 150)


def test_linear_takes_a_callable_initialiser_and_dtype():
    layer = ns.Linear(3, 2, init=lambda shape, rng, dtype: np.full(shape, 0.5, dtype), dtype=np.float32)
    assert layer.weight.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.data, np.full((2, 3), 0.5))
