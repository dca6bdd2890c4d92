"""Sliding-window helpers shared by Conv2d and the pooling layers.

Everything here works on NCHW arrays. A window view is a zero-copy ``as_strided`` view

    V[n, c, i, j, oh, ow] = xp[n, c, oh·s_h + i·d_h, ow·s_w + j·d_w]

of the padded input ``xp`` (stride ``s``, dilation ``d``, kernel offsets ``(i, j)``). Gradients are
scattered back ("col2im") with one vectorised ``+=`` per kernel offset (kh·kw of them): for a fixed
offset the output positions map to distinct input pixels, so no position is written twice within
one ``+=`` and no per-pixel Python loop is needed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from nnscratch.base.errors import HyperparameterError, ShapeError
from nnscratch.base.validation import describe

from ._workspace import Workspace, scratch

Pair = tuple[int, int]
#: Padding as (top, bottom, left, right).
Pads = tuple[int, int, int, int]


def as_pair(value: Any, name: str, *, minimum: int = 1) -> Pair:
    """``k`` or ``(kh, kw)`` as a pair of ints ``>= minimum``, with a clear error otherwise."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in items):
        raise HyperparameterError(f"{name} must be an int or a pair of ints. Received: {name}={value!r}")
    if any(v < minimum for v in items):
        raise HyperparameterError(f"{name} must be >= {minimum}. Received: {name}={value!r}")
    return int(items[0]), int(items[1])


