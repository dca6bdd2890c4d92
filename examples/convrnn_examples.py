"""Worked CNN and RNN examples: digits as images, digits as sequences, and sine-wave forecasting.

Each function trains from a fixed seed and returns its numbers, so the scripts beside this file and
the tests run exactly the same code:

- :func:`cnn_digits` — a small CNN on scikit-learn's 8×8 ``digits`` (>= 97% test accuracy);
- :func:`rnn_digits` — an LSTM (or GRU/RNN) reading each digit row by row, 8 steps of 8 pixels
  (>= 95% test accuracy);
- :func:`sine_forecast` — an LSTM predicting the next value of a noisy sine wave from the previous
  ``window`` values, with a prediction-vs-truth plot.

All of them need scikit-learn (data and split); the plot needs matplotlib (``nnscratch[experiments]``).
They run BLAS on ``blas_threads`` threads (1 by default): these models are small, and on a busy
2-core machine extra BLAS threads only wait for a free core, slowing their tiny matrix products.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import nnscratch as ns
from nnscratch.base.backend import blas_threads as limit_blas  # the argument name is taken


def _digits(seed: int, test_size: float = 0.25) -> tuple[np.ndarray, ...]:
    """scikit-learn's 8×8 digits scaled to [0, 1] (``ns.data.digits``), split stratified with ``seed``."""
    from sklearn.model_selection import train_test_split

    data = ns.data.digits()
    X = data.X.astype(np.float32)
    return tuple(train_test_split(X, data.y, test_size=test_size, stratify=data.y, random_state=seed))


def cnn_digits(
    seed: int = 0, epochs: int = 20, batch_size: int = 32, verbose: int = 0, blas_threads: int | None = 1
) -> dict[str, Any]:
    """Train ``conv(1→32, 3×3, same) → ReLU → maxpool 2 → conv(32→64) → ReLU → maxpool 2 → dense``
    with Adam (lr 3e-3) on 75% of the digits; test on the other 25%.

    Returns a dict with ``test_accuracy``, ``history`` and the trained ``model``.
    """
    X_train, X_test, y_train, y_test = _digits(seed)
    X_train, X_test = X_train.reshape(-1, 1, 8, 8), X_test.reshape(-1, 1, 8, 8)
    rng = np.random.default_rng(seed)
    f32 = np.float32
    model = ns.Sequential(
        ns.Conv2d(1, 32, 3, padding=1, dtype=f32, rng=rng),
        ns.ReLU(),
        ns.MaxPool2d(2),
        ns.Conv2d(32, 64, 3, padding=1, dtype=f32, rng=rng),
        ns.ReLU(),
        ns.MaxPool2d(2),
        ns.Flatten(),
        ns.Linear(64 * 2 * 2, 10, dtype=f32, rng=rng),
    )
    with limit_blas(blas_threads):
        history = ns.fit(
            model,
            X_train,
            y_train,
            loss=ns.CrossEntropyLoss(),
            optimizer=ns.Adam(model.parameters(), lr=3e-3),
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            verbose=verbose,
        )
    accuracy = float(np.mean(ns.predict(model, X_test) == y_test))
    return {"test_accuracy": accuracy, "history": history, "model": model}


def rnn_digits(
    seed: int = 0,
    cell: str = "lstm",
    hidden: int = 64,
    epochs: int = 40,
    batch_size: int = 32,
    verbose: int = 0,
    blas_threads: int | None = 1,
) -> dict[str, Any]:
    """Read each digit as a sequence of its 8 rows (8 features each) with an LSTM/GRU/RNN.

    Model: ``cell(8 → hidden) → LastTimeStep → Linear(hidden → 10)``, Adam (lr 5e-3) with a cosine
    learning-rate schedule. Returns ``test_accuracy``, ``history`` and ``model``.
    """
    X_train, X_test, y_train, y_test = _digits(seed)
    X_train, X_test = X_train.reshape(-1, 8, 8), X_test.reshape(-1, 8, 8)
    rng = np.random.default_rng(seed)
    cls = {"lstm": ns.LSTM, "gru": ns.GRU, "rnn": ns.RNN}[cell]
    model = ns.Sequential(
        cls(8, hidden, dtype=np.float32, rng=rng),
        ns.LastTimeStep(),
        ns.Linear(hidden, 10, dtype=np.float32, rng=rng),
    )
    opt = ns.Adam(model.parameters(), lr=5e-3)
    schedule = ns.CosineAnnealingLR(opt, T_max=epochs)
    with limit_blas(blas_threads):
        history = ns.fit(
            model,
            X_train,
            y_train,
            loss=ns.CrossEntropyLoss(),
            optimizer=opt,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            verbose=verbose,
            callbacks=[lambda state, logs: schedule.step()],
        )
    accuracy = float(np.mean(ns.predict(model, X_test) == y_test))
    return {"test_accuracy": accuracy, "history": history, "model": model}


