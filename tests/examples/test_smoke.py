"""End-to-end smoke tests of the course networks (the seeds' worked results)."""

import numpy as np
from demo import moons_demo, xor_demo

import nnscratch as ns


def test_xor_221_reaches_0110_with_plain_gradient_descent(capsys):
    assert xor_demo() == 1.0
    assert "predicted 0  (target 0)" in capsys.readouterr().out


def test_moons_2331_reaches_95_percent_training_accuracy():
    assert moons_demo() >= 0.95


def test_seed_002_q1_1_forward_pass_gives_0_8221():
    # w_ij connects input i to hidden j, so the weight in PyTorch layout (out, in) is w.T
    w1 = np.array([[0.4, 0.6, 0.2], [0.3, 0.9, 0.5]])
    w2 = np.array([[0.2], [0.2], [0.8]])
    model = ns.Sequential(
        ns.Linear.from_arrays(w1.T, [1, 1, 1]),
        ns.Sigmoid(),
        ns.Linear.from_arrays(w2.T, [0.5]),
        ns.Sigmoid(),
    )
    out = model(np.array([[1.0, 1.0]]))
    assert round(float(out[0, 0]), 4) == 0.8221
