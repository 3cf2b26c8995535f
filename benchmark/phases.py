"""Where a run's time goes: seconds per phase, summed in the process that
spends them (a worker's training process, a worker thread, the main
process) and stored with the run (``bench_runs.phases`` for the main
process, ``bench_workers.phases`` per worker), so that the report's
appendix can list them and a slowdown shows where it is.

The names are the report's rows; ``ORDER`` is the order it lists them in.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

# What each phase measures, in the order of a run.
ORDER = {
    "process start": "Python start and the tool's imports, until the run begins",
    "data load": "reading, checking and splitting the data sets (main process)",
    "worker start": "starting each training process (spawn and imports)",
    "TensorFlow import": "importing and configuring TensorFlow, once per training process",
    "worker data load": "loading the data sets in each training process",
    "model build": "building and compiling each network",
    "training": "model fitting (trials and refits, pruned trials included)",
    "evaluation": "scoring on the validation or test split",
    "cost measurement": "latency, throughput and size of each refitted model",
    "database": "Optuna's ask, tell and attributes, budget slots, per trial",
    "other": "the rest of each task's round trip (process communication, pickling)",
    "report": "rendering the report (HTML, figures, PDF)",
}

# One task at a time per training process, so a module-level total is its own.
_totals: dict[str, float] = {}


def add(name: str, seconds: float, totals: dict[str, float] | None = None) -> None:
    target = _totals if totals is None else totals
    target[name] = target.get(name, 0.0) + max(float(seconds), 0.0)


@contextmanager
def timed(name: str, totals: dict[str, float] | None = None) -> Iterator[None]:
    """Adds the block's wall time to ``name``, whether it returns or raises
    (a pruned trial's training counts)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        add(name, time.perf_counter() - started, totals)


def drain() -> dict[str, float]:
    """This process's totals since the last call (sent back with each task)."""
    taken = dict(_totals)
    _totals.clear()
    return taken


def merge(*parts: dict[str, float] | None) -> dict[str, float]:
    total: dict[str, float] = {}
    for part in parts:
        for name, seconds in (part or {}).items():
            add(name, seconds, total)
    return total


def rows(run: dict[str, float] | None,
         workers: list[dict[str, float] | None]) -> list[dict[str, object]]:
    """The appendix's table: each phase's seconds (summed over workers, so
    with several workers they add up to more than the wall time) and its share
    of the summed time."""
    total = merge(run, *workers)
    known = sum(total.values())
    out = []
    for name, what in ORDER.items():
        if name in total:
            out.append({"phase": name, "what": what, "seconds": total[name],
                        "share": total[name] / known if known else None})
    for name in sorted(set(total) - set(ORDER)):
        out.append({"phase": name, "what": "", "seconds": total[name],
                    "share": total[name] / known if known else None})
    return out
