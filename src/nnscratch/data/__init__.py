"""Datasets: built-in toy and classic sets, CSV/NPZ loaders, and preprocessing helpers.

import nnscratch as ns
X, y = ns.datasets.load("moons", n_samples=200, noise=0.2, seed=0)
ds = ns.datasets.from_csv("train.csv", target="label")
ns.datasets.list_datasets()
"""

from .builtin import (
    DATASETS,
    breast_cancer,
    circles,
    dataset_options,
    describe,
    digits,
    gaussians,
    iris,
    linear,
    list_datasets,
    load,
    moons,
    spirals,
    wine,
    xor,
    xor_easy,
)
from .dataset import TASKS, Dataset, Standardizer, infer_task, one_hot, standardize, train_test_split
from .files import from_csv, from_npz

__all__ = [
    "DATASETS",
    "TASKS",
    "Dataset",
    "Standardizer",
    "breast_cancer",
    "circles",
    "dataset_options",
    "describe",
    "digits",
    "from_csv",
    "from_npz",
    "gaussians",
    "infer_task",
    "iris",
    "linear",
    "list_datasets",
    "load",
    "moons",
    "one_hot",
    "spirals",
    "standardize",
    "train_test_split",
    "wine",
    "xor",
    "xor_easy",
]
