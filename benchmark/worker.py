"""What runs inside a worker process: one trial, or one final evaluation.

Workers are spawned (never forked) and replaced after a few trials, because
TensorFlow keeps every traced graph alive for the life of a process
(tensorflow#97697): replacing the process is what keeps memory flat.
The main process never imports TensorFlow.
"""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np


@dataclass(frozen=True)
class DataRef:
    """How a worker rebuilds the exact splits the main process described."""

    source: str
    train: float
    validation: float
    test: float
    stratify: bool
    seed: int


@dataclass(frozen=True)
class TrialTask:
    storage_url: str
    study_name: str
    trial_id: int
    pruner: dict[str, Any]
    model: str
    params: dict[str, Any]
    data: DataRef
    metric: str
    seed: int


@dataclass(frozen=True)
class EvaluationTask:
    model: str
    params: dict[str, Any]
    data: DataRef
    metric: str
    seed: int


@dataclass
class Outcome:
    state: str  # "complete", "pruned" or "fail"
    value: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    fit_seconds: float = 0.0
    n_params: int | None = None
    error: str | None = None
    rss_mib: float = 0.0
    device: str = ""
    # Final evaluations only: the test labels and predicted probabilities.
    y_true: list[int] | None = None
    proba: list[list[float]] | None = None


def initialize(log_path: str | None) -> None:
    """Quiet TensorFlow: its C++ logging goes to the run's worker.log, not the terminal."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if log_path:
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 2)
        sys.stderr = open(2, "w", closefd=False)
    import tensorflow as tf

    # Same suite + seed on the same machine must give the same metrics.
    tf.config.experimental.enable_op_determinism()


@lru_cache(maxsize=4)
def _splits(data: DataRef):
    from benchmark.datasets import sources, split

    dataset = sources.get(data.source).load()
    parts = split(dataset, train=data.train, validation=data.validation, test=data.test,
                  stratify=data.stratify, seed=data.seed)
    return parts, dataset.n_classes


@lru_cache(maxsize=1)
def _device() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
    return "GPU: " + ", ".join(names)


def _rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _fit(model: str, params: dict[str, Any], data: DataRef, metric_name: str, seed: int,
         trial: Any = None, history: list[dict[str, float]] | None = None):
    from benchmark.metrics import metrics
    from benchmark.models import models
    from benchmark.training import keras as keras_training

    splits, n_classes = _splits(data)
    metric = metrics.get(metric_name)
    fitted = keras_training.fit(models.get(model), params, splits, n_classes,
                                seed=seed, metric=metric, trial=trial, history=history)
    return fitted, splits, metric


def run_trial(task: TrialTask) -> Outcome:
    import optuna

    from benchmark.metrics import score_all
    from benchmark.suite import Pruner

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=task.study_name, storage=task.storage_url,
                              pruner=Pruner.model_validate(task.pruner).create())
    trial = optuna.trial.Trial(study, task.trial_id)
    outcome = Outcome(state="fail", device=_device())
    try:
        fitted, splits, metric = _fit(task.model, task.params, task.data, task.metric,
                                      task.seed, trial, history=outcome.history)
        proba = fitted.predict_proba(splits.validation)
        outcome.metrics = score_all(splits.validation.y, proba)
        outcome.value = metric(splits.validation.y, proba)
        outcome.fit_seconds = fitted.fit_seconds
        outcome.n_params = fitted.n_params
        outcome.state = "complete" if np.isfinite(outcome.value) else "fail"
        if outcome.state == "fail":
            outcome.error = f"validation {metric.name} is {outcome.value}"
    except optuna.TrialPruned:
        outcome.state = "pruned"
    except Exception as error:  # noqa: BLE001 - any failure of one trial is recorded, not fatal
        outcome.error = f"{type(error).__name__}: {error}"
        traceback.print_exc()  # full traceback into worker.log
    outcome.rss_mib = _rss_mib()
    return outcome


def run_evaluation(task: EvaluationTask) -> Outcome:
    try:
        fitted, splits, _ = _fit(task.model, task.params, task.data, task.metric, task.seed)
    except Exception as error:  # noqa: BLE001 - recorded on the study, the run goes on
        traceback.print_exc()
        return Outcome(state="fail", error=f"{type(error).__name__}: {error}", device=_device())
    proba = fitted.predict_proba(splits.test)
    return Outcome(state="complete", history=fitted.history, fit_seconds=fitted.fit_seconds,
                   n_params=fitted.n_params, rss_mib=_rss_mib(), device=_device(),
                   y_true=splits.test.y.tolist(), proba=proba.tolist())
