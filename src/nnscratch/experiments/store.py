"""Resumable sweeps: one small JSON file per finished task in the run folder.

A sweep is a list of independent tasks (one sweep point × one fold, with its seed). As each task
finishes its result is written to ``<run_dir>/tasks/<key>.json`` at once, atomically
(:func:`nnscratch.base.files.atomic_write`: a temporary file in the same folder, then
``os.replace``), so an interrupted or crashed sweep leaves only whole files behind. The key is a
stable hash of the task's (point config, fold, seed): rerunning the same command computes the
same keys and skips every task whose file is already there.

Results go through a JSON round trip whether they were just computed or read back from disk, so a
resumed sweep hands exactly the same Python values (same floats, bit for bit) to whatever aggregates
them as a sweep that ran in one go.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnscratch.base.errors import ConfigError, DataError
from nnscratch.base.files import atomic_write

#: Sub-folder of the run folder holding one file per finished task.
TASKS_DIR = "tasks"
#: Bump when the layout of a task file changes; files of another format are recomputed.
FORMAT = 1


def _plain(value: Any) -> Any:
    """``json.dumps`` fallback: NumPy scalars and arrays, paths and tuples as plain JSON values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(value: Any, name: str, *, sort_keys: bool = False, error: type[Exception] = ConfigError) -> str:
    """Compact JSON text of ``value`` with exact float repr; ``sort_keys`` for hashing.

    Raises ``error`` (:class:`ConfigError` by default) for values JSON cannot hold (objects...).
    """
    try:
        return json.dumps(value, sort_keys=sort_keys, separators=(",", ":"), default=_plain, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise error(
            f"{name} must hold only JSON values (numbers, strings, booleans, lists, tables). Received: {exc}"
        ) from exc


def normalize_result(result: Any) -> dict[str, Any]:
    """The result as the JSON round trip returns it (NumPy values become floats, tuples lists).

    Key order is kept: whoever writes the results (metrics.json) sees them as the task made them.
    """
    if not isinstance(result, Mapping):
        raise DataError(
            f"a task must return a dict of JSON values. Received: result of type {type(result).__name__}"
        )
    return json.loads(to_json(dict(result), "the task's result", error=DataError))


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer)


@dataclass(frozen=True, eq=False)
class TaskSpec:
    """One unit of work: a sweep point's resolved config, a fold (``None`` without CV) and a seed.

    ``key`` is a stable hash of the three: the same task has the same key on every machine, in
    every process and in every later run.
    """

    config: Mapping[str, Any]
    fold: int | None
    seed: int
    key: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if self.fold is not None and (isinstance(self.fold, bool) or not _is_int(self.fold)):
            raise ConfigError(f"fold must be an int or None. Received: fold={self.fold!r}")
        if isinstance(self.seed, bool) or not _is_int(self.seed) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative int. Received: seed={self.seed!r}")
        if not isinstance(self.config, Mapping):
            kind = type(self.config).__name__
            raise ConfigError(f"a sweep point's config must be a dict. Received: config of type {kind}")
        # store the config as JSON gives it back, so every backend hands the task function the
        # same plain values (lists, not tuples; floats, not NumPy scalars)
        text = to_json(self.config, "a sweep point's config")
        object.__setattr__(self, "config", json.loads(text))
        object.__setattr__(self, "fold", None if self.fold is None else int(self.fold))
        object.__setattr__(self, "seed", int(self.seed))
        # sorted keys: the same config written in another order is the same task
        text = to_json(self.descriptor(), "a sweep point's config", sort_keys=True)
        object.__setattr__(self, "key", hashlib.sha256(text.encode()).hexdigest()[:24])

    @classmethod
    def of(cls, task: Any, name: str = "task") -> TaskSpec:
        """The spec of any object with ``config``, ``fold`` and ``seed`` attributes (e.g. a sweep's tasks)."""
        if isinstance(task, TaskSpec):
            return task
        try:
            config, fold, seed = task.config, task.fold, task.seed
        except AttributeError:
            raise ConfigError(
                f"{name} must have config, fold and seed attributes (a sweep task). "
                f"Received: {name} of type {type(task).__name__}"
            ) from None
        return cls(config, fold, seed)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TaskSpec) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)

    def descriptor(self) -> dict[str, Any]:
        """The JSON description that the key hashes and the task file repeats."""
        return {"config": self.config, "fold": self.fold, "seed": self.seed}


def _same_descriptor(stored: Any, task: TaskSpec) -> bool:
    """Whether a file's stored description is the task's own (guards against hash collisions)."""
    return _equal(stored, task.descriptor())


def _equal(a: Any, b: Any) -> bool:
    # NaN never equals itself, but a NaN in a stored config is still the same config
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


class ResultStore:
    """The finished tasks of one run folder.

    Parameters
    ----------
    run_dir : path
        The run folder; task files go to ``run_dir / "tasks"`` (created on the first write).
    """

    def __init__(self, run_dir: str | os.PathLike[str]) -> None:
        self.run_dir = Path(run_dir)
        self.dir = self.run_dir / TASKS_DIR

    def path(self, task: TaskSpec) -> Path:
        return self.dir / f"{task.key}.json"

    def load(self, task: TaskSpec) -> dict[str, Any] | None:
        """The stored result of ``task``, or ``None`` if it has not finished (or its file is unusable).

        A file that cannot be parsed, has another format, or describes another task is treated as
        missing: the task is computed again and the file replaced.
        """
        try:
            data = json.loads(self.path(task).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("format") != FORMAT or "result" not in data:
            return None
        if not _same_descriptor(data.get("task"), task) or not isinstance(data["result"], dict):
            return None
        return data["result"]

    def save(self, task: TaskSpec, result: Mapping[str, Any]) -> dict[str, Any]:
        """Write ``result`` atomically and return it as the JSON round trip gives it back."""
        payload = {"format": FORMAT, "key": task.key, "task": task.descriptor(), "result": dict(result)}
        text = to_json(payload, "the task's result", error=DataError)
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path(task), text)  # readers see the old file or the whole new one
        return json.loads(text)["result"]
