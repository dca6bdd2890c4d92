"""The library version, stored in model files, checkpoints and run folders."""

__version__ = "0.1.0"
