"""The playground's 2-D datasets (the library's generators under the page's names) and CSV uploads.

The library's ``xor`` is the 4-point truth table of the course notes; a playground needs a cloud
of points to split into train and test, so the page's ``xor`` is the library's ``xor_quadrants``
(points uniform in [-1, 1]² labelled by the sign of x0·x1, the classic playground XOR).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from nnscratch.base.errors import DataError
from nnscratch.base.files import atomic_write
from nnscratch.data import Dataset, from_csv

PLAYGROUND_DATASETS = ("xor", "circles", "moons", "spirals", "gaussians", "linear")
#: the page's dataset names that differ from the library's
LIBRARY_NAMES = {"xor": "xor_quadrants"}
MAX_UPLOAD_BYTES = 2_000_000
MAX_UPLOAD_ROWS = 5000


def parse_upload(raw: bytes, filename: str = "upload.csv") -> Dataset:
    """Parse an uploaded CSV of two feature columns and a class label with the library's reader.

    Size limits are checked first; the library's :func:`~nnscratch.data.from_csv` then gives its
    located errors (line, column) for ragged rows, non-numeric values and empty cells.
    """
    if len(raw) > MAX_UPLOAD_BYTES:
        raise DataError(f"the file is {len(raw)} bytes; the limit is {MAX_UPLOAD_BYTES} bytes")
    if raw.count(b"\n") > MAX_UPLOAD_ROWS + 1:
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
    if ds.task == "regression" or not 2 <= ds.n_classes <= 6:
        raise DataError(
            f"{safe}: the label column must hold 2 to 6 classes. Received: "
            + (f"{ds.n_classes} class(es)" if ds.task != "regression" else "fractional values")
        )
    return ds
