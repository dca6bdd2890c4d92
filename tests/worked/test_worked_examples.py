"""The seeds' worked questions (examples/explain/*.toml) against independent computations:
hand-written NumPy (tests/helpers/worked_reference.py), finite differences of the loss, and PyTorch."""

from pathlib import Path

import numpy as np
import pytest

import nnscratch as ns
from helpers.worked_reference import TWO_LAYER_KEYS, numeric_param_grads, reference
from nnscratch.worked import explain_problem, load_problem

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "explain"

# Seed 002, Q1, exactly as printed (w_ij from node i to node j: (in, out) matrices).
S2_W1 = np.array([[0.4, 0.6, 0.2], [0.3, 0.9, 0.5]])
S2_W2 = np.array([[0.2], [0.2], [0.8]])
# Seed 003, Problem 1, as printed ((out, in) matrices).
S3_W1 = np.array([[0.1, -0.2, 0.3, 0.4], [0.5, -0.3, 0.1, -0.2], [0.4, 0.2, -0.5, 0.3]])
S3_b1 = np.array([0.1, -0.1, 0.05])
S3_W2 = np.array([[-0.3, 0.2, 0.1], [0.4, -0.5, 0.3]])
S3_b2 = np.array([0.05, -0.05])
S3_x = np.array([1.0, -1.0, 0.5, 2.0])
# Seed 000's XOR network with the explicit weights of seed000_xor.toml.
XOR_W1 = np.array([[0.6, -0.4], [-0.3, 0.7]])
XOR_b1 = np.array([0.1, -0.2])
XOR_W2 = np.array([[0.9, -0.8]])
XOR_b2 = np.array([0.05])


def _assert_matches(ex, ref, keys):
    for key in keys:
        want, got = np.asarray(ref[key]), ex[key]
        assert got.size == want.size, key
        np.testing.assert_allclose(got, want.reshape(got.shape), rtol=1e-9, atol=1e-12, err_msg=key)


# -- seed 002 Q1 ---------------------------------------------------------------------------------------
def test_seed002_forward_output_is_08221_as_the_seed_says():
    ex = explain_problem(EXAMPLES / "seed002_q1.toml")
    assert ex.layout == "in_out"
    assert round(float(ex["a2"][0, 0]), 4) == 0.8221
    assert "0.8221" in ex.to_markdown() and "0.8221" in ex.to_text()


def test_seed002_every_number_matches_hand_written_numpy():
    ex = explain_problem(EXAMPLES / "seed002_q1.toml")
    # The seed's own formulas, (in, out) convention: z = wᵀ a + b, η = (a2 - y) σ'(z2), ...
    x, y, lr = np.array([[1.0], [1.0]]), 1.0, 0.1
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    z1 = S2_W1.T @ x + 1.0
    a1 = sig(z1)
    z2 = S2_W2.T @ a1 + 0.5
    a2 = sig(z2)
    eta = (a2 - y) * a2 * (1 - a2)
    dW2 = a1 @ eta.T  # seed: ∂L/∂w2 = a1 · ηᵀ, shape (3, 1)
    delta1 = (S2_W2 @ eta) * a1 * (1 - a1)
    dW1 = x @ delta1.T  # seed: ∂L/∂w1 = a0 · (w2 η ⊙ f1'(z1))ᵀ, shape (2, 3)
    expected = {
        "z1": z1,
        "a1": a1,
        "z2": z2,
        "a2": a2,
        "loss": 0.5 * (y - a2) ** 2,
        "delta2": eta,
        "dW2": dW2,
        "db2": eta,
        "delta1": delta1,
        "dW1": dW1,
        "db1": delta1,
        "W1_new": S2_W1 - lr * dW1,
        "W2_new": S2_W2 - lr * dW2,
        "b1_new": 1.0 - lr * delta1,
        "b2_new": 0.5 - lr * eta,
    }
    for key, want in expected.items():
        got = ex[key]
        np.testing.assert_allclose(got, np.reshape(want, got.shape), rtol=1e-12, err_msg=key)
    assert ex["dW1"].shape == (2, 3) and ex["dW2"].shape == (3, 1)  # the user's (in, out) layout


