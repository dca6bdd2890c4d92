"""A standalone LaTeX document (``pdflatex``-ready: ASCII only, amsmath for ``bmatrix``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .render_markdown import aligned, detail_rows, step_rows
from .steps import Note

if TYPE_CHECKING:
    from .worked import WorkedExample

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "^": r"\^{}",
    "_": r"\_",
    "%": r"\%",
    "~": r"\~{}",
}
_UNICODE = {
    "δ": r"$\delta$",
    "∂": r"$\partial$",
    "η": r"$\eta$",
    "σ": r"$\sigma$",
    "γ": r"$\gamma$",
    "β": r"$\beta$",
    "μ": r"$\mu$",
    "ŷ": r"$\hat{y}$",
    "⊙": r"$\odot$",
    "⊘": r"$\oslash$",
    "−": "-",
    "·": r"$\cdot$",
    "≤": r"$\le$",
    "→": r"$\to$",
    "²": r"$^2$",
    "½": r"$\frac{1}{2}$",
    "Σ": r"$\Sigma$",
    "ε": r"$\epsilon$",
    "√": r"$\surd$",
    "ᵀ": r"$^\top$",
    "—": "---",
    "–": "--",
    "×": r"$\times$",
}
_SUPERS = {
    "⁰": "0",
    "¹": "1",
    "²": "2",
    "³": "3",
    "⁴": "4",
    "⁵": "5",
    "⁶": "6",
    "⁷": "7",
    "⁸": "8",
    "⁹": "9",
    "⁽": "(",
    "⁾": ")",
    "ˡ": "l",
    "ᴸ": "L",
}


def escape(text: str) -> str:
    """Plain prose as LaTeX: special characters escaped, known Unicode symbols mapped, others dropped."""
    out = []
    sup = ""
    for ch in text + "\0":
        if ch in _SUPERS and ch != "²":
            sup += _SUPERS[ch]
            continue
        if sup:
            out.append(f"$^{{{sup}}}$")
            sup = ""
        if ch == "\0":
            break
        if ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        elif ch in _UNICODE:
            out.append(_UNICODE[ch])
        elif ord(ch) < 128:
            out.append(ch)
        else:
            out.append("?")
    return "".join(out)


def markup(text: str) -> str:
    """Markdown-ish prose (``$math$`` kept, ```code``` as ``\\texttt``, the rest escaped) as LaTeX."""
    parts = re.split(r"(\$[^$]+\$|`[^`]+`)", text)
    out = []
    for part in parts:
        if part.startswith("$") and part.endswith("$") and len(part) > 1:
            out.append(part)
        elif part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(r"\texttt{" + escape(part[1:-1]) + "}")
        else:
            out.append(escape(part.replace("**", "")))
    return "".join(out)


def _note(note: Note) -> str:
    return r"\noindent\textit{Note.} " + markup(note.markup) + "\n"


PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[margin=1.5cm]{geometry}
\usepackage{amsmath}
\usepackage{amssymb}
\allowdisplaybreaks
\setcounter{MaxMatrixCols}{32}
\setlength{\parindent}{0pt}
\setlength{\parskip}{4pt}
"""


def render_latex(ex: WorkedExample, *, standalone: bool = True) -> str:
    body = []
    body.append(r"\section*{" + escape(ex.title) + "}")
    body.append(r"\begin{itemize}")
    body.extend(r"  \item " + markup(n.markup) for n in ex.header)
    body.append(r"\end{itemize}")
    for sec in ex.sections:
        body.append(r"\subsection*{" + escape(sec.title) + "}")
        body.extend(_note(n) for n in sec.notes)
        for step in sec.steps:
            key = rf" \hfill\texttt{{{escape(step.key)}}}" if step.key else ""
            body.append(r"\paragraph{" + escape(step.title) + "}" + key)
            body.append("\\[\n" + aligned(step_rows(step, ex.decimals)) + "\n\\]")
            details = detail_rows(step, ex.decimals)
            if details:
                body.append("Entry by entry:\n\\[\n" + aligned(details) + "\n\\]")
            body.extend(_note(n) for n in step.notes)
    text = "\n".join(body) + "\n"
    if not standalone:
        return text
    return PREAMBLE + "\\begin{document}\n" + text + "\\end{document}\n"
