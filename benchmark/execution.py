"""Workers over one database: trials of every study of a run trained by
several workers at once, on this machine and on others, through Optuna's RDB
storage (its "easy parallelization" pattern).

A worker is a thread that loops: claim a budget slot of the first study that
has one free (``bench_slots``: the budget is exact across machines, where
Optuna's MaxTrialsCallback overshoots, optuna#3518), ask Optuna for the trial
with the worker's own seeded sampler, hand it to the worker's own training
process (``search.WorkerPool``: spawned, one device, capped threads), tell the
result. A heartbeat thread keeps each running trial alive in Optuna's storage;
whoever looks next fails a trial whose heartbeat stopped (its worker died),
gives its slot back and retries its parameters once. When a study's budget is
spent and none of its trials runs, one worker claims its final evaluation (a
lease in ``bench_studies`` that a dead claimant loses) and records it.

Threads suffice: a worker thread only waits on its training process and on the
database; TensorFlow never runs in their process.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import sys
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import and_, delete, select, update

from benchmark import phases
from benchmark.errors import UserError
from benchmark.space import Space
from benchmark.store import (EvaluationRecord, RunRecord, SlotRecord, Store, StudyRecord,
                             WorkerRecord, now)
from benchmark.worker import DataRef, EvaluationTask, Outcome, TrialTask

# --------------------------------------------------------------------- plans


@dataclass(frozen=True)
class Placement:
    """How many workers run here, each one's CUDA_VISIBLE_DEVICES ("" hides
    every GPU; None leaves the variable as it is) and CPU threads (None: no cap)."""

    workers: int
    devices: tuple[str | None, ...]
    threads: int | None
    why: str  # one line: how the numbers were chosen (progress, status)


# Threads per worker for ``workers: auto`` on a machine without GPUs: small
# convolutional networks gain little from more than two threads per trial, and
# two keeps BLAS's and TensorFlow's pools from fighting over cores.
AUTO_THREADS = 2


def visible_gpus() -> list[str]:
    """GPU indices this machine shows, without importing TensorFlow: the
    CUDA_VISIBLE_DEVICES list when set, else ``nvidia-smi -L``'s lines."""
    given = os.environ.get("CUDA_VISIBLE_DEVICES")
    if given is not None:
        return [part for part in given.split(",") if part.strip() and part.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [str(i) for i, line in enumerate(listed.stdout.splitlines()) if line.startswith("GPU")]


def place(workers: int | str, devices: str | list[int], threads: int | None) -> Placement:
    """Workers, their devices and threads for this machine."""
    cores = os.cpu_count() or 1
    gpus = visible_gpus() if devices == "auto" else []
    if workers == "auto":
        if devices == "auto" and gpus:
            count, why = len(gpus), f"auto: one worker per visible GPU ({len(gpus)})"
        elif isinstance(devices, list):
            count, why = len(devices), f"auto: one worker per listed GPU ({len(devices)})"
        else:
            per = threads or AUTO_THREADS
            count = max(1, cores // per)
            why = f"auto: {cores} cores / {per} threads per worker"
    else:
        count, why = int(workers), f"{workers} worker(s)"
    if isinstance(devices, list):
        assigned: tuple[str | None, ...] = tuple(str(devices[i % len(devices)]) for i in range(count))
    elif devices == "cpu":
        assigned = ("",) * count
    elif gpus:
        assigned = tuple(gpus[i % len(gpus)] for i in range(count))
    else:
        assigned = (None,) * count
    if threads is None and count > 1 and not any(assigned):
        threads = max(1, cores // count)  # CPU workers share the cores
    return Placement(count, assigned, threads, why)


def sampler_seed(run_seed: int, identity: str) -> int:
    """Each worker's own sampler seed, so that two machines do not propose the
    same first trials; the run's first local worker keeps the run's seed
    (``workers: 1`` proposes exactly what a one-process run did)."""
    if identity == "":
        return run_seed
    digest = hashlib.sha256(f"{run_seed}/{identity}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 2**31


# ------------------------------------------------------------------- studies


@dataclass(frozen=True)
class StudyPlan:
    """One (dataset, model) study of a run, as every worker sees it."""

    record_id: int
    dataset: str
    label: str
    model: str
    optuna_study: str
    data: DataRef
    n_classes: int
    search_sample: int | None

    @property
    def title(self) -> str:
        return f"{self.dataset} / {self.label}"


@dataclass
class RunPlan:
    run_id: str
    suite: Any  # benchmark.suite.Suite
    studies: list[StudyPlan]
    # By (data set, model label): a data set's searched preprocessing is part of
    # its studies' spaces.
    spaces: dict[tuple[str, str], Space] = field(default_factory=dict)
    # The artifact store's folder, where each study's selected model is saved.
    artifacts: str | None = None

    def space(self, study: StudyPlan) -> Space:
        key = (study.dataset, study.label)
        if key not in self.spaces:
            entry = next(m for m in self.suite.models if m.label == study.label)
            self.spaces[key] = Space.for_study(entry.search,
                                               self.suite.datasets[study.dataset].preprocess)
        return self.spaces[key]


def storage_for(store: Store, heartbeat: int, grace: int) -> Any:
    """Optuna's storage with heartbeats on (a small pool: 32 workers stay under
    PostgreSQL's max_connections; connections pre-pinged: an hour-long trial
    outlives the server's idle timeout, optuna#1347, #5600)."""
    import optuna

    from benchmark.store import engine_options

    with warnings.catch_warnings():  # "heartbeat_interval is experimental": we rely on it
        warnings.simplefilter("ignore")
        return optuna.storages.RDBStorage(store.url, engine_kwargs=engine_options(store.url),
                                          heartbeat_interval=heartbeat, grace_period=grace,
                                          heartbeat_stale_trial_callback=_retry_once)


def _retry_once(study: Any, trial: Any) -> None:
    """Optuna calls this for each trial it failed for a stopped heartbeat: its
    parameters are tried again, once (a retry that dies too is not retried)."""
    if "retry_of" in trial.user_attrs:
        return
    study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number},
                        skip_if_exists=False)


# ------------------------------------------------------------ the repository


def _owner_died(store: Store, worker_ids: set[str], grace: int) -> set[str]:
    """Of these worker ids, those that are dead: a process of this host that
    no longer exists (seen at once), or any worker whose heartbeat is older
    than ``grace`` seconds."""
    from benchmark.store import process_alive

    if not worker_ids:
        return set()
    dead = set()
    limit = now() - dt.timedelta(seconds=grace)
    with store.session() as session:
        for record in session.scalars(select(WorkerRecord).where(WorkerRecord.id.in_(worker_ids))):
            beat = _aware(record.heartbeat_at)
            if record.finished_at is not None or beat < limit:
                dead.add(record.id)
            elif record.hostname == platform.node() and not process_alive(
                    record.pid, created=record.pid_created):
                dead.add(record.id)
        known = set(session.scalars(select(WorkerRecord.id).where(WorkerRecord.id.in_(worker_ids))))
    return dead | (worker_ids - known)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def recover(store: Store, plan: RunPlan, storage: Any, grace: int) -> int:
    """Trials whose worker died are failed ('its worker died'), their slots given
    back and their parameters retried once; slots claimed by a dead worker before
    its ask are given back. Returns how many trials were failed. Safe to run from
    any process at any time."""
    import optuna
    from optuna.trial import TrialState

    failed = 0
    for study_plan in plan.studies:
        study_id = storage.get_study_id_from_name(study_plan.optuna_study)
        running = storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,))
        owners = {str(t.user_attrs.get("worker")) for t in running if t.user_attrs.get("worker")}
        dead = _owner_died(store, owners, grace)
        stale = set(storage._get_stale_trial_ids(study_id))
        for trial in running:
            owner = trial.user_attrs.get("worker")
            if trial._trial_id not in stale and owner not in dead:
                continue
            try:
                storage.set_trial_user_attr(
                    trial._trial_id, "error",
                    f"interrupted: its worker died (no heartbeat for {grace} s, or its process "
                    f"ended): "
                    f"{owner or 'unknown worker'}; the parameters are retried once")
                storage.set_trial_user_attr(trial._trial_id, "worker_died", True)
                if storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
                    failed += 1
                    study = optuna.load_study(study_name=study_plan.optuna_study, storage=storage)
                    _retry_once(study, storage.get_trial(trial._trial_id))
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # it finished after all, or another process failed it first
            with store.session() as session:
                session.execute(delete(SlotRecord).where(and_(
                    SlotRecord.study_id == study_plan.record_id,
                    SlotRecord.trial_id == trial._trial_id)))
        # Slots claimed and never asked for, by a worker that is gone.
        with store.session() as session:
            pending = session.scalars(select(SlotRecord).where(and_(
                SlotRecord.study_id == study_plan.record_id, SlotRecord.trial_id.is_(None)))).all()
            gone = _owner_died(store, {slot.worker for slot in pending}, grace)
            for slot in pending:
                if slot.worker in gone:
                    session.delete(slot)
    return failed


