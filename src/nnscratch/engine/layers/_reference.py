"""Slow, obviously-correct loop versions of the fast paths, used only by the tests.

Every function here loops over samples, output pixels or time steps and writes the textbook
formula for one of them; the tests check that the vectorised layers agree to 1e-10 in float64.
Nothing here is optimised or meant for training.
"""

from __future__ import annotations

import numpy as np

Pads = tuple[int, int, int, int]


def _pad(x: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    t, b, l, r = pads
    return np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=value)


def _unpad(xp: np.ndarray, pads: Pads) -> np.ndarray:
    t, b, l, r = pads
    return xp[:, :, t : xp.shape[2] - b, l : xp.shape[3] - r]


def _out(size: int, k: int, s: int, pad_total: int, d: int) -> int:
    return (size + pad_total - d * (k - 1) - 1) // s + 1


# ---------------------------------------------------------------------------------- convolution
def conv2d(x, w, b, stride, pads: Pads, dilation):
    """y[n,o,p,q] = b[o] + Σ_{c,i,j} w[o,c,i,j] x_pad[n, c, p·s + i·d, q·s + j·d], pixel by pixel."""
    n_, _, h, wd = x.shape
    o_, c_, kh, kw = w.shape
    xp = _pad(x, pads)
    oh = _out(h, kh, stride[0], pads[0] + pads[1], dilation[0])
    ow = _out(wd, kw, stride[1], pads[2] + pads[3], dilation[1])
    y = np.zeros((n_, o_, oh, ow))
    for n in range(n_):
        for o in range(o_):
            for p in range(oh):
                for q in range(ow):
                    total = 0.0 if b is None else b[o]
                    for c in range(c_):
                        for i in range(kh):
                            for j in range(kw):
                                r = p * stride[0] + i * dilation[0]
                                s = q * stride[1] + j * dilation[1]
                                total += w[o, c, i, j] * xp[n, c, r, s]
                    y[n, o, p, q] = total
    return y


def conv2d_backward(x, w, g, stride, pads: Pads, dilation):
    """(dx, dw, db): each output pixel's gradient g[n,o,p,q] flows to the inputs and weights it used."""
    _, _, kh, kw = w.shape
    xp = _pad(x, pads)
    dxp, dw, db = np.zeros_like(xp), np.zeros_like(w), np.zeros(w.shape[0])
    n_, o_, oh, ow = g.shape
    for n in range(n_):
        for o in range(o_):
            for p in range(oh):
                for q in range(ow):
                    rows = slice(p * stride[0], p * stride[0] + dilation[0] * (kh - 1) + 1, dilation[0])
                    cols = slice(q * stride[1], q * stride[1] + dilation[1] * (kw - 1) + 1, dilation[1])
                    dw[o] += g[n, o, p, q] * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += g[n, o, p, q] * w[o]
                    db[o] += g[n, o, p, q]
    return _unpad(dxp, pads), dw, db


# -------------------------------------------------------------------------------------- pooling
def maxpool2d(x, kernel, stride, padding, dilation, g):
    """(y, dx): per window, the first maximum in row-major order takes the whole gradient."""
    pads = (padding[0], padding[0], padding[1], padding[1])
    xp = _pad(x, pads, -np.inf)
    n_, c_, h, wd = x.shape
    oh = _out(h, kernel[0], stride[0], 2 * padding[0], dilation[0])
    ow = _out(wd, kernel[1], stride[1], 2 * padding[1], dilation[1])
    y = np.zeros((n_, c_, oh, ow))
    dxp = np.zeros_like(xp)
    for n in range(n_):
        for c in range(c_):
            for p in range(oh):
                for q in range(ow):
                    best, where = -np.inf, None
                    for i in range(kernel[0]):
                        for j in range(kernel[1]):
                            r, s = p * stride[0] + i * dilation[0], q * stride[1] + j * dilation[1]
                            if where is None or xp[n, c, r, s] > best:
                                best, where = xp[n, c, r, s], (r, s)
                    y[n, c, p, q] = best
                    if g is not None:
                        dxp[n, c, where[0], where[1]] += g[n, c, p, q]
    return y, _unpad(dxp, pads)


