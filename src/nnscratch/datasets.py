"""``nnscratch.datasets``: the same API as :mod:`nnscratch.data` (``ns.datasets.load("xor")``)."""

from .data import *  # noqa: F403
from .data import __all__ as __all__
