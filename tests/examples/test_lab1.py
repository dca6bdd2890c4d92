"""Seed 004 (NYCU deep-learning lab 1): the example files reproduce what the lab reports.

``compare_optimizers.toml`` (sections 3 and 5-A), ``compare_activations.toml`` (5-B) and
``no_activation.toml`` (4-C, 4-D) hold the lab's set-up: 2-32-32-1 (2-16-16-1 in 4-C/4-D), no
biases, N(0, 1) weights, the squared error with its gradient summed over the points, full-batch
gradient descent for 10000 epochs. Each run here is one point of a file, at full length, trained as
``nnscratch train FILE --set KEY=VALUE`` would train it.

The lab's runs are unseeded draws of N(0, 1) weights and it reports single runs, so each figure is
checked against the runs of several ``experiment.seed`` values, never one seed's weights: a figure
the lab reaches from any start (100% in section 3) must hold for every seed, a figure some starts
reach (76.2% in 4-D) must be the best of the seeds and never exceeded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnscratch as ns
from nnscratch.experiments import load_config, run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LOW_LOSS = 0.01  # mean squared error per point: every output within 0.1 of its label


class LabRuns:
    """Runs of example points, each trained once per test module (several tests share them)."""

    def __init__(self, root: Path) -> None:
        self.root, self.done = root, {}

    def __call__(self, name: str, seed: int, **point: Any) -> dict[str, Any]:
        """Train ``examples/<name>.toml`` at ``point`` (dotted keys written with ``__``) from
        ``experiment.seed = seed``; return metrics.json plus ``mean_loss`` (the loss per epoch
        divided by the number of points, the lab's printed mean) and the run ``folder``."""
        sets = [f"{k.replace('__', '.')}={json.dumps(v)}" for k, v in point.items()]
        sets.append(f"experiment.seed={seed}")
        key = (name, *sets)
        if key not in self.done:
            folder = run(
                load_config(EXAMPLES / f"{name}.toml", sets),
                "train",
                self.root / f"run{len(self.done)}",
                figures=False,
            )
            m = json.loads((folder / "metrics.json").read_text())
            rows = np.genfromtxt(folder / "history.csv", delimiter=",", names=True)
            m["mean_loss"] = np.atleast_1d(rows["loss"]) / m["train"]["n"]
            m["folder"] = folder
            self.done[key] = m
        return self.done[key]


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> LabRuns:
    return LabRuns(tmp_path_factory.mktemp("lab1"))


def first_epoch_below(mean_loss: np.ndarray, level: float) -> float:
    below = np.flatnonzero(mean_loss < level)
    return float(below[0] + 1) if below.size else float("inf")


# -- section 3: the sigmoid network learns both sets -------------------------------------------------
@pytest.mark.parametrize("dataset", ["linear", "xor_easy"])
def test_section_3_the_sigmoid_network_gets_100_percent(lab, dataset):
    """3-B: "accuracy = 100.0%" with lr 5e-2, 10000 epochs, sigmoid after every layer."""
    for seed in (0, 1):
        m = lab("compare_optimizers", seed, data__dataset=dataset, optimizer__name="gd")
        assert m["train"]["accuracy"] == 1.0, (seed, m["train"])
        assert m["mean_loss"][-1] < LOW_LOSS
        if dataset == "linear":  # 3-D: 100 new points "the network has not seen"; no figure given
            model = ns.load(m["folder"] / "model.npz")
            fresh = ns.data.load("linear", n_samples=100, seed=seed + 1)
            accuracy = np.mean((model(fresh.X)[:, 0] > 0.5) == fresh.y)
            assert accuracy >= 0.95, (seed, accuracy)


# -- section 5-A: momentum ---------------------------------------------------------------------------
def test_section_5a_momentum_reaches_a_low_loss_sooner_on_xor_easy(lab):
    """5-A: momentum "can accelerate the convergence of the loss" in some cases: on XOR-easy it
    gets below LOW_LOSS several times sooner from every start (about 80-310 epochs against
    800-1400 over the seeds tried)."""
    for seed in (0, 1):
        gd, mom = (
            lab("compare_optimizers", seed, data__dataset="xor_easy", optimizer__name=name)
            for name in ("gd", "momentum")
        )
        assert mom["train"]["accuracy"] == 1.0
        epochs = [first_epoch_below(m["mean_loss"], LOW_LOSS) for m in (mom, gd)]
        assert 2 * epochs[0] < epochs[1], (seed, epochs)


# -- section 5-B: activations at lr 1e-3 -------------------------------------------------------------
@pytest.mark.parametrize("dataset", ["linear", "xor_easy"])
def test_section_5b_relu_converges_at_the_small_learning_rate(lab, dataset):
    """5-B: "more 'ReLU' activation functions converges with smaller learning rates ... more
    'sigmoid' ... larger learning rates are needed". At lr 1e-3 a ReLU first layer ends at a lower
    loss than the all-sigmoid network from every start (about 3x lower on both sets)."""
    for seed in (0, 1):
        sig, relu = (
            lab("compare_activations", seed, data__dataset=dataset, model__activation=acts)
            for acts in (["sigmoid", "sigmoid"], ["relu", "sigmoid"])
        )
        final = relu["mean_loss"][-1], sig["mean_loss"][-1]
        assert final[0] < final[1], (seed, final)
        assert relu["train"]["accuracy"] == 1.0


# -- sections 4-C and 4-D: without activations, XOR-easy -----------------------------------------------
def xor_easy() -> tuple[np.ndarray, np.ndarray]:
    data = ns.data.load("xor_easy")
    return data.X, data.y


def test_section_4c_without_activations_the_network_is_least_squares(lab):
    """4-C: "without an activation function, the performance of the network is poor". The network
    is then a linear map x -> x.w (no biases), and gradient descent on the squared error ends at
    the least-squares w from every start: 7 of the 21 points (33.3%)."""
    X, y = xor_easy()
    w = np.linalg.lstsq(X, y.astype(float), rcond=None)[0]
    ls_accuracy = np.mean((X @ w > 0.5) == y)
    ls_loss = np.mean((X @ w - y) ** 2)
    assert ls_accuracy == pytest.approx(7 / 21)
    for seed in (0, 1):
        m = lab("no_activation", seed, model__activation=["none", "none"], model__output="none")
        assert m["train"]["accuracy"] == pytest.approx(ls_accuracy)
        assert m["mean_loss"][-1] == pytest.approx(ls_loss, rel=1e-3)


def test_xor_easy_ceiling_of_a_line_through_the_origin_is_16_of_21():
    """Without biases and with a monotone output, the boundary is a line through the origin; the
    lab's prediction rule (class 1 if the output > 0.5) puts the origin, where the output is
    exactly sigmoid(0) = 0.5, in class 0. No such line gets more than 16 of the 21 points right."""
    X, y = xor_easy()
    angles = np.linspace(0, 2 * np.pi, 7200, endpoint=False)
    w = np.stack([np.cos(angles), np.sin(angles)])
    best = ((X @ w > 0) == y[:, None]).sum(axis=0).max()
    assert best == 16 and round(100 * 16 / 21, 1) == 76.2


@pytest.mark.slow  # 20 runs of 10000 epochs (about 10 s); the fast check is the ceiling test above
def test_section_4d_sigmoid_on_the_output_only_gives_the_labs_76_2_percent(lab):
    """4-D: "Loss = 0.26429, accuracy = 76.2%" (16/21) with a sigmoid on the output only.

    76.2% is the ceiling above, which some starts reach and others do not (about 1 in 4 from
    N(0, 1) weights; many stop at 11/21 with saturated weights): the best of 20 seeds reaches it
    and none exceeds it. The lab's loss is one run's; the runs here that reach 16/21 end between
    0.254 and 0.283 over 40 seeds tried, so each must be within 0.03 of 0.26429."""
    runs = [
        lab("no_activation", seed, model__activation=["none", "none"], model__output="sigmoid")
        for seed in range(20)
    ]
    correct = [round(m["train"]["accuracy"] * 21) for m in runs]
    assert max(correct) == 16, correct
    at_ceiling = [m["mean_loss"][-1] for m, c in zip(runs, correct, strict=True) if c == 16]
    assert all(abs(loss - 0.26429) < 0.03 for loss in at_ceiling), at_ceiling


def test_section_4d_sigmoid_on_the_last_two_layers_handles_xor_easy(lab):
    """4-D: with a sigmoid on the last two layers "it can handle non-linear case" (no figure). At
    the file's lr 5e-6 the sigmoids barely move; at section 3's 5e-2 it gets 100% from every start."""
    for seed in (0, 1):
        m = lab(
            "no_activation",
            seed,
            model__activation=["none", "sigmoid"],
            model__output="sigmoid",
            optimizer__lr=5e-2,
        )
        assert m["train"]["accuracy"] == 1.0, (seed, m["train"])
