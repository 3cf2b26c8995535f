"""The training process of a worker (search.WorkerPool): replaced when it dies,
stopped when it overruns its time, given its device and threads."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from benchmark.search import WorkerPool
from workers_for_tests import answer, crash, environment, sleep


def test_a_dead_worker_fails_its_task_and_is_replaced(tmp_path: Path) -> None:
    with WorkerPool(tasks_per_worker=5, log_path=str(tmp_path / "worker.log")) as pool:
        died = pool.call(crash, None)
        assert died.state == "fail" and "worker process died" in died.error
        assert pool.call(answer, 0.5).value == pytest.approx(0.5)


@pytest.mark.slow
def test_a_task_over_its_time_is_stopped_and_the_next_gets_a_new_process(tmp_path: Path) -> None:
    env = {"CUDA_VISIBLE_DEVICES": "1", "BENCHMARK_THREADS": "3"}
    with WorkerPool(tasks_per_worker=5, log_path=str(tmp_path / "worker.log"), env=env) as pool:
        first = pool.call(environment, None)
        started = time.monotonic()
        late = pool.call(sleep, 30.0, timeout=1.0)
        took = time.monotonic() - started
        assert late.state == "fail" and late.error == "timed out after 1 s (study.trial_timeout)"
        assert 2.4 < took < 20  # the 1.5 s before training began did not count
        second = pool.call(environment, None)
    # The variables reach the process before anything imports TensorFlow or BLAS.
    assert first.metrics == second.metrics == {"CUDA_VISIBLE_DEVICES": "1", "BENCHMARK_THREADS": "3",
                                               "tensorflow_imported": False}
    assert first.value != second.value  # pids: the timed-out process was replaced
