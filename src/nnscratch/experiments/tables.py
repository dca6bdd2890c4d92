"""The tables of an experiment file, one pydantic model each (``extra="forbid"``, strict types):
``[experiment]``, ``[data]``, ``[evaluation]`` and ``[cluster]`` here, the model and loss tables in
:mod:`~nnscratch.experiments.model_tables`, the optimizer and training tables in
:mod:`~nnscratch.experiments.training_tables` (all re-exported here).

Validators raise :class:`~nnscratch.experiments._errors.Located` to point the error at the key
below the table that is wrong; :mod:`nnscratch.experiments.config` assembles the whole file.
A field's docstring is its meaning, as ``nnscratch keys`` and docs/experiment-keys.md show it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from . import registry
from ._errors import Located
from .model_tables import LayerSpec, LossTable, ModelTable
from .table_base import Table
from .training_tables import EarlyStoppingTable, OptimizerTable, SchedulerTable, TrainingTable


class ExperimentTable(Table):
    """``[experiment]``: a name for the run folder, the master seed, a description for the report,
    and ``repeats``: how many seeds each setting is trained with (reported as mean ± std).

    The seed rule: a model's initial weights and its mini-batch order are a function of ``seed``
    (and the architecture) only, so every sweep point that keeps the architecture, and every CV
    fold, starts from the same weights. Repeat ``r`` uses the ``r``-th seed spawned from ``seed``.
    """

    name: str = Field("experiment", min_length=1)
    """Name of the run folder: runs/NAME for train, runs/NAME-cv and runs/NAME-sweep."""
    seed: int = Field(0, ge=0)
    """Master seed: initial weights, mini-batch order, splits and folds all derive from it."""
    repeats: int = Field(1, ge=1, le=1000)
    """Seeds each setting is trained with; numbers are reported as mean ± std over them."""
    description: str = ""
    """Free text shown at the top of the report."""
    memory_budget: float | None = Field(None, gt=0)
    """GiB a run may plan to use (model, optimizer state, a batch's activations, data), checked
    before anything is allocated; default: $NNSCRATCH_MEMORY_BUDGET, else half the machine's memory."""
    max_epochs: int = Field(1_000_000, ge=1)
    """Cap on training.epochs; raise it to train longer."""
    max_samples: int = Field(10_000_000, ge=1)
    """Cap on the samples a built-in dataset generates (data.params.n_samples); raise it for more."""

    @field_validator("name")
    @classmethod
    def _folder_name(cls, v: str) -> str:
        # the run folder is runs/NAME: a name must not lead out of runs/ nor hide characters
        bad = [c for c in v if c in "/\\" or not c.isprintable()]
        if bad or v.strip(".") == "" or ".." in v:
            raise ValueError(
                "a folder name without path separators (/ or \\), '..', NUL or control characters, "
                f"e.g. moons_2331. Received: name = {v!r}"
            )
        return v


class DataTable(Table):
    """``[data]``: a built-in dataset with its keyword arguments, or the user's CSV / NPZ files, or an
    MNIST-style pair of IDX files ``idx = ["images-idx3-ubyte.gz", "labels-idx1-ubyte.gz"]``.
    Images (from NPZ or IDX) are flattened to rows; a model starts with ``Unflatten`` to restore them.

    ``split = "random"`` (default) cuts ``test_size``, the validation split and the CV folds from
    seeded shuffles (stratified for classification); ``"ordered"`` keeps the rows in order, as a
    time series needs: the last rows test, the last training rows validate, folds are blocks.
    """

    dataset: str | None = None
    """A built-in dataset (see `nnscratch datasets list`), e.g. "moons"."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments of the built-in dataset, e.g. { n_samples = 500, noise = 0.3 }."""
    csv: str | None = None
    """A CSV file of features and target; the target column is `target`, else one named label/target/y/class,
    else the last."""
    y_csv: str | None = None
    """A separate CSV file holding the targets, one row per row of `csv`."""
    target: str | int | None = None
    """The target column of `csv`: its name or its 0-based index."""
    delimiter: str = Field(",", min_length=1, max_length=1)
    """The character between the cells of the CSV files, e.g. ";" or "\\t" (tab)."""
    npz: str | None = None
    """An .npz file with arrays X and y (images are flattened to rows)."""
    idx: list[str] | None = Field(None, min_length=2, max_length=2)
    """An MNIST-style pair of IDX files [images, labels] (.gz accepted)."""
    test_csv: str | None = None
    """A CSV file used as the test set (same columns as `csv`)."""
    test_y_csv: str | None = None
    """The targets of `test_csv`, when they are in their own file."""
    test_npz: str | None = None
    """An .npz file used as the test set (with `npz`)."""
    test_idx: list[str] | None = Field(None, min_length=2, max_length=2)
    """An IDX pair used as the test set (with `idx`)."""
    test_size: float = Field(0.0, ge=0.0, lt=1.0)
    """Fraction of the rows held out as the test set (0 = none); stratified for classification."""
    split: Literal["random", "ordered"] = "random"
    """How rows are split: "random" = seeded shuffles (stratified); "ordered" = in order (time series)."""
    standardize: bool = False
    """Scale every feature to zero mean and unit variance, with statistics from the training rows only."""

    @field_validator("target", mode="before")
    @classmethod
    def _target_type(cls, v: Any) -> Any:
        if v is not None and (isinstance(v, bool) or not isinstance(v, (str, int))):
            raise ValueError(f"a column name (string) or a column index (integer). Received: target = {v!r}")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> DataTable:
        given = [k for k in ("dataset", "csv", "npz", "idx") if getattr(self, k) is not None]
        if len(given) != 1:
            raise Located(
                "dataset",
                'exactly one data source: dataset = "moons" (built in), csv = "file.csv", '
                'npz = "file.npz" or idx = ["images.idx", "labels.idx"]. '
                f"Received: {', '.join(given) or 'none of them'}",
            )
        if self.dataset is not None:
            registry.check_dataset(self.dataset, self.params)
        elif self.params:
            raise Located("params", "params only with a built-in dataset (they are its keyword arguments)")
        if self.csv is None and (self.y_csv or self.target is not None or self.delimiter != ","):
            key = "y_csv" if self.y_csv else "target" if self.target is not None else "delimiter"
            raise Located(key, f'{key} only together with csv = "..."')
        tests = [k for k in ("test_csv", "test_npz", "test_idx") if getattr(self, k) is not None]
        if tests and self.test_size:
            raise Located("test_size", "either a test file or test_size, not both")
        if self.test_y_csv and not self.test_csv:
            raise Located("test_y_csv", "test_y_csv only together with test_csv")
        for key in ("csv", "y_csv", "npz", "test_csv", "test_y_csv", "test_npz", "idx", "test_idx"):
            value = getattr(self, key)
            for path in value if isinstance(value, list) else [value]:
                if path is not None and not Path(path).is_file():
                    raise Located(key, f"an existing file; not found: {path}")
        for test_key, key in (("test_npz", "npz"), ("test_idx", "idx")):
            if getattr(self, test_key) is not None and getattr(self, key) is None:
                raise Located(test_key, f"{test_key} only together with {key} (the training files)")
        return self


class EvaluationTable(Table):
    """``[evaluation]``: K-fold cross-validation (``cv = 5``) and the reported metrics."""

    cv: int | None = Field(None, ge=2)
    """Number of cross-validation folds (e.g. 5); omitted = no cross-validation."""
    stratified: bool = True
    """Keep the class proportions in every fold."""
    average: Literal["auto", "binary", "macro", "weighted", "micro"] = "auto"
    """How precision, recall and F1 average over classes; "auto" = binary or macro by task."""
    metrics: list[Literal["accuracy", "precision", "recall", "f1", "exact_match"]] = Field(
        default_factory=lambda: ["accuracy", "precision", "recall", "f1"], min_length=1
    )
    """The metrics reported, among accuracy, precision, recall, f1 and exact_match (every position of a
    sequence right; equals accuracy for one label per sample)."""
    threshold: float = Field(0.5, gt=0, lt=1)
    """Probability above which a binary prediction is class 1."""
    generate: int = Field(0, ge=0, le=5000)
    """Sequence tasks: tokens (characters) to sample from the trained model for the report; 0 = none."""
    temperature: float = Field(1.0, gt=0, le=10)
    """Sampling temperature of generate: below 1 sharper (likelier tokens), above 1 flatter."""
    prompt: str | None = Field(None, min_length=1, max_length=1000)
    """Text that starts generate (characters of the data's vocabulary); default: the first held-out row."""


class ClusterTable(Table):
    """``[cluster]``: run a sweep's points on a Dask cluster (see docs/distributed.md)."""

    address: str | None = None
    """A Dask scheduler address, e.g. "tcp://10.0.0.5:8786"; omitted = run on this machine."""
    timeout: float = Field(30.0, gt=0)
    """Seconds to wait for the scheduler."""
    retries: int = Field(0, ge=0)
    """Extra attempts for a task that raises."""


__all__ = [
    "ClusterTable",
    "DataTable",
    "EarlyStoppingTable",
    "EvaluationTable",
    "ExperimentTable",
    "LayerSpec",
    "LossTable",
    "ModelTable",
    "OptimizerTable",
    "SchedulerTable",
    "TrainingTable",
]
