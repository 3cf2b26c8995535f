"""Functions a spawned worker process can import by name (tests only)."""

import os

from benchmark.worker import Outcome


def crash(_task: object) -> Outcome:
    os._exit(3)  # what an out-of-memory kill looks like from the main process


def answer(task: float) -> Outcome:
    return Outcome(state="complete", value=task)


def sleep(seconds: float) -> Outcome:
    import time

    from benchmark.worker import _mark_started

    time.sleep(1.5)  # imports and data loading: not counted by the time limit
    _mark_started()
    time.sleep(seconds)
    return Outcome(state="complete", value=seconds)


def environment(_task: object) -> Outcome:
    import sys

    keys = ("CUDA_VISIBLE_DEVICES", "BENCHMARK_THREADS")
    seen = {key: os.environ.get(key) for key in keys}
    return Outcome(state="complete", value=float(os.getpid()),
                   metrics={**seen, "tensorflow_imported": "tensorflow" in sys.modules})
