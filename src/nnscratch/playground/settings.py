"""The page's settings (:class:`PlaygroundConfig`), each field checked as a finite number in range,
an integer as a real integer and a name against the library's name tables."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from nnscratch.base.errors import HyperparameterError
from nnscratch.engine.layers.features import PLAYGROUND_FEATURES
from nnscratch.engine.names import ACTIVATION_NAMES, OPTIMIZER_NAMES

from . import fields as F
from .datasets import PLAYGROUND_DATASETS

MAX_UNITS, MAX_LAYERS, MAX_POINTS = 32, 6, 5000
DEFAULT_FEATURES = ["x1", "x2"]  # the plain inputs: no Features layer in the network
OUTPUTS = ("auto", "sigmoid", "softmax", "identity")  # identity: regression on the label (MSE)


@dataclass
class PlaygroundConfig:
    """The page's settings; :meth:`from_dict` checks every field."""

    dataset: str = "xor"
    n_samples: int = 400
    noise: float = 0.1
    test_fraction: float = 0.3
    n_classes: int = 2
    features: list[str] = field(default_factory=lambda: ["x1", "x2"])
    hidden: list[int] = field(default_factory=lambda: [4, 4])
    activations: list[str] = field(default_factory=lambda: ["tanh", "tanh"])
    output: str = "auto"
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    l2: float = 0.0
    l1: float = 0.0
    batch_size: int = 10
    seed: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlaygroundConfig:
        """Check every field of ``data`` (missing ones keep their defaults) and build the settings."""
        if not isinstance(data, dict):
            raise HyperparameterError("the settings must be a JSON object")
        known = sorted(f.name for f in fields(cls))
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise HyperparameterError(f"unknown setting(s) {unknown}; known settings are {known}")
        merged = {**asdict(cls()), **data}
        hidden = F.sequence("hidden", merged["hidden"], MAX_LAYERS)
        activations = F.sequence("activations", merged["activations"], MAX_LAYERS)
        if len(activations) != len(hidden):
            raise HyperparameterError(
                f"one activation per hidden layer: {len(hidden)} layers but {len(activations)} activations"
            )
        return cls(
            features=features(merged["features"]),
            dataset=F.choice("dataset", merged["dataset"], (*PLAYGROUND_DATASETS, "upload")),
            n_samples=F.integer("n_samples", merged["n_samples"], 8, MAX_POINTS),
            noise=F.number("noise", merged["noise"], 0.0, 2.0),
            test_fraction=F.number("test_fraction", merged["test_fraction"], 0.0, 0.9),
            n_classes=F.integer("n_classes", merged["n_classes"], 2, 6),
            hidden=[F.integer(f"hidden[{i}]", h, 1, MAX_UNITS) for i, h in enumerate(hidden)],
            # names as everywhere (nnscratch.engine.names), kept in their canonical spelling
            activations=[
                ACTIVATION_NAMES.canonical(F.text(f"activations[{i}]", a)) for i, a in enumerate(activations)
            ],
            output=F.choice("output", merged["output"], OUTPUTS),
            optimizer=OPTIMIZER_NAMES.canonical(F.text("optimizer", merged["optimizer"])),
            lr=F.number("lr", merged["lr"], 0.0, 10.0, low_open=True),
            momentum=F.number("momentum", merged["momentum"], 0.0, 0.999),
            l2=F.number("l2", merged["l2"], 0.0, 10.0),
            l1=F.number("l1", merged["l1"], 0.0, 10.0),
            batch_size=F.integer("batch_size", merged["batch_size"], 1, MAX_POINTS),
            seed=F.integer("seed", merged["seed"], 0, 2**32 - 1),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def features(value: Any) -> list[str]:
    """The input features: a non-empty list of distinct names from the Playground's seven, kept in
    their canonical order (so the same choice always builds the same network)."""
    names = F.sequence("features", value, len(PLAYGROUND_FEATURES))
    chosen = [F.choice(f"features[{i}]", n, PLAYGROUND_FEATURES) for i, n in enumerate(names)]
    if not chosen or len(set(chosen)) != len(chosen):
        raise HyperparameterError(
            f"features must name at least one input, each once, from {list(PLAYGROUND_FEATURES)}. "
            f"Received: features={chosen}"
        )
    return [n for n in PLAYGROUND_FEATURES if n in chosen]


__all__ = ["DEFAULT_FEATURES", "MAX_LAYERS", "MAX_POINTS", "MAX_UNITS", "PlaygroundConfig"]
