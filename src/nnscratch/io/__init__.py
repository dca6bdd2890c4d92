"""Model-file layer: ``save`` / ``load`` (an ``.npz`` of arrays plus a JSON header, never pickle),
the architecture as JSON, activation formulas as expression trees, and the container format that
checkpoints share. Imports only the engine and the base. Its public names are those of
:mod:`.model`.
"""

from .model import *  # noqa: F403
from .model import __all__ as __all__
