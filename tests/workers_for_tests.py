"""Functions a spawned worker process can import by name (tests only)."""

import os

from benchmark.worker import Outcome


def crash(_task: object) -> Outcome:
    os._exit(3)  # what an out-of-memory kill looks like from the main process


def answer(task: float) -> Outcome:
    return Outcome(state="complete", value=task)
