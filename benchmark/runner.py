"""``run``: load data, search every (dataset, model) pair, evaluate the best
configuration on the test split, record everything, render the report."""

from __future__ import annotations

import os
import shutil
import sys
import warnings
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
from benchmark.store import (DatasetRecord, EvaluationRecord, RunRecord, Store, StudyRecord,
                             mask_command, now, optuna_storage, scrub)
from benchmark.suite import DatasetEntry, ModelEntry, Suite
from benchmark.worker import DataRef, EvaluationTask, Outcome, TrialTask


@dataclass(frozen=True)
class RunResult:
    run_id: str
    run_dir: Path
    html: Path
    pdf: Path
    # (dataset, model, why) of each pair that produced no result, and how many pairs ran.
    empty_pairs: tuple[tuple[str, str, str], ...] = ()
    n_pairs: int = 0
    # The compact results table ``run`` prints at its end (export.table_lines).
    summary: tuple[str, ...] = ()

    @property
    def nothing(self) -> bool:
        """No (dataset, model) pair produced a result: nothing to compare (exit 4)."""
        return bool(self.empty_pairs) and len(self.empty_pairs) == self.n_pairs


# Exit status of ``run`` (and ``nightly``) when no pair produced a result.
EXIT_NOTHING = 4
# Exit status when a run crashed (``nightly`` uses it too): before its first
# trial, a new run is stored as 'failed' with the reason and its folder removed.
EXIT_CRASHED = 3


class RunNotStarted(UserError):
    """A run crashed before its first trial: one line, exit 3, no report folder."""

    exit_code = EXIT_CRASHED


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
            from dataclasses import replace

            # Every row is checked for gaps; constant and ID-like columns are warned about.
            preprocessed = _preprocess.check(entry.preprocess or Preprocess(), parts.train.x,
                                             dataset.x)
            dataset = replace(dataset, warnings=dataset.warnings + preprocessed.warnings)
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
    extra = _training_balance(name, dataset, parts, suite, origin)
    if extra:
        from dataclasses import replace

        dataset = replace(dataset, warnings=(*dataset.warnings, *extra))
    return Loaded(dataset, parts, DataRef(entry.model_dump_json(), seed),
                  summarize(dataset, parts, preprocessed))


def _training_balance(name: str, dataset: Dataset, parts: Splits, suite: Suite,
                      origin: str) -> list[str]:
    """What the stratified cuts of the training split need (study.cv_folds folds,
    a model's search_sample): a UserError where every trial would fail, a
    warning line per class too small for the folds."""
    counts = np.bincount(parts.train.y, minlength=dataset.n_classes)
    present = [k for k in range(dataset.n_classes) if counts[k]]
    lines = []
    folds = suite.study.cv_folds
    if folds:  # sklearn models only (the suite refuses cv_folds with other models)
        if all(counts[k] < folds for k in present):
            raise UserError(f"{origin}: study.cv_folds: {folds} stratified folds need at least "
                            f"{folds} training samples of some class, but {name} has at most "
                            f"{int(counts.max())} (train: {counts.tolist()})")
        for k in present:
            if counts[k] < folds:
                lines.append(f"class {dataset.class_names[k]!r} has {counts[k]} training samples, "
                             f"fewer than study.cv_folds ({folds}): some folds hold none of it")
    for index, model in enumerate(suite.models):
        size = model.search_sample
        if size is None or size >= len(parts.train):
            continue
        alone = [k for k in present if counts[k] == 1]
        if alone:
            raise UserError(
                f"{origin}: models[{index}].search_sample: class "
                f"{dataset.class_names[alone[0]]!r} of {name} has 1 training sample; the "
                f"stratified sample of {size} rows needs at least 2 of each class")
        if min(size, len(parts.train) - size) < len(present):
            raise UserError(
                f"{origin}: models[{index}].search_sample: a stratified sample of {size} of "
                f"{len(parts.train)} training rows cannot hold each of {name}'s {len(present)} "
                f"classes on both sides")
    return lines


