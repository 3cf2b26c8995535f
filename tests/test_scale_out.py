"""Several workers on one run: local worker threads, `worker` processes joining
a run from outside, exact budgets, heartbeats, limits, devices, status, cancel."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState
from sqlalchemy import select

from benchmark.store import RunRecord, SlotRecord, Store, StudyRecord, WorkerRecord
from conftest import run_cli, write_suite


def _cheap_suite(n_trials: int, extra: str = "", models: str | None = None) -> str:
    models = models or """
      - model: decision_tree
        search: {max_depth: {low: 1, high: 8}}
      - model: knn
        search: {n_neighbors: {low: 1, high: 15}}
    """
    return f"""
    name: cheap
    datasets:
      iris: {{source: "sklearn:iris"}}
    models:{models}
    study: {{n_trials: {n_trials}, seed: 3}}
    evaluation: {{repeats: 2}}
    {extra}
    """


def _trials(storage: str, study: StudyRecord) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=study.optuna_study, storage=storage).get_trials()


def _check_exact(storage: str, run_id: str, n_trials: int, repeats: int = 2) -> list[WorkerRecord]:
    """Exactly the budget per study, every trial number once, nothing left
    running, the final evaluation recorded once; returns the workers."""
    store = Store(storage, create=False)
    run = store.resolve(run_id)
    assert run.status == "finished", run.error
    for study in run.studies:
        trials = _trials(storage, study)
        assert sorted(t.number for t in trials) == list(range(n_trials))
        assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
        assert [e.repeat for e in study.evaluations] == list(range(repeats))
        assert study.search_seconds is not None and study.best_trial is not None
    with store.session() as session:
        return list(session.scalars(select(WorkerRecord).where(WorkerRecord.run_id == run_id)))


def _run_id(result: subprocess.CompletedProcess) -> str:
    line = next(line for line in result.stdout.splitlines() if line.startswith("run "))
    return line.split()[1]


@pytest.mark.slow
def test_four_local_workers_spend_the_budget_exactly(tmp_path: Path) -> None:
    """4 workers x 2 studies x 40 trials on SQLite (the 200-trial version on
    PostgreSQL is a slow test below)."""
    suite = write_suite(tmp_path, _cheap_suite(40))
    storage = f"sqlite:///{tmp_path / 'bench.db'}"
    result = run_cli("run", str(suite), "--workers", "4", "--storage", storage, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    workers = _check_exact(storage, _run_id(result), 40)
    assert len(workers) == 4 and sum(w.trials for w in workers) == 80
    assert sum(1 for w in workers if w.trials) >= 2  # trials really were shared
    # Four CPU workers on this machine share its cores: each is capped.
    cores = os.cpu_count() or 1
    assert {w.threads for w in workers} == {max(1, cores // 4)}
    assert "4 worker(s) here" in result.stderr


@pytest.mark.slow
def test_four_workers_two_hundred_trials_on_postgresql(postgres_server: str) -> None:
    import uuid

    import postgres

    storage = postgres.fresh_database(postgres_server, "t_" + uuid.uuid4().hex[:12])
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / ("scale-" + uuid.uuid4().hex[:6])
    workdir.mkdir()
    suite = write_suite(workdir, _cheap_suite(200))
    result = run_cli("run", str(suite), "--workers", "4", "--storage", storage, cwd=workdir,
                     timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    workers = _check_exact(storage, _run_id(result), 200)
    assert sum(w.trials for w in workers) == 400 and all(w.trials for w in workers)


def _popen(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "benchmark", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _csv(path: Path, seed: int = 0) -> Path:
    import pandas as pd
    from sklearn.datasets import load_wine

    data = load_wine(as_frame=True).frame
    if seed:
        data = data.sample(frac=1.0, random_state=seed).head(150)
    path.parent.mkdir(parents=True, exist_ok=True)
    data.to_csv(path, index=False)
    return path


def _csv_suite(path: Path, n_trials: int, extra: str = "", models: str | None = None) -> str:
    models = models or """
      - model: decision_tree
        search: {max_depth: {low: 1, high: 8}}
    """
    return f"""
    name: joined
    datasets:
      wine: {{source: csv, path: {path}, target: target}}
    models:{models}
    study: {{n_trials: {n_trials}, seed: 5}}
    execution: {{heartbeat_seconds: 1, grace_seconds: 4}}
    {extra}
    """


def _wait_for(predicate, timeout: float = 120.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_worker_processes_join_a_run_created_without_workers(tmp_path: Path) -> None:
    """Two `worker` processes, as two machines would be, each with the data at
    its own path; a worker whose file differs is refused; status and the
    report's records name the workers."""
    here = _csv(tmp_path / "a" / "wine.csv")
    there = tmp_path / "b" / "wine.csv"
    there.parent.mkdir()
    there.write_bytes(here.read_bytes())
    other = _csv(tmp_path / "c" / "wine.csv", seed=1)
    suite = write_suite(tmp_path, _csv_suite(here, 30))
    storage = f"sqlite:///{tmp_path / 'bench.db'}"
    creator = _popen("run", str(suite), "--workers", "0", "--id", "joined-1", "--storage",
                     storage, cwd=tmp_path)
    try:
        # Started before the run exists: they wait for it.
        first = _popen("worker", "joined-1", "--storage", storage, cwd=tmp_path)
        second = _popen("worker", "joined-1", "--storage", storage, "--set",
                        f"datasets.wine.path={there}", cwd=tmp_path)
        refused = run_cli("worker", "joined-1", "--storage", storage, "--set",
                          f"datasets.wine.path={other}", cwd=tmp_path)
        assert refused.returncode == 2, refused.stderr
        line = refused.stderr.strip()
        assert "\n" not in line and "datasets.wine: the data here has fingerprint" in line
        assert line.count("fingerprint") == 1 and "the run's has" in line
        status = run_cli("status", "joined-1", "--storage", storage, cwd=tmp_path)
        assert status.returncode == 0 and "joined-1 (joined)" in status.stdout
        assert first.wait(timeout=300) == 0 and second.wait(timeout=300) == 0
        assert creator.wait(timeout=300) == 0, creator.stderr.read()[-3000:]
    finally:
        for process in (creator, first, second):
            if process.poll() is None:
                process.kill()
    store = Store(storage, create=False)
    run = store.resolve("joined-1")
    assert run.status == "finished" and (tmp_path / "reports/joined/joined-1/report.pdf").exists()
    with store.session() as session:
        workers = list(session.scalars(select(WorkerRecord).where(WorkerRecord.run_id == run.id)))
    assert len(workers) == 2 and all(w.trials > 0 for w in workers)  # both trained
    assert sum(w.trials for w in workers) == 30
    trials = _trials(storage, run.studies[0])
    assert {t.user_attrs["worker"] for t in trials} == {w.id for w in workers}
    assert sorted(t.number for t in trials) == list(range(30))
    status = run_cli("status", "joined-1", "--storage", storage, cwd=tmp_path)
    assert "wine / decision_tree: 30/30 trials counted" in status.stdout
    # A worker of a finished run has nothing to do.
    late = run_cli("worker", "joined-1", "--storage", storage, cwd=tmp_path)
    assert late.returncode == 0 and "finished; nothing to train" in late.stdout


