"""The one atomic-write helper (nnscratch.base.files) and the writers that go through it.

Every file lands whole or not at all: a failure mid-write (ENOSPC from the writer or from fsync,
an exception, KeyboardInterrupt) leaves the old file and no temporary file, and the error
(:class:`WriteError`, an ``OSError``) names the target. New files get ``0o666 & ~umask``; a
replaced file keeps its mode. The next successful write removes the temporary files that killed
writes of the same target left, and nothing else.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import numpy as np
import pytest

import nnscratch as ns
from helpers.durability import record_fsync_and_replace
from nnscratch.base import files
from nnscratch.base.files import atomic_open, atomic_write
from nnscratch.data.images import load_idx, save_idx
from nnscratch.report import write_index, write_report


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    """Set the process umask for one test (``umask(0o027)``), restored afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


@pytest.fixture
def recorded(monkeypatch):
    """The targets of every write that went through the helper, in order."""
    targets: list[Path] = []
    create = files._create_temp

    def record(target: Path):
        targets.append(Path(target).resolve())
        return create(target)

    monkeypatch.setattr(files, "_create_temp", record)
    return targets


def enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


# -- the helper ------------------------------------------------------------------------------------
def test_text_bytes_and_writer_callbacks_land_whole(tmp_path):
    assert atomic_write(tmp_path / "a.txt", "héllo\n") == tmp_path / "a.txt"
    assert (tmp_path / "a.txt").read_bytes() == "héllo\n".encode()
    atomic_write(tmp_path / "b.bin", b"\x00\x01" * 1000)
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01" * 1000
    atomic_write(tmp_path / "c.npy", lambda fh: np.save(fh, np.arange(5)))
    assert np.array_equal(np.load(tmp_path / "c.npy"), np.arange(5))
    with atomic_open(tmp_path / "d.csv", "w", newline="") as fh:
        fh.write("a,b\r\n1,2\r\n")
    assert (tmp_path / "d.csv").read_bytes() == b"a,b\r\n1,2\r\n"
    with atomic_open(str(tmp_path / "a.txt"), "wb") as fh:  # replaces an existing file
        fh.write(b"new")
    assert (tmp_path / "a.txt").read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.bin", "c.npy", "d.csv"]


