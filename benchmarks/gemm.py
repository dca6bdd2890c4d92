"""The measured single-precision GEMM peak of NumPy's BLAS."""

from __future__ import annotations

import time

import numpy as np


def sgemm_gflops(m: int, n: int, k: int, repeats: int = 15, min_seconds: float = 0.05) -> float:
    """Peak GFLOP/s of ``np.matmul`` on float32 (m, k) @ (k, n) into a preallocated output: the
    best of ``repeats`` timed blocks, since a peak is what the BLAS reaches when nothing interferes."""
    rng = np.random.default_rng(0)
    a = rng.random((m, k), dtype=np.float32)
    b = rng.random((k, n), dtype=np.float32)
    c = np.empty((m, n), dtype=np.float32)
    np.matmul(a, b, out=c)
    t0 = time.perf_counter()
    np.matmul(a, b, out=c)
    once = max(time.perf_counter() - t0, 1e-7)
    inner = max(1, int(min_seconds / once))
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            np.matmul(a, b, out=c)
        rates.append(2.0 * m * n * k * inner / (time.perf_counter() - t0) / 1e9)
    return float(np.max(rates))
