from __future__ import annotations

import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from benchmark.search import WorkerPool, optimize
from benchmark.space import Space
from benchmark.worker import Outcome
from workers_for_tests import answer, crash


class ScriptedPool:
    """Stands in for the worker pool: answers each trial from its parameters."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.tasks: list[dict] = []

    def call(self, function, task: dict) -> Outcome:
        self.tasks.append(task)
        time.sleep(self.delay)
        if task["x"] < 0.2:
            return Outcome(state="fail", error="ValueError: too small", history=[{"loss": 1.0}])
        if task["x"] > 0.8:
            return Outcome(state="pruned", history=[{"loss": 1.0}, {"loss": 0.9}])
        return Outcome(state="complete", value=task["x"], metrics={"accuracy": task["x"]},
                       history=[{"loss": 0.5}], n_params=10, rss_mib=100.0)


def _study() -> optuna.Study:
    return optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))


def test_each_outcome_is_recorded_and_the_search_goes_on() -> None:
    study, pool, seen = _study(), ScriptedPool(), []
    space = Space.from_spec({"x": {"low": 0.0, "high": 1.0}, "epochs": 3})
    optimize(study, space=space, task_for=lambda trial, params: params, pool=pool, n_trials=30,
             timeout=None, on_trial=lambda trial, outcome: seen.append(outcome.state))
    assert len(study.trials) == len(seen) == 30
    assert all(task["epochs"] == 3 for task in pool.tasks)  # fixed values reach the worker
    for trial in study.trials:
        x = trial.params["x"]
        expected = TrialState.FAIL if x < 0.2 else TrialState.PRUNED if x > 0.8 else TrialState.COMPLETE
        assert trial.state == expected
        assert trial.user_attrs["fixed:epochs"] == 3 and trial.user_attrs["history"]
        if expected == TrialState.FAIL:
            assert trial.user_attrs["error"] == "ValueError: too small"
        if expected == TrialState.COMPLETE:
            assert trial.value == x and trial.user_attrs["n_params"] == 10
    assert {TrialState.FAIL, TrialState.PRUNED, TrialState.COMPLETE} <= {t.state for t in study.trials}


def test_timeout_ends_the_search() -> None:
    study = _study()
    optimize(study, space=Space.from_spec({"x": {"low": 0.3, "high": 0.7}}),
             task_for=lambda trial, params: params, pool=ScriptedPool(delay=0.05), n_trials=None,
             timeout=0.3, on_trial=lambda *_: None)
    assert 1 <= len(study.trials) < 50


def test_a_dead_worker_fails_its_task_and_is_replaced(tmp_path: Path) -> None:
    with WorkerPool(tasks_per_worker=5, log_path=str(tmp_path / "worker.log")) as pool:
        died = pool.call(crash, None)
        assert died.state == "fail" and "worker process died" in died.error
        assert pool.call(answer, 0.5).value == pytest.approx(0.5)