def avgpool2d(x, kernel, stride, padding, count_include_pad, g):
    """(y, dx): the window mean, and its gradient shared equally by the window's entries."""
    pads = (padding[0], padding[0], padding[1], padding[1])
    xp = _pad(x, pads)
    inside = _pad(np.ones(x.shape[2:])[None, None], pads)[0, 0]
    n_, c_, h, wd = x.shape
    oh = _out(h, kernel[0], stride[0], 2 * padding[0], 1)
    ow = _out(wd, kernel[1], stride[1], 2 * padding[1], 1)
    y = np.zeros((n_, c_, oh, ow))
    dxp = np.zeros_like(xp)
    for n in range(n_):
        for c in range(c_):
            for p in range(oh):
                for q in range(ow):
                    rows = slice(p * stride[0], p * stride[0] + kernel[0])
                    cols = slice(q * stride[1], q * stride[1] + kernel[1])
                    count = kernel[0] * kernel[1] if count_include_pad else inside[rows, cols].sum()
                    y[n, c, p, q] = xp[n, c, rows, cols].sum() / count
                    if g is not None:
                        dxp[n, c, rows, cols] += g[n, c, p, q] / count
    return y, _unpad(dxp, pads)


# ----------------------------------------------------------------------------------- batch norm
def batchnorm_train(x, gamma, beta, eps, g):
    """(y, dx, dgamma, dbeta) channel by channel, back-propagating through μ and σ² step by step."""
    y, dx = np.zeros_like(x), np.zeros_like(x)
    dgamma, dbeta = np.zeros_like(gamma), np.zeros_like(beta)
    for c in range(x.shape[1]):
        v = x[:, c].reshape(-1)
        m = v.size
        mu = v.sum() / m
        var = ((v - mu) ** 2).sum() / m
        xhat = (v - mu) / np.sqrt(var + eps)
        y[:, c] = (gamma[c] * xhat + beta[c]).reshape(x[:, c].shape)
        gc = g[:, c].reshape(-1)
        dgamma[c], dbeta[c] = (gc * xhat).sum(), gc.sum()
        dxhat = gc * gamma[c]
        dvar = (dxhat * (v - mu)).sum() * -0.5 * (var + eps) ** -1.5
        dmu = -dxhat.sum() / np.sqrt(var + eps) + dvar * (-2.0 * (v - mu)).sum() / m
        dv = dxhat / np.sqrt(var + eps) + dvar * 2.0 * (v - mu) / m + dmu / m
        dx[:, c] = dv.reshape(x[:, c].shape)
    return y, dx, dgamma, dbeta


# ------------------------------------------------------------------------------------ recurrent
def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def _cell_forward(kind, p, x, h, c):
    """One step for one sample; returns (h, c, saved) with everything the step's backward needs."""
    w_ih, w_hh, b_ih, b_hh = p
    H = w_hh.shape[1]
    gx, gh = w_ih @ x + b_ih, w_hh @ h + b_hh
    if kind in ("tanh", "relu"):
        a = gx + gh
        h_new = np.tanh(a) if kind == "tanh" else np.maximum(a, 0.0)
        return h_new, None, (x, h, a, h_new)
    if kind == "lstm":
        a = gx + gh
        i, f, gg, o = _sig(a[:H]), _sig(a[H : 2 * H]), np.tanh(a[2 * H : 3 * H]), _sig(a[3 * H :])
        c_new = f * c + i * gg
        h_new = o * np.tanh(c_new)
        return h_new, c_new, (x, h, c, i, f, gg, o, c_new)
    r = _sig(gx[:H] + gh[:H])
    z = _sig(gx[H : 2 * H] + gh[H : 2 * H])
    n = np.tanh(gx[2 * H :] + r * gh[2 * H :])
    return (1 - z) * n + z * h, None, (x, h, r, z, n, gh[2 * H :])


