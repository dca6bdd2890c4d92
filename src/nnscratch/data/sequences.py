"""Sequence tasks: a label per position, for transformers (digit sequences, character-level text).

Each row of ``X`` is a sequence of token ids (stored as whole numbers in float64, as every
dataset's features are; an ``Embedding`` reads them) and the matching row of ``y`` holds the
token expected at each position.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from nnscratch.base.errors import HyperparameterError
from nnscratch.base.validation import check_positive_int

from .dataset import Dataset

RULES = ("reverse", "sort")


def digit_sequences(
    n_samples: int = 10000, length: int = 8, n_digits: int = 10, rule: str = "reverse", seed: int = 0
) -> Dataset:
    """Random digit sequences and their reversal (``rule="reverse"``) or sorted order (``"sort"``).

    Row i of ``X`` holds ``length`` digits drawn uniformly from 0 … n_digits − 1; ``y[i]`` is that
    row reversed or sorted. With the defaults there are 10⁸ possible sequences, so held-out rows
    are sequences the model has not seen: getting them right means learning the rule.
    """
    n = check_positive_int(n_samples, "n_samples")
    T = check_positive_int(length, "length")
    k = check_positive_int(n_digits, "n_digits")
    if k < 2:
        raise HyperparameterError(f"n_digits must be >= 2. Received: n_digits={n_digits}")
    if rule not in RULES:
        raise HyperparameterError(f"rule must be one of {RULES}. Received: rule={rule!r}")
    X = np.random.default_rng(seed).integers(0, k, size=(n, T))
    y = X[:, ::-1] if rule == "reverse" else np.sort(X, axis=1)
    done = {"reverse": "reversed", "sort": "sorted"}[rule]
    desc = f"{n} sequences of {T} digits in 0..{k - 1}, target the sequence {done} (seed {seed})."
    features = [f"t{t}" for t in range(T)]
    return Dataset(X.astype(np.float64), y.copy(), f"digits_{rule}", features, [str(d) for d in range(k)],
                   "sequence", desc)  # fmt: skip


def shakespeare_text() -> str:
    """The text shipped with nnscratch: the first 99 843 characters of Tiny Shakespeare (the
    opening of *Coriolanus*; Shakespeare is in the public domain)."""
    return resources.files("nnscratch.data").joinpath("texts/coriolanus.txt").read_text("utf-8")


def encode_text(text: str, vocabulary: list[str]) -> np.ndarray:
    """Token ids of ``text``, one per character, in ``vocabulary`` (the characters, id order)."""
    index = {c: i for i, c in enumerate(vocabulary)}
    unknown = sorted(set(text) - set(index))
    if unknown:
        raise HyperparameterError(f"characters outside the vocabulary: {''.join(unknown)!r}")
    return np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text))


def shakespeare(window: int = 64, stride: int | None = None) -> Dataset:
    """Character-level language modelling on :func:`shakespeare_text`.

    The text becomes ids of its sorted distinct characters (``target_names``); row i of ``X`` is
    the ``window`` characters starting at ``i·stride`` (default: ``window``, no overlap) and
    ``y[i]`` the same characters shifted by one, so position t is trained to predict character
    t + 1 from characters ≤ t (give the model a causal mask). Rows are in text order: hold out the
    last ones (``[data] split = "ordered"``) to measure on text the model has not read.
    """
    T = check_positive_int(window, "window")
    step = T if stride is None else check_positive_int(stride, "stride")
    text = shakespeare_text()
    vocabulary = sorted(set(text))
    ids = encode_text(text, vocabulary)
    starts = np.arange(0, len(ids) - T, step)
    X, y = ids[starts[:, None] + np.arange(T)], ids[starts[:, None] + np.arange(1, T + 1)]
    desc = (
        f"Tiny Shakespeare (Coriolanus), {len(text)} characters, {len(vocabulary)} distinct: "
        f"{len(starts)} windows of {T}, target the next character at each position; rows in text order."
    )
    return Dataset(X.astype(np.float64), y, "shakespeare", [f"t{t}" for t in range(T)], vocabulary,
                   "sequence", desc)  # fmt: skip


__all__ = ["RULES", "digit_sequences", "encode_text", "shakespeare", "shakespeare_text"]
