"""What runs inside a worker process: one trial, or one final evaluation.

Workers are spawned (never forked) and replaced after a few trials, because
TensorFlow keeps every traced graph alive for the life of a process
(tensorflow#97697): replacing the process is what keeps memory flat.
The main process never imports TensorFlow.
"""

from __future__ import annotations

import os
import multiprocessing
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np


@dataclass(frozen=True)
class DataRef:
    """How a worker rebuilds the exact splits the main process described."""

    entry: str  # the suite's data set entry, as JSON
    seed: int  # the split's seed


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
    cv_folds: int | None = None
    search_sample: int | None = None
    threshold: str | None = None


@dataclass(frozen=True)
class EvaluationTask:
    model: str
    params: dict[str, Any]
    data: DataRef
    metric: str
    seed: int
    threshold: str | None = None
    # With study.cv_folds (scikit-learn), the threshold is tuned on the
    # out-of-fold predictions of the whole training split, not on validation.
    cv_folds: int | None = None
    # Save the fitted model into this folder (the first refit of a study).
    save_to: str | None = None
    # Train on this fraction of the training split only (a learning-curve
    # point): scored on the test split, nothing tuned, measured or saved.
    fraction: float | None = None
    # Measure the fitted model's cost (latency, throughput, size); an
    # ablation level's refit is scored only.
    measure: bool = True


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
    # The decision threshold tuned on validation data (binary, when the suite asks).
    threshold: float | None = None
    fold_scores: list[float] = field(default_factory=list)
    architecture: dict[str, Any] | None = None  # Keras final evaluations: the layer table
    # Final evaluations only: the test labels and predicted probabilities.
    y_true: list[int] | None = None
    proba: list[list[float]] | None = None
    # Final evaluations: what the threshold was tuned on, {"on": "out-of-fold" |
    # "validation", "samples": n, "positives": p} (stored with the predictions).
    threshold_data: dict[str, Any] | None = None
    # Final evaluations: what the model costs to run (``measure_cost``), and the
    # saved model's file (when the task asked for it), with the class names.
    cost: dict[str, Any] | None = None
    model_file: str | None = None
    class_names: list[str] | None = None
    # Seconds per phase spent in the training process since its last task
    # (benchmark.phases): imports, data loading, build, training, evaluation.
    phases: dict[str, float] = field(default_factory=dict)
    samples: int | None = None  # training samples of a learning-curve point


def _exit_with_parent() -> None:
    """A worker whose run was killed (kill -9 of the main process) would
    otherwise train its trial to the end, and write to a study that a resumed
    run has moved on from. Blocks on the parent's sentinel until it is gone."""
    multiprocessing.parent_process().join()
    os._exit(1)


def initialize(log_path: str | None, env: dict[str, str] | None = None) -> None:
    """Quiet TensorFlow: its C++ logging goes to the run's worker.log, not the
    terminal. ``env`` (the device, thread caps) is set before any library that
    reads it is imported."""
    os.environ.update(env or {})
    threading.Thread(target=_exit_with_parent, daemon=True, name="exit-with-parent").start()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if log_path:
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 2)
        sys.stderr = open(2, "w", closefd=False)
    import psutil

    from benchmark import phases

    # From the spawn to here: the interpreter and this module's imports.
    phases.add("worker start", time.time() - psutil.Process().create_time())


@lru_cache(maxsize=1)
def _tensorflow_ready() -> None:
    """Imported on the first Keras task only: scikit-learn workers skip its ~3 s import."""
    from benchmark import phases

    with phases.timed("TensorFlow import"):
        _configure_tensorflow()


def _configure_tensorflow() -> None:
    import tensorflow as tf

    # Same suite + seed on the same machine must give the same metrics.
    tf.config.experimental.enable_op_determinism()
    threads = os.environ.get("BENCHMARK_THREADS")
    if threads:  # several workers share the cores (execution.threads_per_worker)
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(min(int(threads), 2))
    for gpu in tf.config.list_physical_devices("GPU"):
        # One trial per GPU, and the memory it needs only (tensorflow#17048: it is
        # given back when the process exits, which replaced workers do).
        tf.config.experimental.set_memory_growth(gpu, True)


