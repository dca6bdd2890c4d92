"""RNN, LSTM, GRU: batched fast paths vs the per-sample loop reference, gradchecks (inputs,
parameters, initial states), PyTorch parity (multi-layer, truncated BPTT), Sequential use, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as ns
from nnscratch.base.errors import HyperparameterError, ShapeError, StateError
from nnscratch.engine.layers import _reference as ref
from nnscratch.engine.module import Module
from nnscratch.engine.parameter import Parameter

KINDS = {
    "tanh": (ns.RNN, {}),
    "relu": (ns.RNN, {"nonlinearity": "relu"}),
    "lstm": (ns.LSTM, {}),
    "gru": (ns.GRU, {}),
}


def _build(kind, i, h, layers=1, **kw):
    cls, extra = KINDS[kind]
    return cls(i, h, num_layers=layers, **extra, **kw)


def _params(layer):
    out = []
    for k in range(layer.num_layers):
        w_ih, w_hh, b_ih, b_hh = layer._params(k)
        zeros = np.zeros(w_ih.shape[0])
        out.append((w_ih, w_hh, zeros if b_ih is None else b_ih, zeros if b_hh is None else b_hh))
    return out


class WithState(Module):
    """Test harness: the initial state as trainable parameters, the final state as extra outputs,
    so that gradcheck also checks dL/dh0 (and dL/dc0) and the grad_state path."""

    def __init__(self, rnn, h0, c0=None):
        super().__init__()
        self.rnn = rnn
        self.h0 = Parameter(h0)
        self.c0 = None if c0 is None else Parameter(c0)

    def forward(self, x):
        state = self.h0.data if self.c0 is None else (self.h0.data, self.c0.data)
        out, final = self.rnn.forward_with_state(x, state)
        finals = [final] if self.c0 is None else list(final)
        self._cache = (out.shape, [f.shape for f in finals])
        return np.concatenate([out.ravel()] + [f.ravel() for f in finals])

    def backward(self, grad_out, *, input_grad=True):
        out_shape, state_shapes = self._cache
        sizes = np.cumsum([int(np.prod(out_shape))] + [int(np.prod(s)) for s in state_shapes])
        parts = np.split(grad_out, sizes[:-1])
        g_state = [p.reshape(s) for p, s in zip(parts[1:], state_shapes, strict=True)]
        dx = self.rnn.backward(
            parts[0].reshape(out_shape), input_grad=input_grad,
            grad_state=g_state[0] if self.c0 is None else tuple(g_state),
        )  # fmt: skip
        grads = [self.rnn.initial_state_grad] if self.c0 is None else list(self.rnn.initial_state_grad)
        self.h0.grad += grads[0]
        if self.c0 is not None:
            self.c0.grad += grads[1]
        return dx


@st.composite
def rnn_configs(draw, max_t=5):
    return dict(
        kind=draw(st.sampled_from(sorted(KINDS))),
        n=draw(st.integers(1, 3)),
        t=draw(st.integers(1, max_t)),
        i=draw(st.integers(1, 3)),
        h=draw(st.integers(1, 4)),
        layers=draw(st.integers(1, 2)),
        bias=draw(st.booleans()),
        bptt=draw(st.one_of(st.none(), st.integers(1, 3))),
        seed=draw(st.integers(0, 2**16)),
    )


@settings(max_examples=40, deadline=None)
@given(cfg=rnn_configs())
def test_recurrent_fast_path_matches_loop_reference(cfg):
    rng = np.random.default_rng(cfg["seed"])
    layer = _build(
        cfg["kind"],
        cfg["i"],
        cfg["h"],
        cfg["layers"],
        bias=cfg["bias"],
        bptt_steps=cfg["bptt"],
        rng=cfg["seed"],
    )
    L, N, T, H = cfg["layers"], cfg["n"], cfg["t"], cfg["h"]
    x = rng.standard_normal((N, T, cfg["i"]))
    h0, c0 = rng.standard_normal((L, N, H)), rng.standard_normal((L, N, H))
    g, gh, gc = rng.standard_normal((N, T, H)), rng.standard_normal((L, N, H)), rng.standard_normal((L, N, H))
    lstm = cfg["kind"] == "lstm"
    if not lstm:
        c0, gc = np.zeros_like(c0), np.zeros_like(gc)
    out, final = layer.forward_with_state(x, (h0, c0) if lstm else h0)
    dx = layer.backward(g, grad_state=(gh, gc) if lstm else gh)
    r_out, r_h, r_c, r_dx, r_grads, r_dh0, r_dc0 = ref.recurrent(
        cfg["kind"], _params(layer), x, h0, c0, g, gh, gc, bptt=cfg["bptt"]
    )
    close = dict(atol=1e-10, rtol=0)
    np.testing.assert_allclose(out, r_out, **close)
    np.testing.assert_allclose(final[0] if lstm else final, r_h, **close)
    np.testing.assert_allclose(dx, r_dx, **close)
    np.testing.assert_allclose(
        layer.initial_state_grad[0] if lstm else layer.initial_state_grad, r_dh0, **close
    )
    if lstm:
        np.testing.assert_allclose(final[1], r_c, **close)
        np.testing.assert_allclose(layer.initial_state_grad[1], r_dc0, **close)
    for k in range(L):
        names = [f"weight_ih_l{k}", f"weight_hh_l{k}", f"bias_ih_l{k}", f"bias_hh_l{k}"]
        for name, expected in zip(names[: 4 if cfg["bias"] else 2], r_grads[k], strict=False):
            np.testing.assert_allclose(getattr(layer, name).grad, expected, err_msg=name, **close)


@settings(max_examples=20, deadline=None)
@given(cfg=rnn_configs(max_t=4))
def test_recurrent_gradcheck_inputs_parameters_and_states(cfg):
    rng = np.random.default_rng(cfg["seed"])
    layer = _build(
        cfg["kind"],
        cfg["i"],
        cfg["h"],
        cfg["layers"],
        bias=cfg["bias"],
        bptt_steps=cfg["bptt"],
        rng=cfg["seed"],
    )
    shape = (cfg["layers"], cfg["n"], cfg["h"])
    c0 = rng.standard_normal(shape) if cfg["kind"] == "lstm" else None
    model = WithState(layer, rng.standard_normal(shape), c0)
    x = rng.standard_normal((cfg["n"], cfg["t"], cfg["i"]))
    report = ns.gradcheck(model, x, seed=cfg["seed"])
    if cfg["bptt"] is None:  # truncated BPTT is deliberately not the true gradient
        assert report.passed, str(report)
    assert any(c.name == "h0" for c in report.checks)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_recurrent_plain_gradcheck_as_in_a_sequential(kind):
    model = ns.Sequential(_build(kind, 3, 5, 2, rng=0), ns.LastTimeStep(), ns.Linear(5, 2, rng=1))
    x = np.random.default_rng(0).standard_normal((2, 4, 3))
    report = ns.gradcheck(model, x)
    assert report.passed, str(report)


@pytest.mark.torch
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("batch_first", [True, False])
def test_recurrent_matches_pytorch(kind, layers, batch_first):
    torch = pytest.importorskip("torch")
    cls, extra = KINDS[kind]
    tcls = {ns.RNN: torch.nn.RNN, ns.LSTM: torch.nn.LSTM, ns.GRU: torch.nn.GRU}[cls]
    layer = cls(4, 6, num_layers=layers, batch_first=batch_first, rng=0, **extra)
    t = tcls(4, 6, num_layers=layers, batch_first=batch_first, **extra).double()
    assert [n for n, _ in t.named_parameters()] == [n for n, _ in layer.named_parameters()]
    t.load_state_dict({k: torch.tensor(v) for k, v in layer.state_dict().items()})
    rng = np.random.default_rng(1)
    N, T = 3, 7
    x = rng.standard_normal((N, T, 4) if batch_first else (T, N, 4))
    states = [rng.standard_normal((layers, N, 6)) for _ in range(2 if kind == "lstm" else 1)]
    gstates = [rng.standard_normal((layers, N, 6)) for _ in states]
    st0 = tuple(states) if kind == "lstm" else states[0]
    out, final = layer.forward_with_state(x, st0)
    g = rng.standard_normal(out.shape)
    dx = layer.backward(g, grad_state=tuple(gstates) if kind == "lstm" else gstates[0])
    xt = torch.tensor(x, requires_grad=True)
    st_t = [torch.tensor(s, requires_grad=True) for s in states]
    out_t, final_t = t(xt, tuple(st_t) if kind == "lstm" else st_t[0])
    finals_t = list(final_t) if kind == "lstm" else [final_t]
    loss = (out_t * torch.tensor(g)).sum() + sum(
        (f * torch.tensor(gs)).sum() for f, gs in zip(finals_t, gstates, strict=True)
    )
    loss.backward()
    finals = list(final) if kind == "lstm" else [final]
    init_grads = list(layer.initial_state_grad) if kind == "lstm" else [layer.initial_state_grad]
    np.testing.assert_allclose(out, out_t.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-12)
    for ours, theirs in zip(finals, finals_t, strict=True):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), atol=1e-12)
    for ours, theirs in zip(init_grads, st_t, strict=True):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), atol=1e-12)
    for name, p in t.named_parameters():
        np.testing.assert_allclose(getattr(layer, name).grad, p.grad.numpy(), atol=1e-12, err_msg=name)


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["tanh", "lstm", "gru"])
def test_truncated_bptt_equals_pytorch_chunks_with_detached_state(kind, rng):
    torch = pytest.importorskip("torch")
    cls, extra = KINDS[kind]
    tcls = {ns.RNN: torch.nn.RNN, ns.LSTM: torch.nn.LSTM, ns.GRU: torch.nn.GRU}[cls]
    layer = cls(3, 4, num_layers=2, bptt_steps=3, rng=0, **extra)
    t = tcls(3, 4, num_layers=2, batch_first=True, **extra).double()
    t.load_state_dict({k: torch.tensor(v) for k, v in layer.state_dict().items()})
    x = rng.standard_normal((2, 8, 3))
    out = layer(x)
    g = rng.standard_normal(out.shape)
    dx = layer.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    state, outs = None, []
    for start in range(0, 8, 3):
        o, state = t(xt[:, start : start + 3], state)
        state = tuple(s.detach() for s in state) if kind == "lstm" else state.detach()
        outs.append(o)
    (torch.cat(outs, dim=1) * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-12)
    for name, p in t.named_parameters():
        np.testing.assert_allclose(getattr(layer, name).grad, p.grad.numpy(), atol=1e-12, err_msg=name)


def test_last_state_attribute_and_shapes():
    lstm = ns.LSTM(3, 5, num_layers=2, rng=0)
    out = lstm(np.zeros((4, 6, 3)))
    assert out.shape == (4, 6, 5)
    h_n, c_n = lstm.last_state
    assert h_n.shape == c_n.shape == (2, 4, 5)
    np.testing.assert_array_equal(h_n[-1], out[:, -1])
    gru = ns.GRU(3, 5, rng=0)
    gru(np.zeros((4, 6, 3)))
    assert gru.last_state.shape == (1, 4, 5)
    assert list(dict(lstm.named_parameters())) == [
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
        "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
    ]  # fmt: skip
    assert lstm.weight_ih_l0.shape == (20, 3) and lstm.weight_hh_l1.shape == (20, 5)
    bound = 1 / np.sqrt(5)
    assert all(np.abs(p.data).max() <= bound for p in lstm.parameters())


def test_recurrent_float32_and_input_grad_false():
    for kind in KINDS:
        layer = _build(kind, 3, 4, 2, dtype=np.float32, rng=0)
        out = layer(np.ones((2, 5, 3)))
        assert out.dtype == np.float32
        assert layer.backward(np.ones_like(out), input_grad=False) is None
        assert all(p.grad.dtype == np.float32 and np.abs(p.grad).sum() > 0 for p in layer.parameters())


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("bias", [True, False])
def test_float32_agrees_with_float64(kind, bias):
    """The float32 loops take their own formulas (the LSTM's gates through one tanh, σ(a) =
    ½ + ½·tanh(a/2)); outputs, states and every gradient agree with float64 to float32 rounding."""
    rng = np.random.default_rng(11)
    layer64 = _build(kind, 3, 5, layers=2, bias=bias, rng=2)
    layer32 = layer64.copy().astype(np.float32)
    x = 2 * rng.standard_normal((4, 7, 3))
    g = rng.standard_normal((4, 7, 5))
    out64, out32 = layer64(x), layer32(x.astype(np.float32))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, rtol=0, atol=2e-6)
    states64 = layer64.last_state if kind == "lstm" else (layer64.last_state,)
    states32 = layer32.last_state if kind == "lstm" else (layer32.last_state,)
    for s32, s64 in zip(states32, states64, strict=True):  # h_n (and c_n)
        np.testing.assert_allclose(s32, s64, rtol=0, atol=2e-6)
    dx64, dx32 = layer64.backward(g), layer32.backward(g.astype(np.float32))
    np.testing.assert_allclose(dx32, dx64, rtol=0, atol=2e-5)
    for (name, p64), p32 in zip(layer64.named_parameters(), layer32.parameters(), strict=True):
        assert p32.grad.dtype == np.float32, name
        np.testing.assert_allclose(p32.grad, p64.grad, rtol=0, atol=1e-4 * max(1.0, np.abs(p64.grad).max()))


def test_recurrent_bad_inputs():
    layer = ns.LSTM(3, 4)
    with pytest.raises(ShapeError, match="input_size=3"):
        layer(np.zeros((2, 5, 2)))
    with pytest.raises(ShapeError, match="3-D"):
        layer(np.zeros((2, 3)))
    with pytest.raises(ShapeError, match="tuple"):
        layer.forward_with_state(np.zeros((2, 5, 3)), np.zeros((1, 2, 4)))
    with pytest.raises(ShapeError, match=r"\(num_layers, N, hidden_size\)"):
        ns.GRU(3, 4).forward_with_state(np.zeros((2, 5, 3)), np.zeros((2, 4)))
    with pytest.raises(StateError):
        ns.RNN(3, 4).backward(np.zeros((2, 5, 4)))
    layer(np.zeros((2, 5, 3)))
    with pytest.raises(ShapeError, match="grad_out"):
        layer.backward(np.zeros((2, 4, 4)))
    with pytest.raises(HyperparameterError, match="nonlinearity"):
        ns.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(HyperparameterError, match="hidden_size"):
        ns.GRU(3, 0)
    with pytest.raises(HyperparameterError, match="bptt_steps"):
        ns.RNN(3, 4, bptt_steps=0)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("bptt", [None, 2])
def test_sparse_output_gradient_matches_reference(kind, bptt):
    """Steps with no output gradient (all but the last, as behind LastTimeStep) take a shortcut."""
    rng = np.random.default_rng(5)
    layer = _build(kind, 3, 4, 2, bptt_steps=bptt, rng=5)
    x = rng.standard_normal((2, 6, 3))
    out = layer(x)
    g = np.zeros_like(out)
    g[:, -1] = rng.standard_normal((2, 4))
    g[:, 2] = rng.standard_normal((2, 4))
    dx = layer.backward(g)
    zeros = np.zeros((2, 2, 4))
    params = _params(layer)
    _, _, _, r_dx, r_grads, _, _ = ref.recurrent(kind, params, x, zeros, zeros, g, zeros, zeros, bptt=bptt)
    np.testing.assert_allclose(dx, r_dx, atol=1e-10, rtol=0)
    np.testing.assert_allclose(layer.weight_hh_l0.grad, r_grads[0][1], atol=1e-10, rtol=0)
    np.testing.assert_allclose(layer.weight_ih_l1.grad, r_grads[1][0], atol=1e-10, rtol=0)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturating_inputs_stay_finite_without_warnings(kind, dtype):
    """Huge pre-activations saturate the gates (e^{-a} overflows to inf internally) silently."""
    layer = _build(kind, 2, 3, dtype=dtype, rng=0)
    x = np.array([[[1e6, -1e6], [-1e6, 1e6], [3e4, 0.0]]], dtype=dtype)
    out = layer(x)  # warnings are errors in this test suite
    assert np.isfinite(out).all() and np.abs(out).max() <= 1e6
    dx = layer.backward(np.ones_like(out))
    assert np.isfinite(dx).all()
    if kind != "relu":
        assert np.abs(out).max() <= 1.0


@pytest.mark.parametrize("kind", list(KINDS))
def test_reused_buffers_keep_outputs_and_use_the_latest_forward(kind):
    """Internal buffers are reused across calls of one shape: an earlier output must not change,
    and backward must use the latest forward (same gradients as a fresh layer on that input)."""
    rng = np.random.default_rng(3)
    x1, x2 = rng.standard_normal((2, 3, 5, 4))
    g = rng.standard_normal((3, 5, 6))
    layer = _build(kind, 4, 6, layers=2, rng=0)
    fresh = layer.copy()
    out1 = layer(x1)
    kept = out1.copy()
    out2 = layer(x2)
    np.testing.assert_array_equal(out1, kept)
    layer.zero_grad()
    dx = layer.backward(g)
    np.testing.assert_allclose(out2, fresh(x2), rtol=1e-13, atol=1e-13)
    fresh.zero_grad()
    np.testing.assert_allclose(dx, fresh.backward(g), rtol=1e-12, atol=1e-12)
    for (name, p), (_, q) in zip(layer.named_parameters(), fresh.named_parameters(), strict=True):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-12, atol=1e-12, err_msg=name)
    # a second backward/forward round on the same shapes still agrees (buffers reused, not stale)
    layer(x1)
    fresh(x1)
    layer.zero_grad()
    fresh.zero_grad()
    np.testing.assert_allclose(layer.backward(g), fresh.backward(g), rtol=1e-12, atol=1e-12)
