"""The playground's 2-D datasets (the library's generators under the page's names) and CSV uploads.

The library's ``xor`` is the 4-point truth table of the course notes; a playground needs a cloud
of points to split into train and test, so the page's ``xor`` is the library's ``xor_quadrants``
(points uniform in [-1, 1]² labelled by the sign of x0·x1, the classic playground XOR).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from nnscratch.base.errors import DataError
from nnscratch.base.files import atomic_write
from nnscratch.data import Dataset, from_csv

PLAYGROUND_DATASETS = ("xor", "circles", "moons", "spirals", "gaussians", "linear", "plane", "multi_gaussian")
#: the sets with a continuous target (an identity output trained with MSE)
REGRESSION_DATASETS = ("plane", "multi_gaussian")
#: the page's dataset names that differ from the library's
LIBRARY_NAMES = {"xor": "xor_quadrants"}
MAX_UPLOAD_BYTES = 2_000_000
MAX_UPLOAD_ROWS = 5000
MIN_UPLOAD_ROWS = 8
MAX_ABS_VALUE = 1e6  # feature values beyond this would overflow the plane's pictures and training


def count_lines(raw: bytes) -> int:
    """Lines of ``raw`` under any line ending (\\n, \\r\\n or a lone \\r), a last unterminated one too."""
    breaks = raw.count(b"\n") + raw.count(b"\r") - raw.count(b"\r\n")
    return breaks + (1 if raw and not raw.endswith((b"\n", b"\r")) else 0)


def parse_upload(raw: bytes, filename: str = "upload.csv") -> Dataset:
    """Parse an uploaded CSV of two feature columns and a class label (or, with fractional values,
    a continuous target: a regression) with the library's reader.

    Size limits (bytes, and rows under any line ending) are checked first; the library's
    :func:`~nnscratch.data.from_csv` then gives its located errors (line, column) for ragged rows,
    non-numeric values and empty cells; then the values are checked as finite and within range.
    """
    if len(raw) > MAX_UPLOAD_BYTES:
        raise DataError(f"the file is {len(raw)} bytes; the limit is {MAX_UPLOAD_BYTES} bytes")
    if count_lines(raw) > MAX_UPLOAD_ROWS + 1:  # + 1: a header line
        raise DataError(f"the file has more than {MAX_UPLOAD_ROWS} rows; that is the limit")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError("the file is not UTF-8 text: upload a CSV file") from exc
    safe = "".join(c for c in Path(filename).name if c.isalnum() or c in "._-") or "upload.csv"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / safe
        atomic_write(path, raw)
        try:
            ds = from_csv(path)
        except DataError as exc:
            raise DataError(str(exc).replace(str(path), safe)) from None
    if ds.X.shape[1] != 2:
        raise DataError(
            f"{safe}: the playground needs exactly 2 feature columns and a label; found "
            f"{ds.X.shape[1]} feature columns"
        )
    if len(ds.X) < MIN_UPLOAD_ROWS:
        raise DataError(
            f"{safe}: the playground needs at least {MIN_UPLOAD_ROWS} rows. Received: {len(ds.X)}"
        )
    if len(ds.X) > MAX_UPLOAD_ROWS:
        raise DataError(f"{safe}: the file has {len(ds.X)} rows; the limit is {MAX_UPLOAD_ROWS}")
    bad = ~np.all(np.isfinite(ds.X) & (np.abs(ds.X) <= MAX_ABS_VALUE), axis=1)
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(
            f"{safe}: feature values must be finite numbers within ±{MAX_ABS_VALUE:g}. "
            f"Received: {ds.X[row].tolist()} in data row {row + 1}"
        )
    if ds.task == "regression":
        if not np.all(np.isfinite(ds.y) & (np.abs(ds.y) <= MAX_ABS_VALUE)):
            row = int(np.argmax(~(np.isfinite(ds.y) & (np.abs(ds.y) <= MAX_ABS_VALUE))))
            raise DataError(
                f"{safe}: target values must be finite numbers within ±{MAX_ABS_VALUE:g}. "
                f"Received: {ds.y[row]!r} in data row {row + 1}"
            )
        return ds
    if not 2 <= ds.n_classes <= 6:
        raise DataError(
            f"{safe}: the label column must hold 2 to 6 classes (or fractional values: a regression). "
            f"Received: {ds.n_classes} class(es)"
        )
    return ds
