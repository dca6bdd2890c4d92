"""Loading the user's own data: CSV (one file with a target column, or separate X and y files)
and NPZ. Every problem is reported as a :class:`~nnscratch.base.errors.DataError` naming the file and,
for CSV, the line and column.
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnscratch.base.errors import DataError

from .csv_fast import delimiter_hint, peek, read_numeric
from .dataset import Dataset

#: Column names taken as the target when ``target`` is not given (compared case-insensitively).
TARGET_NAMES = ("label", "target", "y", "class")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_rows(path: Path, delimiter: str) -> list[tuple[int, list[str]]]:
    """Non-blank rows of ``path`` with their 1-based line numbers, cells stripped."""
    return peek(path, delimiter, limit=None)


def _has_header(rows: list[tuple[int, list[str]]], header: bool | str) -> bool:
    if header is True or header is False:
        return header
    if header != "infer":
        raise DataError(f"header must be True, False or 'infer'. Received: header={header!r}")
    first = rows[0][1]
    if all(not _is_number(c) for c in first):
        return True
    if len(rows) < 2:
        return False
    # A header has a text cell where the data below it is numeric.
    second = rows[1][1]
    return any(not _is_number(a) and _is_number(b) for a, b in zip(first, second, strict=False))


def _table(
    path: Path, delimiter: str, header: bool | str
) -> tuple[list[str] | None, list[tuple[int, list[str]]]]:
    rows = _read_rows(path, delimiter)
    names = None
    if _has_header(rows, header):
        names = rows[0][1]
        rows = rows[1:]
        if not rows:
            raise DataError(f"{path} has a header line but no data rows.")
    width_line, width = rows[0][0], len(rows[0][1])
    if names is not None and len(names) != width:
        raise DataError(
            f"{path}, line {width_line}: expected {len(names)} values (one per header column), found {width}."
        )
    for line, row in rows:
        if len(row) != width:
            raise DataError(
                f"{path}, line {line}: expected {width} values (as on line {width_line}), found {len(row)} "
                "(ragged rows: every row needs the same number of columns)."
            )
    return names, rows


def _column_index(path: Path, names: list[str] | None, width: int, target: str | int | None) -> int:
    if target is None:
        if names is not None:
            lowered = [n.lower() for n in names]
            for candidate in TARGET_NAMES:
                if candidate in lowered:
                    return lowered.index(candidate)
        return width - 1
    if isinstance(target, bool) or not isinstance(target, (str, int, np.integer)):
        raise DataError(f"target must be a column name or index. Received: target={target!r}")
    if isinstance(target, str):
        if names is None:
            raise DataError(
                f"{path} has no header line, so target={target!r} cannot name a column: pass a column "
                "index (e.g. target=-1 for the last column) or add a header."
            )
        if target not in names:
            raise DataError(f"{path}: no column named {target!r}. Columns: {', '.join(names)}.")
        return names.index(target)
    if not -width <= target < width:
        raise DataError(f"{path}: target column index {target} is out of range for {width} columns.")
    return int(target) % width


def _cell_error(
    path: Path, line: int, col: int, names: list[str] | None, text: str, delimiter: str = ","
) -> DataError:
    where = f"{path}, line {line}, column {col + 1}" + (f" ({names[col]!r})" if names else "")
    if text == "":
        return DataError(f"{where}: empty cell. Missing values are not supported: fill or drop the row.")
    if text.lower() in ("nan", "na", "n/a", "null", "none", "?"):
        return DataError(
            f"{where}: missing value {text!r}. Missing values are not supported: fill or drop the row."
        )
    if _is_number(text):
        return DataError(f"{where}: non-finite value {text!r}. Expected a finite number.")
    return DataError(f"{where}: cannot read {text!r} as a number.{delimiter_hint([text], delimiter)}")


def _numeric(
    path: Path,
    names: list[str] | None,
    rows: list[tuple[int, list[str]]],
    cols: list[int],
    delimiter: str = ",",
) -> np.ndarray:
    out = np.empty((len(rows), len(cols)), dtype=np.float64)
    for i, (line, row) in enumerate(rows):
        for j, c in enumerate(cols):
            text = row[c]
            try:
                value = float(text)
            except ValueError:
                raise _cell_error(path, line, c, names, text, delimiter) from None
            if not math.isfinite(value):
                raise _cell_error(path, line, c, names, text)
            out[i, j] = value
    return out


def _labels(
    path: Path,
    names: list[str] | None,
    rows: list[tuple[int, list[str]]],
    col: int,
    task: str | None,
    delimiter: str = ",",
) -> tuple[np.ndarray, list[str], str | None]:
    """Target column → (y, target_names, task). Text labels map to 0..C-1 in sorted order."""
    cells = [row[col] for _, row in rows]
    for (line, _), text in zip(rows, cells, strict=True):
        if text == "" or text.lower() in ("nan", "na", "n/a", "null", "none", "?"):
            raise _cell_error(path, line, col, names, text)
    if not all(_is_number(c) for c in cells):
        if task == "regression":
            bad = next((line, c) for (line, _), c in zip(rows, cells, strict=True) if not _is_number(c))
            raise _cell_error(path, bad[0], col, names, bad[1], delimiter)
        classes = sorted(set(cells))
        _check_classes(path, names, col, classes, len(cells))
        lookup = {c: k for k, c in enumerate(classes)}
        y = np.array([lookup[c] for c in cells], dtype=np.int64)
        return y, classes, task or ("binary" if len(classes) <= 2 else "multiclass")
    values = _numeric(path, names, rows, [col], delimiter)[:, 0]
    return _numeric_labels(path, names, col, values, task)


def _numeric_labels(
    path: Path, names: list[str] | None, col: int, values: np.ndarray, task: str | None
) -> tuple[np.ndarray, list[str], str | None]:
    """A numeric target column → (y, target_names, task): whole numbers are classes (mapped to
    0..C-1 in sorted order) unless ``task`` says regression; fractional values are regression."""
    whole = np.array_equal(values, np.round(values))
    if task == "regression" or (task is None and not whole):
        return values, [], "regression"
    if not whole:
        raise DataError(f"{path}: task={task!r} needs whole-number class labels in the target column.")
    classes_num = np.unique(values)
    _check_classes(path, names, col, [f"{v:g}" for v in classes_num[:2]], len(values))
    if np.array_equal(classes_num, np.arange(len(classes_num))):
        return values.astype(np.int64), [str(int(k)) for k in classes_num], task
    # Labels such as {1, 2} or {-1, 1}: map the sorted distinct values to 0..C-1.
    y = np.searchsorted(classes_num, values).astype(np.int64)
    return y, [f"{v:g}" for v in classes_num], task


def _check_classes(path: Path, names: list[str] | None, col: int, classes: list[str], n: int) -> None:
    """A classification target needs two classes: with one, every model scores 100%."""
    if len(classes) < 2:
        column = f"{names[col]!r}" if names else f"{col + 1}"
        raise DataError(
            f"{path}: the target column {column} holds a single class ({classes[0]}) in all {n} rows; "
            "classification needs at least two classes. Expected a file with samples of every class "
            "(or task='regression' for a numeric target)."
        )


@dataclass
class _Csv:
    """A CSV's data rows: ``values`` (every cell as float64) when the fast path read them, else
    ``rows`` (the cells as text, with their line numbers) for the slow, locating path."""

    path: Path
    names: list[str] | None
    first: list[str]  # the first line's cells, for a delimiter hint
    width: int
    values: np.ndarray | None = None
    rows: list[tuple[int, list[str]]] | None = None

    @property
    def n_rows(self) -> int:
        return len(self.values) if self.values is not None else len(self.rows or [])

    def labels(self, col: int, task: str | None, delimiter: str) -> tuple[np.ndarray, list[str], str | None]:
        if self.values is not None:
            return _numeric_labels(self.path, self.names, col, self.values[:, col], task)
        return _labels(self.path, self.names, self.rows or [], col, task, delimiter)

    def features(self, cols: list[int], delimiter: str) -> np.ndarray:
        if self.values is not None:
            return self.values[:, cols]
        return _numeric(self.path, self.names, self.rows or [], cols, delimiter)


def _load(path: Path, delimiter: str, header: bool | str) -> _Csv:
    """Read ``path`` once with NumPy's C parser when every cell is a finite number; otherwise
    read it as text, so that a bad cell or a ragged row is reported with its line and column."""
    first = peek(path, delimiter)
    has_header = _has_header(first, header)
    if has_header and len(first) < 2:
        raise DataError(f"{path} has a header line but no data rows.")
    names = first[0][1] if has_header else None
    data_line, cells = first[1] if has_header else first[0]
    if names is not None and len(names) != len(cells):
        raise DataError(
            f"{path}, line {data_line}: expected {len(names)} values (one per header column), "
            f"found {len(cells)}."
        )
    values = read_numeric(path, delimiter, first[0][0] if has_header else 0, len(cells))
    if values is not None:
        return _Csv(path, names, first[0][1], len(cells), values=values)
    names, rows = _table(path, delimiter, header)
    return _Csv(path, names, first[0][1], len(rows[0][1]), rows=rows)


def from_csv(
    path: str | Path,
    target: str | int | None = None,
    *,
    y_path: str | Path | None = None,
    delimiter: str = ",",
    header: bool | str = "infer",
    name: str | None = None,
    task: str | None = None,
) -> Dataset:
    """Load a dataset from CSV: one file with a target column, or an X file and a y file.

    Parameters
    ----------
    path : str or Path
        The CSV file of features (and the target, unless ``y_path`` is given).
    target : str or int, optional
        The target column, by header name or index (negative counts from the end). By default a
        column named ``label``, ``target``, ``y`` or ``class``, else the last column. With
        ``y_path`` it selects the column of the y file (default: its only/last column).
    y_path : str or Path, optional
        A separate file of targets, one row per row of ``path``.
    delimiter : str
    header : True, False or "infer"
        Whether the first line names the columns; "infer" says yes when it holds text where the
        line below holds numbers.
    name : str, optional
        The dataset's name (default: the file's stem).
    task : {"binary", "multiclass", "regression"}, optional
        Default: inferred (text or whole-number targets are classes, fractional ones regression).

    Notes
    -----
    Text labels map to ``0..C-1`` in sorted order, with ``target_names`` keeping the text; numeric
    labels that are not ``0..C-1`` (e.g. ``{1, 2}`` or ``{-1, 1}``) are mapped the same way.
    """
    path = Path(path)
    table = _load(path, delimiter, header)
    names = table.names
    if y_path is None:
        if table.width < 2:
            raise DataError(
                f"{path} has a single column: a feature column and a target column are needed."
                + delimiter_hint(table.first, delimiter)
            )
        t = _column_index(path, names, table.width, target)
        feature_cols = [c for c in range(table.width) if c != t]
        X = table.features(feature_cols, delimiter)  # a bad cell first: a one-row file has one class
        y, target_names, task = table.labels(t, task, delimiter)
    else:
        y_file = Path(y_path)
        y_table = _load(y_file, delimiter, header)
        t = _column_index(y_file, y_table.names, y_table.width, target)
        if y_table.n_rows != table.n_rows:
            raise DataError(
                f"{path} has {table.n_rows} data rows but {y_file} has {y_table.n_rows}: "
                "X and y files need one row per sample."
            )
        feature_cols = list(range(table.width))
        X = table.features(feature_cols, delimiter)
        y, target_names, task = y_table.labels(t, task, delimiter)
    features = [names[c] for c in feature_cols] if names else [f"x{i}" for i in range(len(feature_cols))]
    source = f"{path}" + (f" (targets from {y_path})" if y_path is not None else "")
    return Dataset(X, y, name or path.stem, features, target_names, task or "", f"Loaded from {source}.")


def from_npz(
    path: str | Path,
    x_key: str = "X",
    y_key: str = "y",
    *,
    name: str | None = None,
    task: str | None = None,
) -> Dataset:
    """Load ``X`` (n_samples, n_features) and ``y`` (n_samples,) from a NumPy ``.npz`` archive.

    Images ``X`` of shape (n_samples, H, W) or (n_samples, C, H, W) are flattened to rows of pixels
    (a Dataset is 2-D); a convolutional model gets them back with ``Unflatten(1, (C, H, W))``.

    Read with ``allow_pickle=False``: archives holding Python objects are refused.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file.")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable .npz archive ({exc}).") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: expected an .npz archive (np.savez), found a single array (.npy).")
    with archive:
        keys = list(archive.files)
        arrays = {}
        for key in (x_key, y_key):
            if key not in keys:
                raise DataError(
                    f"{path}: no array named {key!r}. Arrays in the file: {', '.join(keys) or 'none'}."
                )
            try:
                arrays[key] = archive[key]
            except ValueError as exc:  # object arrays need pickle, which is refused
                raise DataError(
                    f"{path}: array {key!r} holds Python objects, which are not loaded (allow_pickle=False). "
                    "Save numeric arrays instead."
                ) from exc
    X, y = arrays[x_key], arrays[y_key]
    for key, arr in ((x_key, X), (y_key, y)):
        if arr.dtype.kind not in "biuf":
            raise DataError(f"{path}: array {key!r} must be numeric. Received dtype {arr.dtype}.")
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim < 2:
        raise DataError(f"{path}: {x_key!r} must be 2-D (n_samples, n_features). Received shape {X.shape}.")
    sample_shape = X.shape[1:]
    if X.ndim > 2:  # images (N, H, W) or (N, C, H, W): one row of pixels per sample
        X = X.reshape(len(X), -1)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{path}: {y_key!r} must be 1-D (n_samples,). Received shape {y.shape}.")
    if len(X) != len(y):
        raise DataError(f"{path}: {x_key!r} has {len(X)} rows but {y_key!r} has {len(y)}.")
    if len(X) == 0:
        raise DataError(f"{path}: the arrays are empty.")
    for key, arr in ((x_key, X), (y_key, y)):
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            first = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
            raise DataError(f"{path}: {key!r} holds NaN or inf (first at index {first}).")
    target_names: list[str] = []
    if task != "regression" and (y.dtype.kind in "biu" or np.array_equal(y, np.round(y))):
        classes = np.unique(y)
        if not np.array_equal(classes, np.arange(len(classes))):
            target_names = [f"{v:g}" for v in classes]
            y = np.searchsorted(classes, y)
    desc = f"Loaded from {path}."
    if len(sample_shape) > 1:
        image = list(sample_shape) if len(sample_shape) > 2 else [1, *sample_shape]
        desc += (
            f" {x_key!r} holds arrays of shape {tuple(sample_shape)}, flattened to {X.shape[1]} features; "
            f"Unflatten(1, {image}) restores them for a Conv2d."
        )
    return Dataset(X, y, name or path.stem, [], target_names, task or "", desc)


__all__ = ["TARGET_NAMES", "from_csv", "from_npz"]
