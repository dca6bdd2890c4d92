"""Side by side with PyTorch (float64): same weights, same inputs → same values, gradients, steps.

Skipped when torch is not installed (``pip install nnscratch[torch]``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import nnscratch as ns
from helpers.torch_nets import torch_mlp

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


@pytest.fixture(autouse=True)
def _float64_default():
    """torch.nn layers built here hold float64 weights; restored afterwards for other test files."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


RTOL = 1e-12
ATOL = 1e-13


def t(a: np.ndarray, grad: bool = False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def close(ours, theirs, rtol=RTOL, atol=ATOL) -> None:
    if isinstance(theirs, torch.Tensor):
        theirs = theirs.detach().numpy()
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


RNG = np.random.default_rng(2024)


# -- Linear ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)])
def test_linear_forward_and_all_gradients(bias, shape):
    ours = ns.Linear(4, 3, bias=bias, rng=0)
    theirs = torch.nn.Linear(4, 3, bias=bias)
    with torch.no_grad():
        theirs.weight.copy_(t(ours.weight.data))
        if bias:
            theirs.bias.copy_(t(ours.bias.data))
    x = RNG.normal(size=shape)
    g = RNG.normal(size=(*shape[:-1], 3))

    y = ours(x)
    dx = ours.backward(g)
    xt = t(x, grad=True)
    yt = theirs(xt)
    yt.backward(t(g))

    close(y, yt)
    close(dx, xt.grad)
    close(ours.weight.grad, theirs.weight.grad)
    if bias:
        close(ours.bias.grad, theirs.bias.grad)


def test_linear_default_init_has_pytorchs_distribution():
    # not the same random stream, but the same law: U(±1/√in) for weight and bias
    ours = ns.Linear(400, 300, rng=0)
    theirs = torch.nn.Linear(400, 300)
    for a, b in ((ours.weight.data, theirs.weight), (ours.bias.data, theirs.bias)):
        b = b.detach().numpy()
        assert abs(a.max()) <= 1 / 20 and abs(b.max()) <= 1 / 20
        assert a.std() == pytest.approx(b.std(), rel=0.1)


# -- activations ---------------------------------------------------------------------------------------
ACTIVATIONS = [
    ("sigmoid", ns.Sigmoid, lambda: torch.nn.Sigmoid()),
    ("tanh", ns.Tanh, lambda: torch.nn.Tanh()),
    ("relu", ns.ReLU, lambda: torch.nn.ReLU()),
    ("leaky_default", ns.LeakyReLU, lambda: torch.nn.LeakyReLU()),
    ("leaky_0.2", lambda: ns.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    ("leaky_1.5", lambda: ns.LeakyReLU(1.5), lambda: torch.nn.LeakyReLU(1.5)),
    ("softmax_last", ns.Softmax, lambda: torch.nn.Softmax(dim=-1)),
    ("softmax_0", lambda: ns.Softmax(0), lambda: torch.nn.Softmax(dim=0)),
    ("softmax_1", lambda: ns.Softmax(1), lambda: torch.nn.Softmax(dim=1)),
    ("identity", ns.Identity, lambda: torch.nn.Identity()),
]


@pytest.mark.parametrize(
    ("ours_cls", "theirs_cls"), [a[1:] for a in ACTIVATIONS], ids=[a[0] for a in ACTIVATIONS]
)
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4)])
def test_activation_values_and_gradients(ours_cls, theirs_cls, shape):
    x = RNG.normal(scale=3.0, size=shape)
    x.flat[:3] = [0.0, 30.0, -30.0]  # the kink convention and saturation agree too
    g = RNG.normal(size=shape)
    ours = ours_cls()
    y = ours(x)
    dx = ours.backward(g)
    xt = t(x, grad=True)
    yt = theirs_cls()(xt)
    yt.backward(t(g))
    close(y, yt)
    close(dx, xt.grad)


def test_user_activation_matches_autograd():
    relu_sin = ns.Activation(lambda z: np.maximum(z, 0) + np.sin(z), lambda z: (z > 0) + np.cos(z))
    x = RNG.normal(size=(3, 4))
    g = RNG.normal(size=(3, 4))
    y = relu_sin(x)
    dx = relu_sin.backward(g)
    xt = t(x, grad=True)
    yt = torch.relu(xt) + torch.sin(xt)
    yt.backward(t(g))
    close(y, yt)
    close(dx, xt.grad)


