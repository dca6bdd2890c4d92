"""Time one optimizer step and one training step of a benchmark case, with and without the flat
parameter groups of ``nnscratch.engine.optim.flat`` (interleaved, one thread, best of 15 blocks each).

    .venv/bin/python benchmarks/bench_optimizer_step.py            # cases a and b_32
    .venv/bin/python benchmarks/bench_optimizer_step.py --cases c
"""

from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import dense_cases
from impls import NNScratchRunner, initial_state
from threadpoolctl import threadpool_limits

from nnscratch.engine.optim import flat as _flat_params


def _interleaved_best_us(fns: dict[str, object], number: int, repeats: int = 15) -> dict[str, float]:
    """Best time per call of each function, their blocks alternating A, B, A, B, ..."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeats):
        for label, fn in fns.items():
            best[label] = min(best[label], timeit.timeit(fn, number=number) / number * 1e6)
    return best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default="a,b_32")
    args = p.parse_args(argv)
    wanted = args.cases.split(",")
    default_max = _flat_params.FLAT_MAX
    with threadpool_limits(1):
        for case in (c for c in dense_cases() if c.key in wanted):
            runners = {}
            for label, flat_max in (("per parameter", -1), ("flat groups", default_max)):
                _flat_params.FLAT_MAX = flat_max  # read when the plan is built, on the first step
                runners[label] = NNScratchRunner(case, initial_state(case))
                runners[label].step()
            _flat_params.FLAT_MAX = default_max
            opt_us = _interleaved_best_us({k: r.opt.step for k, r in runners.items()}, 2000)
            step_us = _interleaved_best_us({k: r.step for k, r in runners.items()}, 500)
            for label in runners:
                print(
                    f"{case.key:>6} {label:>13}: optimizer step {opt_us[label]:7.2f} µs, "
                    f"training step {step_us[label]:8.1f} µs"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