def test_seed002_gradients_match_finite_differences():
    ex = explain_problem(EXAMPLES / "seed002_q1.toml")
    layers = [(S2_W1.T.copy(), np.ones(3), "sigmoid"), (S2_W2.T.copy(), np.array([0.5]), "sigmoid")]
    num = numeric_param_grads(layers, np.array([[1.0, 1.0]]), np.array([[1.0]]), "l2", reduction="sum")
    np.testing.assert_allclose(ex["dW1"], num["dW1"].T, atol=1e-8)  # in_out layout shows Wᵀ
    np.testing.assert_allclose(ex["dW2"], num["dW2"].T, atol=1e-8)
    np.testing.assert_allclose(ex["db1"], num["db1"], atol=1e-8)


# -- seed 003 ---------------------------------------------------------------------------------------------
def _seed003_reference():
    layers = [(S3_W1, S3_b1, "relu_sin"), (S3_W2, S3_b2, "softmax")]
    return layers, reference(layers, S3_x[None, :], np.array([[1.0], [0.0]]), "ce_probs", lr=0.001)


def test_seed003_matches_hand_written_numpy():
    ex = explain_problem(EXAMPLES / "seed003_relu_sin.toml")
    _, ref = _seed003_reference()
    keys = TWO_LAYER_KEYS
    _assert_matches(ex, ref, keys)
    # Hand check of a few printed values (z1 = W1 x + b1 is exact in decimals).
    np.testing.assert_allclose(ex["z1"].ravel(), [1.35, 0.35, 0.6], atol=1e-12)
    np.testing.assert_allclose(ex["a1"].ravel(), np.array([1.35, 0.35, 0.6]) + np.sin([1.35, 0.35, 0.6]))


def test_seed003_delta2_is_yhat_minus_y_and_the_shortcut_is_explained():
    ex = explain_problem(EXAMPLES / "seed003_relu_sin.toml")
    np.testing.assert_allclose(ex["delta2"], ex["a2"] - np.array([[1.0], [0.0]]), atol=1e-12)
    step = ex.step("delta2")
    assert any("softmax" in n.text and "sums to 1" in n.text for n in step.notes)


def test_seed003_gradients_match_finite_differences():
    ex = explain_problem(EXAMPLES / "seed003_relu_sin.toml")
    layers, _ = _seed003_reference()
    layers = [(W.copy(), b.copy(), a) for W, b, a in layers]
    num = numeric_param_grads(layers, S3_x[None, :], np.array([[1.0], [0.0]]), "ce_probs")
    for key in ("dW1", "db1", "dW2", "db2"):
        np.testing.assert_allclose(ex[key], num[key], atol=1e-7, err_msg=key)


