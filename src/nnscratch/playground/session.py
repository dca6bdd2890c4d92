"""One playground session: a dataset, a network built from the page's settings, and its training.

Everything numeric is the real nnscratch engine, and the set-up is the experiment runner's own:
the session turns the page's settings into an experiment-file dict and builds data split, network,
loss and optimizer with :mod:`nnscratch.experiments.builder`, seeded as ``nnscratch train`` seeds
its run. So the exported experiment file reproduces the session's weights exactly. The session
keeps the state between two page requests and turns it into JSON-friendly pictures (decision
boundary, per-neuron maps, weights, curves).
"""

from __future__ import annotations

import math
import shutil
import tempfile
import threading
import weakref
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnscratch.base.errors import HyperparameterError, NNScratchError
from nnscratch.base.files import atomic_write
from nnscratch.data import Dataset
from nnscratch.engine import layers as L
from nnscratch.engine.names import ACTIVATION_NAMES, OPTIMIZER_NAMES
from nnscratch.experiments import builder
from nnscratch.experiments.config import load_config
from nnscratch.experiments.sweep import repeat_seeds
from nnscratch.training.loop import evaluate_prepared, prepare_data

from .datasets import LIBRARY_NAMES, PLAYGROUND_DATASETS

UPLOAD_CSV = "playground_data.csv"  # the name the exported experiment file gives the uploaded data
GRID = 60  # decision-boundary resolution (GRID x GRID points)
NEURON_GRID = 20  # resolution of the small per-neuron maps
MAX_UNITS, MAX_LAYERS, MAX_POINTS, MAX_EPOCHS_PER_STEP = 32, 6, 5000, 200


