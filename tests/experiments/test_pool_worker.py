"""A local pool's workers end with their parent, even when it is killed with SIGKILL.

Before, the workers of a ``--jobs 2`` sweep killed with ``kill -9`` went on with their tasks and
then waited on a lock, for a minute or more, computing for nobody.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.experiments import moons_lr_sweep

psutil = pytest.importorskip("psutil")  # comes with distributed (the dask extra)

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX parent ids and signals")

#: A parent that starts one process calling end_with_parent, prints its pid, then waits.
PARENT = """
import os, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", '''
import sys, time
from nnscratch.experiments.pool_worker import end_with_parent
end_with_parent(int(sys.argv[1]), sys.argv[2] == "1")
print("watching", flush=True)
time.sleep(120)
''', str(os.getpid()), sys.argv[1]])
print(child.pid, flush=True)
child.wait()
"""

SWEEP_TOML = moons_lr_sweep("long", n_samples=400, epochs=5000, batch_size=8, cv=2)


def gone_within(pids: list[int], seconds: float) -> list[int]:
    """The pids still running (zombies count as gone) after waiting up to ``seconds``."""
    deadline = time.monotonic() + seconds
    alive = pids
    while True:
        alive = [pid for pid in alive if _running(pid)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def kill_leftovers(pids: list[int]) -> None:
    for pid in pids:
        if _running(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("kernel_signal", [True, False], ids=["prctl", "polling"])
def test_an_orphaned_worker_ends_at_once(kernel_signal):
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, "1" if kernel_signal else "0"],
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
    )
    child = int(parent.stdout.readline())
    try:
        assert parent.stdout.readline().strip() == "watching"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        limit = 1.0 if kernel_signal else 2.0  # polling: every 0.5 s
        assert gone_within([child], limit) == [], f"the worker outlived its parent by {limit} s"
    finally:
        parent.stdout.close()
        kill_leftovers([child])


@pytest.mark.slow  # ~7 s alone; waiting for both workers to be training takes longer on a busy machine
def test_the_workers_of_a_killed_jobs_2_sweep_end_with_it(tmp_path):
    experiment = tmp_path / "long.toml"
    experiment.write_text(SWEEP_TOML)
    sweep = subprocess.Popen(
        [sys.executable, "-m", "nnscratch.cli", "sweep", str(experiment), "--out", str(tmp_path / "run"),
         "--jobs", "2"],
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    workers: list[int] = []
    try:
        assert "4 task(s) to run on local[2]" in _line_with(sweep, "task(s) to run")
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline:  # both loky workers started
            kids = psutil.Process(sweep.pid).children()
            workers = [k.pid for k in kids if "popen_loky" in " ".join(k.cmdline())]
            time.sleep(0.1)
        assert len(workers) == 2, "the pool's workers did not start"
        while time.monotonic() < deadline and min(map(_cpu_seconds, workers)) < 2.5:
            time.sleep(0.1)  # past start-up (imports take ~1 s of CPU): training, minutes per task
        os.kill(sweep.pid, signal.SIGKILL)
        sweep.wait(10)
        assert gone_within(workers, 3.0) == [], "the pool's workers outlived the killed sweep"
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.wait(10)
        sweep.stdout.close()
        kill_leftovers(workers)


def _line_with(proc: subprocess.Popen, text: str) -> str:
    for line in proc.stdout:
        if text in line:
            return line
    return ""
