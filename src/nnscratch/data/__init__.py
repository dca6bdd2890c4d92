"""Datasets: built-in toy and classic sets, CSV/NPZ loaders, and preprocessing helpers.

import nnscratch as ns
X, y = ns.datasets.load("moons", n_samples=200, noise=0.2, seed=0)
ds = ns.datasets.from_csv("train.csv", target="label")
ns.datasets.list_datasets()
X, y = ns.data.load_idx_images("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
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
    sine,
    sine_series,
    spirals,
    wine,
    xor,
    xor_easy,
)
from .catalogue import CATALOGUE, CatalogueEntry
from .dataset import (
    TASKS,
    Dataset,
    Standardizer,
    infer_task,
    one_hot,
    standardize,
    stratifiable,
    train_test_split,
)
from .files import from_csv, from_npz
from .images import from_idx, load_idx, load_idx_images, load_image_npz, save_idx
from .regression import multi_gaussian, plane
from .sequences import digit_sequences, encode_text, shakespeare, shakespeare_text

__all__ = [
    "CATALOGUE",
    "DATASETS",
    "TASKS",
    "CatalogueEntry",
    "Dataset",
    "Standardizer",
    "breast_cancer",
    "circles",
    "dataset_options",
    "describe",
    "digit_sequences",
    "digits",
    "encode_text",
    "from_csv",
    "from_idx",
    "from_npz",
    "gaussians",
    "infer_task",
    "iris",
    "linear",
    "list_datasets",
    "load",
    "load_idx",
    "load_idx_images",
    "load_image_npz",
    "moons",
    "multi_gaussian",
    "one_hot",
    "plane",
    "save_idx",
    "shakespeare",
    "shakespeare_text",
    "sine",
    "sine_series",
    "spirals",
    "standardize",
    "stratifiable",
    "train_test_split",
    "wine",
    "xor",
    "xor_easy",
]
