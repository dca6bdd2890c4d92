"""The fast path of :func:`~nnscratch.data.files.from_csv`: a whole numeric CSV in one vectorised
read (NumPy's C parser, ``np.loadtxt``), and the first lines that say its header and width.

The fast path reports no errors: on any cell that is not a finite number, or a ragged row, it
returns ``None`` and the caller's slow path (Python's ``csv`` module, cell by cell) reads the file
again to name the line and column. Good files, the common case, are parsed once, at C speed and in
about the memory of the result.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np

from nnscratch.base.errors import DataError

#: Separators a file may use instead of the one given, in the order they are suggested.
OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "vertical bar", ",": "comma"}


def delimiter_hint(cells: list[str], delimiter: str) -> str:
    """`` It looks ;-separated: ...`` when a cell read with ``delimiter`` holds another usual
    separator (a ``;``- or tab-separated file read as comma-separated), else ``""``."""
    text = delimiter.join(cells)
    for sep, word in OTHER_DELIMITERS.items():
        if sep != delimiter and sep in text:
            shown = "\\t" if sep == "\t" else sep
            return (
                f" It looks {word}-separated: pass delimiter={shown!r} "
                f'(in an experiment file, [data] delimiter = "{shown}").'
            )
    return ""


def peek(path: Path, delimiter: str, limit: int | None = 2) -> list[tuple[int, list[str]]]:
    """The first ``limit`` (None: all) non-blank rows of ``path`` with their 1-based line numbers,
    cells stripped; the rest of the file is not read."""
    if not path.is_file():
        raise DataError(f"{path}: no such file." if not path.exists() else f"{path}: not a file.")
    rows: list[tuple[int, list[str]]] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            start = 1
            for row in reader:
                if row and any(cell.strip() for cell in row):
                    rows.append((start, [cell.strip() for cell in row]))
                    if len(rows) == limit:
                        break
                start = reader.line_num + 1
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a text (UTF-8) CSV file: {exc.reason} at byte {exc.start}.") from exc
    except csv.Error as exc:
        raise DataError(f"{path}: malformed CSV: {exc}") from exc
    if not rows:
        raise DataError(f"{path} is empty: expected rows of comma-separated numbers.")
    return rows


def read_numeric(path: Path, delimiter: str, skip_lines: int, width: int) -> np.ndarray | None:
    """Every data cell as float64, shape ``(n_rows, width)``, after the first ``skip_lines``
    lines; ``None`` when a cell is not a finite number or a row has another width (the slow path
    then names it)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty input warns; the shape check below catches it
            table = np.loadtxt(
                path,
                delimiter=delimiter,
                skiprows=skip_lines,
                dtype=np.float64,
                ndmin=2,
                encoding="utf-8-sig",
                comments=None,
                quotechar='"',
            )
    except (ValueError, OSError):
        return None
    if table.shape[0] == 0 or table.shape[1] != width or not np.isfinite(table).all():
        return None
    return table


__all__ = ["delimiter_hint", "peek", "read_numeric"]
