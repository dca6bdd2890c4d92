"""A sweep of 24 points × 5 folds on digits: serially vs on a local pool of worker processes.

    python benchmarks/bench_sweep.py                 # serial vs --jobs 2
    python benchmarks/bench_sweep.py --jobs 4 --epochs 100 --repeat 3

The grid is 4 learning rates × 3 hidden widths × 2 weight decays (24 points), each crossed with
5-fold stratified CV: 120 independent trainings (50 epochs, mini-batches of 64) of a 64-H-10
softmax network on the 1797 8×8 digits. What is timed is the tasks themselves (``run_tasks``);
the first parallel run includes starting the worker processes, the second (``--repeat 2``, the
default) reuses them, and the best of each side is compared. The report folder a CLI run writes
afterwards is serial work and is left out. Both sides' results are checked to be identical
(timings aside) before the speed-up is printed.

Numbers depend on what else the machine is doing: the load average is printed with them, the CPU
seconds spent inside the tasks (which a busy machine does not inflate), and a control (a
pure-Python CPU loop, serial vs the same pool) that says what speed-up the cores can give at
that moment.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from typing import Any

from nnscratch.experiments import load_config
from nnscratch.experiments.parallel import available_cores, run_tasks
from nnscratch.experiments.sweep import plan, run_point


def digits_sweep(epochs: int, folds: int) -> list[Any]:
    cfg = load_config(
        {
            "experiment": {"name": "bench-digits", "seed": 0},
            "data": {"dataset": "digits", "standardize": True},
            "model": {"activation": "relu"},
            "optimizer": {"name": "momentum"},
            "training": {"epochs": epochs, "batch_size": 64},
            "evaluation": {"cv": folds, "metrics": ["accuracy", "f1"]},
            "sweep": {
                "optimizer.lr": [0.01, 0.03, 0.1, 0.3],
                "model.hidden": [[16], [32], [64]],
                "optimizer.weight_decay": [0.0, 1e-4],
            },
        }
    )
    return plan(cfg, cv=True, sweep=True)


def point_with_cpu_time(config: dict[str, Any], fold: int | None, seed: int) -> dict[str, Any]:
    """``run_point``, plus the CPU seconds the task used (wall time suffers from a busy machine)."""
    start = time.process_time()
    result = run_point(config, fold, seed)
    result["cpu_seconds"] = time.process_time() - start
    return result


def timed(tasks: list[Any], jobs: int) -> tuple[float, float, list[dict[str, Any]]]:
    """Wall seconds of the whole run, CPU seconds summed over the tasks, and the results."""
    start = time.perf_counter()
    run = run_tasks(point_with_cpu_time, tasks, jobs=jobs, progress=False)
    return time.perf_counter() - start, sum(r["cpu_seconds"] for r in run.results), run.results


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def cpu_control(jobs: int, n: int = 2_000_000, k: int = 8) -> float:
    """The speed-up of a pure-Python CPU loop on ``jobs`` processes (warm pool): what the machine
    can give right now. On an idle 2-core machine it is close to 2; far below, the cores are busy
    with other work and no parallel run can look good."""
    from joblib import Parallel, delayed

    Parallel(n_jobs=jobs)(delayed(_spin)(10) for _ in range(jobs))  # start the pool
    start = time.perf_counter()
    for _ in range(k):
        _spin(n)
    serial = time.perf_counter() - start
    start = time.perf_counter()
    Parallel(n_jobs=jobs)(delayed(_spin)(n) for _ in range(k))
    return serial / (time.perf_counter() - start)


def without_timings(results: list[dict[str, Any]]) -> str:
    timings = ("seconds", "cpu_seconds")
    return json.dumps([{k: v for k, v in r.items() if k not in timings} for r in results])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="worker processes of the parallel run")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each side (best is compared)")
    parser.add_argument("--no-control", action="store_true", help="skip the CPU-loop control")
    args = parser.parse_args()

    tasks = digits_sweep(args.epochs, args.folds)
    n_points = len({t.point for t in tasks})
    print(
        f"sweep: {n_points} points x {args.folds} folds = {len(tasks)} trainings on digits, "
        f"{args.epochs} epochs each"
    )
    print(
        f"machine: {available_cores()} usable cores ({os.cpu_count()} online), "
        f"{platform.machine()}, Python {platform.python_version()}; "
        f"load average before: {os.getloadavg()[0]:.2f}"
    )
    # warm this process up (imports, dataset files in the page cache) so the serial run is not
    # charged for them; the pool's start-up (its own imports) IS charged to the parallel run
    run_tasks(run_point, tasks[:1], jobs=1, progress=False)
    serial_s, parallel_s, cpu = [], [], {}
    for _ in range(args.repeat):
        seconds, cpu["serial"], serial = timed(tasks, 1)
        serial_s.append(seconds)
        seconds, cpu["parallel"], parallel = timed(tasks, args.jobs)
        parallel_s.append(seconds)
        if without_timings(serial) != without_timings(parallel):
            raise SystemExit("the parallel run's results differ from the serial run's")
    best_serial, best_parallel = min(serial_s), min(parallel_s)
    print(f"serial (jobs=1):     {best_serial:7.2f} s   runs: {', '.join(f'{s:.2f}' for s in serial_s)}")
    print(
        f"parallel (jobs={args.jobs}):   {best_parallel:7.2f} s   runs: "
        f"{', '.join(f'{s:.2f}' for s in parallel_s)}   (the first one starts the workers)"
    )
    print(f"speed-up: {best_serial / best_parallel:.2f}x   (results identical; target >= 1.7x with 2 jobs)")
    print(
        f"CPU seconds inside the tasks (last run): serial {cpu['serial']:.2f}, "
        f"parallel {cpu['parallel']:.2f} (summed over the workers)"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if not args.no_control:
        print(
            f"control: a pure-Python CPU loop on {args.jobs} processes gets {cpu_control(args.jobs):.2f}x now"
        )


if __name__ == "__main__":
    main()
