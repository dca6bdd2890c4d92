"""Dropout and batch normalisation: layers that behave differently in ``train()`` and ``eval()``."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnscratch.base.backend import DEFAULT_DTYPE, as_float_dtype, as_generator
from nnscratch.base.errors import ShapeError
from nnscratch.base.validation import check_in_range, check_positive, check_positive_int, describe

from ..module import Module, check_grad_out
from ..parameter import Parameter


class Dropout(Module):
    r"""Inverted dropout, PyTorch's ``nn.Dropout``.

    Forward (training):  m ~ Bernoulli(1 - p) element-wise,  y = x ⊙ m / (1 - p)
             (eval):      y = x                     (the 1/(1-p) scaling at training time keeps
                                                     E[y] = x, so nothing changes at test time)
    Backward (training): dL/dx = dL/dy ⊙ m / (1 - p)     (eval: dL/dx = dL/dy)
    With p = 1 every unit is dropped (y = 0), as in PyTorch.

    The masks come from ``self.rng``, a ``numpy.random.Generator`` held on the layer: seeding it
    makes training reproducible, and :func:`nnscratch.gradcheck` rewinds it before every forward
    pass so that each finite-difference evaluation draws the same mask.
    """

    def __init__(self, p: float = 0.5, *, rng: int | np.random.Generator | None = None) -> None:
        super().__init__()
        self.p = check_in_range(p, "p", 0.0, 1.0)
        self.rng = as_generator(rng)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training or self.p == 0.0:
            self._cache = (None, x.shape)
            return x
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        if self.p == 1.0:
            scaled_mask = np.zeros(x.shape, dtype=dtype)
        else:
            keep = self.rng.random(x.shape, dtype=dtype) >= self.p
            scaled_mask = keep * dtype.type(1.0 / (1.0 - self.p))
        self._cache = (scaled_mask, x.shape)
        return x * scaled_mask

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        scaled_mask, shape = self._cached()  # m / (1 - p), or None in eval mode
        check_grad_out(grad_out, shape, self)
        if not input_grad:
            return None
        return grad_out if scaled_mask is None else grad_out * scaled_mask  # dL/dy ⊙ m / (1 - p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class _BatchNorm(Module):
    r"""Batch normalisation over every axis but the channel axis 1 (PyTorch's semantics).

    Forward (training), per channel c over the m = N·(spatial size) values x of that channel:
        μ = (1/m) Σ x,   σ² = (1/m) Σ (x - μ)²   (biased),   s = 1/√(σ² + ε)
        x̂ = (x - μ)·s,   y = γ x̂ + β
        running_mean ← (1 - momentum)·running_mean + momentum·μ
        running_var  ← (1 - momentum)·running_var  + momentum·σ²·m/(m - 1)   (unbiased)
        num_batches_tracked += 1; with momentum=None the factor is 1/num_batches_tracked
        (a cumulative average), as in PyTorch.
    Forward (eval, with running statistics): the same with μ, σ² replaced by the running values.

    Backward, with g = dL/dy and ĝ = g·γ = dL/dx̂:
        dL/dγ += Σ g ⊙ x̂,      dL/dβ += Σ g
        training: dL/dx = s·(ĝ - mean(ĝ) - x̂ ⊙ mean(ĝ ⊙ x̂))    (μ and σ² depend on x; means per
                                                                  channel over the m values)
        eval:     dL/dx = s·ĝ                                    (the statistics are constants)
    """

    _buffer_names = ("running_mean", "running_var", "num_batches_tracked")
    _allowed_ndims: tuple[int, ...] = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        dtype: Any = DEFAULT_DTYPE,
        rng: int | np.random.Generator | None = None,  # accepted for a uniform API; init is fixed
    ) -> None:
        super().__init__()
        self.num_features = check_positive_int(num_features, "num_features")
        self.eps = check_positive(eps, "eps")
        if momentum is not None:
            momentum = check_in_range(momentum, "momentum", 0.0, 1.0)
        self.momentum = momentum
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        dtype = as_float_dtype(dtype)
        self._dtype = dtype
        if self.affine:
            self.weight = Parameter(np.ones(self.num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(self.num_features, dtype=dtype))
        if self.track_running_stats:
            self.running_mean = np.zeros(self.num_features, dtype=dtype)
            self.running_var = np.ones(self.num_features, dtype=dtype)
            self.num_batches_tracked = np.array(0, dtype=np.int64)
        else:
            self._buffer_names = ()  # PyTorch keeps no running statistics then

    @property
    def dtype(self) -> np.dtype | None:
        if self.affine:
            return self.weight.data.dtype
        return self.running_mean.dtype if self.track_running_stats else self._dtype

    def astype(self, dtype: Any) -> _BatchNorm:
        super().astype(dtype)
        self._dtype = as_float_dtype(dtype)
        return self

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def _check_input(self, x: np.ndarray) -> None:
        if x.ndim not in self._allowed_ndims or x.shape[1] != self.num_features:
            want = " or ".join(self._shapes)
            raise ShapeError(
                f"{type(self).__name__}(num_features={self.num_features}) expects input of shape {want} "
                f"with C = {self.num_features}. Received: {describe(x)}"
            )

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._check_input(x)
        axes = (0, *range(2, x.ndim))
        bshape = (1, self.num_features) + (1,) * (x.ndim - 2)
        m = x.size // self.num_features
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            if m <= 1:
                raise ShapeError(
                    f"{type(self).__name__} needs more than 1 value per channel when training (PyTorch's "
                    f"rule: the batch variance is undefined). Received: {describe(x)}"
                )
            mu = x.mean(axis=axes, keepdims=True)
            xc = x - mu
            var = np.mean(xc * xc, axis=axes, keepdims=True)
        else:
            mu = self.running_mean.reshape(bshape)
            xc = x - mu
            var = self.running_var.reshape(bshape)
        s = 1.0 / np.sqrt(var + self.eps)
        s = s.astype(x.dtype, copy=False)
        xhat = xc * s
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            factor = 1.0 / int(self.num_batches_tracked) if self.momentum is None else self.momentum
            self.running_mean *= 1.0 - factor
            self.running_mean += factor * mu.reshape(-1)
            self.running_var *= 1.0 - factor
            self.running_var += (factor * m / (m - 1)) * var.reshape(-1)
        self._cache = (xhat, s, use_batch, axes, bshape)
        if not self.affine:
            return xhat
        return xhat * self.weight.data.reshape(bshape) + self.bias.data.reshape(bshape)

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        xhat, s, use_batch, axes, bshape = self._cached()
        g = check_grad_out(grad_out, xhat.shape, self)
        if self.affine:
            self.weight.accumulate(np.sum(g * xhat, axis=axes))  # dγ += Σ g ⊙ x̂
            self.bias.accumulate(g.sum(axis=axes))  # dβ += Σ g
            ghat = g * self.weight.data.reshape(bshape)  # ĝ = g·γ
        else:
            ghat = g
        if not input_grad:
            return None
        if not use_batch:
            return ghat * s  # eval: dL/dx = s·ĝ
        mean_g = ghat.mean(axis=axes, keepdims=True)
        mean_gx = np.mean(ghat * xhat, axis=axes, keepdims=True)
        return s * (ghat - mean_g - xhat * mean_gx)  # s·(ĝ - mean(ĝ) - x̂ ⊙ mean(ĝ ⊙ x̂))

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    __doc__ = (
        "Batch normalisation of (N, C) or (N, C, L) inputs per feature/channel C, PyTorch's "
        "``nn.BatchNorm1d``.\n" + (_BatchNorm.__doc__ or "")
    )
    _allowed_ndims = (2, 3)
    _shapes = ("(N, C)", "(N, C, L)")


class BatchNorm2d(_BatchNorm):
    __doc__ = "Batch normalisation of (N, C, H, W) inputs per channel C, PyTorch's ``nn.BatchNorm2d``.\n" + (
        _BatchNorm.__doc__ or ""
    )
    _allowed_ndims = (4,)
    _shapes = ("(N, C, H, W)",)


__all__ = ["BatchNorm1d", "BatchNorm2d", "Dropout"]