class Progress:
    """Live progress: a bar per study on a terminal, one line per trial everywhere."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        # Set once a trial is handed to a worker: a crash before that wrote no result.
        self.trial_started = False
        # The study in progress: when it started, its trial and time budgets, trials done.
        self.started = 0.0
        self.total: int | None = None
        self.timeout: float | None = None
        self.done = 0

    def start(self, title: str, total: int | None, timeout: float | None = None) -> None:
        import time

        self.started, self.total, self.timeout, self.done = time.monotonic(), total, timeout, 0
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
        self.done += 1
        self.bar.write(f"  trial {trial.number:>3}  {status:<32} {best:<28} {self.timing()}",
                       file=sys.stderr)
        self.bar.set_postfix_str(best)
        self.bar.update()

    def timing(self) -> str:
        """``12.3 s elapsed, ~25.0 s left``: the study's time so far and an estimate
        of the rest (the mean time per finished trial times the trials left, or
        what remains of study.timeout, whichever ends first)."""
        import time

        elapsed = time.monotonic() - self.started
        estimates = []
        if self.total is not None and self.done:
            estimates.append(elapsed / self.done * max(self.total - self.done, 0))
        if self.timeout is not None:
            estimates.append(max(self.timeout - elapsed, 0.0))
        text = f"{_clock(elapsed)} elapsed"
        if estimates:
            left = min(estimates)
            text += ", done" if left <= 0 else f", ~{_clock(left)} left"
        return text

    def message(self, text: str) -> None:
        if self.enabled:
            print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _clock(seconds: float) -> str:
    """``4.2 s``, ``3 min 05 s``, ``1 h 02 min``: a progress line's times."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


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
        progress.trial_started = True
        return TrialTask(storage_url=store.url, study_name=study_name, trial_id=trial._trial_id,
                         pruner=settings.pruner.model_dump(), model=entry.model, params=params,
                         data=data, metric=settings.metric, seed=settings.seed + trial.number,
                         cv_folds=settings.cv_folds, search_sample=entry.search_sample,
                         threshold=settings.threshold)

    n_trials = None if settings.n_trials is None else max(settings.n_trials - done_before, 0)
    timeout = None if settings.timeout is None else max(settings.timeout - seconds_before, 0)
    progress.start(f"{dataset_name} / {entry.label}", n_trials, timeout)
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
        error += _why_no_trial(study)
    best_params = {**space.fixed, **best.params} if best else None
    if best is not None:
        for repeat in range(suite.evaluation.repeats):
            seed = settings.seed + 10_000 + repeat
            progress.message(f"{dataset_name} / {entry.label}: final evaluation "
                             f"{repeat + 1}/{suite.evaluation.repeats} of trial #{best.number}")
            outcome = evaluate(pool, EvaluationTask(model=entry.model, params=best_params,
                                                    data=data, metric=settings.metric, seed=seed,
                                                    threshold=settings.threshold,
                                                    cv_folds=settings.cv_folds))
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
                # With what the threshold was tuned on (the report states its positives).
                predictions={"y_true": y_true.tolist(),
                             "proba": np.round(proba, 6).tolist(),
                             **({"threshold_tuned_on": outcome.threshold_data}
                                if outcome.threshold_data else {})}))
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


def _why_no_trial(study: Any) -> str:
    """`` (3 failed, e.g. ValueError: ...)``: what became of the trials of a
    study without a completed one, for the record and the summary line."""
    from collections import Counter

    trials = study.get_trials(deepcopy=False)
    if not trials:
        return " (no trial ran)"
    counts = Counter({"FAIL": "failed"}.get(t.state.name, t.state.name.lower()) for t in trials)
    errors = [t.user_attrs["error"] for t in trials if t.user_attrs.get("error")]
    example = ""
    if errors:
        first = str(errors[0]).strip().splitlines()[0] if str(errors[0]).strip() else ""
        example = f", e.g. {first[:160]}{'...' if len(first) > 160 else ''}" if first else ""
    return " (" + ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) + example + ")"


