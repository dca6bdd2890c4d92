"""The general derivations, one Markdown page per layer, activation, loss and topic.

:func:`derivation` returns a :class:`Derivation`: Unicode math when printed, rendered LaTeX in Jupyter.

The pages live in the package (``derivation_pages/*.md``, shipped in the wheel) and are the
source of ``docs/derivations/``; regenerate the docs with
``python -c "from nnscratch.worked.derivations import write_docs; write_docs('docs/derivations')"``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from nnscratch.base.errors import ConfigError
from nnscratch.base.files import atomic_write
from nnscratch.engine.names import ACTIVATION_NAMES, LOSS_NAMES, OPTIMIZER_NAMES

from .latex_text import markdown_to_text

PAGES: dict[str, str] = {
    "chain": "Backpropagation through a network (the chain rule)",
    "linear": "Linear layer",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "relu": "ReLU and LeakyReLU",
    "softmax": "Softmax",
    "identity": "Identity (no activation)",
    "custom_activation": "Custom and symbolic activations",
    "mse": "Mean squared error",
    "l2": "L2 loss (homework form)",
    "bce": "Binary cross-entropy (and sigmoid + BCE)",
    "bce_with_logits": "Binary cross-entropy on logits",
    "cross_entropy": "Cross-entropy (and softmax + cross-entropy)",
    "conv2d": "2-D convolution (Conv2d)",
    "maxpool2d": "Max pooling (MaxPool2d)",
    "avgpool2d": "Average pooling (AvgPool2d)",
    "reshaping": "Reshaping layers (Flatten, Unflatten, Reshape, LastTimeStep)",
    "residual": "Residual connection (Residual)",
    "parallel": "Parallel branches (Parallel: add or concatenate)",
    "positional": "Positional encodings (learned and sinusoidal)",
    "attention": "Multi-head self-attention (MultiheadAttention)",
    "dropout": "Dropout (inverted)",
    "embedding": "Embedding (table look-up)",
    "optimizers": "One optimizer step (SGD, momentum, Adam)",
    "rnn": "Recurrent network (RNN, tanh) and backpropagation through time",
    "lstm": "Long short-term memory (LSTM)",
    "gru": "Gated recurrent unit (GRU)",
    "batchnorm": "Batch normalisation (BatchNorm1d, BatchNorm2d)",
    "layernorm": "Layer normalisation (LayerNorm)",
    "gelu": "GELU and SiLU (smooth gated activations)",
    "features": "Input features (Features: x1², x1·x2, sin x1, ...)",
}

#: Topic names besides the pages; loss and activation names (with their aliases) come from the
#: tables of :mod:`nnscratch.engine.names` (a loss's page is its canonical name; every optimizer's
#: is ``optimizers``).
_ALIASES = {
    "backprop": "chain",
    "backpropagation": "chain",
    "network": "chain",
    "sequential": "chain",
    "dense": "linear",
    "fullyconnected": "linear",
    "activation": "custom_activation",
    "symbolic": "custom_activation",
    "symbolicactivation": "custom_activation",
    "custom": "custom_activation",
    "sigmoid_bce": "bce",
    "softmax_ce": "cross_entropy",
    "optimizer": "optimizers",
    "conv": "conv2d",
    "convolution": "conv2d",
    "maxpool": "maxpool2d",
    "maxpooling": "maxpool2d",
    "pool": "maxpool2d",
    "pooling": "maxpool2d",
    "avgpool": "avgpool2d",
    "averagepooling": "avgpool2d",
    "flatten": "reshaping",
    "unflatten": "reshaping",
    "reshape": "reshaping",
    "lasttimestep": "reshaping",
    "skip": "residual",
    "branches": "parallel",
    "branch": "parallel",
    "positionalembedding": "positional",
    "sinusoidalpositionalencoding": "positional",
    "positionalencoding": "positional",
    "multiheadattention": "attention",
    "selfattention": "attention",
    "transformerencoderlayer": "attention",
    "transformer": "attention",
    "leakyrelu": "relu",
    "embed": "embedding",
    "bptt": "rnn",
    "elman": "rnn",
    "batchnorm1d": "batchnorm",
    "batchnorm2d": "batchnorm",
    "batch_norm": "batchnorm",
    "layer_norm": "layernorm",
    "silu": "gelu",
    "swish": "gelu",
    "feature": "features",
    "inputfeatures": "features",
    "featuretransforms": "features",
}


def list_derivations() -> list[str]:
    """The names of the available pages."""
    return list(PAGES)


def _key(name: Any) -> str:
    if not isinstance(name, str):  # a layer, loss or optimizer instance or class
        cls = name if isinstance(name, type) else type(name)
        if any(c.__name__ == "Activation" for c in cls.__mro__):
            return "custom_activation"
        name = cls.__name__
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key in PAGES:
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    if key.replace("_", "") in _ALIASES:
        return _ALIASES[key.replace("_", "")]
    loss = LOSS_NAMES.find(key)
    if loss is not None:
        return loss.name
    act = ACTIVATION_NAMES.find(key)
    if act is not None:
        return "relu" if act.name == "leaky_relu" else act.name
    if OPTIMIZER_NAMES.find(key) is not None:
        return "optimizers"
    raise ConfigError(f"no derivation named {name!r}. Available: {', '.join(PAGES)}")


class Derivation:
    """A derivation page: Markdown with LaTeX math, readable in a terminal and in Jupyter.

    ``print(d)`` / ``str(d)`` write the math in Unicode (``∂L/∂z⁽ˡ⁾ = δ⁽ˡ⁾``, ``σ(z)``, ``Σₖ``);
    Jupyter renders :attr:`markdown` with its LaTeX math. The source stays available as
    :attr:`markdown` (also :meth:`to_markdown`); :meth:`to_text` is the terminal form.

    Attributes
    ----------
    name : str
        The page name (``"cross_entropy"``), or the page names joined by ``+`` for several pages.
    markdown : str
        The page as written, math in LaTeX (``$...$`` and ``$$...$$``).
    """

    def __init__(self, name: str, markdown: str) -> None:
        self.name = name
        self.markdown = markdown

    @property
    def title(self) -> str:
        """The first heading, as Markdown."""
        first = self.markdown.lstrip().splitlines()[0] if self.markdown.strip() else ""
        return first.lstrip("#").strip()

    def to_markdown(self) -> str:
        return self.markdown

    def to_text(self) -> str:
        """The page for the terminal: LaTeX math written in Unicode, headings underlined."""
        return markdown_to_text(self.markdown)

    @property
    def text(self) -> str:
        return self.to_text()

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"Derivation({self.name!r}, title={self.title!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Derivation):
            return self.markdown == other.markdown
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.markdown)

    def __add__(self, other: Derivation) -> Derivation:
        """Two pages as one, separated by a rule (``ns.explain(...).derivations()``)."""
        if not isinstance(other, Derivation):
            return NotImplemented
        return Derivation(f"{self.name}+{other.name}", f"{self.markdown}\n\n---\n\n{other.markdown}")


def derivation(name: Any) -> Derivation:
    """The derivation of a layer, activation, loss or topic.

    ``name`` is a page name (``"bce"``, ``"softmax"``, ``"chain"``...; see :func:`list_derivations`),
    a class name such as ``"BCELoss"``, or an nnscratch object or class (``ns.Sigmoid()``).
    ``print()`` it in a terminal (math in Unicode) or display it in Jupyter (math rendered);
    ``.markdown`` is the page's Markdown with its LaTeX math.
    """
    key = _key(name)
    page = resources.files(__package__).joinpath("derivation_pages", f"{key}.md").read_text(encoding="utf-8")
    return Derivation(key, page)


def index_markdown() -> str:
    lines = [
        "# Derivations",
        "",
        "One page per layer, activation, loss and topic: the general formulas behind every step of",
        "`ns.explain` (`nnscratch.worked`). The same text is available in Python as",
        "`nnscratch.derivation(name)`",
        "and, for the layers of one worked example, as `ns.explain(...).derivations()`.",
        "",
        "These files are generated from `src/nnscratch/worked/derivation_pages/` (edit those) by",
        '`python -c "from nnscratch.worked.derivations import write_docs; '
        "write_docs('docs/derivations')\"`.",
        "",
    ]
    lines += [f"- [{title}]({key}.md) — `derivation({key!r})`" for key, title in PAGES.items()]
    return "\n".join(lines) + "\n"


def write_docs(folder: str | Path) -> list[Path]:
    """Write every page and a README index into ``folder``; return the paths written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for key in PAGES:
        path = out / f"{key}.md"
        written.append(atomic_write(path, derivation(key).markdown))
    written.append(atomic_write(out / "README.md", index_markdown()))
    return written
