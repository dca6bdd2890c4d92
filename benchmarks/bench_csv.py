"""Reading a large numeric CSV: ``ns.datasets.from_csv`` against ``np.loadtxt`` on the same file.

Writes a file of ROWS rows × 11 columns (10 float features and a 0/1 label, with a header), then
times each reader (best of REPEATS) and measures its peak traced allocation (``tracemalloc``;
NumPy reports its arrays to it), next to the size of the loaded data (float64).

    python benchmarks/bench_csv.py            # 1,000,000 rows
    python benchmarks/bench_csv.py 200000 3   # rows, repeats
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nnscratch.data import from_csv


def write_csv(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 10))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    header = ",".join([f"x{i}" for i in range(10)] + ["label"])
    table = np.column_stack([X, y])
    np.savetxt(path, table, delimiter=",", header=header, comments="", fmt=["%.6f"] * 10 + ["%d"])


def measure(fn: Callable[[], Any], repeats: int) -> tuple[float, int]:
    """(best seconds, peak traced bytes of one call)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    try:
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return best, peak


def main(rows: int = 1_000_000, repeats: int = 2) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.csv"
        write_csv(path, rows)
        data_bytes = rows * 11 * 8
        loadtxt_s, loadtxt_peak = measure(
            lambda: np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64), repeats
        )
        ours_s, ours_peak = measure(lambda: from_csv(path), repeats)
        size = path.stat().st_size
    out = {
        "rows": rows,
        "file_MB": size / 1e6,
        "data_MB": data_bytes / 1e6,
        "loadtxt_s": loadtxt_s,
        "loadtxt_peak_MB": loadtxt_peak / 1e6,
        "from_csv_s": ours_s,
        "from_csv_peak_MB": ours_peak / 1e6,
        "time_ratio": ours_s / loadtxt_s,
        "memory_ratio": ours_peak / data_bytes,
    }
    for key, value in out.items():
        print(f"{key:>18}: {value:.3f}" if isinstance(value, float) else f"{key:>18}: {value}")
    return out


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
