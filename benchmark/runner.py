"""``run``: load data, search every (dataset, model) pair, evaluate the best
configuration on the test split, record everything, render the report."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmark import environment, phases
from benchmark.datasets import Dataset, Splits
from benchmark.datasets._summary import summarize
from benchmark.errors import DataError, UserError
from benchmark.space import Space
from benchmark.store import (DatasetRecord, RunRecord, Store, StudyRecord, mask_command, now,
                             optuna_storage, scrub)
from benchmark.suite import DatasetEntry, Suite
from benchmark.worker import DataRef


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
    # run --workers 0 --detach: created, not trained; finished later.
    detached: bool = False

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
    """Live progress of a run from the database: a bar over every trial of the
    run on a terminal, one line per finished trial everywhere (trials of remote
    workers too), and the workers' messages (final evaluations, stopped studies)."""

    def __init__(self, enabled: bool) -> None:
        import threading

        self.enabled = enabled
        self.bar: Any = None
        # Set once a trial has started: a crash before that wrote no result.
        self.trial_started = False
        # The run's trials so far: when it started, its trial and time budgets, trials done.
        self.started = 0.0
        self.total: int | None = None
        self.timeout: float | None = None
        self.done = 0
        self._lock = threading.Lock()
        self._deferred: list[str] = []
        self._seen: set[int] = set()
        self._searching: set[str] = set()

    def start(self, title: str, total: int | None, timeout: float | None = None) -> None:
        import time

        self.started, self.total, self.timeout, self.done = time.monotonic(), total, timeout, 0
        if not self.enabled:
            return
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=title, unit="trial", file=sys.stderr, disable=None,
                        dynamic_ncols=True)

    def poll(self, plan: Any, storage: Any, metric: str, n_trials: int | None) -> None:
        """Lines for the trials that finished since the last poll."""
        from optuna.trial import TrialState

        for study in plan.studies:
            study_id = storage.get_study_id_from_name(study.optuna_study)
            trials = storage.get_all_trials(study_id, deepcopy=False)
            if trials:
                self.trial_started = True
                if study.title not in self._searching:
                    self._searching.add(study.title)
                    self.write(f"{study.title}: searching ({n_trials or 'until timeout'} trials)")
            complete = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
            for trial in sorted(trials, key=lambda t: t.datetime_complete or dt.datetime.max):
                if not trial.state.is_finished() or trial._trial_id in self._seen:
                    continue
                self._seen.add(trial._trial_id)
                done_so_far = [t for t in complete if t.datetime_complete
                               and t.datetime_complete <= trial.datetime_complete]
                self._line(study.title, trial, done_so_far, metric, plan.suite.study.objective_direction)

    def _line(self, title: str, trial: Any, complete: list[Any], metric: str, direction: str) -> None:
        from optuna.trial import TrialState

        attrs = trial.user_attrs
        if trial.state == TrialState.COMPLETE:
            status = f"{metric} {trial.value:.4f}"
        elif trial.state == TrialState.PRUNED:
            status = (f"pruned after {len(attrs.get('fold_scores') or [])} fold(s)"
                      if attrs.get("fold_scores") else
                      f"pruned after {len(attrs.get('history') or [])} epoch(s)")
        else:
            status = f"FAILED: {attrs.get('error') or 'no error recorded'}"
        if complete:
            pick = max if direction == "maximize" else min
            best_trial = pick(complete, key=lambda t: t.value)
            best = f"best {best_trial.value:.4f} (#{best_trial.number})"
        else:
            best = "no completed trial yet"
        if not attrs.get("worker_died"):  # a dead worker's trial is retried, not counted
            self.done += 1
            if self.bar is not None:
                self.bar.set_postfix_str(f"{title}: {best}")
                self.bar.update()
        self.write(f"  {title}  trial {trial.number:>3}  {status:<32} {best:<28} {self.timing()}")

    def timing(self) -> str:
        """``12.3 s elapsed, ~25.0 s left``: the run's time so far and an estimate
        of the rest (the mean time per finished trial times the trials left, or
        what remains of the time budget, whichever ends first)."""
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

    def write(self, text: str) -> None:
        if not self.enabled:
            return
        with self._lock:
            if self.bar is not None:
                self.bar.write(text, file=sys.stderr)
            else:
                print(text, file=sys.stderr, flush=True)

    def message(self, text: str) -> None:
        self.write(text)

    def defer(self, text: str) -> None:
        """A worker's message, shown after the trial lines of the next poll
        (which come from the database, a little later than the message)."""
        with self._lock:
            self._deferred.append(text)

    def flush(self) -> None:
        with self._lock:
            texts, self._deferred = self._deferred, []
        for text in texts:
            self.write(text)

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
    # A data set's searched preprocessing is part of its studies' spaces: each
    # distinct kind of it once per model.
    searched: dict[str, str] = {}  # the searched steps -> the first data set with them
    for name, entry in suite.datasets.items():
        searched.setdefault(repr(entry.preprocess.searched() if entry.preprocess else {}), name)
    for index, entry in enumerate(suite.models):
        for dataset in searched.values():
            space = Space.for_study(entry.search, suite.datasets[dataset].preprocess)
            try:
                sampler = settings.sampler.create(seed=settings.seed)
            except Exception as error:  # noqa: BLE001
                raise refuse("sampler", settings.sampler.name, error) from None
            try:
                with warnings.catch_warnings():  # the real study warns, once
                    warnings.simplefilter("ignore")
                    optuna.create_study(sampler=sampler,
                                        direction=settings.objective_direction).ask(
                        space.distributions)
            except Exception as error:  # noqa: BLE001
                on = f" on datasets.{dataset}" if len(searched) > 1 else ""
                raise refuse("sampler", settings.sampler.name, error,
                             f" (asked for models[{index}]'s search space{on})") from None


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