def adopt(store: Store, plan: RunPlan, storage: Any) -> None:
    """A resumed run's trials from before workers had slots (a run written by
    format 2, or killed before this version): a trial left running by the dead
    process is failed ('interrupted') and its parameters retried once; every
    finished trial that counts gets its budget slot, so that the budget stays
    exact."""
    import optuna
    from optuna.trial import TrialState

    for study_plan in plan.studies:
        study_id = storage.get_study_id_from_name(study_plan.optuna_study)
        for trial in storage.get_all_trials(study_id, deepcopy=False,
                                            states=(TrialState.RUNNING,)):
            if trial.user_attrs.get("worker"):
                continue  # a worker's trial: recover() judges it by its heartbeat
            try:
                storage.set_trial_user_attr(trial._trial_id, "error",
                                            "interrupted: the run was stopped during this trial")
                storage.set_trial_user_attr(trial._trial_id, "worker_died", True)
                storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
            except optuna.exceptions.UpdateFinishedTrialError:
                continue
            study = optuna.load_study(study_name=study_plan.optuna_study, storage=storage)
            _retry_once(study, storage.get_trial(trial._trial_id))
        with store.session() as session:
            slots = session.scalars(select(SlotRecord).where(
                SlotRecord.study_id == study_plan.record_id)).all()
            owned = {slot.trial_id for slot in slots}
            taken = {slot.slot for slot in slots}
            free = (n for n in range(10**9) if n not in taken)
            for trial in storage.get_all_trials(study_id, deepcopy=False):
                error = str(trial.user_attrs.get("error") or "")
                if (not trial.state.is_finished() or trial._trial_id in owned
                        or trial.user_attrs.get("worker_died") or error.startswith("interrupted:")):
                    continue
                session.add(SlotRecord(study_id=study_plan.record_id, slot=next(free),
                                       worker="adopted", trial_id=trial._trial_id,
                                       claimed_at=now()))




# ------------------------------------------------------------------- workers


@dataclass
class Event:
    """What a worker did, for the run's progress display."""

    kind: str  # "trial", "final", "message"
    study: StudyPlan | None = None
    trial: Any = None
    outcome: Outcome | None = None
    text: str = ""


