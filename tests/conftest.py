"""Shared fixtures. Every test that draws random numbers gets a seeded generator from here, so a
failure reproduces; tests/helpers/ holds the helpers several files import (``helpers.io_files``...).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A generator seeded with 0: the same numbers in every run of the test."""
    return np.random.default_rng(0)


@pytest.fixture
def make_rng() -> Callable[[int], np.random.Generator]:
    """Generators with chosen seeds, for tests that need several independent streams."""
    return np.random.default_rng
