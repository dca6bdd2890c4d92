"""The TensorFlow Playground's regression sets: a plane and signed Gaussian bumps over 2-D points.

As in the Playground, points are uniform in the square [-6, 6]² and ``noise`` (0 to 0.5 there,
any value >= 0 here) jitters where the target is read, not the points: each target is the clean
function at ``x + noise·u`` with ``u`` uniform in [-6, 6]², so a point's target is its
neighbour's. The targets are continuous (``task = "regression"``): train them with an MSE loss
and an identity output.
"""

from __future__ import annotations

import numpy as np

from nnscratch.base.validation import check_positive, check_positive_int

from .dataset import Dataset

RADIUS = 6.0  # points lie in [-RADIUS, RADIUS]², the Playground's square
_XY = ["x0", "x1"]

#: (centre x0, centre x1, sign) of the six bumps of :func:`multi_gaussian`: the Playground's layout.
BUMPS = np.array(
    [
        [-4.0, 2.5, 1.0],
        [0.0, 2.5, -1.0],
        [4.0, 2.5, 1.0],
        [-4.0, -2.5, -1.0],
        [0.0, -2.5, 1.0],
        [4.0, -2.5, -1.0],
    ]
)


def plane_target(X: np.ndarray) -> np.ndarray:
    """The clean plane: ``(x0 + x1) / 10``, from -1.2 to 1.2 over the square (the Playground's)."""
    return (X[:, 0] + X[:, 1]) / 10.0


def bumps_target(X: np.ndarray, width: float = 1.0) -> np.ndarray:
    """The clean bumps: ``Σ_k s_k · exp(-‖x - c_k‖² / (2·width²))`` over :data:`BUMPS`."""
    d2 = (X[:, None, 0] - BUMPS[None, :, 0]) ** 2 + (X[:, None, 1] - BUMPS[None, :, 1]) ** 2
    return np.exp(-d2 / (2.0 * width * width)) @ BUMPS[:, 2]


def _points(n_samples: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray, int, float]:
    """``(X, where each target is read, n, noise)``: points uniform in the square, then the jitter."""
    n = check_positive_int(n_samples, "n_samples")
    noise = check_positive(noise, "noise", allow_zero=True)
    rng = np.random.default_rng(seed)
    X = rng.uniform(-RADIUS, RADIUS, size=(n, 2))
    read_at = X + noise * rng.uniform(-RADIUS, RADIUS, size=(n, 2))  # drawn even for noise 0: same X
    return X, read_at, n, noise


def plane(n_samples: int = 200, noise: float = 0.0, seed: int = 0) -> Dataset:
    """Regression on a tilted plane, the Playground's "Plane": ``y = (x0 + x1) / 10``.

    Points uniform in [-6, 6]²; with ``noise`` each target is the plane at the point moved by
    ``noise·u``, u uniform in [-6, 6]² (see the module's docstring). A network without hidden
    layers (``Linear`` + identity output) fits it exactly when ``noise = 0``.
    """
    X, read_at, n, noise = _points(n_samples, noise, seed)
    desc = f"{n} points in [-6, 6]^2, target (x0 + x1)/10 read with noise {noise:g} (seed {seed})."
    return Dataset(X, plane_target(read_at), "plane", _XY, [], "regression", desc)


def multi_gaussian(n_samples: int = 200, noise: float = 0.0, seed: int = 0) -> Dataset:
    """Regression on six signed Gaussian bumps, the Playground's "Multi Gaussian".

    ``y = Σ_k s_k · exp(-‖x - c_k‖² / 2)``: bumps of height ±1 and width 1 centred at
    (-4, 2.5) +, (0, 2.5) -, (4, 2.5) +, (-4, -2.5) -, (0, -2.5) +, (4, -2.5) - (:data:`BUMPS`),
    a checkerboard of hills and pits, near 0 between them. Points uniform in [-6, 6]²; with
    ``noise`` each target is the bumps' value at the point moved by ``noise·u``, u uniform in
    [-6, 6]² (see the module's docstring).
    """
    X, read_at, n, noise = _points(n_samples, noise, seed)
    desc = (
        f"{n} points in [-6, 6]^2, target the sum of 6 signed Gaussian bumps read with noise {noise:g} "
        f"(seed {seed})."
    )
    return Dataset(X, bumps_target(read_at), "multi_gaussian", _XY, [], "regression", desc)


__all__ = ["BUMPS", "RADIUS", "bumps_target", "multi_gaussian", "plane", "plane_target"]
