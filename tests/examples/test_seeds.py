"""The course documents' worked values and hand-written training code, against the engine.

Seed 002 (CS640 HW2): the Q1.1 forward pass (0.8221), the Q1.2 gradient formulas, and the
``reg_lambda`` update of its ``Network.fit``. Seed 001 (moons notebook): the ``delta3 / delta2 /
delta1`` gradient-descent step with weights stored as ``(in, out)``. The formulas are written
out here in plain NumPy, in the seeds' own notation, and compared with the library.
"""

from __future__ import annotations

import numpy as np
import pytest
from demo import moons

import nnscratch as ns

# -- seed 002: the worked network -------------------------------------------------------------------
# w_ij connects node i of the previous layer to node j of the current one: (in, out), as in the seed
W1 = np.array([[0.4, 0.6, 0.2], [0.3, 0.9, 0.5]])
B1 = np.array([1.0, 1.0, 1.0])
W2 = np.array([[0.2], [0.2], [0.8]])
B2 = np.array([0.5])


def seed_002_network() -> ns.Sequential:
    # PyTorch's layout is (out, in): the seed's w is the transpose
    return ns.Sequential(
        ns.Linear.from_arrays(W1.T, B1), ns.Sigmoid(), ns.Linear.from_arrays(W2.T, B2), ns.Sigmoid()
    )


