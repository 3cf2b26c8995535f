"""A worker's training process: spawned (never forked), given its device and
thread caps before TensorFlow starts, replaced after a few tasks or when it
dies or overruns study.trial_timeout. ``execution.Worker`` asks and tells in
its own thread; the training process reports per-epoch values through the
shared storage so that the pruner can stop it.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from benchmark import worker
from benchmark.worker import Outcome

class WorkerPool:
    """One worker process at a time, replaced after ``tasks_per_worker`` tasks
    (None: never) or after it dies (the task is reported failed and a new
    worker starts)."""

    def __init__(self, tasks_per_worker: int | None, log_path: str | None,
                 env: dict[str, str] | None = None) -> None:
        self.tasks_per_worker = tasks_per_worker
        self.log_path = log_path
        # Set in the process before anything imports TensorFlow or BLAS:
        # CUDA_VISIBLE_DEVICES, thread caps (execution.place).
        self.env = dict(env or {})
        # The process writes the time its task began training here (after its
        # imports and data loading), so that a time limit counts training only.
        handle, self.started_file = tempfile.mkstemp(prefix="benchmark-started-")
        os.close(handle)
        self.env["BENCHMARK_STARTED_FILE"] = self.started_file
        self._executor: ProcessPoolExecutor | None = None
        self._terminated = False

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                max_tasks_per_child=self.tasks_per_worker,
                initializer=worker.initialize, initargs=(self.log_path, self.env))
        return self._executor

    def call(self, function: Callable[[Any], Outcome], task: Any,
             timeout: float | None = None) -> Outcome:
        try:
            with open(self.started_file, "w"):
                pass  # not started yet
            future = self._pool().submit(function, task)
            if timeout is None:
                return future.result()
            while True:
                try:
                    return future.result(timeout=0.2)
                except FutureTimeout:
                    if self._training_for() > timeout:
                        break
            self.close(stop_work=True)  # the process is stopped, the next task gets a new one
            return Outcome(state="fail", error=f"timed out after {timeout:g} s "
                                               f"(study.trial_timeout)")
        except BrokenProcessPool:
            self.close()
            return Outcome(state="fail", error="the worker process died (out of memory or a crash "
                                               "in native code); see worker.log")

    def stopped(self) -> bool:
        return self._terminated

    def terminate(self) -> None:
        """Stops the task in flight from another thread: its process is
        terminated, and the waiting ``call`` returns a failed outcome."""
        self._terminated = True
        executor = self._executor
        if executor is not None:
            for process in list((executor._processes or {}).values()):
                process.terminate()

    def _training_for(self) -> float:
        try:
            with open(self.started_file) as handle:
                text = handle.read().strip()
        except OSError:
            return 0.0
        return time.time() - float(text) if text else 0.0

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
        try:
            os.unlink(self.started_file)
        except OSError:
            pass
