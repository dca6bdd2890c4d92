"""The first minutes with the ``nnscratch`` command: it starts after a plain ``pip install``, says
its version, takes ``-h``, and turns a missing extra or a wrong kind of file into one line."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnscratch import __version__
from nnscratch.cli import app

ROOT = Path(__file__).resolve().parents[1]
PROBLEM = ROOT / "examples" / "explain" / "seed000_xor.toml"
EXPERIMENT = ROOT / "examples" / "xor_221.toml"


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def block(monkeypatch, package: str) -> None:
    """Make ``import package`` (and its modules, even those imported already) fail as if absent."""
    for name in [m for m in sys.modules if m.startswith(package + ".")] + [package]:
        monkeypatch.setitem(sys.modules, name, None)


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_version_prints_the_package_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.output == f"nnscratch {__version__}\n"


@pytest.mark.parametrize(
    "args",
    [["-h"], ["--help"], ["train", "-h"], ["explain", "-h"], ["datasets", "-h"], ["datasets", "list", "-h"]],
)
def test_dash_h_is_help_on_the_app_and_every_command(args):
    result = invoke(*args)
    assert result.exit_code == 0 and result.output.startswith("Usage: nnscratch"), result.output


def test_the_command_list_is_not_truncated():
    out = invoke("--help").output
    commands = out.split("Commands:")[1]
    assert "..." not in commands and "explain" in commands and "datasets" in commands


@pytest.mark.parametrize("command", ["train", "cv", "sweep"])
def test_run_commands_show_set_as_key_value_and_an_example(command):
    out = invoke(command, "--help").output
    assert "--set KEY=VALUE" in out and "list[str]" not in out
    assert f"Example: nnscratch {command} examples/" in out


@pytest.mark.parametrize(
    ("blocked", "args", "extra"),
    [
        ("sklearn", ["train", EXPERIMENT], "experiments"),
        ("matplotlib", ["sweep", EXPERIMENT], "experiments"),
        ("sklearn", ["datasets", "describe", "moons"], "experiments"),
        ("sympy", ["explain", PROBLEM], "explain"),
        ("flask", ["playground"], "playground"),
    ],
)
def test_a_missing_extra_is_one_line_naming_it(monkeypatch, blocked, args, extra):
    block(monkeypatch, blocked)
    line = one_error_line(invoke(*args))
    command = " ".join(str(a) for a in args[:2] if not isinstance(a, Path))
    assert line == f'error: nnscratch {command} needs the {extra!r} extra: pip install "nnscratch[{extra}]"'


def test_datasets_list_works_without_scikit_learn(monkeypatch):
    block(monkeypatch, "sklearn")
    result = invoke("datasets", "list")
    assert result.exit_code == 0, result.output
    assert "\nxor " in result.output and "needs the 'experiments' extra" in result.output


def test_train_refuses_a_directory_in_one_line(tmp_path):
    line = one_error_line(invoke("train", tmp_path))
    assert line == f"error: {tmp_path} is a directory, not an experiment file (a .toml file, see examples/)"


@pytest.mark.parametrize("command", ["train", "cv", "sweep"])
def test_run_commands_name_explain_for_a_problem_file(command):
    line = one_error_line(invoke(command, PROBLEM))
    assert "this is a problem file: use `nnscratch explain" in line


def test_explain_names_train_for_an_experiment_file():
    line = one_error_line(invoke("explain", EXPERIMENT))
    assert "this is an experiment file: use `nnscratch train" in line


def test_explain_refuses_a_directory(tmp_path):
    assert "is a directory, not a problem file" in one_error_line(invoke("explain", tmp_path))


def test_importing_the_cli_imports_no_optional_extra():
    code = (
        "import sys, nnscratch.cli; "
        "print(sorted(m for m in ('sklearn', 'matplotlib', 'sympy', 'scipy', 'flask') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_typer_is_a_core_dependency():
    """`pip install nnscratch` (no extras) must give a working `nnscratch` command."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(dep.split(">")[0].split("=")[0].strip() == "typer" for dep in project["dependencies"])
    assert project["scripts"]["nnscratch"] == "nnscratch.cli:main"


def test_datasets_list_loads_no_dataset_and_imports_no_optional_extra():
    """`datasets list` reads the static catalogue: it starts fast because it loads nothing."""
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from nnscratch.cli import app\n"
        "result = CliRunner().invoke(app, ['datasets', 'list'])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(sorted(m for m in ('sklearn', 'matplotlib', 'sympy', 'scipy', 'flask') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
