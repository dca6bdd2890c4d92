"""explain() on every supported activation and loss, one sample and small batches, both layouts:
its numbers against the independent reference (tests/helpers/worked_reference.py), finite differences
and PyTorch; the user's model, loss and optimizer left untouched; bad input rejected clearly."""

import numpy as np
import pytest

import nnscratch as ns
from helpers.worked_reference import TWO_LAYER_KEYS, numeric_param_grads, reference

ACTS = {
    "sigmoid": ns.Sigmoid,
    "tanh": ns.Tanh,
    "relu": ns.ReLU,
    "leaky_relu": lambda: ns.LeakyReLU(0.1),
    "identity": ns.Identity,
}


def _layers(sizes, acts, rng):
    return [
        (rng.normal(size=(o, i)), rng.normal(size=o), a)
        for i, o, a in zip(sizes[:-1], sizes[1:], acts, strict=True)
    ]


def _model(layers):
    mods = []
    for W, b, act in layers:
        mods.append(ns.Linear.from_arrays(W, b))
        if act == "softmax":
            mods.append(ns.Softmax())
        elif act == "relu_sin":
            mods.append(ns.Activation.from_expression("relu(x) + sin(x)"))
        elif act is not None:
            mods.append(ACTS[act]())
    return ns.Sequential(*mods)


CASES = [
    # (hidden activation, output activation, engine loss, reference loss, target kind)
    ("sigmoid", "sigmoid", ns.L2Loss(), "l2", "real01"),
    ("tanh", "identity", ns.MSELoss(), "mse", "real"),
    ("relu", None, ns.MSELoss(reduction="sum"), "mse", "real"),
    ("leaky_relu", "sigmoid", ns.BCELoss(), "bce", "binary"),
    ("tanh", None, ns.BCEWithLogitsLoss(), "bce_logits", "binary"),
    ("sigmoid", None, ns.CrossEntropyLoss(), "ce_logits", "onehot"),
    ("relu_sin", "softmax", ns.CrossEntropyLoss(from_logits=False), "ce_probs", "onehot"),
    ("relu", "softmax", ns.MSELoss(), "mse", "real01"),  # softmax without the fused shortcut
    ("identity", "tanh", ns.L2Loss(reduction="mean"), "l2", "real"),
]


def _target(kind, k, n, rng):
    if kind == "real":
        return rng.normal(size=(k, n))
    if kind == "real01":
        return rng.uniform(size=(k, n))
    if kind == "binary":
        return rng.integers(0, 2, size=(k, n)).astype(float)
    onehot = np.zeros((k, n))
    onehot[rng.integers(0, k, size=n), np.arange(n)] = 1.0
    return onehot


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[3]}")
def test_every_quantity_matches_the_reference(case, n):
    hidden, out_act, loss, ref_loss, kind = case
    rng = np.random.default_rng(len(hidden) * 10 + n)
    k = 1 if ref_loss.startswith("bce") else 3
    layers = _layers([4, 3, k], [hidden, out_act], rng)
    x = rng.normal(size=(n, 4))
    Y = _target(kind, k, n, rng)
    ref = reference(layers, x, Y, ref_loss, lr=0.05, reduction=loss.reduction, slope=0.1)
    ex = ns.explain(_model(layers), x if n > 1 else x[0], Y.T if n > 1 else Y[:, 0], loss=loss, lr=0.05)
    for key in TWO_LAYER_KEYS:
        got = ex[key]
        np.testing.assert_allclose(got, np.reshape(ref[key], got.shape), rtol=1e-9, atol=1e-12, err_msg=key)
    num = numeric_param_grads(
        [(W.copy(), b.copy(), a) for W, b, a in layers], x, Y, ref_loss, reduction=loss.reduction, slope=0.1
    )
    for key in ("dW1", "db1", "dW2", "db2"):
        np.testing.assert_allclose(ex[key], num[key], atol=1e-6, err_msg=key)