def load_datasets(suite: Suite, origin: str = "suite") -> dict[str, Loaded]:
    """Every data set of the suite, loaded, split and checked (``validate`` uses it too)."""
    return {name: _load(name, entry, suite, origin) for name, entry in suite.datasets.items()}


class RunCancelled(UserError):
    """``cancel`` stopped the run: its workers finished their trials and exited."""

    exit_code = 5


def _prepare(store: Store, run_id: str, suite: Suite, loaded: dict[str, Loaded],
             stored_datasets: set[str], existing: dict[tuple[str, str], StudyRecord],
             reports_dir: Path) -> Any:
    """Every data set record, Optuna study and study record of the run, created
    before any worker starts (two workers creating one study race, optuna#4621)."""
    import optuna

    from benchmark.execution import RunPlan, StudyPlan

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    settings = suite.study
    storage = optuna_storage(store.url)
    studies = []
    for dataset_name, data in loaded.items():
        if dataset_name not in stored_datasets:
            with store.session() as session:
                session.add(DatasetRecord(run_id=run_id, name=dataset_name,
                                          source=suite.datasets[dataset_name].source,
                                          summary=data.summary))
        for entry in suite.models:
            study_name = f"{run_id}/{dataset_name}/{entry.label}"
            # load_if_exists: a resumed run may have created the Optuna study and
            # been killed before its record was written.
            optuna.create_study(study_name=study_name, storage=storage,
                                direction=settings.objective_direction, load_if_exists=True)
            record = existing.get((dataset_name, entry.label))
            if record is None:
                from benchmark.models.user import model_info

                with store.session() as session:
                    record = StudyRecord(run_id=run_id, dataset=dataset_name, model=entry.label,
                                         model_name=str(entry.model), optuna_study=study_name,
                                         model_info=model_info(entry.spec),
                                         metric=settings.metric,
                                         direction=settings.objective_direction,
                                         space=Space.for_study(
                                             entry.search,
                                             suite.datasets[dataset_name].preprocess).to_data())
                    session.add(record)
            studies.append(StudyPlan(record_id=record.id, dataset=dataset_name,
                                     label=entry.label, model=entry.model,
                                     optuna_study=study_name, data=data.ref,
                                     n_classes=data.dataset.n_classes,
                                     search_sample=entry.search_sample))
    from benchmark import artifacts

    return RunPlan(run_id=run_id, suite=suite, studies=studies,
                   artifacts=artifacts.resolved(suite.execution.artifacts
                                                or str(reports_dir / "artifacts")))


def _wait(store: Store, plan: Any, workers: list[Any], progress: Progress) -> None:
    """Until every study of the run is finished (by local workers or remote
    ones): progress from the database, dead workers' trials recovered, a
    cancelled run stopped. A local worker that crashed stops the run."""
    import time

    from benchmark import execution

    settings = plan.suite.study
    execution_settings = plan.suite.execution
    storage = optuna_storage(store.url)
    heartbeats = execution.storage_for(store, execution_settings.heartbeat_seconds,
                                       execution_settings.grace_seconds)
    last_recovery = time.monotonic()
    while True:
        progress.poll(plan, storage, settings.metric, settings.n_trials)
        progress.flush()
        if all(store.study_finished(study.record_id) for study in plan.studies):
            progress.poll(plan, storage, settings.metric, settings.n_trials)
            progress.flush()
            return
        for worker, thread in workers:
            if thread.errors:  # a local worker crashed (not a trial: the worker itself)
                raise thread.errors[0]
        if store.cancel_requested(plan.run_id):
            for worker, thread in workers:
                thread.join()
            raise RunCancelled(f"run {plan.run_id} was cancelled; its workers stopped after "
                               f"their trials. Finish it with: python -m benchmark run --resume "
                               f"{plan.run_id}")
        if time.monotonic() - last_recovery > execution_settings.heartbeat_seconds:
            # Remote workers recover each other's trials; with none left alive, this does.
            execution.recover(store, plan, heartbeats, execution_settings.grace_seconds)
            last_recovery = time.monotonic()
        time.sleep(0.5)


