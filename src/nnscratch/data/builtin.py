"""Built-in datasets: the course toy sets, synthetic generators and scikit-learn's classics.

The TensorFlow Playground's regression sets (``plane``, ``multi_gaussian``) live in
:mod:`.regression` and are listed here with the others.

Every generator takes an explicit ``seed`` (no global random state) and returns a
:class:`~nnscratch.data.dataset.Dataset`. ``load(name, **options)`` looks one up by name.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from nnscratch.base.errors import DataError, HyperparameterError
from nnscratch.base.validation import check_in_range, check_positive, check_positive_int

from .dataset import Dataset
from .regression import multi_gaussian, plane
from .sequences import digit_sequences, shakespeare

_XY = ["x0", "x1"]


def xor() -> Dataset:
    """The four XOR points ``(0,0)→0, (0,1)→1, (1,0)→1, (1,1)→0``."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([0, 1, 1, 0])
    return Dataset(X, y, "xor", _XY, ["0", "1"], "binary", "The four points of the XOR truth table.")


def xor_easy() -> Dataset:
    """21 points on the two diagonals of the unit square, labelled XOR-style.

    Construction (the "XOR easy" set of the NYCU deep-learning lab, seed 004): for
    ``i = 0, 1, ..., 10`` the point ``(0.1 i, 0.1 i)`` on the main diagonal gets label 0, and,
    except at the centre ``i = 5`` (already on the main diagonal), the point ``(0.1 i, 1 - 0.1 i)``
    on the anti-diagonal gets label 1. Rows are in that interleaved order: 11 zeros and 10 ones.
    Not random, so it takes no seed.
    """
    rows, labels = [], []
    for i in range(11):
        rows.append((0.1 * i, 0.1 * i))
        labels.append(0)
        if i == 5:
            continue
        rows.append((0.1 * i, 1.0 - 0.1 * i))
        labels.append(1)
    desc = "21 points on the diagonals of the unit square: main diagonal -> 0, anti-diagonal -> 1."
    return Dataset(np.array(rows), np.array(labels), "xor_easy", _XY, ["0", "1"], "binary", desc)


def xor_quadrants(n_samples: int = 400, noise: float = 0.1, seed: int = 0) -> Dataset:
    """A cloud of XOR points: uniform in [-1, 1]², label 1 where x0·x1 < 0 (the playground's XOR).

    Points are pushed 0.05 away from the axes (so labels are unambiguous before noise), then
    jittered by Gaussian noise of standard deviation ``noise / 2``.
    """
    n = check_positive_int(n_samples, "n_samples")
    noise = check_positive(noise, "noise", allow_zero=True)
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    X += np.sign(X) * 0.05
    y = (X[:, 0] * X[:, 1] < 0).astype(np.int64)
    X += rng.normal(0.0, noise * 0.5, size=X.shape)
    desc = f"{n} points in [-1, 1]^2 labelled by the sign of x0*x1 (noise {noise})."
    return Dataset(X, y, "xor_quadrants", _XY, ["0", "1"], "binary", desc)


def linear(n_samples: int = 100, seed: int = 0) -> Dataset:
    """``n_samples`` points uniform in the unit square, label ``1`` where ``x0 > x1`` else ``0``.

    (The NYCU lab's ``generate_linear`` uses the mirrored labels; the task is the same.)
    """
    n = check_positive_int(n_samples, "n_samples")
    X = np.random.default_rng(seed).uniform(0.0, 1.0, size=(n, 2))
    y = (X[:, 0] > X[:, 1]).astype(np.int64)
    desc = f"{n} points uniform in [0, 1]^2 labelled 1 where x0 > x1 (seed {seed})."
    return Dataset(X, y, "linear", _XY, ["0", "1"], "binary", desc)