class Heartbeat(threading.Thread):
    """Every ``interval`` seconds: the worker's row, its running trial's
    heartbeat in Optuna's storage, the lease of a final evaluation it holds."""

    def __init__(self, store: Store, storage: Any, worker: str, interval: int, lease: float) -> None:
        super().__init__(daemon=True, name=f"heartbeat-{worker}")
        self.store, self.storage, self.worker = store, storage, worker
        self.interval, self.lease = interval, lease
        self.trial_id: int | None = None
        self.final_study: int | None = None
        self.stopped = threading.Event()

    def beat(self) -> None:
        moment = now()
        with self.store.session() as session:
            session.execute(update(WorkerRecord).where(WorkerRecord.id == self.worker)
                            .values(heartbeat_at=moment))
            if self.final_study is not None:
                session.execute(update(StudyRecord).where(and_(
                    StudyRecord.id == self.final_study, StudyRecord.final_owner == self.worker))
                    .values(final_lease_until=moment + dt.timedelta(seconds=self.lease)))
        trial_id = self.trial_id
        if trial_id is not None:
            self.storage.record_heartbeat(trial_id)

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - a database hiccup; the next beat retries
                traceback.print_exc()


class Worker:
    """One worker: trains trials of ``plan``'s studies until every study is
    finished (or the run is cancelled), with its own training process."""

    def __init__(self, store: Store, plan: RunPlan, *, identity: str, device: str | None,
                 threads: int | None, log_path: str | None,
                 on_event: Callable[[Event], None] = lambda event: None) -> None:
        from benchmark import environment

        execution = plan.suite.execution
        self.store, self.plan, self.on_event = store, plan, on_event
        self.device, self.threads = device, threads
        self.id = f"{platform.node()}:{os.getpid()}:{identity or 'main'}:{uuid.uuid4().hex[:6]}"
        self.seed = sampler_seed(plan.suite.study.seed, identity)
        self.heartbeat_seconds = execution.heartbeat_seconds
        self.grace = execution.grace_seconds
        self.storage = storage_for(store, self.heartbeat_seconds, self.grace)
        self.log_path = log_path
        self.studies: dict[str, Any] = {}
        self.trials = 0
        # Seconds per phase (benchmark.phases), stored on its record when it stops.
        self.phases: dict[str, float] = {}
        identity_now = environment.process_identity()
        env = environment.capture(None)
        with store.session() as session:
            session.add(WorkerRecord(
                id=self.id, run_id=plan.run_id, hostname=platform.node(), pid=os.getpid(),
                pid_created=identity_now["pid_created"],
                devices="" if device is None else device, threads=threads,
                machine={**environment.machine(env), "device": None},
                started_at=now(), heartbeat_at=now()))
        self.heartbeat = Heartbeat(store, self.storage, self.id, self.heartbeat_seconds, self.grace)
        self.pool: Any = None
        self.stopping = threading.Event()

    def stop(self) -> None:
        """Stops at once: the trial in flight is abandoned (its training process
        is terminated; the heartbeat stops, so it is failed and retried later)."""
        self.stopping.set()
        pool = self.pool
        if pool is not None:
            pool.terminate()

    # -- Optuna
    def _study(self, study: StudyPlan) -> Any:
        import optuna

        if study.optuna_study not in self.studies:
            settings = self.plan.suite.study
            self.studies[study.optuna_study] = optuna.load_study(
                study_name=study.optuna_study, storage=self.storage,
                sampler=settings.sampler.create(seed=self.seed), pruner=settings.pruner.create())
        return self.studies[study.optuna_study]

    def _environment(self) -> dict[str, str]:
        env = {}
        if self.device is not None:
            env["CUDA_VISIBLE_DEVICES"] = self.device
        if self.threads is not None:
            for name in ("BENCHMARK_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                         "MKL_NUM_THREADS"):
                env[name] = str(self.threads)
        return env

    def _tasks_per_process(self) -> int | None:
        """execution.trials_per_worker when a model of the run trains with
        TensorFlow, whose process keeps memory from each fitted model; else
        None: a scikit-learn process keeps nothing, and replacing it would only
        pay its start and data loading again (seconds per replacement)."""
        from benchmark.families import family_of
        from benchmark.models import models

        for study in self.plan.studies:
            try:
                if family_of(models.get(study.model)).uses_tensorflow:
                    return self.plan.suite.execution.trials_per_worker
            except Exception:  # noqa: BLE001 - unknown here: keep the safe default
                return self.plan.suite.execution.trials_per_worker
        return None

    # -- the loop
    def work(self) -> None:
        from benchmark.search import WorkerPool

        self.heartbeat.start()
        try:
            with WorkerPool(self._tasks_per_process(), self.log_path,
                            env=self._environment()) as pool:
                self.pool = pool
                self._loop(pool)
        finally:
            self.heartbeat.stopped.set()
            with self.store.session() as session:
                session.execute(update(WorkerRecord).where(WorkerRecord.id == self.id)
                                .values(finished_at=now(), heartbeat_at=now(), trials=self.trials,
                                        phases={k: round(v, 3) for k, v in self.phases.items()}))

    def _loop(self, pool: Any) -> None:
        settings = self.plan.suite.study
        last_recovery = 0.0
        while not self.stopping.is_set():
            if self.store.cancel_requested(self.plan.run_id):
                return
            if time.monotonic() - last_recovery >= self.heartbeat_seconds:
                recover(self.store, self.plan, self.storage, self.grace)
                last_recovery = time.monotonic()
            busy = False
            finished = 0
            for study in self.plan.studies:
                if self.store.study_finished(study.record_id):
                    finished += 1
                    continue
                with phases.timed("database", self.phases):
                    if settings.budget == "equal_time":
                        # The budget is summed training time, not the study's wall clock.
                        slot = (None if self._trial_seconds(study) >= settings.timeout else
                                self.store.claim_slot(study.record_id, settings.n_trials, None,
                                                      self.id))
                    else:
                        slot = self.store.claim_slot(study.record_id, settings.n_trials,
                                                     settings.timeout, self.id)
                if slot is not None:
                    self._trial(pool, study, slot)
                    busy = True
                    break
                if not self._idle(study):
                    continue  # its last trials still run (here or elsewhere)
                if self.store.claim_evaluation(study.record_id, self.id, self.grace):
                    self._final(pool, study)
                    busy = True
                    break
            if finished == len(self.plan.studies):
                return
            if not busy:
                time.sleep(min(1.0, self.heartbeat_seconds))

    def _trial_seconds(self, study: StudyPlan) -> float:
        """The study's summed training time (study.budget: equal_time): the
        model fitting of every finished trial, pruned and failed ones included,
        as its worker measured it. Not the trials' wall time, which includes a
        training process's start and imports, paid by whichever trial comes
        first; trials in flight are not counted yet, so workers overshoot the
        budget by at most the trials they are running."""
        study_id = self.storage.get_study_id_from_name(study.optuna_study)
        return sum(float(t.user_attrs.get("fit_seconds") or 0.0)
                   for t in self.storage.get_all_trials(study_id, deepcopy=False)
                   if t.state.is_finished())

    def _idle(self, study: StudyPlan) -> bool:
        """No trial of the study runs and no slot waits for its ask."""
        from optuna.trial import TrialState

        study_id = self.storage.get_study_id_from_name(study.optuna_study)
        if self.storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
            return False
        with self.store.session() as session:
            return session.scalar(select(SlotRecord.slot).where(and_(
                SlotRecord.study_id == study.record_id, SlotRecord.trial_id.is_(None)))) is None

    def _trial(self, pool: Any, study: StudyPlan, slot: int) -> None:
        import optuna
        from optuna.trial import TrialState

        settings = self.plan.suite.study
        space = self.plan.space(study)
        with phases.timed("database", self.phases):
            optuna_study = self._study(study)
            with warnings.catch_warnings():
                # "Heartbeat of storage is supposed to be used with Study.optimize": the
                # heartbeat thread above records it instead (Optuna records it only there).
                warnings.simplefilter("ignore")
                trial = optuna_study.ask(space.distributions)
            self.heartbeat.trial_id = trial._trial_id
            self.storage.record_heartbeat(trial._trial_id)
            with self.store.session() as session:
                session.execute(update(SlotRecord).where(and_(
                    SlotRecord.study_id == study.record_id, SlotRecord.slot == slot))
                    .values(trial_id=trial._trial_id))
            for name, value in {**{f"fixed:{k}": v for k, v in space.fixed.items()},
                                "worker": self.id, "host": platform.node(), "slot": slot,
                                "cuda_visible_devices": self.device,
                                "threads": self.threads}.items():
                trial.set_user_attr(name, value)
        task = TrialTask(storage_url=self.store.url, study_name=study.optuna_study,
                         trial_id=trial._trial_id, pruner=settings.pruner.model_dump(),
                         model=study.model, params={**space.fixed, **trial.params},
                         data=study.data, metric=settings.metric, seed=settings.seed + trial.number,
                         cv_folds=settings.cv_folds, search_sample=study.search_sample,
                         threshold=settings.threshold)
        from benchmark import worker

        outcome = timed_call(pool, worker.run_trial, task, self.phases,
                             timeout=settings.trial_timeout)
        if self.stopping.is_set():
            return  # stopped (Ctrl-C, SIGTERM): left running, failed and retried on resume
        with phases.timed("database", self.phases):
            try:
                _record(self.storage, trial, outcome)
                if outcome.state == "complete":
                    optuna_study.tell(trial, outcome.value)
                elif outcome.state == "pruned":
                    optuna_study.tell(trial, state=TrialState.PRUNED)
                else:
                    optuna_study.tell(trial, state=TrialState.FAIL)
            except (optuna.exceptions.UpdateFinishedTrialError, RuntimeError, ValueError) as error:
                # Another process failed it for a stopped heartbeat (this machine
                # stalled); its retry runs elsewhere and this result is dropped.
                print(f"trial {trial.number} of {study.title}: result dropped ({error})",
                      file=sys.stderr)
            finally:
                self.heartbeat.trial_id = None
        self.trials += 1
        with self.store.session() as session:
            session.execute(update(WorkerRecord).where(WorkerRecord.id == self.id)
                            .values(trials=self.trials))
        if settings.max_consecutive_failures and outcome.state == "fail":
            self._maybe_stop(study, settings.max_consecutive_failures)
        self.on_event(Event("trial", study, trial, outcome))

    def _maybe_stop(self, study: StudyPlan, limit: int) -> None:
        from optuna.trial import TrialState

        study_id = self.storage.get_study_id_from_name(study.optuna_study)
        done = [t for t in self.storage.get_all_trials(study_id, deepcopy=False)
                if t.state.is_finished() and not t.user_attrs.get("worker_died")]
        done.sort(key=lambda t: t.datetime_complete or dt.datetime.min)
        last = done[-limit:]
        if len(last) < limit or any(t.state != TrialState.FAIL for t in last):
            return
        error = str(last[-1].user_attrs.get("error") or "no error recorded").strip()
        first = error.splitlines()[0][:160] if error else ""
        why = (f"stopped after {limit} failed trials in a row "
               f"(study.max_consecutive_failures); the last: {first}")
        with self.store.session() as session:
            session.execute(update(StudyRecord).where(and_(
                StudyRecord.id == study.record_id, StudyRecord.stopped.is_(None)))
                .values(stopped=why))
        self.on_event(Event("message", study, text=f"{study.title}: {why}"))

    def _final(self, pool: Any, study: StudyPlan) -> None:
        self.heartbeat.final_study = study.record_id
        try:
            finalize(self.store, self.plan, study, self._study(study), pool, self.id,
                     self.on_event, self.phases)
        finally:
            self.heartbeat.final_study = None


def timed_call(pool: Any, function: Callable[[Any], Outcome], task: Any,
               totals: dict[str, float] | None, timeout: float | None = None) -> Outcome:
    """``pool.call``, adding the training process's phases to ``totals`` and
    the rest of the round trip (process communication, pickling, a process
    replaced) to its "other"."""
    started = time.perf_counter()
    outcome = pool.call(function, task, timeout=timeout)
    if totals is not None:
        spent = phases.merge(outcome.phases)
        for name, seconds in spent.items():
            phases.add(name, seconds, totals)
        phases.add("other", time.perf_counter() - started - sum(spent.values()), totals)
    return outcome


def _record(storage: Any, trial: Any, outcome: Outcome) -> None:
    """A trial's outcome as user attributes (curves, metrics, memory, device)."""
    import psutil

    attrs = {"history": outcome.history, "metrics": outcome.metrics,
             "fit_seconds": outcome.fit_seconds,
             # Memory of both processes after each trial: how a leak would show.
             "worker_rss_mib": round(outcome.rss_mib, 1),
             "main_rss_mib": round(psutil.Process().memory_info().rss / 2**20, 1),
             "device": outcome.device or None}
    if outcome.threshold is not None:
        attrs["threshold"] = outcome.threshold
    if outcome.fold_scores:
        attrs["fold_scores"] = outcome.fold_scores
    if outcome.n_params is not None:
        attrs["n_params"] = outcome.n_params
    if outcome.error:
        attrs["error"] = outcome.error
    for name, value in attrs.items():
        trial.set_user_attr(name, value)




def finalize(store: Store, plan: RunPlan, study: StudyPlan, optuna_study: Any, pool: Any,
             owner: str, on_event: Callable[[Event], None],
             totals: dict[str, float] | None = None) -> None:
    """The study's final evaluations (``evaluation.repeats`` refits of its best
    configuration, scored once on the test split), recorded in one transaction
    by the holder of its lease. ``totals`` gathers their phases' seconds."""
    from sklearn.metrics import confusion_matrix

    from benchmark import worker
    from benchmark.metrics import predict_labels, score_all

    suite = plan.suite
    settings = suite.study
    space = plan.space(study)
    trials = optuna_study.get_trials(deepcopy=False)
    evaluations: list[EvaluationRecord] = []
    error = None
    try:
        best = optuna_study.best_trial
    except ValueError:
        best, error = None, "no trial completed, so there is no configuration to evaluate"
        error += why_no_trial(trials)
    best_params = {**space.fixed, **best.params} if best else None
    if best is not None:
        for repeat in range(suite.evaluation.repeats):
            seed = settings.seed + 10_000 + repeat
            on_event(Event("message", study, text=(
                f"{study.title}: final evaluation {repeat + 1}/{suite.evaluation.repeats} "
                f"of trial #{best.number}")))
            if pool.stopped():
                return  # the run was stopped: the lease runs out, a resume evaluates
            save_to = (tempfile.mkdtemp(prefix="benchmark-selected-")
                       if repeat == 0 and plan.artifacts else None)
            outcome = timed_call(pool, worker.run_evaluation, EvaluationTask(
                model=study.model, params=best_params, data=study.data, metric=settings.metric,
                seed=seed, threshold=settings.threshold, cv_folds=settings.cv_folds,
                save_to=save_to), totals)
            saved = _keep(plan, optuna_study, study, outcome) if save_to else None
            if save_to:
                shutil.rmtree(save_to, ignore_errors=True)
            if outcome.state != "complete":
                error = f"final evaluation failed: {outcome.error}"
                break
            y_true, proba = np.asarray(outcome.y_true), np.asarray(outcome.proba)
            evaluations.append(EvaluationRecord(
                repeat=repeat, seed=seed, metrics=score_all(y_true, proba, outcome.threshold),
                confusion=confusion_matrix(y_true, predict_labels(proba, outcome.threshold),
                                           labels=range(study.n_classes)).tolist(),
                history=outcome.history, n_params=outcome.n_params,
                fit_seconds=outcome.fit_seconds, threshold=outcome.threshold,
                architecture=outcome.architecture, host=platform.node(),
                device=outcome.device or None, cost=outcome.cost, saved=saved,
                # Test predictions, for ROC/PR curves and paired tests between models.
                # With what the threshold was tuned on (the report states its positives).
                predictions={"y_true": y_true.tolist(),
                             "proba": np.round(proba, 6).tolist(),
                             **({"threshold_tuned_on": outcome.threshold_data}
                                if outcome.threshold_data else {})}))
            _note_device(store, plan.run_id, outcome.device)
    curve = (_learning_curve(plan, study, best_params, evaluations, pool, totals, on_event)
             if best is not None and not error and suite.evaluation.learning_curve else None)
    entry = next(m for m in suite.models if m.label == study.label)
    ablation = (_ablation(plan, study, entry, best_params, evaluations, pool, totals, on_event)
                if best is not None and not error and entry.ablation else None)
    if pool.stopped():
        return  # stopped during the curve or the ablation: a resume evaluates again
    with store.session() as session:
        record = session.get(StudyRecord, study.record_id, with_for_update=True)
        if record.final_owner != owner or record.search_seconds is not None:
            return  # the lease ran out and another worker took over
        record.search_seconds = search_seconds(trials)
        record.best_trial = best.number if best else None
        record.best_params = best_params
        record.error = error
        record.learning_curve = curve
        record.ablation = ablation
        for evaluation in evaluations:
            evaluation.study_id = record.id
            session.add(evaluation)
    on_event(Event("final", study, text=f"{study.title}: {error}" if error else ""))


def _learning_curve(plan: RunPlan, study: StudyPlan, params: dict[str, Any],
                    evaluations: list[EvaluationRecord], pool: Any,
                    totals: dict[str, float] | None,
                    on_event: Callable[[Event], None]) -> list[dict[str, Any]] | None:
    """evaluation.learning_curve: the selected configuration refitted on each
    fraction of the training split, ``repeats`` times with the final refits'
    seeds, scored on the test split; the whole split is the final refits'
    own scores. A point whose fit fails is left out, with its error."""
    from benchmark import worker

    suite = plan.suite
    settings = suite.study
    points = []
    for fraction in suite.evaluation.learning_curve:
        if fraction >= 1:
            continue
        on_event(Event("message", study, text=f"{study.title}: learning curve at "
                                              f"{fraction:g} of the training split"))
        scores, samples, failed = [], None, None
        for repeat in range(suite.evaluation.repeats):
            if pool.stopped():
                return None
            outcome = timed_call(pool, worker.run_evaluation, EvaluationTask(
                model=study.model, params=params, data=study.data, metric=settings.metric,
                seed=settings.seed + 10_000 + repeat, fraction=fraction), totals)
            if outcome.state != "complete":
                failed = outcome.error
                break
            scores.append(outcome.metrics.get(settings.metric))
            samples = outcome.samples
        points.append({"fraction": fraction, "samples": samples, "scores": scores,
                       **({"error": failed} if failed else {})})
    points.append({"fraction": 1.0, "samples": None,  # the whole training split
                   "scores": [e.metrics.get(settings.metric) for e in evaluations]})
    return points


def _ablation(plan: RunPlan, study: StudyPlan, entry: Any, params: dict[str, Any],
              evaluations: list[EvaluationRecord], pool: Any,
              totals: dict[str, float] | None,
              on_event: Callable[[Event], None]) -> list[dict[str, Any]] | None:
    """The model's ``ablation.factors``, one at a time around ``params`` (the
    selected or base configuration): each level that differs from the base is
    refitted ``evaluation.repeats`` times with the final refits' seeds (so
    repeat k of every level pairs with repeat k of the base) and scored on the
    test split as the final evaluation is (its threshold tuned the same way).
    The base's own scores are the final refits'. A level whose fit fails keeps
    its error and the scores it had."""
    from benchmark import worker
    from benchmark.metrics import score_all
    from benchmark.space import same_value
    from benchmark.suite import PREPROCESS_PREFIX, SEARCHABLE_STEPS

    suite = plan.suite
    settings = suite.study
    preprocess = suite.datasets[study.dataset].preprocess
    # Each factor's base: its value in the configuration, else the model's default
    # (a preprocess.* factor: the data set's step as declared).
    defaults = {**entry.parameter_defaults(),
                **{PREPROCESS_PREFIX + step: getattr(preprocess, step, None)
                   for step in SEARCHABLE_STEPS}}
    bases = {name: params.get(name, defaults.get(name)) for name in entry.ablation.factors}
    todo = [(name, level) for name, levels in entry.ablation.factors.items() for level in levels
            if not same_value(level, bases[name])]  # the base itself: its final refits
    base_row = {"base": True, "scores": [e.metrics.get(settings.metric) for e in evaluations],
                "fit_seconds": [e.fit_seconds for e in evaluations]}
    rows: dict[str, list[dict[str, Any]]] = {name: [{"level": base, **base_row}]
                                             for name, base in bases.items()}
    for done, (name, level) in enumerate(todo, start=1):
        on_event(Event("message", study, text=(
            f"{study.title}: ablation {done}/{len(todo)}, {name} = {level!r}")))
        scores, fit_seconds, failed = [], [], None
        for repeat in range(suite.evaluation.repeats):
            if pool.stopped():
                return None
            outcome = timed_call(pool, worker.run_evaluation, EvaluationTask(
                model=study.model, params={**params, name: level}, data=study.data,
                metric=settings.metric, seed=settings.seed + 10_000 + repeat,
                threshold=settings.threshold, cv_folds=settings.cv_folds, measure=False),
                totals)
            if outcome.state != "complete":
                failed = (outcome.error or "failed").strip().splitlines()[-1][:300]
                break
            scored = score_all(np.asarray(outcome.y_true), np.asarray(outcome.proba),
                               outcome.threshold)
            scores.append(scored.get(settings.metric))
            fit_seconds.append(outcome.fit_seconds)
        rows[name].append({"level": level, "base": False, "scores": scores,
                           "fit_seconds": fit_seconds, **({"error": failed} if failed else {})})
    return [{"factor": name, "levels": levels} for name, levels in rows.items()]


def _keep(plan: RunPlan, optuna_study: Any, study: StudyPlan, outcome: Outcome) -> dict | None:
    """The refitted model into the run's artifact store (Optuna's; a folder
    shared by the machines, or any store Optuna supports), so that a model
    refitted by a worker elsewhere reaches the user."""
    if outcome.state != "complete" or not outcome.model_file:
        return None
    from optuna.artifacts import upload_artifact

    from benchmark import artifacts
    from benchmark.families import family_of
    from benchmark.models import models

    artifact = upload_artifact(artifact_store=artifacts.store(plan.artifacts),
                               file_path=outcome.model_file, study_or_trial=optuna_study)
    return {"store": plan.artifacts, "model": artifact, "file": Path(outcome.model_file).name,
            "classes": outcome.class_names, "family": family_of(models.get(study.model)).name}


def search_seconds(trials: list[Any]) -> float:
    """Wall-clock time of a study's search: from its first trial's start to its
    last trial's end (several workers overlap; a resumed run's pause counts)."""
    starts = [t.datetime_start for t in trials if t.datetime_start]
    ends = [t.datetime_complete for t in trials if t.datetime_complete]
    if not starts or not ends:
        return 0.0
    return max((max(ends) - min(starts)).total_seconds(), 0.0)


def why_no_trial(trials: list[Any]) -> str:
    """`` (3 failed, e.g. ValueError: ...)``: what became of the trials of a
    study without a completed one, for the record and the summary line."""
    from collections import Counter

    if not trials:
        return " (no trial ran)"
    counts = Counter({"FAIL": "failed"}.get(t.state.name, t.state.name.lower()) for t in trials)
    errors = [t.user_attrs["error"] for t in trials if t.user_attrs.get("error")]
    example = ""
    if errors:
        first = str(errors[0]).strip().splitlines()[0] if str(errors[0]).strip() else ""
        example = f", e.g. {first[:160]}{'...' if len(first) > 160 else ''}" if first else ""
    return " (" + ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) + example + ")"


