"""Derivation pages: every one reachable from Python, identical to docs/derivations, in the wheel."""

import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nnscratch as ns
from nnscratch.engine.names import ACTIVATION_NAMES, LAYER_TYPE_NAMES, LOSS_NAMES
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
        text = ns.derivation(name).markdown
        assert text.startswith("# ") and "$" in text, name
        assert text.count("$$") % 2 == 0, name


def test_docs_folder_is_generated_from_the_package(tmp_path):
    docs = ROOT / "docs" / "derivations"
    for name in PAGES:
        assert (docs / f"{name}.md").read_text(encoding="utf-8") == ns.derivation(name).markdown, (
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
        (ns.LayerNorm(3), "layernorm"),
        ("layer_norm", "layernorm"),
        (ns.GELU(approximate="tanh"), "gelu"),
        (ns.SiLU, "gelu"),
        ("swish", "gelu"),
    ],
)
def test_names_classes_and_instances_resolve(name, page):
    assert ns.derivation(name) == ns.derivation(page)


def test_unknown_page():
    with pytest.raises(ns.ConfigError, match="no derivation named 'no_such_layer'"):
        ns.derivation("no_such_layer")


def test_fused_gradients_are_derived():
    assert "\\frac{1}{n}(\\hat{y} - y)" in ns.derivation("bce").markdown
    assert "= \\hat{y}_j - y_j" in ns.derivation("cross_entropy").markdown
    assert "\\sigma(z) - y" in ns.derivation("bce_with_logits").markdown
    assert "W^{(l+1)\\top} \\delta^{(l+1)}" in ns.derivation("chain").markdown


def test_worked_example_lists_its_own_derivations():
    model = ns.Sequential(ns.Linear(2, 2, rng=0), ns.Tanh(), ns.Linear(2, 1, rng=1), ns.Sigmoid())
    text = ns.explain(model, [1, 0], 1, loss="bce").derivations().markdown
    titles = re.findall(r"^# (.+)$", text, flags=re.M)
    assert len(titles) == 5  # chain, linear, tanh, sigmoid, bce
    for page in ("tanh", "bce", "chain"):
        assert ns.derivation(page).markdown in text


@pytest.mark.slow
def test_pages_ship_in_the_wheel(tmp_path):
    build = pytest.importorskip("hatchling.builders.wheel")
    builder = build.WheelBuilder(str(ROOT))
    wheel = next(iter(builder.build(directory=str(tmp_path), versions=["standard"])))
    names = zipfile.ZipFile(wheel).namelist()
    for name in PAGES:
        assert f"nnscratch/worked/derivation_pages/{name}.md" in names


@pytest.mark.parametrize("name", list_derivations())
def test_printed_derivation_is_unicode_math(name):
    page = ns.derivation(name)
    text = str(page)
    assert text == page.to_text() == page.text
    assert "\\frac" not in text and "$$" not in text and "\\partial" not in text
    assert "∂" in text, name
    code = "\n".join(re.findall(r"```.*?```", page.markdown, flags=re.S))
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    assert re.search(r"\\[A-Za-z]+", prose) is None, name  # no LaTeX command left
    assert "$" not in text.replace(code, ""), name
    assert page._repr_markdown_() == page.markdown == page.to_markdown()
    assert "$" in page._repr_markdown_()  # Jupyter renders the LaTeX math


ALIASES = ["ce", "BCELoss", "adam", "leaky_relu", "backprop", "softmax_ce", "bce_logits", "sigmoid_bce"]


@pytest.mark.parametrize("name", [*PAGES, *ALIASES])
def test_every_accepted_name_prints_readably(name):
    text = str(ns.derivation(name))
    assert "\\frac" not in text and "$$" not in text
    assert "∂" in text


def test_cross_entropy_in_the_terminal():
    page = ns.derivation("cross_entropy")
    text = str(page)
    assert "∂ℓ/∂zⱼ = Σₖ (−yₖ/ŷₖ) ŷₖ (δₖⱼ − ŷⱼ) = −yⱼ + ŷⱼ Σₖ yₖ = ŷⱼ − yⱼ" in text
    assert "δ⁽ᴸ⁾ = (1/N)(ŷ − y)" in text
    title = "Cross-entropy (`CrossEntropyLoss`) and why softmax + cross-entropy gives δ = ŷ − y"
    assert text.startswith(f"{title}\n{'=' * len(title)}\n")
    assert "\\frac{\\partial \\ell}{\\partial z_j}" in page.markdown
    assert repr(page).startswith("Derivation('cross_entropy'")
    assert "σ(z)" in str(ns.derivation("bce")) and "W⁽ˡ⁺¹⁾ᵀ δ⁽ˡ⁺¹⁾" in str(ns.derivation("chain"))


def test_latex_to_text_subset():
    from nnscratch.worked.latex_text import latex_to_text

    assert latex_to_text(r"\frac{\partial L}{\partial z^{(l)}}") == "∂L/∂z⁽ˡ⁾"
    assert latex_to_text(r"\frac{1}{N}(\hat{y} - y)") == "(1/N)(ŷ − y)"
    assert latex_to_text(r"\sigma(z) \odot x_{ij}^2") == "σ(z) ⊙ xᵢⱼ²"
    assert latex_to_text(r"\sqrt{v + \epsilon} \cdot a") == "√(v + ε) · a"
    assert latex_to_text(r"e^{z_j - \max z}") == "e^(zⱼ − max z)"
    assert latex_to_text(r"\text{if } x \le 0") == "if x ≤ 0"


def test_worked_example_derivations_print_readably():
    model = ns.Sequential(ns.Linear(2, 2, rng=0), ns.Tanh(), ns.Linear(2, 1, rng=1), ns.Sigmoid())
    pages = ns.explain(model, [1, 0], 1, loss="bce").derivations()
    assert "\\frac" not in str(pages) and "∂" in str(pages)
    assert pages.markdown.count("\n\n---\n\n") == 4


@pytest.mark.parametrize(
    "name",
    # the library's own layers: tests register layers of their own (a user's layer has no page)
    [*(n for n in LAYER_TYPE_NAMES if hasattr(ns, n)), *ACTIVATION_NAMES, *LOSS_NAMES],
)
def test_every_layer_activation_and_loss_has_a_page(name):
    """Every name an experiment file or a model accepts leads to the page deriving its gradient."""
    page = ns.derivation(name)
    assert page.markdown.startswith("# ") and "$" in page.markdown
