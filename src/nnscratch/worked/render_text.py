"""Plain-text rendering for the terminal: matrices drawn as bracket blocks side by side."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .mathfmt import Mat, Tex, Token, fmt_num, scalarize, text_matrix
from .steps import Note, Step

if TYPE_CHECKING:
    from .worked import WorkedExample

WIDTH = 100


def _block(tok: Token, decimals: int) -> list[str]:
    if isinstance(tok, Tex):
        return [tok.text]
    if tok.value.size == 1:
        s = fmt_num(float(tok.value.reshape(-1)[0]), decimals)
        return [f"({s})" if s.startswith("-") else s]
    return text_matrix(tok.value, decimals)


def render_tokens(tokens: Sequence[Token], decimals: int) -> list[str]:
    """Lay tokens out left to right, each block centred on a common middle row."""
    blocks = [_block(t, decimals) for t in tokens]
    blocks = [b for b in blocks if b != [""]]
    if not blocks:
        return [""]
    above = max((len(b) - 1) // 2 for b in blocks)
    below = max(len(b) - 1 - (len(b) - 1) // 2 for b in blocks)
    rows = [""] * (above + below + 1)
    for b in blocks:
        width = max(len(s) for s in b)
        top = above - (len(b) - 1) // 2
        for r in range(len(rows)):
            i = r - top
            rows[r] += (b[i] if 0 <= i < len(b) else "").ljust(width)
    return [r.rstrip() for r in rows]


def _value(value: np.ndarray, decimals: int) -> Token:
    if value.size == 1:
        return Tex("", fmt_num(float(value.reshape(-1)[0]), decimals))
    return Mat(value)


def render_step(step: Step, decimals: int, indent: str = "  ") -> list[str]:
    out = [step.title + (f"   [{step.key}]" if step.key else "")]
    pad = Tex(" " * len(step.lhs.text), " " * len(step.lhs.text))
    eq = Tex(" = ", " = ")
    lines: list[tuple[Token, ...]] = []
    if step.symbolic:
        lines.append((step.lhs, eq, *step.symbolic))
    if step.substituted:
        lines.append((pad if lines else step.lhs, eq, *scalarize(step.substituted)))
    lines.append((pad if lines else step.lhs, eq, _value(step.value, decimals)))
    for ln in lines:
        out.extend(indent + r for r in render_tokens(ln, decimals))
    for ln in step.details:
        out.extend(indent + "  " + r for r in render_tokens(ln, decimals))
    for note in step.notes:
        out.extend(_note(note, indent))
    return out


def _note(note: Note, indent: str) -> list[str]:
    return textwrap.wrap(note.text, WIDTH, initial_indent=indent + "• ", subsequent_indent=indent + "  ")


def render_text(ex: WorkedExample) -> str:
    out = [ex.title, "=" * len(ex.title), ""]
    for note in ex.header:
        out.extend(textwrap.wrap(note.text, WIDTH, subsequent_indent="  "))
    for sec in ex.sections:
        out += ["", sec.title, "-" * len(sec.title)]
        for note in sec.notes:
            out.extend(_note(note, ""))
        for step in sec.steps:
            out += ["", *render_step(step, ex.decimals)]
    return "\n".join(out).rstrip() + "\n"
