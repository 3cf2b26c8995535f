"""``run``: load data, search every (dataset, model) pair, evaluate the best
configuration on the test split, record everything, render the report."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmark import environment
from benchmark.datasets import Dataset, Splits
from benchmark.datasets._summary import summarize
from benchmark.errors import DataError, UserError
from benchmark.metrics import predict_labels, score_all
from benchmark.search import WorkerPool, evaluate, optimize
from benchmark.space import Space
from benchmark.store import (DatasetRecord, EvaluationRecord, RunRecord, Store, StudyRecord, now,
                             optuna_storage)
from benchmark.suite import DatasetEntry, ModelEntry, Suite
from benchmark.worker import DataRef, EvaluationTask, Outcome, TrialTask


@dataclass(frozen=True)
class RunResult:
    run_id: str
    run_dir: Path
    html: Path
    pdf: Path


@dataclass(frozen=True)
class Loaded:
    dataset: Dataset
    splits: Splits
    ref: DataRef
    summary: dict[str, Any]


def _load(name: str, entry: DatasetEntry, suite: Suite, origin: str) -> Loaded:
    """Load, split and check one data set; any problem is a UserError naming
    the suite key (``datasets.<name>.<key>``), raised before anything is written."""
    from benchmark.datasets import _preprocess, load_splits
    from benchmark.metrics import metrics
    from benchmark.suite import Preprocess

    where = f"{origin}: datasets.{name}"
    if entry.path is not None:
        # Workers must find the file whatever their working directory.
        entry = entry.model_copy(update={"path": str(Path(entry.path).resolve())})
    seed = entry.split.seed if entry.split.seed is not None else suite.study.seed
    try:
        dataset, parts = load_splits(entry, seed)
        preprocessed = None
        if dataset.kind == "tabular":
            preprocessed = _preprocess.check(entry.preprocess or Preprocess(), parts.train.x)
    except DataError as error:
        raise UserError(f"{where}.{error.key}: {error.message}" if error.key
                        else f"{where}: {error.message}") from None
    if dataset.n_classes != 2:
        metric = metrics.get(suite.study.metric)
        if metric.binary_only:
            raise UserError(f"{origin}: study.metric: {metric.name!r} needs a binary target, but "
                            f"{name} has {dataset.n_classes} classes (use {metric.name}_macro)")
        if suite.study.threshold:
            raise UserError(f"{origin}: study.threshold: threshold tuning needs a binary target, "
                            f"but {name} has {dataset.n_classes} classes")
    if dataset.kind == "image":
        native = min(dataset.sample_shape[:2])
        for index, model in enumerate(suite.models):
            problem = model.image_size_problem(native, name)
            if problem:
                raise UserError(f"{origin}: models[{index}].search.{problem[0]}: {problem[1]}")
    return Loaded(dataset, parts, DataRef(entry.model_dump_json(), seed),
                  summarize(dataset, parts, preprocessed))


class Progress:
    """Live progress: a bar per study on a terminal, one line per trial everywhere."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def start(self, title: str, total: int | None) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=title, unit="trial", file=sys.stderr, disable=None,
                        dynamic_ncols=True)
        self.bar.write(f"{title}: searching ({total or 'until timeout'} trials)", file=sys.stderr)

    def trial(self, study: Any, trial: Any, outcome: Outcome, metric: str) -> None:
        if not self.enabled:
            return
        status = {
            "complete": f"{metric} {outcome.value:.4f}" if outcome.value is not None else "",
            "pruned": (f"pruned after {len(outcome.fold_scores)} fold(s)" if outcome.fold_scores
                       else f"pruned after {len(outcome.history)} epoch(s)"),
            "fail": f"FAILED: {outcome.error}",
        }[outcome.state]
        try:
            best = f"best {study.best_value:.4f} (#{study.best_trial.number})"
        except ValueError:
            best = "no completed trial yet"
        self.bar.write(f"  trial {trial.number:>3}  {status:<32} {best}", file=sys.stderr)
        self.bar.set_postfix_str(best)
        self.bar.update()

    def message(self, text: str) -> None:
        if self.enabled:
            print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _close_interrupted(study: Any) -> tuple[int, float]:
    """Trials a killed run left RUNNING are marked failed ('interrupted'); returns
    how many trials had finished before (they count towards the budget, once)
    and the seconds they took."""
    from optuna.trial import TrialState

    finished, seconds = 0, 0.0
    for trial in study.get_trials(deepcopy=False):
        if trial.state in (TrialState.RUNNING, TrialState.WAITING):
            study._storage.set_trial_user_attr(trial._trial_id, "error",
                                               "interrupted: the run was stopped during this trial")
            study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        elif trial.state.is_finished():
            finished += 1
            seconds += trial.duration.total_seconds() if trial.duration else 0.0
    return finished, seconds


