"""compare / nightly / history / --resume, on SQLite and on a real PostgreSQL.

The verdict logic is tested on runs written straight into the store with known
differences (no training); the end-to-end tests train tiny real suites."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from conftest import run_cli, write_suite

from benchmark import compare, environment, nightly
from benchmark.space import Space
from benchmark.store import (DatasetRecord, EvaluationRecord, LockRecord, RunRecord, Store,
                             StudyRecord, optuna_storage)

HOST = {"hostname": "night-box", "cpu": "cpu", "cpu_count": 2, "memory_gib": 24.0, "device": "CPU"}
# A study's space as the runner stores it (format 4: data, not display text).
SPACE = Space.from_spec({"learning_rate": {"low": 0.001, "high": 0.1, "log": True},
                         "epochs": 5}).to_data()


def _write(store: Store, run_id: str, night: int, models: dict[str, tuple[list[float], list[float]] | None],
           *, suite_hash: str = "h1", fingerprint: str = "f1", space: dict | None = None,
           environment: dict | None = None, status: str = "finished", suite: dict | None = None,
           started: dt.datetime | None = None) -> None:
    """A run as the runner stores it: ``models`` maps a model to (accuracy per
    repeat, fit seconds per repeat), or None for a model whose trials all failed."""
    started = started or dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC) + dt.timedelta(days=night)
    with store.session() as session:
        session.add(RunRecord(id=run_id, suite_name="nightly_suite", suite_yaml="", suite=suite or {},
                              suite_hash=suite_hash, seed=0, status=status, command="",
                              environment={**HOST, "packages": {"keras": "3.15.1"},
                                           **(environment or {})},
                              started_at=started, finished_at=started + dt.timedelta(hours=1)))
        session.add(DatasetRecord(run_id=run_id, name="digits", source="sklearn:digits",
                                  summary={"fingerprint": fingerprint}))
        for model, measured in models.items():
            study = StudyRecord(run_id=run_id, dataset="digits", model=model, model_name="lenet5",
                                optuna_study=f"{run_id}/{model}", metric="accuracy",
                                direction="maximize", space=space or SPACE,
                                error=None if measured else "no trial completed")
            session.add(study)
            session.flush()
            for repeat, (score, seconds) in enumerate(zip(*measured) if measured else []):
                session.add(EvaluationRecord(study_id=study.id, repeat=repeat, seed=repeat,
                                             metrics={"accuracy": score}, confusion=[], history=[],
                                             fit_seconds=seconds))


def _summary(store: Store, run_id: str) -> compare.RunSummary:
    return compare.summarize(store.resolve(run_id))


def _verdicts(store: Store, a: str, b: str, **thresholds) -> dict[tuple[str, str], str]:
    rows = compare.compare(_summary(store, a), _summary(store, b), compare.Thresholds(**thresholds))
    return {(row["model"], row["metric"]): row["verdict"] for row in rows}


STEADY = ([0.95, 0.951, 0.949], [10.0, 10.2, 9.9])


def test_clear_regression_and_change_inside_the_noise(storage: str) -> None:
    store = Store(storage)
    _write(store, "base", 0, {"a": STEADY, "b": STEADY})
    _write(store, "now", 1, {"a": ([0.90, 0.902, 0.899], STEADY[1]),     # -0.05, tight repeats
                             "b": ([0.93, 0.97, 0.95], STEADY[1])})      # same mean, wide repeats
    verdicts = _verdicts(store, "base", "now")
    assert verdicts[("a", "accuracy")] == "worse"
    assert verdicts[("b", "accuracy")] == "unchanged"
    rows = compare.compare(_summary(store, "base"), _summary(store, "now"), compare.Thresholds())
    assert [row["model"] for row in compare.regressions(rows)] == ["a"]
    # A drop of 0.02 whose repeats overlap is noise by Welch's test, not a regression.
    _write(store, "noisy", 2, {"a": ([0.90, 0.96, 0.93], STEADY[1]), "b": STEADY})
    assert _verdicts(store, "base", "noisy")[("a", "accuracy")] == "unchanged"


def test_min_change_and_the_night_to_night_band(storage: str) -> None:
    store = Store(storage)
    # Single repeats: only min_change, then the band of earlier nights, can judge.
    for night, score in enumerate([0.95, 0.93, 0.96, 0.94]):
        _write(store, f"n{night}", night, {"a": ([score], [10.0])})
    runs = [_summary(store, f"n{i}") for i in range(4)]
    current = _summary(store, "n3")
    # 0.94 against 0.96 is a 0.02 drop, but the nights before moved that much too.
    assert compare.compare(runs[2], current, compare.Thresholds(), runs[:3])[0]["verdict"] == "unchanged"
    # Without those nights, min_change alone decides.
    assert compare.compare(runs[2], current, compare.Thresholds())[0]["verdict"] == "worse"
    assert compare.compare(runs[2], current, compare.Thresholds(min_change=0.05))[0]["verdict"] \
        == "unchanged"
    # The band is where one more ordinary night falls (95%), not mean +- 2 s.d.:
    # 0.90 is beyond 2 s.d. of three nights, yet inside their prediction interval.
    low, high = compare.band([0.95, 0.93, 0.96])
    assert low == pytest.approx(0.8708, abs=1e-4) and high == pytest.approx(1.0226, abs=1e-4)
    assert compare.band([0.95, 0.93]) is None and compare.band([0.9] * 3) == (0.9, 0.9)


def test_runtime_slowdown_only_on_the_same_machine(storage: str) -> None:
    store = Store(storage)
    _write(store, "base", 0, {"a": STEADY})
    _write(store, "slow", 1, {"a": (STEADY[0], [13.0, 13.5, 12.8])})     # x1.3, no overlap
    _write(store, "jitter", 2, {"a": (STEADY[0], [12.5, 9.5, 10.0])})    # overlapping
    _write(store, "elsewhere", 3, {"a": (STEADY[0], [30.0, 31.0, 30.5])},
           environment={"hostname": "other-box", "cpu": "slower cpu"})
    assert _verdicts(store, "base", "slow")[("a", "training time")] == "slower"
    assert _verdicts(store, "base", "jitter")[("a", "training time")] == "unchanged"
    assert _verdicts(store, "base", "slow", slowdown=1.5)[("a", "training time")] == "unchanged"
    rows = compare.compare(_summary(store, "base"), _summary(store, "elsewhere"), compare.Thresholds())
    time_row = next(row for row in rows if row["metric"] == compare.TIME)
    assert time_row["verdict"] == "not judged" and time_row["why"] == "different machines"
    assert time_row["current"] == pytest.approx(30.5)  # shown, not judged
    changes = compare.changes(_summary(store, "base"), _summary(store, "elsewhere"))
    assert "hostname: night-box -> other-box" in changes and "cpu: cpu -> slower cpu" in changes


def test_changed_suite_space_or_data_and_failing_models(storage: str) -> None:
    store = Store(storage)
    _write(store, "base", 0, {"a": STEADY, "b": STEADY, "c": None},
           suite={"study": {"n_trials": 10}})
    _write(store, "hash", 1, {"a": STEADY, "b": None, "c": STEADY}, suite_hash="h2",
           suite={"study": {"n_trials": 20}})
    verdicts = _verdicts(store, "base", "hash")
    # A changed suite hash is reported; the pairs whose space and data are the same still compare.
    assert verdicts[("a", "accuracy")] == "unchanged"
    assert verdicts[("b", "accuracy")] == "newly failing"
    assert verdicts[("c", "accuracy")] == "fixed"
    changes = compare.changes(_summary(store, "base"), _summary(store, "hash"))
    assert changes == ["suite hash h1 -> h2 (study.n_trials: 10 -> 20)"]
    _write(store, "space", 2, {"a": STEADY, "b": STEADY, "c": None},
           space=Space.from_spec({"learning_rate": {"low": 0.0001, "high": 0.1, "log": True},
                                  "epochs": 5}).to_data())
    _write(store, "data", 3, {"a": STEADY, "b": STEADY, "c": None}, fingerprint="f2")
    rows = compare.compare(_summary(store, "base"), _summary(store, "space"), compare.Thresholds())
    assert {row["why"] for row in rows if row["model"] != "c"} == {
        "search space changed (learning_rate)"}
    # Not judged, but both runs' numbers are shown (score and training time).
    shown = {(row["model"], row["metric"]): (row["baseline"], row["current"]) for row in rows}
    assert shown[("a", "accuracy")] == pytest.approx((0.95, 0.95))
    assert shown[("a", "training time")] == pytest.approx((10.0, 10.0))
    assert shown[("c", "accuracy")] == (None, None)  # failing in both: nothing to show
    rows = compare.compare(_summary(store, "base"), _summary(store, "data"), compare.Thresholds())
    assert {row["verdict"] for row in rows} == {"not judged"}
    assert {row["why"] for row in rows if row["model"] != "c"} == {"data set fingerprint changed"}
    # Two refits scored, the third failed: the pair failed, whatever the first two said.
    _write(store, "late", 4, {"a": STEADY, "b": STEADY, "c": None})
    with store.session() as session:
        late_b = session.scalars(select(StudyRecord).where(StudyRecord.run_id == "late",
                                                           StudyRecord.model == "b")).one()
        late_b.error = "final evaluation failed: training loss became nan at epoch 3"
    assert _verdicts(store, "base", "late")[("b", "accuracy")] == "newly failing"


def test_baseline_is_the_last_good_run_on_the_same_machine(storage: str) -> None:
    store = Store(storage)
    _write(store, "good", 0, {"a": STEADY})
    _write(store, "other-machine", 1, {"a": STEADY}, environment={"cpu": "another cpu"})
    _write(store, "killed", 2, {"a": STEADY}, status="interrupted")
    _write(store, "tonight", 3, {"a": STEADY})
    runs = [_summary(store, r) for r in ("good", "other-machine", "killed", "tonight")]
    assert compare.pick_baseline(runs, runs[-1]).id == "good"
    assert compare.pick_baseline(runs, runs[-1], pinned="killed").id == "killed"
    assert nightly.resolve(store, "previous").id == "other-machine"  # finished, any machine
    assert nightly.resolve(store, "latest").id == "tonight"


def test_a_run_left_running_by_a_dead_process_is_marked_interrupted(storage: str) -> None:
    import platform

    store = Store(storage)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    _write(store, "dead", 0, {"a": STEADY}, status="running",
           environment={"hostname": platform.node(), "pid": int(dead)})
    _write(store, "alive", 1, {"a": STEADY}, status="running", started=dt.datetime.now(dt.UTC),
           environment={"hostname": platform.node(), "pid": os.getpid()})
    # The same pid, but the run started before this process did: a reused number.
    _write(store, "reused", 2, {"a": STEADY}, status="running",
           environment={"hostname": platform.node(), "pid": os.getpid()})
    # A resumed run: started long ago, owned now by this very process.
    _write(store, "resumed", 3, {"a": STEADY}, status="running",
           environment={"hostname": platform.node(), **environment.process_identity()})
    # This pid, but recorded with another creation time: the number was reused.
    _write(store, "reused-resumed", 4, {"a": STEADY}, status="running",
           environment={"hostname": platform.node(), "pid": os.getpid(),
                        "pid_created": environment.process_identity()["pid_created"] - 3600})
    assert sorted(store.mark_interrupted()) == ["dead", "reused", "reused-resumed"]
    assert store.resolve("dead").status == "interrupted"
    assert "--resume dead" in store.resolve("dead").error
    assert store.resolve("alive").status == "running"
    assert store.resolve("resumed").status == "running"


@pytest.mark.slow
def test_second_nightly_on_the_same_suite_refuses_while_the_first_holds_it(
        storage: str, tmp_path: Path) -> None:
    store = Store(storage)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom benchmark.store import Store\n"
         "with Store(sys.argv[1]).lock('held'):\n    print('locked', flush=True)\n    time.sleep(60)",
         storage], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        suite = write_suite(tmp_path, "name: held\ndatasets: {d: {source: 'sklearn:iris'}}\n"
                                      "models: [{model: knn}]\nstudy: {n_trials: 1}\n", "held.yaml")
        result = run_cli("nightly", str(suite), "--storage", storage, cwd=tmp_path, timeout=120)
        assert result.returncode == 2
        assert f"pid {holder.pid}" in result.stderr and "already being run" in result.stderr
        assert result.stderr.count("\n") == 1
        assert not store.runs("held")  # nothing was started
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # The holder died without releasing: its lock is stale and is taken over.
    with store.lock("held"):
        with store.session() as session:
            assert session.get(LockRecord, "held").pid == os.getpid()
    with store.session() as session:
        assert session.get(LockRecord, "held") is None


# ------------------------------------------------------------------ end to end

NIGHT_SUITE = """
    name: night
    datasets:
      digits:
        source: sklearn:digits
        split: {train: 0.6, validation: 0.2, test: 0.2}
    models:
      - model: lenet5
        search: {learning_rate: 1.0e-3, batch_size: 64, epochs: 5}
    study: {n_trials: 1, pruner: none, seed: 5}
    evaluation: {repeats: 3}
    # This shared test machine's timings jump by 30% when something else runs:
    # the tests judge accuracy, so only a x3 slowdown would count here.
    nightly: {slowdown: 3.0}
    """


# Minutes of training (four nights, or a kill and a resume, on both storages): CI runs it.
@pytest.mark.slow
@pytest.mark.parametrize("storage", ["sqlite", "postgresql"], indirect=True)
def test_nightly_exits_0_unchanged_and_1_on_a_worsened_suite(storage: str, tmp_path: Path) -> None:
    suite = write_suite(tmp_path, NIGHT_SUITE, "night.yaml")
    first = run_cli("nightly", str(suite), "--storage", storage, "--quiet", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "this run is the baseline for the next night" in first.stdout

    same = run_cli("nightly", str(suite), "--storage", storage, "--quiet", cwd=tmp_path)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "2 unchanged" in same.stdout and "nightly: no regression" in same.stdout  # score, time

    worse = run_cli("nightly", str(suite), "--storage", storage, "--quiet",
                    "--set", "models.0.search.epochs=1", cwd=tmp_path)
    assert worse.returncode == 1, worse.stdout + worse.stderr
    assert "WORSE           digits / lenet5: accuracy" in worse.stdout
    assert "models[0].search.epochs: 5 -> 1" in worse.stdout  # what changed, named
    report = next(line.split("comparison report ")[1] for line in worse.stdout.splitlines()
                  if "comparison report" in line)
    assert (tmp_path / report).exists() and (tmp_path / report).with_suffix(".html").exists()

    history = run_cli("history", "night", "--storage", storage, cwd=tmp_path, timeout=120)
    # the title, one legend line per column, the header, one line per run
    assert history.returncode == 0 and len(history.stdout.strip().splitlines()) == 1 + 1 + 1 + 3
    assert "  [1] digits / lenet5: accuracy" in history.stdout
    compared = run_cli("compare", "previous", "latest", "--storage", storage, cwd=tmp_path,
                       timeout=120)
    assert compared.returncode == 0 and "WORSE" in compared.stdout
    assert "baseline " in compared.stdout and ": previous: the last finished run" in compared.stdout

    def run_id(result) -> str:
        return next(line.split(" run ")[1].split(",")[0] for line in result.stdout.splitlines()
                    if line.startswith("night: run "))

    # The suite changed (another hash): its baseline was the last run of the suite, and said so.
    assert f"  baseline {run_id(same)}: no earlier finished run on this machine has this suite " \
           f"hash" in worse.stdout
    # The next ordinary night skips the one-off --set experiment: no regression against it.
    again = run_cli("nightly", str(suite), "--storage", storage, "--quiet", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert (f"  baseline {run_id(same)}: the last finished run on this machine with the same "
            f"suite hash") in again.stdout
    assert "1 later run with another suite hash (e.g. a --set experiment) skipped" in again.stdout


def _lenet5_suite(folder: Path, name: str, *, n_trials: int, epochs: int = 2) -> Path:
    """LeNet-5 on digits, searched over the learning rate, unpruned: a run whose
    trials take about a second each (``epochs`` makes them longer)."""
    return write_suite(folder, f"""
        name: {name}
        datasets:
          digits: {{source: sklearn:digits}}
        models:
          - model: lenet5
            search: {{learning_rate: {{low: 1.0e-3, high: 1.0e-2, log: true}}, epochs: {epochs}}}
        study: {{n_trials: {n_trials}, pruner: none, seed: 2}}
        """, f"{name}.yaml")


def _trials(store: Store, storage: Any, suite_name: str) -> list:
    """The trials of the first study of the suite's only run (none yet: [])."""
    import optuna

    runs = store.runs(suite_name)
    if not runs or not runs[0].studies:
        return []
    return optuna.load_study(study_name=runs[0].studies[0].optuna_study,
                             storage=storage).get_trials(deepcopy=False)