def _note_device(store: Store, run_id: str, device: str) -> None:
    with store.session() as session:
        run = session.get(RunRecord, run_id)
        if device and run.environment.get("device") != device:
            run.environment = {**run.environment, "device": device}


def start_workers(store: Store, plan: RunPlan, placement: Placement, *, log_path: str | None,
                  on_event: Callable[[Event], None],
                  first_identity: str = "") -> list[tuple[Worker, threading.Thread]]:
    """``placement.workers`` workers, each in a thread, started; the first has
    ``first_identity`` ("" = the run's own seed)."""
    threads = []
    errors: list[BaseException] = []
    for index in range(placement.workers):
        identity = first_identity if index == 0 else f"{first_identity or 'local'}-{index}"
        worker = Worker(store, plan, identity=identity, device=placement.devices[index],
                        threads=placement.threads, log_path=log_path, on_event=on_event)

        def body(worker: Worker = worker) -> None:
            try:
                worker.work()
            except BaseException as error:  # noqa: BLE001 - reported by the run's wait loop
                traceback.print_exc()
                errors.append(error)

        thread = threading.Thread(target=body, name=f"worker-{index}", daemon=True)
        thread.errors = errors  # type: ignore[attr-defined]
        thread.start()
        threads.append((worker, thread))
    return threads


