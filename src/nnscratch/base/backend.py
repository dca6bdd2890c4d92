"""The array module and the floating-point types nnscratch computes in.

Everything numeric goes through NumPy. Keeping the import in one place means a GPU array module
with NumPy's interface (CuPy) could be swapped in here alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from nnscratch.base.errors import DTypeError

#: The floating-point dtypes every layer supports.
FLOAT_DTYPES: tuple[np.dtype, ...] = (np.dtype(np.float32), np.dtype(np.float64))

#: The default dtype: float64, so gradients check to ~1e-10; pass ``dtype=np.float32`` for speed.
DEFAULT_DTYPE = np.dtype(np.float64)


def as_float_dtype(dtype: Any) -> np.dtype:
    """Return ``dtype`` as a NumPy dtype, checking it is float32 or float64."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise DTypeError(f"dtype must be float32 or float64. Received: dtype={dtype!r}") from exc
    if resolved not in FLOAT_DTYPES:
        raise DTypeError(f"dtype must be float32 or float64. Received: dtype={resolved}")
    return resolved


def as_generator(rng: int | np.random.Generator | np.random.SeedSequence | None) -> np.random.Generator:
    """Turn a seed (int, SeedSequence) or an existing Generator into a ``numpy.random.Generator``.

    ``None`` draws fresh entropy from the OS: results are then not reproducible, which is only
    ever what the caller asked for. There is no hidden global random state.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer, np.random.SeedSequence)):
        if isinstance(rng, (int, np.integer)) and rng < 0:
            raise DTypeError(f"a seed must be a non-negative integer. Received: rng={rng}")
        return np.random.default_rng(rng)
    raise DTypeError(
        "rng must be an int seed, a numpy.random.Generator, a SeedSequence or None. "
        f"Received: rng={rng!r} of type {type(rng).__name__}"
    )


@contextlib.contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Let BLAS use at most ``n`` threads inside the block (``None``: no limit).

    Uses threadpoolctl (installed with scikit-learn, in the ``experiments`` extra).
    """
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n, user_api="blas"):
        yield
