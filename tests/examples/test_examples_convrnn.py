"""The CNN/RNN examples reach their advertised results from their fixed seeds."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

from convrnn_examples import cnn_digits, noisy_sine, rnn_digits, sine_forecast

ROOT = Path(__file__).resolve().parents[2]


def test_cnn_digits_reaches_97_percent():
    result = cnn_digits(seed=0)
    assert result["test_accuracy"] >= 0.97, result["test_accuracy"]
    assert result["history"]["loss"][-1] < result["history"]["loss"][0]


def test_rnn_digits_reaches_95_percent():
    result = rnn_digits(seed=0)
    assert result["test_accuracy"] >= 0.95, result["test_accuracy"]


def test_sine_forecast_beats_naive_baseline_and_plots(tmp_path):
    result = sine_forecast(seed=0, epochs=15, plot_path=tmp_path / "sine.png")
    assert result["test_mse"] < 0.6 * result["naive_mse"]
    assert result["test_mse"] < 2.5 * result["noise_mse"]
    png = (tmp_path / "sine.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert result["prediction"].shape == result["truth"].shape


def test_noisy_sine_is_seeded():
    np.testing.assert_array_equal(noisy_sine(seed=3)[1], noisy_sine(seed=3)[1])
    assert not np.array_equal(noisy_sine(seed=3)[1], noisy_sine(seed=4)[1])


def test_example_script_runs(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "sine_forecast.py"), "--out", str(tmp_path / "p.png")],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""},
        timeout=300,
    )
    assert "test MSE" in out.stdout and (tmp_path / "p.png").exists()
