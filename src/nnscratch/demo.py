"""``make demo``: the course networks, trained from scratch.

1. XOR with the 2-2-1 network of the CECS 551 assignment (tanh hidden layer, sigmoid output,
   binary cross-entropy, plain gradient descent).
2. make_moons (200 points, noise 0.2) with the 2-3-3-1 tanh/tanh/sigmoid network of the
   "2-layer network using backpropagation" notebook.
"""

from __future__ import annotations

import numpy as np

import nnscratch as ns


def moons(n: int = 200, noise: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """make_moons as in the notebook (``np.random.seed(0); make_moons(200, noise=0.20)``)."""
    from sklearn.datasets import make_moons

    return make_moons(n, noise=noise, random_state=seed)


def xor_demo() -> float:
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    model = ns.Sequential(ns.Linear(2, 2, rng=0), ns.Tanh(), ns.Linear(2, 1, rng=100), ns.Sigmoid())
    print("XOR: 2-2-1, tanh -> sigmoid, binary cross-entropy, gradient descent (lr=0.5)")
    history = ns.fit(
        model, X, y, loss=ns.BCELoss(), optimizer=ns.SGD(model.parameters(), lr=0.5), epochs=2000, verbose=400
    )
    proba = model.predict_proba(X)
    pred = model.predict(X)
    for xi, p, yhat, yi in zip(X, proba, pred, y, strict=True):
        print(f"  x={xi.astype(int)}  y_hat={p:.4f}  predicted {yhat}  (target {yi})")
    accuracy = float(np.mean(pred == y))
    print(f"  final loss {history.last('loss'):.4f}, accuracy {accuracy:.0%}\n")
    return accuracy


def moons_demo() -> float:
    X, y = moons()
    model = ns.Sequential(
        ns.Linear(2, 3, rng=0),
        ns.Tanh(),
        ns.Linear(3, 3, rng=1),
        ns.Tanh(),
        ns.Linear(3, 1, rng=2),
        ns.Sigmoid(),
    )
    print("make_moons (200 points, noise 0.2): 2-3-3-1, tanh, tanh, sigmoid, BCE, gradient descent")
    # The notebook sums the loss over the 200 points with lr=0.01; with the mean that is lr=2.
    history = ns.fit(
        model,
        X,
        y,
        loss=ns.BCELoss(reduction="sum"),
        optimizer=ns.SGD(model.parameters(), lr=0.01),
        epochs=2000,
        verbose=250,
    )
    accuracy = float(np.mean(model.predict(X) == y))
    print(
        f"  final loss {history.last('loss'):.4f} (summed over 200 points), "
        f"training accuracy {accuracy:.1%}\n"
    )
    return accuracy


def main() -> None:
    xor_demo()
    moons_demo()


if __name__ == "__main__":
    main()