def _finished_trials(store: Store, storage: Any, suite_name: str) -> list:
    return [t for t in _trials(store, storage, suite_name) if t.state.is_finished()]


def _run_until(suite: Path, storage: str, count: int, output) -> subprocess.Popen:
    """``run suite`` in its own process, returned once a trial has started and
    ``count`` trials finished (or it ended, or 300 s passed). The caller made the
    tables already, so the polling never races the run's own schema creation."""
    store = Store(storage, create=False)
    name = suite.stem
    process = subprocess.Popen([sys.executable, "-m", "benchmark", "run", str(suite), "--storage",
                                storage, "--quiet"], cwd=suite.parent, stdout=output,
                               stderr=output, text=True)
    started = time.monotonic()
    polled = optuna_storage(storage)  # one storage for the whole poll, as a reader would
    # (seconds since start, trials, finished trials): shown when a test fails.
    process.polls = []
    while time.monotonic() - started < 300 and process.poll() is None:
        trials = _trials(store, polled, name)
        finished = sum(t.state.is_finished() for t in trials)
        process.polls.append((round(time.monotonic() - started, 1), len(trials), finished))
        if trials and finished >= count:
            break
        time.sleep(0.3)
    return process


# Minutes of training (four nights, or a kill and a resume, on both storages): CI runs it.
@pytest.mark.slow
@pytest.mark.parametrize("storage", ["sqlite", "postgresql"], indirect=True)
def test_kill_9_then_resume_keeps_every_finished_trial_once(storage: str, tmp_path: Path) -> None:
    import optuna

    suite = _lenet5_suite(tmp_path, "killed", n_trials=6)
    store = Store(storage)
    log = tmp_path / "run.log"
    with log.open("w") as output:
        process = _run_until(suite, storage, 2, output)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = {(t.number, t.value) for t in _finished_trials(store, optuna_storage(storage),
                                                            "killed")}
    assert 2 <= len(before) < 6, f"polls (s, trials, finished): {process.polls}\n" + \
        log.read_text()[-2000:]
    [run] = store.runs("killed")
    assert run.status == "running"  # kill -9 left no chance to say otherwise

    resumed = run_cli("run", "--resume", run.id, "--storage", storage, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    run = store.resolve(run.id)
    assert run.status == "finished" and run.studies[0].evaluations
    trials = optuna.load_study(study_name=run.studies[0].optuna_study,
                               storage=storage).get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert before <= {(t.number, t.value) for t in complete}  # kept, not redone
    assert len(complete) == 6  # the budget, each finished trial counted once
    interrupted = [t for t in trials if t.user_attrs.get("error", "").startswith("interrupted")]
    assert len(trials) == 6 + len(interrupted) and len(interrupted) <= 1
    again = run_cli("run", "--resume", run.id, "--storage", storage, cwd=tmp_path, timeout=120)
    assert again.returncode == 2 and "already finished" in again.stderr


@pytest.mark.slow
def test_sigterm_marks_the_run_interrupted_and_it_is_no_baseline(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'bench.db'}"
    suite = _lenet5_suite(tmp_path, "stopped", n_trials=20)
    store = Store(storage)
    process = _run_until(suite, storage, 1, subprocess.PIPE)
    process.send_signal(signal.SIGTERM)  # what systemctl stop or a CI timeout sends
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr
    assert "--resume" in stderr
    [run] = store.runs("stopped")
    assert run.status == "interrupted" and "SIGTERM" in run.error
    import dataclasses

    stopped = compare.summarize(run)
    tonight = dataclasses.replace(stopped, id="tonight", status="finished",
                                  started_at=stopped.started_at + dt.timedelta(days=1))
    assert compare.pick_baseline([stopped, tonight], tonight) is None
    finished = dataclasses.replace(stopped, status="finished")
    assert compare.pick_baseline([finished, tonight], tonight) is finished


@pytest.mark.slow
def test_an_unreachable_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, "name: s\ndatasets: {d: {source: 'sklearn:iris'}}\n"
                                  "models: [{model: knn}]\nstudy: {n_trials: 1}\n")
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    result = run_cli("nightly", str(suite), "--storage", "postgresql://nobody@127.0.0.1:1/none",
                     cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: --storage postgresql://nobody@127.0.0.1:1/none: "
                                    "cannot open the database (")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_crashing_suite_is_reported_and_the_next_suite_still_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from benchmark import runner

    first = write_suite(tmp_path, "name: crashing\ndatasets: {d: {source: 'sklearn:iris'}}\n"
                                  "models: [{model: knn}]\nstudy: {n_trials: 1}\n", "crashing.yaml")
    second = write_suite(tmp_path, "name: fine\ndatasets: {d: {source: 'sklearn:iris'}}\n"
                                   "models: [{model: knn}]\nstudy: {n_trials: 1}\n", "fine.yaml")
    real_run = runner.run

    def crash_first(suite, *args, **kwargs):
        if suite.name == "crashing":
            raise RuntimeError("disk full")
        return real_run(suite, *args, **kwargs)

    monkeypatch.setattr(runner, "run", crash_first)
    storage = f"sqlite:///{tmp_path / 'bench.db'}"
    code = nightly.nightly([first, second], storage=storage, reports_dir=tmp_path / "reports",
                           overrides=[], progress=False)
    out = capsys.readouterr().out
    assert code == nightly.EXIT_CRASHED == 3
    assert "crashing: the run FAILED: RuntimeError: disk full" in out
    assert "fine: no earlier finished run" in out  # the second suite ran
    assert "1 suite(s) could not finish: crashing" in out
    [run] = Store(storage).runs("fine")
    assert run.status == "finished"


@pytest.mark.slow
def test_sigterm_stops_the_trial_in_flight_instead_of_waiting_for_it(tmp_path: Path) -> None:
    import optuna

    storage = f"sqlite:///{tmp_path / 'bench.db'}"
    # 2,000 epochs would train for many minutes: the run must stop long before.
    suite = _lenet5_suite(tmp_path, "long", n_trials=2, epochs=2000)
    store = Store(storage)
    process = _run_until(suite, storage, 0, subprocess.PIPE)
    time.sleep(3)  # the worker is training now
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    [trial] = _trials(store, optuna_storage(storage), "long")
    assert trial.state == optuna.trial.TrialState.RUNNING  # cut short, not recorded as a crash
