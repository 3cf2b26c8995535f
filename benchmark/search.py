"""One Optuna study per (dataset, model): the main process asks, a worker
process trains, the main process tells.

Asking in the main process keeps a single seeded sampler for the whole study
(reproducible parameters); the worker reports per-epoch values through the
shared storage so the pruner can stop it.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from benchmark import worker
from benchmark.worker import EvaluationTask, Outcome, TrialTask

class WorkerPool:
    """One worker process at a time, replaced after ``tasks_per_worker`` tasks
    (or after it dies: the task is reported failed and a new worker starts)."""

    def __init__(self, tasks_per_worker: int, log_path: str | None) -> None:
        self.tasks_per_worker = tasks_per_worker
        self.log_path = log_path
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                max_tasks_per_child=self.tasks_per_worker,
                initializer=worker.initialize, initargs=(self.log_path,))
        return self._executor

    def call(self, function: Callable[[Any], Outcome], task: Any) -> Outcome:
        try:
            return self._pool().submit(function, task).result()
        except BrokenProcessPool:
            self.close()
            return Outcome(state="fail", error="the worker process died (out of memory or a crash "
                                               "in native code); see worker.log")

    def close(self, *, stop_work: bool = False) -> None:
        if self._executor is not None:
            if stop_work:
                # An interrupted run (Ctrl-C, SIGTERM) must not wait for the trial in
                # flight to train to its end; ProcessPoolExecutor (before Python
                # 3.14's terminate_workers) has no public way to stop its workers.
                for process in list((self._executor._processes or {}).values()):
                    process.terminate()
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.close(stop_work=exc_type is not None)


def optimize(study: Any, *, space: Any, task_for: Callable[[Any, dict[str, Any]], TrialTask],
             pool: WorkerPool, n_trials: int | None, timeout: float | None,
             on_trial: Callable[[Any, Outcome], None]) -> None:
    """Run trials until ``n_trials`` are done or ``timeout`` seconds have passed."""
    import psutil
    from optuna.trial import TrialState

    started = time.monotonic()
    done = 0
    while (n_trials is None or done < n_trials) and (
            timeout is None or time.monotonic() - started < timeout):
        trial = study.ask(space.distributions)
        for name, value in space.fixed.items():
            trial.set_user_attr(f"fixed:{name}", value)
        outcome = pool.call(worker.run_trial, task_for(trial, {**space.fixed, **trial.params}))
        trial.set_user_attr("history", outcome.history)
        trial.set_user_attr("metrics", outcome.metrics)
        trial.set_user_attr("fit_seconds", outcome.fit_seconds)
        # Memory of both processes after each trial: how a leak would show.
        trial.set_user_attr("worker_rss_mib", round(outcome.rss_mib, 1))
        trial.set_user_attr("main_rss_mib", round(psutil.Process().memory_info().rss / 2**20, 1))
        if outcome.threshold is not None:
            trial.set_user_attr("threshold", outcome.threshold)
        if outcome.fold_scores:
            trial.set_user_attr("fold_scores", outcome.fold_scores)
        if outcome.n_params is not None:
            trial.set_user_attr("n_params", outcome.n_params)
        if outcome.error:
            trial.set_user_attr("error", outcome.error)
        if outcome.state == "complete":
            study.tell(trial, outcome.value)
        elif outcome.state == "pruned":
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, state=TrialState.FAIL)
        done += 1
        on_trial(trial, outcome)


def evaluate(pool: WorkerPool, task: EvaluationTask) -> Outcome:
    return pool.call(worker.run_evaluation, task)
