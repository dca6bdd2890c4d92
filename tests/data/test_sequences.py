"""Sequence datasets (a label per position) and the Dataset rules for them."""

from __future__ import annotations

import numpy as np
import pytest

import nnscratch as ns
from nnscratch.base.errors import HyperparameterError, ShapeError
from nnscratch.data import digit_sequences, encode_text, shakespeare, shakespeare_text


@pytest.mark.parametrize("rule", ["reverse", "sort"])
def test_digit_sequences_follow_their_rule(rule):
    ds = digit_sequences(50, length=5, n_digits=4, rule=rule, seed=3)
    assert ds.task == "sequence" and ds.X.shape == ds.y.shape == (50, 5) and ds.y.dtype == np.int64
    X = ds.X.astype(np.int64)
    np.testing.assert_array_equal(ds.y, X[:, ::-1] if rule == "reverse" else np.sort(X, axis=1))
    assert ds.n_classes == 4 and ds.target_names == ["0", "1", "2", "3"]
    assert sum(ds.summary()["class_counts"].values()) == 250  # counted over every position


def test_digit_sequences_are_seeded_and_refuse_bad_options():
    np.testing.assert_array_equal(digit_sequences(10, seed=1).X, digit_sequences(10, seed=1).X)
    with pytest.raises(HyperparameterError, match="rule must be one of"):
        digit_sequences(rule="shuffle")
    with pytest.raises(HyperparameterError, match="n_digits must be >= 2"):
        digit_sequences(n_digits=1)


def test_shakespeare_windows_predict_the_next_character():
    ds = shakespeare(window=16, stride=8)
    text = shakespeare_text()
    chars = ds.target_names
    first = "".join(chars[int(i)] for i in ds.X[0])
    assert first == text[:16] and "".join(chars[i] for i in ds.y[0]) == text[1:17]
    assert "".join(chars[int(i)] for i in ds.X[1]) == text[8:24]
    assert chars == sorted(set(text)) and text.startswith("First Citizen:")
    np.testing.assert_array_equal(encode_text("All:", chars), [chars.index(c) for c in "All:"])
    with pytest.raises(HyperparameterError, match="outside the vocabulary"):
        encode_text("€", chars)


def test_a_2d_target_is_a_sequence_task_and_is_never_stratified():
    ds = ns.data.Dataset(np.zeros((4, 3)), np.ones((4, 3), int))
    assert ds.task == "sequence"
    assert not ns.data.stratifiable("sequence") and ns.data.stratifiable("binary")
    train, test = ds.split(0.25, seed=0)
    assert len(train) == 3 and len(test) == 1
    with pytest.raises(ShapeError, match="label per position"):
        ns.data.Dataset(np.zeros((4, 3)), np.ones((4, 3)), task="binary")
