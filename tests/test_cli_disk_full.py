"""The CLI on a full disk: one ``error: cannot write PATH: No space left on device`` line, exit 2,
no empty or cut-off file, no run.json claiming the run finished; the same command succeeds once
there is space again.

Each write through the atomic-write helper is made to fail in turn (ENOSPC injected: the kernel's
own from ``/dev/full`` on Linux, or from fsync everywhere); when the tests run as root and can
mount a tmpfs, a really full file system is tried too.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers.durability import assert_no_partial_files, fail_nth_write
from nnscratch.cli import app
from nnscratch.experiments import runner

TINY = """\
[experiment]
name = "tiny"
seed = 0

[data]
dataset = "xor_easy"

[model]
hidden = [3]

[training]
epochs = 2
"""
SWEEP = TINY + '\n[sweep]\n"optimizer.lr" = [0.1, 0.5]\n'
NO_SPACE = "No space left on device"
DEV_FULL = Path("/dev/full").exists()


@pytest.fixture
def here(tmp_path, monkeypatch):
    """Run in ``tmp_path`` with ``train.toml`` and ``sweep.toml`` there (paths as a user types them)."""
    monkeypatch.chdir(tmp_path)
    Path("train.toml").write_text(TINY)
    Path("sweep.toml").write_text(SWEEP)
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def assert_unfinished(out: Path) -> None:
    """Visibly unfinished: at the top, no run.json or one that says so; a sweep's points finished
    or saying so too; nothing partial anywhere."""
    assert_no_partial_files(out)
    if (out / "run.json").exists():
        assert_says_incomplete(out)
    for point in (out / "points").glob("*") if (out / "points").is_dir() else []:
        if not (point / "run.json").exists():  # its "incomplete" mark was the write that failed
            assert not any(point.iterdir())
        elif "status" in json.loads((point / "run.json").read_text()):
            assert_says_incomplete(point)
        else:
            assert_finished(point)


def assert_says_incomplete(folder: Path) -> None:
    assert json.loads((folder / "run.json").read_text()) == {"status": "incomplete"}
    result = invoke("report", str(folder))
    assert result.exit_code == 2 and "did not finish" in result.stderr, result.output


def assert_finished(out: Path) -> None:
    assert_no_partial_files(out)
    run = json.loads((out / "run.json").read_text())
    assert "status" not in run and run["name"] == "tiny" and run["kind"] in ("train", "sweep")
    assert (out / "report.html").is_file()


def writes_of(monkeypatch, *args: str) -> list[Path]:
    """The files the command writes, in order (it runs once, nothing failing)."""
    with monkeypatch.context() as m:
        targets = fail_nth_write(m, 0)
        result = invoke(*args)
    assert result.exit_code == 0, result.output
    return targets


def fail_at(monkeypatch, n: int, how: str, *args: str, name: str | None = None) -> tuple[Path, object]:
    with monkeypatch.context() as m:
        targets = fail_nth_write(m, n, how, name)
        result = invoke(*args)
    return targets[n - 1] if name is None else next(t for t in targets if t.name == name), result


@pytest.mark.parametrize("command", ["train", "sweep"])
def test_each_write_failing_in_turn_gives_one_line_exit_2_and_no_partial_file(here, monkeypatch, command):
    args = [command, f"{command}.toml", "-q", "--no-figures"]
    written = writes_of(monkeypatch, *args, "--out", "runs/first")
    assert len(written) >= 10 and written[0] == Path("runs/first/run.json")  # the "incomplete" mark
    for n in range(1, len(written) + 1):
        out = f"runs/x{n}"
        how = "write" if n % 2 and DEV_FULL else "fsync"  # the kernel's ENOSPC, or fsync's
        target, result = fail_at(monkeypatch, n, how, *args, "--out", out)
        assert str(target).startswith(out + os.sep)
        assert result.exit_code == 2, result.output
        assert result.stderr == f"error: cannot write {target}: {NO_SPACE}\n"
        assert_unfinished(here / out)
    # with space again, the same command over the same folder finishes
    result = invoke(*args, "--out", f"runs/x{len(written)}")
    assert result.exit_code == 0, result.output
    assert_finished(here / f"runs/x{len(written)}")


@pytest.mark.parametrize("name", ["learning_curve.png", "report.html"])
def test_a_failed_figure_or_report_leaves_no_finished_run_json(here, monkeypatch, name):
    """The tester's case: report.html cut at 20,480 bytes while run.json said the run finished."""
    args = ["train", "train.toml", "-q", "--out", "runs/x"]
    target, result = fail_at(monkeypatch, 0, "fsync", *args, name=name)
    assert target == Path("runs/x") / name and result.exit_code == 2
    assert result.stderr == f"error: cannot write runs/x/{name}: {NO_SPACE}\n"
    assert_unfinished(here / "runs/x")


# -- a really full file system -------------------------------------------------------------------------
@pytest.fixture
def tmpfs(tmp_path):
    """``mount(size)``: a tmpfs of that size (root only; skipped where mount is refused), unmounted
    afterwards."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "small"
    mnt.mkdir()
    mounted = []

    def mount(size: str) -> Path:
        opts = f"remount,size={size}" if mounted else f"size={size}"
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(mnt)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
        mounted.append(size)
        return mnt

    yield mount
    if mounted:
        subprocess.run(["umount", str(mnt)], check=False)


@pytest.mark.parametrize(
    ("command", "size", "options"), [("train", "160k", []), ("sweep", "48k", ["--no-figures"])]
)
def test_a_full_tmpfs(here, tmpfs, command, size, options):
    out = tmpfs(size) / "run"
    result = invoke(command, f"{command}.toml", "-q", "--out", str(out), *options)
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: cannot write {out}{os.sep}") and line.endswith(f": {NO_SPACE}")
    assert_unfinished(out)
    tmpfs("8m")  # space again: the same command finishes
    result = invoke(command, f"{command}.toml", "-q", "--out", str(out), *options)
    assert result.exit_code == 0, result.output
    assert_finished(out)


def test_an_oserror_without_a_path_prints_no_dangling_colon(here, monkeypatch):
    """It used to print ``error: No space left on device: `` (an empty path after the colon)."""

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(runner, "run", full)
    result = invoke("train", "train.toml", "-q", "--out", "runs/x")
    assert result.exit_code == 2 and result.stderr == f"error: {NO_SPACE}\n"
