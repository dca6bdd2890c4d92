"""Experiments: TOML files validated with pydantic, run as train / cross-validation / sweeps.

    from nnscratch.experiments import load_config, run
    folder = run(load_config("examples/xor_221.toml", ["training.epochs=500"]), "train", "runs/xor")

Every training is one call of the pure function :func:`run_point` (config, fold, seed).
"""

from .config import ExperimentConfig, grid_points, load_config, point_config
from .runner import run
from .sweep import Task, plan, repeat_seeds, run_point

__all__ = [
    "ExperimentConfig",
    "Task",
    "grid_points",
    "load_config",
    "plan",
    "point_config",
    "repeat_seeds",
    "run",
    "run_point",
]
