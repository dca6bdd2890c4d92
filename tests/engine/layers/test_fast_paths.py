"""The optimised paths of the dense engine against plain, obviously-correct NumPy.

Each fast path (in-place activation gradients, ReLU against cached zeros, bias sums as 1ᵀg,
BCE's subnormal-floored log, CrossEntropyLoss's cached softmax, SGD without a dampening pass)
is compared with the textbook formula in float64, checked not to touch its inputs or caches,
and a whole training step is compared with a hand-written NumPy step. No timings here: speed is
measured by ``make bench``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import nnscratch as ns
from nnscratch.engine import functional
from nnscratch.engine.layers.activations import zeros_like_cached
from nnscratch.engine.losses import _clamped_log

FAST = settings(max_examples=25, deadline=None)
values = st.floats(-30.0, 30.0, allow_nan=False, width=64)
shapes = st.tuples(st.integers(1, 6), st.integers(1, 5))


# -- activations ----------------------------------------------------------------------------------
def _textbook(name: str, z: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if name == "sigmoid":
        a = 1.0 / (1.0 + np.exp(-z))
        return a, g * a * (1.0 - a)
    if name == "tanh":
        a = np.tanh(z)
        return a, g * (1.0 - a**2)
    a = np.where(z > 0, z, 0.0)
    return a, np.where(z > 0, g, 0.0)


@FAST
@given(data=st.data(), shape=shapes)
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu"])
def test_activation_fast_paths_match_the_formulas_and_leave_inputs_alone(name, data, shape):
    z = data.draw(arrays(np.float64, shape, elements=values))
    g = data.draw(arrays(np.float64, shape, elements=values))
    layer = {"sigmoid": ns.Sigmoid, "tanh": ns.Tanh, "relu": ns.ReLU}[name]()
    z0, g0 = z.copy(), g.copy()
    a = layer.forward(z)
    a0 = a.copy()
    dz = layer.backward(g)
    want_a, want_dz = _textbook(name, z0, g0)
    np.testing.assert_allclose(a, want_a, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(dz, want_dz, rtol=1e-13, atol=1e-300)
    np.testing.assert_array_equal(z, z0)  # nothing written into the caller's arrays...
    np.testing.assert_array_equal(g, g0)
    np.testing.assert_array_equal(a, a0)  # ...nor into the cached output
    np.testing.assert_array_equal(layer.backward(g), dz)  # backward can be repeated


@pytest.mark.parametrize("layer", [ns.Sigmoid(), ns.Tanh()])
def test_a_gradient_of_another_dtype_is_promoted_as_numpy_promotes(layer):
    z = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    a = layer.forward(z)
    g = np.full(z.shape, 0.5)  # float64 into a float32 layer
    dz = layer.backward(g)
    assert dz.dtype == np.float64
    expected = g * a * (1.0 - a) if isinstance(layer, ns.Sigmoid) else g * (1.0 - a * a)
    np.testing.assert_array_equal(dz, expected)


def test_sigmoid_is_accurate_in_the_tail_where_tanh_form_gave_zero():
    z = np.array([-20.0, -50.0, -80.0], dtype=np.float32)
    np.testing.assert_allclose(functional.sigmoid(z), np.exp(z.astype(np.float64)), rtol=1e-6)
    assert functional.sigmoid(np.array([0, 1])).dtype == np.float64  # ints: float64, as before


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_on_strided_and_transposed_inputs(dtype, rng):
    base = rng.standard_normal((4, 3, 5, 6)).astype(dtype)
    for z in (base, base.transpose(1, 0, 2, 3), base[:, :, ::2], base[..., 1:]):
        a = ns.ReLU().forward(z)
        np.testing.assert_array_equal(a, np.maximum(z, 0.0))
        assert a.dtype == dtype
    zeros = zeros_like_cached(base)
    assert not zeros.flags.writeable and not zeros.any()
    assert ns.ReLU().forward(np.array([[-2, 3]])).tolist() == [[0.0, 3.0]]  # ints: the old path


# -- Linear ---------------------------------------------------------------------------------------
@FAST
@given(lead=st.lists(st.integers(1, 4), min_size=1, max_size=3), n_in=st.integers(1, 5), data=st.data())
def test_linear_fast_paths_match_the_formulas(lead, n_in, data):
    n_out = data.draw(st.integers(1, 5))
    x = data.draw(arrays(np.float64, (*lead, n_in), elements=values))
    g = data.draw(arrays(np.float64, (*lead, n_out), elements=values))
    layer = ns.Linear(n_in, n_out, rng=1)
    w, b = layer.weight.data, layer.bias.data
    y = layer.forward(x)
    np.testing.assert_allclose(y, x @ w.T + b, rtol=1e-13, atol=1e-12)
    layer.zero_grad()
    dx = layer.backward(g)
    g2, x2 = g.reshape(-1, n_out), x.reshape(-1, n_in)
    np.testing.assert_allclose(layer.weight.grad, g2.T @ x2, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, g2.sum(axis=0), rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(dx, g @ w, rtol=1e-13, atol=1e-12)


def test_linear_bias_sum_for_changing_batch_sizes_and_dtypes():
    layer = ns.Linear(3, 2, rng=0)
    rng = np.random.default_rng(1)
    for dtype in (np.float64, np.float32):
        layer.astype(dtype)
        for n in (5, 2, 9, 1, 9):  # the cached vector of ones grows, is sliced, changes dtype
            x = rng.standard_normal((n, 3)).astype(dtype)
            g = rng.standard_normal((n, 2)).astype(dtype)
            layer.forward(x)
            layer.zero_grad()
            layer.backward(g)
            assert layer.bias.grad.dtype == dtype
            np.testing.assert_allclose(layer.bias.grad, g.sum(axis=0), rtol=1e-5)


def test_linear_accepts_a_strided_input():
    layer = ns.Linear(4, 3, rng=0)
    seq = np.random.default_rng(0).standard_normal((5, 7, 4))
    x = seq[:, -1, :]  # what LastTimeStep passes on: a non-contiguous view
    np.testing.assert_allclose(layer.forward(x), x @ layer.weight.data.T + layer.bias.data, rtol=1e-14)


# -- losses ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_clamped_log_is_log_clamped_at_minus_100(dtype):
    tiny = np.finfo(dtype).smallest_subnormal
    p = np.array([0.0, tiny, 1e-45, 1e-30, 0.5, 1.0], dtype=dtype)
    with np.errstate(divide="ignore"):
        expected = np.maximum(np.log(p.astype(np.float64)), -100.0).astype(dtype)
    np.testing.assert_allclose(_clamped_log(p), expected, rtol=1e-3 if dtype == np.float16 else 1e-6)
    assert _clamped_log(p).dtype == dtype


@FAST
@given(data=st.data(), n=st.integers(1, 6), reduction=st.sampled_from(["mean", "sum"]))
def test_bce_fast_path_matches_the_formula(data, n, reduction):
    p = data.draw(arrays(np.float64, (n, 1), elements=st.floats(0.0, 1.0, width=64)))
    y = data.draw(arrays(np.float64, (n, 1), elements=st.floats(0.0, 1.0, width=64)))
    loss = ns.BCELoss(reduction=reduction)
    p0 = p.copy()
    value = loss.forward(p, y)
    scale = 1.0 / n if reduction == "mean" else 1.0
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), -100.0)
        log_q = np.maximum(np.log(1.0 - p), -100.0)
    assert value == pytest.approx(-(y * log_p + (1 - y) * log_q).sum() * scale, rel=1e-12, abs=1e-12)
    grad = loss.backward()
    want = (p - y) / np.maximum(p * (1.0 - p), float(np.float32(1e-12))) * scale
    np.testing.assert_array_equal(grad, want)
    np.testing.assert_array_equal(p, p0)
    np.testing.assert_array_equal(loss.backward(), grad)


@FAST
@given(
    data=st.data(),
    n=st.integers(1, 6),
    c=st.integers(2, 5),
    reduction=st.sampled_from(["mean", "sum"]),
    onehot=st.booleans(),
)
def test_cross_entropy_cached_softmax_matches_the_formula(data, n, c, reduction, onehot):
    z = data.draw(arrays(np.float64, (n, c), elements=values))
    labels = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    target = np.eye(c)[labels] if onehot else labels
    loss = ns.CrossEntropyLoss(reduction=reduction)
    z0 = z.copy()
    value = loss.forward(z, target)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    scale = 1.0 / n if reduction == "mean" else 1.0
    shifted = z - z.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    assert value == pytest.approx(-logp[np.arange(n), labels].sum() * scale, rel=1e-12)
    grad = loss.backward()
    np.testing.assert_allclose(grad, (p - np.eye(c)[labels]) * scale, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(z, z0)
    np.testing.assert_array_equal(loss.backward(), grad)  # the cache is not consumed


def test_cross_entropy_rows_cache_follows_the_batch_size(rng):
    loss = ns.CrossEntropyLoss()
    for n in (4, 2, 7, 2):
        z = rng.standard_normal((n, 3))
        y = rng.integers(0, 3, n)
        loss.forward(z, y)
        grad = loss.backward()
        assert grad.shape == (n, 3)
        np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-15)


# -- a whole training step against hand-written NumPy --------------------------------------------
def _numpy_step(weights, X, t, hidden, binary, lr, mu, bufs):
    """The course notebooks' step, vectorised: fused output delta p - t, hidden (δ Wᵀ)·f'(a)."""
    f = {"tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0)}
    df = {"tanh": lambda a: 1 - a * a, "sigmoid": lambda a: a * (1 - a), "relu": lambda a: 1.0 * (a > 0)}
    f, df = f[hidden], df[hidden]
    hs = [X]
    for W, b in weights[:-1]:
        hs.append(f(hs[-1] @ W.T + b))
    z = hs[-1] @ weights[-1][0].T + weights[-1][1]
    if binary:
        p = 1 / (1 + np.exp(-z))
    else:
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
    delta = (p - t) / len(X)
    grads = []
    for layer in reversed(range(len(weights))):
        W, _ = weights[layer]
        grads.append((delta.T @ hs[layer], delta.sum(axis=0)))
        if layer:
            delta = (delta @ W) * df(hs[layer])
    grads.reverse()
    new = []
    for k, ((W, b), (dW, db)) in enumerate(zip(weights, grads, strict=True)):
        if mu:
            bufs[k] = (dW, db) if bufs[k] is None else (mu * bufs[k][0] + dW, mu * bufs[k][1] + db)
            dW, db = bufs[k]
        new.append((W - lr * dW, b - lr * db))
    return new


@pytest.mark.parametrize(
    "hidden, sizes, momentum",
    [("tanh", [2, 3, 3, 1], 0.0), ("sigmoid", [2, 8, 8, 1], 0.0), ("relu", [6, 9, 7, 4], 0.9)],
)
def test_training_steps_match_hand_written_numpy(hidden, sizes, momentum):
    rng = np.random.default_rng(3)
    binary = sizes[-1] == 1
    act = {"tanh": ns.Tanh, "sigmoid": ns.Sigmoid, "relu": ns.ReLU}[hidden]
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(ns.Linear(a, b, rng=i))
        if i < len(sizes) - 2:
            layers.append(act())
    if binary:
        layers.append(ns.Sigmoid())
    model = ns.Sequential(*layers)
    loss = ns.BCELoss() if binary else ns.CrossEntropyLoss()
    opt = ns.SGD(model.parameters(), lr=0.3, momentum=momentum)
    linears = [m for m in model.layers if isinstance(m, ns.Linear)]
    weights = [(m.weight.data.copy(), m.bias.data.copy()) for m in linears]
    bufs = [None] * len(weights)
    for step in range(4):
        X = rng.standard_normal((10, sizes[0]))
        labels = rng.integers(0, 2 if binary else sizes[-1], 10)
        t = labels.reshape(-1, 1).astype(float) if binary else np.eye(sizes[-1])[labels]
        pred = model.forward(X)
        loss.forward(pred, t if binary else labels)
        opt.zero_grad()
        model.backward(loss.backward(), input_grad=False)
        opt.step()
        weights = _numpy_step(weights, X, t, hidden, binary, 0.3, momentum, bufs)
        for m, (W, b) in zip(linears, weights, strict=True):
            np.testing.assert_allclose(m.weight.data, W, rtol=1e-12, atol=1e-13, err_msg=f"step {step}")
            np.testing.assert_allclose(m.bias.data, b, rtol=1e-12, atol=1e-13, err_msg=f"step {step}")


# -- zero_grad and accumulation ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_grad_reads_as_zeros_and_accumulates_like_plus_equals(dtype, rng):
    """zero_grad fills the gradient with zeros; a backward pass after it gives 0 + value, and
    accumulating twice (two backward passes, or a weight used twice) sums."""
    layer = ns.Linear(4, 3, dtype=dtype, rng=0)
    x, g = rng.standard_normal((5, 4)).astype(dtype), rng.standard_normal((5, 3)).astype(dtype)
    layer.weight.grad[...] = 7.0  # stale values that zero_grad must hide
    layer.zero_grad()
    assert np.all(layer.weight.grad == 0) and np.all(layer.bias.grad == 0)
    layer.zero_grad()
    layer.forward(x)
    layer.backward(g, input_grad=False)  # added to the zeros
    np.testing.assert_allclose(layer.weight.grad, g.T @ x, rtol=1e-6)
    np.testing.assert_allclose(layer.bias.grad, g.sum(axis=0), rtol=1e-6)
    layer.forward(x)
    layer.backward(g, input_grad=False)  # added to what is there
    np.testing.assert_allclose(layer.weight.grad, 2 * (g.T @ x), rtol=1e-6)


def test_accumulate_product_with_another_dtype_or_a_replaced_buffer():
    p = ns.Parameter(np.zeros((2, 3), dtype=np.float32))
    a, b = np.ones((2, 4)), np.ones((4, 3))  # float64 operands: added, cast to float32
    p.zero_grad()
    p.accumulate_product(a, b)
    assert p.grad.dtype == np.float32 and np.all(p.grad == 4)
    p.grad = np.asfortranarray(np.ones((2, 3), dtype=np.float32))  # not C-contiguous
    p.zero_grad()
    p.accumulate_product(a.astype(np.float32), b.astype(np.float32))
    assert np.all(p.grad == 4)
    p.zero_grad()
    p.accumulate(np.full((2, 3), 2.0, dtype=np.float32))
    p.accumulate(np.full((2, 3), 3.0, dtype=np.float32))
    assert np.all(p.grad == 5)


def test_conv_kernel_gradient_written_into_a_zeroed_4d_buffer_equals_the_accumulated_one():
    rng = np.random.default_rng(1)
    conv = ns.Conv2d(2, 3, 3, dtype=np.float64, rng=0)
    x = rng.standard_normal((2, 2, 6, 6))
    g = rng.standard_normal((2, 3, 4, 4))
    conv.zero_grad()
    conv.forward(x)
    conv.backward(g, input_grad=False)
    direct = conv.weight.grad.copy()
    conv.weight.grad = np.zeros_like(direct)  # a real zero buffer: the += path
    conv.forward(x)
    conv.backward(g, input_grad=False)
    np.testing.assert_allclose(conv.weight.grad, direct, rtol=1e-12)
    conv.weight.grad = np.asfortranarray(np.ones_like(direct))  # no matrix view of it exists
    conv.zero_grad()
    conv.forward(x)
    conv.backward(g, input_grad=False)
    np.testing.assert_allclose(conv.weight.grad, direct, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_update_of_a_large_parameter_in_slices_equals_the_one_pass_formula(dtype):
    """Parameters larger than UPDATE_CHUNK are updated slice by slice (a bounded temporary);
    every element must equal θ - lr·g computed in one pass."""
    from nnscratch.engine.optim.optimizers import UPDATE_CHUNK

    rng = np.random.default_rng(2)
    shape = (3, UPDATE_CHUNK // 2 + 7)  # 1.5 slices and a ragged end
    theta0 = rng.standard_normal(shape).astype(dtype)
    grads = [rng.standard_normal(shape).astype(dtype) for _ in range(3)]
    p = ns.Parameter(theta0.copy())
    opt = ns.SGD([p], lr=0.1, momentum=0.9)
    expected, buf = theta0.copy(), None
    for g in grads:
        p.grad[...] = g
        opt.step()
        buf = g.copy() if buf is None else buf * dtype(0.9) + g
        expected -= 0.1 * buf
        np.testing.assert_array_equal(p.data, expected)
    assert opt._scratch and all(t.size == UPDATE_CHUNK for t in opt._scratch.values())


# -- buffers handed out ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: ns.Conv2d(2, 3, 3, dtype=np.float64, rng=0),
        lambda: ns.Conv2d(2, 3, 3, stride=2, padding=1, dtype=np.float64, rng=0),
        lambda: ns.MaxPool2d(2),
        lambda: ns.MaxPool2d(3, stride=2, padding=1),
    ],
)
def test_outputs_and_input_gradients_are_not_changed_by_later_calls(make):
    """Outputs and input gradients handed out earlier must not change when the layer runs again
    (no internal buffer may be returned), and each backward must match a fresh layer's."""
    rng = np.random.default_rng(3)
    layer = make()
    x1, x2 = rng.standard_normal((2, 2, 7, 7)), rng.standard_normal((2, 2, 7, 7))
    y1 = layer.forward(x1)
    y1_copy = y1.copy()
    g1 = rng.standard_normal(y1.shape)
    dx1 = layer.backward(g1)
    dx1_copy = dx1.copy()
    y2 = layer.forward(x2)
    dx2 = layer.backward(rng.standard_normal(y2.shape))
    np.testing.assert_array_equal(y1, y1_copy)
    np.testing.assert_array_equal(dx1, dx1_copy)
    assert not np.shares_memory(dx1, dx2)
    fresh = make()
    if isinstance(layer, ns.Conv2d):
        fresh.load_state_dict(layer.state_dict())
    np.testing.assert_array_equal(fresh.forward(x1), y1_copy)
    np.testing.assert_allclose(fresh.backward(g1), dx1_copy, rtol=1e-13)
