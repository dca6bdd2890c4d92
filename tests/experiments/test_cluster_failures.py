"""What a Dask cluster cannot do is a ClusterError (one CLI line, exit 2), in time, and resumable.

An address where no Dask scheduler answers, a scheduler lost mid-run and a task that kills its
workers each end the run with the library's own error within the ``[cluster] timeout``; the tasks
finished before are kept in the run folder and a rerun computes only the rest. The clusters here
are ``distributed.LocalCluster``s (in this process where the test allows) and the non-Dask ports
are plain sockets, so each test takes a few seconds.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from helpers.experiments import moons_lr_sweep
from nnscratch.base.errors import ClusterError, ConfigError
from nnscratch.experiments import sweep
from nnscratch.experiments.cluster import ClusterSpec
from nnscratch.experiments.parallel import run_tasks
from nnscratch.experiments.store import TaskSpec

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

RUN_POINT = sweep.run_point
SWEEP_TOML = moons_lr_sweep("tiny", n_samples=60, epochs=5, batch_size=16, cv=3)


# --------------------------------------------------------------------------- helpers
@contextmanager
def not_dask(reply: bytes | None, hold_s: float = 8.0) -> Iterator[str]:
    """A TCP port that accepts connections but is not Dask: it stays silent (``reply=None``) or
    answers ``reply``; each connection is closed after ``hold_s`` seconds."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        held: list[tuple[float, socket.socket]] = []
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                if reply is not None:
                    conn.sendall(reply)
                held.append((time.monotonic(), conn))
            except TimeoutError:
                pass
            for opened, conn in [h for h in held if time.monotonic() - h[0] > hold_s]:
                conn.close()
                held.remove((opened, conn))
        for _, conn in held:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        server.close()


@contextmanager
def local_cluster(processes: bool = False, n_workers: int = 1) -> Iterator[distributed.LocalCluster]:
    """A LocalCluster on 127.0.0.1 over TCP (an address our ``--cluster`` accepts)."""
    cluster = distributed.LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=processes, protocol="tcp",
        host="127.0.0.1", dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # its HTTP routes: not on 8787
    )  # fmt: skip
    try:
        yield cluster
    finally:
        cluster.close()


def quick_or_slow(config: dict, fold: int | None, seed: int) -> dict:
    """Fold 0 ends at once; the others take a second, so a failure lands while they run."""
    if fold:
        time.sleep(1.0)
    return {"fold": fold, "seed": seed}


def crash_on_fold_1(config: dict, fold: int | None, seed: int) -> dict:
    """Kill the worker process running it, as an out-of-memory kill or a segfault would."""
    if fold == 1:
        os._exit(1)
    return {"fold": fold}


def slow_point(config: dict, fold: int | None, seed: int) -> dict:
    """The real task, slowed down after the first fold so the scheduler can be lost mid-run."""
    if fold:
        time.sleep(1.0)
    return RUN_POINT(config, fold, seed)


def stored(run_dir: Path) -> int:
    return len(list((run_dir / "tasks").glob("*.json")))


def run_cli(*args: object):
    from typer.testing import CliRunner

    from nnscratch.cli import app

    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=True)


def one_error_line(output: str) -> str:
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in output, output
    return errors[0]


# --------------------------------------------------------------------------- addresses
@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("tcp://127.0.0.1:99999", "port from 1 to 65535"),
        ("tcp://127.0.0.1:0", "port from 1 to 65535"),
        ("tcp://[::1:8786", "must be a Dask scheduler address"),
        ("tcp://a:b:8786", "must be a Dask scheduler address"),
        ("tcp://host/x:8786", "must be a Dask scheduler address"),
    ],
)
def test_an_impossible_address_is_refused_at_once(address, message):
    start = time.monotonic()
    with pytest.raises(ConfigError, match=message):
        run_tasks(quick_or_slow, [TaskSpec({}, 0, 0)], cluster={"address": address, "timeout": 30},
                  progress=False)  # fmt: skip
    assert time.monotonic() - start < 1.0


def test_a_silent_non_dask_port_fails_within_the_timeout():
    with not_dask(reply=None) as address:  # before: waited until the server hung up (8 s here)
        start = time.monotonic()
        with pytest.raises(ClusterError, match=rf"{address} within 1.5 s.*no Dask handshake"):
            ClusterSpec.parse({"address": address, "timeout": 1.5}).connect()
        assert time.monotonic() - start < 1.5 + 1.0


def test_a_port_that_answers_something_else_fails_at_once():
    with not_dask(reply=b"HTTP/1.1 400 Bad Request\r\n\r\n") as address:
        start = time.monotonic()
        with pytest.raises(ClusterError, match="answered, but not as a Dask scheduler does"):
            ClusterSpec.parse({"address": address, "timeout": 5}).connect()
        assert time.monotonic() - start < 2.0


