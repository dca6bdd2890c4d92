"""``--jobs auto``: the rule that picks this process or a pool, and the estimate it reads.

The rule is tested with given task times (no clock); the estimate only for what it must be (a
finite time, the data loaded once, no effect on the tasks), never for how long anything took.
"""

from __future__ import annotations

import json
import math

import pytest

from nnscratch.experiments import builder, load_config
from nnscratch.experiments.jobs import POOL_START_S, TaskTimer, choose_jobs
from nnscratch.experiments.sweep import plan


def configs(n: int) -> list[dict]:
    """n distinct task configs (the rule estimates each distinct config once)."""
    return [{"point": i} for i in range(n)]


def seconds(value: float | list[float]):
    """A task_seconds that answers ``value`` (or value[i] for the config of point i)."""
    return lambda config: value[config["point"]] if isinstance(value, list) else value


# --------------------------------------------------------------------------- the rule
def test_small_work_runs_in_this_process():
    choice = choose_jobs(configs(5), cores=8, task_seconds=seconds(0.03))
    assert choice.n_jobs == 1
    assert "about 0.15 s of work" in choice.reason and f"~{POOL_START_S:.1f} s to start" in choice.reason


@pytest.mark.parametrize(("cores", "tasks", "expected"), [(2, 5, 2), (4, 5, 4), (8, 3, 3), (16, 40, 16)])
def test_large_work_gets_one_process_per_core_but_no_more_than_tasks(cores, tasks, expected):
    choice = choose_jobs(configs(tasks), cores=cores, task_seconds=seconds(30.0))
    assert choice.n_jobs == expected
    assert f"for {expected} processes" in choice.reason


def test_a_single_task_or_a_single_core_runs_in_this_process_without_estimating():
    def never(config):
        raise AssertionError("nothing to estimate: the answer is 1 whatever the work")

    assert choose_jobs(configs(1), cores=16, task_seconds=never).n_jobs == 1
    assert choose_jobs(configs(0), cores=16, task_seconds=never).n_jobs == 1
    one_core = choose_jobs(configs(10), cores=1, task_seconds=never)
    assert (one_core.n_jobs, one_core.reason) == (1, "one core")


@pytest.mark.parametrize(
    ("times", "n_jobs"),
    [
        ([1.0] * 5, 2),  # saves 5 - max(5 / 2, 1) = 2.5 s, more than the 2 s of start-up
        ([0.7] * 5, 1),  # saves 3.5 - 1.75 = 1.75 s
        ([10.0, 0.1, 0.1], 1),  # no pool beats its longest task: saves 10.2 - 10 = 0.2 s
        ([3.0, 3.0], 2),  # saves 6 - 3 = 3 s
        ([2.0, 2.0], 1),  # saves exactly the start-up: not worth it
    ],
)
def test_the_pool_starts_only_when_it_saves_more_than_its_start_up(times, n_jobs):
    choice = choose_jobs(configs(len(times)), cores=2, task_seconds=seconds(times), start_s=2.0)
    assert choice.n_jobs == n_jobs


def test_estimating_stops_once_the_pool_wins_and_each_config_is_estimated_once():
    asked: list[int] = []

    def five_seconds(config):
        asked.append(config["point"])
        return 5.0

    # 100 points: after two, a pool of 4 already saves 10 - max(10 / 4, 5) = 5 s > 2 s
    choice = choose_jobs(configs(100), cores=4, task_seconds=five_seconds, start_s=2.0)
    assert choice.n_jobs == 4 and choice.reason.startswith("at least 10 s of work")
    assert asked == [0, 1]
    # the folds of one sweep point share its config: 3 points x 5 folds, 3 estimates
    asked.clear()
    folds = [config for config in configs(3) for _fold in range(5)]
    choose_jobs(folds, cores=4, task_seconds=lambda config: asked.append(config["point"]) or 0.01)
    assert asked == [0, 1, 2]


# --------------------------------------------------------------------------- the estimate
def moons_tasks(**training) -> list:
    cfg = load_config(
        {
            "data": {"dataset": "moons", "params": {"n_samples": 90}},
            "training": {"epochs": 5, "batch_size": 16, **training},
            "evaluation": {"cv": 3},
            "sweep": {"optimizer.lr": [0.05, 0.5]},
        }
    )
    return plan(cfg, cv=True, sweep=True)


def test_the_estimate_is_a_time_and_loads_shared_data_once(monkeypatch):
    loads: list[int] = []
    real = builder.load_data
    monkeypatch.setattr(builder, "load_data", lambda cfg: loads.append(1) or real(cfg))
    timer = TaskTimer()
    tasks = moons_tasks()
    first = timer(tasks[0].config)
    after_first = len(loads)  # 1, or 2 when the first load imported modules (timed again)
    second = timer(tasks[-1].config)  # another learning rate, the same [data]
    assert len(loads) == after_first
    assert all(math.isfinite(s) and s > 0 for s in (first, second))


def test_the_estimate_leaves_the_tasks_alone_and_survives_a_diverging_trial():
    tasks = moons_tasks()
    before = json.dumps([t.config for t in tasks])
    TaskTimer()(tasks[0].config)
    assert json.dumps([t.config for t in tasks]) == before
    blown = moons_tasks()[0].config
    blown["optimizer"]["lr"] = 1e300  # the trial's loss overflows at once: DivergenceError inside
    blown["loss"]["name"] = "mse"
    assert math.isfinite(TaskTimer()(blown))
