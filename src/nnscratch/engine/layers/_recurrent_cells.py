"""Time loops of one recurrent layer: forward over a sequence and back-propagation through time.

Everything is time-major: ``xw`` (T, N, G·H) holds the input projections x_t W_ihᵀ + b for all
steps (one GEMM, :func:`project`), ``h0``/``c0`` are (N, H). The per-step work is one GEMM
(h_{t-1} W_hhᵀ, all gates at once) plus a few element-wise ufuncs writing into preallocated
buffers. The LSTM instead multiplies the rows [h_{t-1}, x_t, 1] by the stacked weights, so one
GEMM per step does recurrence, input projection and bias together. Backward returns the gradients
with respect to the gate pre-activations; the caller turns them into weight gradients with one
GEMM per weight matrix over all T·N rows (the LSTM: one GEMM for all three, over its rows, see
:func:`lstm_weight_grads`). ``xw`` is a scratch buffer: the GRU loop scales part of it in place.
Internal buffers live in a per-layer workspace (:mod:`._workspace`) and are reused by the next
call of the same shape.

Truncation: with ``bptt`` = k, the recurrent gradient is cut at the state entering steps
t = k, 2k, ... (0-based), exactly what running the sequence in chunks of k steps with the state
detached between chunks does in PyTorch. ``bptt=None`` is full back-propagation through time.
"""

from __future__ import annotations

import numpy as np

from ._workspace import Workspace, scratch


def project(x2: np.ndarray, w: np.ndarray, b: np.ndarray | None, gates: int, ws: Workspace) -> np.ndarray:
    """Input projections x2 wᵀ + b of all T·N rows, gate-major: (gates, T·N, H) for w (gates·H, F).

    One (batched) GEMM does it all: the bias rides along as an extra input column of ones, so no
    separate pass over the (T·N, gates·H) result adds it, and each gate's block comes out contiguous.
    """
    M, F = x2.shape
    Hd = w.shape[0] // gates
    dtype = np.result_type(x2.dtype, w.dtype)
    wg = w.reshape(gates, Hd, F).transpose(0, 2, 1)  # (gates, F, H)
    out = scratch(ws, "xw", (gates, M, Hd), dtype)
    if b is None:
        return np.matmul(x2, wg, out=out)
    xa = scratch(ws, "x_aug", (M, F + 1), dtype)
    xa[:, :F] = x2
    xa[:, F] = 1
    wa = np.empty((gates, F + 1, Hd), dtype=dtype)
    wa[:, :F] = wg
    wa[:, F] = b.reshape(gates, Hd)
    return np.matmul(xa, wa, out=out)