@dataclass
class PlaygroundConfig:
    """The page's settings; every field is validated by :meth:`checked`."""

    dataset: str = "xor"
    n_samples: int = 400
    noise: float = 0.1
    test_fraction: float = 0.3
    n_classes: int = 2
    hidden: list[int] = field(default_factory=lambda: [4, 4])
    activations: list[str] = field(default_factory=lambda: ["tanh", "tanh"])
    output: str = "auto"  # auto | sigmoid | softmax | identity (regression on the label)
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    l2: float = 0.0
    batch_size: int = 10
    seed: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlaygroundConfig:
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise HyperparameterError(f"unknown setting(s) {unknown}; known settings are {sorted(known)}")
        try:
            cfg = cls(**data)
            return cfg.checked()
        except (TypeError, ValueError) as exc:
            if isinstance(exc, NNScratchError):
                raise
            raise HyperparameterError(f"invalid settings: {exc}") from exc

    def checked(self) -> PlaygroundConfig:
        def need(cond: bool, message: str) -> None:
            if not cond:
                raise HyperparameterError(message)

        self.hidden = [int(h) for h in self.hidden]
        self.activations = [str(a) for a in self.activations]
        self.n_samples, self.n_classes, self.batch_size, self.seed = (
            int(self.n_samples),
            int(self.n_classes),
            int(self.batch_size),
            int(self.seed),
        )
        self.noise, self.test_fraction = float(self.noise), float(self.test_fraction)
        self.lr, self.momentum, self.l2 = float(self.lr), float(self.momentum), float(self.l2)
        need(
            self.dataset in PLAYGROUND_DATASETS or self.dataset == "upload",
            f"dataset must be one of {sorted(PLAYGROUND_DATASETS)} or an upload. Received: {self.dataset!r}",
        )
        need(
            8 <= self.n_samples <= MAX_POINTS,
            f"n_samples must be in [8, {MAX_POINTS}]. Received: {self.n_samples}",
        )
        need(0.0 <= self.noise <= 2.0, f"noise must be in [0, 2]. Received: {self.noise}")
        need(
            0.0 <= self.test_fraction <= 0.9,
            f"test_fraction must be in [0, 0.9]. Received: {self.test_fraction}",
        )
        need(2 <= self.n_classes <= 6, f"n_classes must be in [2, 6]. Received: {self.n_classes}")
        need(
            len(self.hidden) <= MAX_LAYERS,
            f"at most {MAX_LAYERS} hidden layers. Received: {len(self.hidden)}",
        )
        need(
            all(1 <= h <= MAX_UNITS for h in self.hidden),
            f"units per layer must be in [1, {MAX_UNITS}]. Received: {self.hidden}",
        )
        need(
            len(self.activations) == len(self.hidden),
            f"one activation per hidden layer: {len(self.hidden)} layers but "
            f"{len(self.activations)} activations",
        )
        # names as everywhere (nnscratch.engine.names), kept in their canonical spelling
        self.activations = [ACTIVATION_NAMES.canonical(a) for a in self.activations]
        need(
            self.output in ("auto", "sigmoid", "softmax", "identity"),
            f"output must be auto, sigmoid, softmax or identity. Received: {self.output!r}",
        )
        self.optimizer = OPTIMIZER_NAMES.canonical(self.optimizer)
        need(
            math.isfinite(self.lr) and 0 < self.lr <= 10,
            f"learning rate must be in (0, 10]. Received: {self.lr}",
        )
        need(0 <= self.momentum < 1, f"momentum must be in [0, 1). Received: {self.momentum}")
        need(math.isfinite(self.l2) and 0 <= self.l2 <= 10, f"L2 must be in [0, 10]. Received: {self.l2}")
        need(
            1 <= self.batch_size <= MAX_POINTS,
            f"batch size must be in [1, {MAX_POINTS}]. Received: {self.batch_size}",
        )
        need(0 <= self.seed < 2**32, f"seed must be in [0, 2^32). Received: {self.seed}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Session:
    """Data, model, optimizer and history for one browser tab."""

    def __init__(self, config: PlaygroundConfig | None = None) -> None:
        self.lock = threading.Lock()
        self.upload: Dataset | None = None
        self.configure(config or PlaygroundConfig())

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
        return {
            "experiment": {
                "name": "playground",
                "seed": c.seed,
                "description": f"exported from the nnscratch playground after {self.epoch} epochs",
            },
            "data": data,
            # raw scores out: the loss applies sigmoid/softmax in its stable fused form
            "model": {
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
                "epochs": max(1, self.epoch if epochs is None else epochs),
                "batch_size": c.batch_size,
            },
        }

    def configure(self, config: PlaygroundConfig) -> None:
        """Build data, split, network, loss and optimizer exactly as ``nnscratch train`` would."""
        if config.dataset == "upload" and self.upload is None:
            raise HyperparameterError("dataset 'upload' needs a CSV uploaded first")
        previous = getattr(self, "config", None)
        self.config, self.epoch = config, 0
        try:
            if config.dataset == "upload":
                n_classes = int(self.upload.y.max()) + 1
            else:
                n_classes = config.n_classes if config.dataset in ("spirals", "gaussians") else 2
            output = config.output
            if output == "auto":
                output = "sigmoid" if n_classes == 2 else "softmax"
            if output == "sigmoid" and n_classes > 2:
                raise HyperparameterError(
                    f"a sigmoid output fits 2 classes; this data has {n_classes}: use softmax"
                )
            self.output = output
            base = self._upload_dir if config.dataset == "upload" else None
            cfg = load_config(self.experiment(), base_dir=base)
        except NNScratchError:
            if previous is not None:
                self.config = previous
            raise
        data = builder.load_data(cfg)[0]
        split = builder.make_split(cfg, data, None, None)
        self.X_train, self.y_train = split.X_train, split.y_train
        empty = np.empty((0, data.n_features))
        self.X_test = split.X_test if split.X_test is not None else empty
        self.y_test = split.y_test if split.y_test is not None else np.empty(0, dtype=np.int64)
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
        self.epoch = 0
        self.curves: dict[str, list[float]] = {"train_loss": [], "test_loss": []}
        self.diverged: str | None = None
        self._record()

    def set_upload(self, data: Dataset) -> None:
        """Keep an uploaded dataset as the CSV file the exported experiment file will name."""
        self._upload_dir = tempfile.mkdtemp(prefix="nnscratch-playground-")
        weakref.finalize(
            self, shutil.rmtree, self._upload_dir, ignore_errors=True
        )  # removed with the session
        rows = "\n".join(
            f"{a!r},{b!r},{int(c)}" for (a, b), c in zip(data.X.tolist(), data.y.tolist(), strict=True)
        )
        atomic_write(Path(self._upload_dir) / UPLOAD_CSV, "x0,x1,label\n" + rows + "\n", encoding=None)
        self.upload = data

    def upload_csv(self) -> str:
        return (Path(self._upload_dir) / UPLOAD_CSV).read_text()

    # -- training --------------------------------------------------------------------------------
    def _targets(self, y: np.ndarray) -> np.ndarray:
        """``y`` as the loss compares it with the output: checked and shaped once, as ``fit`` does."""
        X_probe = np.zeros((len(y), self.X_train.shape[1]))
        return prepare_data(
            self.model, X_probe, builder.targets(y, self._loss_key, self._outputs), self.loss
        )[1]

    def step(self, epochs: int = 1) -> None:
        """Train ``epochs`` more epochs: the same arithmetic, in the same order, as ``ns.fit``."""
        if self.diverged:
            return
        epochs = max(1, min(int(epochs), MAX_EPOCHS_PER_STEP))
        X, y = self._fit_data
        n, bs = len(X), self.config.batch_size
        self.model.train()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for _ in range(epochs):
                order = self.rng.permutation(n) if bs < n else slice(None)
                for start in range(0, n, bs) if bs < n else [0]:
                    idx = order[start : start + bs] if bs < n else order
                    value = self.loss.forward(self.model.forward(X[idx]), y[idx])
                    if not math.isfinite(value):
                        self.diverged = (
                            f"training diverged at epoch {self.epoch + 1}: the loss became {value}. "
                            f"Lower the learning rate (now {self.config.lr:g}) and press reset."
                        )
                        return
                    self.optimizer.zero_grad()
                    self.model.backward(self.loss.backward(), input_grad=False)
                    self.optimizer.step()
                self.epoch += 1
                self._record()

    def _loss_acc(
        self, X: np.ndarray, y: np.ndarray, target: np.ndarray
    ) -> tuple[float | None, float | None]:
        """Loss and accuracy through ``ns.evaluate``'s code (the one evaluation path); accuracy
        is None for a regression, both None for no data or a non-finite loss."""
        if len(X) == 0:
            return None, None
        values = evaluate_prepared(self.model, X, target, self.loss, metrics=("accuracy",))
        loss = values["loss"]
        return (loss if math.isfinite(loss) else None), values.get("accuracy")

    def _record(self) -> None:
        self.train_loss, self.train_acc = self._loss_acc(self.X_train, self.y_train, self._fit_data[1])
        self.test_loss, self.test_acc = self._loss_acc(self.X_test, self.y_test, self._test_targets)
        if self.train_loss is None and self.epoch and not self.diverged:
            self.diverged = f"training diverged at epoch {self.epoch}: lower the learning rate and reset."
        self.curves["train_loss"].append(self.train_loss)
        self.curves["test_loss"].append(self.test_loss)

    # -- pictures ----------------------------------------------------------------------------------
    def bounds(self) -> tuple[float, float, float, float]:
        X = np.vstack([self.X_train, self.X_test])
        lo, hi = X.min(axis=0), X.max(axis=0)
        pad = 0.1 * np.maximum(hi - lo, 1e-6)
        return float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])

    def _grid(self, size: int) -> np.ndarray:
        x0, x1, y0, y1 = self.bounds()
        xs, ys = np.linspace(x0, x1, size), np.linspace(y1, y0, size)  # row 0 is the top
        gx, gy = np.meshgrid(xs, ys)
        return np.column_stack([gx.ravel(), gy.ravel()])

    def boundary(self) -> list[int]:
        """Predicted class (or P(class 1) in 0..100 for 2 classes) on the GRID x GRID plane."""
        self.model.eval()
        with np.errstate(over="ignore", invalid="ignore"):
            out = self.model.forward(self._grid(GRID))
        if self.output == "softmax":
            p = np.exp(out - out.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            # class index * 100 + confidence, decoded by the page
            return (p.argmax(axis=1) * 100 + np.rint(p.max(axis=1) * 99)).astype(int).tolist()
        if self.output == "sigmoid":
            p = L.sigmoid(out[:, 0])
        else:
            p = np.clip(out[:, 0], 0, 1)
        return np.nan_to_num(np.rint(p * 100)).astype(int).tolist()

    def neuron_maps(self) -> list[list[list[int]]]:
        """For every hidden layer, each neuron's activation over the plane, scaled to -100..100."""
        maps: list[list[list[int]]] = []
        h = self._grid(NEURON_GRID)
        self.model.eval()
        with np.errstate(over="ignore", invalid="ignore"):
            for layer in self.model.layers[:-1]:
                h = layer.forward(h)
                if not isinstance(layer, L.Linear):
                    scale = np.maximum(np.abs(h).max(axis=0), 1e-12)
                    maps.append(np.nan_to_num(np.rint(h / scale * 100)).astype(int).T.tolist())
        return maps

    def weights(self) -> list[dict[str, Any]]:
        return [
            {"weight": np.round(layer.weight.data, 4).tolist(), "bias": np.round(layer.bias.data, 4).tolist()}
            for layer in self.model.layers
            if isinstance(layer, L.Linear)
        ]

    def points(self) -> dict[str, Any]:
        return {
            "train": np.round(self.X_train, 4).tolist(),
            "train_y": self.y_train.astype(int).tolist(),
            "test": np.round(self.X_test, 4).tolist(),
            "test_y": self.y_test.astype(int).tolist(),
        }

    def snapshot(self, with_points: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "epoch": self.epoch,
            "train_loss": self.train_loss,
            "test_loss": self.test_loss,
            "train_acc": self.train_acc,
            "test_acc": self.test_acc,
            "curves": self.curves,
            "boundary": self.boundary(),
            "grid": GRID,
            "neurons": self.neuron_maps(),
            "neuron_grid": NEURON_GRID,
            "weights": self.weights(),
            "bounds": self.bounds(),
            "output": self.output,
            "n_classes": self.n_classes,
            "diverged": self.diverged,
            "layers": [2, *self.config.hidden, self.n_classes if self.output == "softmax" else 1],
            "activations": [*self.config.activations, self.output],
        }
        if with_points:
            data["points"] = self.points()
            data["config"] = self.config.to_dict()
        return data


__all__ = ["PlaygroundConfig", "Session"]
