"""Parallel and distributed sweeps: identical results serially, on a local pool and on Dask.

The Dask tests start a real ``dask scheduler`` and ``dask worker`` processes bound to 127.0.0.1
(on ports the OS picks), and a ``distributed.LocalCluster``; every process is stopped in a fixture
finalizer.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import nnscratch as ns
from helpers.experiments import moons_lr_sweep
from nnscratch.base.errors import ClusterError, ConfigError, DataError, MissingDependencyError
from nnscratch.experiments import load_config
from nnscratch.experiments.cluster import ClusterSpec, check_address
from nnscratch.experiments.parallel import resolve_jobs, run_tasks
from nnscratch.experiments.store import ResultStore, TaskSpec
from nnscratch.experiments.sweep import plan, run_point

ROOT = Path(__file__).resolve().parents[2]
DASK = Path(sys.executable).parent / "dask"


# --------------------------------------------------------------------------- the unit of work
def make_tasks(epochs: int = 10, hidden: tuple = ([3], [5])) -> list:
    """A real sweep's tasks (2 learning rates × len(hidden) widths × 3 folds) from the planner."""
    cfg = load_config(
        {
            "experiment": {"seed": 3},
            "data": {"dataset": "moons", "params": {"n_samples": 90}},
            "training": {"epochs": epochs, "batch_size": 16},
            "evaluation": {"cv": 3},
            "sweep": {"optimizer.lr": [0.05, 0.5], "model.hidden": list(hidden)},
        }
    )
    return plan(cfg, cv=True, sweep=True)


def as_text(results: list[dict]) -> str:
    """The results as JSON text, so equal means equal bit for bit (``seconds``, a timing, aside)."""
    return json.dumps([{k: v for k, v in r.items() if k != "seconds"} for r in results])


@pytest.fixture(scope="module")
def tasks() -> list:
    return make_tasks()


@pytest.fixture(scope="module")
def serial(tasks) -> str:
    return as_text(run_tasks(run_point, tasks, jobs=1, progress=False).results)