# -- losses --------------------------------------------------------------------------------------------
def loss_pair(ours_loss, theirs_fn, pred, target):
    """Loss value and dL/dpred from both libraries."""
    value = ours_loss(pred, target)
    grad = ours_loss.backward()
    pt = t(pred, grad=True)
    vt = theirs_fn(pt)
    vt.backward()
    return value, grad, float(vt.detach()), pt.grad


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse_loss(reduction):
    pred, target = RNG.normal(size=(6, 3)), RNG.normal(size=(6, 3))
    fn = torch.nn.MSELoss(reduction=reduction)
    v, g, vt, gt = loss_pair(ns.MSELoss(reduction=reduction), lambda p: fn(p, t(target)), pred, target)
    assert v == pytest.approx(vt, rel=RTOL)
    close(g, gt)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_l2_loss_is_half_the_summed_squares(reduction):
    pred, target = RNG.normal(size=(6, 3)), RNG.normal(size=(6, 3))
    n = 6 if reduction == "mean" else 1

    def theirs(p):
        return 0.5 * ((t(target) - p) ** 2).sum() / n

    v, g, vt, gt = loss_pair(ns.L2Loss(reduction=reduction), theirs, pred, target)
    assert v == pytest.approx(vt, rel=RTOL)
    close(g, gt)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("soft", [False, True], ids=["labels", "soft_targets"])
def test_bce_loss_with_clamping_near_0_and_1(reduction, soft):
    pred = RNG.uniform(0.01, 0.99, size=(4, 3))
    pred.flat[:6] = [0.0, 1.0, 1e-50, 1 - 1e-16, 1e-13, 1 - 1e-13]  # clamped logs and gradients
    target = RNG.uniform(size=(4, 3)) if soft else RNG.integers(0, 2, size=(4, 3)).astype(float)
    target.flat[:6] = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    fn = torch.nn.BCELoss(reduction=reduction)
    v, g, vt, gt = loss_pair(ns.BCELoss(reduction=reduction), lambda p: fn(p, t(target)), pred, target)
    assert v == pytest.approx(vt, rel=RTOL)
    close(g, gt)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("soft", [False, True], ids=["labels", "soft_targets"])
def test_bce_with_logits_loss(reduction, soft):
    pred = RNG.normal(scale=5.0, size=(5, 2))
    pred.flat[:2] = [800.0, -800.0]
    target = RNG.uniform(size=(5, 2)) if soft else RNG.integers(0, 2, size=(5, 2)).astype(float)
    fn = torch.nn.BCEWithLogitsLoss(reduction=reduction)
    v, g, vt, gt = loss_pair(
        ns.BCEWithLogitsLoss(reduction=reduction), lambda p: fn(p, t(target)), pred, target
    )
    assert v == pytest.approx(vt, rel=RTOL)
    close(g, gt)


def ce_target(kind: str, n: int, c: int):
    labels = RNG.integers(0, c, size=n)
    if kind == "index":
        return labels, torch.tensor(labels)
    rows = np.eye(c)[labels] if kind == "onehot" else RNG.dirichlet(np.ones(c), size=n)
    return rows, t(rows)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("kind", ["index", "onehot", "prob"])
def test_cross_entropy_loss(reduction, kind):
    pred = RNG.normal(scale=3.0, size=(7, 4))
    pred[0] = [500.0, -500.0, 0.0, 1.0]
    target, target_t = ce_target(kind, 7, 4)
    fn = torch.nn.CrossEntropyLoss(reduction=reduction)
    v, g, vt, gt = loss_pair(
        ns.CrossEntropyLoss(reduction=reduction), lambda p: fn(p, target_t), pred, target
    )
    assert v == pytest.approx(vt, rel=RTOL)
    close(g, gt)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_on_probabilities_is_nll_of_log(reduction):
    pred = RNG.dirichlet(np.ones(4), size=6)
    labels = RNG.integers(0, 4, size=6)
    fn = torch.nn.NLLLoss(reduction=reduction)
    ours = ns.CrossEntropyLoss(reduction=reduction, from_logits=False)
    v, g, vt, gt = loss_pair(ours, lambda p: fn(torch.log(p), torch.tensor(labels)), pred, labels)
    assert v == pytest.approx(vt, rel=RTOL)
    close(g, gt)


