"""The commands that run experiment files and report on them: train, cv, sweep, keys and report,
with what they share (their options, the parallel backend of cv and sweep, the end-of-run lines).

A training that diverged prints ``error: training diverged...`` and exits with status
:data:`~nnscratch.cli.errors.EXIT_DIVERGED`; a run that finished without learning exits 0 and
prints one ``warning:`` line per problem.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from nnscratch.base.errors import DivergenceError
from nnscratch.cli.errors import EXIT_DIVERGED, fail, user_errors
from nnscratch.cli.inputs import check_experiment_file, experiments
from nnscratch.report import index_rows, write_index, write_report

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        metavar="KEY=VALUE",
        help="Override a config value, e.g. optimizer.lr=0.1 (repeatable).",
    ),
]
OutOption = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="The run folder (default: runs/<experiment name>[-cv|-sweep])."),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the folder and the result.")]
FiguresOption = Annotated[
    bool, typer.Option("--figures/--no-figures", help="Draw the PNG figures (skip them for speed).")
]
ExperimentArg = Annotated[Path, typer.Argument(help="A TOML experiment file (see examples/).")]
RepeatsOption = Annotated[
    int | None,
    typer.Option(
        "--repeats",
        "-r",
        min=1,
        help="Train every setting with this many seeds (experiment.repeats); report mean ± std.",
    ),
]
JobsOption = Annotated[
    str,
    typer.Option(
        "--jobs",
        "-j",
        help="Local worker processes: N, -1 = every core, 1 = in this process, auto (or 0; the default) = "
        "in this process unless the tasks are enough work to pay for starting a process pool (~3 s), "
        "then one process per core (see docs/distributed.md).",
    ),
]
ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Run the tasks on a Dask scheduler, e.g. tcp://10.0.0.5:8786 (see docs/distributed.md).",
    ),
]


def _jobs(value: str) -> int | str:
    """``--jobs``: "auto" (or 0) for :func:`~nnscratch.experiments.jobs.choose_jobs`, else a number."""
    if value.strip().lower() in ("auto", "0"):
        return "auto"
    try:
        return int(value)
    except ValueError:
        raise fail(f"--jobs: expected auto or a number of processes. Received: {value!r}") from None


def _interactive() -> bool:
    """Whether a progress bar can redraw itself: stderr is a terminal and not a CI log."""
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return sys.stderr.isatty() and not ci


def _executor(
    ex: Any, mode: str, cfg: Any, out: Path | None, jobs: str, cluster: str | None, quiet: bool
) -> Any:
    """The parallel backend of cv and sweep: local processes or Dask, resumable from ``out/tasks``.

    The progress bar is drawn only where it can redraw itself (a terminal); in a log or a pipe
    the runner's one line per finished task is the progress, with no carriage returns.
    """
    if mode == "train":
        return None
    spec = ex.resolve_cluster(cluster, cfg.cluster)
    run_dir = out if out is not None else ex.default_out(cfg, mode)
    return ex.sweep_executor(
        jobs=_jobs(jobs), cluster=spec, run_dir=run_dir, progress=not quiet and _interactive(),
        log=None if quiet else typer.echo, desc=mode,
    )  # fmt: skip


def _run(
    mode: str,
    experiment: Path,
    sets: list[str] | None,
    out: Path | None,
    quiet: bool,
    figures: bool = True,
    *,
    jobs: str = "auto",
    cluster: str | None = None,
    repeats: int | None = None,
) -> Path:
    check_experiment_file(experiment)
    ex = experiments(mode)
    sets = [*(sets or []), *([f"experiment.repeats={repeats}"] if repeats is not None else [])]
    with user_errors(mode, "experiments"):
        try:
            cfg = ex.load_config(experiment, sets)
            if mode == "train" and (cfg.sweep or cfg.evaluation.cv):
                typer.echo(
                    "note: train runs one model; [sweep] and evaluation.cv are used by `sweep` and `cv`."
                )
            if not quiet:
                typer.echo(f"{mode}: {cfg.experiment.name} ({experiment})")
            executor = _executor(ex, mode, cfg, out, jobs, cluster, quiet)
            folder = ex.run(
                cfg, mode, out, log=None if quiet else typer.echo, figures=figures, executor=executor
            )
            row = index_rows([folder])[0]
        except DivergenceError as exc:  # not the user's mistake: its own exit status
            typer.echo(f"error: {' '.join(str(exc).split())}", err=True)
            raise typer.Exit(code=EXIT_DIVERGED) from None
    for line in _warnings(folder):
        typer.echo(f"warning: {line}")
    typer.echo(f"{row['result']}  ->  {folder / 'report.html'}")
    if row["result"] == "every setting diverged":
        typer.echo("error: training diverged for every setting of the sweep", err=True)
        raise typer.Exit(code=EXIT_DIVERGED)
    return folder


def _warnings(folder: Path) -> list[str]:
    """The run's training warnings (saturation, no progress), as its report shows them."""
    m = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    lines = list(m.get("warnings") or [])
    for p in m.get("points", []):
        where = ", ".join(f"{k}={v}" for k, v in p["params"].items())
        lines += [f"{where}: {w}" for w in p.get("warnings") or []]
    return lines


