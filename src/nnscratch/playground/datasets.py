"""The playground's 2-D datasets: the library's generators, plus the quadrant XOR.

The library's ``xor`` is the 4-point truth table of the course notes; a playground needs a cloud
of points to split into train and test, so here ``xor`` means points uniform in [-1, 1]² labelled
by the sign of x0·x1 (the classic playground XOR), with Gaussian jitter ``noise``.
"""

from __future__ import annotations

import io

import numpy as np

from ..errors import DataError

PLAYGROUND_DATASETS = ("xor", "circles", "moons", "spirals", "gaussians", "linear")
MAX_UPLOAD_BYTES = 2_000_000
MAX_UPLOAD_ROWS = 5000


def quadrant_xor(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    # keep points off the axes so the labels are not ambiguous, as in the classic playground
    X += np.sign(X) * 0.05
    y = (X[:, 0] * X[:, 1] < 0).astype(np.int64)
    return X + rng.normal(0, noise * 0.5, size=X.shape), y


def make_dataset(name: str, n: int, noise: float, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``n`` points of a named 2-D dataset (seeded)."""
    if name == "xor":
        return quadrant_xor(n, noise, seed)
    from .. import datasets

    kwargs: dict = {"n_samples": n, "seed": seed}
    if name != "linear":  # the linear set is noise-free by definition (label = x0 > x1)
        kwargs["noise"] = noise
    if name in ("spirals", "gaussians"):
        kwargs["n_classes"] = n_classes
    ds = datasets.load(name, **kwargs)
    return np.asarray(ds.X, dtype=np.float64), np.asarray(ds.y, dtype=np.int64)


def parse_upload(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Parse an uploaded CSV with two feature columns and an integer label column.

    A header row is optional. Errors name the line and what was wrong.
    """
    if len(raw) > MAX_UPLOAD_BYTES:
        raise DataError(f"the file is {len(raw)} bytes; the limit is {MAX_UPLOAD_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError("the file is not UTF-8 text: upload a CSV file") from exc
    rows = [line for line in io.StringIO(text).read().splitlines() if line.strip()]
    if rows and not _is_number(rows[0].split(",")[0]):
        rows = rows[1:]  # header
    if not rows:
        raise DataError("the file has no data rows: expected lines 'x0,x1,label'")
    if len(rows) > MAX_UPLOAD_ROWS:
        raise DataError(f"the file has {len(rows)} rows; the limit is {MAX_UPLOAD_ROWS}")
    values = []
    for number, line in enumerate(rows, start=1):
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != 3:
            raise DataError(f"data row {number} has {len(cells)} columns, expected 3 (x0,x1,label): {line!r}")
        if not all(_is_number(c) for c in cells):
            raise DataError(f"data row {number} has a non-numeric value: {line!r}")
        values.append([float(c) for c in cells])
    arr = np.array(values)
    if not np.isfinite(arr).all():
        raise DataError("the file holds NaN or infinite values")
    labels = arr[:, 2]
    if not np.array_equal(labels, np.round(labels)) or labels.min() < 0:
        raise DataError("labels (third column) must be whole numbers 0, 1, 2, ...")
    y = labels.astype(np.int64)
    if len(np.unique(y)) < 2 or y.max() >= 6:
        raise DataError(f"labels must cover 2 to 6 classes numbered from 0. Received: {sorted(set(y.tolist()))[:10]}")
    return arr[:, :2], y


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