def _study(store: Store, run_id: str, suite: Suite, dataset_name: str, n_classes: int,
           data: DataRef, entry: ModelEntry, pool: WorkerPool, progress: Progress,
           existing: StudyRecord | None = None) -> None:
    """Search and evaluate one (dataset, model) pair. With ``existing`` (a resumed
    run), the stored study goes on where it stopped; a pair whose search and
    evaluation were saved is left as it is."""
    import optuna
    from sklearn.metrics import confusion_matrix

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    settings = suite.study
    space = Space.from_spec(entry.search)
    study_name = f"{run_id}/{dataset_name}/{entry.label}"
    sampler = settings.sampler.create(seed=settings.seed)
    if existing is not None and existing.search_seconds is not None:
        progress.message(f"{dataset_name} / {entry.label}: done before the interruption")
        return
    # load_if_exists: a resumed run may have created the Optuna study and been
    # killed before its record was written.
    study = optuna.create_study(
        study_name=study_name, storage=optuna_storage(store.url),
        direction=settings.objective_direction,
        sampler=sampler, pruner=settings.pruner.create(), load_if_exists=True)
    done_before, seconds_before = _close_interrupted(study)
    if done_before:
        progress.message(f"{dataset_name} / {entry.label}: resuming after {done_before} "
                         f"finished trial(s)")
    if existing is not None:
        record = existing
    else:
        with store.session() as session:
            record = StudyRecord(run_id=run_id, dataset=dataset_name, model=entry.label,
                                 model_name=entry.model, optuna_study=study_name,
                                 metric=settings.metric, direction=settings.objective_direction,
                                 space=space.describe())
            session.add(record)

    def task_for(trial: Any, params: dict[str, Any]) -> TrialTask:
        return TrialTask(storage_url=store.url, study_name=study_name, trial_id=trial._trial_id,
                         pruner=settings.pruner.model_dump(), model=entry.model, params=params,
                         data=data, metric=settings.metric, seed=settings.seed + trial.number,
                         cv_folds=settings.cv_folds, search_sample=entry.search_sample,
                         threshold=settings.threshold)

    n_trials = None if settings.n_trials is None else max(settings.n_trials - done_before, 0)
    timeout = None if settings.timeout is None else max(settings.timeout - seconds_before, 0)
    progress.start(f"{dataset_name} / {entry.label}", n_trials)
    started = now()
    try:
        optimize(study, space=space, task_for=task_for, pool=pool, n_trials=n_trials,
                 timeout=timeout,
                 on_trial=lambda trial, outcome: progress.trial(study, trial, outcome, settings.metric))
    finally:
        progress.close()
    search_seconds = (now() - started).total_seconds() + seconds_before

    evaluations: list[EvaluationRecord] = []
    error = None
    try:
        best = study.best_trial
    except ValueError:
        best, error = None, "no trial completed, so there is no configuration to evaluate"
    best_params = {**space.fixed, **best.params} if best else None
    if best is not None:
        for repeat in range(suite.evaluation.repeats):
            seed = settings.seed + 10_000 + repeat
            progress.message(f"{dataset_name} / {entry.label}: final evaluation "
                             f"{repeat + 1}/{suite.evaluation.repeats} of trial #{best.number}")
            outcome = evaluate(pool, EvaluationTask(model=entry.model, params=best_params,
                                                    data=data, metric=settings.metric, seed=seed,
                                                    threshold=settings.threshold))
            if outcome.state != "complete":
                error = f"final evaluation failed: {outcome.error}"
                break
            y_true, proba = np.asarray(outcome.y_true), np.asarray(outcome.proba)
            evaluations.append(EvaluationRecord(
                repeat=repeat, seed=seed, metrics=score_all(y_true, proba, outcome.threshold),
                confusion=confusion_matrix(y_true, predict_labels(proba, outcome.threshold),
                                           labels=range(n_classes)).tolist(),
                history=outcome.history, n_params=outcome.n_params,
                fit_seconds=outcome.fit_seconds, threshold=outcome.threshold,
                architecture=outcome.architecture,
                # Test predictions, for ROC/PR curves and paired tests between models.
                predictions={"y_true": y_true.tolist(),
                             "proba": np.round(proba, 6).tolist()}))
            _note_device(store, run_id, outcome.device)
    with store.session() as session:
        record = session.merge(record)
        record.search_seconds = search_seconds
        record.best_trial = best.number if best else None
        record.best_params = best_params
        record.error = error
        for evaluation in evaluations:
            evaluation.study_id = record.id
            session.add(evaluation)


def _note_device(store: Store, run_id: str, device: str) -> None:
    with store.session() as session:
        run = session.get(RunRecord, run_id)
        if device and run.environment.get("device") != device:
            run.environment = {**run.environment, "device": device}