def train(
    experiment: ExperimentArg,
    set_: SetOption = None,
    out: OutOption = None,
    quiet: QuietOption = False,
    figures: FiguresOption = True,
    repeats: RepeatsOption = None,
) -> None:
    """Train one model (on data.test_size held out, if set) and write its run folder.

    Example: nnscratch train examples/xor_221.toml --set training.epochs=500
    """
    _run("train", experiment, set_, out, quiet, figures, repeats=repeats)


def _run_on_workers(mode: str, doc: str) -> Callable[..., None]:
    """The ``cv`` and ``sweep`` commands: the same options (both can run on a process pool or a
    Dask cluster), so one signature serves both; only the mode and the help text differ."""

    def command(
        experiment: ExperimentArg,
        set_: SetOption = None,
        out: OutOption = None,
        quiet: QuietOption = False,
        figures: FiguresOption = True,
        jobs: JobsOption = "auto",
        cluster: ClusterOption = None,
        repeats: RepeatsOption = None,
    ) -> None:
        _run(mode, experiment, set_, out, quiet, figures, jobs=jobs, cluster=cluster, repeats=repeats)

    command.__name__ = command.__qualname__ = mode  # typer names the command after the function
    command.__doc__ = doc
    return command


cv = _run_on_workers(
    "cv",
    """K-fold cross-validation (evaluation.cv folds, default 5): per-fold and averaged metrics,
    the confusion matrix accumulated over the folds.

    Example: nnscratch cv examples/cv_linear.toml --set evaluation.cv=10
    """,
)

sweep = _run_on_workers(
    "sweep",
    """Every point of the [sweep] grid (crossed with CV when evaluation.cv is set), here or on every
    core (--jobs) or a Dask cluster (--cluster); rerunning the same command resumes an interrupted run.
    All points start from the same initial weights; --repeats N trains each with N seeds.

    Example: nnscratch sweep examples/sweep_lr.toml --jobs -1
    """,
)


def keys(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the Markdown docs page.")] = False,
) -> None:
    """List every key an experiment file accepts, table by table, with its type, default and meaning.

    Example: nnscratch keys | grep optimizer
    """
    ex = experiments("keys", runs=False)
    typer.echo(ex.keys_markdown() if markdown else ex.keys_text(), nl=False)


def report(
    paths: Annotated[list[Path], typer.Argument(help="Run folders, or experiment files to run first.")],
    set_: SetOption = None,
    out: OutOption = None,
    title: Annotated[str, typer.Option(help="Title of an index over several runs.")] = "nnscratch runs",
) -> None:
    """(Re)write the report of a run folder; with several, an index report linking them all.

    An experiment file is run first: as a sweep if it has [sweep], as cv if evaluation.cv is set,
    else trained.
    """
    folders = []
    with user_errors("report", "experiments"):
        for path in paths:
            if path.is_file() and path.suffix == ".toml":
                check_experiment_file(path)
                cfg = experiments("report").load_config(path, set_ or [])
                mode = "sweep" if cfg.sweep else "cv" if cfg.evaluation.cv else "train"
                single_out = out if len(paths) == 1 else None
                folders.append(_run(mode, path, set_, single_out, quiet=True))
            elif path.is_dir():
                folders.append(path)
            else:
                raise fail(f"{path}: expected a run folder or a .toml experiment file; not found")
        if len(folders) == 1 and (out is None or folders[0] == out):
            typer.echo(write_report(folders[0]))
        else:
            typer.echo(write_index(out or Path("runs") / "index", folders, title))
