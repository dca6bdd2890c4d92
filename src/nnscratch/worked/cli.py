"""``nnscratch explain problem.toml --format md|latex|text --out FILE``, as a typer command.

:func:`explain_command` is a plain function with typer annotations: the ``nnscratch`` CLI
registers it with ``app.command("explain")(explain_command)``, and it can also be called
directly from Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnscratch.base.errors import NNScratchError

from .worked import FORMATS


def explain_command(
    problem: Annotated[
        Path, typer.Argument(help="TOML problem file: network, weights, input, target, loss.")
    ],
    format: Annotated[
        str, typer.Option("--format", "-f", help="Output format: md (Markdown + LaTeX math), latex or text.")
    ] = "md",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file instead of printing.")
    ] = None,
) -> None:
    """Work a problem file's forward pass, backward pass and update out step by step."""
    if format not in FORMATS:
        raise typer.BadParameter(
            f"format must be one of md, latex, text. Received: {format!r}", param_hint="'--format'"
        )
    from .problem import explain_problem

    try:
        text = explain_problem(problem).render(format)
    except NNScratchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    typer.echo(f"wrote {out}", err=True)


__all__ = ["explain_command"]
