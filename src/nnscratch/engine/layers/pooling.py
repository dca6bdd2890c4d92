"""Max and average pooling over NCHW batches, vectorised over batch, channels and pixels.

Both work on the strided window view of :mod:`._im2col`; the only Python loops run over the
kh·kw kernel offsets (4 for a 2×2 pool), never over samples or pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnscratch.base.errors import HyperparameterError, ShapeError

from ..module import Module, check_grad_out
from . import _im2col as ic
from ._workspace import scratch, workspace


class _Pool2d(Module):
    """Shared configuration and checks of the 2-D pooling layers."""

    def __init__(self, kernel_size: Any, stride: Any, padding: Any, dilation: Any = 1) -> None:
        super().__init__()
        self.kernel_size = ic.as_pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else ic.as_pair(stride, "stride")
        self.padding = ic.as_pair(padding, "padding", minimum=0)
        self.dilation = ic.as_pair(dilation, "dilation")
        for p, k, axis in zip(self.padding, self.kernel_size, "hw", strict=True):
            if p > k // 2:  # PyTorch's rule: a window must never lie entirely in the padding
                raise HyperparameterError(
                    f"padding must be at most half the kernel size (axis {axis}: {p} > {k} // 2). "
                    f"Received: padding={padding!r}, kernel_size={kernel_size!r}"
                )
        self._pads = (self.padding[0], self.padding[0], self.padding[1], self.padding[1])

    def _geometry(self, x: np.ndarray) -> tuple[int, int]:
        ic.check_nchw(x, type(self).__name__)
        name = type(self).__name__
        out_hw = ic.output_hw(x.shape, self.kernel_size, self.stride, self.dilation, self._pads, name)
        if x.shape[2:] != getattr(self, "_checked_hw", None):  # once per input size, not per step
            self._check_windows(x.shape[2:], out_hw)
            self._checked_hw = x.shape[2:]
        return out_hw

    def _check_windows(self, in_hw: tuple[int, ...], out_hw: tuple[int, int]) -> None:
        """Refuse a geometry where some window holds padding only (with dilation, the kernel-size
        rule above does not exclude it): its max would be -inf and its gradient undefined."""
        for size, out, k, s, p, d, axis in zip(
            in_hw, out_hw, self.kernel_size, self.stride, self.padding, self.dilation, "HW", strict=True
        ):
            taps = np.arange(out)[:, None] * s + np.arange(k)[None, :] * d  # padded coordinates
            inside = (taps >= p) & (taps < p + size)
            if not inside.any(axis=1).all():
                raise ShapeError(
                    f"{type(self).__name__}: with input {axis}={size}, kernel {k}, stride {s}, padding {p} "
                    f"and dilation {d}, some pooling window covers only padding. Use less padding or "
                    f"dilation, or a larger input."
                )

    def _output_shape(self, x_shape: tuple[int, ...], out_hw: tuple[int, int]) -> tuple[int, ...]:
        return (*x_shape[:2], *out_hw)

    def _offsets(self):
        kh, kw = self.kernel_size
        return ((i, j) for i in range(kh) for j in range(kw))

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    r"""Max pooling, PyTorch's ``nn.MaxPool2d`` (floor mode).

    Forward:  y[n,c,p,q] = max_{i,j} xp[n, c, p·s_h + i·d_h, q·s_w + j·d_w]
              (xp = x padded with -inf): the entries of each kernel offset (i, j) are gathered
              into a contiguous block B_(i,j), kept for backward, and y = max over the blocks.
    Backward: dL/dx[n,c,p·s+i*·d, q·s+j*·d] += dL/dy[n,c,p,q]  — the whole upstream gradient goes to
              the arg-max (i*, j*) of its window; overlapping windows that share a maximum add their
              gradients. The arg-max is found in backward by visiting the offsets in row-major
              order with r = dL/dy still unassigned:  m = [B_(i,j) == y],  dL/dxp_(i,j) += r ⊙ m,
              r ← r - r ⊙ m  (so a later tie gets nothing).
    Ties:     the first maximum in row-major window order (smallest i, then smallest j) wins, as in
              PyTorch's CPU kernel. Ties are common after ReLU (windows of zeros), so this matters
              for parity.
    Shapes:   x (N, C, H, W) -> y (N, C, OH, OW), OH = ⌊(H + 2p_h - d_h(KH - 1) - 1)/s_h⌋ + 1.
    """

    kinks = ("ties",)

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
    ) -> None:
        super().__init__(kernel_size, stride, padding, dilation)

    def forward(self, x: np.ndarray) -> np.ndarray:
        out_hw = self._geometry(x)
        xp = ic.pad(x, self._pads, value=-np.inf)
        v = ic.windows(xp, self.kernel_size, self.stride, self.dilation, out_hw)  # (N,C,KH,KW,OH,OW)
        y = ic.empty_like_layout(x, (*x.shape[:2], *out_hw))
        # Gather each kernel offset's window entries into one contiguous block laid out like y:
        # the max and, in backward, the arg-max comparisons then run over contiguous memory, in
        # NumPy's vectorised loops, instead of striding through the window view.
        blocks = self._blocks(y)
        for k, (i, j) in enumerate(self._offsets()):
            np.copyto(blocks[k], v[:, :, i, j])
            if k == 0:
                np.copyto(y, blocks[0])
            else:
                np.maximum(y, blocks[k], out=y)
        self._cache = (blocks, y, x.shape, xp.shape, out_hw)
        return y

    def _blocks(self, y: np.ndarray) -> np.ndarray:
        """A (KH·KW, N, C, OH, OW) buffer whose blocks lie in memory like ``y``. It lives from
        forward to backward, like a recurrent layer's gate activations, so it is kept in the
        layer's workspace and reused (see :mod:`._workspace`)."""
        kk = self.kernel_size[0] * self.kernel_size[1]
        order = sorted(range(y.ndim), key=lambda a: -abs(y.strides[a]))  # outermost axis first
        shape = (kk, *(y.shape[a] for a in order))
        buf = scratch(workspace(self), "blocks", shape, y.dtype)
        return buf.transpose(0, *(1 + a for a in np.argsort(order)))

    def _disjoint(self) -> bool:
        """Windows that never overlap (stride ≥ kernel, no dilation): each pixel is in at most one."""
        return self.dilation == (1, 1) and all(
            s >= k for s, k in zip(self.stride, self.kernel_size, strict=True)
        )

    def _covers_all(self, xp_shape: tuple[int, ...], out_hw: tuple[int, int]) -> bool:
        """Disjoint windows that leave no pixel of the padded input out."""
        return (
            self.stride == self.kernel_size
            and self.dilation == (1, 1)
            and xp_shape[2] == out_hw[0] * self.kernel_size[0]
            and xp_shape[3] == out_hw[1] * self.kernel_size[1]
        )

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        blocks, y, x_shape, xp_shape, out_hw = self._cached()  # the blocks B_(i,j) and y
        check_grad_out(grad_out, self._output_shape(x_shape, out_hw), self)
        if not input_grad:
            return None
        # Disjoint windows: each offset's share is written once (no +=); the pixels no window
        # reads are zeroed first, unless the windows cover every pixel.
        disjoint = self._disjoint()
        dxp = ic.empty_like_layout(y, xp_shape, grad_out.dtype)
        if not (disjoint and self._covers_all(xp_shape, out_hw)):
            dxp.fill(0)
        r = ic.empty_like_layout(y, y.shape, grad_out.dtype)
        np.copyto(r, grad_out)  # r: the gradient not yet given to a window's first maximum
        m = ic.empty_like_layout(y, y.shape, bool)
        share = ic.empty_like_layout(y, y.shape, grad_out.dtype)
        offsets = list(self._offsets())
        for k, (i, j) in enumerate(offsets):
            rows, cols = ic.offset_slices(i, j, self.stride, self.dilation, out_hw)  # dL/dxp_(i,j)
            np.equal(blocks[k], y, out=m)  # m = [B_(i,j) == y]
            np.multiply(r, m, out=share)  # r ⊙ m
            if disjoint:
                np.copyto(dxp[:, :, rows, cols], share)
            else:
                dxp[:, :, rows, cols] += share  # dL/dxp_(i,j) += r ⊙ m
            if k < len(offsets) - 1:
                r -= share  # r ← r - r ⊙ m: a later tie gets nothing
        return ic.unpad(dxp, self._pads)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", dilation={self.dilation}"


