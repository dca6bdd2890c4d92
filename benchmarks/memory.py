"""Peak traced allocation of one training step (``tracemalloc``), next to the sizes that must
exist anyway: parameters, gradients, optimizer state and the activations of one batch.

NumPy reports its array allocations to ``tracemalloc``; PyTorch's allocator does not, so only
nnscratch and the NumPy reference are measured.
"""

from __future__ import annotations

import tracemalloc
from typing import Any

import numpy as np
from cases import Case
from impls import RUNNERS, NNScratchRunner


def activation_bytes(runner: NNScratchRunner) -> int:
    """Bytes of every layer output for the first batch (what backward needs cached, at most)."""
    x = runner.batches[0][0]
    total = 0
    for layer in runner.model.layers:
        x = layer.forward(x)
        total += x.nbytes
    return total


def step_memory(case: Case, state: dict[str, np.ndarray], name: str) -> dict[str, int]:
    """Traced bytes for implementation ``name``: held after building, retained between steps
    (optimizer state, caches, reusable buffers) and the transient peak within one step."""
    tracemalloc.start()
    try:
        runner = RUNNERS[name](case, state)
        built = tracemalloc.get_traced_memory()[0]
        for _ in range(3):
            runner.step()
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        runner.step()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {
        "held_after_build": built,
        "retained_between_steps": before - built,
        "step_peak_above_start": peak - before,
        "step_net_change": current - before,
    }


def case_memory(case: Case, state: dict[str, np.ndarray], names: list[str]) -> dict[str, Any]:
    probe = NNScratchRunner(case, state)
    params = sum(p.data.nbytes for p in probe.model.parameters())
    sizes = {
        "params": params,
        "grads": params,
        "optimizer_state": params if case.momentum else 0,
        "activations": activation_bytes(probe),
    }
    sizes["total"] = sum(sizes.values())
    return {"sizes": sizes, "measured": {n: step_memory(case, state, n) for n in names}}
