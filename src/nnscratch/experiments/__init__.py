"""Experiments: TOML files validated with pydantic, run as train / cross-validation / sweeps."""

from .config import ExperimentConfig, grid_points, load_config, point_config

__all__ = ["ExperimentConfig", "grid_points", "load_config", "point_config"]
