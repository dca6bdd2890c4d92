"""explain() on a LayerNorm, alone and inside Linear → LayerNorm → activation → Linear: every
matrix shown equals an independent PyTorch autograd graph and the engine's own forward/backward
(1e-12, float64); renderings; clear errors for models explain does not support."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as ns
from nnscratch.base.errors import ConfigError, HyperparameterError, ShapeError
from nnscratch.worked.render_latex import escape

TOL = 1e-12
torch = pytest.importorskip("torch")


def _layernorm(D, seed, affine=True, bias=True, eps=1e-5):
    ln = ns.LayerNorm(D, eps=eps, elementwise_affine=affine, bias=bias)
    rng = np.random.default_rng(seed + 1)
    if ln.weight is not None:
        ln.weight.data[:] = rng.normal(size=D)
    if ln.bias is not None:
        ln.bias.data[:] = rng.normal(size=D)
    return ln


def _t(a):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def _torch_layernorm(x, ln, m=""):
    """The LayerNorm quantities of one module, written out in torch; grads read after backward."""
    mu = x.mean(dim=-1, keepdim=True)
    var = ((x - mu) ** 2).mean(dim=-1, keepdim=True)
    std = torch.sqrt(var + ln.eps)
    xhat = (x - mu) / std
    gamma = _t(ln.weight.data) if ln.weight is not None else None
    beta = _t(ln.bias.data) if ln.bias is not None else None
    y = xhat * gamma if gamma is not None else xhat
    y = y + beta if beta is not None else y
    xhat.retain_grad()
    tensors = {f"mu{m}": mu, f"var{m}": var, f"std{m}": std, f"xhat{m}": xhat}
    params = {f"gamma{m}": gamma, f"beta{m}": beta}
    return y, tensors, {k: v for k, v in params.items() if v is not None}


def _ln_grads(vals, m, tensors, params):
    dxhat = tensors[f"xhat{m}"].grad.numpy()
    xhat = vals[f"xhat{m}"]
    vals[f"dxhat{m}"] = dxhat
    vals[f"mean_dxhat{m}"] = dxhat.mean(axis=-1, keepdims=True)
    vals[f"mean_dxhat_xhat{m}"] = (dxhat * xhat).mean(axis=-1, keepdims=True)
    for k, p in params.items():
        vals[k] = p.detach().numpy()[None]
        vals["d" + k] = p.grad.numpy()[None]


def _assert_all(ex, expected):
    keys = ex.keys()
    assert set(keys) <= set(expected), set(keys) - set(expected)
    for key in keys:
        want = np.asarray(expected[key], dtype=float)
        np.testing.assert_allclose(ex[key], want.reshape(ex[key].shape), rtol=TOL, atol=TOL, err_msg=key)


@settings(max_examples=30, deadline=None)
@given(
    N=st.integers(1, 4),
    D=st.integers(2, 5),
    affine=st.sampled_from([(True, True), (True, False), (False, False)]),
    eps=st.sampled_from([1e-5, 1e-3]),
    seed=st.integers(0, 2**16),
)
def test_layernorm_matches_autograd_and_engine(N, D, affine, eps, seed):
    ln = _layernorm(D, seed, *affine, eps=eps)
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(N, D)), rng.normal(size=(N, D))
    ex = ns.explain(ln, x, y, loss="mse")

    X = _t(x)
    out, tensors, params = _torch_layernorm(X, ln)
    for v in (out, *tensors.values()):
        v.retain_grad()
    loss = torch.nn.functional.mse_loss(out, torch.tensor(y))
    loss.backward()
    vals = {k: v.detach().numpy() for k, v in tensors.items()}
    vals.update({"x": x, "y": y, "yhat": out.detach().numpy(), "loss": loss.item()})
    vals.update({"dL_dyhat": out.grad.numpy(), "dx": X.grad.numpy()})
    _ln_grads(vals, "", tensors, params)
    _assert_all(ex, vals)

    # the engine itself, on its own copy
    work = ln.copy()
    ours = work.forward(x)
    mse = ns.MSELoss()
    mse(ours, y)
    dx = work.backward(mse.backward())
    np.testing.assert_allclose(ex["yhat"], ours, atol=TOL)
    np.testing.assert_allclose(ex["dx"], dx, atol=TOL)
    if work.weight is not None:
        np.testing.assert_allclose(ex["dgamma"][0], work.weight.grad, atol=TOL)
    if work.bias is not None:
        np.testing.assert_allclose(ex["dbeta"][0], work.bias.grad, atol=TOL)
    # and PyTorch's own layer_norm
    ref = torch.nn.functional.layer_norm(torch.tensor(x), (D,), eps=eps)
    np.testing.assert_allclose(ex["xhat"], ref.numpy(), atol=1e-12)
    # dx = (1/σ̂)(dx̂ − mean(dx̂) − x̂ ⊙ mean(dx̂ ⊙ x̂)), from the numbers shown
    formula = (ex["dxhat"] - ex["mean_dxhat"] - ex["xhat"] * ex["mean_dxhat_xhat"]) / ex["std"]
    np.testing.assert_allclose(formula, ex["dx"], atol=TOL)


ACTS = {"tanh": (ns.Tanh, torch.tanh), "relu": (ns.ReLU, torch.relu), "sigmoid": (ns.Sigmoid, torch.sigmoid)}


@settings(max_examples=20, deadline=None)
@given(
    N=st.integers(1, 3),
    sizes=st.tuples(st.integers(1, 3), st.integers(2, 4), st.integers(1, 3)),
    act=st.sampled_from(sorted(ACTS)),
    seed=st.integers(0, 2**16),
)
def test_linear_layernorm_linear_matches_autograd(N, sizes, act, seed):
    n_in, hidden, n_out = sizes
    rng = np.random.default_rng(seed)
    lin1 = ns.Linear.from_arrays(rng.normal(size=(hidden, n_in)), rng.normal(size=hidden))
    lin4 = ns.Linear.from_arrays(rng.normal(size=(n_out, hidden)), rng.normal(size=n_out))
    ln = _layernorm(hidden, seed)
    model = ns.Sequential(lin1, ln, ACTS[act][0](), lin4)
    x, y = rng.normal(size=(N, n_in)), rng.normal(size=(N, n_out))
    ex = ns.explain(model, x, y, loss="mse")

    X, W1, b1, W4, b4 = (
        _t(a) for a in (x, lin1.weight.data, lin1.bias.data, lin4.weight.data, lin4.bias.data)
    )
    h1 = X @ W1.T + b1
    h2, tensors, params = _torch_layernorm(h1, ln, "2")
    h3 = ACTS[act][1](h2)
    out = h3 @ W4.T + b4
    for v in (h1, h2, h3, out, *tensors.values()):
        v.retain_grad()
    loss = torch.nn.functional.mse_loss(out, torch.tensor(y))
    loss.backward()
    vals = {k: v.detach().numpy() for k, v in tensors.items()}
    vals.update({"x": x, "y": y, "loss": loss.item(), "W1": W1.detach().numpy(), "b1": b1.detach().numpy()})
    vals.update({"W4": W4.detach().numpy(), "b4": b4.detach().numpy()})
    for key, v in {"h1": h1, "h2": h2, "h3": h3, "yhat": out}.items():
        vals[key] = v.detach().numpy()
    vals.update({"dL_dyhat": out.grad.numpy(), "dh3": h3.grad.numpy(), "dh2": h2.grad.numpy()})
    vals.update({"dh1": h1.grad.numpy(), "dx": X.grad.numpy()})
    vals.update(
        {"dW1": W1.grad.numpy(), "db1": b1.grad.numpy(), "dW4": W4.grad.numpy(), "db4": b4.grad.numpy()}
    )
    _ln_grads(vals, "2", tensors, params)
    _assert_all(ex, vals)
    # the engine's Sequential gives the same output and gradients
    work = model.copy()
    mse = ns.MSELoss()
    mse(work.forward(x), y)
    np.testing.assert_allclose(ex["dx"], work.backward(mse.backward()), atol=TOL)
    names = {"0.weight": "dW1", "0.bias": "db1", "1.weight": "dgamma2", "1.bias": "dbeta2"}
    names.update({"3.weight": "dW4", "3.bias": "db4"})
    for name, p in work.named_parameters():
        key = names[name]
        np.testing.assert_allclose(ex[key].reshape(p.grad.shape), p.grad, atol=TOL)


def test_lone_layernorm_rendering():
    ln = _layernorm(3, 0)
    ex = ns.explain(ln, [[1.0, 2.0, 4.0], [0.0, -1.0, 1.0]], np.zeros((2, 3)), loss="mse")
    assert "Worked example: LayerNorm(3)" in ex.title
    titles = [
        "Mean of each row",
        "Variance of each row (biased)",
        "Standard deviation with ε",
        "Normalised input",
        "Scale and shift",
        "Gradient of the scale γ",
        "Gradient of the shift β",
        "Gradient at the normalised input",
        "Backward, part 1: row means of that gradient",
        "Backward, part 2: row means of that gradient times the normalised input",
        "Gradient at the input",
    ]
    text, md, tex = ex.to_text(), ex.to_markdown(), ex.to_latex()
    for title in titles:
        assert title in text and title in md and escape(title) in tex, title
    assert "not D − 1: the biased variance" in text
    assert "μ[1] = (1 + 2 + 4) / 3 = 2.3333" in text
    assert r"\hat{\sigma}" in md and r"\mu" in md
    assert all(ord(ch) < 128 for ch in tex)
    np.testing.assert_allclose(ex["mu"], [[7 / 3], [0.0]])
    np.testing.assert_allclose(ex["var"], [[np.var([1, 2, 4])], [np.var([0, -1, 1])]])


def test_one_sample_as_a_vector_and_check_work():
    ln = _layernorm(3, 1)
    ex = ns.explain(ln, [1.0, 2.0, 4.0], [0.0, 1.0, 0.0], loss="mse")
    assert ex["x"].shape == (1, 3) and ex["mu"].shape == (1, 1)
    report = ns.check_work(
        ln, [1.0, 2.0, 4.0], [0.0, 1.0, 0.0], loss="mse", answers={"dx": ex["dxhat"] / ex["std"]}
    )
    assert not report and report.first_wrong.key == "dx"  # forgot the two means


def test_unsupported_models_name_what_is_supported():
    for model in (
        ns.Conv2d(1, 1, 2),
        ns.Linear(2, 1),
        ns.Sequential(ns.Linear(2, 2), ns.Dropout(0.5), ns.LayerNorm(2)),
    ):
        with pytest.raises(ConfigError) as err:
            ns.explain(model, [1.0, 2.0], [0.0, 1.0], loss="mse")
        message = str(err.value)
        assert "dense network" in message and "MultiheadAttention" in message and "LayerNorm" in message
    with pytest.raises(ConfigError, match="one feature axis"):
        ns.explain(ns.LayerNorm((2, 2)), np.ones((2, 2)), np.ones((2, 2)), loss="mse")


def test_options_are_checked():
    ln = ns.LayerNorm(2)
    with pytest.raises(HyperparameterError, match="update"):
        ns.explain(ln, [1.0, 2.0], [0.0, 1.0], loss="mse", optimizer="adam")
    with pytest.raises(HyperparameterError, match="layout"):
        ns.explain(ln, [1.0, 2.0], [0.0, 1.0], loss="mse", layout="in_out")
    with pytest.raises(ShapeError, match=r"\(N, 2\)"):
        ns.explain(ln, np.ones((2, 3)), [0.0, 1.0], loss="mse")
    with pytest.raises(HyperparameterError, match="MultiheadAttention"):
        ns.explain(ln, [1.0, 2.0], [0.0, 1.0], loss="mse", head=0)
