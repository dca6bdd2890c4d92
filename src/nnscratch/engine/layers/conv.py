"""2-D convolution (cross-correlation, as in PyTorch) on NCHW batches, via im2col and one GEMM."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnscratch.base.backend import DEFAULT_DTYPE, as_float_dtype, as_generator
from nnscratch.base.validation import check_positive_int

from ..init import Initializer, get_initializer, torch_default_bias
from ..module import Module, check_grad_out
from ..parameter import Parameter
from . import _im2col as ic
from ._workspace import workspace


class Conv2d(Module):
    r"""2-D convolution over an NCHW batch, PyTorch's ``nn.Conv2d`` (groups=1).

    Forward (cross-correlation, as every deep-learning library computes it):

        y[n,o,p,q] = b[o] + Σ_{c,i,j} W[o,c,i,j] · xp[n, c, p·s_h + i·d_h, q·s_w + j·d_w]

    where ``xp`` is x zero-padded by ``padding``. With the im2col matrix
    X̂[(c,i,j), (n,p,q)] = xp[n, c, p·s_h + i·d_h, q·s_w + j·d_w] (shape (C·KH·KW, N·OH·OW)) and
    W₂ = W reshaped to (O, C·KH·KW), this is one GEMM:  Y₂ = W₂ X̂ + b  (Y₂ is (O, N·OH·OW)).

    Backward: with G₂ = dL/dY₂ (grad_out rearranged to (O, N·OH·OW)),

        dL/dW₂ += G₂ X̂ᵀ                 (reshaped back to (O, C, KH, KW))
        dL/db  += Σ_{n,p,q} G₂[o, (n,p,q)]
        dX̂      = W₂ᵀ G₂                 (C·KH·KW, N·OH·OW)
        dL/dxp[n,c,p·s+i·d,q·s+j·d] += dX̂[(c,i,j),(n,p,q)]   (col2im: one vectorised += per offset (i,j))
        dL/dx   = dL/dxp without its padding border

    Stride 1 (the common case) uses "wide" columns: X̂ gets N·OH·Wp columns, each output row running
    over the full padded width Wp, so im2col and col2im move kh·kw long contiguous runs instead of
    many short rows (see :func:`._im2col.im2col_wide`). The Wp - OW junk columns are dropped from y
    and get a zero G₂, so they change neither dW, db nor dx. The output is returned as a view of
    the GEMM result laid out (C_out, N, OH, OW) in memory (no copy); later layers keep that order.

    Shapes: x (N, C_in, H, W); W (C_out, C_in, KH, KW); b (C_out,); y (N, C_out, OH, OW) with
    OH = ⌊(H + pad_top + pad_bottom - d_h·(KH - 1) - 1) / s_h⌋ + 1 (likewise OW).

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, dilation : int or (int, int)
    padding : int, (int, int), "valid" or "same"
        Zero padding on each side; ``"same"`` (stride 1 only) keeps H and W, putting an odd
        extra row/column at the bottom/right like PyTorch.
    bias : bool
    dtype : float32 or float64
    rng : int, Generator or None
        Seed or generator for the initialisers.
    init : str or callable
        Weight initialiser; ``"torch"`` is PyTorch's U(±1/√fan_in), fan_in = C_in·KH·KW (the
        bias then gets the same bound).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        bias: bool = True,
        *,
        dtype: Any = DEFAULT_DTYPE,
        rng: int | np.random.Generator | None = None,
        init: str | Initializer = "torch",
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.kernel_size = ic.as_pair(kernel_size, "kernel_size")
        self.stride = ic.as_pair(stride, "stride")
        self.dilation = ic.as_pair(dilation, "dilation")
        self.padding = padding if isinstance(padding, str) else ic.as_pair(padding, "padding", minimum=0)
        self._pads = ic.resolve_padding(padding, self.kernel_size, self.stride, self.dilation)
        dtype = as_float_dtype(dtype)
        gen = as_generator(rng)
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.weight = Parameter(get_initializer(init)(shape, gen, dtype))
        self.bias: Parameter | None = None
        if bias:
            fan_in = self.in_channels * math.prod(self.kernel_size)
            if init in ("torch", "default"):
                b = torch_default_bias((self.out_channels,), gen, dtype, fan_in=fan_in)
            else:
                b = np.zeros(self.out_channels, dtype=dtype)
            self.bias = Parameter(b)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        """(N, C_out, OH, OW) for an input of shape (N, C_in, H, W)."""
        oh, ow = ic.output_hw(
            input_shape, self.kernel_size, self.stride, self.dilation, self._pads, type(self).__name__
        )
        return input_shape[0], self.out_channels, oh, ow

    def forward(self, x: np.ndarray) -> np.ndarray:
        ic.check_nchw(x, f"Conv2d(in_channels={self.in_channels})", self.in_channels)
        n, _, oh, ow = self.output_shape(x.shape)
        xp = ic.pad(x, self._pads)
        wide = self.stride == (1, 1)  # the stride-1 "wide column" path (see _im2col)
        ws = workspace(self)  # the columns live until backward: a reused buffer (see _workspace)
        if wide:
            cols = ic.im2col_wide(xp, self.kernel_size, self.dilation, (oh, ow), ws)
        else:
            cols = ic.im2col(xp, self.kernel_size, self.stride, self.dilation, (oh, ow), ws)
        w2 = self.weight.data.reshape(self.out_channels, -1)
        y2 = w2 @ cols  # (O, N·OH·OW), or (O, N·OH·Wp) with junk columns when wide
        if self.bias is not None:
            y2 += self.bias.data[:, None]
        self._cache = (cols, xp.shape, x.shape, (oh, ow), wide)
        # (O, N, OH, OW) memory seen as (N, O, OH, OW): no copy.
        y = y2.reshape(self.out_channels, n, oh, -1)
        return (y[:, :, :, :ow] if wide else y).transpose(1, 0, 2, 3)

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        cols, xp_shape, x_shape, out_hw, wide = self._cached()  # X̂ and the geometry
        check_grad_out(grad_out, (x_shape[0], self.out_channels, *out_hw), self)
        g2 = self._grad_columns(grad_out, xp_shape[3] if wide else None)  # G₂
        # dW₂ += G₂ X̂ᵀ, formed as (X̂ G₂ᵀ)ᵀ: BLAS packs a transposed operand slowly, so the one to
        # transpose is the short G₂ (C_out rows), not X̂ (C_in·KH·KW rows).
        self.weight.accumulate(np.dot(cols, g2.T).T)
        if self.bias is not None:
            self.bias.accumulate(g2.sum(axis=1))  # db += Σ_(n,p,q) G₂[o, (n,p,q)]
        if not input_grad:
            return None
        dcols = self.weight.data.reshape(self.out_channels, -1).T @ g2  # dX̂ = W₂ᵀ G₂
        if wide:  # dL/dxp: col2im adds each column entry back onto the pixel it was read from
            dxp = ic.col2im_wide(dcols, xp_shape, self.kernel_size, self.dilation, out_hw)
        else:
            dxp = ic.col2im(dcols, xp_shape, self.kernel_size, self.stride, self.dilation, out_hw)
        return ic.unpad(dxp, self._pads)  # dL/dx: dL/dxp without its padding border

    def _grad_columns(self, grad_out: np.ndarray, padded_width: int | None) -> np.ndarray:
        """G₂ = grad_out rearranged to (O, N·OH·OW); with ``padded_width`` (the stride-1 wide
        columns) (O, N·OH·Wp), the junk columns zero, so they add nothing to dW, db or dx."""
        g_onhw = grad_out.transpose(1, 0, 2, 3)
        if padded_width is None:
            return g_onhw.reshape(self.out_channels, -1)  # no copy when grad_out is laid out (O, N, ...)
        o, n, oh, ow = g_onhw.shape
        g4 = np.zeros((o, n, oh, padded_width), dtype=grad_out.dtype)
        g4[:, :, :, :ow] = g_onhw
        return g4.reshape(o, -1)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, dilation={self.dilation}, bias={self.bias is not None}"
        )