def moons(n_samples: int = 200, noise: float = 0.2, seed: int = 0) -> Dataset:
    """scikit-learn's two interleaving half circles (``make_moons``)."""
    from sklearn.datasets import make_moons

    n = check_positive_int(n_samples, "n_samples")
    noise = check_positive(noise, "noise", allow_zero=True)
    X, y = make_moons(n, noise=noise, random_state=seed)
    desc = f"make_moons: {n} points, noise {noise:g} (seed {seed})."
    return Dataset(X, y, "moons", _XY, ["0", "1"], "binary", desc)


def circles(n_samples: int = 200, noise: float = 0.1, factor: float = 0.5, seed: int = 0) -> Dataset:
    """scikit-learn's two concentric circles (``make_circles``); ``factor`` = inner/outer radius."""
    from sklearn.datasets import make_circles

    n = check_positive_int(n_samples, "n_samples")
    noise = check_positive(noise, "noise", allow_zero=True)
    factor = check_in_range(factor, "factor", 0.0, 1.0, low_open=True, high_open=True)
    X, y = make_circles(n, noise=noise, factor=factor, random_state=seed)
    desc = f"make_circles: {n} points, noise {noise:g}, factor {factor:g} (seed {seed})."
    return Dataset(X, y, "circles", _XY, ["outer", "inner"], "binary", desc)