@pytest.mark.parametrize("case", CASES[:7], ids=lambda c: f"{c[0]}-{c[1]}-{c[3]}")
def test_gradients_match_torch_autograd(case):
    torch = pytest.importorskip("torch")
    hidden, out_act, loss, ref_loss, kind = case
    rng = np.random.default_rng(3)
    k = 1 if ref_loss.startswith("bce") else 3
    layers = _layers([4, 3, k], [hidden, out_act], rng)
    x = rng.normal(size=(2, 4))
    Y = _target(kind, k, 2, rng).T
    ex = ns.explain(_model(layers), x, Y, loss=loss, lr=0.05)
    tf = {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "identity": lambda v: v,
        None: lambda v: v,
        "leaky_relu": lambda v: torch.nn.functional.leaky_relu(v, 0.1),
        "relu_sin": lambda v: torch.relu(v) + torch.sin(v),
        "softmax": lambda v: torch.softmax(v, dim=1),
    }
    params = [
        (torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True), a) for W, b, a in layers
    ]
    a = torch.tensor(x)
    for W, b, act in params:
        a = tf[act](a @ W.T + b)
    Yt = torch.tensor(Y)
    F = torch.nn.functional
    value = {
        "l2": lambda: 0.5 * ((a - Yt) ** 2).sum(),
        "mse": lambda: F.mse_loss(a, Yt, reduction=loss.reduction),
        "bce": lambda: F.binary_cross_entropy(a, Yt),
        "bce_logits": lambda: F.binary_cross_entropy_with_logits(a, Yt),
        "ce_logits": lambda: F.cross_entropy(a, Yt),
        "ce_probs": lambda: -(Yt * torch.log(a)).sum(1).mean(),
    }[ref_loss]()
    value.backward()
    np.testing.assert_allclose(ex.loss, value.item(), rtol=1e-12)
    for l, (W, b, _) in enumerate(params, start=1):
        np.testing.assert_allclose(ex[f"dW{l}"], W.grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(ex[f"db{l}"].ravel(), b.grad.numpy(), atol=1e-12)


def test_layout_in_out_shows_transposed_weights_and_the_same_numbers():
    rng = np.random.default_rng(1)
    layers = _layers([2, 3, 1], ["sigmoid", "sigmoid"], rng)
    a = ns.explain(_model(layers), [0.5, -1.0], 1.0, loss="l2", lr=0.1)
    b = ns.explain(_model(layers), [0.5, -1.0], 1.0, loss="l2", lr=0.1, layout="in_out")
    for key in ("W1", "dW1", "W2_new", "dW2"):
        np.testing.assert_array_equal(b[key], a[key].T)
    for key in ("z1", "a2", "delta1", "db1"):
        np.testing.assert_array_equal(b[key], a[key])
    md = b.to_markdown()
    assert r"W^{(1)\top} a^{(0)}" in md and r"a^{(0)} \delta^{(1)\top}" in md
    assert r"W^{(1)} a^{(0)}" in a.to_markdown() and r"\delta^{(1)} a^{(0)\top}" in a.to_markdown()


def test_user_model_loss_and_optimizer_are_not_modified():
    model = _model(_layers([2, 2, 1], ["tanh", "sigmoid"], np.random.default_rng(2)))
    before = model.state_dict()
    loss = ns.BCELoss()
    opt = ns.SGD(model.parameters(), lr=0.3, momentum=0.9)
    ex = ns.explain(model, [1.0, 0.0], 1.0, loss=loss, optimizer=opt)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    assert all(not p.grad.any() for p in model.parameters())
    assert loss._cache is None and opt.step_count == 0 and opt.state == [{} for _ in opt.params]
    assert not np.allclose(ex["W1_new"], before["0.weight"])


def test_momentum_and_adam_steps_match_the_engine_optimizers():
    rng = np.random.default_rng(4)
    layers = _layers([3, 2, 1], ["tanh", "sigmoid"], rng)
    x, y = rng.normal(size=3), 1.0
    for make in (lambda p: ns.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01), lambda p: ns.Adam(p, lr=0.01)):
        model = _model(layers)
        opt = make(model.parameters())
        # two real steps, so momentum buffers / Adam moments are non-trivial, then explain the third
        for _ in range(2):
            opt.zero_grad()
            lf = ns.BCELoss()
            lf(model(x[None]), [[y]])
            model.backward(lf.backward())
            opt.step()
        ex = ns.explain(model, x, y, loss="bce", optimizer=opt)
        opt.zero_grad()
        lf = ns.BCELoss()
        lf(model(x[None]), [[y]])
        model.backward(lf.backward())
        opt.step()
        np.testing.assert_allclose(ex["W1_new"], model.layers[0].weight.data, atol=1e-14)
        np.testing.assert_allclose(ex["b2_new"].ravel(), model.layers[2].bias.data, atol=1e-14)
        text = ex.to_text()
        assert ("Momentum buffer" in text) if isinstance(opt, ns.SGD) else ("Adam first moment" in text)


