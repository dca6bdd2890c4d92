"""Benchmark one training step of nnscratch against PyTorch CPU, scikit-learn and plain NumPy.

Usage::

    python benchmarks/run.py            # the full run (~5 minutes on 2 cores)
    python benchmarks/run.py --quick    # fewer, shorter repeats (~1 minute)
    python benchmarks/run.py --cases a,c --threads 1

Writes ``benchmarks/results/latest.json`` and ``latest.md`` and prints the table. See
``timing.py`` for the method (interleaved repeats, paired ratios).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from cases import Case, conv_rnn_cases, dense_cases, transformer_cases  # noqa: E402
from gemm import sgemm_gflops  # noqa: E402
from impls import RUNNERS, check_same_step, initial_state, runners_for  # noqa: E402
from machine import load_average, machine_info  # noqa: E402
from memory import case_memory  # noqa: E402
from report import check_targets, markdown  # noqa: E402
from timing import interleaved, paired  # noqa: E402

MEMORY_CASES = ("c", "d", "e")


def all_cases() -> list[Case]:
    return dense_cases() + conv_rnn_cases() + transformer_cases()


def bench_case(
    case: Case,
    threads: int,
    repeats: int,
    block_s: float,
    warmup_s: float,
    budget_s: float,
    settle_s: float = 0.0,
) -> dict[str, Any]:
    state = initial_state(case)
    names = runners_for(case)
    runners = {n: RUNNERS[n](case, state) for n in names}
    load = load_average()
    times = interleaved(runners, repeats, block_s, warmup_s, budget_s, settle_s if threads > 1 else 0.0)
    row = {
        "case": case.key,
        "title": case.title,
        "threads": threads,
        "description": case.describe(),
        "repeats": len(times["nnscratch"]),
        "load_average_before": load,
    }
    row.update(paired(times, case.batch, case.flops()))
    row["flops_per_step"] = case.flops()
    # The peak again, right after the case: this machine's speed drifts over minutes, and the
    # "of sgemm peak" column should compare the case with the BLAS in the same moment.
    row["sgemm_peak_gflops"] = sgemm_gflops(1024, 1024, 1024, repeats=5)
    row["raw_step_seconds"] = times
    row["targets_met"] = check_targets(row)
    return row


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer and shorter repeats (a smoke run)")
    p.add_argument("--cases", default="", help="comma-separated case keys (default: all)")
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts (default: 1,2)")
    p.add_argument("--repeats", type=int, default=None, help="interleaved repeats per case")
    p.add_argument("--block-ms", type=float, default=None, help="target duration of one timed block")
    p.add_argument(
        "--budget-s",
        type=float,
        default=None,
        help="stop repeating a case after this long (default 40, quick 10)",
    )
    p.add_argument(
        "--settle-ms",
        type=float,
        default=150.0,
        help="untimed steps before each timed block at more than one thread, so that the idle "
        "worker threads of the implementation timed before have stopped spinning (default 150)",
    )
    p.add_argument("--no-memory", action="store_true", help="skip the tracemalloc measurements")
    p.add_argument("--out", default=str(HERE / "results"), help="folder for latest.json / latest.md")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import sklearn  # noqa: F401
        import torch
        from threadpoolctl import threadpool_limits
    except ImportError as exc:
        raise SystemExit(
            f"the benchmark needs PyTorch, scikit-learn and threadpoolctl ({exc}). "
            'Run it with `make bench`, or install them: pip install -e ".[dev,torch]"'
        ) from exc

    repeats = args.repeats or (7 if args.quick else 25)
    block_s = (args.block_ms or (15.0 if args.quick else 40.0)) / 1e3
    warmup_s = 0.1 if args.quick else 0.3
    budget_s = args.budget_s or (10.0 if args.quick else 40.0)
    threads = [int(t) for t in args.threads.split(",") if t]
    cases = all_cases()
    if args.cases:
        wanted = set(args.cases.split(","))
        unknown = wanted - {c.key for c in cases}
        if unknown:
            raise SystemExit(f"unknown case(s) {sorted(unknown)}; known: {[c.key for c in cases]}")
        cases = [c for c in cases if c.key in wanted]

    started = time.perf_counter()
    result: dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["python benchmarks/run.py", *(sys.argv[1:] if argv is None else argv)]),
        "repeats": repeats,
        "block_ms": block_s * 1e3,
        "settle_ms_above_one_thread": args.settle_ms,
        "machine": machine_info(),
        "implementations": list(RUNNERS),
        "checks": {},
        "sgemm_peak_gflops": {},
        "rows": [],
    }
    print("checking that one step gives the same parameters everywhere...", flush=True)
    for case in cases:
        result["checks"][case.key] = check_same_step(case, initial_state(case), runners_for(case))
        worst = max(v["max_rel_update_diff"] for v in result["checks"][case.key].values())
        print(f"  {case.key}: ok (largest relative update difference {worst:.1e})", flush=True)

    for t in threads:
        with threadpool_limits(limits=t):
            torch.set_num_threads(t)
            result["sgemm_peak_gflops"][str(t)] = sgemm_gflops(1024, 1024, 1024)
            for case in cases:
                row = bench_case(case, t, repeats, block_s, warmup_s, budget_s, args.settle_ms / 1e3)
                result["rows"].append(row)
                r = row["ratios"]["vs_pytorch"]
                print(
                    f"[{time.perf_counter() - started:6.1f}s] {case.key:>6} {t} thread(s): nnscratch "
                    f"{row['step_seconds']['nnscratch']['median'] * 1e3:.3f} ms/step, ÷PyTorch "
                    f"{r['median']:.2f}× [{r['q25']:.2f}, {r['q75']:.2f}]",
                    flush=True,
                )

    if not args.no_memory:
        result["memory"] = {}
        with threadpool_limits(limits=1):
            for case in cases:
                if case.key in MEMORY_CASES:
                    names = ["nnscratch"] + (["numpy-ref"] if case.reference else [])
                    result["memory"][case.key] = case_memory(case, initial_state(case), names)

    result["load_average_end"] = load_average()
    result["elapsed_s"] = time.perf_counter() - started
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(result, indent=1, default=_jsonable))
    text = markdown(result)
    (out / "latest.md").write_text(text)
    print()
    print(text)
    print(f"wrote {out / 'latest.json'} and {out / 'latest.md'} in {result['elapsed_s']:.0f} s")
    return 0


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


if __name__ == "__main__":
    raise SystemExit(main())