def run(suite: Suite, suite_text: str, *, storage: str, reports_dir: Path, command: str = "",
        progress: bool = True, origin: str = "suite", resume_id: str | None = None,
        workers: int | str | None = None, devices: str | None = None,
        run_id: str | None = None, detach: bool = False,
        templates: Path | None = None, process_created: float | None = None) -> RunResult:
    """Run a validated suite end to end; returns where the report landed. ``origin``
    (the suite's file) starts every error message about the suite's data. With
    ``resume_id`` (see ``resume``), that stored run is finished instead of a new one.
    ``workers``/``devices`` override the suite's execution keys; ``workers=0``
    leaves the training to ``worker`` processes, and ``detach`` then returns
    once the run and its studies exist. ``process_created``: when the calling
    process started (the command line's): its start and imports until this call
    are the run's first phase."""
    from benchmark import execution
    from benchmark.suite import Execution

    if workers is not None or devices is not None:
        update = {}
        if workers is not None:
            update["workers"] = workers
        if devices is not None:
            update["devices"] = devices
        try:
            chosen = Execution.model_validate({**suite.execution.model_dump(), **update})
        except Exception as error:  # noqa: BLE001 - pydantic's message, one line
            raise UserError(f"--devices {devices}: not a device list; valid: auto, cpu, or GPU "
                            f"indices such as 0,1") from error
        suite = suite.model_copy(update={"execution": chosen})
    placement = execution.place(suite.execution.workers, suite.execution.devices,
                                suite.execution.threads_per_worker)
    if detach and placement.workers:
        raise UserError("--detach needs --workers 0: local workers would be orphaned when run "
                        "returns (start `python -m benchmark worker RUN_ID` processes instead)")
    if run_id is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", run_id):
        raise UserError(f"--id {run_id!r}: a run id is 1 to 64 letters, digits, '.', '_' or "
                        f"'-', starting with a letter or digit")
    # Seconds per phase of this process (benchmark.phases), stored with the run.
    spent: dict[str, float] = ({} if process_created is None
                               else {"process start": time.time() - process_created})
    # Load every data set first: a data error must stop the run before anything is written.
    with phases.timed("data load", spent):
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
    running_here = {"workers": placement.workers, "placement": placement.why,
                    "detached": detach}
    if resume_id is None:
        if run_id is not None and store.suite_of(run_id) is not None:
            raise UserError(f"--id {run_id}: a run with this id is already stored in "
                            f"{store.shown}; choose another")
        run_id = run_id or store.new_run_id()
        run_dir = reports_dir / suite.name / run_id
        # Removed again (when empty) if the run fails before its first trial.
        created = [folder for folder in (reports_dir, run_dir.parent) if not folder.exists()]
        run_dir.mkdir(parents=True)
        (run_dir / "suite.yaml").write_text(suite_text)
        from benchmark.models.user import suite_code_hashes

        # The source of the suite's python: user code, so that compare names a change.
        user_code = suite_code_hashes(suite)
        with store.session() as session:
            session.add(RunRecord(id=run_id, suite_name=suite.name, suite_yaml=suite_text,
                                  suite=suite.to_json(), suite_hash=suite.hash(),
                                  seed=suite.study.seed, status="running", command=command,
                                  environment={**environment.capture(origin), **running_here,
                                               **({"user_code": user_code} if user_code else {})},
                                  phases=_rounded(spent), started_at=now()))
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
            record.cancel_requested_at = None
            record.phases = _rounded(phases.merge(record.phases, spent))
            record.command = mask_command(record.command or "")  # stored by an older version
            # This process now owns the run (so a second kill is detected too).
            record.environment = {**record.environment, **environment.process_identity(),
                                  "workers": max(placement.workers,
                                                 record.environment.get("workers", 1)),
                                  "detached": False}
    report = Progress(progress)
    report.message(f"run {run_id}: {len(suite.datasets)} dataset(s) x {len(suite.models)} model(s), "
                   f"database {store.shown}" + (" (resumed)" if resume_id else "")
                   + (f", {placement.workers} worker(s) here" if placement.workers != 1 else ""))
    status, error = "failed", None
    empty: tuple[tuple[str, str, str], ...] = ()
    n_pairs = 0
    started: list[Any] = []
    try:
        plan = _prepare(store, run_id, suite, loaded, stored_datasets, existing, reports_dir)
        if resume_id is not None:
            # Trials that the interruption cut short (their worker's process is gone)
            # are failed now and retried; those of live workers elsewhere go on.
            heartbeats = execution.storage_for(store, suite.execution.heartbeat_seconds,
                                               suite.execution.grace_seconds)
            execution.adopt(store, plan, heartbeats)
            execution.recover(store, plan, heartbeats, suite.execution.grace_seconds)
        if detach:
            status = "running"
            report.message(f"run {run_id} created; start workers with: python -m benchmark "
                           f"worker {run_id} --storage {store.shown}")
            return RunResult(run_id, run_dir, run_dir / "report.html", run_dir / "report.pdf",
                             detached=True)
        pairs = len(plan.studies)
        total = suite.study.n_trials * pairs if suite.study.n_trials else None
        timeout = (suite.study.timeout * -(-pairs // max(placement.workers, 1))
                   if suite.study.timeout and not total else None)
        report.start(f"{pairs} stud{'y' if pairs == 1 else 'ies'}", total, timeout)
        started = execution.start_workers(
            store, plan, placement, log_path=str(run_dir / "worker.log"),
            on_event=lambda event: report.defer(event.text) if event.text else None)
        _wait(store, plan, started, report)
        for worker, thread in started:
            thread.join()
        empty, n_pairs = _empty_pairs(store, run_id)
        if empty and len(empty) == n_pairs:
            # Stored as failed, so that no nightly takes it as its baseline.
            error = f"no (data set, model) pair produced a result: {describe_pairs(empty)}"
        else:
            status = "finished"
    except RunCancelled as exc:
        status, error = "cancelled", str(exc)
        raise
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
        report.close()
        for worker, thread in started:
            worker.stop()  # an interrupted run must not wait for trials in flight
        with store.session() as session:
            record = session.get(RunRecord, run_id)
            record.status, record.error = status, error
            if status != "running":
                record.finished_at = now()

    from benchmark.report import context as report_context
    from benchmark.report import render_run

    report.message("rendering the report")
    rendering: dict[str, float] = {}
    with phases.timed("report", rendering):
        ctx = report_context.build(store, run_id)  # once, for the report and results.json/csv
        from benchmark.templating import templates_of

        html, pdf = render_run(store, run_id, run_dir, ctx,
                               templates=templates_of(suite, origin, templates))
    with store.session() as session:
        # Known only now, so the report cannot list it; kept with the run.
        record = session.get(RunRecord, run_id)
        record.phases = _rounded(phases.merge(record.phases, rendering))
    report.message(f"report rendered in {rendering['report']:.1f} s")
    summary = _write_results(store, run_id, run_dir, ctx)
    _point_latest(run_dir, storage)
    return RunResult(run_id, run_dir, html, pdf, empty, n_pairs, tuple(summary))


def _rounded(spent: dict[str, float]) -> dict[str, float]:
    return {name: round(seconds, 3) for name, seconds in spent.items()}


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


def resume(storage: str, run_id: str, *, reports_dir: Path, progress: bool = True,
           workers: int | str | None = None, devices: str | None = None) -> RunResult:
    """Finish an interrupted, cancelled or detached run: completed trials and
    pairs are kept (and counted once), trials the interruption cut short are
    failed and retried, the rest runs; then the report is rendered."""
    from benchmark import suite as suite_module

    store = Store(storage, create=False)  # marks the run interrupted if its process is gone
    record = store.resolve(run_id)
    if record.status == "finished":
        raise UserError(f"run {record.id} already finished; nothing to resume")
    if record.status == "running" and not record.environment.get("detached"):
        raise UserError(f"run {record.id} is still running (pid {record.environment.get('pid')} "
                        f"on {record.environment.get('hostname')}); wait for it, or stop it first")
    suite = suite_module.parse(record.suite, origin=f"run {record.id}")
    return run(suite, record.suite_yaml, storage=storage,
               reports_dir=reports_dir, command=record.command, progress=progress,
               origin=f"run {record.id}", resume_id=record.id, workers=workers,
               devices=devices)


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