def sigma(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def test_q1_1_forward_pass_gives_0_8221():
    a0 = np.array([[1.0], [1.0]])  # a column vector, as in the seed
    z1 = W1.T @ a0 + B1[:, None]
    a1 = sigma(z1)
    z2 = W2.T @ a1 + B2[:, None]
    a2 = sigma(z2)
    assert round(float(a2[0, 0]), 4) == 0.8221
    out = seed_002_network()(a0.T)
    assert round(float(out[0, 0]), 4) == 0.8221
    assert float(out[0, 0]) == pytest.approx(float(a2[0, 0]), rel=1e-14)


@pytest.mark.parametrize("y_true", [0.0, 1.0, 0.3])
@pytest.mark.parametrize("a0_values", [(1.0, 1.0), (0.5, -2.0)])
def test_q1_2_gradient_formulas_match_the_engine(y_true, a0_values):
    a0 = np.array(a0_values).reshape(2, 1)
    # forward, in the seed's notation
    z1 = W1.T @ a0 + B1[:, None]
    a1 = sigma(z1)
    z2 = W2.T @ a1 + B2[:, None]
    a2 = sigma(z2)
    # the seed's answers: η = (a² - y) ⊙ σ(z²)(1 - σ(z²))
    eta = (a2 - y_true) * (sigma(z2) * (1 - sigma(z2)))
    dL_dw2 = a1 @ eta.T
    dL_db2 = eta.T
    delta1 = (W2 @ eta) * (sigma(z1) * (1 - sigma(z1)))
    dL_dw1 = a0 @ delta1.T
    dL_db1 = delta1.T

    model = seed_002_network()
    loss = ns.L2Loss()  # ½ (y_true - y_predict)²
    value = loss(model(a0.T), [y_true])
    assert value == pytest.approx(0.5 * (y_true - a2[0, 0]) ** 2, rel=1e-14)
    model.zero_grad()
    model.backward(loss.backward())
    grads = {name: p.grad for name, p in model.named_parameters()}
    np.testing.assert_allclose(grads["2.weight"], dL_dw2.T, rtol=1e-12)
    np.testing.assert_allclose(grads["2.bias"], dL_db2.ravel(), rtol=1e-12)
    np.testing.assert_allclose(grads["0.weight"], dL_dw1.T, rtol=1e-12, atol=1e-17)
    np.testing.assert_allclose(grads["0.bias"], dL_db1.ravel(), rtol=1e-12)
    # and both agree with finite differences of the loss
    h = 1e-6
    w = model[0].weight.data
    numeric = np.zeros_like(w)
    for idx in np.ndindex(*w.shape):
        w[idx] += h
        plus = loss(model(a0.T), [y_true])
        w[idx] -= 2 * h
        minus = loss(model(a0.T), [y_true])
        w[idx] += h
        numeric[idx] = (plus - minus) / (2 * h)
    np.testing.assert_allclose(dL_dw1.T, numeric, atol=1e-9)


# -- seed 001: the moons notebook's hand-written gradient descent ----------------------------------
def seed_001_weights(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``np.random.rand``-style initialisation, weights stored (in, out) as in the notebook."""
    return {
        "W_input_h1": rng.random((2, 3)),
        "b_input_h1": rng.random(3),
        "W_h1_h2": rng.random((3, 3)),
        "b_h1_h2": rng.random(3),
        "W_h2_output": rng.random((3, 1)),
        "b_h2_output": rng.random(1),
    }


def seed_001_epoch(W: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray, learning_rate: float) -> None:
    """One epoch of the notebook's loop, verbatim apart from the stable sigmoid."""
    z_h1 = np.dot(X, W["W_input_h1"]) + W["b_input_h1"]
    a_h1 = np.tanh(z_h1)
    z_h2 = np.dot(a_h1, W["W_h1_h2"]) + W["b_h1_h2"]
    a_h2 = np.tanh(z_h2)
    output = np.dot(a_h2, W["W_h2_output"]) + W["b_h2_output"]
    probs = (0.5 * (1 + np.tanh(output / 2))).squeeze()

    delta3 = (probs - y).reshape(len(X), 1)
    delta2 = delta3 @ W["W_h2_output"].T * (1 - np.power(a_h2, 2))
    delta1 = delta2 @ W["W_h1_h2"].T * (1 - np.power(a_h1, 2))

    dWout = a_h2.T @ delta3
    dbout = np.sum(delta3, axis=0)
    dW2 = a_h1.T @ delta2
    db2 = np.sum(delta2, axis=0)
    dW1 = X.T @ delta1
    db1 = np.sum(delta1, axis=0)

    W["W_input_h1"] += -1 * learning_rate * dW1
    W["b_input_h1"] += -1 * learning_rate * db1
    W["W_h1_h2"] += -1 * learning_rate * dW2
    W["b_h1_h2"] += -1 * learning_rate * db2
    W["W_h2_output"] += -1 * learning_rate * dWout
    W["b_h2_output"] += -1 * learning_rate * dbout


def seed_001_as_model(W: dict[str, np.ndarray], dtype=np.float64) -> ns.Sequential:
    return ns.Sequential(
        ns.Linear.from_arrays(W["W_input_h1"].T, W["b_input_h1"], dtype=dtype),
        ns.Tanh(),
        ns.Linear.from_arrays(W["W_h1_h2"].T, W["b_h1_h2"], dtype=dtype),
        ns.Tanh(),
        ns.Linear.from_arrays(W["W_h2_output"].T, W["b_h2_output"], dtype=dtype),
        ns.Sigmoid(),
    )


def assert_same_parameters(model: ns.Sequential, W: dict[str, np.ndarray], **tol) -> None:
    state = model.state_dict()
    pairs = [
        ("0", "W_input_h1", "b_input_h1"),
        ("2", "W_h1_h2", "b_h1_h2"),
        ("4", "W_h2_output", "b_h2_output"),
    ]
    for layer, w, b in pairs:
        np.testing.assert_allclose(state[f"{layer}.weight"], W[w].T, **tol)
        np.testing.assert_allclose(state[f"{layer}.bias"], W[b], **tol)


EPOCHS = 60


def test_hand_written_numpy_step_equals_the_library_step():
    X, y = moons()
    W = seed_001_weights(np.random.default_rng(0))
    model = seed_001_as_model(W)
    loss = ns.BCELoss(reduction="sum")  # the notebook sums the loss over the 200 points
    opt = ns.SGD(model.parameters(), lr=0.01)
    for _ in range(EPOCHS):
        seed_001_epoch(W, X, y, 0.01)
        loss(model(X), y)
        opt.zero_grad()
        model.backward(loss.backward(), input_grad=False)
        opt.step()
    assert_same_parameters(model, W, rtol=1e-10, atol=1e-12)


def test_hand_written_numpy_step_equals_fit_full_batch():
    X, y = moons()
    W = seed_001_weights(np.random.default_rng(1))
    model = seed_001_as_model(W)
    history = ns.fit(
        model,
        X,
        y,
        loss=ns.BCELoss(reduction="sum"),
        optimizer=ns.SGD(model.parameters(), lr=0.01),
        epochs=EPOCHS,
    )
    for _ in range(EPOCHS):
        seed_001_epoch(W, X, y, 0.01)
    assert_same_parameters(model, W, rtol=1e-10, atol=1e-12)
    assert len(history) == EPOCHS and history["loss"][-1] < history["loss"][0]


def test_float32_and_float64_training_agree_to_float32_tolerance():
    X, y = moons()
    W = seed_001_weights(np.random.default_rng(2))
    models = {dt: seed_001_as_model(W, dtype=dt) for dt in (np.float32, np.float64)}
    for dt, model in models.items():
        history = ns.fit(
            model, X, y, loss=ns.BCELoss(), optimizer=ns.SGD(model.parameters(), lr=0.5), epochs=EPOCHS
        )
        assert all(p.dtype == dt for p in model.parameters())
        assert history["loss"][-1] < history["loss"][0]
    s32, s64 = models[np.float32].state_dict(), models[np.float64].state_dict()
    for key in s64:
        assert s32[key].dtype == np.float32
        np.testing.assert_allclose(s32[key], s64[key], rtol=1e-4, atol=1e-5)
        assert not np.array_equal(s32[key].astype(np.float64), s64[key])  # really computed in float32
    p32 = models[np.float32].predict_proba(X)
    p64 = models[np.float64].predict_proba(X)
    np.testing.assert_allclose(p32, p64, atol=1e-5)


# -- seed 002: Network.fit with reg_lambda -----------------------------------------------------------
def seed_002_fit(layers, X, Y, learning_rate, reg_lambda, decay_biases):
    """The homework's Network.fit: per-sample backprop, mean gradient, then the L2 update."""
    grads = [(np.zeros_like(W), np.zeros_like(b)) for W, b in layers]
    loss, n_sample = 0.0, len(X)
    for x, y_true in zip(X, Y, strict=True):
        a = [x.reshape(-1, 1)]  # column vectors, as in the written part
        for W, b in layers:
            a.append(sigma(W.T @ a[-1] + b.reshape(-1, 1)))
        loss += 0.5 * float(np.sum((y_true - a[-1]) ** 2))
        delta = (a[-1] - y_true) * a[-1] * (1 - a[-1])
        for i in reversed(range(len(layers))):
            grads[i][0][...] += a[i] @ delta.T
            grads[i][1][...] += delta.ravel()
            delta = (layers[i][0] @ delta) * a[i] * (1 - a[i])
    for (W, b), (dW, db) in zip(layers, grads, strict=True):
        W -= learning_rate * (dW / n_sample + reg_lambda * W)
        b -= learning_rate * (db / n_sample + (reg_lambda * b if decay_biases else 0))
    return loss / n_sample


@pytest.mark.parametrize("decay_biases", [True, False], ids=["all_parameters", "weights_only"])
def test_reg_lambda_update_equals_sgd_weight_decay(decay_biases):
    from sklearn.datasets import load_iris

    X, Y = load_iris(return_X_y=True)
    X, Y = X[:100, :2], Y[:100].astype(float)
    rng = np.random.default_rng(2)
    layers = [
        (rng.normal(0, 0.5, (2, 4)), rng.normal(0, 0.5, 4)),
        (rng.normal(0, 0.5, (4, 1)), rng.normal(0, 0.5, 1)),
    ]
    model = ns.Sequential(
        ns.Linear.from_arrays(layers[0][0].T, layers[0][1]),
        ns.Sigmoid(),
        ns.Linear.from_arrays(layers[1][0].T, layers[1][1]),
        ns.Sigmoid(),
    )
    lr, reg_lambda = 0.5, 0.01
    weights = [model[0].weight, model[2].weight]
    biases = [model[0].bias, model[2].bias]
    if decay_biases:
        optimizers = [ns.SGD(model.parameters(), lr=lr, weight_decay=reg_lambda)]
    else:  # PyTorch's habit: a second group without decay for the biases
        optimizers = [ns.SGD(weights, lr=lr, weight_decay=reg_lambda), ns.SGD(biases, lr=lr)]
    loss_fn = ns.L2Loss(reduction="mean")  # ½ Σ (y - ŷ)² averaged over the samples
    for _ in range(15):
        hand_loss = seed_002_fit(layers, X, Y, lr, reg_lambda, decay_biases)
        lib_loss = loss_fn(model(X), Y)
        for opt in optimizers:
            opt.zero_grad()
        model.backward(loss_fn.backward(), input_grad=False)
        for opt in optimizers:
            opt.step()
        assert lib_loss == pytest.approx(hand_loss, rel=1e-12)
    for (W, b), i in zip(layers, (0, 2), strict=True):
        np.testing.assert_allclose(model[i].weight.data, W.T, rtol=1e-10)
        np.testing.assert_allclose(model[i].bias.data, b, rtol=1e-10)
