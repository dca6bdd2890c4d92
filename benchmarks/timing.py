"""Interleaved, paired timing of training steps.

After a warm-up, each repeat times one block of steps of every implementation in turn
(A, B, C, D, A, B, C, D, ...), so that all of them see the same machine state within a repeat;
ratios are then taken repeat by repeat (paired), which cancels most of the drift in load.
"""

from __future__ import annotations

import gc
import math
import time
from typing import Any

import numpy as np


def _time_block(step, k: int) -> float:
    t0 = time.perf_counter()
    for _ in range(k):
        step()
    return (time.perf_counter() - t0) / k


def interleaved(
    runners: dict[str, Any],
    repeats: int,
    block_s: float,
    warmup_s: float,
    budget_s: float = float("inf"),
    settle_s: float = 0.0,
) -> dict[str, list[float]]:
    """Seconds per step of each runner, one entry per repeat (every repeat runs all runners).

    Stops early, after at least 5 repeats, once ``budget_s`` seconds are spent (a busy machine
    can make blocks far longer than planned); the caller reports how many repeats were made.

    ``settle_s``: untimed steps before every block, for runs with more than one thread. After a call,
    OpenBLAS's worker threads spin for about 0.1 s before they sleep, and GNU OpenMP's (PyTorch's)
    spin too; in one process on two cores, the threads left spinning by the implementation timed
    just before take a core from the next one. Measured without the pause, PyTorch's step at two
    threads came out 2-3× slower than at one thread (and nnscratch's up to 1.3× slower), which
    inflated the two-thread ratios. A sleep instead of untimed steps would do it too, but an idle
    virtual CPU comes back slower for tens of milliseconds.
    """
    steps = {name: r.step for name, r in runners.items()}
    inner = {}
    for name, step in steps.items():  # warm up, then size each block to about block_s
        deadline = time.perf_counter() + warmup_s
        n = 0
        while n < 3 or time.perf_counter() < deadline:
            step()
            n += 1
        one = _time_block(step, 3)
        inner[name] = max(1, math.ceil(block_s / max(one, 1e-9)))
    times: dict[str, list[float]] = {name: [] for name in steps}
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # as timeit does: no collector pauses inside a block
    start = time.perf_counter()
    try:
        for r in range(repeats):
            for name, step in steps.items():
                if settle_s:  # untimed steps: the cores stay busy (an idle pause slows them)
                    deadline = time.perf_counter() + settle_s
                    while time.perf_counter() < deadline:
                        step()
                times[name].append(_time_block(step, inner[name]))
            if r >= 4 and time.perf_counter() - start > budget_s:
                break
    finally:
        if gc_was_enabled:
            gc.enable()
    return times


def summary(values: list[float] | np.ndarray) -> dict[str, float]:
    v = np.asarray(values, dtype=np.float64)
    q25, med, q75 = np.percentile(v, [25, 50, 75])
    return {
        "median": float(med),
        "q25": float(q25),
        "q75": float(q75),
        "min": float(v.min()),
        "max": float(v.max()),
    }


def paired(times: dict[str, list[float]], batch: int, flops: int) -> dict[str, Any]:
    """Per-step statistics and the paired ratios of one case at one thread count."""
    t = {k: np.asarray(v) for k, v in times.items()}
    ns = t["nnscratch"]
    out: dict[str, Any] = {
        "step_seconds": {k: summary(v) for k, v in t.items()},
        "samples_per_s": {k: float(batch / np.median(v)) for k, v in t.items()},
        "ratios": {},
    }
    for other in ("pytorch", "pytorch-no-onednn", "sklearn"):
        if other in t:  # samples/s nnscratch ÷ samples/s other = time other ÷ time nnscratch
            out["ratios"][f"vs_{other.replace('-', '_')}"] = summary(t[other] / ns)
    if "numpy-ref" in t:  # the library's overhead over the plain NumPy reference, in %
        out["ratios"]["overhead_vs_numpy_pct"] = summary((ns / t["numpy-ref"] - 1.0) * 100.0)
    out["gflops"] = {k: float(flops / np.median(v) / 1e9) for k, v in t.items()}
    if "gemm-only" in t:
        out["ratios"]["gemm_fraction"] = summary(t["gemm-only"] / ns)
        if "pytorch" in t:  # the ratio nnscratch would reach if its step were its products alone
            out["ratios"]["ceiling_vs_pytorch"] = summary(t["pytorch"] / t["gemm-only"])
    return out