@lru_cache(maxsize=1)
def _storage(url: str) -> Any:
    """One Optuna storage for all the trials of this worker (its tables are checked once)."""
    from benchmark.store import optuna_storage

    return optuna_storage(url)


@lru_cache(maxsize=4)
def _data(data: DataRef):
    from benchmark.datasets import load_splits
    from benchmark.suite import DatasetEntry

    from benchmark import phases

    entry = DatasetEntry.model_validate_json(data.entry)
    with phases.timed("worker data load"):
        dataset, parts = load_splits(entry, data.seed)
    return parts, dataset.n_classes, entry.preprocess, list(dataset.class_names)


def _sample(part, size: int | None, seed: int):
    """At most ``size`` rows, stratified; the same rows for every trial of a study."""
    if size is None or size >= len(part):
        return part
    from sklearn.model_selection import train_test_split

    from benchmark.datasets import Part, take

    index, _ = train_test_split(np.arange(len(part)), train_size=size, random_state=seed,
                                stratify=part.y)
    return Part(take(part.x, np.sort(index)), part.y[np.sort(index)])


def _mark_started() -> None:
    """Training begins now (imports and data loading are done): study.trial_timeout
    counts from here (search.WorkerPool reads the file)."""
    import time

    path = os.environ.get("BENCHMARK_STARTED_FILE")
    if path:
        with open(path, "w") as handle:
            handle.write(repr(time.time()))


def _device() -> str:
    if "tensorflow" not in sys.modules:
        return "CPU"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
    return "GPU: " + ", ".join(names)


def _rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _threshold(objective: str | None, y: np.ndarray, proba: np.ndarray) -> float | None:
    if objective is None or proba.shape[1] != 2:
        return None
    from benchmark.metrics import tune_threshold

    return tune_threshold(y, proba[:, 1], objective)


def _configured(params: dict[str, Any], preprocess: Any) -> tuple[dict[str, Any], Any]:
    """The model's own parameters, and the data set's preprocessing with the
    ``preprocess.*`` values the search drew applied to it (``Preprocess.chosen``):
    model builders never see those keys."""
    from benchmark.suite import PREPROCESS_PREFIX, Preprocess

    if preprocess is None:
        if not any(k.startswith(PREPROCESS_PREFIX) for k in params):
            return params, None

        # An ablation's preprocess.* level on a data set that declares none: the
        # empty preprocessing (columns passed through) with that step.
        preprocess = Preprocess()
    preprocess, params = preprocess.chosen(params)
    return params, preprocess


def _fit(spec, params: dict[str, Any], train, splits, n_classes: int, preprocess: Any,
         metric: Any, seed: int, trial: Any = None, history: list | None = None):
    """Fit one model on ``train`` through its family."""
    from benchmark.families import family_of

    family = family_of(spec)
    if family.uses_tensorflow:
        _tensorflow_ready()
    _mark_started()
    return family.fit(spec, params, train, splits, n_classes, preprocess=preprocess,
                      metric=metric, seed=seed, trial=trial, history=history)