def tanh_into(a: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = tanh(a) (``out`` may be ``a``). float64 uses tanh(a) = 2 / (1 + e^{-2a}) - 1: NumPy
    vectorises float64 exp on more CPUs than float64 tanh, which without AVX-512 calls libm element
    by element; float32 keeps ``np.tanh``, vectorised everywhere. e^{-2a} overflows to inf for
    a ≪ 0, giving exactly -1: callers run under ``np.errstate(over="ignore")``."""
    if a.dtype == np.float32:
        return np.tanh(a, out=out)
    one, two = a.dtype.type(1), a.dtype.type(2)
    np.multiply(a, -two, out=out)
    np.exp(out, out=out)
    out += one
    np.divide(two, out, out=out)
    out -= one
    return out


def _active_steps(dY: np.ndarray) -> np.ndarray:
    """Which steps receive an output gradient (e.g. only the last one behind ``LastTimeStep``):
    the others skip adding a block of zeros. A bitwise OR of the raw bits over the batch does it
    without a float compare per element (what ``np.any`` would do); -0.0 and NaN count as active,
    which is harmless."""
    bits = dY.view(np.dtype(f"u{dY.itemsize}"))
    return np.bitwise_or.reduce(bits, axis=1).any(axis=1)


def _cut(t: int, bptt: int | None) -> bool:
    """Whether no gradient flows from step t back into the state it started from."""
    return bptt is not None and t > 0 and t % bptt == 0


# --------------------------------------------------------------------------------------- RNN
def rnn_forward(xw: np.ndarray, w_hh: np.ndarray, h0: np.ndarray, relu: bool) -> np.ndarray:
    r"""Elman RNN:  h_t = φ(a_t),  a_t = xw_t + h_{t-1} W_hhᵀ   (φ = tanh or ReLU).

    Returns Hs of shape (T+1, N, H) with Hs[0] = h0 and Hs[t+1] = h_t.
    """
    T, N, Hd = xw.shape
    Hs = np.empty((T + 1, N, Hd), dtype=xw.dtype)
    Hs[0] = h0
    w_hhT = np.ascontiguousarray(w_hh.T)  # np.dot on contiguous operands: least per-call overhead
    zero = xw.dtype.type(0)
    # Per-step views made once: the loop is short enough for indexing to show in its time.
    hs, xs = list(Hs), list(xw)
    f32_tanh = not relu and xw.dtype == np.float32  # tanh_into would call np.tanh anyway
    with np.errstate(over="ignore"):
        for t in range(T):
            h = hs[t + 1]
            np.dot(hs[t], w_hhT, out=h)
            h += xs[t]
            if relu:
                np.maximum(h, zero, out=h)
            elif f32_tanh:
                np.tanh(h, out=h)
            else:
                tanh_into(h, h)
    return Hs


def rnn_backward(
    dY: np.ndarray,
    dhT: np.ndarray | None,
    Hs: np.ndarray,
    w_hh: np.ndarray,
    relu: bool,
    bptt: int | None,
    ws: Workspace = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""BPTT for :func:`rnn_forward`.

    With dh_t = dY_t + dA_{t+1} W_hh (the gradient reaching h_t from the output and from step t+1;
    dh_T adds the gradient of the final state):
        dA_t = dh_t ⊙ φ'(a_t),   φ'(a) = 1 - h_t² for tanh, 1[h_t > 0] for ReLU (relu'(0) = 0)
    Returns dA (T, N, H) = dL/da_t and dh0 = dA_0 W_hh.
    """
    T, N, Hd = dY.shape
    H1 = Hs[1:]
    if relu:
        D = np.greater(H1, 0, out=scratch(ws, "D_relu", H1.shape, np.dtype(bool)))
    else:  # φ'(a_t) = 1 - h_t² for all steps at once
        D = np.multiply(H1, H1, out=scratch(ws, "D", H1.shape, Hs.dtype))
        np.subtract(Hs.dtype.type(1), D, out=D)
    active = _active_steps(dY).tolist()
    dA = scratch(ws, "dA", dY.shape, Hs.dtype)
    carry = np.zeros((N, Hd), dtype=Hs.dtype) if dhT is None else dhT.astype(Hs.dtype)
    das, Ds = list(dA), list(D)
    for t in range(T - 1, -1, -1):
        da = das[t]
        if active[t]:
            np.add(dY[t], carry, out=da)  # dh_t = dY_t + dA_{t+1} W_hh
            da *= Ds[t]  # dA_t = dh_t ⊙ φ'(a_t)
        else:  # no output gradient at step t: dh_t = dA_{t+1} W_hh
            np.multiply(carry, Ds[t], out=da)
        if bptt is not None and _cut(t, bptt):
            carry.fill(0)
        else:
            np.dot(da, w_hh, out=carry)  # dA_t W_hh, the part of dh_{t-1} from step t
    return dA, carry


# -------------------------------------------------------------------------------------- LSTM
# The time loop keeps the gates in the order [i, f, o, g] (PyTorch's is i, f, g, o): the three
# sigmoid gates then form one contiguous block. Weights are permuted once per call; the gradients
# dA come out in PyTorch's order.
_LOOP_ORDER = [0, 1, 3, 2]


def _lstm_gate_scales(dtype: np.dtype) -> tuple[bool, np.ndarray]:
    """Whether the loop takes the gates through tanh (float32) or exp (float64), and the factor
    each gate's pre-activation is scaled by, folded into the weights (loop order i, f, o, g).

    float32:  σ(a) = ½ + ½·tanh(a/2), so one tanh over all four gates with a_i, a_f, a_o halved
              (NumPy's float32 tanh is the cheaper of its two vectorised functions). A
              gate far below 0.5 is then exact to float32 rounding of ½ (≈ 3e-8) rather than
              relatively; gates only scale states, so the states keep float32 accuracy (tested
              against float64);
    float64:  σ(a) = 1 / (1 + e^{-a}) and tanh(a) = 2σ(2a) - 1, so one exp over all four gates of
              -a_i, -a_f, -a_o, -2a_g (NumPy vectorises float64 exp on more CPUs than tanh).
    """
    use_tanh = dtype == np.float32
    scale = np.array([0.5, 0.5, 0.5, 1.0] if use_tanh else [-1.0, -1.0, -1.0, -2.0], dtype=dtype)
    return use_tanh, scale.reshape(4, 1, 1)


def lstm_forward(
    x2: np.ndarray,
    w_ih: np.ndarray,
    b: np.ndarray | None,
    w_hh: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray,
    ws: Workspace = None,
) -> tuple[np.ndarray, ...]:
    r"""LSTM with PyTorch's gate order (i, f, g, o), on the time-major input x2 (T·N, F) and the
    summed bias b = b_ih + b_hh (or None):

        [a_i, a_f, a_g, a_o] = x_t W_ihᵀ + b + h_{t-1} W_hhᵀ
        i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o)
        c_t = f ⊙ c_{t-1} + i ⊙ g,    h_t = o ⊙ tanh(c_t)

    All four gates of a step go through one transcendental ufunc (:func:`_lstm_gate_scales`).
    Returns the cache (Hs, Cs, Gs, TCs, IG, FC, XH): Hs, Cs (T+1, N, H) with index 0 the initial
    state; Gs (T, 4, N, H) the gate activations in loop order [i, f, o, g], gate-major so that each
    gate of a step is one contiguous block (element-wise ufuncs on strided column slices of an
    (N, 4H) array cannot use NumPy's contiguous loops); TCs = tanh(c_t), IG = i ⊙ g and
    FC = f ⊙ c_{t-1}, each (T, N, H): the two terms of c_t, kept because backward's factors are
    cheaper from them; XH (T+1, N, K) the per-step GEMM rows [h_{t-1}, x_t, 1] (K = H + F + 1, no
    1 without bias).
    """
    N, Hd = h0.shape
    T = x2.shape[0] // N
    dtype = np.result_type(x2.dtype, w_ih.dtype)
    use_tanh, scale = _lstm_gate_scales(dtype)
    F = x2.shape[1]
    K = Hd + F + (b is not None)
    # Row t of XH is [h_{t-1}, x_t, 1]: one GEMM per step then does h_{t-1} W_hhᵀ + x_t W_ihᵀ + b
    # (no separate projection, no add per step), and backward gets all three weight gradients
    # from one GEMM over XH (see lstm_weight_grads). h_t is copied into row t+1.
    XH = scratch(ws, "XH", (T + 1, N, K), dtype)
    XH[:T, :, Hd : Hd + F] = x2.reshape(T, N, F)
    if b is not None:
        XH[:T, :, K - 1] = 1
    # The stacked weights (K, 4H) as four gate blocks (4, K, H), permuted to loop order and scaled.
    W4 = np.empty((4, K, Hd), dtype=dtype)
    W4[:, :Hd] = (w_hh.reshape(4, Hd, Hd)[_LOOP_ORDER] * scale).transpose(0, 2, 1)
    W4[:, Hd : Hd + F] = (w_ih.reshape(4, Hd, F)[_LOOP_ORDER] * scale).transpose(0, 2, 1)
    if b is not None:
        W4[:, K - 1] = b.reshape(4, Hd)[_LOOP_ORDER] * scale[:, 0]
    one, two, half = dtype.type(1), dtype.type(2), dtype.type(0.5)
    Hs = np.empty((T + 1, N, Hd), dtype=dtype)
    Cs = scratch(ws, "Cs", (T + 1, N, Hd), dtype)
    Gs = scratch(ws, "Gs", (T, 4, N, Hd), dtype)
    TCs = scratch(ws, "TCs", (T, N, Hd), dtype)
    IG = scratch(ws, "IG", (T, N, Hd), dtype)
    FC = scratch(ws, "FC", (T, N, Hd), dtype)
    Hs[0], Cs[0], XH[0, :, :Hd] = h0, c0, h0
    tanh = np.tanh if use_tanh else tanh_into
    # Per-step views made once: a step is short enough for indexing and unpacking to show.
    hs, cs, tcs, igs, fcs = list(Hs), list(Cs), list(TCs), list(IG), list(FC)
    gs, rows, h_in_rows = list(Gs), list(XH), list(XH[:, :, :Hd])
    views = [tuple(gates) for gates in gs]  # (i, f, o, g) of each step
    sigmoids = [gates[:3] for gates in gs]
    with np.errstate(over="ignore"):  # float64: e^{-a} = inf for a ≪ 0 gives σ(a) = 0 exactly
        for t in range(T):
            gates = gs[t]
            np.matmul(rows[t], W4, out=gates)  # (N, K) @ (4, K, H) -> (4, N, H)
            i, f, o, g = views[t]
            if use_tanh:
                np.tanh(gates, out=gates)
                ifo = sigmoids[t]
                ifo *= half
                ifo += half
            else:
                np.exp(gates, out=gates)
                gates += one
                np.reciprocal(gates, out=gates)
                g *= two
                g -= one
            np.multiply(f, cs[t], out=fcs[t])
            np.multiply(i, g, out=igs[t])
            np.add(fcs[t], igs[t], out=cs[t + 1])
            tanh(cs[t + 1], out=tcs[t])
            np.multiply(o, tcs[t], out=hs[t + 1])
            # h_t also into the next GEMM row; Hs stays contiguous for backward and the caller.
            np.copyto(h_in_rows[t + 1], hs[t + 1])
    return Hs, Cs, Gs, TCs, IG, FC, XH


def lstm_backward(
    dY: np.ndarray,
    dhT: np.ndarray | None,
    dcT: np.ndarray | None,
    cache: tuple[np.ndarray, ...],
    w_hh: np.ndarray,
    bptt: int | None,
    ws: Workspace = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""BPTT for :func:`lstm_forward`.

    With dh_t = dY_t + dA_{t+1} W_hh and dc_t^next the gradient reaching c_t from step t+1:
        dc_t  = dc_t^next + dh_t ⊙ o ⊙ (1 - tanh²(c_t))
        da_i = dc_t ⊙ g ⊙ i(1 - i)           da_f = dc_t ⊙ c_{t-1} ⊙ f(1 - f)
        da_g = dc_t ⊙ i ⊙ (1 - g²)           da_o = dh_t ⊙ tanh(c_t) ⊙ o(1 - o)
        dc_{t-1}^next = dc_t ⊙ f
    The factors multiplying dc_t and dh_t (P and Do below) depend only on the forward pass, so
    they are computed for all steps at once before the loop, two passes each from the cached
    products:  g·i(1-i) = ig(1-i),  c_{t-1}·f(1-f) = fc(1-f),  i(1-g²) = i - ig·g,
    tanh(c)·o(1-o) = h(1-o),  o(1-tanh²c) = o - h·tanh(c).
    Returns dA (T, N, 4H) = dL/d[a_i, a_f, a_g, a_o], dh0 and dc0.
    """
    Hs, _, Gs, TCs, IG, FC, _ = cache
    T, _, N, Hd = Gs.shape  # gate-major (T, 4, N, H), loop order [i, f, o, g]
    i, f, o, g = Gs[:, 0], Gs[:, 1], Gs[:, 2], Gs[:, 3]
    H1 = Hs[1:]
    dt = Gs.dtype
    one = dt.type(1)
    P = scratch(ws, "P", Gs.shape, dt)  # PyTorch order: dA_t = [dc, dc, dc, dh]_t ⊙ P_t
    np.subtract(one, Gs[:, :2], out=P[:, :2])  # 1 - i, 1 - f
    P[:, 0] *= IG  # i g (1 - i)
    P[:, 1] *= FC  # c_{t-1} f (1 - f)
    np.multiply(IG, g, out=P[:, 2])
    np.subtract(i, P[:, 2], out=P[:, 2])  # i - i g² = i (1 - g²)
    np.subtract(one, o, out=P[:, 3])
    P[:, 3] *= H1  # h (1 - o) = tanh(c) o (1 - o)
    # dc_t gets dh_t ⊙ Do_t through h_t = o ⊙ tanh(c_t)
    Do = np.multiply(H1, TCs, out=scratch(ws, "Do", TCs.shape, dt))
    np.subtract(o, Do, out=Do)  # o - h tanh(c) = o (1 - tanh²(c))
    dA = scratch(ws, "dA", (T, N, 4 * Hd), dt)  # (N, 4H) per step: the layout of the GEMMs
    dAg = dA.reshape(T, N, 4, Hd).transpose(0, 2, 1, 3)  # gate-major view of it
    dh_buf = np.empty((N, Hd), dtype=dt)
    carry_h = np.zeros((N, Hd), dtype=dt) if dhT is None else dhT.astype(dt)
    dc = np.zeros((N, Hd), dtype=dt) if dcT is None else dcT.astype(dt)
    tmp = np.empty((N, Hd), dtype=dt)
    active = _active_steps(dY).tolist()
    das, dos, fs = list(dA), list(Do), list(f)
    p3s, p1s = list(P[:, :3]), list(P[:, 3])
    d3s, d1s = list(dAg[:, :3]), list(dAg[:, 3])
    for t in range(T - 1, -1, -1):
        if active[t]:
            dh = np.add(dY[t], carry_h, out=dh_buf)  # dh_t = dY_t + dA_{t+1} W_hh
        else:
            dh = carry_h  # read before the matmul below overwrites carry_h
        np.multiply(dh, dos[t], out=tmp)
        dc += tmp  # dc_t = dc_t^next + dh_t ⊙ o ⊙ (1 - tanh²(c_t))
        np.multiply(dc, p3s[t], out=d3s[t])  # [da_i, da_f, da_g] = dc_t ⊙ P_t
        np.multiply(dh, p1s[t], out=d1s[t])  # da_o = dh_t ⊙ tanh(c_t) ⊙ o(1 - o)
        if bptt is not None and _cut(t, bptt):
            carry_h.fill(0)
            dc.fill(0)
        else:
            np.dot(das[t], w_hh, out=carry_h)  # dA_t W_hh, the part of dh_{t-1} from step t
            dc *= fs[t]  # dc_{t-1}^next = dc_t ⊙ f
    return dA, carry_h, dc


def lstm_weight_grads(dA2: np.ndarray, XH: np.ndarray, n_inputs: int) -> tuple[np.ndarray, ...]:
    r"""dW_hh, dW_ih and db from one GEMM over the forward's rows [h_{t-1}, x_t, 1]:

        [dW_hh | dW_ih | db] = Σ_t dA_tᵀ [h_{t-1}, x_t, 1] = dA2ᵀ XH

    with dA2 (T·N, 4H) in PyTorch's gate order. Returns views (dW_hh, dW_ih, db), db None without
    bias. One (4H, K) product instead of three: dW_ih alone would be only F columns wide, a narrow
    shape on which BLAS runs well below its speed.
    """
    T, K = XH.shape[0] - 1, XH.shape[2]
    Hd = dA2.shape[1] // 4
    dW = np.dot(dA2.T, XH[:T].reshape(-1, K))
    db = dW[:, Hd + n_inputs] if K > Hd + n_inputs else None
    return dW[:, :Hd], dW[:, Hd : Hd + n_inputs], db


# --------------------------------------------------------------------------------------- GRU
def gru_forward(
    xw: np.ndarray, w_hh: np.ndarray, b_hh: np.ndarray | None, h0: np.ndarray, ws: Workspace = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""GRU with PyTorch's gate order (r, z, n) and its placement of the reset gate:

        [x_r, x_z, x_n] = xw_t (= x_t W_ihᵀ + b_ih),  [u_r, u_z, u_n] = h_{t-1} W_hhᵀ + b_hh
        r = σ(x_r + u_r),  z = σ(x_z + u_z),  n = tanh(x_n + r ⊙ u_n)
        h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}  = n + z ⊙ (h_{t-1} - n)

    Returns (Hs, Gs, Un): Hs (T+1, N, H); Gs (T, N, 3H) = [r, z, n]; Un (T, N, H) = u_n.
    """
    T, N, G3 = xw.shape
    Hd = G3 // 3
    Hs = np.empty((T + 1, N, Hd), dtype=xw.dtype)
    Gs = scratch(ws, "Gs", (T, N, G3), xw.dtype)
    Us = scratch(ws, "Us", (T, N, G3), xw.dtype)
    Hs[0] = h0
    one = xw.dtype.type(1)
    # σ(a) = 1 / (1 + e^{-a}): the sign of the r and z blocks is folded into their projections
    # once, so u_n (the n block of Us, needed by backward) keeps its true value.
    sign = np.ones(G3, dtype=xw.dtype)
    sign[: 2 * Hd] = -1
    xw[:, :, : 2 * Hd] *= -one
    w_hhT = (w_hh * sign[:, None]).T
    b_hh = None if b_hh is None else b_hh * sign
    with np.errstate(over="ignore"):
        for t in range(T):
            u = Us[t]
            np.matmul(Hs[t], w_hhT, out=u)
            if b_hh is not None:
                u += b_hh
            rz, n = Gs[t, :, : 2 * Hd], Gs[t, :, 2 * Hd :]
            np.add(xw[t, :, : 2 * Hd], u[:, : 2 * Hd], out=rz)
            np.exp(rz, out=rz)
            rz += one
            np.reciprocal(rz, out=rz)
            np.multiply(rz[:, :Hd], u[:, 2 * Hd :], out=n)
            n += xw[t, :, 2 * Hd :]
            tanh_into(n, n)
            h = Hs[t + 1]
            np.subtract(Hs[t], n, out=h)
            h *= rz[:, Hd:]
            h += n
    return Hs, Gs, Us[:, :, 2 * Hd :]


def gru_backward(
    dY: np.ndarray,
    dhT: np.ndarray | None,
    cache: tuple[np.ndarray, np.ndarray, np.ndarray],
    w_hh: np.ndarray,
    bptt: int | None,
    ws: Workspace = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""BPTT for :func:`gru_forward`.

    With dh_t = dY_t + (gradient from step t+1):
        dn = dh_t ⊙ (1 - z),  dz = dh_t ⊙ (h_{t-1} - n)
        da_n = dn ⊙ (1 - n²)                 (a_n = x_n + r ⊙ u_n)
        da_z = dz ⊙ z(1 - z),   da_r = da_n ⊙ u_n ⊙ r(1 - r),   du_n = da_n ⊙ r
        dL/dxw_t = [da_r, da_z, da_n],       dL/du_t = [da_r, da_z, du_n]
        gradient into h_{t-1}:  dh_t ⊙ z + dL/du_t W_hh
    Returns dXW (T, N, 3H), dU (T, N, 3H) and dh0.
    """
    Hs, Gs, Un = cache
    T, N, G3 = Gs.shape
    Hd = G3 // 3
    r, z, n = Gs[:, :, :Hd], Gs[:, :, Hd : 2 * Hd], Gs[:, :, 2 * Hd :]
    Pn = (1.0 - z) * (1.0 - n * n)  # da_n = dh ⊙ Pn
    Pz = (Hs[:-1] - n) * z * (1.0 - z)  # da_z = dh ⊙ Pz
    Pr = Un * r * (1.0 - r)  # da_r = da_n ⊙ Pr
    dU = scratch(ws, "dU", Gs.shape, Gs.dtype)
    dAn = scratch(ws, "dAn", (T, N, Hd), Gs.dtype)
    dh = np.empty((N, Hd), dtype=Gs.dtype)
    carry = np.zeros((N, Hd), dtype=Gs.dtype) if dhT is None else dhT.astype(Gs.dtype)
    for t in range(T - 1, -1, -1):
        np.add(dY[t], carry, out=dh)  # dh_t = dY_t + (gradient from step t+1)
        dan, du = dAn[t], dU[t]
        np.multiply(dh, Pn[t], out=dan)  # da_n = dh_t ⊙ (1 - z)(1 - n²)
        np.multiply(dan, Pr[t], out=du[:, :Hd])  # da_r = da_n ⊙ u_n ⊙ r(1 - r)
        np.multiply(dh, Pz[t], out=du[:, Hd : 2 * Hd])  # da_z = dh_t ⊙ (h_{t-1} - n) ⊙ z(1 - z)
        np.multiply(dan, r[t], out=du[:, 2 * Hd :])  # du_n = da_n ⊙ r
        if _cut(t, bptt):
            carry.fill(0)
        else:
            np.matmul(du, w_hh, out=carry)  # dL/du_t W_hh
            dh *= z[t]
            carry += dh  # + dh_t ⊙ z: the gradient into h_{t-1}
    dXW = np.concatenate([dU[:, :, : 2 * Hd], dAn], axis=2)
    return dXW, dU, carry
