"""What the numbers were measured on: CPU, cores, load, BLAS, library versions, environment."""

from __future__ import annotations

import contextlib
import io
import os
import platform
import re
import sys
from typing import Any

import numpy as np

ENV_PATTERN = re.compile(r"^(OMP_|MKL_|OPENBLAS_|GOTO|BLIS_|KMP_|VECLIB_|NUMEXPR_|TORCH_|PYTORCH_|NPY_)")


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def numpy_config() -> Any:
    """``numpy.show_config`` as a dict where NumPy supports it, else its printed text."""
    try:
        return np.show_config(mode="dicts")
    except TypeError:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            np.show_config()
        return buf.getvalue()


def machine_info() -> dict[str, Any]:
    from threadpoolctl import threadpool_info

    info: dict[str, Any] = {
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average_start": load_average(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "env": {k: v for k, v in sorted(os.environ.items()) if ENV_PATTERN.match(k)},
        "threadpools": threadpool_info(),
        "numpy_config": numpy_config(),
    }
    import nnscratch

    info["nnscratch"] = nnscratch.__version__
    with contextlib.suppress(ImportError):
        import torch

        info["torch"] = torch.__version__
        info["torch_parallel_info"] = torch.__config__.parallel_info()
    with contextlib.suppress(ImportError):
        import sklearn

        info["sklearn"] = sklearn.__version__
    return info


def blas_summary(info: dict[str, Any]) -> str:
    """One line naming NumPy's BLAS, e.g. ``openblas 0.3.31 (Haswell, pthreads)``."""
    for pool in info.get("threadpools", []):
        if pool.get("user_api") == "blas" and "numpy" in pool.get("filepath", ""):
            return (
                f"{pool.get('internal_api')} {pool.get('version')} "
                f"({pool.get('architecture')}, {pool.get('threading_layer')})"
            )
    return "unknown"