def _cell_backward(kind, p, saved, dh, dc, grads):
    """One step's backward for one sample: accumulates into grads, returns (dx, dh_prev, dc_prev)."""
    w_ih, w_hh, _, _ = p
    if kind in ("tanh", "relu"):
        x, h, a, h_new = saved
        da = dh * (1 - h_new**2) if kind == "tanh" else dh * (a > 0)
        dgx = dgh = da
        dc_prev = None
    elif kind == "lstm":
        x, h, c, i, f, gg, o, c_new = saved
        tc = np.tanh(c_new)
        do = dh * tc
        dc = dc + dh * o * (1 - tc**2)
        di, df, dgg = dc * gg, dc * c, dc * i
        dc_prev = dc * f
        da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dgg * (1 - gg**2), do * o * (1 - o)])
        dgx = dgh = da
    else:
        x, h, r, z, n, ghn = saved
        dn = dh * (1 - z)
        dz = dh * (h - n)
        dan = dn * (1 - n**2)
        dar = dan * ghn * r * (1 - r)
        daz = dz * z * (1 - z)
        dgx = np.concatenate([dar, daz, dan])
        dgh = np.concatenate([dar, daz, dan * r])
        dc_prev = None
    grads[0] += np.outer(dgx, x)
    grads[1] += np.outer(dgh, h)
    grads[2] += dgx
    grads[3] += dgh
    dh_prev = w_hh.T @ dgh + (dh * z if kind == "gru" else 0.0)
    return w_ih.T @ dgx, dh_prev, dc_prev


def recurrent(kind, params, x, h0, c0, g, gh_n, gc_n, bptt=None):
    """Forward and BPTT of a stacked RNN ('tanh'/'relu'), LSTM ('lstm') or GRU ('gru'), sample by
    sample and step by step. ``params`` is a list over layers of (w_ih, w_hh, b_ih, b_hh); x is
    (N, T, I) batch-first. Returns (out, h_n, c_n, dx, param_grads, dh0, dc0)."""
    N, T, _ = x.shape
    L, H = len(params), params[0][1].shape[1]
    out = np.zeros((N, T, H))
    h_n, c_n = np.zeros((L, N, H)), np.zeros((L, N, H))
    dx, dh0, dc0 = np.zeros_like(x), np.zeros((L, N, H)), np.zeros((L, N, H))
    grads = [[np.zeros_like(a) for a in p] for p in params]
    for s in range(N):
        seq, saved = x[s], []
        for k in range(L):
            h, c, layer_saved, outs = h0[k, s], c0[k, s], [], []
            for t in range(T):
                h, c, sv = _cell_forward(kind, params[k], seq[t], h, c)
                layer_saved.append(sv)
                outs.append(h)
            h_n[k, s] = h
            c_n[k, s] = 0.0 if c is None else c
            saved.append(layer_saved)
            seq = np.array(outs)
        out[s] = seq
        dseq = g[s]
        for k in range(L - 1, -1, -1):
            dh, dc = gh_n[k, s].copy(), gc_n[k, s].copy()
            dinp = np.zeros((T, params[k][0].shape[1]))
            for t in range(T - 1, -1, -1):
                dinp[t], dh, dc = _cell_backward(kind, params[k], saved[k][t], dh + dseq[t], dc, grads[k])
                if bptt is not None and t > 0 and t % bptt == 0:  # state detached here
                    dh, dc = np.zeros(H), np.zeros(H)
            dh0[k, s] = dh
            dc0[k, s] = 0.0 if dc is None else dc
            dseq = dinp
        dx[s] = dseq
    return out, h_n, c_n, dx, grads, dh0, dc0


# ------------------------------------------------------------------------------------ embedding
def embedding_backward(idx, g, num_embeddings):
    """dW row by row: every position p adds its gradient to row idx[p]."""
    dw = np.zeros((num_embeddings, g.shape[-1]))
    for p, v in enumerate(idx.reshape(-1)):
        dw[v] += g.reshape(-1, g.shape[-1])[p]
    return dw