def test_named_and_factory_optimizers_and_default_lr():
    model = _model(_layers([2, 2, 1], ["relu", "sigmoid"], np.random.default_rng(5)))
    ex = ns.explain(model, [1.0, 2.0], 0.0, loss="bce", optimizer="adam", lr=0.01)
    assert isinstance(ex.trace.optimizer, ns.Adam) and ex.trace.optimizer.lr == 0.01
    ex2 = ns.explain(model, [1.0, 2.0], 0.0, loss="bce", optimizer=lambda p: ns.RMSprop(p, lr=0.02))
    assert "RMSprop" in ex2.to_text()
    ex3 = ns.explain(model, [1.0, 2.0], 0.0, loss="bce")
    np.testing.assert_allclose(ex3["W1_new"], ex3["W1"] - 0.1 * ex3["dW1"])


def test_class_index_targets_and_float32_models():
    model = ns.Sequential(
        ns.Linear(3, 4, rng=0, dtype=np.float32), ns.Tanh(), ns.Linear(4, 3, rng=1, dtype=np.float32)
    )
    ex = ns.explain(model, np.ones((2, 3)), [2, 0], loss=ns.CrossEntropyLoss())
    np.testing.assert_array_equal(ex["y"], [[0, 1], [0, 0], [1, 0]])
    assert ex["z1"].dtype == np.float64
    assert model.layers[0].weight.data.dtype == np.float32


def test_kink_convention_relu_at_zero():
    model = ns.Sequential(
        ns.Linear.from_arrays([[1.0, -1.0]], [0.0]), ns.ReLU(), ns.Linear.from_arrays([[2.0]], [0.0])
    )
    ex = ns.explain(model, [1.0, 1.0], 1.0, loss="mse")  # z1 = 0 exactly
    assert ex["z1"][0, 0] == 0.0 and ex["delta1"][0, 0] == 0.0
    assert "ReLU'(0) = 0" in ex.to_text()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"model": ns.Linear(2, 1)}, ns.ConfigError, "Sequential"),
        ({"model": ns.Sequential(ns.ReLU(), ns.Linear(2, 1))}, ns.ConfigError, "follow a Linear"),
        (
            {"model": ns.Sequential(ns.Linear(2, 2), ns.ReLU(), ns.Tanh())},
            ns.ConfigError,
            "second activation",
        ),
        ({"x": [1.0, 2.0, 3.0]}, ns.ShapeError, "in_features"),
        ({"x": np.ones((17, 2))}, ns.ShapeError, "at most 16"),
        ({"x": [np.nan, 1.0]}, ns.NonFiniteError, "non-finite"),
        ({"y": None}, ns.ConfigError, "target y"),
        ({"loss": "hinge"}, ns.HyperparameterError, "loss"),
        ({"loss": 3}, ns.HyperparameterError, "loss"),
        ({"layout": "row"}, ns.HyperparameterError, "layout"),
        ({"decimals": -1}, ns.HyperparameterError, "decimals"),
        ({"decimals": 20}, ns.HyperparameterError, "decimals"),
        ({"lr": -0.1}, ns.HyperparameterError, "lr"),
        ({"optimizer": "lbfgs"}, ns.HyperparameterError, "optimizer"),
        ({"optimizer": 5}, ns.HyperparameterError, "optimizer"),
        ({"optimizer": lambda p: 3}, ns.HyperparameterError, "factory"),
        ({"y": [2.0]}, ns.LabelError, "targets"),
    ],
)
def test_bad_input_is_rejected_clearly(kwargs, error, match):
    args = {
        "model": ns.Sequential(ns.Linear(2, 1, rng=0), ns.Sigmoid()),
        "x": [1.0, 2.0],
        "y": 1.0,
        "loss": "bce",
    }
    args.update(kwargs)
    with pytest.raises(error, match=match):
        ns.explain(args.pop("model"), args.pop("x"), args.pop("y"), **args)


