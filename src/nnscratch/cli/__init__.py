"""The ``nnscratch`` command: run experiment files and look at their results.

    nnscratch train examples/xor_221.toml
    nnscratch cv examples/cv_linear.toml --set training.epochs=200 --out runs/lin
    nnscratch sweep examples/sweep_lr.toml
    nnscratch report runs/xor_221 runs/moons_2331 --out runs/index
    nnscratch datasets list
    nnscratch datasets describe moons --set n_samples=500
    nnscratch datasets plot moons --out moons.png
    nnscratch explain examples/explain/seed003_relu_sin.toml --format text
    nnscratch inspect runs/xor_221/model.npz
    nnscratch playground --port 8765

Every mistake of the user's (a bad file, option or config) prints one line starting with
``error:`` and exits with status 2, whichever the command. A training that diverged (NaN or
exploding loss or weights; for a sweep: every setting) prints ``error: training diverged...``
and exits with status 3. A run that finished without learning (saturated outputs, no progress)
exits 0 and prints one ``warning:`` line per problem; its report opens with the same warnings.

``nnscratch --version``, ``--help`` and ``-h`` (on every command) work after a plain
``pip install nnscratch`` (NumPy and typer). The commands import what needs an optional extra
(scikit-learn, matplotlib, sympy, Flask) only when they run, so that start-up stays fast and a
missing extra is one line, ``error: nnscratch train needs the 'experiments' extra: pip install
"nnscratch[experiments]"`` (status 2). A directory, or a problem file given to ``train`` (an
experiment file given to ``explain``), is refused in one line that names the right command.

The package, one concept a module: this one holds the ``nnscratch`` app, its root options and
the list of commands, in the order ``nnscratch --help`` shows them; :mod:`.errors` the one-line
errors, :mod:`.inputs` what a TOML file is and the experiments layer that reads it,
:mod:`.runs` train/cv/sweep/keys/report, :mod:`.datasets` the ``datasets`` group and
:mod:`.tools` inspect/generate/playground/explain.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from nnscratch._version import __version__
from nnscratch.cli import runs, tools
from nnscratch.cli.datasets import datasets_app
from nnscratch.cli.errors import EXIT_DIVERGED, EXTRA_MODULES

__all__ = ["EXIT_DIVERGED", "EXTRA_MODULES", "app", "main"]

HELP = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="nnscratch",
    help="Neural networks from scratch: train, cross-validate and sweep TOML experiment files.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=HELP,
)
app.add_typer(
    datasets_app,
    name="datasets",
    short_help="List, describe or plot the built-in datasets.",
    context_settings=HELP,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"nnscratch {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Neural networks from scratch: train, cross-validate and sweep TOML experiment files."""


app.command(short_help="Train one model and write its run folder.")(runs.train)
app.command(short_help="K-fold cross-validation of an experiment file.")(runs.cv)
app.command(short_help="Train every point of the [sweep] grid.")(runs.sweep)
app.command(short_help="Every experiment-file key: type, default, meaning.")(runs.keys)
app.command(short_help="(Re)write the report of run folders.")(runs.report)
app.command(short_help="Describe a model file; predict a CSV with it.")(tools.inspect)
app.command("generate", short_help="Continue a prompt with a trained sequence model.")(tools.generate_command)
app.command(short_help="Watch a network learn in the browser.")(tools.playground)
app.command("explain", short_help="Work a problem file out step by step.")(tools.explain_command)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point (``[project.scripts] nnscratch``)."""
    return app(args=argv if argv is not None else sys.argv[1:], prog_name="nnscratch")