class AvgPool2d(_Pool2d):
    r"""Average pooling, PyTorch's ``nn.AvgPool2d`` (floor mode).

    Forward:  y[n,c,p,q] = (1 / D[p,q]) Σ_{i,j} xp[n, c, p·s_h + i, q·s_w + j]      (xp: x zero-padded)
              D = KH·KW when ``count_include_pad`` (the default), else the number of window
              entries inside the unpadded input.
    Backward: dL/dx[n,c,p·s+i, q·s+j] += dL/dy[n,c,p,q] / D[p,q]     for every offset (i, j)
    Shapes:   x (N, C, H, W) -> y (N, C, OH, OW), OH = ⌊(H + 2p_h - KH)/s_h⌋ + 1.
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__(kernel_size, stride, padding)
        self.count_include_pad = bool(count_include_pad)

    def _divisor(self, x_shape: tuple[int, ...], out_hw: tuple[int, int], dtype: np.dtype) -> Any:
        kh, kw = self.kernel_size
        if self.count_include_pad or not any(self._pads):
            return dtype.type(kh * kw)
        # Count the real (unpadded) pixels of each window by pooling an indicator of the input.
        inside = ic.pad(np.ones((1, 1, *x_shape[2:]), dtype=dtype), self._pads)
        v = ic.windows(inside, self.kernel_size, self.stride, self.dilation, out_hw)
        return v.sum(axis=(2, 3))[0, 0]

    def forward(self, x: np.ndarray) -> np.ndarray:
        out_hw = self._geometry(x)
        xp = ic.pad(x, self._pads)
        v = ic.windows(xp, self.kernel_size, self.stride, self.dilation, out_hw)
        y = ic.empty_like_layout(x, (*x.shape[:2], *out_hw))
        for k, (i, j) in enumerate(self._offsets()):
            if k:
                y += v[:, :, i, j]
            else:
                np.copyto(y, v[:, :, 0, 0])
        divisor = self._divisor(x.shape, out_hw, x.dtype)
        y /= divisor
        self._cache = (divisor, x.shape, xp.shape, out_hw)
        return y

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        divisor, x_shape, xp_shape, out_hw = self._cached()  # D and the geometry
        check_grad_out(grad_out, self._output_shape(x_shape, out_hw), self)
        if not input_grad:
            return None
        g = grad_out / divisor  # dL/dy / D
        dxp = ic.empty_like_layout(grad_out, xp_shape)
        dxp.fill(0)
        for i, j in self._offsets():
            rows, cols = ic.offset_slices(i, j, self.stride, self.dilation, out_hw)
            dxp[:, :, rows, cols] += g  # dL/dx[n, c, p·s+i, q·s+j] += dL/dy[n, c, p, q] / D
        return ic.unpad(dxp, self._pads)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", count_include_pad={self.count_include_pad}"