def same_pads(kernel: Pair, dilation: Pair) -> Pads:
    """Padding that keeps H and W at stride 1; an odd total puts the extra row/column at the end,
    as PyTorch's ``padding="same"`` does."""
    pads = []
    for k, d in zip(kernel, dilation, strict=True):
        total = d * (k - 1)
        pads += [total // 2, total - total // 2]
    return pads[0], pads[1], pads[2], pads[3]


def resolve_padding(padding: Any, kernel: Pair, stride: Pair, dilation: Pair) -> Pads:
    """Turn ``padding`` (int, pair, ``"valid"`` or ``"same"``) into (top, bottom, left, right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding == "same":
            if stride != (1, 1):
                raise HyperparameterError(
                    f'padding="same" needs stride 1 (as in PyTorch). Received: stride={stride}'
                )
            return same_pads(kernel, dilation)
        raise HyperparameterError(
            f'padding must be an int, a pair of ints, "valid" or "same". Received: padding={padding!r}'
        )
    ph, pw = as_pair(padding, "padding", minimum=0)
    return ph, ph, pw, pw


def output_size(size: int, kernel: int, stride: int, pad_total: int, dilation: int) -> int:
    """⌊(size + pad_total - d·(k - 1) - 1) / s⌋ + 1, PyTorch's formula (floor mode)."""
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


def check_nchw(x: np.ndarray, owner: str, channels: int | None = None) -> None:
    """Raise a ShapeError unless ``x`` is (N, C, H, W) with ``channels`` channels."""
    if x.ndim != 4:
        raise ShapeError(
            f"{owner} expects a 4-D input (N, C, H, W) (batch, channels, height, width). "
            f"Received: {describe(x)}"
        )
    if channels is not None and x.shape[1] != channels:
        raise ShapeError(
            f"{owner} expects {channels} input channel(s) (axis 1 of (N, C, H, W)). Received: {describe(x)}"
        )


def output_hw(
    x_shape: tuple[int, ...], kernel: Pair, stride: Pair, dilation: Pair, pads: Pads, owner: str
) -> Pair:
    """Output (OH, OW), raising a ShapeError when the padded input is smaller than the kernel."""
    h, w = x_shape[2], x_shape[3]
    oh = output_size(h, kernel[0], stride[0], pads[0] + pads[1], dilation[0])
    ow = output_size(w, kernel[1], stride[1], pads[2] + pads[3], dilation[1])
    if oh < 1 or ow < 1:
        eff = (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)
        raise ShapeError(
            f"{owner}: the input is too small for the kernel: padded size "
            f"{(h + pads[0] + pads[1], w + pads[2] + pads[3])} is smaller than the (dilated) kernel "
            f"{eff}. Received: input of shape {x_shape}"
        )
    return oh, ow


def empty_like_layout(ref: np.ndarray, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
    """An uninitialised array of ``shape`` whose axes lie in memory in the same order as ``ref``'s.

    Conv2d returns its output as an (N, C, H, W) view of (C, N, H, W) memory (free, straight from
    its GEMM); layers that keep that order for what they allocate make every later element-wise
    pass run over matching strides, and let Conv2d's backward read its gradient without a copy.
    """
    order = sorted(range(ref.ndim), key=lambda a: -abs(ref.strides[a]))  # outermost axis first
    buf = np.empty([shape[a] for a in order], dtype=ref.dtype if dtype is None else dtype)
    return buf.transpose(np.argsort(order))


def pad(x: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    """A padded copy of an NCHW array (or ``x`` itself when there is no padding)."""
    top, bottom, left, right = pads
    if not any(pads):
        return x
    n, c, h, w = x.shape
    xp = empty_like_layout(x, (n, c, h + top + bottom, w + left + right))
    xp.fill(value)
    xp[:, :, top : top + h, left : left + w] = x
    return xp


def unpad(xp: np.ndarray, pads: Pads) -> np.ndarray:
    """The inner (unpadded) part of a padded NCHW array, as a view."""
    top, bottom, left, right = pads
    h, w = xp.shape[2] - top - bottom, xp.shape[3] - left - right
    return xp[:, :, top : top + h, left : left + w]


def windows(xp: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, out_hw: Pair) -> np.ndarray:
    """Read-only view V of shape (N, C, KH, KW, OH, OW) with V[n,c,i,j,oh,ow] = xp[n,c,oh·s+i·d,ow·s+j·d]."""
    sn, sc, sh, sw = xp.strides
    shape = (xp.shape[0], xp.shape[1], kernel[0], kernel[1], out_hw[0], out_hw[1])
    strides = (sn, sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1])
    return as_strided(xp, shape=shape, strides=strides, writeable=False)


def offset_slices(i: int, j: int, stride: Pair, dilation: Pair, out_hw: Pair) -> tuple[slice, slice]:
    """The (rows, cols) slices of the padded input that kernel offset (i, j) reads, one per output."""
    r0, c0 = i * dilation[0], j * dilation[1]
    rows = slice(r0, r0 + stride[0] * (out_hw[0] - 1) + 1, stride[0])
    cols = slice(c0, c0 + stride[1] * (out_hw[1] - 1) + 1, stride[1])
    return rows, cols


def im2col(
    xp: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, out_hw: Pair, ws: Workspace = None
) -> np.ndarray:
    """Columns X̂ of shape (C·KH·KW, N·OH·OW): X̂[(c,i,j), (n,oh,ow)] = xp[n, c, oh·s+i·d, ow·s+j·d].

    With W reshaped to (O, C·KH·KW), the convolution is the single GEMM ``W X̂``. The columns are
    written into the buffer ``cols`` of the workspace ``ws`` (see :mod:`._workspace`).
    """
    v = windows(xp, kernel, stride, dilation, out_hw)  # (N, C, KH, KW, OH, OW)
    n, c = xp.shape[:2]
    cols = scratch(ws, "cols", (c, kernel[0], kernel[1], n, out_hw[0], out_hw[1]), xp.dtype)
    np.copyto(cols, v.transpose(1, 2, 3, 0, 4, 5))
    return cols.reshape(c * kernel[0] * kernel[1], n * out_hw[0] * out_hw[1])


def col2im(
    dcols: np.ndarray, xp_shape: tuple[int, ...], kernel: Pair, stride: Pair, dilation: Pair, out_hw: Pair
) -> np.ndarray:
    """Adjoint of :func:`im2col`: dxp[n,c,oh·s+i·d,ow·s+j·d] += dX̂[(c,i,j),(n,oh,ow)], summed over all
    (i, j, oh, ow) that read the same pixel. Returns dxp of shape ``xp_shape`` (N, C, Hp, Wp)."""
    n, c = xp_shape[:2]
    d6 = dcols.reshape(c, kernel[0], kernel[1], n, out_hw[0], out_hw[1])
    # Accumulate in (C, N, Hp, Wp) order so each += reads d6[:, i, j] contiguously.
    dxp = np.zeros((c, n, xp_shape[2], xp_shape[3]), dtype=dcols.dtype)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            rows, cols = offset_slices(i, j, stride, dilation, out_hw)
            dxp[:, :, rows, cols] += d6[:, i, j]
    return dxp.transpose(1, 0, 2, 3)


# -- stride-1 fast path: "wide" columns ------------------------------------------------------------
# With stride 1 the pixels kernel offset (i, j) reads for output row p are one contiguous run of
# a row of xp. Letting each output row run over the full padded width Wp (OW real columns plus
# Wp - OW = d_w·(KW - 1) junk columns) turns offset (i, j)'s whole read into ONE contiguous slice
# of each flattened image, starting at i·d_h·Wp + j·d_w and OH·Wp long. im2col and col2im then
# move KH·KW long runs instead of KH·KW·C·N·OH short rows of OW pixels (NumPy's per-row overhead
# dominated for small images). The junk columns are dropped from the output, their gradient is
# zero, so they add nothing to dW or dx; the few entries past the end of an image are set to 0.


def _wide_offsets(kernel: Pair, dilation: Pair, hp: int, wp: int, oh: int):
    length = oh * wp
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            start = i * dilation[0] * wp + j * dilation[1]
            yield i, j, start, min(length, hp * wp - start)


def im2col_wide(
    xp: np.ndarray, kernel: Pair, dilation: Pair, out_hw: Pair, ws: Workspace = None
) -> np.ndarray:
    """Stride-1 columns X̂w of shape (C·KH·KW, N·OH·Wp): X̂w[(c,i,j), (n,p,q)] = xp[n,c,p+i·d,q+j·d]
    for q < OW; the columns q >= OW hold finite junk (or 0) that the caller drops. Written into the
    buffer ``cols`` of ``ws``, as :func:`im2col`."""
    n, c, hp, wp = xp.shape
    oh = out_hw[0]
    xf = xp.transpose(1, 0, 2, 3).reshape(c, n, hp * wp)  # a view when rows are contiguous
    cols = scratch(ws, "cols", (c, kernel[0], kernel[1], n, oh * wp), xp.dtype)
    for i, j, start, avail in _wide_offsets(kernel, dilation, hp, wp, oh):
        cols[:, i, j, :, :avail] = xf[:, :, start : start + avail]
        cols[:, i, j, :, avail:] = 0
    return cols.reshape(c * kernel[0] * kernel[1], n * oh * wp)


def col2im_wide(dcols: np.ndarray, xp_shape: tuple[int, ...], kernel: Pair, dilation: Pair, out_hw: Pair):
    """Adjoint of :func:`im2col_wide` (junk columns of ``dcols`` must be zero). Returns dxp (N,C,Hp,Wp)."""
    n, c, hp, wp = xp_shape
    oh = out_hw[0]
    d5 = dcols.reshape(c, kernel[0], kernel[1], n, oh * wp)
    dxf = np.zeros((c, n, hp * wp), dtype=dcols.dtype)
    for i, j, start, avail in _wide_offsets(kernel, dilation, hp, wp, oh):
        dxf[:, :, start : start + avail] += d5[:, i, j, :, :avail]
    return dxf.reshape(c, n, hp, wp).transpose(1, 0, 2, 3)
