"""The library's own exceptions.

Every error nnscratch raises on bad input derives from :class:`NNScratchError`, so a caller can
catch them all at once. Each also derives from the closest built-in exception (``ValueError``,
``TypeError``, ...) so code written against the built-ins keeps working.
"""

from __future__ import annotations


class NNScratchError(Exception):
    """Base class of every error raised by nnscratch."""


class ShapeError(NNScratchError, ValueError):
    """An array has the wrong rank or size for where it was passed."""


class DTypeError(NNScratchError, TypeError):
    """An array or argument has a type that cannot be used (e.g. strings, objects, complex)."""


class NonFiniteError(NNScratchError, ValueError):
    """An input holds NaN or infinity."""


class LabelError(NNScratchError, ValueError):
    """Targets do not fit the model's output (class index out of range, non-binary labels...)."""


class HyperparameterError(NNScratchError, ValueError):
    """A hyperparameter is outside its allowed range (negative learning rate, p > 1, ...)."""


class UnknownNameError(HyperparameterError):
    """A name no table knows: an activation, loss, optimizer, scheduler, initializer or layer type.

    Raised with the same message wherever the name was given (a Python argument, an experiment
    file, a problem file, a scikit-learn estimator...); files prefix it with the place. ``kind``,
    ``name``, ``known`` (the canonical names) and ``suggestion`` (a close spelling, or None) say
    the same in fields.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str = "",
        name: str = "",
        known: list[str] | None = None,
        suggestion: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind, self.name, self.known, self.suggestion = kind, name, list(known or []), suggestion


class StateError(NNScratchError, RuntimeError):
    """An operation was called in the wrong order, e.g. ``backward`` before ``forward``."""


class StateDictError(NNScratchError, KeyError):
    """A state dict has missing, unexpected or misshaped entries."""

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return str(self.args[0]) if self.args else ""


class DivergenceError(NNScratchError, FloatingPointError):
    """Training blew up: a NaN or infinite loss, a loss that grew far past its starting value,
    or weights that grew far past their initial size. The message names the epoch."""


class TrainingWarning(UserWarning):
    """Training ran but did not learn: outputs saturated for every sample, or no progress."""


class DataError(NNScratchError, ValueError):
    """A dataset or data file cannot be used (missing column, ragged rows, non-numeric values...)."""


class ConfigError(NNScratchError, ValueError):
    """An experiment or problem file is invalid."""


class ModelFileError(NNScratchError, ValueError):
    """A model or checkpoint file is corrupt, of an unknown format, or holds unexpected content."""


class MissingDependencyError(NNScratchError, ImportError):
    """An optional dependency is needed for this feature; the message says how to install it."""


class ClusterError(NNScratchError, ConnectionError):
    """A compute cluster (a Dask scheduler) cannot be reached or used."""


class WriteError(NNScratchError, OSError):
    """A file could not be written: disk full, no permission, a missing folder...

    ``filename`` is the file being written and ``errno`` / ``strerror`` the system's reason, as on
    any ``OSError``; the message reads ``cannot write runs/x/metrics.json: No space left on device``.
    The file that was there before, if any, is left as it was.
    """

    def __str__(self) -> str:
        return f"cannot write {self.filename}: {self.strerror}"


__all__ = [
    "ClusterError",
    "ConfigError",
    "DTypeError",
    "DataError",
    "DivergenceError",
    "HyperparameterError",
    "LabelError",
    "MissingDependencyError",
    "ModelFileError",
    "NNScratchError",
    "NonFiniteError",
    "ShapeError",
    "StateDictError",
    "StateError",
    "TrainingWarning",
    "UnknownNameError",
    "WriteError",
]