def noisy_sine(n: int = 1200, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """t and sin(2π t / 50) + 0.5 sin(2π t / 17) + Gaussian noise of std ``noise``, t = 0..n-1."""
    # the same series as the experiment files' ``dataset = "sine"``
    return np.arange(n, dtype=np.float64), ns.data.sine_series(n, noise, seed)


def sine_forecast(
    seed: int = 0,
    window: int = 20,
    hidden: int = 32,
    epochs: int = 30,
    plot_path: str | Path | None = None,
    verbose: int = 0,
    blas_threads: int | None = 1,
) -> dict[str, Any]:
    """One-step-ahead forecasting of a noisy sine wave with ``LSTM(1 → hidden) → LastTimeStep → Linear``.

    The first 75% of the series trains, the rest tests (no shuffling across the split). Returns
    ``test_mse``, ``naive_mse`` (predicting the last seen value), ``noise_mse`` (the irreducible
    noise variance), the test ``prediction`` and ``truth``, and the path of the plot if one was made.
    """
    noise = 0.1
    _, series = noisy_sine(seed=seed, noise=noise)
    series = series.astype(np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(series, window + 1)
    X, y = windows[:, :window, None].copy(), windows[:, window:].copy()
    split = int(0.75 * len(X))
    rng = np.random.default_rng(seed)
    model = ns.Sequential(
        ns.LSTM(1, hidden, dtype=np.float32, rng=rng),
        ns.LastTimeStep(),
        ns.Linear(hidden, 1, dtype=np.float32, rng=rng),
    )
    with limit_blas(blas_threads):
        history = ns.fit(
            model,
            X[:split],
            y[:split],
            loss=ns.MSELoss(),
            optimizer=ns.Adam(model.parameters(), lr=5e-3),
            epochs=epochs,
            batch_size=32,
            seed=seed,
            verbose=verbose,
        )
    model.eval()
    pred = model(X[split:])[:, 0]
    truth = y[split:, 0]
    result: dict[str, Any] = {
        "test_mse": float(np.mean((pred - truth) ** 2)),
        "naive_mse": float(np.mean((X[split:, -1, 0] - truth) ** 2)),
        "noise_mse": noise**2,
        "prediction": pred,
        "truth": truth,
        "history": history,
        "model": model,
        "plot": None,
    }
    if plot_path is not None:
        result["plot"] = _plot_forecast(pred, truth, Path(plot_path))
    return result


def _plot_forecast(pred: np.ndarray, truth: np.ndarray, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nnscratch.plots import save_figure

    fig, ax = plt.subplots(figsize=(9, 3.5))
    steps = np.arange(len(truth))
    ax.plot(steps, truth, label="truth (noisy)", color="0.6", linewidth=1)
    ax.plot(steps, pred, label="LSTM one-step forecast", color="C0", linewidth=1.5)
    ax.set_xlabel("test time step")
    ax.set_ylabel("value")
    ax.set_title("Noisy sine wave: prediction vs truth")
    ax.legend(loc="upper right")
    fig.tight_layout()
    try:
        return save_figure(fig, path, dpi=100)  # atomic; PNG unless the suffix says otherwise
    finally:
        plt.close(fig)


__all__ = ["cnn_digits", "noisy_sine", "rnn_digits", "sine_forecast"]
