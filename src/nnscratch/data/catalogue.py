"""What each built-in dataset holds with its default options, known without loading it.

``nnscratch datasets list`` reads this table so it starts in well under a second: loading every
set would import scikit-learn and read its bundled files. The facts are written once here and a
test (``tests/data/test_catalogue.py``) checks each row against the loaded dataset, so the table
cannot drift from the generators.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogueEntry:
    """One dataset's facts at its default options (``n_classes`` is ``None`` for regression);
    ``requires`` names the optional package that generates or ships it, if any."""

    task: str
    n_samples: int
    n_features: int
    n_classes: int | None
    description: str
    requires: str | None = None

    def available(self) -> bool:
        """Whether the package it needs is installed (looked up, not imported: that is slow)."""
        return self.requires is None or importlib.util.find_spec(self.requires) is not None


CATALOGUE: dict[str, CatalogueEntry] = {
    "xor": CatalogueEntry("binary", 4, 2, 2, "The four points of the XOR truth table."),
    "xor_easy": CatalogueEntry(
        "binary",
        21,
        2,
        2,
        "21 points on the diagonals of the unit square: main diagonal -> 0, anti-diagonal -> 1.",
    ),
    "xor_quadrants": CatalogueEntry(
        "binary", 400, 2, 2, "400 points in [-1, 1]^2 labelled by the sign of x0*x1 (noise 0.1)."
    ),
    "linear": CatalogueEntry(
        "binary", 100, 2, 2, "100 points uniform in [0, 1]^2 labelled 1 where x0 > x1 (seed 0)."
    ),
    "moons": CatalogueEntry(
        "binary", 200, 2, 2, "make_moons: 200 points, noise 0.2 (seed 0).", requires="sklearn"
    ),
    "circles": CatalogueEntry(
        "binary", 200, 2, 2, "make_circles: 200 points, noise 0.1, factor 0.5 (seed 0).", requires="sklearn"
    ),
    "spirals": CatalogueEntry(
        "multiclass", 300, 2, 3, "3 spiral arms, 300 points, angle noise 0.2 (seed 0)."
    ),
    "gaussians": CatalogueEntry(
        "multiclass",
        300,
        2,
        3,
        "3 Gaussian blobs in 2-D, 300 points, standard deviation 1 (seed 0).",
        requires="sklearn",
    ),
    "iris": CatalogueEntry("multiclass", 150, 4, 3, "Fisher's iris.", requires="sklearn"),
    "digits": CatalogueEntry(
        "multiclass",
        1797,
        64,
        10,
        "8x8 digit images, 10 classes, pixels scaled to [0, 1].",
        requires="sklearn",
    ),
    "breast_cancer": CatalogueEntry(
        "binary", 569, 30, 2, "Wisconsin diagnostic breast cancer (scikit-learn).", requires="sklearn"
    ),
    "wine": CatalogueEntry(
        "multiclass", 178, 13, 3, "UCI wine recognition (scikit-learn).", requires="sklearn"
    ),
    "sine": CatalogueEntry(
        "regression",
        1000,
        20,
        None,
        "Noisy sine wave sin(2πt/50) + 0.5 sin(2πt/17) + N(0, 0.1²): 1000 windows of 20 values, "
        "target the next value (seed 0); rows in time order.",
    ),
    "plane": CatalogueEntry(
        "regression", 200, 2, None, "200 points in [-6, 6]^2, target (x0 + x1)/10 read with noise 0 (seed 0)."
    ),
    "multi_gaussian": CatalogueEntry(
        "regression",
        200,
        2,
        None,
        "200 points in [-6, 6]^2, target the sum of 6 signed Gaussian bumps read with noise 0 (seed 0).",
    ),
    "digit_sequences": CatalogueEntry(
        "sequence",
        10000,
        8,
        10,
        "10000 sequences of 8 digits in 0..9, target the sequence reversed (seed 0).",
    ),
    "shakespeare": CatalogueEntry(
        "sequence",
        1560,
        64,
        61,
        "Tiny Shakespeare (Coriolanus), 99843 characters, 61 distinct: 1560 windows of 64, target the next "
        "character at each position; rows in text order.",
    ),
}


def catalogue_entry(name: str) -> CatalogueEntry:
    """The facts of built-in dataset ``name`` (a ``KeyError`` for a name not in the table)."""
    return CATALOGUE[name]


__all__ = ["CATALOGUE", "CatalogueEntry", "catalogue_entry"]
