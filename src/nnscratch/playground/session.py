"""One playground session: a dataset, a network built from the page's settings, and its training.

Everything numeric is the real nnscratch engine, and the set-up is the experiment runner's own:
the session turns the page's settings into an experiment-file dict and builds data split, network,
loss and optimizer with :mod:`nnscratch.experiments.builder`, seeded as ``nnscratch train`` seeds
its run. So the exported experiment file reproduces the session's weights exactly.

A change of settings or data is all or nothing: :meth:`Session.configure` builds the whole new
state in a fresh object and only then takes it over, so a refused setting or upload leaves the
session exactly as it was. Training runs in bounded chunks (:meth:`Session.step`): at most
:func:`epoch_budget` epochs and :data:`STEP_SECONDS` per request, stopping early when asked to.
"""

from __future__ import annotations

import math
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnscratch.base.errors import HyperparameterError
from nnscratch.base.files import atomic_write
from nnscratch.data import Dataset
from nnscratch.engine.layers import Linear
from nnscratch.experiments import builder
from nnscratch.experiments.config import load_config
from nnscratch.experiments.sweep import repeat_seeds
from nnscratch.training.loop import evaluate_prepared, prepare_data

from . import pictures
from .datasets import LIBRARY_NAMES, REGRESSION_DATASETS
from .settings import DEFAULT_FEATURES, PlaygroundConfig

UPLOAD_CSV = "playground_data.csv"  # the name the exported experiment file gives the uploaded data
MAX_EPOCHS_PER_STEP = 1000  # the most one request may ask for (the budget below usually allows fewer)
WORK_PER_STEP = 3e7  # about 0.5 s of CPU: rows x parameters, plus BATCH_WORK per mini-batch
BATCH_WORK = 3000  # the Python overhead of one mini-batch, in the same units
STEP_SECONDS = 1.0  # a request stops after the epoch that passes this much wall time
MAX_WEIGHT = 100.0  # a weight set by hand lies in [-MAX_WEIGHT, MAX_WEIGHT]


@dataclass(frozen=True)
class Upload:
    """An uploaded dataset and the CSV text the exported experiment file reads it from."""

    data: Dataset
    csv: str

    @classmethod
    def of(cls, data: Dataset) -> Upload:
        return cls(data, csv_rows(data.X, data.y, data.task == "regression"))


def csv_rows(X: np.ndarray, y: np.ndarray, regression: bool) -> str:
    """``x0,x1,label`` rows: class labels as integers, regression targets as exact floats."""
    label = repr if regression else (lambda c: str(int(c)))
    rows = "\n".join(f"{a!r},{b!r},{label(c)}" for (a, b), c in zip(X.tolist(), y.tolist(), strict=True))
    return "x0,x1,label\n" + rows + "\n"