def load_datasets(suite: Suite, origin: str = "suite") -> dict[str, Loaded]:
    """Every data set of the suite, loaded, split and checked (``validate`` uses it too)."""
    return {name: _load(name, entry, suite, origin) for name, entry in suite.datasets.items()}


def run(suite: Suite, suite_text: str, *, storage: str, reports_dir: Path, command: str = "",
        progress: bool = True, origin: str = "suite", resume_id: str | None = None) -> RunResult:
    """Run a validated suite end to end; returns where the report landed. ``origin``
    (the suite's file) starts every error message about the suite's data. With
    ``resume_id`` (see ``resume``), that stored run is finished instead of a new one."""
    # Load every data set first: a data error must stop the run before anything is written.
    loaded = load_datasets(suite, origin)
    for name, data in loaded.items():
        for warning in data.dataset.warnings:
            print(f"warning: datasets.{name}: {warning}", file=sys.stderr)

    store = Store(storage)
    existing: dict[tuple[str, str], StudyRecord] = {}
    stored_datasets: set[str] = set()
    if resume_id is None:
        run_id = store.new_run_id()
        run_dir = reports_dir / suite.name / run_id
        run_dir.mkdir(parents=True)
        (run_dir / "suite.yaml").write_text(suite_text)
        with store.session() as session:
            session.add(RunRecord(id=run_id, suite_name=suite.name, suite_yaml=suite_text,
                                  suite=suite.to_json(), suite_hash=suite.hash(),
                                  seed=suite.study.seed, status="running", command=command,
                                  environment=environment.capture(origin), started_at=now()))
    else:
        run_id = resume_id
        run_dir = reports_dir / suite.name / run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "suite.yaml").write_text(suite_text)
        with store.session() as session:
            record = session.get(RunRecord, run_id)
            for study in record.studies:
                existing[(study.dataset, study.model)] = study
            stored_datasets = {d.name for d in record.datasets}
            record.status, record.error = "running", None
            # This process now owns the run (so a second kill is detected too).
            record.environment = {**record.environment, **environment.process_identity()}
    report = Progress(progress)
    report.message(f"run {run_id}: {len(suite.datasets)} dataset(s) x {len(suite.models)} model(s), "
                   f"database {storage}" + (" (resumed)" if resume_id else ""))
    status, error = "failed", None
    try:
        with WorkerPool(suite.execution.trials_per_worker, str(run_dir / "worker.log")) as pool:
            for dataset_name, data in loaded.items():
                if dataset_name not in stored_datasets:
                    with store.session() as session:
                        session.add(DatasetRecord(run_id=run_id, name=dataset_name,
                                                  source=suite.datasets[dataset_name].source,
                                                  summary=data.summary))
                for entry in suite.models:
                    _study(store, run_id, suite, dataset_name, data.dataset.n_classes, data.ref,
                           entry, pool, report, existing.get((dataset_name, entry.label)))
        status = "finished"
    except KeyboardInterrupt:
        # Ctrl-C, or SIGTERM (the CLI turns it into KeyboardInterrupt).
        status, error = "interrupted", "interrupted (Ctrl-C or SIGTERM)"
        raise
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        with store.session() as session:
            record = session.get(RunRecord, run_id)
            record.status, record.error, record.finished_at = status, error, now()

    from benchmark.report import render_run

    report.message("rendering the report")
    html, pdf = render_run(store, run_id, run_dir)
    _point_latest(run_dir)
    return RunResult(run_id, run_dir, html, pdf)


def resume(storage: str, run_id: str, *, reports_dir: Path, progress: bool = True) -> RunResult:
    """Finish an interrupted run: completed trials and pairs are kept (and counted
    once), trials the interruption cut short are marked failed, the rest runs."""
    from benchmark import suite as suite_module

    store = Store(storage, create=False)  # marks the run interrupted if its process is gone
    record = store.resolve(run_id)
    if record.status == "finished":
        raise UserError(f"run {record.id} already finished; nothing to resume")
    if record.status == "running":
        raise UserError(f"run {record.id} is still running (pid {record.environment.get('pid')} "
                        f"on {record.environment.get('hostname')}); wait for it, or stop it first")
    suite = suite_module.parse(record.suite, origin=f"run {record.id}")
    return run(suite, record.suite_yaml, storage=storage,
               reports_dir=reports_dir, command=record.command, progress=progress,
               origin=f"run {record.id}", resume_id=record.id)


def _point_latest(run_dir: Path) -> None:
    """``reports/<suite>/latest`` -> the newest run folder, swapped atomically."""
    link = run_dir.parent / "latest"
    temporary = run_dir.parent / f".latest-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(run_dir.name)
    os.replace(temporary, link)


__all__ = ["RunResult", "resume", "run"]