def test_seed003_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    ex = explain_problem(EXAMPLES / "seed003_relu_sin.toml")
    t = lambda a: torch.tensor(a, dtype=torch.float64, requires_grad=True)  # noqa: E731
    W1, b1, W2, b2 = t(S3_W1), t(S3_b1), t(S3_W2), t(S3_b2)
    x = torch.tensor(S3_x, dtype=torch.float64)
    z1 = W1 @ x + b1
    z1.retain_grad()
    h = torch.relu(z1) + torch.sin(z1)
    z2 = W2 @ h + b2
    yhat = torch.softmax(z2, dim=0)
    loss = -torch.log(yhat[0])
    loss.backward()
    np.testing.assert_allclose(ex["loss"], loss.item(), rtol=1e-12)
    for key, p in {"dW1": W1, "db1": b1, "dW2": W2, "db2": b2}.items():
        np.testing.assert_allclose(ex[key], p.grad.numpy().reshape(ex[key].shape), atol=1e-12, err_msg=key)
    np.testing.assert_allclose(ex["delta1"].ravel(), z1.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(ex["W1_new"], S3_W1 - 0.001 * W1.grad.numpy(), atol=1e-12)


def test_seed003_custom_activation_gradchecks():
    act = ns.Activation.from_expression("relu(x) + sin(x)")
    assert ns.gradcheck(act, np.array([[1.35, 0.35, 0.6, -0.7]])).passed


# -- seed 000 XOR ------------------------------------------------------------------------------------------
def _xor_layers():
    return [(XOR_W1.copy(), XOR_b1.copy(), "tanh"), (XOR_W2.copy(), XOR_b2.copy(), "sigmoid")]


def test_seed000_xor_single_input_matches_numpy_and_finite_differences():
    ex = explain_problem(EXAMPLES / "seed000_xor.toml")
    x, Y = np.array([[1.0, 0.0]]), np.array([[1.0]])
    ref = reference(_xor_layers(), x, Y, "bce", lr=0.5)
    keys = TWO_LAYER_KEYS
    _assert_matches(ex, ref, keys)
    num = numeric_param_grads(_xor_layers(), x, Y, "bce")
    for key in ("dW1", "db1", "dW2", "db2"):
        np.testing.assert_allclose(ex[key], num[key], atol=1e-8, err_msg=key)
    # sigmoid + BCE: δ⁽²⁾ = ŷ - y, and the page says why
    np.testing.assert_allclose(ex["delta2"], ex["a2"] - 1.0, atol=1e-12)
    assert "cancels" in " ".join(n.text for n in ex.step("delta2").notes)


def test_seed000_xor_batch_matches_numpy_and_torch():
    ex = explain_problem(EXAMPLES / "seed000_xor_batch.toml")
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    Y = np.array([[0.0, 1.0, 1.0, 0.0]])
    ref = reference(_xor_layers(), X, Y, "bce", lr=0.5)
    _assert_matches(ex, ref, ["z1", "a1", "a2", "loss", "delta2", "delta1", "dW1", "db1", "dW2", "W1_new"])
    torch = pytest.importorskip("torch")
    model = load_problem(EXAMPLES / "seed000_xor_batch.toml").model
    tm = torch.nn.Sequential(
        torch.nn.Linear(2, 2), torch.nn.Tanh(), torch.nn.Linear(2, 1), torch.nn.Sigmoid()
    )
    tm = tm.double()
    with torch.no_grad():
        for key, value in model.state_dict().items():
            tm.state_dict()[key].copy_(torch.from_numpy(value))
    out = tm(torch.from_numpy(X))
    loss = torch.nn.functional.binary_cross_entropy(out, torch.from_numpy(Y.T))
    loss.backward()
    np.testing.assert_allclose(ex["loss"], loss.item(), rtol=1e-12)
    np.testing.assert_allclose(ex["dW1"], tm[0].weight.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(ex["db2"].ravel(), tm[2].bias.grad.numpy(), atol=1e-12)


def test_examples_render_in_every_format():
    for path in sorted(EXAMPLES.glob("*.toml")):
        ex = explain_problem(path)
        for fmt in ("md", "latex", "text"):
            assert ex.render(fmt).strip(), (path, fmt)


def test_check_work_accepts_the_seed002_answers_rounded_to_4_decimals():
    ex = explain_problem(EXAMPLES / "seed002_q1.toml")
    problem = load_problem(EXAMPLES / "seed002_q1.toml")
    answers = {k: np.round(ex[k], 4) for k in ("z1", "a1", "z2", "a2", "delta2", "dW2", "dW1", "W1_new")}
    report = ns.check_work(problem.model, [1, 1], 1, loss="l2", lr=0.1, layout="in_out", answers=answers)
    assert report.passed, str(report)


def test_rendered_example_files_are_up_to_date():
    for path in sorted(EXAMPLES.glob("*.toml")):
        rendered = path.with_suffix(".md")
        assert rendered.read_text(encoding="utf-8") == explain_problem(path).to_markdown(), (
            f"{rendered.name} is stale: see examples/explain/README.md to regenerate it"
        )


def test_example_networks_pass_gradcheck():
    for path in sorted(EXAMPLES.glob("*.toml")):
        problem = load_problem(path)
        x = problem.x if problem.x.ndim == 2 else problem.x[None, :]
        if isinstance(problem.model, ns.MultiheadAttention):  # one sequence: (1, T, E)
            x = x[None]
        report = ns.gradcheck(problem.model, x)
        assert report.passed, f"{path.name}\n{report}"
