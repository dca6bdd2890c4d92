"""Markdown with LaTeX math (``$…$`` inline, ``$$…$$`` display, ``bmatrix`` matrices).

Renders in Jupyter (``_repr_markdown_``), on GitHub, and in any MathJax/KaTeX Markdown viewer.
The display math of each step is an ``aligned`` block: formula, numbers substituted, result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .mathfmt import Tex, Token, latex_matrix, latex_num, scalarize
from .steps import Step

if TYPE_CHECKING:
    from .worked import WorkedExample


def latex_tokens(tokens: Sequence[Token], decimals: int) -> str:
    parts = []
    for tok in tokens:
        if isinstance(tok, Tex):
            parts.append(tok.latex)
        elif tok.value.size == 1:
            s = latex_num(float(tok.value.reshape(-1)[0]), decimals)
            parts.append(f"({s})" if s.startswith("-") else s)
        else:
            parts.append(latex_matrix(tok.value, decimals))
    return "".join(parts)


def value_latex(value: np.ndarray, decimals: int) -> str:
    if value.size == 1:
        return latex_num(float(value.reshape(-1)[0]), decimals)
    return latex_matrix(value, decimals)


def step_rows(step: Step, decimals: int) -> list[str]:
    """The rows of the ``aligned`` block: ``lhs &= symbolic``, ``&= substituted``, ``&= value``."""
    rows = []
    if step.symbolic:
        rows.append(step.lhs.latex + " &= " + latex_tokens(step.symbolic, decimals))
    if step.substituted:
        rows.append(
            ("" if rows else step.lhs.latex) + " &= " + latex_tokens(scalarize(step.substituted), decimals)
        )
    rows.append(("" if rows else step.lhs.latex) + " &= " + value_latex(step.value, decimals))
    return rows


def detail_rows(step: Step, decimals: int) -> list[str]:
    rows = []
    for ln in step.details:
        text = latex_tokens(ln, decimals)
        rows.append(text.replace(" = ", " &= ", 1))
    return rows


def aligned(rows: Sequence[str]) -> str:
    return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"


def render_step_markdown(step: Step, decimals: int) -> str:
    out = [
        f"**{step.title}**" + (f" &nbsp; `{step.key}`" if step.key else ""),
        "",
        "$$",
        aligned(step_rows(step, decimals)),
        "$$",
        "",
    ]
    details = detail_rows(step, decimals)
    if details:
        out += ["Entry by entry:", "", "$$", aligned(details), "$$", ""]
    for note in step.notes:
        out += [f"> {note.markup}", ""]
    return "\n".join(out)


def render_markdown(ex: WorkedExample) -> str:
    out = [f"# {ex.title}", ""]
    for note in ex.header:
        out += [f"- {note.markup}"]
    out.append("")
    for sec in ex.sections:
        out += [f"## {sec.title}", ""]
        for note in sec.notes:
            out += [note.markup, ""]
        for step in sec.steps:
            out.append(render_step_markdown(step, ex.decimals))
    return "\n".join(out).rstrip() + "\n"


def render_latex_fragment(ex: WorkedExample) -> str:
    """Display math only (for ``_repr_latex_``): one ``aligned`` block per section."""
    blocks = []
    for sec in ex.sections:
        rows = [r"\textbf{" + sec.title + "} & "]
        for step in sec.steps:
            rows.extend(step_rows(step, ex.decimals))
        blocks.append("$$\n" + aligned(rows) + "\n$$")
    return "\n".join(blocks)
