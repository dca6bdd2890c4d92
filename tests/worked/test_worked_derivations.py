"""Derivation pages: every one reachable from Python, identical to docs/derivations, in the wheel."""

import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nnscratch as ns
from nnscratch.worked.derivations import PAGES, index_markdown, list_derivations, write_docs

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = [
    "linear",
    "sigmoid",
    "tanh",
    "relu",
    "softmax",
    "identity",
    "custom_activation",
    "mse",
    "l2",
    "bce",
    "bce_with_logits",
    "cross_entropy",
    "chain",
]


def test_every_required_page_exists_with_math():
    assert set(REQUIRED) <= set(list_derivations())
    for name in list_derivations():
        text = ns.derivation(name)
        assert text.startswith("# ") and "$" in text, name
        assert text.count("$$") % 2 == 0, name


def test_docs_folder_is_generated_from_the_package(tmp_path):
    docs = ROOT / "docs" / "derivations"
    for name in PAGES:
        assert (docs / f"{name}.md").read_text(encoding="utf-8") == ns.derivation(name), (
            f"docs/derivations/{name}.md is stale: run python -c "
            "\"from nnscratch.worked.derivations import write_docs; write_docs('docs/derivations')\""
        )
    assert (docs / "README.md").read_text(encoding="utf-8") == index_markdown()
    written = write_docs(tmp_path)
    assert len(written) == len(PAGES) + 1


@pytest.mark.parametrize(
    ("name", "page"),
    [
        ("BCELoss", "bce"),
        (ns.BCELoss(), "bce"),
        (ns.Sigmoid, "sigmoid"),
        (ns.LeakyReLU(), "relu"),
        ("leaky-relu", "relu"),
        (ns.CrossEntropyLoss(), "cross_entropy"),
        ("softmax_ce", "cross_entropy"),
        (ns.Linear(2, 2), "linear"),
        ("backprop", "chain"),
        (ns.Sequential(), "chain"),
        ("Adam", "optimizers"),
        (ns.Activation(np.sin, np.cos), "custom_activation"),
        (ns.BCEWithLogitsLoss, "bce_with_logits"),
        ("MSELoss", "mse"),
        ("L2Loss", "l2"),
        (ns.Identity(), "identity"),
        ("Tanh", "tanh"),
    ],
)
def test_names_classes_and_instances_resolve(name, page):
    assert ns.derivation(name) == ns.derivation(page)


def test_unknown_page():
    with pytest.raises(ns.ConfigError, match="no derivation named 'conv'"):
        ns.derivation("conv")


def test_fused_gradients_are_derived():
    assert "\\frac{1}{n}(\\hat{y} - y)" in ns.derivation("bce")
    assert "= \\hat{y}_j - y_j" in ns.derivation("cross_entropy")
    assert "\\sigma(z) - y" in ns.derivation("bce_with_logits")
    assert "W^{(l+1)\\top} \\delta^{(l+1)}" in ns.derivation("chain")


def test_worked_example_lists_its_own_derivations():
    model = ns.Sequential(ns.Linear(2, 2, rng=0), ns.Tanh(), ns.Linear(2, 1, rng=1), ns.Sigmoid())
    text = ns.explain(model, [1, 0], 1, loss="bce").derivations()
    titles = re.findall(r"^# (.+)$", text, flags=re.M)
    assert len(titles) == 5  # chain, linear, tanh, sigmoid, bce
    assert ns.derivation("tanh") in text and ns.derivation("bce") in text and ns.derivation("chain") in text


@pytest.mark.slow
def test_pages_ship_in_the_wheel(tmp_path):
    build = pytest.importorskip("hatchling.builders.wheel")
    builder = build.WheelBuilder(str(ROOT))
    wheel = next(iter(builder.build(directory=str(tmp_path), versions=["standard"])))
    names = zipfile.ZipFile(wheel).namelist()
    for name in PAGES:
        assert f"nnscratch/worked/derivation_pages/{name}.md" in names
