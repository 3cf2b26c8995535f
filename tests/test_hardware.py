"""Runs trained by several workers on several machines (format 3): the report
lists every host and device with the trials and final refits it ran, says when
trial order depended on timing, and ``compare`` judges training times only
between runs that trained on one and the same machine.

No training: the report tests add the format-3 records (trial user attributes,
evaluation hosts, the run's ``workers``) to a copy of the stored run of
tests/data; the comparison tests write runs straight into a fresh store."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from benchmark import compare, nightly, stats
from benchmark.errors import UserError
from benchmark.space import Space
from benchmark.report import context as report_context
from benchmark.report import render
from benchmark.store import (Base, DatasetRecord, EvaluationRecord, RunRecord, Store, StudyRecord,
                             WorkerRecord)

STORED = Path(__file__).resolve().parent / "data" / "stored_run.db"
GPU, CPU = "GPU: NVIDIA H200", "CPU"


@pytest.fixture(autouse=True)
def few_resamples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stats, "BOOTSTRAP_RESAMPLES", 100)


def _open(path: Path) -> Store:
    """The stored run of format 2, opened by this version: upgraded the way a
    user upgrades one (``db upgrade``), or, where this checkout has no migrations,
    with the columns format 3 added."""
    url = f"sqlite:///{path}"
    try:
        return Store(url, create=False)
    except UserError as error:
        if "older benchmark" not in str(error):
            raise
    try:
        from benchmark import migrate
    except ImportError:
        migrate = None
    if migrate is not None and hasattr(migrate, "upgrade"):
        migrate.upgrade(url)
        return Store(url, create=False)
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    with engine.begin() as connection:
        inspector = inspect(connection)
        for table in Base.metadata.sorted_tables:
            if not inspector.has_table(table.name):
                continue  # created by Store
            present = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present:
                    connection.exec_driver_sql(
                        f"ALTER TABLE {table.name} ADD COLUMN {column.name} "
                        f"{column.type.compile(engine.dialect)}")
    engine.dispose()
    return Store(url, create=False)


def _stored(tmp_path: Path) -> Path:
    copy = tmp_path / "stored.db"
    shutil.copy(STORED, copy)
    return copy


def _distribute(path: Path, workers: dict[str, tuple[str, str, str]],
                run_workers: int | None) -> dict[tuple[str, str], dict[str, int]]:
    """Gives every trial of the stored run the format-3 attributes: the trials of
    model study ``m`` ran on ``workers[m]`` = (worker id, host, device), and so
    did its refits; ``run_workers``: the run's environment.workers (None: not
    recorded). Returns the expected (host, device) -> trials and refits."""
    expected: dict[tuple[str, str], dict[str, int]] = {}
    with sqlite3.connect(path) as db:
        studies = db.execute("SELECT id, model, optuna_study FROM bench_studies").fetchall()
        for study_id, model, name in studies:
            worker, host, device = workers[model]
            count = expected.setdefault((host, device), {"trials": 0, "refits": 0})
            trials = db.execute(
                "SELECT t.trial_id, t.state FROM trials t JOIN studies s USING (study_id) "
                "WHERE s.study_name = ?", (name,)).fetchall()
            for trial_id, state in trials:
                attributes = {"host": host, "device": device, "worker": worker, "threads": 4,
                              "cuda_visible_devices": "0" if device.startswith("GPU") else ""}
                for key, value in attributes.items():
                    db.execute("INSERT OR REPLACE INTO trial_user_attributes (trial_id, key, value_json) "
                               "VALUES (?, ?, ?)", (trial_id, key, json.dumps(value)))
                if state in ("COMPLETE", "PRUNED", "FAIL"):
                    count["trials"] += 1
            count["refits"] += db.execute(
                "UPDATE bench_evaluations SET host = ?, device = ? WHERE study_id = ?",
                (host, device, study_id)).rowcount
        if run_workers is not None:
            [(environment,)] = db.execute("SELECT environment FROM bench_runs").fetchall()
            environment = {**json.loads(environment), "workers": run_workers}
            db.execute("UPDATE bench_runs SET environment = ?", (json.dumps(environment),))
    return expected


def _html(ctx: dict) -> str:
    return " ".join(render.render_html(ctx, {}).split())


def _methods_hardware(html: str) -> str:
    start = html.index("<h3>Hardware and software</h3>")
    return html[start:html.index("</p>", start)]


def _reproducibility(html: str) -> str:
    return html[html.index('<h2 class="appendix">Reproducibility</h2>'):]


def test_hardware_table_lists_each_host_with_its_trials_and_refits(tmp_path: Path) -> None:
    path = _stored(tmp_path)
    store = _open(path)
    expected = _distribute(path, {"lenet5": ("gpu-box:1", "gpu-box", GPU),
                                  "simple_cnn": ("cpu-box:1", "cpu-box", CPU),
                                  "diverging": ("cpu-box:2", "cpu-box", CPU)}, run_workers=3)
    ctx = report_context.build(store, "latest")
    hardware = ctx["hardware"]
    assert [(r["host"], r["device"], r["trials"], r["refits"]) for r in hardware["rows"]] == [
        (host, device, n["trials"], n["refits"]) for (host, device), n in sorted(expected.items())]
    assert hardware["hosts"] == 2 and hardware["workers"] == 3 and hardware["concurrent"]
    # The stored run: four trials per model, three refits of each evaluated model.
    assert expected[("gpu-box", GPU)] == {"trials": 4, "refits": 3}
    assert expected[("cpu-box", CPU)] == {"trials": 8, "refits": 3}

    html = _html(ctx)
    appendix = _reproducibility(html)
    assert "Hardware: the trials and final refits each host and device trained" in appendix
    assert (f"<tr><td>cpu-box</td><td>{CPU}</td><td class=\"n\">8</td><td class=\"n\">3</td></tr>"
            in appendix)
    assert (f"<tr><td>gpu-box</td><td>{GPU}</td><td class=\"n\">4</td><td class=\"n\">3</td></tr>"
            in appendix)
    assert f"<th>Training devices</th><td>{CPU}, {GPU} (Table" in appendix
    # Methods names them in one sentence (the run's own machine started it).
    methods = _methods_hardware(html)
    assert (f"the trials and final refits trained on {CPU} on cpu-box (8 trials, 3 final refits) "
            f"and {GPU} on gpu-box (4 trials, 3 final refits), with 3 workers training at once "
            f"(listed in the Reproducibility appendix).") in methods
    assert "training device:" not in methods
    # The discussion's time trade-off says the times span hardware.
    assert any(f"ran on 2 different hosts or devices ({GPU} on gpu-box, {CPU} on cpu-box), so "
               f"their times compare the hardware as well as the models." in paragraph
               for paragraph in ctx["discussion"])


def test_several_workers_make_trial_order_depend_on_timing(tmp_path: Path) -> None:
    path = _stored(tmp_path)
    store = _open(path)
    # Two worker ids among the trials of a run without workers of its own
    # (run --workers 0: `worker` processes joined it): concurrent.
    _distribute(path, {"lenet5": ("w1", "box", CPU), "simple_cnn": ("w2", "box", CPU),
                       "diverging": ("w1", "box", CPU)}, run_workers=0)
    ctx = report_context.build(store, "latest")
    assert ctx["hardware"]["workers"] == 2 and ctx["hardware"]["concurrent"]
    appendix = _reproducibility(_html(ctx))
    assert ("2 workers trained trials at the same time, so the order in which trials were "
            "proposed and finished, and so which parameters the sampler proposed for each, "
            "depended on timing: a rerun with the same seed") in appendix
    assert "<th>Workers</th><td>2 at once</td>" in appendix


def test_one_worker_keeps_the_single_process_text(tmp_path: Path) -> None:
    path = _stored(tmp_path)
    store = _open(path)
    # Two worker ids one after the other: a one-worker run that was resumed.
    _distribute(path, {"lenet5": ("w1", "box", CPU), "simple_cnn": ("w2", "box", CPU),
                       "diverging": ("w1", "box", CPU)}, run_workers=1)
    ctx = report_context.build(store, "latest")
    assert not ctx["hardware"]["concurrent"] and ctx["hardware"]["workers"] == 1
    html = _html(ctx)
    assert "depended on timing" not in html and "at once" not in html
    rows = ctx["hardware"]["rows"]
    assert [(r["host"], r["trials"], r["refits"]) for r in rows] == [("box", 12, 6)]
    assert "<th>Workers</th><td>1</td>" in _reproducibility(html)


def test_a_run_of_format_2_reads_as_before(tmp_path: Path) -> None:
    copy = tmp_path / "format2.db"  # written by the last version of format 2 (make_format2.md)
    shutil.copy(STORED.parent / "format2.db", copy)
    store = _open(copy)
    ctx = report_context.build(store, "20261201-103122-9d1e6c")
    assert ctx["hardware"]["rows"] == [] and not ctx["hardware"]["concurrent"]
    html = _html(ctx)
    device = ctx["run"]["environment"]["device"] or "not recorded"
    environment = ctx["run"]["environment"]
    assert (f"{environment['cpu']} ({environment['cpu_count']} logical cores, "
            f"{environment['memory_gib']} GiB); training device: {device}. Python") in html
    appendix = _reproducibility(html)
    assert f"<tr><th>Training device</th><td>{device}</td></tr>" in appendix
    assert "Hardware:" not in appendix and "Workers" not in appendix
    assert "depended on timing" not in html
    assert not any("hosts or devices" in paragraph for paragraph in ctx["discussion"])


# ------------------------------------------------------------ compare

MACHINE = {"cpu": "Xeon 8480", "cpu_count": 16, "memory_gib": 128.0, "device": GPU}
OTHER = {"cpu": "EPYC 7763", "cpu_count": 8, "memory_gib": 64.0, "device": CPU}
HOST = {"hostname": "coordinator", **MACHINE}
STEADY = ([0.95, 0.951, 0.949], [10.0, 10.2, 9.9])
SLOW = ([0.95, 0.951, 0.949], [13.0, 13.5, 12.8])


def _write(store: Store, run_id: str, night: int, measured: tuple[list[float], list[float]],
           workers: list[dict] | None) -> None:
    """A run with one model; ``workers``: the machine of each of its workers
    (None: a run of format 2, without workers)."""
    started = dt.datetime(2026, 11, 1, 2, tzinfo=dt.UTC) + dt.timedelta(days=night)
    with store.session() as session:
        session.add(RunRecord(id=run_id, suite_name="spread", suite_yaml="", suite={},
                              suite_hash="h1", seed=0, status="finished", command="",
                              environment={**HOST, "packages": {},
                                           **({"workers": len(workers)} if workers else {})},
                              started_at=started, finished_at=started + dt.timedelta(hours=1)))
        session.add(DatasetRecord(run_id=run_id, name="digits", source="sklearn:digits",
                                  summary={"fingerprint": "f1"}))
        study = StudyRecord(run_id=run_id, dataset="digits", model="a", model_name="lenet5",
                            optuna_study=f"{run_id}/a", metric="accuracy", direction="maximize",
                            space=Space.from_spec({"learning_rate": {"low": 0.001, "high": 0.1,
                                                           "log": True}}).to_data())
        session.add(study)
        session.flush()
        for repeat, (score, seconds) in enumerate(zip(*measured)):
            session.add(EvaluationRecord(study_id=study.id, repeat=repeat, seed=repeat,
                                         metrics={"accuracy": score}, confusion=[], history=[],
                                         fit_seconds=seconds, host="box", device=GPU))
        for number, machine in enumerate(workers or []):
            session.add(WorkerRecord(id=f"{run_id}-w{number}", run_id=run_id,
                                     hostname=f"host{number}", pid=100 + number, machine=machine,
                                     started_at=started, heartbeat_at=started, trials=2))


def _time_row(store: Store, a: str, b: str) -> dict:
    rows = compare.compare(nightly.resolve(store, a), nightly.resolve(store, b),
                           compare.Thresholds())
    return {row["metric"]: row for row in rows}


def test_no_time_verdict_when_a_run_trained_on_two_machines(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'bench.db'}")
    _write(store, "base", 0, STEADY, [MACHINE])
    _write(store, "spread", 1, SLOW, [MACHINE, OTHER])
    rows = _time_row(store, "base", "spread")
    time = rows[compare.TIME]
    assert time["verdict"] == "not judged"
    assert time["why"] == ("this run trained on 2 machines; times are compared only between runs "
                           "on one and the same machine")
    assert time["baseline"] == pytest.approx(10.0) and time["current"] == pytest.approx(13.0)
    # Scores are compared as always.
    assert rows["accuracy"]["verdict"] == "unchanged"
    # The other way round names the baseline.
    assert _time_row(store, "spread", "base")[compare.TIME]["why"].startswith(
        "the baseline trained on 2 machines")
    # What changed says so.
    changes = compare.changes(nightly.resolve(store, "base"), nightly.resolve(store, "spread"))
    assert "workers: 1 -> 2" in changes
    assert any(line.startswith("training machines: Xeon 8480, 16 cores, 128.0 GiB, GPU: NVIDIA "
                               "H200 -> Xeon 8480") and "+ EPYC 7763" in line for line in changes)


def test_times_are_judged_when_both_ran_on_one_and_the_same_machine(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'bench.db'}")
    # Two workers on two hosts of one description are one machine for timing.
    _write(store, "base", 0, STEADY, [MACHINE, dict(MACHINE)])
    _write(store, "slow", 1, SLOW, [MACHINE])
    assert _time_row(store, "base", "slow")[compare.TIME]["verdict"] == "slower"
    # A run of format 2 on that machine (its environment describes it) is comparable too.
    _write(store, "old", 2, STEADY, None)
    assert _time_row(store, "old", "slow")[compare.TIME]["verdict"] == "slower"
    # ... and one whose single worker ran on another machine is not.
    _write(store, "moved", 3, SLOW, [OTHER])
    moved = _time_row(store, "base", "moved")[compare.TIME]
    assert (moved["verdict"], moved["why"]) == ("not judged", "different machines")
    # The nightly path reads every run's workers the same way.
    runs = {run.id: run for run in nightly._summaries(store, "spread")}
    assert runs["base"].machines == [MACHINE] and runs["old"].machines == [MACHINE]
    assert runs["moved"].machines == [OTHER]
    with store.session() as session:
        assert len(session.scalars(select(WorkerRecord)).all()) == 4