def test_a_workers_address_is_not_taken_for_the_scheduler():
    with local_cluster() as cluster:
        worker = next(iter(cluster.scheduler.workers))
        with pytest.raises(ClusterError, match=r"is a Dask Worker, not the scheduler"):
            ClusterSpec.parse({"address": worker, "timeout": 3}).connect()


def test_the_cli_says_a_non_dask_port_in_one_line_within_the_timeout(tmp_path):
    experiment = tmp_path / "tiny.toml"
    with not_dask(reply=None) as address:
        experiment.write_text(SWEEP_TOML + f'[cluster]\naddress = "{address}"\ntimeout = 1\n')
        start = time.monotonic()
        result = run_cli("sweep", experiment, "--out", tmp_path / "run")
        assert time.monotonic() - start < 1 + 2.0
    assert result.exit_code == 2
    assert "could not connect to the Dask scheduler" in one_error_line(result.output)
    bad_port = run_cli("sweep", experiment, "--out", tmp_path / "run", "--cluster", "tcp://127.0.0.1:99999")
    assert bad_port.exit_code == 2 and "port from 1 to 65535" in one_error_line(bad_port.output)


# --------------------------------------------------------------------------- failures mid-run
def test_a_lost_scheduler_is_a_cluster_error_in_time_and_the_run_resumes(tmp_path):
    tasks = [TaskSpec({"n": 1}, fold, 7) for fold in range(4)]
    lost_at: list[float] = []
    with local_cluster() as cluster:

        def lose_the_scheduler(index, task, result):
            if not lost_at:
                cluster.close()  # the scheduler (and its worker) goes away mid-sweep
                lost_at.append(time.monotonic())

        with pytest.raises(ClusterError) as info:
            run_tasks(quick_or_slow, tasks, cluster={"address": cluster.scheduler_address, "timeout": 2},
                      run_dir=tmp_path, on_result=lose_the_scheduler, progress=False)  # fmt: skip
    assert time.monotonic() - lost_at[0] < 2 + 2.0
    message = str(info.value)
    assert "lost the connection to the Dask scheduler" in message
    assert f"1 finished task(s) are kept in {tmp_path / 'tasks'}: rerun the same command" in message
    assert stored(tmp_path) == 1
    again = run_tasks(quick_or_slow, tasks, jobs=1, run_dir=tmp_path, progress=False)
    assert (again.computed, again.reused) == (3, 1)
    assert [r["fold"] for r in again.results] == [0, 1, 2, 3]


def test_a_task_that_kills_its_workers_is_a_cluster_error_and_the_rest_is_kept(tmp_path):
    tasks = [TaskSpec({"n": 1}, fold, 7) for fold in (0, 1)]
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        local_cluster(processes=True) as cluster,
    ):
        cluster_table = {"address": cluster.scheduler_address, "timeout": 10}
        # fold 0 first, alone: a worker's death also fails the tasks queued on it
        run_tasks(crash_on_fold_1, tasks[:1], cluster=cluster_table, run_dir=tmp_path, progress=False)
        with pytest.raises(ClusterError) as info:
            run_tasks(crash_on_fold_1, tasks, cluster=cluster_table, run_dir=tmp_path, progress=False)
    message = str(info.value)
    assert "task 1 (fold 1, seed 7) killed the Dask worker it ran on 1 time(s)" in message
    assert "distributed.scheduler.allowed-failures" in message
    assert f"1 finished task(s) are kept in {tmp_path / 'tasks'}: rerun the same command" in message
    assert stored(tmp_path) == 1


def test_the_cli_reports_a_lost_scheduler_in_one_line_and_the_rerun_resumes(tmp_path, monkeypatch):
    experiment = tmp_path / "tiny.toml"
    experiment.write_text(SWEEP_TOML)
    out = tmp_path / "run"
    monkeypatch.setattr(sweep, "run_point", slow_point)  # run by the in-process worker, by name
    with local_cluster() as cluster:

        def lose_after_the_first_result() -> None:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not ((out / "tasks").is_dir() and stored(out)):
                time.sleep(0.05)
            cluster.close()

        killer = threading.Thread(target=lose_after_the_first_result, daemon=True)
        killer.start()
        experiment.write_text(
            SWEEP_TOML + f'[cluster]\naddress = "{cluster.scheduler_address}"\ntimeout = 2\n'
        )
        result = run_cli("sweep", experiment, "--out", out)
        killer.join(30)
    assert result.exit_code == 2, result.output
    line = one_error_line(result.output)
    assert "lost the connection to the Dask scheduler" in line and "rerun the same command to resume" in line
    kept = stored(out)
    assert 1 <= kept < 6
    monkeypatch.setattr(sweep, "run_point", RUN_POINT)
    experiment.write_text(SWEEP_TOML)  # the same sweep, now here: the key does not hold [cluster]
    again = run_cli("sweep", experiment, "--out", out, "--jobs", "1")
    assert again.exit_code == 0, again.output
    assert f"{6 - kept} task(s) to run on serial; {kept} already done" in again.output
    assert json.loads((out / "run.json").read_text())["kind"] == "sweep"
