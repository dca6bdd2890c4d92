"""The derivation pages of Conv2d, MaxPool2d, Dropout and Embedding (issue #17)."""

import pytest

import nnscratch as ns


@pytest.mark.parametrize(
    ("name", "page"),
    [
        ("Conv2d", "conv2d"),
        (ns.Conv2d(1, 1, 2), "conv2d"),
        ("conv", "conv2d"),
        ("convolution", "conv2d"),
        (ns.MaxPool2d(2), "maxpool2d"),
        ("max_pool", "maxpool2d"),
        ("pool", "maxpool2d"),
        (ns.Dropout(0.5), "dropout"),
        (ns.Embedding(3, 2), "embedding"),
        ("embed", "embedding"),
    ],
)
def test_layer_names_resolve(name, page):
    assert ns.derivation(name) == ns.derivation(page)


def test_pages_state_the_code_conventions():
    conv = ns.derivation("conv2d").markdown
    assert "cross-correlation" in conv and "G_2 \\hat{X}^\\top" in conv and "W_2^\\top G_2" in conv
    pool = str(ns.derivation("maxpool2d"))
    assert "arg-max" in pool and "first maximum in row-major" in pool
    drop = str(ns.derivation("dropout"))
    assert "∂L/∂x = ∂L/∂y ⊙ m/(1 − p)" in drop
    emb = ns.derivation("embedding").markdown
    assert "np.add.at" in emb and "padding_idx" in emb