def test_optimizer_of_another_model_and_lr_twice_are_rejected():
    model = ns.Sequential(ns.Linear(2, 1, rng=0), ns.Sigmoid())
    other = ns.Sequential(ns.Linear(2, 1, rng=1))
    with pytest.raises(ns.ConfigError, match="not the model's"):
        ns.explain(model, [1, 2], 1, loss="bce", optimizer=ns.SGD(other.parameters(), lr=0.1))
    with pytest.raises(ns.HyperparameterError, match="not both"):
        ns.explain(model, [1, 2], 1, loss="bce", optimizer=ns.SGD(model.parameters(), lr=0.1), lr=0.2)


def test_unsupported_module_is_named():
    class Weird(ns.Module):
        pass

    with pytest.raises(ns.ConfigError, match="Weird"):
        ns.explain(ns.Sequential(ns.Linear(2, 2), Weird()), [1, 2], [1, 0], loss="mse")


def test_keys_aliases_and_values():
    model = ns.Sequential(ns.Linear(2, 2, rng=0), ns.Sigmoid(), ns.Linear(2, 1, rng=1), ns.Sigmoid())
    ex = ns.explain(model, [1, 0], 1, loss="bce", lr=0.5)
    keys = ex.keys()
    assert (
        keys.index("z1")
        < keys.index("loss")
        < keys.index("delta2")
        < keys.index("delta1")
        < keys.index("W1_new")
    )
    np.testing.assert_array_equal(ex["yhat"], ex["a2"])
    np.testing.assert_array_equal(ex["output"], ex["a2"])
    np.testing.assert_array_equal(ex["dL_dW1"], ex["dW1"])
    assert "DW1" in ex and "nope" not in ex
    with pytest.raises(ns.ConfigError, match="unknown quantity"):
        ex["nope"]
    assert set(ex.values) == set(keys)
    assert "WorkedExample" in repr(ex)


def test_same_input_gives_the_same_worked_example():
    model = ns.Sequential(ns.Linear(3, 2, rng=11), ns.Tanh(), ns.Linear(2, 1, rng=12))
    first = ns.explain(model, [1, 2, 3], 0.5, loss="mse").to_markdown()
    assert first == ns.explain(model, [1, 2, 3], 0.5, loss="mse").to_markdown()
    assert first != ns.explain(model, [1, 2, 4], 0.5, loss="mse").to_markdown()


def test_one_sample_written_as_columns_like_on_paper():
    model = ns.Sequential(ns.Linear(3, 2, rng=0), ns.Sigmoid(), ns.Linear(2, 2, rng=1), ns.Softmax())
    flat = ns.explain(model, [1.0, 2.0, 3.0], [0.0, 1.0], loss="cross_entropy")
    cols = ns.explain(model, [[1.0], [2.0], [3.0]], [[0.0], [1.0]], loss="cross_entropy")
    assert flat.to_markdown() == cols.to_markdown()
    np.testing.assert_array_equal(cols["x"], [[1.0], [2.0], [3.0]])


def test_loss_can_be_passed_positionally():
    model = ns.Sequential(ns.Linear(2, 1, rng=0), ns.Sigmoid())
    assert ns.explain(model, [1, 2], 1, ns.BCELoss(), 0.5).trace.optimizer.lr == 0.5


@pytest.mark.parametrize(
    "make",
    [
        lambda p: ns.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
        lambda p: ns.SGD(p, lr=0.1, momentum=0.5, dampening=0.3),
        lambda p: ns.Adam(p, lr=0.01, weight_decay=0.1),
        lambda p: ns.AdamW(p, lr=0.01),
        lambda p: ns.RMSprop(p, lr=0.01, momentum=0.5),
    ],
)
def test_other_optimizer_settings_render_and_match_the_engine(make):
    rng = np.random.default_rng(8)
    layers = _layers([2, 2, 1], ["tanh", "sigmoid"], rng)
    model = _model(layers)
    opt = make(model.parameters())
    ex = ns.explain(model, [0.3, -0.4], 1.0, loss="bce", optimizer=opt)
    lf = ns.BCELoss()
    lf(model([[0.3, -0.4]]), [[1.0]])
    model.backward(lf.backward())
    opt.step()
    np.testing.assert_allclose(ex["W1_new"], model.layers[0].weight.data, atol=1e-14)
    for fmt in ("md", "latex", "text"):
        assert "W^{(1)}" in ex.render(fmt) or "W⁽¹⁾" in ex.render(fmt)