def check_search(suite: Suite, origin: str = "suite") -> None:
    """Builds the suite's sampler and pruner and asks the sampler for one trial of
    every model's search space, in memory: options that Optuna only rejects when
    used fail here, as one line, before anything is written (``validate`` may call it)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    settings = suite.study

    def refuse(key: str, name: str, error: Exception, what: str = "") -> UserError:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return UserError(f"{origin}: study.{key}: {name!r}{what} fails with these options "
                         f"({type(error).__name__}: {reason[:200]}); see Optuna's documentation "
                         f"of its options")

    try:
        settings.pruner.create()
    except Exception as error:  # noqa: BLE001 - Optuna's own validation, any kind
        raise refuse("pruner", settings.pruner.name, error) from None
    for index, entry in enumerate(suite.models):
        space = Space.from_spec(entry.search)
        try:
            sampler = settings.sampler.create(seed=settings.seed)
        except Exception as error:  # noqa: BLE001
            raise refuse("sampler", settings.sampler.name, error) from None
        try:
            with warnings.catch_warnings():  # the real study warns, once
                warnings.simplefilter("ignore")
                optuna.create_study(sampler=sampler, direction=settings.objective_direction).ask(
                    space.distributions)
        except Exception as error:  # noqa: BLE001
            raise refuse("sampler", settings.sampler.name, error,
                         f" (asked for models[{index}]'s search space)") from None


def _empty_pairs(store: Store, run_id: str) -> tuple[tuple[tuple[str, str, str], ...], int]:
    """The (dataset, model, why) of the run's pairs without a result, and how many pairs."""
    with store.session() as session:
        studies = session.get(RunRecord, run_id).studies
        empty = tuple((s.dataset, s.model, s.error or "no result")
                      for s in studies if not s.evaluations)
        return empty, len(studies)


def describe_pairs(pairs: tuple[tuple[str, str, str], ...], limit: int = 3) -> str:
    """``digits / lr (why); iris / svm (why)``, the first ``limit`` of them."""
    def short(why: str) -> str:  # the line stays short; the report has the whole reason
        why = why.replace(", so there is no configuration to evaluate", "")
        return why if len(why) <= 120 else why[:117] + "..."

    shown = "; ".join(f"{d} / {m} ({short(why)})" for d, m, why in pairs[:limit])
    return shown + (f"; and {len(pairs) - limit} more" if len(pairs) > limit else "")


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
    # Options Optuna rejects only when used (a pruner without bounds, a sampler's
    # option of the wrong type) fail now, before anything is written.
    check_search(suite, origin)
    # A password never reaches the run record (nor, through it, the report).
    command = mask_command(command)

    store = Store(storage)
    existing: dict[tuple[str, str], StudyRecord] = {}
    stored_datasets: set[str] = set()
    if resume_id is None:
        run_id = store.new_run_id()
        run_dir = reports_dir / suite.name / run_id
        # Removed again (when empty) if the run fails before its first trial.
        created = [folder for folder in (reports_dir, run_dir.parent) if not folder.exists()]
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
            record.command = mask_command(record.command or "")  # stored by an older version
            # This process now owns the run (so a second kill is detected too).
            record.environment = {**record.environment, **environment.process_identity()}
    report = Progress(progress)
    report.message(f"run {run_id}: {len(suite.datasets)} dataset(s) x {len(suite.models)} model(s), "
                   f"database {store.shown}" + (" (resumed)" if resume_id else ""))
    status, error = "failed", None
    empty: tuple[tuple[str, str, str], ...] = ()
    n_pairs = 0
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
        empty, n_pairs = _empty_pairs(store, run_id)
        if empty and len(empty) == n_pairs:
            # Stored as failed, so that no nightly takes it as its baseline.
            error = f"no (data set, model) pair produced a result: {describe_pairs(empty)}"
        else:
            status = "finished"
    except KeyboardInterrupt:
        # Ctrl-C, or SIGTERM (the CLI turns it into KeyboardInterrupt).
        status, error = "interrupted", "interrupted (Ctrl-C or SIGTERM)"
        raise
    except BaseException as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        error = scrub(f"{type(exc).__name__}: {reason}", storage)[:300]
        if resume_id is None and not report.trial_started and isinstance(exc, Exception):
            # Nothing was trained: no report folder to keep, and one line to say why
            # (the run row stays, marked failed with this reason).
            _remove_run_dir(run_dir, created)
            if isinstance(exc, UserError):
                raise
            raise RunNotStarted(f"run {run_id} failed before its first trial and is stored as "
                                f"failed: {error}") from exc
        raise
    finally:
        with store.session() as session:
            record = session.get(RunRecord, run_id)
            record.status, record.error, record.finished_at = status, error, now()

    from benchmark.report import context as report_context
    from benchmark.report import render_run

    report.message("rendering the report")
    ctx = report_context.build(store, run_id)  # once, for the report and results.json/csv
    html, pdf = render_run(store, run_id, run_dir, ctx)
    summary = _write_results(store, run_id, run_dir, ctx)
    _point_latest(run_dir, storage)
    return RunResult(run_id, run_dir, html, pdf, empty, n_pairs, tuple(summary))