# -- optimizers on a small MLP ---------------------------------------------------------------------------
OPTIMIZERS = {
    "sgd": (lambda ps: ns.SGD(ps, lr=0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
    "sgd_momentum": (
        lambda ps: ns.SGD(ps, lr=0.1, momentum=0.9),
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
    ),
    "sgd_dampening": (
        lambda ps: ns.SGD(ps, lr=0.1, momentum=0.8, dampening=0.3),
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.8, dampening=0.3),
    ),
    "sgd_nesterov": (
        lambda ps: ns.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    ),
    "sgd_weight_decay": (
        lambda ps: ns.SGD(ps, lr=0.1, momentum=0.5, weight_decay=0.05),
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.5, weight_decay=0.05),
    ),
    "adam": (lambda ps: ns.Adam(ps, lr=0.01), lambda ps: torch.optim.Adam(ps, lr=0.01)),
    "adam_amsgrad": (
        lambda ps: ns.Adam(ps, lr=0.02, betas=(0.8, 0.9), amsgrad=True),
        lambda ps: torch.optim.Adam(ps, lr=0.02, betas=(0.8, 0.9), amsgrad=True),
    ),
    "adam_weight_decay": (
        lambda ps: ns.Adam(ps, lr=0.01, weight_decay=0.1, eps=1e-6),
        lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=0.1, eps=1e-6),
    ),
    "adam_amsgrad_weight_decay": (
        lambda ps: ns.Adam(ps, lr=0.01, weight_decay=0.1, amsgrad=True),
        lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=0.1, amsgrad=True),
    ),
    "adamw": (lambda ps: ns.AdamW(ps, lr=0.01), lambda ps: torch.optim.AdamW(ps, lr=0.01)),
    "adamw_amsgrad": (
        lambda ps: ns.AdamW(ps, lr=0.01, weight_decay=0.3, amsgrad=True),
        lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.3, amsgrad=True),
    ),
    "rmsprop": (lambda ps: ns.RMSprop(ps, lr=0.01), lambda ps: torch.optim.RMSprop(ps, lr=0.01)),
    "rmsprop_centered": (
        lambda ps: ns.RMSprop(ps, lr=0.01, centered=True),
        lambda ps: torch.optim.RMSprop(ps, lr=0.01, centered=True),
    ),
    "rmsprop_momentum": (
        lambda ps: ns.RMSprop(ps, lr=0.01, momentum=0.9, alpha=0.9),
        lambda ps: torch.optim.RMSprop(ps, lr=0.01, momentum=0.9, alpha=0.9),
    ),
    "rmsprop_weight_decay": (
        lambda ps: ns.RMSprop(ps, lr=0.01, weight_decay=0.1),
        lambda ps: torch.optim.RMSprop(ps, lr=0.01, weight_decay=0.1),
    ),
    "rmsprop_all": (
        lambda ps: ns.RMSprop(ps, lr=0.01, centered=True, momentum=0.5, weight_decay=0.1, eps=1e-6),
        lambda ps: torch.optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.5, weight_decay=0.1, eps=1e-6),
    ),
}


def mlps():
    ours = ns.Sequential(
        ns.Linear(3, 5, rng=0), ns.Tanh(), ns.Linear(5, 4, rng=1), ns.Sigmoid(), ns.Linear(4, 2, rng=2)
    )
    return ours, torch_mlp(torch)


def copy_ours_to_theirs(ours, theirs) -> None:
    with torch.no_grad():
        for name, value in theirs.state_dict().items():
            value.copy_(t(ours.state_dict()[name]))


def copy_theirs_to_ours(ours, theirs) -> None:
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


@pytest.mark.parametrize("direction", ["ours_to_torch", "torch_to_ours"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_steps_match(name, direction):
    make_ours, make_theirs = OPTIMIZERS[name]
    torch.manual_seed(0)
    ours, theirs = mlps()
    assert list(ours.state_dict()) == list(theirs.state_dict())  # same keys, PyTorch style
    (copy_ours_to_theirs if direction == "ours_to_torch" else copy_theirs_to_ours)(ours, theirs)
    opt, opt_t = make_ours(ours.parameters()), make_theirs(theirs.parameters())
    loss, loss_t = ns.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    X = RNG.normal(size=(8, 3))
    y = RNG.integers(0, 2, size=8)
    for _ in range(6):
        value = loss(ours(X), y)
        opt.zero_grad()
        ours.backward(loss.backward(), input_grad=False)
        opt.step()

        opt_t.zero_grad()
        value_t = loss_t(theirs(t(X)), torch.tensor(y))
        value_t.backward()
        opt_t.step()
        assert value == pytest.approx(float(value_t.detach()), rel=1e-11)
    theirs_state = theirs.state_dict()
    for key, value in ours.state_dict().items():
        close(value, theirs_state[key], rtol=1e-12, atol=1e-12)


# -- learning-rate schedules -------------------------------------------------------------------------------
SCHEDULERS = {
    "step": (
        lambda o: ns.StepLR(o, step_size=3, gamma=0.5),
        lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5),
    ),
    "exponential": (
        lambda o: ns.ExponentialLR(o, gamma=0.9),
        lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
    ),
    "multistep": (
        lambda o: ns.MultiStepLR(o, milestones=[2, 5, 7], gamma=0.3),
        lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[2, 5, 7], gamma=0.3),
    ),
    "cosine": (
        lambda o: ns.CosineAnnealingLR(o, T_max=6, eta_min=0.01),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=6, eta_min=0.01),
    ),
}


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_lr_sequences_match(name):
    make_ours, make_theirs = SCHEDULERS[name]
    sched = make_ours(ns.SGD([ns.Parameter(np.ones(1))], lr=0.2))
    param = torch.nn.Parameter(torch.ones(1))
    opt_t = torch.optim.SGD([param], lr=0.2)
    sched_t = make_theirs(opt_t)
    epochs = 6 if name == "cosine" else 12  # torch's cosine restarts its closed form past T_max
    ours, theirs = [sched.optimizer.lr], [opt_t.param_groups[0]["lr"]]
    for _ in range(epochs):
        opt_t.step()  # torch expects optimizer.step() before scheduler.step()
        sched_t.step()
        sched.step()
        ours.append(sched.optimizer.lr)
        theirs.append(opt_t.param_groups[0]["lr"])
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert not all(math.isclose(a, ours[0]) for a in ours)  # the schedule did change the lr