def epoch_budget(n_rows: int, n_params: int, batch_size: int) -> int:
    """How many epochs one request may train: WORK_PER_STEP over one epoch's work (at least 1)."""
    batches = max(1, math.ceil(n_rows / batch_size))
    per_epoch = n_rows * n_params + batches * BATCH_WORK
    return int(max(1, min(MAX_EPOCHS_PER_STEP, WORK_PER_STEP // per_epoch)))


class Session:
    """Data, model, optimizer and history for one browser tab."""

    def __init__(self, config: PlaygroundConfig | None = None, upload: Upload | None = None) -> None:
        self.lock = threading.Lock()
        self.upload = upload
        self._build(config or PlaygroundConfig())

    # -- set-up ----------------------------------------------------------------------------------
    def experiment(self, epochs: int | None = None) -> dict[str, Any]:
        """The experiment-file content (``nnscratch train``) equivalent to this session."""
        c = self.config
        data: dict[str, Any]
        if c.dataset == "upload":
            data = {"csv": UPLOAD_CSV}
        else:
            params: dict[str, Any] = {"n_samples": c.n_samples, "seed": c.seed}
            if c.dataset != "linear":  # the linear set is noise-free by definition
                params["noise"] = c.noise
            if c.dataset in ("spirals", "gaussians"):
                params["n_classes"] = c.n_classes
            data = {"dataset": LIBRARY_NAMES.get(c.dataset, c.dataset), "params": params}
        if c.test_fraction:
            data["test_size"] = c.test_fraction
        optimizer: dict[str, Any] = {"name": c.optimizer, "lr": c.lr}
        if c.optimizer == "momentum":
            optimizer["momentum"] = c.momentum
        if c.l2:
            optimizer["weight_decay"] = c.l2
        if c.l1:
            optimizer["l1"] = c.l1
        model: dict[str, Any] = {}
        if c.features != DEFAULT_FEATURES:  # the Features layer first; plain x1, x2 need none
            model["features"] = list(c.features)
        return {
            "experiment": {
                "name": "playground",
                "seed": c.seed,
                "description": f"exported from the nnscratch playground after {self.epoch} epochs",
            },
            "data": data,
            # raw scores out: the loss applies sigmoid/softmax in its stable fused form
            "model": {
                **model,
                "hidden": list(c.hidden),
                "activation": list(c.activations),
                "output": "none",
                "init": "xavier_uniform",
            },
            "loss": {
                "name": {"sigmoid": "bce_logits", "softmax": "cross_entropy", "identity": "mse"}[self.output]
            },
            "optimizer": optimizer,
            "training": {
                # an experiment file trains at least 1 epoch; export refuses epoch 0 (see export.py)
                "epochs": max(1, self.epoch if epochs is None else epochs),
                "batch_size": c.batch_size,
            },
        }

    def configure(self, config: PlaygroundConfig, upload: Upload | None = None) -> None:
        """Take new settings (and new data): everything is built first, then swapped in at once."""
        fresh = Session.__new__(Session)
        fresh.upload = upload if upload is not None else self.upload
        fresh._build(config)
        lock = self.lock
        self.__dict__.clear()
        self.__dict__.update(fresh.__dict__, lock=lock)

    def _build(self, config: PlaygroundConfig) -> None:
        """Build data, split, network, loss and optimizer exactly as ``nnscratch train`` would."""
        if config.dataset == "upload" and self.upload is None:
            raise HyperparameterError("dataset 'upload' needs a CSV uploaded first")
        self.config, self.epoch, self.edited = config, 0, False
        uploaded = self.upload.data if config.dataset == "upload" else None
        self.task = (
            "regression"
            if config.dataset in REGRESSION_DATASETS
            or (uploaded is not None and uploaded.task == "regression")
            else "classification"
        )
        if self.task == "regression":
            n_classes = 0
        elif uploaded is not None:
            n_classes = int(uploaded.y.max()) + 1
        else:
            n_classes = config.n_classes if config.dataset in ("spirals", "gaussians") else 2
        output = config.output
        if output == "auto":
            output = "identity" if self.task == "regression" else "sigmoid" if n_classes == 2 else "softmax"
        if self.task == "regression" and output != "identity":
            raise HyperparameterError(
                "a regression (continuous targets) needs the identity output with MSE. "
                f"Received: output={output}"
            )
        if output == "sigmoid" and n_classes > 2:
            raise HyperparameterError(
                f"a sigmoid output fits 2 classes; this data has {n_classes}: use softmax"
            )
        self.output = output
        with tempfile.TemporaryDirectory(prefix="nnscratch-playground-") as tmp:
            if config.dataset == "upload":  # the runner reads the CSV the exported file will name
                atomic_write(Path(tmp) / UPLOAD_CSV, self.upload.csv)
            cfg = load_config(self.experiment(), base_dir=Path(tmp))
            data = builder.load_data(cfg)[0]
        split = builder.make_split(cfg, data, None, None)
        self.X_train, self.y_train = split.X_train, split.y_train
        if len(self.X_train) < 2:
            raise HyperparameterError(
                f"only {len(self.X_train)} training point(s) after the split: "
                "use more points or a smaller test %"
            )
        empty = np.empty((0, data.n_features))
        self.X_test = split.X_test if split.X_test is not None else empty
        self.y_test = split.y_test if split.y_test is not None else np.empty(0, dtype=self.y_train.dtype)
        # the colour scale of a regression: symmetric around 0, as far as the targets reach
        self.value_range = float(max(np.abs(data.y).max(), 1e-6)) if self.task == "regression" else 1.0
        self.n_classes = n_classes
        self._cfg = cfg
        self._loss_key = builder.loss_name(cfg, data.task)
        self._outputs = builder.n_outputs(cfg, self._loss_key, data)
        self._seed = repeat_seeds(cfg.experiment.seed, 1)[0]  # what `nnscratch train` gives its one run
        self.loss = builder.build_loss(cfg, self._loss_key)
        self.reset()

    def reset(self) -> None:
        """Back to epoch 0 with the same initial weights and the same mini-batch order."""
        model_rng, self.rng = (np.random.default_rng(s) for s in np.random.SeedSequence(self._seed).spawn(2))
        self.model = builder.build_model(
            self._cfg, self.X_train.shape[1], self._outputs, self._loss_key, model_rng
        )
        self.optimizer = builder.build_optimizer(self._cfg, self.model)
        self._fit_data = (self.X_train, self._targets(self.y_train))
        self._test_targets = self._targets(self.y_test) if len(self.y_test) else self.y_test
        self.epoch, self.edited = 0, False
        self.curves: dict[str, list[float | None]] = {"train_loss": [], "test_loss": []}
        self.diverged: str | None = None
        self._record()

    # -- training --------------------------------------------------------------------------------
    def _targets(self, y: np.ndarray) -> np.ndarray:
        """``y`` as the loss compares it with the output: checked and shaped once, as ``fit`` does."""
        X_probe = np.zeros((len(y), self.X_train.shape[1]))
        return prepare_data(
            self.model, X_probe, builder.targets(y, self._loss_key, self._outputs), self.loss
        )[1]

    def epoch_budget(self) -> int:
        n_params = sum(p.data.size for p in self.model.parameters())
        return epoch_budget(len(self.X_train), n_params, self.config.batch_size)

    def step(self, epochs: int = 1, stop: Callable[[], bool] = lambda: False) -> int:
        """Train up to ``epochs`` more epochs — the same arithmetic, in the same order, as
        ``ns.fit`` — within this request's budget; ``stop()`` (the client went away) is asked after
        every epoch. Returns the number of epochs trained."""
        if self.diverged:
            return 0
        epochs = max(1, min(int(epochs), self.epoch_budget()))
        deadline = time.monotonic() + STEP_SECONDS
        X, y = self._fit_data
        n, bs = len(X), self.config.batch_size
        self.model.train()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for done in range(epochs):
                if done and (stop() or time.monotonic() > deadline):
                    return done
                order = self.rng.permutation(n) if bs < n else slice(None)
                for start in range(0, n, bs) if bs < n else [0]:
                    idx = order[start : start + bs] if bs < n else order
                    value = self.loss.forward(self.model.forward(X[idx]), y[idx])
                    if not math.isfinite(value):
                        self.diverged = (
                            f"training diverged at epoch {self.epoch + 1}: the loss became {value}. "
                            f"Lower the learning rate (now {self.config.lr:g}) and press reset."
                        )
                        return done
                    self.optimizer.zero_grad()
                    self.model.backward(self.loss.backward(), input_grad=False)
                    self.optimizer.step()
                self.epoch += 1
                self._record()
        return epochs

    def _loss_acc(
        self, X: np.ndarray, y: np.ndarray, target: np.ndarray
    ) -> tuple[float | None, float | None]:
        """Loss and accuracy through ``ns.evaluate``'s code (the one evaluation path); accuracy
        is None for a regression, both None for no data or a non-finite loss."""
        if len(X) == 0:
            return None, None
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            values = evaluate_prepared(self.model, X, target, self.loss, metrics=("accuracy",))
        loss = values["loss"]
        return (loss if math.isfinite(loss) else None), values.get("accuracy")

    def set_parameter(self, layer: int, kind: str, i: int, j: int, value: float) -> None:
        """Set one weight ``W[layer][i, j]`` (or bias ``b[layer][i]``) by hand: the indices and
        the value were checked by the caller (:func:`.edit.parse_edit`), so this cannot fail
        half-way. The losses are measured again; the last point of the curves is replaced."""
        linear = self.linears()[layer]
        if kind == "weight":
            linear.weight.data[i, j] = value
        else:
            linear.bias.data[i] = value
        self.edited = True  # an experiment file can no longer reproduce these weights
        self._measure()
        self.curves["train_loss"][-1] = self.train_loss
        self.curves["test_loss"][-1] = self.test_loss

    def linears(self) -> list[Any]:
        """The network's Linear layers, first to last (what the page draws as edges)."""
        return [m for m in self.model.layers if isinstance(m, Linear)]

    def _measure(self) -> None:
        self.train_loss, self.train_acc = self._loss_acc(self.X_train, self.y_train, self._fit_data[1])
        self.test_loss, self.test_acc = self._loss_acc(self.X_test, self.y_test, self._test_targets)

    def _record(self) -> None:
        self._measure()
        if self.train_loss is None and self.epoch and not self.diverged:
            self.diverged = f"training diverged at epoch {self.epoch}: lower the learning rate and reset."
        self.curves["train_loss"].append(self.train_loss)
        self.curves["test_loss"].append(self.test_loss)

    # -- pictures ----------------------------------------------------------------------------------
    def bounds(self) -> tuple[float, float, float, float]:
        return pictures.bounds(self.X_train, self.X_test)

    def snapshot(self, with_points: bool = False, since: int = 0) -> dict[str, Any]:
        """The page's picture of the session; the loss curves only from point ``since`` on (the
        page sends how many it has, so a long run does not resend its whole history)."""
        box = self.bounds()
        since = since if 0 <= since <= len(self.curves["train_loss"]) else 0
        data: dict[str, Any] = {
            "epoch": self.epoch,
            "train_loss": self.train_loss,
            "test_loss": self.test_loss,
            "train_acc": self.train_acc,
            "test_acc": self.test_acc,
            "curves": {
                "start": since,
                "train_loss": self.curves["train_loss"][since:],
                "test_loss": self.curves["test_loss"][since:],
            },
            "boundary": pictures.boundary(self.model, self.output, box, self.task),
            "boundary_kind": pictures.boundary_kind(self._outputs, self.task),
            "task": self.task,
            "value_range": self.value_range,
            "features": list(self.config.features),
            "inputs": pictures.input_maps(self.config.features, box),
            "edited": self.edited,
            "grid": pictures.GRID,
            "neurons": pictures.neuron_maps(self.model, box),
            "neuron_grid": pictures.NEURON_GRID,
            "weights": pictures.weights(self.model),
            "bounds": box,
            "output": self.output,
            "n_classes": self.n_classes,
            "diverged": self.diverged,
            # the output layer as built: one unit per class for softmax and for MSE on one-hot targets
            "layers": [len(self.config.features), *self.config.hidden, self._outputs],
            "activations": [*self.config.activations, self.output],
            "epoch_budget": self.epoch_budget(),
        }
        if with_points:
            data["points"] = pictures.points(
                self.X_train, self.y_train, self.X_test, self.y_test, self.task == "regression"
            )
            data["config"] = self.config.to_dict()
        return data


__all__ = ["PlaygroundConfig", "Session", "Upload", "epoch_budget"]