SLOW_FOREST = """
      - model: random_forest
        search: {n_estimators: {low: 800, high: 1000}, max_depth: {low: 4, high: 12}}
"""


@pytest.mark.slow
def test_a_killed_worker_s_trial_is_failed_retried_and_not_counted(tmp_path: Path) -> None:
    """kill -9 of a worker in the middle of a trial: another worker fails it
    (its heartbeat stopped), retries its parameters once, and the budget is
    still exact. Then kill -9 of the `run` process itself: the worker
    finishes the budget and `--resume` renders the report."""
    data = _csv(tmp_path / "wine.csv")
    suite = write_suite(tmp_path, _csv_suite(data, 6, models=SLOW_FOREST))
    storage = f"sqlite:///{tmp_path / 'bench.db'}"
    creator = _popen("run", str(suite), "--workers", "0", "--id", "killed", "--storage", storage,
                     cwd=tmp_path)
    victim = _popen("worker", "killed", "--storage", storage, cwd=tmp_path)
    survivor = None
    try:
        store = Store(storage)
        _wait_for(lambda: store.suite_of("killed") is not None
                  and store.resolve("killed").studies, what="the run and its study")
        study = store.resolve("killed").studies[0]
        optuna_storage = optuna.storages.RDBStorage(storage)

        def running() -> list:
            try:
                study_id = optuna_storage.get_study_id_from_name(study.optuna_study)
            except KeyError:
                return []
            return optuna_storage.get_all_trials(study_id, states=(TrialState.RUNNING,))

        # Killed while a trial trains (it takes seconds; it started a moment ago),
        # once the worker has written its name on it (a few writes after the ask).
        _wait_for(lambda: [t for t in running() if t.user_attrs.get("worker")],
                  what="a running trial of the worker")
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        [cut] = [t for t in running() if f":{victim.pid}:" in t.user_attrs.get("worker", "")]
        killed_trial = cut.number
        survivor = _popen("worker", "killed", "--storage", storage, cwd=tmp_path)
        _wait_for(lambda: any(t.state == TrialState.COMPLETE for t in _trials(storage, study)
                              if f":{survivor.pid}:" in t.user_attrs.get("worker", "")),
                  what="a trial of the second worker")
        creator.send_signal(signal.SIGKILL)  # the run process dies; the worker goes on
        creator.wait()
        assert survivor.wait(timeout=300) == 0, survivor.stderr.read()[-3000:]
    finally:
        for process in (creator, victim, survivor):
            if process is not None and process.poll() is None:
                process.kill()
    trials = _trials(storage, study)
    died = [t for t in trials if t.user_attrs.get("worker_died")]
    assert [t.number for t in died] == [killed_trial] and died[0].state == TrialState.FAIL
    assert "its worker died" in died[0].user_attrs["error"]
    retry = [t for t in trials if t.user_attrs.get("retry_of") == killed_trial]
    assert len(retry) == 1 and retry[0].params == died[0].params
    counted = [t for t in trials if not t.user_attrs.get("worker_died")]
    assert len(counted) == 6 and all(t.state.is_finished() for t in trials)
    with Store(storage).session() as session:
        assert session.scalar(select(RunRecord.status).where(RunRecord.id == "killed")) == \
            "interrupted"
        slots = session.scalars(select(SlotRecord.slot).where(
            SlotRecord.study_id == study.id)).all()
        assert sorted(slots) == list(range(6))
    resumed = run_cli("run", "--resume", "killed", "--storage", storage, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (tmp_path / "reports/joined/killed/report.pdf").exists()
    assert len(_trials(storage, study)) == 7  # the resume trained nothing more


@pytest.mark.slow  # ~25-50 s: the default loop keeps its other paths
def test_trial_timeout_and_consecutive_failures_stop_what_they_say(tmp_path: Path) -> None:
    models = """
      - model: random_forest
        name: slow
        search: {n_estimators: 3000, max_depth: {low: 4, high: 12}}
      - model: knn
        name: failing
        search: {n_neighbors: {low: 5000, high: 6000}}
      - model: decision_tree
        search: {max_depth: {low: 1, high: 8}}
    """
    suite = write_suite(tmp_path, _cheap_suite(
        6, "execution: {trials_per_worker: 50}", models=models).replace(
        "study: {n_trials: 6, seed: 3}",
        "study: {n_trials: 6, seed: 3, trial_timeout: 1.5, max_consecutive_failures: 3}"))
    storage = f"sqlite:///{tmp_path / 'bench.db'}"
    result = run_cli("run", str(suite), "--storage", storage, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run = Store(storage, create=False).resolve(_run_id(result))
    slow, failing, tree = run.studies
    slow_trials = _trials(storage, slow)
    # Every forest trial overran and was stopped, then the study stopped after 3.
    assert len(slow_trials) == 3 and all(
        t.state == TrialState.FAIL and t.user_attrs["error"] ==
        "timed out after 1.5 s (study.trial_timeout)" for t in slow_trials)
    assert slow.stopped.startswith("stopped after 3 failed trials in a row")
    failing_trials = _trials(storage, failing)
    assert len(failing_trials) == 3 and failing.stopped and not failing.evaluations
    assert "n_neighbors" in failing.stopped  # the last error, named
    assert "failing: stopped after 3 failed trials in a row" in result.stderr
    assert len(_trials(storage, tree)) == 6 and tree.evaluations  # the search went on


def test_each_worker_gets_its_own_device(tmp_path: Path) -> None:
    """devices: [0, 1] with two workers: each trial records the
    CUDA_VISIBLE_DEVICES its worker's process was given (no GPU needed)."""
    suite = write_suite(tmp_path, _cheap_suite(
        12, "execution: {workers: 2, devices: [0, 1]}", models="""
      - model: decision_tree
        search: {max_depth: {low: 1, high: 8}}
    """))
    storage = f"sqlite:///{tmp_path / 'bench.db'}"
    result = run_cli("run", str(suite), "--storage", storage, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run = Store(storage, create=False).resolve(_run_id(result))
    trials = _trials(storage, run.studies[0])
    by_worker = {}
    for trial in trials:
        by_worker.setdefault(trial.user_attrs["worker"], set()).add(
            trial.user_attrs["cuda_visible_devices"])
    assert sorted(v for values in by_worker.values() for v in values) == ["0", "1"]
    assert all(len(values) == 1 for values in by_worker.values())
    with Store(storage).session() as session:
        assert sorted(session.scalars(select(WorkerRecord.devices))) == ["0", "1"]
        worker_phases = list(session.scalars(select(WorkerRecord.phases)))
    # Where the time went (benchmark.phases): the main process's start, data
    # load and report on the run; each worker's training and database calls.
    assert {"process start", "data load", "report"} <= set(run.phases)
    assert all(run.phases[name] > 0 for name in ("process start", "data load", "report"))
    for spent in worker_phases:
        assert {"worker start", "worker data load", "training", "evaluation", "database",
                "other"} <= set(spent)
        assert "TensorFlow import" not in spent and "model build" not in spent  # scikit-learn only
        assert spent["training"] > 0 and spent["database"] > 0
    html = (tmp_path / "reports" / run.suite_name / run.id / "report.html").read_text()
    assert "s time went" in html and ">worker data load<" in html


@pytest.mark.slow  # ~25-50 s: the default loop keeps its other paths
def test_cancel_stops_the_workers_and_resume_finishes(tmp_path: Path) -> None:
    data = _csv(tmp_path / "wine.csv")
    suite = write_suite(tmp_path, _csv_suite(data, 8, models=SLOW_FOREST))
    storage = f"sqlite:///{tmp_path / 'bench.db'}"
    creator = _popen("run", str(suite), "--id", "stopme", "--storage", storage, cwd=tmp_path)
    try:
        store = Store(storage)
        _wait_for(lambda: store.suite_of("stopme") is not None
                  and any(s.started_at for s in store.resolve("stopme").studies),
                  what="the first trial")
        cancel = run_cli("cancel", "stopme", "--storage", storage, cwd=tmp_path)
        assert cancel.returncode == 0 and "cancel requested" in cancel.stdout
        assert creator.wait(timeout=120) == 5
        assert "was cancelled" in creator.stderr.read()
    finally:
        if creator.poll() is None:
            creator.kill()
    run = Store(storage, create=False).resolve("stopme")
    assert run.status == "cancelled" and run.studies[0].search_seconds is None
    done = len(_trials(storage, run.studies[0]))
    assert 1 <= done < 8
    again = run_cli("cancel", "stopme", "--storage", storage, cwd=tmp_path)
    assert again.returncode == 2 and "only a running run can be cancelled" in again.stderr
    resumed = run_cli("run", "--resume", "stopme", "--storage", storage, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    trials = _trials(storage, Store(storage, create=False).resolve("stopme").studies[0])
    assert sorted(t.number for t in trials) == list(range(8))


@pytest.mark.slow
def test_bad_worker_invocations_get_one_line(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, _cheap_suite(2))
    storage = f"sqlite:///{tmp_path / 'bench.db'}"
    detached = run_cli("run", str(suite), "--workers", "0", "--detach", "--id", "later",
                       "--storage", storage, cwd=tmp_path)
    assert detached.returncode == 0 and detached.stdout.strip().splitlines()[-1] == "later"
    cases = [
        (("run", str(suite), "--detach", "--storage", storage), "--detach needs --workers 0"),
        (("run", str(suite), "--workers", "0", "--id", "later", "--storage", storage),
         "--id later: a run with this id is already stored"),
        (("run", str(suite), "--id", "no/slash", "--storage", storage), "--id 'no/slash'"),
        (("worker", "nosuch", "--wait", "0", "--storage", storage), "run 'nosuch' not found"),
        (("run", str(suite), "--devices", "gpu", "--storage", storage), "--devices gpu"),
    ]
    for args, expected in cases:
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 2 and expected in result.stderr, (args, result.stderr)
        errors = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
        assert len(errors) == 1 and errors[0].startswith("error: "), result.stderr
    moved = Store(storage)
    with moved.session() as session:  # as if the run had been created on another machine
        record = session.get(RunRecord, "later")
        record.environment = {**record.environment, "hostname": "elsewhere"}
    remote = run_cli("worker", "later", "--storage", storage, cwd=tmp_path)
    assert remote.returncode == 2 and "cannot be shared between machines" in remote.stderr
    with moved.session() as session:
        record = session.get(RunRecord, "later")
        record.environment = {**record.environment, "hostname": os.uname().nodename}
    # The detached run is finished by a worker, then by --resume (which renders).
    worker = run_cli("worker", "later", "--storage", storage, cwd=tmp_path)
    assert worker.returncode == 0, worker.stderr[-2000:]
    finished = run_cli("run", "--resume", "later", "--workers", "0", "--storage", storage,
                       cwd=tmp_path)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert Store(storage, create=False).resolve("later").status == "finished"