# ------------------------------------------------------------------ commands


def _wait_for_run(store: Store, run_id: str, wait: float) -> RunRecord:
    """The run, waiting up to ``wait`` seconds for it to be created (workers
    started by the same job as the run)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return store.resolve(run_id)
        except UserError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(2.0)


def plan_for(store: Store, record: RunRecord, suite: Any, loaded: dict[str, Any],
             artifacts: str | None = None) -> RunPlan:
    """The plan of a stored run, for a worker that joins it: the studies as
    recorded, the data sets as loaded on this machine."""
    studies = []
    with store.session() as session:
        rows = session.scalars(select(StudyRecord).where(StudyRecord.run_id == record.id)
                               .order_by(StudyRecord.id)).all()
    entries = {entry.label: entry for entry in suite.models}
    for row in rows:
        data = loaded[row.dataset]
        entry = entries[row.model]
        studies.append(StudyPlan(record_id=row.id, dataset=row.dataset, label=row.model,
                                 # The suite's entry, not the stored text: user code
                                 # (python:...) resolves to its spec on this machine.
                                 model=entry.model, optuna_study=row.optuna_study,
                                 data=data.ref, n_classes=data.dataset.n_classes,
                                 search_sample=entry.search_sample))
    return RunPlan(run_id=record.id, suite=suite, studies=studies, artifacts=artifacts)


def worker_command(args: Any) -> int:
    """``python -m benchmark worker RUN_ID``: train the run's trials here until
    its budget is spent (every study finished), then exit 0."""
    import yaml

    from benchmark import runner
    from benchmark import suite as suite_module
    from benchmark.store import DatasetRecord, _sqlite_file

    deadline = time.monotonic() + args.wait
    while True:  # the database itself may not exist yet (an SQLite file)
        try:
            store = Store(args.storage, create=False)
            break
        except UserError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(2.0)
    record = _wait_for_run(store, args.run_id, max(deadline - time.monotonic(), 0.0))
    if _sqlite_file(store.url) is not None and record.environment.get("hostname") not in (
            None, platform.node()):
        raise UserError(f"--storage {store.shown}: run {record.id} was created on "
                        f"{record.environment.get('hostname')}, and an SQLite file cannot be "
                        f"shared between machines; workers on other machines need a server "
                        f"database (postgresql://...)")
    if record.status in ("finished", "failed"):
        print(f"run {record.id} is {record.status}; nothing to train")
        return 0
    data = record.suite
    origin = f"run {record.id}"
    if args.overrides:  # a data set's path on this machine, say
        data = yaml.safe_load(yaml.safe_dump(data))
        suite_module.apply_overrides(data, args.overrides)
        origin += " (with --set)"
    suite = suite_module.parse(data, origin=origin)
    if args.workers is not None or args.devices is not None:
        from benchmark.suite import Execution

        update = {k: v for k, v in (("workers", args.workers), ("devices", args.devices))
                  if v is not None}
        try:
            suite = suite.model_copy(update={"execution": Execution.model_validate(
                {**suite.execution.model_dump(), **update})})
        except Exception:  # noqa: BLE001 - pydantic's message, one line
            raise UserError(f"--devices {args.devices}: not a device list; valid: auto, cpu, "
                            f"or GPU indices such as 0,1") from None
    loaded = runner.load_datasets(suite, origin)
    with store.session() as session:
        stored = {row.name: row.summary.get("fingerprint")
                  for row in session.scalars(select(DatasetRecord).where(
                      DatasetRecord.run_id == record.id))}
    for name, data_set in loaded.items():
        here, there = data_set.summary.get("fingerprint"), stored.get(name)
        if there is not None and here != there:
            raise UserError(f"{origin}: datasets.{name}: the data here has fingerprint {here}, "
                            f"the run's has {there}: a different file (or split); give the "
                            f"run's file with --set datasets.{name}.path=...")
    placement = place(suite.execution.workers, suite.execution.devices,
                      suite.execution.threads_per_worker)
    if placement.workers == 0:  # the run's own "--workers 0" is not this worker's
        placement = place(1, suite.execution.devices, suite.execution.threads_per_worker)
    from benchmark import artifacts

    plan = plan_for(store, record, suite, loaded, artifacts.resolved(
        suite.execution.artifacts or str(args.reports_dir / "artifacts")))
    log_dir = args.reports_dir / record.suite_name / record.id
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"worker-{platform.node()}-{os.getpid()}.log"
    print(f"worker for run {record.id} on {platform.node()}: {placement.workers} worker(s) "
          f"({placement.why}), devices {list(placement.devices)}, log {log_path}", flush=True)

    def show(event: Event) -> None:
        if event.kind == "trial" and event.outcome is not None:
            outcome = event.outcome
            value = f"{outcome.value:.4f}" if outcome.value is not None else ""
            print(f"  {event.study.title}  trial {event.trial.number:>3}  {outcome.state} {value}"
                  + (f" ({outcome.error})" if outcome.error else ""), flush=True)
        elif event.text:
            print(event.text, flush=True)

    started = start_workers(store, plan, placement, log_path=str(log_path), on_event=show,
                            first_identity=f"{platform.node()}-{os.getpid()}")
    try:
        for worker, thread in started:
            while thread.is_alive():
                thread.join(timeout=1.0)
    except KeyboardInterrupt:
        for worker, _ in started:
            worker.stop()
        raise
    errors = [error for _, thread in started for error in thread.errors]
    if errors:
        raise errors[0]
    trained = sum(worker.trials for worker, _ in started)
    state = "cancelled" if store.cancel_requested(record.id) else "done"
    print(f"run {record.id}: {state}; this process trained {trained} trial(s)")
    return 0


def progress_lines(store: Store, record: RunRecord) -> list[str]:
    """What ``status`` prints: the run, each study's trials by state and
    budget, its final evaluation, and the live workers."""
    import optuna
    from collections import Counter

    from benchmark.store import optuna_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    suite = record.suite
    study_settings = suite.get("study", {})
    n_trials = study_settings.get("n_trials")
    timeout = study_settings.get("timeout")
    grace = suite.get("execution", {}).get("grace_seconds", 60)
    storage = optuna_storage(store.url)
    lines = [f"run {record.id} ({record.suite_name}): {record.status}"
             + (" (cancel requested)" if record.cancel_requested_at else "")
             + f", started {record.started_at:%Y-%m-%d %H:%M:%S} UTC"]
    left = 0
    with store.session() as session:
        studies = session.scalars(select(StudyRecord).where(StudyRecord.run_id == record.id)
                                  .order_by(StudyRecord.id)).all()
        workers = session.scalars(select(WorkerRecord).where(WorkerRecord.run_id == record.id)
                                  .order_by(WorkerRecord.started_at)).all()
        slots = Counter(session.scalars(select(SlotRecord.study_id).where(
            SlotRecord.study_id.in_([s.id for s in studies]))))
    for study in studies:
        try:
            trials = storage.get_all_trials(storage.get_study_id_from_name(study.optuna_study),
                                            deepcopy=False)
        except KeyError:
            trials = []
        states = Counter(t.state.name.lower() for t in trials)
        counted = sum(n for state, n in states.items() if state in ("complete", "pruned", "fail"))
        died = sum(1 for t in trials if t.user_attrs.get("worker_died"))
        budget = f"{counted - died}/{n_trials}" if n_trials else f"{counted - died}"
        if n_trials and study.search_seconds is None and not study.stopped:
            left += max(n_trials - slots.get(study.id, 0), 0)
        if study.search_seconds is not None:
            final = "finished" + (f" ({study.error})" if study.error else "")
        elif study.final_owner:
            final = f"final evaluation by {study.final_owner}"
        elif study.stopped:
            final = study.stopped
        else:
            final = "searching" if trials else "waiting"
        described = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        lines.append(f"  {study.dataset} / {study.model}: {budget} trials counted"
                     + (f" ({described})" if described else "")
                     + (f", {died} lost with their worker" if died else "") + f"; {final}")
    alive = [w for w in workers if w.finished_at is None
             and (now() - _aware(w.heartbeat_at)).total_seconds() < grace]
    lines.append(f"budget left: {left} trial(s) not yet started" if n_trials else
                 f"budget: {timeout:g} s per study")
    lines.append(f"workers alive: {len(alive)} of {len(workers)} that joined")
    for host in sorted({w.hostname for w in alive}):
        here = [w for w in alive if w.hostname == host]
        devices = ", ".join(sorted({("CPU" if w.devices == "" else f"GPU {w.devices}")
                                    if w.devices is not None else "default" for w in here}))
        lines.append(f"  {host}: {len(here)} worker(s) on {devices}, "
                     f"{sum(w.trials for w in here)} trial(s) trained")
    return lines


def status_command(args: Any) -> int:
    store = Store(args.storage, create=False)
    record = store.resolve(args.run_id)
    for line in progress_lines(store, record):
        print(line)
    return 0


def cancel_command(args: Any) -> int:
    store = Store(args.storage, create=False)
    record = store.resolve(args.run_id)
    if record.status not in ("running", "interrupted"):
        raise UserError(f"run {record.id} is {record.status}; only a running run can be "
                        f"cancelled")
    store.request_cancel(record.id)
    print(f"run {record.id}: cancel requested; its workers finish or fail their trial and stop "
          f"(see: python -m benchmark status {record.id})")
    return 0