def spirals(n_samples: int = 300, n_classes: int = 3, noise: float = 0.2, seed: int = 0) -> Dataset:
    """Interleaved spiral arms, one per class (the CS231n construction).

    Arm ``k`` has radius ``r = linspace(0, 1, m)`` and angle ``t = linspace(4k, 4(k+1), m) + noise·N(0,1)``;
    the point is ``(r sin t, r cos t)``. ``n_samples`` is split as evenly as possible over the arms.
    """
    n = check_positive_int(n_samples, "n_samples")
    k = check_positive_int(n_classes, "n_classes")
    if k < 2 or n < k:
        raise HyperparameterError(
            f"spirals needs n_classes >= 2 and n_samples >= n_classes. "
            f"Received: n_samples={n_samples}, n_classes={n_classes}"
        )
    noise = check_positive(noise, "noise", allow_zero=True)
    rng = np.random.default_rng(seed)
    sizes = np.full(k, n // k) + (np.arange(k) < n % k)
    X_parts, y_parts = [], []
    for c, m in enumerate(sizes):
        r = np.linspace(0.0, 1.0, m)
        t = np.linspace(4.0 * c, 4.0 * (c + 1), m) + noise * rng.standard_normal(m)
        X_parts.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        y_parts.append(np.full(m, c))
    task = "binary" if k == 2 else "multiclass"
    desc = f"{k} spiral arms, {n} points, angle noise {noise:g} (seed {seed})."
    names = [str(c) for c in range(k)]
    return Dataset(np.vstack(X_parts), np.concatenate(y_parts), "spirals", _XY, names, task, desc)


def gaussians(
    n_samples: int = 300,
    n_classes: int = 3,
    centers: Any = None,
    noise: float = 1.0,
    n_features: int = 2,
    seed: int = 0,
) -> Dataset:
    """Isotropic Gaussian blobs (scikit-learn's ``make_blobs``), one per class.

    ``centers`` is an array ``(n_classes, n_features)`` of blob centres (``n_classes`` and
    ``n_features`` then follow from it) or ``None`` for random centres in [-10, 10]; ``noise`` is
    each blob's standard deviation.
    """
    from sklearn.datasets import make_blobs

    n = check_positive_int(n_samples, "n_samples")
    noise = check_positive(noise, "noise", allow_zero=True)
    if centers is None:
        k = check_positive_int(n_classes, "n_classes")
        f = check_positive_int(n_features, "n_features")
        center_arg: Any = k
    else:
        center_arg = np.asarray(centers, dtype=np.float64)
        if center_arg.ndim != 2 or not np.isfinite(center_arg).all():
            raise HyperparameterError(
                "centers must be a finite 2-D array (n_classes, n_features). "
                f"Received: centers with shape {center_arg.shape}"
            )
        k, f = center_arg.shape
    if k < 2:
        raise HyperparameterError(f"gaussians needs at least 2 classes. Received: n_classes={k}")
    X, y = make_blobs(n, n_features=f, centers=center_arg, cluster_std=noise, random_state=seed)
    task = "binary" if k == 2 else "multiclass"
    desc = f"{k} Gaussian blobs in {f}-D, {n} points, standard deviation {noise:g} (seed {seed})."
    names = [str(c) for c in range(k)]
    return Dataset(X, y, "gaussians", [f"x{i}" for i in range(f)], names, task, desc)


def iris(binary: bool = False, shuffle: bool = False, seed: int = 2) -> Dataset:
    """Fisher's iris (150 flowers, 4 features, 3 species).

    ``binary=True`` gives the CS640 homework subset (seed 002): the first 100 rows (setosa and
    versicolor) and the first 2 features (sepal length and width). ``shuffle=True`` reorders the
    rows exactly as the homework does::

        rng = np.random.default_rng(seed); indices = list(range(n)); rng.shuffle(indices)
    """
    from sklearn.datasets import load_iris

    raw = load_iris()
    X, y = raw.data, raw.target
    features, targets = list(raw.feature_names), list(raw.target_names)
    if binary:
        X, y, features, targets = X[:100, :2], y[:100], features[:2], targets[:2]
    if shuffle:
        indices = list(range(len(X)))
        np.random.default_rng(seed).shuffle(indices)
        X, y = X[indices], y[indices]
    task = "binary" if binary else "multiclass"
    desc = "Fisher's iris" + (": first 100 rows, first 2 features (homework subset)" if binary else "")
    desc += f", shuffled with seed {seed}." if shuffle else "."
    return Dataset(X, y, "iris_binary" if binary else "iris", features, targets, task, desc)


def digits(n_class: int = 10, scale: bool = True) -> Dataset:
    """scikit-learn's 8×8 hand-written digits (1797 images, 64 pixel features).

    ``scale=True`` divides the pixel counts (0..16) by 16 so features lie in [0, 1].
    """
    from sklearn.datasets import load_digits

    k = check_positive_int(n_class, "n_class")
    if not 2 <= k <= 10:
        raise HyperparameterError(f"n_class must be in [2, 10]. Received: n_class={n_class}")
    X, y = load_digits(n_class=k, return_X_y=True)
    X = X / 16.0 if scale else X.astype(np.float64)
    features = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
    desc = f"8x8 digit images, {k} classes" + (", pixels scaled to [0, 1]." if scale else ".")
    task = "binary" if k == 2 else "multiclass"
    return Dataset(X, y, "digits", features, [str(d) for d in range(k)], task, desc)


def breast_cancer() -> Dataset:
    """Wisconsin breast cancer (569 samples, 30 features; 0 = malignant, 1 = benign)."""
    from sklearn.datasets import load_breast_cancer

    raw = load_breast_cancer()
    desc = "Wisconsin diagnostic breast cancer (scikit-learn)."
    return Dataset(
        raw.data, raw.target, "breast_cancer", list(raw.feature_names), list(raw.target_names), "binary", desc
    )


def wine() -> Dataset:
    """UCI wine recognition (178 samples, 13 features, 3 cultivars)."""
    from sklearn.datasets import load_wine

    raw = load_wine()
    desc = "UCI wine recognition (scikit-learn)."
    return Dataset(
        raw.data, raw.target, "wine", list(raw.feature_names), list(raw.target_names), "multiclass", desc
    )


def sine_series(n: int, noise: float = 0.1, seed: int = 0) -> np.ndarray:
    """``s_t = sin(2π t / 50) + 0.5 sin(2π t / 17) + noise · ε_t`` for ``t = 0..n-1``, ε_t ~ N(0, 1)."""
    t = np.arange(n, dtype=np.float64)
    clean = np.sin(2 * np.pi * t / 50) + 0.5 * np.sin(2 * np.pi * t / 17)
    return clean + np.random.default_rng(seed).normal(0.0, noise, n)


def sine(n_samples: int = 1000, window: int = 20, noise: float = 0.1, seed: int = 0) -> Dataset:
    """One-step-ahead forecasting of a noisy sine wave (regression).

    The series is :func:`sine_series` of length ``n_samples + window``; row ``i`` holds the
    ``window`` values ``s_i .. s_{i+window-1}`` and its target is the next value ``s_{i+window}``.
    Rows are in time order and overlap, so hold out the *last* rows for testing (the experiment
    files' ``[data] split = "ordered"``). A recurrent model reads a row as ``window`` steps of one
    feature: start it with ``Reshape((window, 1))``. Predicting the last seen value gives an MSE of
    about 0.04 (for noise 0.1); the noise alone costs ``noise**2``.
    """
    n = check_positive_int(n_samples, "n_samples")
    w = check_positive_int(window, "window")
    noise = check_positive(noise, "noise", allow_zero=True)
    windows = np.lib.stride_tricks.sliding_window_view(sine_series(n + w, noise, seed), w + 1)
    features = [f"t-{w - i}" for i in range(w)]
    desc = (
        f"Noisy sine wave sin(2πt/50) + 0.5 sin(2πt/17) + N(0, {noise:g}²): {n} windows of {w} values, "
        f"target the next value (seed {seed}); rows in time order."
    )
    return Dataset(windows[:, :w].copy(), windows[:, w].copy(), "sine", features, [], "regression", desc)


#: name -> generator. Keys are what ``load`` and the CLI accept.
DATASETS: dict[str, Callable[..., Dataset]] = {
    "xor": xor,
    "xor_easy": xor_easy,
    "xor_quadrants": xor_quadrants,
    "linear": linear,
    "moons": moons,
    "circles": circles,
    "spirals": spirals,
    "gaussians": gaussians,
    "iris": iris,
    "digits": digits,
    "breast_cancer": breast_cancer,
    "wine": wine,
    "sine": sine,
    "plane": plane,
    "multi_gaussian": multi_gaussian,
    "digit_sequences": digit_sequences,
    "shakespeare": shakespeare,
}


def list_datasets() -> list[str]:
    """Names of the built-in datasets, for :func:`load`."""
    return list(DATASETS)


def _lookup(name: Any) -> Callable[..., Dataset]:
    key = str(name).strip().lower().replace("-", "_")
    if key not in DATASETS:
        close = difflib.get_close_matches(key, list(DATASETS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise DataError(f"unknown dataset {name!r}.{hint} Available: {', '.join(DATASETS)}.")
    return DATASETS[key]


def dataset_options(name: str) -> dict[str, Any]:
    """The options :func:`load` accepts for ``name``, with their defaults."""
    sig = inspect.signature(_lookup(name))
    return {p.name: p.default for p in sig.parameters.values()}


def load(name: str, **options: Any) -> Dataset:
    """Load the built-in dataset ``name`` (see :func:`list_datasets`) with its ``options``.

    Examples: ``load("xor")``, ``load("moons", n_samples=500, noise=0.3, seed=1)``,
    ``load("iris", binary=True, shuffle=True)``.
    """
    fn = _lookup(name)
    allowed = dataset_options(name)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        accepted = ", ".join(allowed) or "no options"
        raise DataError(
            f"dataset {name!r} has no option {', '.join(map(repr, unknown))}. It accepts: {accepted}."
        )
    return fn(**options)


def describe(name: str, **options: Any) -> dict[str, Any]:
    """JSON-safe facts about a built-in dataset: its summary plus ``options`` with defaults."""
    info = load(name, **options).summary()
    info["name"] = str(name).strip().lower().replace("-", "_")
    info["options"] = {**dataset_options(name), **options}
    info["doc"] = inspect.getdoc(_lookup(name)) or ""
    return info


__all__ = [
    "DATASETS",
    "breast_cancer",
    "circles",
    "dataset_options",
    "describe",
    "digits",
    "gaussians",
    "iris",
    "linear",
    "list_datasets",
    "load",
    "moons",
    "sine",
    "sine_series",
    "spirals",
    "wine",
    "xor",
    "xor_easy",
]