def test_parameters_outside_the_optimizer_stay_unchanged_and_layers_without_bias():
    model = ns.Sequential(ns.Linear(2, 2, bias=False, rng=0), ns.Tanh(), ns.Linear(2, 1, rng=1))
    opt = ns.SGD(model.layers[2].parameters(), lr=0.5)  # only the output layer is trained
    ex = ns.explain(model, [1.0, -1.0], 0.5, loss="mse", optimizer=opt)
    np.testing.assert_array_equal(ex["W1_new"], ex["W1"])
    assert "b1" not in ex and "db1" not in ex
    assert "Not in the optimizer: unchanged." in ex.to_text()
    np.testing.assert_allclose(ex["W2_new"], ex["W2"] - 0.5 * ex["dW2"])


def test_cross_entropy_sum_with_unnormalised_probability_targets_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    W, b = rng.normal(size=(3, 2)), rng.normal(size=3)
    model = ns.Sequential(ns.Linear.from_arrays(W, b))
    x, Y = rng.normal(size=(2, 2)), np.array([[0.5, 1.0, 0.5], [0.0, 0.3, 0.2]])
    ex = ns.explain(model, x, Y, loss=ns.CrossEntropyLoss(reduction="sum"))
    Wt, bt = torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(torch.tensor(x) @ Wt.T + bt, torch.tensor(Y), reduction="sum")
    loss.backward()
    np.testing.assert_allclose(ex.loss, loss.item(), rtol=1e-12)
    np.testing.assert_allclose(ex["dW1"], Wt.grad.numpy(), atol=1e-12)
    assert "target total" in ex.to_text()


def test_plain_user_activation_matches_its_symbolic_twin():
    plain = ns.Activation(
        lambda z: np.maximum(z, 0) + np.sin(z), lambda z: (z > 0) + np.cos(z), name="relu_sin"
    )
    symbolic = ns.Activation.from_expression("relu(x) + sin(x)")
    rng = np.random.default_rng(12)
    W1, b1, W2, b2 = rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=(1, 3)), rng.normal(size=1)

    def net(act):
        return ns.Sequential(ns.Linear.from_arrays(W1, b1), act, ns.Linear.from_arrays(W2, b2))

    a = ns.explain(net(plain), [0.4, -0.9], 0.2, loss="l2")
    b = ns.explain(net(symbolic), [0.4, -0.9], 0.2, loss="l2")
    for key in a.keys():
        np.testing.assert_allclose(a[key], b[key], rtol=1e-12, err_msg=key)
    md = a.to_markdown()
    assert r"\operatorname{relu\ sin}\left(z^{(1)}\right)" in md and r"\operatorname{relu\ sin}'" in md
    assert "relu_sin'(z⁽¹⁾)" in a.to_text()


def test_each_parameter_is_explained_with_its_groups_hyperparameters():
    """Biases in a group without weight decay and with their own rate: the written-out steps use
    each parameter's group's values, and the numbers are the engine's step."""
    model = ns.Sequential(ns.Linear(2, 2, rng=0), ns.Tanh(), ns.Linear(2, 1, rng=1), ns.Sigmoid())
    named = list(model.named_parameters())
    opt = ns.SGD(
        [
            {"params": [p for n, p in named if n.endswith("weight")]},
            {"params": [p for n, p in named if n.endswith("bias")], "weight_decay": 0.0, "lr": 0.7},
        ],
        lr=0.1,
        weight_decay=0.25,
    )
    ex = ns.explain(model, [0.3, -0.4], 1.0, loss="bce", optimizer=opt)
    np.testing.assert_allclose(ex["W1_new"], ex["W1"] - 0.1 * (ex["dW1"] + 0.25 * ex["W1"]), atol=1e-15)
    np.testing.assert_allclose(ex["b2_new"], ex["b2"] - 0.7 * ex["db2"], atol=1e-15)
    text = ex.to_text()
    assert "W⁽¹⁾_new = W⁽¹⁾ − η (∂L/∂W⁽¹⁾ + 0.25 W⁽¹⁾)" in text
    assert "b⁽¹⁾_new = b⁽¹⁾ − η ∂L/∂b⁽¹⁾" in text and "− 0.7·" in text
    assert "2 parameter groups" in ex.to_markdown()
    assert opt.step_count == 0 and opt.state == [{} for _ in opt.params]  # the user's is untouched