def test_nothing_is_visible_before_the_with_block_ends(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with atomic_open(target, "w") as fh:
        fh.write("new")
        fh.flush()
        assert target.read_text() == "old"
        assert len(os.listdir(tmp_path)) == 2  # the temporary file sits beside the target
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["out.txt"]


def test_refuses_other_modes_and_data(tmp_path):
    with pytest.raises(ValueError, match="mode"), atomic_open(tmp_path / "x", "a"):
        pass
    with pytest.raises(TypeError, match="int"):
        atomic_write(tmp_path / "x", 3)  # type: ignore[arg-type]
    assert not os.listdir(tmp_path)


def _write_half_then(exc):
    def writer(fh):
        fh.write(b"half of the new file")
        fh.flush()
        raise exc

    return writer


@pytest.mark.parametrize(
    "how", ["writer ENOSPC", "fsync ENOSPC", "writer KeyboardInterrupt", "writer ValueError", "text body"]
)
def test_a_failure_mid_write_keeps_the_old_file_and_removes_the_temporary(tmp_path, monkeypatch, how):
    target = tmp_path / "result.bin"
    target.write_bytes(b"the old file")
    if how == "fsync ENOSPC":
        monkeypatch.setattr(os, "fsync", enospc)
        expected, write = OSError, b"a whole new file"
    elif how == "writer ENOSPC":
        expected, write = OSError, _write_half_then(OSError(errno.ENOSPC, "No space left on device"))
    elif how == "writer KeyboardInterrupt":
        expected, write = KeyboardInterrupt, _write_half_then(KeyboardInterrupt())
    elif how == "writer ValueError":
        expected, write = ValueError, _write_half_then(ValueError("bad value"))
    else:
        expected, write = OSError, None
    with pytest.raises(expected) as info:
        if write is None:
            with atomic_open(target, "w") as fh:
                fh.write("half")
                raise OSError(errno.ENOSPC, "No space left on device")
        else:
            atomic_write(target, write)
    assert target.read_bytes() == b"the old file"
    assert os.listdir(tmp_path) == ["result.bin"]
    if expected is OSError:
        assert info.value.errno == errno.ENOSPC
        assert str(target) in str(info.value) and info.value.filename == str(target)
        assert "No space left on device" in str(info.value)


def test_an_oserror_without_errno_still_names_the_target(tmp_path):
    with pytest.raises(OSError, match=r"out\.txt: disk full"):
        atomic_write(tmp_path / "out.txt", _write_half_then(OSError("disk full")))
    assert not os.listdir(tmp_path)


def test_an_oserror_about_another_file_is_left_alone(tmp_path):
    def reads_elsewhere(fh):
        (tmp_path / "missing.csv").read_bytes()

    with pytest.raises(FileNotFoundError) as info:
        atomic_write(tmp_path / "out.txt", reads_elsewhere)
    assert info.value.filename == str(tmp_path / "missing.csv")
    assert not os.listdir(tmp_path)


def test_failures_to_create_or_rename_name_the_target(tmp_path):
    missing = tmp_path / "no such folder" / "out.txt"
    with pytest.raises(ns.WriteError) as info:
        atomic_write(missing, "text")
    assert info.value.filename == str(missing) and info.value.errno == errno.ENOENT
    assert str(info.value) == f"cannot write {missing}: No such file or directory"
    folder = tmp_path / "a folder"
    (folder / "inside").mkdir(parents=True)
    with pytest.raises(OSError) as info:  # os.replace cannot put a file over a non-empty folder
        atomic_write(folder, "text")
    assert info.value.filename == str(folder)
    assert sorted(os.listdir(tmp_path)) == ["a folder"] and os.listdir(folder) == ["inside"]


def test_fsyncs_the_file_then_renames_then_fsyncs_the_folder(tmp_path, monkeypatch):
    events = record_fsync_and_replace(monkeypatch)
    atomic_write(tmp_path / "x.txt", "x")
    assert [e[0] for e in events] == ["fsync", "replace", "fsync"]
    assert events[0][1].name.startswith(".x.txt.") and events[0][1].name.endswith(".tmp")
    assert events[1][1] == tmp_path / "x.txt" and events[2][1] == tmp_path.resolve()


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077, 0o002])
def test_new_files_get_the_mode_the_umask_gives(tmp_path, umask, mask):
    umask(mask)
    atomic_write(tmp_path / "new.txt", "x")
    assert mode_of(tmp_path / "new.txt") == 0o666 & ~mask


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o000], ids=oct)
@pytest.mark.parametrize("mode", [0o644, 0o600, 0o640, 0o755, 0o444, 0o666], ids=oct)
def test_a_replaced_file_keeps_its_mode_whatever_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    existing = tmp_path / "existing.txt"
    existing.write_text("old")
    existing.chmod(mode)
    atomic_write(existing, "new")
    assert mode_of(existing) == mode and existing.read_text() == "new"


def test_ns_save_follows_the_umask_and_keeps_the_mode_of_the_file_it_replaces(tmp_path, umask):
    model = ns.Sequential(ns.Linear(2, 2, rng=0))
    umask(0o022)
    ns.save(model, tmp_path / "m.npz")
    assert mode_of(tmp_path / "m.npz") == 0o644
    umask(0o077)
    ns.save(model, tmp_path / "m.npz")  # replacing it keeps 0644 (it used to become 0600)
    assert mode_of(tmp_path / "m.npz") == 0o644
    ns.save(model, tmp_path / "new.npz")
    assert mode_of(tmp_path / "new.npz") == 0o600
    (tmp_path / "shared.npz").write_bytes(b"")
    (tmp_path / "shared.npz").chmod(0o664)
    ns.save(model, tmp_path / "shared.npz")
    assert mode_of(tmp_path / "shared.npz") == 0o664


