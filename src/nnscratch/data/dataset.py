"""The :class:`Dataset` container and the preprocessing helpers that act on it.

A dataset is a feature matrix ``X`` of shape ``(n_samples, n_features)`` in float64 and a target
vector ``y`` of shape ``(n_samples,)`` — integer class labels ``0..C-1`` for classification, floats
for regression — or, for sequence tasks, a target per position ``(n_samples, T)`` of class labels;
plus the names a report needs. ``X, y = ds`` unpacks it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from nnscratch.base.errors import DataError, HyperparameterError, LabelError, ShapeError, StateError
from nnscratch.base.validation import as_array, check_finite, describe

TASKS = ("binary", "multiclass", "regression", "sequence")


def infer_task(y: np.ndarray) -> str:
    """``"sequence"`` for a label per position (2-D y), ``"regression"`` for float targets with
    fractional values, else binary/multiclass by count."""
    if y.ndim == 2:
        return "sequence"
    if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
        return "regression"
    return "binary" if len(np.unique(y)) <= 2 else "multiclass"


def stratifiable(task: str) -> bool:
    """Whether splits can keep class proportions: one class label per sample."""
    return task in ("binary", "multiclass")


@dataclass
class Dataset:
    """Features, targets and their names.

    Attributes
    ----------
    X : ndarray, shape (n_samples, n_features), float64
    y : ndarray, shape (n_samples,), or (n_samples, T) for sequences
        int64 class labels ``0..C-1`` (binary/multiclass; per position for a sequence task) or
        float64 values (regression).
    name : str
    feature_names : list of str, length n_features
    target_names : list of str
        The class names, ``target_names[k]`` naming label ``k`` (empty for regression).
    task : {"binary", "multiclass", "regression", "sequence"}
    description : str
        Where the data comes from and how it was built.
    """

    X: np.ndarray
    y: np.ndarray
    name: str = "data"
    feature_names: list[str] = field(default_factory=list)
    target_names: list[str] = field(default_factory=list)
    task: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        X = as_array(self.X, "X", np.dtype(np.float64))
        if X.ndim != 2:
            raise ShapeError(f"Dataset X must be 2-D (n_samples, n_features). Received: {describe(X)}")
        check_finite(X, "X")
        y = as_array(self.y, "y")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim not in (1, 2) or len(y) != len(X) or (y.ndim == 2 and self.task not in ("", "sequence")):
            raise ShapeError(
                f"Dataset y must be 1-D with one target per row of X ({len(X)}), or (n_samples, T) "
                f"with a label per position for a sequence task. Received: {describe(y)}"
            )
        check_finite(y, "y")
        task = self.task or infer_task(y)
        if task not in TASKS:
            raise HyperparameterError(f"task must be one of {TASKS}. Received: task={task!r}")
        if task == "sequence" and y.ndim != 2:
            raise ShapeError(f"a sequence task needs y of shape (n_samples, T). Received: {describe(y)}")
        if task == "regression":
            y = y.astype(np.float64)
        else:
            if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
                raise LabelError(f"a {task} dataset needs whole-number class labels. Received: {describe(y)}")
            y = y.astype(np.int64)
            if len(y) and y.min() < 0:
                raise LabelError(f"class labels must be >= 0. Received: min label {y.min()}")
        self.X, self.y, self.task = X, y, task
        if not self.feature_names:
            self.feature_names = [f"x{i}" for i in range(X.shape[1])]
        if len(self.feature_names) != X.shape[1]:
            raise ShapeError(
                f"feature_names must name each of the {X.shape[1]} columns. "
                f"Received: {len(self.feature_names)} names"
            )
        self.feature_names = [str(f) for f in self.feature_names]
        if task != "regression" and not self.target_names:
            n_classes = int(y.max()) + 1 if len(y) else 0
            self.target_names = [str(k) for k in range(n_classes)]
        self.target_names = [str(t) for t in self.target_names]

    def __iter__(self) -> Iterator[np.ndarray]:
        """``X, y = dataset``."""
        yield self.X
        yield self.y

    def __len__(self) -> int:
        return len(self.X)

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_classes(self) -> int:
        """Number of classes (0 for regression)."""
        return (
            0 if self.task == "regression" else max(len(self.target_names), int(self.y.max(initial=-1)) + 1)
        )

    def subset(self, index: Any) -> Dataset:
        """The rows selected by ``index`` (an index array, mask or slice), names kept."""
        return replace(self, X=self.X[index], y=self.y[index])

    def split(
        self, test_size: float = 0.2, *, seed: int = 0, stratify: bool = True
    ) -> tuple[Dataset, Dataset]:
        """A seeded ``(train, test)`` split (stratified by class for classification)."""
        idx = np.arange(len(self))
        train_idx, test_idx = train_test_split(
            idx, self.y, test_size=test_size, seed=seed, stratify=stratify and stratifiable(self.task)
        )[:2]
        return self.subset(train_idx), self.subset(test_idx)

    def summary(self) -> dict[str, Any]:
        """JSON-safe facts about the dataset (name, task, sizes, class counts)."""
        info: dict[str, Any] = {
            "name": self.name,
            "task": self.task,
            "n_samples": self.n_samples,
            "n_features": self.n_features,
            "feature_names": list(self.feature_names),
        }
        if self.task != "regression":
            counts = np.bincount(self.y.reshape(-1), minlength=self.n_classes)
            info["n_classes"] = self.n_classes
            info["target_names"] = list(self.target_names)
            info["class_counts"] = {name: int(c) for name, c in zip(self.target_names, counts, strict=False)}
        info["description"] = self.description
        return info

    def __repr__(self) -> str:
        classes = f", n_classes={self.n_classes}" if self.task != "regression" else ""
        return (
            f"Dataset(name={self.name!r}, task={self.task!r}, n_samples={self.n_samples}, "
            f"n_features={self.n_features}{classes})"
        )


# -- preprocessing -------------------------------------------------------------------------------
class Standardizer:
    """Zero mean, unit variance per feature: ``(X - mean_) / scale_``, statistics from ``fit``.

    Constant features get ``scale_ = 1`` so they map to 0 instead of dividing by zero.
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, X: Any) -> Standardizer:
        X = _as_matrix(X)
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        return self

    def _check_fitted(self, X: Any) -> np.ndarray:
        if self.mean_ is None or self.scale_ is None:
            raise StateError("Standardizer.transform was called before fit: call fit(X_train) first.")
        X = _as_matrix(X)
        if X.shape[1] != len(self.mean_):
            raise ShapeError(
                f"Standardizer was fitted on {len(self.mean_)} features. Received: {describe(X)}"
            )
        return X

    def transform(self, X: Any) -> np.ndarray:
        X = self._check_fitted(X)
        return (X - self.mean_) / self.scale_

    def fit_transform(self, X: Any) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        X = self._check_fitted(X)
        return X * self.scale_ + self.mean_

    def to_dict(self) -> dict[str, list[float]]:
        """JSON-safe statistics (for saving alongside a model)."""
        self._check_fitted(np.zeros((1, 0 if self.mean_ is None else len(self.mean_))))
        return {"mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Sequence[float]]) -> Standardizer:
        s = cls()
        s.mean_ = np.asarray(data["mean"], dtype=np.float64)
        s.scale_ = np.asarray(data["scale"], dtype=np.float64)
        return s


def _as_matrix(X: Any) -> np.ndarray:
    X = as_array(X, "X", np.dtype(np.float64))
    if X.ndim != 2:
        raise ShapeError(f"X must be 2-D (n_samples, n_features). Received: {describe(X)}")
    if X.shape[0] == 0:
        raise DataError(f"X is empty: at least one sample is needed. Received: {describe(X)}")
    check_finite(X, "X")
    return X


def standardize(X: Any, *, reference: Any = None) -> Any:
    """Standardise ``X`` with the mean and standard deviation of ``reference`` (default: ``X``).

    Pass the training set as ``reference`` when standardising a test set so no test statistics
    leak into training. A :class:`Dataset` in gives a new Dataset out.
    """
    if isinstance(X, Dataset):
        ref = reference.X if isinstance(reference, Dataset) else reference
        return replace(X, X=standardize(X.X, reference=ref))
    scaler = Standardizer().fit(X if reference is None else reference)
    return scaler.transform(X)


def one_hot(y: Any, n_classes: int | None = None, *, dtype: Any = np.float64) -> np.ndarray:
    """One-hot rows ``(n_samples, n_classes)`` for integer labels ``0..n_classes-1``."""
    labels = as_array(y, "y")
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ShapeError(f"one_hot needs a 1-D array of class labels. Received: {describe(labels)}")
    check_finite(labels, "y")
    if labels.dtype.kind == "f" and not np.array_equal(labels, np.round(labels)):
        raise LabelError(f"one_hot needs whole-number class labels. Received: {describe(labels)}")
    labels = labels.astype(np.int64)
    if len(labels) and labels.min() < 0:
        raise LabelError(f"one_hot needs labels >= 0. Received: min label {labels.min()}")
    top = int(labels.max()) + 1 if len(labels) else 0
    if n_classes is None:
        n_classes = top
    elif isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < top:
        raise LabelError(
            f"n_classes must be an integer > the largest label ({top - 1}). Received: n_classes={n_classes!r}"
        )
    out = np.zeros((len(labels), int(n_classes)), dtype=dtype)
    out[np.arange(len(labels)), labels] = 1
    return out


def train_test_split(
    X: Any,
    y: Any,
    *,
    test_size: float = 0.2,
    seed: int = 0,
    stratify: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``X_train, X_test, y_train, y_test`` — scikit-learn's split, seeded, optionally stratified."""
    from sklearn.model_selection import train_test_split as sk_split

    X_arr = np.asarray(X)
    y_arr = np.asarray(y)
    if len(X_arr) != len(y_arr):
        raise ShapeError(
            "X and y must have the same number of samples. "
            f"Received: X {describe(X_arr)}, y {describe(y_arr)}"
        )
    if not (
        isinstance(test_size, (int, float))
        and 0 < test_size < (1 if isinstance(test_size, float) else len(X_arr))
    ):
        raise HyperparameterError(
            "test_size must be a fraction in (0, 1) or a count in [1, n_samples). "
            f"Received: test_size={test_size!r}"
        )
    try:
        parts = sk_split(
            X_arr, y_arr, test_size=test_size, random_state=seed, stratify=y_arr if stratify else None
        )
    except ValueError as exc:  # e.g. a class with a single member cannot be stratified
        raise DataError(f"cannot split the data: {exc}") from exc
    return parts[0], parts[1], parts[2], parts[3]


__all__ = [
    "TASKS",
    "Dataset",
    "Standardizer",
    "infer_task",
    "one_hot",
    "standardize",
    "stratifiable",
    "train_test_split",
]