def run_trial(task: TrialTask) -> Outcome:
    import optuna

    from benchmark import phases
    from benchmark.metrics import metrics, score_all
    from benchmark.models import models
    from benchmark.suite import Pruner

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=task.study_name, storage=_storage(task.storage_url),
                              pruner=Pruner.model_validate(task.pruner).create())
    trial = optuna.trial.Trial(study, task.trial_id)
    outcome = Outcome(state="fail")
    try:
        spec = models.get(task.model)
        metric = metrics.get(task.metric)
        splits, n_classes, preprocess, _ = _data(task.data)
        params, preprocess = _configured(task.params, preprocess)
        train = _sample(splits.train, task.search_sample, task.data.seed)
        from benchmark.families import family_of

        family = family_of(spec)
        if family.cross_validates and task.cv_folds:
            def score(y: np.ndarray, proba: np.ndarray) -> float:
                return metric(y, proba, _threshold(task.threshold, y, proba))

            _mark_started()
            proba, _, outcome.fit_seconds = family.cross_validate(
                spec, params, train, n_classes, folds=task.cv_folds, seed=task.seed,
                preprocess=preprocess, score=score, trial=trial, fold_scores=outcome.fold_scores)
            y = train.y
        else:
            fitted = _fit(spec, params, train, splits, n_classes, preprocess, metric,
                          task.seed, trial, history=outcome.history)
            with phases.timed("evaluation"):
                y, proba = splits.validation.y, fitted.predict_proba(splits.validation)
            outcome.fit_seconds, outcome.n_params = fitted.fit_seconds, fitted.n_params
        with phases.timed("evaluation"):
            outcome.threshold = _threshold(task.threshold, y, proba)
            outcome.metrics = score_all(y, proba, outcome.threshold)
            outcome.value = metric(y, proba, outcome.threshold)
        outcome.state = "complete" if np.isfinite(outcome.value) else "fail"
        if outcome.state == "fail":
            outcome.error = f"validation {metric.name} is {outcome.value}"
    except optuna.TrialPruned:
        outcome.state = "pruned"
    except Exception as error:  # noqa: BLE001 - any failure of one trial is recorded, not fatal
        outcome.error = f"{type(error).__name__}: {error}"
        traceback.print_exc()  # full traceback into worker.log
    outcome.rss_mib = _rss_mib()
    outcome.device = _device()
    outcome.phases = phases.drain()
    if not outcome.fit_seconds:  # pruned or failed while fitting: the epochs it did train
        outcome.fit_seconds = outcome.phases.get("training", 0.0)
    return outcome


def run_evaluation(task: EvaluationTask) -> Outcome:
    """Refit on the whole training split, tune the threshold (when asked) on the
    out-of-fold predictions of a cross-validation of the whole training split
    (study.cv_folds, scikit-learn) or else on the validation split, then predict
    the test split once."""
    from benchmark import phases
    from benchmark.metrics import metrics
    from benchmark.models import models

    threshold_data = None
    try:
        spec = models.get(task.model)
        splits, n_classes, preprocess, class_names = _data(task.data)
        params, preprocess = _configured(task.params, preprocess)
        if task.fraction is not None and task.fraction < 1:
            return _curve_point(task, spec, params, splits, n_classes, preprocess)
        fitted = _fit(spec, params, splits.train, splits, n_classes,
                      preprocess, metrics.get(task.metric), task.seed)
        threshold = None
        if task.threshold and n_classes == 2:
            from benchmark.families import family_of

            if family_of(spec).cross_validates and task.cv_folds:
                tuned_y, on = splits.train.y, "out-of-fold"
                tuned_proba, _, _ = family_of(spec).cross_validate(
                    spec, params, splits.train, n_classes, folds=task.cv_folds,
                    seed=task.seed, preprocess=preprocess)
            else:
                tuned_y, on = splits.validation.y, "validation"
                tuned_proba = fitted.predict_proba(splits.validation)
            threshold = _threshold(task.threshold, tuned_y, tuned_proba)
            threshold_data = {"on": on, "samples": int(len(tuned_y)),
                              "positives": int(np.sum(np.asarray(tuned_y) == 1))}
        with phases.timed("evaluation"):
            proba = fitted.predict_proba(splits.test)
        from benchmark.families import family_of

        model_file, cost = None, None
        if task.measure:
            with phases.timed("cost measurement"):
                model_file, cost = measure_cost(family_of(spec), fitted, splits.test,
                                                task.save_to)
    except Exception as error:  # noqa: BLE001 - recorded on the study, the run goes on
        traceback.print_exc()
        return Outcome(state="fail", error=f"{type(error).__name__}: {error}", device=_device(),
                       phases=phases.drain())
    return Outcome(state="complete", history=fitted.history, fit_seconds=fitted.fit_seconds,
                   phases=phases.drain(),
                   n_params=fitted.n_params, rss_mib=_rss_mib(), device=_device(),
                   threshold=threshold, threshold_data=threshold_data,
                   y_true=splits.test.y.tolist(), proba=proba.tolist(), cost=cost,
                   model_file=model_file, class_names=class_names,
                   architecture=fitted.architecture() if hasattr(fitted, "architecture") else None)