def test_ns_save_on_a_full_disk(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    ns.save(ns.Sequential(ns.Linear(2, 2, rng=0)), path)
    before = path.read_bytes()
    monkeypatch.setattr(os, "fsync", enospc)
    with pytest.raises(OSError, match="No space left on device") as info:
        ns.save(ns.Sequential(ns.Linear(2, 2, rng=1)), path)
    assert info.value.filename == str(path) and info.value.errno == errno.ENOSPC
    assert str(info.value) == f"cannot write {path}: No space left on device"
    assert isinstance(info.value, ns.WriteError)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.npz"]


# -- every writer goes through the helper -------------------------------------------------------------
def test_ns_save_and_checkpoints_go_through_the_helper(tmp_path, recorded):
    model = ns.Sequential(ns.Linear(2, 2, rng=0))
    ns.save(model, tmp_path / "m.npz")
    X, y = np.zeros((4, 2)), np.zeros((4, 2))
    ns.fit(model, X, y, loss=ns.MSELoss(), lr=0.1, epochs=1, metrics=None, checkpoint=tmp_path / "run.ckpt")
    assert recorded == [(tmp_path / "m.npz").resolve(), (tmp_path / "run.ckpt").resolve()]


def test_history_exports_go_through_the_helper(tmp_path, recorded):
    history = ns.History()
    history.append(1, loss=0.5, accuracy=0.75)
    history.append(2, loss=0.25, accuracy=1.0)
    history.to_csv(tmp_path / "h.csv")
    history.to_json(tmp_path / "h.json")
    assert recorded == [(tmp_path / "h.csv").resolve(), (tmp_path / "h.json").resolve()]
    assert ns.History.from_csv(tmp_path / "h.csv").to_dict() == history.to_dict()
    assert ns.History.from_json(tmp_path / "h.json").to_dict() == history.to_dict()


def test_idx_files_and_worked_examples_go_through_the_helper(tmp_path, recorded):
    save_idx(tmp_path / "a.idx.gz", np.arange(6, dtype=np.uint8).reshape(2, 3))
    assert np.array_equal(load_idx(tmp_path / "a.idx.gz"), np.arange(6).reshape(2, 3))
    examples = Path(__file__).resolve().parents[2] / "examples" / "explain"
    pytest.importorskip("pydantic")
    from nnscratch.worked import explain_problem

    explain_problem(examples / "seed002_q1.toml").save(tmp_path / "q1.md")
    assert (tmp_path / "q1.md").read_text(encoding="utf-8").startswith("# Seed 002")
    assert recorded == [(tmp_path / "a.idx.gz").resolve(), (tmp_path / "q1.md").resolve()]


def test_figures_go_through_the_helper(tmp_path, recorded):
    plots = pytest.importorskip("nnscratch.plots")
    history = {"epoch": [1, 2], "loss": [1.0, 0.5]}
    out = plots.save_figure(plots.plot_history(history), tmp_path / "curve")
    assert out == tmp_path / "curve.png" and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plots.save_figure(plots.plot_history(history), tmp_path / "curve.svg")
    assert b"<svg" in (tmp_path / "curve.svg").read_bytes()[:500]
    assert recorded == [out.resolve(), (tmp_path / "curve.svg").resolve()]
    assert sorted(os.listdir(tmp_path)) == ["curve.png", "curve.svg"]


def test_a_run_folder_and_its_report_written_by_the_cli_go_through_the_helper(tmp_path, recorded):
    pytest.importorskip("typer")
    pytest.importorskip("pydantic")
    from typer.testing import CliRunner

    from nnscratch.cli import app

    experiment = tmp_path / "tiny.toml"
    experiment.write_text(
        '[experiment]\nname = "tiny"\nseed = 0\n[data]\ndataset = "xor_easy"\n'
        "[model]\nhidden = [3]\n[training]\nepochs = 2\n"
    )
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", str(experiment), "--out", str(out), "--no-figures", "-q"])
    assert result.exit_code == 0, result.output
    written = {p.resolve() for p in out.rglob("*") if p.is_file()}
    names = {"config.toml", "config.json", "metrics.json", "history.csv", "predictions.csv", "model.npz"}
    assert names | {"run.json", "report.md", "report.html"} <= {p.name for p in written}
    assert written <= set(recorded)  # every file of the run folder went through the helper
    recorded.clear()
    write_report(out)
    write_index(tmp_path / "index", [out])
    assert recorded == [
        (out / "report.md").resolve(),
        (out / "report.html").resolve(),
        (tmp_path / "index" / "report.md").resolve(),
        (tmp_path / "index" / "report.html").resolve(),
    ]


def test_sweep_task_results_go_through_the_helper(tmp_path, recorded):
    pytest.importorskip("pydantic")
    from nnscratch.experiments.store import ResultStore, TaskSpec

    task = TaskSpec({"optimizer": {"lr": 0.1}}, None, 7)
    store = ResultStore(tmp_path)
    assert store.save(task, {"loss": np.float64(0.5)}) == {"loss": 0.5}
    assert store.load(task) == {"loss": 0.5}
    assert recorded == [store.path(task).resolve()]
