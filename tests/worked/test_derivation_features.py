"""The derivation page of the Features layer (input transforms)."""

import pytest

import nnscratch as ns


@pytest.mark.parametrize(
    "name", ["features", "Features", ns.Features(), ns.Features, "feature", "input features"]
)
def test_names_resolve(name):
    assert ns.derivation(name) == ns.derivation("features")


def test_the_page_states_each_forms_derivative_and_the_sum_over_columns():
    md = ns.derivation("features").markdown
    for form, derivative in [
        ('"xi^2"', r"\partial f / \partial x_i = 2 x_i"),
        ('"xi*xj"', r"\partial f / \partial x_j = x_i"),
        ('"sin(xi)"', r"\partial f / \partial x_i = \cos x_i"),
        ('"cos(xi)"', r"\partial f / \partial x_i = -\sin x_i"),
    ]:
        assert form in md and derivative in md
    assert r"\sum_k \frac{\partial L}{\partial y_k} \, \frac{\partial f_k}{\partial x_i}" in md
    assert "dx[:, j] += g_k * x_i" in md