def _curve_point(task: EvaluationTask, spec: Any, params: dict[str, Any], splits: Any,
                 n_classes: int, preprocess: Any) -> Outcome:
    """One learning-curve point: the configuration fitted on a stratified
    ``task.fraction`` of the training split (the same rows for every model and
    repeat: the data set's seed draws them) and scored on the test split."""
    from benchmark import phases
    from benchmark.metrics import metrics, score_all

    size = max(int(round(task.fraction * len(splits.train))), n_classes)
    train = _sample(splits.train, size, task.data.seed)
    fitted = _fit(spec, params, train, splits, n_classes, preprocess,
                  metrics.get(task.metric), task.seed)
    with phases.timed("evaluation"):
        proba = fitted.predict_proba(splits.test)
        scored = score_all(splits.test.y, proba, None)
    return Outcome(state="complete", metrics=scored, fit_seconds=fitted.fit_seconds,
                   samples=len(train), device=_device(), phases=phases.drain())


# Repeated single-sample calls for the latency, after warm-up calls (the first
# calls of a Keras model trace its graph): LATENCY_CALLS, or as many as fit in
# LATENCY_SECONDS but at least MIN_LATENCY_CALLS (a slow model, a forest of
# hundreds of trees, would otherwise spend more time here than training).
LATENCY_CALLS = 50
MIN_LATENCY_CALLS = 20
LATENCY_SECONDS = 0.5
WARMUP_CALLS = 5
THROUGHPUT_BATCH = 1024


def measure_cost(family: Any, fitted: Any, test: Any, save_to: str | None) -> tuple[str | None, dict]:
    """What the fitted model costs to run, measured here (on the device that
    trained it): latency per sample at batch size 1 (median and 95th
    percentile over LATENCY_CALLS calls after warm-up), throughput in samples
    per second at a batch of up to THROUGHPUT_BATCH test samples (the test
    split repeated), the size of the saved model file and the parameter
    count. Returns the saved file (in ``save_to``, else removed) and the cost."""
    import tempfile
    import time
    from pathlib import Path

    from benchmark.datasets import take

    predict = family.predictor(fitted.model)
    one = take(test.x, np.arange(1))
    for _ in range(WARMUP_CALLS):
        predict(one)
    latencies: list[float] = []
    while len(latencies) < LATENCY_CALLS and (len(latencies) < MIN_LATENCY_CALLS
                                              or sum(latencies) < LATENCY_SECONDS):
        started = time.perf_counter()
        predict(one)
        latencies.append(time.perf_counter() - started)
    index = np.resize(np.arange(len(test)), min(THROUGHPUT_BATCH, max(len(test), 256)))
    batch = take(test.x, index)
    predict(batch)  # warm-up at this batch size
    rates = []
    for _ in range(3):
        started = time.perf_counter()
        predict(batch)
        rates.append(len(index) / (time.perf_counter() - started))
    folder = Path(save_to) if save_to else Path(tempfile.mkdtemp(prefix="benchmark-model-"))
    folder.mkdir(parents=True, exist_ok=True)
    saved = family.save(fitted, folder / "model")
    size = saved.stat().st_size
    if not save_to:
        saved.unlink()
        folder.rmdir()
    cost = {"latency_ms": float(np.median(latencies) * 1000), "latency_calls": len(latencies),
            "latency_p95_ms": float(np.percentile(latencies, 95) * 1000),
            "throughput": float(np.median(rates)), "throughput_batch": int(len(index)),
            "size_bytes": int(size), "n_params": fitted.n_params}
    return (str(saved) if save_to else None), cost
