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
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

import numpy as np
import typer

from nnscratch._version import __version__
from nnscratch.base.errors import DivergenceError, MissingDependencyError, NNScratchError
from nnscratch.base.files import atomic_write
from nnscratch.data import CATALOGUE, describe, from_csv
from nnscratch.data import load as load_dataset
from nnscratch.io.model import load_with_info
from nnscratch.report import index_rows, write_index, write_report
from nnscratch.training.loop import predict
from nnscratch.worked import explain_problem
from nnscratch.worked.worked import FORMATS

#: What each optional extra brings that the commands import (pyproject [project.optional-dependencies]).
EXTRA_MODULES = {
    "experiments": ("pydantic", "sklearn", "matplotlib", "tqdm", "joblib", "threadpoolctl"),
    "explain": ("sympy", "pydantic"),
    "playground": ("flask", "waitress", "sympy", "pydantic", "sklearn", "matplotlib"),
}
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
datasets_app = typer.Typer(
    help="The built-in datasets: list them, describe or plot one.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings=HELP,
)
app.add_typer(datasets_app, name="datasets", short_help="List, describe or plot the built-in datasets.")


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
#: Exit status of a run whose training diverged (2 is a mistake in the command or its files).
EXIT_DIVERGED = 3


def _fail(message: str) -> typer.Exit:
    """Print ``error: <message>`` on one line; raise the returned Exit (status 2)."""
    typer.echo(f"error: {' '.join(str(message).split())}", err=True)
    return typer.Exit(code=2)


def _os_error(exc: OSError, path: Path | None = None) -> typer.Exit:
    where = exc.filename or path
    return _fail(f"{exc.strerror or exc}: {where}" if where else str(exc.strerror or exc))


def _missing(extra: str, command: str) -> typer.Exit:
    return _fail(f'nnscratch {command} needs the {extra!r} extra: pip install "nnscratch[{extra}]"')


def _need(extra: str, command: str, modules: tuple[str, ...] | None = None) -> None:
    """Stop with the one-line ``needs the 'extra' extra`` error unless the extra's packages are
    installed (looked up, not imported: the command imports what it uses itself)."""
    for name in modules or EXTRA_MODULES[extra]:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise _missing(extra, command)


def _optional_import_failed(exc: ImportError) -> bool:
    """Whether ``exc`` is a missing optional package, not a bug in nnscratch's own imports."""
    if isinstance(exc, MissingDependencyError):
        return True
    return isinstance(exc, ModuleNotFoundError) and not (exc.name or "nnscratch").startswith("nnscratch")


@contextmanager
def _user_errors(
    command: str, extra: str | None = None, *, path: Path | None = None, dataset: str | None = None
) -> Iterator[None]:
    """Turn what the user can fix into the one-line ``error:`` (exit 2): the library's own errors,
    an OS error on ``path``, a missing optional package (naming ``extra``, the extra to install)
    and, for a ``dataset``, options it does not take."""
    try:
        yield
    except ImportError as exc:
        if extra is not None and _optional_import_failed(exc):
            raise _missing(extra, command) from None
        if isinstance(exc, NNScratchError):  # MissingDependencyError: its message says what to install
            raise _fail(str(exc)) from None
        raise
    except NNScratchError as exc:
        raise _fail(str(exc)) from None
    except TypeError as exc:
        if dataset is None:
            raise
        raise _fail(f"dataset {dataset!r}: {exc}") from None
    except OSError as exc:
        raise _os_error(exc, path) from None


def _experiments(command: str, *, runs: bool = True) -> Any:
    """The experiments layer, or the one-line error naming the extra to install. ``runs``: the
    command trains, so every package of the 'experiments' extra must be there, not only pydantic."""
    if runs:
        _need("experiments", command)
    with _user_errors(command, "experiments"):
        # deferred: the experiments need the 'experiments' extra; importing them only when a command
        # runs keeps `nnscratch --help` fast and working after a plain `pip install nnscratch`
        from nnscratch.experiments import cluster, config, keys, overrides, parallel, runner
    return SimpleNamespace(
        load_config=config.load_config, parse_set=overrides.parse_set, run=runner.run,
        resolve_cluster=cluster.resolve_cluster, sweep_executor=parallel.sweep_executor,
        default_out=runner.default_out, keys_text=keys.keys_text, keys_markdown=keys.keys_markdown,
    )  # fmt: skip


