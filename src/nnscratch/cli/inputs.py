"""What the commands are given: the kind of a TOML file (experiment or problem file), so that the
wrong one is refused in one line naming the right command, and the experiments layer that reads
experiment files and ``--set`` overrides, imported only when a command needs it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from nnscratch.cli.errors import fail, need, user_errors

#: Top-level keys that only a problem file (``nnscratch explain``) has, and tables only an
#: experiment file (``nnscratch train``) has; loss and optimizer are in both.
PROBLEM_KEYS = {"sizes", "layers", "x", "y", "layout", "decimals", "title"}
EXPERIMENT_KEYS = {"experiment", "data", "model", "training", "evaluation", "sweep", "cluster"}


def experiments(command: str, *, runs: bool = True) -> Any:
    """The experiments layer, or the one-line error naming the extra to install. ``runs``: the
    command trains, so every package of the 'experiments' extra must be there, not only pydantic."""
    if runs:
        need("experiments", command)
    with user_errors(command, "experiments"):
        # deferred: the experiments need the 'experiments' extra; importing them only when a command
        # runs keeps `nnscratch --help` fast and working after a plain `pip install nnscratch`
        from nnscratch.experiments import cluster, config, keys, overrides, parallel, runner
    return SimpleNamespace(
        load_config=config.load_config, parse_set=overrides.parse_set, run=runner.run,
        resolve_cluster=cluster.resolve_cluster, sweep_executor=parallel.sweep_executor,
        default_out=runner.default_out, keys_text=keys.keys_text, keys_markdown=keys.keys_markdown,
    )  # fmt: skip


def file_kind(path: Path) -> str | None:
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


def check_experiment_file(path: Path) -> None:
    """One-line errors for the usual wrong arguments of train, cv and sweep."""
    if path.is_dir():
        raise fail(f"{path} is a directory, not an experiment file (a .toml file, see examples/)")
    if file_kind(path) == "problem":
        raise fail(f"{path}: this is a problem file: use `nnscratch explain {path}`")
