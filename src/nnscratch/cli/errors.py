"""The CLI's one-line errors: what the user can fix prints ``error: ...`` and exits with status 2.

:func:`user_errors` turns the library's own errors, an OS error and a missing optional package
into that line; :func:`fail` prints it for a mistake a command finds itself; :func:`need` stops
a command whose optional extra is not installed, before it imports anything heavy.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from nnscratch.base.errors import MissingDependencyError, NNScratchError

#: What each optional extra brings that the commands import (pyproject [project.optional-dependencies]).
EXTRA_MODULES = {
    "experiments": ("pydantic", "sklearn", "matplotlib", "tqdm", "joblib", "threadpoolctl"),
    "explain": ("sympy", "pydantic"),
    "playground": ("flask", "waitress", "sympy", "pydantic", "sklearn", "matplotlib"),
}
#: Exit status of a run whose training diverged (2 is a mistake in the command or its files).
EXIT_DIVERGED = 3


def fail(message: str) -> typer.Exit:
    """Print ``error: <message>`` on one line; raise the returned Exit (status 2)."""
    typer.echo(f"error: {' '.join(str(message).split())}", err=True)
    return typer.Exit(code=2)


def os_error(exc: OSError, path: Path | None = None) -> typer.Exit:
    where = exc.filename or path
    return fail(f"{exc.strerror or exc}: {where}" if where else str(exc.strerror or exc))


def missing(extra: str, command: str) -> typer.Exit:
    return fail(f'nnscratch {command} needs the {extra!r} extra: pip install "nnscratch[{extra}]"')


def need(extra: str, command: str, modules: tuple[str, ...] | None = None) -> None:
    """Stop with the one-line ``needs the 'extra' extra`` error unless the extra's packages are
    installed (looked up, not imported: the command imports what it uses itself)."""
    for name in modules or EXTRA_MODULES[extra]:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise missing(extra, command)


def optional_import_failed(exc: ImportError) -> bool:
    """Whether ``exc`` is a missing optional package, not a bug in nnscratch's own imports."""
    if isinstance(exc, MissingDependencyError):
        return True
    return isinstance(exc, ModuleNotFoundError) and not (exc.name or "nnscratch").startswith("nnscratch")


@contextmanager
def user_errors(
    command: str, extra: str | None = None, *, path: Path | None = None, dataset: str | None = None
) -> Iterator[None]:
    """Turn what the user can fix into the one-line ``error:`` (exit 2): the library's own errors,
    an OS error on ``path``, a missing optional package (naming ``extra``, the extra to install)
    and, for a ``dataset``, options it does not take."""
    try:
        yield
    except ImportError as exc:
        if extra is not None and optional_import_failed(exc):
            raise missing(extra, command) from None
        if isinstance(exc, NNScratchError):  # MissingDependencyError: its message says what to install
            raise fail(str(exc)) from None
        raise
    except NNScratchError as exc:
        raise fail(str(exc)) from None
    except TypeError as exc:
        if dataset is None:
            raise
        raise fail(f"dataset {dataset!r}: {exc}") from None
    except OSError as exc:
        raise os_error(exc, path) from None