#: Top-level keys that only a problem file (``nnscratch explain``) has, and tables only an
#: experiment file (``nnscratch train``) has; loss and optimizer are in both.
PROBLEM_KEYS = {"sizes", "layers", "x", "y", "layout", "decimals", "title"}
EXPERIMENT_KEYS = {"experiment", "data", "model", "training", "evaluation", "sweep", "cluster"}


def _file_kind(path: Path) -> str | None:
    """The kind of a TOML file, "problem" or "experiment", when it is clearly one of them; else None
    (unreadable, invalid or ambiguous: the command's own loader then says what is wrong)."""
    try:
        keys = set(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    if keys & PROBLEM_KEYS and not keys & EXPERIMENT_KEYS:
        return "problem"
    if keys & EXPERIMENT_KEYS and not keys & PROBLEM_KEYS:
        return "experiment"
    return None


def _check_experiment_file(path: Path) -> None:
    """One-line errors for the usual wrong arguments of train, cv and sweep."""
    if path.is_dir():
        raise _fail(f"{path} is a directory, not an experiment file (a .toml file, see examples/)")
    if _file_kind(path) == "problem":
        raise _fail(f"{path}: this is a problem file: use `nnscratch explain {path}`")


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
        raise _fail(f"--jobs: expected auto or a number of processes. Received: {value!r}") from None


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
    _check_experiment_file(experiment)
    ex = _experiments(mode)
    sets = [*(sets or []), *([f"experiment.repeats={repeats}"] if repeats is not None else [])]
    with _user_errors(mode, "experiments"):
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


@app.command(short_help="Train one model and write its run folder.")
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


@app.command(short_help="K-fold cross-validation of an experiment file.")
def cv(
    experiment: ExperimentArg,
    set_: SetOption = None,
    out: OutOption = None,
    quiet: QuietOption = False,
    figures: FiguresOption = True,
    jobs: JobsOption = "auto",
    cluster: ClusterOption = None,
    repeats: RepeatsOption = None,
) -> None:
    """K-fold cross-validation (evaluation.cv folds, default 5): per-fold and averaged metrics,
    the confusion matrix accumulated over the folds.

    Example: nnscratch cv examples/cv_linear.toml --set evaluation.cv=10
    """
    _run("cv", experiment, set_, out, quiet, figures, jobs=jobs, cluster=cluster, repeats=repeats)


@app.command(short_help="Train every point of the [sweep] grid.")
def sweep(
    experiment: ExperimentArg,
    set_: SetOption = None,
    out: OutOption = None,
    quiet: QuietOption = False,
    figures: FiguresOption = True,
    jobs: JobsOption = "auto",
    cluster: ClusterOption = None,
    repeats: RepeatsOption = None,
) -> None:
    """Every point of the [sweep] grid (crossed with CV when evaluation.cv is set), here or on every
    core (--jobs) or a Dask cluster (--cluster); rerunning the same command resumes an interrupted run.
    All points start from the same initial weights; --repeats N trains each with N seeds.

    Example: nnscratch sweep examples/sweep_lr.toml --jobs -1
    """
    _run("sweep", experiment, set_, out, quiet, figures, jobs=jobs, cluster=cluster, repeats=repeats)


@app.command(short_help="Every experiment-file key: type, default, meaning.")
def keys(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the Markdown docs page.")] = False,
) -> None:
    """List every key an experiment file accepts, table by table, with its type, default and meaning.

    Example: nnscratch keys | grep optimizer
    """
    ex = _experiments("keys", runs=False)
    typer.echo(ex.keys_markdown() if markdown else ex.keys_text(), nl=False)


@app.command(short_help="(Re)write the report of run folders.")
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
    with _user_errors("report", "experiments"):
        for path in paths:
            if path.is_file() and path.suffix == ".toml":
                _check_experiment_file(path)
                cfg = _experiments("report").load_config(path, set_ or [])
                mode = "sweep" if cfg.sweep else "cv" if cfg.evaluation.cv else "train"
                single_out = out if len(paths) == 1 else None
                folders.append(_run(mode, path, set_, single_out, quiet=True))
            elif path.is_dir():
                folders.append(path)
            else:
                raise _fail(f"{path}: expected a run folder or a .toml experiment file; not found")
        if len(folders) == 1 and (out is None or folders[0] == out):
            typer.echo(write_report(folders[0]))
        else:
            typer.echo(write_index(out or Path("runs") / "index", folders, title))


# -- datasets ----------------------------------------------------------------------------------
def _dataset_options(sets: list[str] | None, command: str) -> dict[str, Any]:
    """``--set KEY=VALUE`` dataset options, values parsed as TOML literals like the experiments' ones."""
    return dict(_experiments(command, runs=False).parse_set(item) for item in sets) if sets else {}


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
    with _user_errors("datasets describe", "experiments", dataset=name):
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
    with _user_errors("datasets plot", "experiments", path=out, dataset=name):
        _need("experiments", "datasets plot", ("matplotlib",))
        options = _dataset_options(set_, "datasets plot")
        data = load_dataset(name, **options)
        if data.n_features != 2:
            raise _fail(
                f"dataset {data.name!r} has {data.n_features} features; `datasets plot` draws "
                "two-feature datasets (e.g. moons, xor, circles, spirals, gaussians)"
            )
        # deferred: matplotlib is slow to import, and only this command of the datasets group draws
        from nnscratch.plots import plot_dataset, save_figure

        path = save_figure(plot_dataset(data), out or Path(f"{data.name}.png"))
    typer.echo(f"wrote {path}")


@app.command(short_help="Describe a model file; predict a CSV with it.")
def inspect(
    model_file: Annotated[
        Path, typer.Argument(help="A model file written by ns.save (or a run folder's model.npz).")
    ],
    data: Annotated[
        Path | None, typer.Option("--data", "-d", help="A CSV to predict (features, then a label column).")
    ] = None,
) -> None:
    """Load a model file (refusing anything unsafe), describe it, and optionally predict a CSV."""
    with _user_errors("inspect", path=model_file):
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


@app.command(short_help="Watch a network learn in the browser.")
def playground(
    host: Annotated[
        str, typer.Option(help="Address to bind; keep 127.0.0.1 unless on a trusted network.")
    ] = ("127.0.0.1"),
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in a browser.")] = False,
) -> None:
    """Watch a network learn in the browser, with the worked math behind every weight."""
    _need("playground", "playground")
    with _user_errors("playground", "playground"):
        # deferred: the server needs Flask, an optional package the other commands do without
        from nnscratch.playground.server import serve
    serve(host=host, port=port, open_browser=open_browser)


@app.command("explain", short_help="Work a problem file out step by step.")
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
        raise _fail(f"--format: format must be one of md, latex, text. Received: {format!r}")
    if problem.is_dir():
        raise _fail(f"{problem} is a directory, not a problem file (a .toml file, see examples/explain/)")
    if _file_kind(problem) == "experiment":
        raise _fail(f"{problem}: this is an experiment file: use `nnscratch train {problem}`")
    _need("explain", "explain")
    with _user_errors("explain", "explain", path=out):
        text = explain_problem(problem).render(format)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(out, text)
    if out is None:
        typer.echo(text, nl=False)
    else:
        typer.echo(f"wrote {out}", err=True)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point (``[project.scripts] nnscratch``)."""
    return app(args=argv if argv is not None else sys.argv[1:], prog_name="nnscratch")


if __name__ == "__main__":
    main()
