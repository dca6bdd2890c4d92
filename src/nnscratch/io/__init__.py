"""Model-file layer: ``save`` / ``load`` (an ``.npz`` of arrays plus a JSON header, never pickle),
the architecture as JSON, activation formulas as expression trees, and the container format that
checkpoints share. Imports only the engine and the base.
"""

from .model import (
    FORMAT,
    FORMAT_VERSION,
    ModelInfo,
    fingerprint,
    load,
    load_with_info,
    register_activation,
    register_layer,
    registered_activation,
    save,
)

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ModelInfo",
    "fingerprint",
    "load",
    "load_with_info",
    "register_activation",
    "register_layer",
    "registered_activation",
    "save",
]