# --------------------------------------------------------------------------- a real Dask cluster
class DaskProcesses:
    """A ``dask scheduler`` and N ``dask worker`` processes on 127.0.0.1, each in its own session."""

    def __init__(self, tmp: Path, n_workers: int = 2) -> None:
        if not DASK.exists():
            pytest.skip(f"no dask executable next to {sys.executable}")
        # the workers unpickle functions of this test module: its folder is on their path too
        paths = [ROOT / "src", ROOT / "tests", Path(__file__).resolve().parent]
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, paths))}
        self.tmp = tmp
        self.procs: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        sched_file = tmp / "scheduler.json"
        # --dashboard-address: even without the dashboard the scheduler serves /health and /metrics
        # over HTTP, on port 8787 unless told otherwise; keep it on loopback and on a free port
        loopback = ["--host", "127.0.0.1", "--no-dashboard"]
        self.scheduler = self._start(
            ["scheduler", *loopback, "--port", "0", "--dashboard-address", "127.0.0.1:0",
             "--scheduler-file", str(sched_file)],
            "scheduler",
        )  # fmt: skip
        self.address = self._wait_for_address(sched_file)
        for i in range(n_workers):
            args = [
                "worker",
                self.address,
                *loopback,
                "--nthreads",
                "1",
                "--nworkers",
                "1",
                "--name",
                f"w{i}",
            ]
            self.workers.append(self._start([*args, "--local-directory", str(tmp / f"w{i}")], f"w{i}"))
        self.client = None

    def _start(self, args: list[str], name: str) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "wb")  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [str(DASK), *args], env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.procs.append(proc)
        return proc

    def _wait_for_address(self, sched_file: Path, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sched_file.exists():
                try:
                    return json.loads(sched_file.read_text())["address"]
                except (ValueError, KeyError):
                    pass  # the file is being written
            if self.scheduler.poll() is not None:
                break
            time.sleep(0.1)
        self.close()
        pytest.fail(f"dask scheduler did not start: {(self.tmp / 'scheduler.log').read_text()[-2000:]}")

    def connect(self, n_workers: int, timeout: float = 60.0):
        from distributed import Client

        self.client = Client(self.address, timeout=30, set_as_default=False)
        self.client.wait_for_workers(n_workers, timeout=timeout)
        return self.client

    def kill_group(self, proc: subprocess.Popen) -> None:
        """SIGKILL a worker and its nanny: as if the machine were lost."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


@pytest.fixture(scope="module")
def dask_procs(tmp_path_factory):
    pytest.importorskip("distributed")
    cluster = DaskProcesses(tmp_path_factory.mktemp("dask"))
    try:
        cluster.connect(2)
        yield cluster
    finally:
        cluster.close()


# --------------------------------------------------------------------------- identical results
def test_local_pool_gives_the_serial_results_bit_for_bit(tasks, serial):
    run = run_tasks(run_point, tasks, jobs=2, progress=False)
    assert run.backend == "local[2]"
    assert as_text(run.results) == serial
    # a real sweep: the points do differ, so equality is not trivial
    assert len({r["history"]["loss"][-1] for r in run.results}) == len(tasks)


def test_dask_scheduler_and_two_worker_processes_give_the_serial_results(tasks, serial, dask_procs, tmp_path):
    run = run_tasks(run_point, tasks, cluster=dask_procs.address, run_dir=tmp_path, progress=False)
    assert run.backend == f"dask[{dask_procs.address}]"
    assert as_text(run.results) == serial
    # both workers took part
    done_by = dask_procs.client.run(
        lambda dask_worker: len(dask_worker.data) + dask_worker.state.executed_count
    )
    assert len(done_by) == 2 and all(count > 0 for count in done_by.values())
    # the same run through the [cluster] table of an experiment file, resumed from the run folder
    again = run_tasks(
        run_point, tasks, cluster={"address": dask_procs.address, "timeout": 20}, run_dir=tmp_path
    )
    assert (again.computed, again.reused) == (0, len(tasks))
    assert as_text(again.results) == serial


def test_local_cluster_gives_the_serial_results(tasks, serial):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            processes=True,
            n_workers=2,
            threads_per_worker=1,
            dashboard_address=None,
            host="127.0.0.1",
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # its HTTP routes: not on 8787
        ) as lc,
        distributed.Client(lc, set_as_default=False) as client,
    ):
        by_address = run_tasks(run_point, tasks, cluster=lc.scheduler_address, progress=False)
        by_client = run_tasks(run_point, tasks[:3], cluster=client, progress=False)
        assert client.status == "running"  # a client we were given is left open
    assert as_text(by_address.results) == serial
    assert as_text(by_client.results) == as_text(json.loads(serial)[:3])


# --------------------------------------------------------------------------- --jobs auto
def test_jobs_auto_runs_small_work_here_and_large_work_on_a_pool_with_the_same_results(
    tasks, serial, monkeypatch
):
    from nnscratch.experiments import parallel

    monkeypatch.setattr(parallel, "available_cores", lambda: 2)  # a pool is possible on any host
    lines: list[str] = []
    small = run_tasks(run_point, tasks, jobs="auto", progress=False, log=lines.append,
                      task_seconds=lambda config: 0.01)  # fmt: skip
    large = run_tasks(run_point, tasks, jobs="auto", progress=False, log=lines.append,
                      task_seconds=lambda config: 60.0)  # fmt: skip
    assert (small.backend, large.backend) == ("serial", "local[2]")
    assert as_text(small.results) == as_text(large.results) == serial
    assert lines[0].startswith(f"{len(tasks)} task(s) to run on serial (--jobs auto: about 0.12 s of work")
    assert lines[1].startswith(f"{len(tasks)} task(s) to run on local[2] (--jobs auto: at least")


def test_jobs_auto_estimates_only_the_tasks_left_and_explicit_jobs_none(tasks, tmp_path, monkeypatch):
    from nnscratch.experiments import parallel

    monkeypatch.setattr(parallel, "available_cores", lambda: 2)
    asked: list[dict] = []

    def estimate(config):
        asked.append(config)
        return 0.01

    run_tasks(run_point, tasks[:3], jobs=1, run_dir=tmp_path, progress=False, task_seconds=estimate)
    assert asked == []  # an explicit number is honoured as given
    run = run_tasks(
        run_point, tasks[:4], jobs="auto", run_dir=tmp_path, progress=False, task_seconds=estimate
    )
    assert run.backend == "serial" and (run.computed, run.reused) == (1, 3)
    assert asked == []  # one task left: it runs here, nothing to estimate


# --------------------------------------------------------------------------- losing a worker
@pytest.mark.slow
def test_a_killed_worker_does_not_lose_the_sweep(tmp_path):
    pytest.importorskip("distributed")
    tasks = make_tasks(epochs=200)  # slow enough that the kill lands mid-sweep
    cluster = DaskProcesses(tmp_path)
    try:
        client = cluster.connect(2)
        killed: list[str] = []

        def kill_a_busy_worker(index, task, result):
            if killed:
                return
            busy = {addr for addr, keys in client.processing().items() if keys}
            names = {info["name"]: addr for addr, info in client.scheduler_info()["workers"].items()}
            for i, proc in enumerate(cluster.workers):
                if names.get(f"w{i}") in busy:
                    cluster.kill_group(proc)
                    killed.append(f"w{i}")
                    return

        run = run_tasks(
            run_point, tasks, cluster=cluster.address, run_dir=tmp_path / "run", on_result=kill_a_busy_worker,
            progress=False,
        )  # fmt: skip
        assert killed, "no worker was busy when the first result came back"
        assert len(client.scheduler_info()["workers"]) == 1
    finally:
        cluster.close()
    expected = run_tasks(run_point, tasks, jobs=1, progress=False)
    assert as_text(run.results) == as_text(expected.results)
    assert len(list((tmp_path / "run" / "tasks").glob("*.json"))) == len(tasks)


# --------------------------------------------------------------------------- resuming
class Interrupt(Exception):
    pass


def stop_after(n: int):
    seen: list[int] = []

    def callback(index, task, result):
        seen.append(index)
        if len(seen) == n:
            raise Interrupt

    return callback


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_interrupted_sweep_resumes_where_it_stopped(tasks, serial, tmp_path, jobs):
    with pytest.raises(Interrupt):
        run_tasks(run_point, tasks, jobs=jobs, run_dir=tmp_path, on_result=stop_after(5), progress=False)
    files = sorted((tmp_path / "tasks").iterdir())
    assert len(files) == 5 and all(f.suffix == ".json" for f in files)  # no temporary files left
    resumed = run_tasks(run_point, tasks, jobs=2, run_dir=tmp_path, progress=False)
    assert (resumed.computed, resumed.reused) == (len(tasks) - 5, 5)
    assert as_text(resumed.results) == serial
    assert len(list((tmp_path / "tasks").iterdir())) == len(tasks)


def test_a_rerun_with_nothing_left_computes_nothing_and_says_so(tasks, tmp_path, capsys):
    run_tasks(run_point, tasks[:2], jobs=1, run_dir=tmp_path, progress=False)
    lines: list[str] = []
    again = run_tasks(
        run_point, tasks[:2], jobs=1, run_dir=tmp_path, progress=True, desc="grid", log=lines.append
    )
    assert (again.computed, again.reused) == (0, 2)
    assert lines == [f"nothing to run: 2 already done in {tmp_path / 'tasks'}"]
    assert "grid: 100%" in capsys.readouterr().err


def test_progress_bar_counts_each_finished_task(tasks, capsys):
    run_tasks(run_point, tasks[:3], jobs=1, progress=True, desc="points")
    err = capsys.readouterr().err
    assert "points:" in err and "0/3" in err and "3/3" in err


def test_a_task_file_that_is_damaged_or_of_another_task_is_recomputed(tasks, tmp_path):
    store, specs = ResultStore(tmp_path), [TaskSpec.of(t) for t in tasks[:2]]
    first = run_tasks(run_point, tasks[:2], jobs=1, run_dir=tmp_path, progress=False)
    store.path(specs[0]).write_text('{"format": 1, "result": {"loss": ')  # torn write from elsewhere
    other = json.loads(store.path(specs[1]).read_text())
    store.path(specs[1]).write_text(json.dumps({**other, "task": {**other["task"], "seed": 1}}))
    again = run_tasks(run_point, tasks[:2], jobs=1, run_dir=tmp_path, progress=False)
    assert again.computed == 2 and as_text(again.results) == as_text(first.results)
    assert store.load(specs[0]) == again.results[0]


# --------------------------------------------------------------------------- tasks and keys
def test_task_key_is_stable_across_processes_and_key_order():
    a = TaskSpec({"lr": 0.1, "model": {"hidden": [3, 3]}}, 2, 99)
    b = TaskSpec({"model": {"hidden": (3, 3)}, "lr": np.float64(0.1)}, np.int64(2), 99)
    assert a.key == b.key and a == b and b.config == {"lr": 0.1, "model": {"hidden": [3, 3]}}
    others = [TaskSpec(a.config, 1, 99), TaskSpec(a.config, 2, 98), TaskSpec(a.config, None, 99)]
    assert len({a.key, *(t.key for t in others)}) == 4
    code = "from nnscratch.experiments.store import TaskSpec as T\n"
    code += "print(T({'model': {'hidden': [3, 3]}, 'lr': 0.1}, 2, 99).key)"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == a.key


def seen_config(config, fold, seed):
    config["lr"] = -1  # a careless task function edits its config
    return {"fold": fold, "seed": seed, "array": np.arange(2.0), "n": np.int64(3)}


def test_the_task_function_gets_a_copy_and_numpy_values_come_back_plain(tmp_path):
    tasks = [TaskSpec({"lr": 0.1}, 0, 5), TaskSpec({"lr": 0.1}, 0, 5), TaskSpec({"lr": 0.1}, 1, 5)]
    run = run_tasks(seen_config, tasks, jobs=1, run_dir=tmp_path, progress=False)
    assert tasks[0].config == {"lr": 0.1}
    assert run.results[0] == {"fold": 0, "seed": 5, "array": [0.0, 1.0], "n": 3}
    assert run.results[0] == run.results[1] and run.results[0] is not run.results[1]
    assert run.results[2]["fold"] == 1
    assert run.computed == 2 and run.reused == 1  # the duplicate ran once


def blas_threads(config, fold, seed):
    from threadpoolctl import threadpool_info

    return {"threads": sorted({pool["num_threads"] for pool in threadpool_info()})}


@pytest.mark.parametrize("jobs", [1, 2])
def test_each_task_runs_with_one_blas_thread_and_the_caller_gets_its_threads_back(jobs):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [pool["num_threads"] for pool in threadpoolctl.threadpool_info()]
    run = run_tasks(blas_threads, [TaskSpec({}, fold, 0) for fold in range(3)], jobs=jobs, progress=False)
    assert all(r["threads"] == [1] for r in run.results)
    assert [pool["num_threads"] for pool in threadpoolctl.threadpool_info()] == before


def failing_point(config, fold, seed):
    if fold == 2:
        raise ns.DivergenceError("loss became nan at epoch 3")
    return {"fold": fold}


def test_a_failing_task_raises_and_keeps_the_results_before_it(tmp_path):
    tasks = [TaskSpec({"lr": 1.0}, fold, 0) for fold in range(4)]
    with pytest.raises(ns.DivergenceError, match="epoch 3"):
        run_tasks(failing_point, tasks, jobs=1, run_dir=tmp_path, progress=False)
    assert len(list((tmp_path / "tasks").iterdir())) == 2


def test_a_failing_task_on_dask_raises_its_own_error(dask_procs):
    tasks = [TaskSpec({"lr": 1.0}, fold, 0) for fold in range(4)]
    with pytest.raises(ns.DivergenceError, match="epoch 3"):
        run_tasks(failing_point, tasks, cluster=dask_procs.address, progress=False)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("jobs", [0, "2", 1.5, True])
def test_bad_jobs_is_refused(jobs):
    with pytest.raises(ConfigError, match=r"jobs must be .*Received: jobs="):
        resolve_jobs(jobs)


def test_jobs_none_and_negative_mean_every_core():
    cores = len(os.sched_getaffinity(0))
    assert resolve_jobs(None) == resolve_jobs(-1) == cores and resolve_jobs(-2) == max(1, cores - 1)


@pytest.mark.parametrize(
    "cluster", ["http://127.0.0.1:8786", "127.0.0.1:8786", "tcp://host", "tcp://a b:1", "", 8786]
)
def test_bad_cluster_addresses_are_refused(cluster):
    with pytest.raises(ConfigError, match="Received"):
        ClusterSpec.parse(cluster)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"adress": "tcp://127.0.0.1:8786"}, r"unknown key\(s\) \['adress'\]"),
        ({}, "needs an address"),
        ({"address": "tcp://127.0.0.1:8786", "timeout": -1}, "timeout must be a positive"),
        ({"address": "tcp://127.0.0.1:8786", "timeout": "10"}, "timeout must be a positive"),
        ({"address": "tcp://127.0.0.1:8786", "retries": -1}, "retries must be an int >= 0"),
        ({"address": "udp://127.0.0.1:8786"}, r"\[cluster\] address must be"),
    ],
)
def test_bad_cluster_tables_are_refused(table, message):
    with pytest.raises(ConfigError, match=message):
        ClusterSpec.parse(table)


def test_good_cluster_addresses_and_tables_are_accepted():
    assert check_address("tls://scheduler.lan:8786") == "tls://scheduler.lan:8786"
    spec = ClusterSpec.parse({"address": "tcp://[::1]:8786", "timeout": 5, "retries": 2})
    assert (spec.address, spec.timeout, spec.retries) == ("tcp://[::1]:8786", 5.0, 2)


def test_an_unreachable_scheduler_raises_cluster_error(tasks):
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ClusterError, match=rf"tcp://127.0.0.1:{port}.*Received"):
        run_tasks(
            run_point, tasks, cluster={"address": f"tcp://127.0.0.1:{port}", "timeout": 1}, progress=False
        )


def test_a_tls_address_without_certificates_says_which_settings_are_missing(tasks, monkeypatch):
    pytest.importorskip("distributed")
    for name in ("CA_FILE", "CLIENT__CERT", "CLIENT__KEY"):
        monkeypatch.delenv(f"DASK_DISTRIBUTED__COMM__TLS__{name}", raising=False)
    with pytest.raises(ClusterError, match=r"tls:// address needs .*CLIENT__CERT.*Received"):
        run_tasks(run_point, tasks, cluster={"address": "tls://127.0.0.1:9", "timeout": 1}, progress=False)


def test_missing_distributed_says_how_to_install_it(tasks, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install nnscratch\[dask\]"):
        run_tasks(run_point, tasks, cluster="tcp://127.0.0.1:8786", progress=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (({"lr": 0.1}, 0, -1), "seed must be a non-negative int"),
        (({"lr": 0.1}, 0, 1.5), "seed must be a non-negative int"),
        (({"lr": 0.1}, "0", 1), "fold must be an int or None"),
        ((["lr", 0.1], 0, 1), "config must be a dict"),
        (({"fn": print}, 0, 1), "must hold only JSON values"),
    ],
)
def test_bad_tasks_are_refused(args, message):
    with pytest.raises(ConfigError, match=message):
        TaskSpec(*args)


def not_a_dict(config, fold, seed):
    return [1, 2]


def an_object_inside(config, fold, seed):
    return {"model": object()}


def test_a_task_must_return_a_dict_of_json_values_and_tasks_must_be_tasks():
    with pytest.raises(DataError, match="Received: result of type list"):
        run_tasks(not_a_dict, [TaskSpec({}, None, 0)], jobs=1, progress=False)
    with pytest.raises(DataError, match=r"result must hold only JSON values.*Received: .*object"):
        run_tasks(an_object_inside, [TaskSpec({}, None, 0)], jobs=1, progress=False)
    with pytest.raises(ConfigError, match=r"config, fold and seed .*Received: tasks\[0\] of type dict"):
        run_tasks(not_a_dict, [{"config": {}}], jobs=1, progress=False)


# --------------------------------------------------------------------------- the command
SWEEP_TOML = moons_lr_sweep("tiny", n_samples=90, epochs=10, batch_size=16, cv=3)


def run_cli(*args: str):
    from typer.testing import CliRunner

    from nnscratch.cli import app

    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=True)


def metrics_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("metrics.json"))}


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "tiny.toml"
    path.write_text(SWEEP_TOML)
    return path


@pytest.fixture(scope="module")
def serial_sweep(sweep_file) -> dict[str, bytes]:
    """metrics.json files of the runner's own serial executor: the reference for every backend."""
    from nnscratch.experiments import load_config
    from nnscratch.experiments.runner import run

    folder = run(load_config(sweep_file), "sweep", sweep_file.parent / "serial")
    return metrics_files(folder)


@pytest.mark.slow
def test_cli_sweep_resumes_after_an_interruption_and_matches_the_serial_run(
    sweep_file, serial_sweep, tmp_path, monkeypatch
):
    from nnscratch.experiments import sweep

    real, calls = sweep.run_point, []

    def crash_after_two(config, fold, seed):
        if len(calls) == 2:
            raise KeyboardInterrupt  # the user pressed Ctrl-C
        calls.append(fold)
        return real(config, fold, seed)

    out = tmp_path / "run"
    monkeypatch.setattr(sweep, "run_point", crash_after_two)
    first = run_cli("sweep", sweep_file, "--out", out, "--jobs", "1")
    assert first.exit_code == 130  # what a shell reports after Ctrl-C
    assert len(list((out / "tasks").glob("*.json"))) == 2
    monkeypatch.setattr(sweep, "run_point", real)

    again = run_cli("sweep", sweep_file, "--out", out, "--jobs", "2")
    assert again.exit_code == 0, again.output
    assert "4 task(s) to run on local[2]; 2 already done" in again.output
    assert "[6/6]" in again.output  # the runner's per-task lines count the reused tasks too
    assert metrics_files(out) == serial_sweep and len(serial_sweep) == 3  # the sweep and its 2 points


@pytest.mark.slow
def test_cli_sweep_on_the_dask_cluster_and_its_cluster_table_match_the_serial_run(
    sweep_file, serial_sweep, dask_procs, tmp_path
):
    out = tmp_path / "dask"
    result = run_cli("sweep", sweep_file, "--out", out, "--cluster", dask_procs.address)
    assert result.exit_code == 0, result.output
    assert f"6 task(s) to run on dask[{dask_procs.address}]" in result.output
    assert metrics_files(out) == serial_sweep
    # the [cluster] table of the file does the same, and the finished tasks are reused
    with_table = sweep_file.parent / "with_cluster.toml"
    with_table.write_text(SWEEP_TOML + f'[cluster]\naddress = "{dask_procs.address}"\ntimeout = 20\n')
    again = run_cli("sweep", with_table, "--out", out)
    assert again.exit_code == 0, again.output
    assert "nothing to run: 6 already done" in again.output
    assert metrics_files(out) == serial_sweep


def test_cli_output_in_a_pipe_has_one_plain_line_per_task_and_the_auto_choice(
    sweep_file, serial_sweep, tmp_path
):
    result = run_cli("sweep", sweep_file, "--out", tmp_path / "piped")  # CliRunner: not a terminal
    assert result.exit_code == 0, result.output
    assert "\r" not in result.output  # no progress bar redrawing itself in a log
    assert "6 task(s) to run on " in result.output and "(--jobs auto: " in result.output
    progress = [line for line in result.output.splitlines() if line.lstrip().startswith("[")]
    assert [line.split("]")[0].strip() for line in progress] == [f"[{k}/6" for k in range(1, 7)]
    assert metrics_files(tmp_path / "piped") == serial_sweep


@pytest.mark.parametrize(
    ("tty", "ci", "bar"), [(True, None, True), (True, "true", False), (True, "0", True), (False, None, False)]
)
def test_the_cli_draws_a_progress_bar_only_on_a_terminal_outside_ci(tty, ci, bar, monkeypatch):
    import io

    from nnscratch.cli import runs

    class Stderr(io.StringIO):
        def isatty(self) -> bool:
            return tty

    monkeypatch.setattr(runs.sys, "stderr", Stderr())
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    assert runs._interactive() is bar


@pytest.mark.parametrize("value", ["two", "1.5", ""])
def test_cli_refuses_a_bad_jobs_value(sweep_file, tmp_path, value):
    result = run_cli("sweep", sweep_file, "--out", tmp_path / "x", "--jobs", value)
    assert result.exit_code == 2
    assert f"error: --jobs: expected auto or a number of processes. Received: {value!r}" in result.output


def test_cli_refuses_a_bad_cluster_address(sweep_file, tmp_path):
    result = run_cli("sweep", sweep_file, "--out", tmp_path / "x", "--cluster", "http://127.0.0.1:8786")
    assert result.exit_code == 2
    assert "cluster address must be a Dask scheduler address" in result.output
