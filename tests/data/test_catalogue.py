"""The static dataset catalogue (what ``nnscratch datasets list`` prints) equals the loaded sets."""

from __future__ import annotations

import pytest

from nnscratch.data import CATALOGUE, describe, list_datasets


def test_every_built_in_dataset_has_a_catalogue_row_and_no_row_is_orphaned() -> None:
    assert list(CATALOGUE) == list_datasets()


@pytest.mark.parametrize("name", list_datasets())
def test_catalogue_row_equals_the_loaded_dataset(name: str) -> None:
    pytest.importorskip("sklearn")
    info = describe(name)
    row = CATALOGUE[name]
    assert (row.task, row.n_samples, row.n_features) == (info["task"], info["n_samples"], info["n_features"])
    assert row.n_classes == info.get("n_classes")
    assert row.description == info["description"]
