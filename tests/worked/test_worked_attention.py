"""explain() on a MultiheadAttention layer: every matrix shown equals the engine's own forward and
backward (to 1e-12 in float64) and an independent autograd graph in PyTorch for the quantities the
engine does not keep; masks shown and honoured; renderings; clear errors; check_work on attention."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as ns
from nnscratch.base.errors import ConfigError, HyperparameterError, ShapeError
from nnscratch.worked.render_latex import escape

TOL = 1e-12


def _layer(E, H, seed, bias=True):
    layer = ns.MultiheadAttention(E, H, bias=bias, rng=seed)
    rng = np.random.default_rng(seed + 1)
    if bias:  # PyTorch initialises the biases to 0: random ones make every bias term show
        layer.in_proj_bias.data[:] = rng.normal(size=3 * E)
        layer.out_proj.bias.data[:] = rng.normal(size=E)
    return layer


def _engine(layer, x, y, **masks):
    """The engine alone on a copy: output, weights, loss gradient, dL/dx and parameter gradients."""
    work = layer.copy()
    out = work.forward(x[None], **masks)
    loss = ns.MSELoss()
    loss(out, y[None])
    work.zero_grad()
    dx = work.backward(loss.backward())
    grads = {name: p.grad.copy() for name, p in work.named_parameters()}
    return out[0], work.attn_weights[0], dx[0], grads


def _torch_values(layer, x, y, head, mask):
    """Every quantity of the worked example from an autograd graph written independently."""
    torch = pytest.importorskip("torch")
    E, H = layer.embed_dim, layer.num_heads
    d = E // H
    t = lambda a: torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)  # noqa: E731
    X, W, W_out = t(x), t(layer.in_proj_weight.data), t(layer.out_proj.weight.data)
    b = t(layer.in_proj_bias.data) if layer.in_proj_bias is not None else None
    b_out = t(layer.out_proj.bias.data) if layer.out_proj.bias is not None else None
    full = {}
    for i, name in enumerate("QKV"):
        z = X @ W[i * E : (i + 1) * E].T
        full[name] = z + b[i * E : (i + 1) * E] if b is not None else z
    heads = {n: [full[n][:, j * d : (j + 1) * d] for j in range(H)] for n in "QKV"}
    S = [heads["Q"][j] @ heads["K"][j].T for j in range(H)]
    S_scaled = [s / math.sqrt(d) for s in S]
    M = torch.tensor(mask) if mask is not None else None
    S_masked = [s + M if M is not None else s for s in S_scaled]
    A = [torch.softmax(s, dim=-1) for s in S_masked]
    O_heads = [A[j] @ heads["V"][j] for j in range(H)]
    O = torch.cat(O_heads, dim=-1)
    Y = O @ W_out.T + (b_out if b_out is not None else 0.0)
    tensors = {**full, "S": S[head], "S_scaled": S_scaled[head], "A": A[head]}
    tensors.update({"S_masked": S_masked[head], "O": O, "yhat": Y})
    if H > 1:
        tensors.update({f"{n}_head": heads[n][head] for n in "QKV"})
        tensors["O_head"] = O_heads[head]
    for v in tensors.values():
        v.retain_grad()
    loss = torch.nn.functional.mse_loss(Y, torch.tensor(y))
    loss.backward()
    g = lambda v: v.grad.numpy()  # noqa: E731
    vals = {k: v.detach().numpy() for k, v in tensors.items()}
    vals.update({"loss": loss.item(), "dL_dyhat": g(Y), "dO": g(O)})
    vals.update({"dA": g(A[head]), "dS": g(S_masked[head])})
    suffix = "_head" if H > 1 else ""
    for n in "QKV":
        vals[f"d{n}{suffix}"] = g(heads[n][head]) if H > 1 else g(full[n])
        vals[f"d{n}"] = g(full[n])
    if H > 1:
        vals["dO_head"] = g(O)[:, head * d : (head + 1) * d]
    vals["rowsum"] = np.sum(g(A[head]) * vals["A"], axis=-1, keepdims=True)
    for i, n in enumerate("QKV"):
        vals[f"W_{n}"] = layer.in_proj_weight.data[i * E : (i + 1) * E]
        vals[f"dW_{n}"] = W.grad.numpy()[i * E : (i + 1) * E]
        if b is not None:
            vals[f"b_{n}"] = layer.in_proj_bias.data[i * E : (i + 1) * E].reshape(1, -1)
            vals[f"db_{n}"] = b.grad.numpy()[i * E : (i + 1) * E].reshape(1, -1)
    vals.update({"W_out": layer.out_proj.weight.data, "dW_out": W_out.grad.numpy(), "dx": X.grad.numpy()})
    if b_out is not None:
        vals.update({"b_out": layer.out_proj.bias.data.reshape(1, -1), "db_out": b_out.grad.numpy()[None]})
    vals.update({"x": x, "y": y})
    if mask is not None:
        vals["M"] = mask
    return vals


def _assert_close(actual, expected, key):
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.reshape(actual.shape).shape, key
    expected = expected.reshape(actual.shape)
    finite = np.isfinite(expected)
    assert np.array_equal(np.isfinite(actual), finite), key
    assert np.array_equal(actual[~finite], expected[~finite]), key
    assert np.allclose(actual[finite], expected[finite], rtol=TOL, atol=TOL), (key, actual, expected)


@pytest.mark.torch
@settings(max_examples=25, deadline=None)
@given(
    T=st.integers(1, 4),
    heads=st.sampled_from([1, 2]),
    head_dim=st.integers(1, 2),
    mask_kind=st.sampled_from(["none", "causal", "random"]),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_every_matrix_matches_autograd(T, heads, head_dim, mask_kind, bias, seed, data):
    E = heads * head_dim
    head = data.draw(st.integers(0, heads - 1))
    layer = _layer(E, heads, seed, bias)
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(T, E)), rng.normal(size=(T, E))
    blocked = None
    if mask_kind == "causal":
        blocked = np.triu(np.ones((T, T), bool), 1)
    elif mask_kind == "random":  # True = may not attend; each query keeps at least one key
        blocked = rng.random((T, T)) < 0.4
        blocked[np.arange(T), rng.integers(0, T, size=T)] = False
    masks = {"is_causal": True} if mask_kind == "causal" else {"attn_mask": blocked}
    ex = ns.explain(layer, x, y, loss="mse", head=head, **masks)
    mask = None if blocked is None else np.where(blocked, -np.inf, 0.0)
    if blocked is not None:
        assert np.all(ex["A"][blocked] == 0.0) and np.all(ex["dS"][blocked] == 0.0)
        np.testing.assert_array_equal(ex["M"], mask)
    expected = _torch_values(layer, x, y, head, mask)
    keys = ex.keys()
    assert set(keys) <= set(expected), set(keys) - set(expected)
    for key in keys:
        _assert_close(ex[key], expected[key], key)


@settings(max_examples=25, deadline=None)
@given(
    T=st.integers(1, 4),
    heads=st.sampled_from([1, 2]),
    head_dim=st.integers(1, 3),
    causal=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_numbers_are_the_engines(T, heads, head_dim, causal, seed):
    E = heads * head_dim
    layer = _layer(E, heads, seed)
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(T, E)), rng.normal(size=(T, E))
    head = heads - 1
    ex = ns.explain(layer, x[None], y, loss=ns.MSELoss(), head=head, is_causal=causal)
    out, weights, dx, grads = _engine(layer, x, y, is_causal=causal)
    np.testing.assert_allclose(ex["yhat"], out, rtol=0, atol=TOL)
    np.testing.assert_allclose(ex["A"], weights[head], rtol=0, atol=TOL)
    np.testing.assert_allclose(ex["dx"], dx, rtol=0, atol=TOL)
    for i, n in enumerate("QKV"):
        np.testing.assert_allclose(ex[f"dW_{n}"], grads["in_proj_weight"][i * E : (i + 1) * E], atol=TOL)
        np.testing.assert_allclose(ex[f"db_{n}"][0], grads["in_proj_bias"][i * E : (i + 1) * E], atol=TOL)
        # the gradients shown at Q, K and V reproduce the engine's weight gradients
        np.testing.assert_allclose(ex[f"d{n}"].T @ x, grads["in_proj_weight"][i * E : (i + 1) * E], atol=TOL)
    np.testing.assert_allclose(ex["dW_out"], grads["out_proj.weight"], atol=TOL)
    np.testing.assert_allclose(ex["db_out"][0], grads["out_proj.bias"], atol=TOL)
    np.testing.assert_allclose(ex["dO"], ex["dL_dyhat"] @ layer.out_proj.weight.data, atol=TOL)
    assert ex.loss == pytest.approx(float(np.mean((out - y) ** 2)), abs=TOL)
    np.testing.assert_allclose(ex.output, out, atol=TOL)


def test_model_is_left_untouched():
    layer = _layer(2, 1, 3)
    before = {k: v.copy() for k, v in layer.state_dict().items()}
    ns.explain(layer, np.eye(2), np.ones((2, 2)), loss="mse")
    for k, v in layer.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
        assert not np.any(dict(layer.named_parameters())[k].grad)


def test_causal_mask_shown_and_masked_weights_are_zero():
    layer = _layer(2, 1, 0)
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    ex = ns.explain(layer, x, np.zeros((3, 2)), loss="mse", is_causal=True)
    upper = np.triu(np.ones((3, 3), bool), 1)
    assert np.all(np.isneginf(ex["M"][upper])) and np.all(ex["M"][~upper] == 0)
    assert np.all(ex["A"][upper] == 0.0) and np.all(ex["A"][~upper] > 0)
    assert np.all(ex["dS"][upper] == 0.0)
    np.testing.assert_allclose(ex["A"].sum(axis=1), 1.0)
    text = ex.to_text()
    assert "Attention mask (causal)" in text and "Masked scores" in text and "-inf" in text
    assert "Masked entries get weight exactly 0." in text
    assert r"-\infty" in ex.to_markdown()


def test_attn_mask_and_key_padding_mask():
    layer = _layer(2, 1, 4)
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    mask = np.array([[False, True, False], [False, False, False], [True, False, False]])
    ex = ns.explain(layer, x, y, loss="mse", attn_mask=mask)
    assert np.all(ex["A"][mask] == 0.0)
    assert "Attention mask (attn_mask)" in ex.to_text()
    _, weights, _, _ = _engine(layer, x, y, attn_mask=mask)
    np.testing.assert_allclose(ex["A"], weights[0], atol=TOL)
    pad = np.array([[False, False, True]])
    ex = ns.explain(layer, x, y, loss="mse", key_padding_mask=pad)
    assert np.all(ex["A"][:, 2] == 0.0)
    with pytest.raises(ConfigError, match="at least one key"):
        ns.explain(layer, x, y, loss="mse", attn_mask=np.array([[True] * 3, [False] * 3, [False] * 3]))


def test_no_mask_no_mask_steps():
    ex = ns.explain(_layer(2, 1, 1), np.eye(2), np.zeros((2, 2)), loss="mse")
    assert "M" not in ex.keys() and "S_masked" not in ex.keys()
    assert "Masked scores" not in ex.to_text()


def test_several_heads_say_which_head():
    layer = _layer(4, 2, 5)
    rng = np.random.default_rng(5)
    ex = ns.explain(layer, rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), loss="mse", head=1)
    text = " ".join(ex.to_text().split())  # the text output wraps long notes
    assert "Head shown: head 1 of 2" in text and "the other heads (0) are computed alike" in text
    assert "head 1 of 2" in ex.title
    per_head = {"Q_head", "K_head", "V_head", "O_head", "dO_head", "dQ_head", "dK_head", "dV_head"}
    assert per_head <= set(ex.keys())
    np.testing.assert_allclose(ex["Q_head"], ex["Q"][:, 2:4], atol=0)
    np.testing.assert_allclose(ex["O_head"], ex["O"][:, 2:4], atol=0)
    np.testing.assert_allclose(ex["dQ_head"], ex["dQ"][:, 2:4], atol=0)


TITLES = [
    "Query projection",
    "Key projection",
    "Value projection",
    "Attention scores",
    "Scaled scores",
    "Attention weights (softmax of each row)",
    "Weighted sum of the values",
    "Output projection (out_proj)",
    "Gradient at the heads' output O",
    "Gradient at the attention weights",
    "Gradient at the values",
    "Softmax backward, part 1",
    "Softmax backward, part 2: gradient at the scores",
    "Gradient at the queries",
    "Gradient at the keys",
    "Gradient of the Q weights",
    "Gradient of the output projection bias",
    "Gradient at the input",
]


def test_renderings_contain_every_step():
    layer = _layer(2, 1, 2)
    ex = ns.explain(layer, np.array([[1.0, 2.0], [0.5, -1.0], [0.0, 1.0]]), np.zeros((3, 2)), loss="mse")
    text, md, tex = ex.to_text(), ex.to_markdown(), ex.to_latex()
    for title in TITLES:
        assert title in text and title in md and escape(title) in tex, title
    assert r"\sqrt{2}" in md and "√2" in text
    assert r"\operatorname{rowsum}" in md and "rowsum(" in text
    assert tex.startswith(r"\documentclass") and tex.rstrip().endswith(r"\end{document}")
    assert all(ord(ch) < 128 for ch in tex), "the LaTeX document is ASCII only"
    for key in ("Q", "S", "A", "dS", "dx"):
        assert f"[{key}]" in text and f"`{key}`" in md


def test_options_and_shapes_are_checked():
    layer = _layer(2, 1, 0)
    x, y = np.eye(2), np.zeros((2, 2))
    with pytest.raises(HyperparameterError, match="update"):
        ns.explain(layer, x, y, loss="mse", lr=0.1)
    with pytest.raises(HyperparameterError, match="head"):
        ns.explain(layer, x, y, loss="mse", head=1)
    with pytest.raises(ShapeError, match=r"\(T, 2\)"):
        ns.explain(layer, np.ones((2, 3, 2)), y, loss="mse")
    with pytest.raises(ShapeError, match="at most 8"):
        ns.explain(layer, np.ones((9, 2)), np.zeros((9, 2)), loss="mse")
    with pytest.raises(ShapeError, match="one target per output entry"):
        ns.explain(layer, x, np.zeros(3), loss="mse")
    with pytest.raises(HyperparameterError, match="MultiheadAttention"):
        ns.explain(ns.Sequential(ns.Linear(2, 1)), [1.0, 2.0], 1.0, loss="mse", is_causal=True)


def test_l2_loss_formula_and_value():
    layer = _layer(2, 1, 6)
    x, y = np.eye(2), np.ones((2, 2))
    ex = ns.explain(layer, x, y, loss=ns.L2Loss())
    out, _, _, _ = _engine(layer, x, y)
    assert ex.loss == pytest.approx(0.5 * np.sum((out - y) ** 2), abs=TOL)
    np.testing.assert_allclose(ex["dL_dyhat"], out - y, atol=TOL)
    assert "½·Σ(Ŷ - Y)²" in ex.to_text()


def test_check_work_on_attention():
    layer = _layer(2, 1, 7)
    x, y = np.array([[1.0, 0.0], [0.0, 1.0]]), np.zeros((2, 2))
    ex = ns.explain(layer, x, y, loss="mse")
    good = {"A": np.round(ex["A"], 4), "dS": ex["dS"], "dW_Q": ex["dW_Q"]}
    assert ns.check_work(layer, x, y, loss="mse", answers=good)
    wrong_dS = ex["A"] * ex["dA"]  # forgot to subtract the row sums
    report = ns.check_work(layer, x, y, loss="mse", answers={**good, "dS": wrong_dS})
    assert not report and report.first_wrong.key == "dS"
    assert "Softmax backward, part 2" in report.to_text()


def test_guide_excerpt_is_the_real_output():
    guide = (Path(__file__).parents[2] / "docs" / "worked-examples.md").read_text(encoding="utf-8")
    start = guide.index("```text", guide.index("An excerpt of the attention example")) + len("```text\n")
    excerpt = guide[start : guide.index("```", start)]
    attn = ns.MultiheadAttention(2, 1, rng=0)
    x = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    ex = ns.explain(attn, x, [[0.5, 0.0], [0.0, 0.5], [1.0, 0.0]], loss="mse", is_causal=True)
    text = ex.to_text()
    for chunk in excerpt.strip("\n").split("\n\n"):
        assert chunk in text, chunk
