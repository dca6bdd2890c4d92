"""The pieces of a worked example: notes, steps and sections.

A :class:`Step` is one line of a hand computation, ``lhs = symbolic = substituted = value``: the
general formula, the same formula with the numbers plugged in, and the result (from the engine,
full precision, rounded only when shown). Optional ``details`` repeat it entry by entry
(``z⁽¹⁾₁ = 0.4·1 + 0.3·1 + 1 = 1.7``) for small layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .mathfmt import Line, Tex, Token


@dataclass(frozen=True)
class Note:
    """A remark in prose. ``markup`` is prose with inline ``$…$`` LaTeX math (Markdown and LaTeX
    output); ``text`` says the same in plain Unicode (terminal output)."""

    markup: str
    text: str


@dataclass
class Step:
    """One computation: ``lhs = symbolic = substituted = value``.

    Attributes
    ----------
    key : str or None
        Name of the quantity for :func:`check_work` (``"z1"``, ``"delta2"``, ``"W1_new"``...);
        ``None`` for intermediate quantities that cannot be checked.
    title : str
        Plain-prose heading (no math).
    lhs : Tex
        The symbol computed, e.g. ``z^{(1)}``.
    symbolic, substituted : sequence of tokens, optional
        The general formula and the same with numbers in; either may be empty (given data has
        neither).
    value : ndarray
        The result in display orientation (samples as columns), full precision.
    details : list of lines
        Entry-by-entry lines, each a complete ``lhs = … = value`` line.
    notes : list of Note
    """

    key: str | None
    title: str
    lhs: Tex
    value: np.ndarray
    symbolic: Line = ()
    substituted: Line = ()
    details: list[Line] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.value = np.asarray(self.value, dtype=np.float64)
        self.symbolic = tuple(self.symbolic)
        self.substituted = tuple(self.substituted)


@dataclass
class Section:
    """A titled group of steps (``Forward pass``, ``Backward pass``...)."""

    title: str
    steps: list[Step] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def add(self, step: Step) -> Step:
        self.steps.append(step)
        return step


def line(*tokens: Token | Sequence[Token]) -> Line:
    """Flatten tokens and token sequences into one line."""
    out: list[Token] = []
    for tok in tokens:
        if isinstance(tok, (list, tuple)):
            out.extend(tok)
        else:
            out.append(tok)  # type: ignore[arg-type]
    return tuple(out)
