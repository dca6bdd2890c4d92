"""WorkedExample: the result of :func:`nnscratch.explain`, with its renderers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from nnscratch.base.errors import ConfigError
from nnscratch.base.files import atomic_write
from nnscratch.base.validation import check_choice
from nnscratch.worked.derivations import Derivation, derivation
from nnscratch.worked.render_latex import render_latex
from nnscratch.worked.render_markdown import render_latex_fragment, render_markdown
from nnscratch.worked.render_text import render_text

from .steps import Note, Section, Step

FORMATS = {"md": "md", "markdown": "md", "latex": "latex", "tex": "latex", "text": "text", "txt": "text"}
_EXTENSIONS = {".md": "md", ".markdown": "md", ".tex": "latex", ".txt": "text"}


class WorkedExample:
    """A forward and backward pass written out step by step.

    Each :class:`Step` holds the formula, the formula with numbers substituted and the result;
    ``ex["z1"]``, ``ex["delta2"]``, ``ex["W1_new"]`` give the results as arrays (in the chosen
    layout, vectors as columns, full precision). Render with :meth:`to_markdown`,
    :meth:`to_latex`, :meth:`to_text` (also ``str(ex)``), or display it in Jupyter.

    Attributes
    ----------
    title : str
    header : list of Note
        Network, loss, optimizer, layout and precision, one line each.
    sections : list of Section
        ``Given``, ``Forward pass``, ``Loss``, ``Backward pass``, ``Parameter update``, ``Answers``.
    decimals : int
        Digits shown after the decimal point (values are never rounded internally).
    layout : {"out_in", "in_out"}
    """

    def __init__(
        self,
        title: str,
        header: list[Note],
        sections: list[Section],
        *,
        decimals: int,
        layout: str,
        aliases: dict[str, str] | None = None,
        topics: list[str] | None = None,
        trace: Any = None,
    ) -> None:
        self.title = title
        self.header = header
        self.sections = sections
        self.decimals = decimals
        self.layout = layout
        self.aliases = dict(aliases or {})
        self.topics = list(topics or [])
        self.trace = trace

    # -- values ------------------------------------------------------------------------------------
    def steps(self) -> Iterator[Step]:
        """Every step, in computation order (the Answers summary left out)."""
        for sec in self.sections:
            if sec.title == "Answers":
                continue
            yield from sec.steps

    def keys(self) -> list[str]:
        """Names of the checkable quantities, in computation order (``"z1"``, ``"a1"``, ...)."""
        seen: list[str] = []
        for step in self.steps():
            if step.key and step.key not in seen:
                seen.append(step.key)
        return seen

    def step(self, key: str) -> Step:
        """The step computing ``key`` (aliases such as ``"yhat"``, ``"output"`` accepted)."""
        name = self.resolve(key)
        for step in self.steps():
            if step.key == name:
                return step
        raise KeyError(key)

    def resolve(self, key: str) -> str:
        """The canonical key for ``key`` or raise ConfigError listing the valid ones."""
        if not isinstance(key, str):
            raise ConfigError(f"a quantity name must be a string such as 'z1'. Received: {key!r}")
        keys = self.keys()
        if key in keys:
            return key
        if key in self.aliases:
            return self.aliases[key]
        lowered = {k.lower(): k for k in keys}
        if key.lower() in lowered:
            return lowered[key.lower()]
        raise ConfigError(
            f"unknown quantity {key!r}. Expected one of: {', '.join(keys)}"
            + (f" (or the aliases {', '.join(sorted(self.aliases))})" if self.aliases else "")
        )

    def __getitem__(self, key: str) -> np.ndarray:
        value = self.step(key).value
        return value.copy()

    def __contains__(self, key: object) -> bool:
        try:
            self.resolve(key)  # type: ignore[arg-type]
        except ConfigError:
            return False
        return True

    @property
    def values(self) -> dict[str, np.ndarray]:
        """Every checkable result, by key, in computation order."""
        return {k: self[k] for k in self.keys()}

    @property
    def loss(self) -> float:
        return float(self["loss"])

    @property
    def output(self) -> np.ndarray:
        """The network's output: a⁽ᴸ⁾ (columns are samples) of a dense network, else Ŷ."""
        layers = getattr(self.trace, "layers", None)  # dense networks; attention and LayerNorm use "yhat"
        return self[f"a{len(layers)}"] if layers else self["yhat"]

    # -- rendering -----------------------------------------------------------------------------------
    def to_markdown(self) -> str:
        return render_markdown(self)

    def to_latex(self, standalone: bool = True) -> str:
        """A complete LaTeX document (``standalone=True``) or just its body."""
        return render_latex(self, standalone=standalone)

    def to_text(self) -> str:
        return render_text(self)

    def render(self, format: str = "md") -> str:
        """``format`` is ``"md"`` (or ``"markdown"``), ``"latex"`` (``"tex"``) or ``"text"`` (``"txt"``)."""
        fmt = FORMATS[check_choice(format, "format", sorted(FORMATS))]
        return {"md": self.to_markdown, "latex": self.to_latex, "text": self.to_text}[fmt]()

    def save(self, path: str | os.PathLike[str], format: str | None = None) -> Path:
        """Write the rendering to ``path``; the format follows the extension unless given."""
        target = Path(path)
        if format is None:
            format = _EXTENSIONS.get(target.suffix.lower(), "md")
        return atomic_write(target, self.render(format))

    def derivations(self) -> Derivation:
        """The general derivations of every layer, activation and loss used here, as one page.

        ``print()`` it for Unicode math; ``.markdown`` is the Markdown with LaTeX (pages separated
        by ``---``); in Jupyter the math is rendered.
        """
        pages = [derivation(name) for name in self.topics]
        return sum(pages[1:], pages[0]) if pages else Derivation("", "")

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_latex_(self) -> str:
        return render_latex_fragment(self)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"WorkedExample({self.title!r}, {len(self.keys())} quantities, layout={self.layout!r})"