def _write_results(store: Store, run_id: str, run_dir: Path, ctx: dict | None = None) -> list[str]:
    """``results.json`` and ``results.csv`` next to the report (the numbers of
    its context); returns the terminal table. The run and its report stand
    even if this fails: a warning, and ``export`` can write them later."""
    from benchmark import export

    try:
        return export.write_results(store, run_id, run_dir, ctx)
    except Exception as error:  # noqa: BLE001 - the run is stored and reported already
        print(f"warning: run {run_id}: results.json/csv not written ({type(error).__name__}: "
              f"{str(error)[:200]}); write them with: python -m benchmark export {run_id}",
              file=sys.stderr)
        return []


def _remove_run_dir(run_dir: Path, created: list[Path]) -> None:
    """A new run's folder (the suite copy, an empty worker.log), and the folders
    above it that this run ``created``, when nothing else landed in them."""
    shutil.rmtree(run_dir, ignore_errors=True)
    for folder in reversed(created):  # the suite's folder, then reports/
        try:
            folder.rmdir()  # only when empty
        except OSError:
            break


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


# The environment variable (= cli.STORAGE_VARIABLE) naming the database that
# commands use when not given --storage.
STORAGE_VARIABLE = "BENCHMARK_STORAGE"


def _same_database(a: str, b: str) -> bool:
    from benchmark.store import _sqlite_file

    file_a, file_b = _sqlite_file(a), _sqlite_file(b)
    if file_a is not None or file_b is not None:
        return (file_a is not None and file_b is not None
                and file_a.resolve() == file_b.resolve())
    return a == b


def latest_name(storage: str) -> str:
    """The name of the ``latest`` link of runs stored at ``storage``: ``latest``
    for the database commands use without ``--storage`` ($BENCHMARK_STORAGE,
    else sqlite:///reports/benchmark.db), so that ``report latest`` and the link
    agree; ``latest-<database>`` for any other (an SQLite file's name without
    its suffix, or a server database's name and host): a run on another
    database never moves the default database's ``latest``."""
    import re

    from benchmark.store import DEFAULT_STORAGE, _sqlite_file

    if _same_database(storage, os.environ.get(STORAGE_VARIABLE) or DEFAULT_STORAGE):
        return "latest"
    path = _sqlite_file(storage)
    if path is not None:
        label = path.stem
    else:
        try:
            from sqlalchemy.engine import make_url

            url = make_url(storage)
            label = "-".join(part for part in (url.database, url.host) if part) or url.drivername
        except Exception:  # noqa: BLE001 - a URL the store opened; a label is all we need
            label = "database"
    label = re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("._") or "database"
    return f"latest-{label}"


def _point_latest(run_dir: Path, storage: str) -> None:
    """``reports/<suite>/latest`` (``latest_name``: one link per database) -> the
    newest run folder, swapped atomically; ``database.txt`` in the run folder
    names the database the run is stored in (its password masked)."""
    from benchmark.store import masked

    (run_dir / "database.txt").write_text(masked(storage) + "\n")
    link = run_dir.parent / latest_name(storage)
    temporary = run_dir.parent / f".latest-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(run_dir.name)
    os.replace(temporary, link)


__all__ = ["RunResult", "resume", "run"]
