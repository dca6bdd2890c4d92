"""``nnscratch datasets``: the built-in datasets, listed, described (with the options they take)
or plotted. ``list`` reads the static catalogue, so it loads no dataset and needs no extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from nnscratch.cli.errors import fail, need, user_errors
from nnscratch.cli.inputs import experiments
from nnscratch.data import CATALOGUE, describe
from nnscratch.data import load as load_dataset

datasets_app = typer.Typer(
    help="The built-in datasets: list them, describe or plot one.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _dataset_options(sets: list[str] | None, command: str) -> dict[str, Any]:
    """``--set KEY=VALUE`` dataset options, values parsed as TOML literals like the experiments' ones."""
    return dict(experiments(command, runs=False).parse_set(item) for item in sets) if sets else {}


@datasets_app.command("list")
def datasets_list() -> None:
    """The built-in datasets with their size and task (at their default options)."""
    typer.echo(f"{'name':<14} {'task':<11} {'samples':>7} {'features':>8} {'classes':>7}  description")
    for name, info in CATALOGUE.items():
        classes = "-" if info.n_classes is None else info.n_classes
        sizes = f"{info.n_samples:>7} {info.n_features:>8} {classes:>7}"
        note = "" if info.available() else " (needs the 'experiments' extra)"
        typer.echo(f"{name:<14} {info.task:<11} {sizes}  {info.description}{note}")


@datasets_app.command("describe", short_help="What a dataset holds and the options it takes.")
def datasets_describe(
    name: Annotated[str, typer.Argument(help="A dataset name from `nnscratch datasets list`.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", metavar="KEY=VALUE", help="A dataset option, e.g. n_samples=500."),
    ] = None,
) -> None:
    """What a dataset holds and the options it takes (usable as [data] params)."""
    # the scikit-learn datasets (moons, iris...) need the 'experiments' extra
    with user_errors("datasets describe", "experiments", dataset=name):
        options = _dataset_options(set_, "datasets describe")
        info = describe(name, **options)
    typer.echo(f"{info['name']}: {info['description']}")
    for key in ("task", "n_samples", "n_features", "n_classes"):
        if key in info:
            typer.echo(f"  {key}: {info[key]}")
    if info.get("class_counts"):
        typer.echo("  class counts: " + ", ".join(f"{k}: {v}" for k, v in info["class_counts"].items()))
    typer.echo(
        "  options ([data] params): "
        + (", ".join(f"{k} = {v!r}" for k, v in info["options"].items()) or "none")
    )
    if info.get("doc"):
        typer.echo("\n" + info["doc"])


@datasets_app.command("plot")
def datasets_plot(
    name: Annotated[str, typer.Argument(help="A two-feature dataset, e.g. moons, xor, circles, spirals.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="The image to write (default: <name>.png).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", metavar="KEY=VALUE", help="A dataset option, e.g. noise=0.3."),
    ] = None,
) -> None:
    """Save a scatter of a two-feature dataset, one colour per class."""
    with user_errors("datasets plot", "experiments", path=out, dataset=name):
        need("experiments", "datasets plot", ("matplotlib",))
        options = _dataset_options(set_, "datasets plot")
        data = load_dataset(name, **options)
        if data.n_features != 2:
            raise fail(
                f"dataset {data.name!r} has {data.n_features} features; `datasets plot` draws "
                "two-feature datasets (e.g. moons, xor, circles, spirals, gaussians)"
            )
        # deferred: matplotlib is slow to import, and only this command of the datasets group draws
        from nnscratch.plots import plot_dataset, save_figure

        path = save_figure(plot_dataset(data), out or Path(f"{data.name}.png"))
    typer.echo(f"wrote {path}")
