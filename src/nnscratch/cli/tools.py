"""The commands around single files: ``inspect`` (a model file, optionally predicting a CSV),
``generate`` (text sampled from a character-level model a run folder saved),
``playground`` (the browser playground, needing the 'playground' extra) and ``explain`` (a problem
file worked out step by step, needing the 'explain' extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from nnscratch.base.errors import ModelFileError
from nnscratch.base.files import atomic_write
from nnscratch.cli.errors import fail, need, user_errors
from nnscratch.cli.inputs import file_kind
from nnscratch.data import encode_text, from_csv
from nnscratch.engine.generation import generate
from nnscratch.io.model import load_with_info
from nnscratch.training.loop import predict
from nnscratch.worked import explain_problem
from nnscratch.worked.worked import FORMATS


def inspect(
    model_file: Annotated[
        Path, typer.Argument(help="A model file written by ns.save (or a run folder's model.npz).")
    ],
    data: Annotated[
        Path | None, typer.Option("--data", "-d", help="A CSV to predict (features, then a label column).")
    ] = None,
) -> None:
    """Load a model file (refusing anything unsafe), describe it, and optionally predict a CSV."""
    with user_errors("inspect", path=model_file):
        model, info = load_with_info(model_file)
        typer.echo(f"{model_file}: {model.num_parameters()} parameters, {model.dtype}")
        typer.echo(repr(model))
        for key, value in sorted((info.metrics or {}).items()):
            typer.echo(f"  {key}: {value}")
        if info.history is not None and len(info.history):
            typer.echo(f"  history: {len(info.history)} epochs, last loss {info.history.last('loss'):.6g}")
        if data is not None:
            ds = from_csv(data)
            pred = predict(model, ds.X)
            typer.echo(f"  {data}: {len(pred)} rows, accuracy {float(np.mean(pred == ds.y)):.4f}")


def generate_command(
    model_file: Annotated[
        Path,
        typer.Argument(help="The model.npz of a run of a sequence task (e.g. examples/shakespeare_lm.toml)."),
    ],
    prompt: Annotated[
        str, typer.Option("--prompt", "-p", help="Text to continue, in the model's vocabulary.")
    ],
    length: Annotated[
        int, typer.Option("--length", "-n", min=1, max=100_000, help="Tokens to sample.")
    ] = 300,
    temperature: Annotated[
        float, typer.Option(min=0.01, max=10.0, help="Below 1: likelier tokens; above 1: more varied.")
    ] = 0.8,
    seed: Annotated[int, typer.Option(min=0, help="Seeds the sampling: the same seed, the same text.")] = 0,
) -> None:
    """Continue a prompt with text sampled from a trained sequence model, one token at a time."""
    with user_errors("generate", path=model_file):
        model, info = load_with_info(model_file)
        vocabulary = info.meta.get("labels")
        if (
            not isinstance(vocabulary, list)
            or not vocabulary
            or not all(isinstance(v, str) for v in vocabulary)
        ):
            raise ModelFileError(
                f"{model_file} does not name its vocabulary (meta 'labels'): generate reads the model.npz "
                "that `nnscratch train` writes for a sequence task"
            )
        ids = generate(model, encode_text(prompt, vocabulary), length, temperature=temperature, seed=seed)
    joined = "" if all(len(v) == 1 for v in vocabulary) else " "
    typer.echo(prompt + joined.join(vocabulary[i] for i in ids))


def playground(
    host: Annotated[
        str, typer.Option(help="Address to bind; keep 127.0.0.1 unless on a trusted network.")
    ] = ("127.0.0.1"),
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in a browser.")] = False,
) -> None:
    """Watch a network learn in the browser, with the worked math behind every weight."""
    need("playground", "playground")
    with user_errors("playground", "playground"):
        # deferred: the server needs Flask, an optional package the other commands do without
        from nnscratch.playground.server import serve
    serve(host=host, port=port, open_browser=open_browser)


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
        raise fail(f"--format: format must be one of md, latex, text. Received: {format!r}")
    if problem.is_dir():
        raise fail(f"{problem} is a directory, not a problem file (a .toml file, see examples/explain/)")
    if file_kind(problem) == "experiment":
        raise fail(f"{problem}: this is an experiment file: use `nnscratch train {problem}`")
    need("explain", "explain")
    with user_errors("explain", "explain", path=out):
        text = explain_problem(problem).render(format)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(out, text)
    if out is None:
        typer.echo(text, nl=False)
    else:
        typer.echo(f"wrote {out}", err=True)
