"""The benchmark cases: architecture, data, batches, loss, optimizer, and their FLOP counts.

Every case is one training step (forward + loss + backward + optimizer step) in float32 on
fixed batches; the implementations in ``impls.py`` all read the same :class:`Case`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DTYPE = np.float32


@dataclass
class Case:
    """A dense (multi-layer perceptron) benchmark case.

    ``sizes`` are the layer widths from input to output; every hidden layer uses ``hidden``
    (``"tanh"``, ``"sigmoid"`` or ``"relu"``); the output is a sigmoid with binary
    cross-entropy (one output unit) or logits with softmax cross-entropy (several).
    """

    key: str
    title: str
    sizes: list[int]
    hidden: str
    batch: int
    n_samples: int
    lr: float
    momentum: float = 0.0
    seed: int = 0
    kind: str = "dense"
    X: np.ndarray = field(repr=False, default=None)
    y: np.ndarray = field(repr=False, default=None)
    batches: list[tuple[np.ndarray, np.ndarray]] = field(repr=False, default_factory=list)
    sklearn: bool = True
    reference: bool = True

    @property
    def binary(self) -> bool:
        return self.sizes[-1] == 1

    @property
    def n_classes(self) -> int:
        return 2 if self.binary else self.sizes[-1]

    @property
    def loss_name(self) -> str:
        return "BCE on sigmoid" if self.binary else "softmax cross-entropy"

    def describe(self) -> str:
        arch = "-".join(str(s) for s in self.sizes)
        opt = f"SGD lr={self.lr}" + (f" momentum={self.momentum}" if self.momentum else "")
        return (
            f"{arch} {self.hidden}, {self.loss_name}, batch {self.batch} of {self.n_samples} "
            f"({len(self.batches)} batches), {opt}"
        )

    def gemms(self) -> list[tuple[str, int, int, int]]:
        """The matrix products of one step as (label, m, n, k): C (m, n) = A (m, k) @ B (k, n)."""
        n = self.batch
        out = []
        pairs = list(zip(self.sizes[:-1], self.sizes[1:], strict=True))
        for i, (fan_in, fan_out) in enumerate(pairs):
            out.append((f"fwd{i}", n, fan_out, fan_in))
        for i in reversed(range(len(pairs))):
            fan_in, fan_out = pairs[i]
            out.append((f"dW{i}", fan_out, fan_in, n))
            if i > 0:  # the first layer's input gradient is never needed
                out.append((f"dx{i}", n, fan_in, fan_out))
        return out

    def flops(self) -> int:
        """Multiply-add FLOPs (2·m·n·k) of the step's matrix products: the work BLAS must do."""
        return sum(2 * m * n_ * k for _, m, n_, k in self.gemms())


def _make_batches(case: Case) -> Case:
    """Cut the data into contiguous float32 batches of exactly ``case.batch`` rows."""
    X = np.ascontiguousarray(case.X, dtype=DTYPE)
    y = np.asarray(case.y, dtype=np.int64)
    nb = max(1, len(X) // case.batch)
    case.batches = [
        (
            np.ascontiguousarray(X[i * case.batch : (i + 1) * case.batch]),
            y[i * case.batch : (i + 1) * case.batch],
        )
        for i in range(nb)
    ]
    return case


def _moons(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_moons

    X, y = make_moons(n, noise=0.20, random_state=seed)
    return X.astype(DTYPE), y.astype(np.int64)


def _mnist_like(n: int, n_features: int, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic 784-feature data in [0, 1] with labels from a random linear teacher.

    Timings do not depend on the values; a learnable rule keeps the training step realistic.
    """
    rng = np.random.default_rng(seed)
    X = rng.random((n, n_features), dtype=DTYPE)
    teacher = rng.standard_normal((n_features, n_classes)).astype(DTYPE)
    y = (X @ teacher).argmax(axis=1).astype(np.int64)
    return X, y


def dense_cases() -> list[Case]:
    """Cases (a)–(d) of issue 6."""
    cases = []
    X, y = _moons(200, 0)
    cases.append(Case("a", "(a) moons 2-3-3-1", [2, 3, 3, 1], "tanh", 200, 200, lr=0.5, X=X, y=y))
    X, y = _moons(1000, 1)
    cases.append(
        Case("b_full", "(b) 2-32-32-1 full batch", [2, 32, 32, 1], "sigmoid", 1000, 1000, lr=0.5, X=X, y=y)
    )
    cases.append(
        Case("b_32", "(b) 2-32-32-1 batch 32", [2, 32, 32, 1], "sigmoid", 32, 1000, lr=0.5, X=X, y=y)
    )
    X, y = _mnist_like(1024, 784, 10, 2)
    cases.append(
        Case(
            "c", "(c) 784-256-128-10", [784, 256, 128, 10], "relu", 128, 1024, lr=0.05, momentum=0.9, X=X, y=y
        )
    )
    X, y = _mnist_like(1024, 784, 10, 3)
    cases.append(
        Case(
            "d",
            "(d) 784-1024-1024-10",
            [784, 1024, 1024, 10],
            "relu",
            256,
            1024,
            lr=0.05,
            momentum=0.9,
            X=X,
            y=y,
        )
    )
    return [_make_batches(c) for c in cases]
