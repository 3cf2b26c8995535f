"""Comparisons that help (issue 18): numbers shown when a pair is not judged,
tiny training times ignored, reasons that say what was tested, the nightly
baseline chosen by suite hash (and said why), p-values never printed as 0,
``history`` with full column names, and one ``latest`` link per database.

The verdicts are pure functions: these tests build the runs in memory (no
database, no training), except the one marked slow."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from conftest import run_cli, write_suite

from benchmark import compare, nightly, runner
from benchmark.report.format import p_text
from benchmark.suite import Nightly

HOST = {"hostname": "night-box", "cpu": "cpu", "cpu_count": 2, "memory_gib": 24.0, "device": "CPU"}
SPACE = {"C": "[0.01, 100] (float, log)"}
STEADY = ([0.95, 0.951, 0.949], [10.0, 10.2, 9.9])


def _pair(model: str, measured: tuple[list[float], list[float]] | None, *,
          searched: dict | None = None, fixed: dict | None = None, metric: str = "accuracy",
          dataset: str = "customers") -> compare.Pair:
    scores, seconds = measured or ([], [])
    return compare.Pair(dataset=dataset, model=model, metric=metric, direction="maximize",
                        ok=measured is not None, error=None if measured else "no trial completed",
                        scores={metric: list(scores)}, fit_seconds=list(seconds),
                        searched=dict(SPACE if searched is None else searched),
                        fixed=dict(fixed or {}), fingerprint="f1")


def _run(run_id: str, night: int, pairs: list[compare.Pair], *, suite_hash: str = "h1",
         status: str = "finished", environment: dict | None = None) -> compare.RunSummary:
    return compare.RunSummary(
        id=run_id, suite_name="churn", suite_hash=suite_hash, status=status,
        started_at=dt.datetime(2026, 11, 1, 2, tzinfo=dt.UTC) + dt.timedelta(days=night),
        environment={**HOST, **(environment or {})}, suite={},
        pairs={(p.dataset, p.model): p for p in pairs}, fingerprints={"customers": "f1"})


def _rows(before: compare.RunSummary, after: compare.RunSummary, **thresholds) -> dict:
    rows = compare.compare(before, after, compare.Thresholds(**thresholds))
    return {(row["model"], row["metric"]): row for row in rows}


# ------------------------------------------------------------ not judged

def test_a_changed_search_space_shows_both_scores_and_is_not_judged() -> None:
    base = _run("base", 0, [_pair("svm", STEADY), _pair("forest", STEADY)])
    wider = _run("wider", 1, [_pair("svm", ([0.90, 0.90, 0.90], [3.0, 3.1, 3.0]),
                                    searched={"C": "[0.001, 1000] (float, log)"}),
                              _pair("forest", STEADY)])
    rows = _rows(base, wider)
    score, time = rows[("svm", "accuracy")], rows[("svm", compare.TIME)]
    assert score["verdict"] == time["verdict"] == "not judged"
    assert score["why"] == "search space changed (C)"
    assert score["baseline"] == pytest.approx(0.95) and score["current"] == pytest.approx(0.90)
    assert score["change"] == pytest.approx(-0.05)
    assert time["baseline"] == pytest.approx(10.0) and time["current"] == pytest.approx(3.0)
    # Not a regression, however much the score fell; the unchanged pair is judged as usual.
    assert not compare.regressions(list(rows.values()))
    assert rows[("forest", "accuracy")]["verdict"] == "unchanged"
    # The summary line shows both numbers next to the reason.
    line = compare.line(score)
    assert line.startswith("NOT JUDGED      customers / svm: accuracy 0.9500 -> 0.9000 (-0.0500)")
    assert line.endswith("; search space changed (C)")


def test_not_judged_with_a_failure_still_shows_the_score_it_has() -> None:
    base = _run("base", 0, [_pair("svm", STEADY)])
    failed = _run("failed", 1, [_pair("svm", None, searched={"C": "[1, 2] (float)"})])
    [row] = compare.compare(base, failed, compare.Thresholds())
    assert row["verdict"] == "not judged" and row["current"] is None
    assert row["baseline"] == pytest.approx(0.95)
    assert row["why"] == "search space changed (C); this run failed: no trial completed"
    assert "0.9500 -> –" in compare.line(row)


def test_training_time_on_another_machine_is_shown_not_judged() -> None:
    base = _run("base", 0, [_pair("svm", STEADY)])
    elsewhere = _run("elsewhere", 1, [_pair("svm", (STEADY[0], [30.0, 31.0, 30.5]))],
                     environment={"hostname": "other-box", "cpu": "slower cpu"})
    row = _rows(base, elsewhere)[("svm", compare.TIME)]
    assert (row["verdict"], row["why"]) == ("not judged", "different machines")
    assert row["current"] == pytest.approx(30.5) and row["change"] == pytest.approx(3.05)


# ------------------------------------------------------------ training time

def test_tiny_training_times_are_noise_below_min_seconds() -> None:
    # The case: an identical configuration, 0.11 s -> 0.02 s.
    row = compare.judge_time([0.11, 0.10, 0.12], [0.02, 0.02, 0.03], 1.2)
    assert row["verdict"] == "unchanged"
    assert row["why"] == ("median changed by -0.09 s, less than the 1 s floor "
                          "(nightly.min_seconds)")
    # The floor comes from the suite; 0 judges by the ratio alone.
    assert compare.judge_time([0.11, 0.10, 0.12], [0.02, 0.02, 0.03], 1.2,
                              min_seconds=0)["verdict"] == "faster"
    base = _run("base", 0, [_pair("svm", ([0.9], [0.11]))])
    now = _run("now", 1, [_pair("svm", ([0.9], [0.02]))])
    assert _rows(base, now)[("svm", compare.TIME)]["verdict"] == "unchanged"
    assert _rows(base, now, min_seconds=0.01)[("svm", compare.TIME)]["verdict"] == "faster"


def test_time_reasons_say_which_test_decided() -> None:
    slower = compare.judge_time([10.0, 10.2, 9.9], [13.0, 13.5, 12.8], 1.2)
    assert slower["verdict"] == "slower"
    assert slower["why"] == ("ratio x1.30 > x1.2, +3.00 s, and every refit slower than every "
                             "baseline refit")
    within = compare.judge_time([10.0, 10.2, 9.9], [11.5, 11.0, 11.2], 1.2)
    assert within["why"] == "ratio x1.12 is within x0.833..x1.2 (nightly.slowdown)"
    # The self-contradiction: a ratio beyond the factor, yet "within".
    overlap = compare.judge_time([1.0, 1.1, 3.0], [2.0, 2.2, 2.5], 1.2)
    assert overlap["verdict"] == "unchanged"
    assert overlap["why"] == ("ratio x2.00 > x1.2, but the refit times overlap (baseline "
                              "1.00-3.00 s, this run 2.00-2.50 s)")
    assert "within" not in overlap["why"]
    faster = compare.judge_time([10.0, 10.2, 9.9], [5.0, 5.1, 4.9], 1.2)
    assert faster["verdict"] == "faster" and faster["why"].startswith("ratio x0.50 < x0.833")


def test_min_seconds_in_the_suite_and_old_suites_keep_their_hash() -> None:
    assert Nightly().min_seconds == 1.0
    assert "min_seconds" not in Nightly().model_dump(mode="json")  # same hash as before it existed
    assert Nightly(min_seconds=5).model_dump(mode="json")["min_seconds"] == 5
    assert compare.thresholds_of({"nightly": {"min_seconds": 0.5}}).min_seconds == 0.5
    with pytest.raises(ValueError):
        Nightly(min_seconds=-1)


# ------------------------------------------------------------ p-values

def test_tiny_p_values_print_as_below_0_001() -> None:
    assert p_text(0.0) == "p < 0.001" and p_text(1e-9) == "p < 0.001"
    assert p_text(0.0123) == "p = 0.012"
    row = compare.judge_score([0.95, 0.951, 0.949], [0.80, 0.801, 0.799], higher_is_better=True,
                              thresholds=compare.Thresholds())
    assert row["verdict"] == "worse" and row["p_value"] < 0.001
    assert "Welch t-test p < 0.001, below nightly.alpha 0.05" in row["why"]
    assert "p = 0" not in row["why"]
    # Identical repeats: no test, and no made-up p-value either.
    exact = compare.judge_score([0.9, 0.9], [0.8, 0.8], higher_is_better=True,
                                thresholds=compare.Thresholds())
    assert exact["p_value"] is None and "repeats identical within each run" in exact["why"]
    noise = compare.judge_score([0.90, 0.96, 0.93], [0.95, 0.951, 0.949], higher_is_better=True,
                                thresholds=compare.Thresholds())
    assert noise["verdict"] == "unchanged" and noise["why"].startswith(
        "Welch t-test over the repeats: p = 0.")


# ------------------------------------------------------------ the baseline

def test_the_baseline_has_the_same_suite_hash_and_says_why() -> None:
    nights = [_run("n0", 0, [_pair("forest", STEADY)]),
              _run("n1", 1, [_pair("forest", STEADY)]),
              # a one-off `nightly --set models.0.params.max_depth=1`: another hash
              _run("depth1", 2, [_pair("forest", ([0.6] * 3, [1.0] * 3))], suite_hash="h2"),
              _run("killed", 3, [_pair("forest", STEADY)], status="interrupted")]
    tonight = _run("tonight", 4, [_pair("forest", STEADY)])
    runs = [*nights, tonight]
    base, why = compare.choose_baseline(runs, tonight)
    assert base.id == "n1"
    assert why == ("the last finished run on this machine with the same suite hash (h1); "
                   "1 later run with another suite hash (e.g. a --set experiment) skipped")
    assert compare.pick_baseline(runs, tonight).id == "n1"
    # The suite itself changed: no run has its hash, the last finished run is the baseline.
    edited = _run("edited", 4, [_pair("forest", STEADY)], suite_hash="h3")
    base, why = compare.choose_baseline([*nights, edited], edited)
    assert base.id == "depth1"
    assert why == ("no earlier finished run on this machine has this suite hash (h3): the suite "
                   "changed, so the last finished run of the suite (hash h2)")
    base, why = compare.choose_baseline(runs, tonight, "n0", "--baseline")
    assert (base.id, why) == ("n0", "pinned by --baseline")
    assert compare.choose_baseline([tonight], tonight) == (
        None, "no earlier finished run of the suite on this machine")


def test_the_night_band_leaves_out_other_configurations() -> None:
    runs = [_run("a", 0, [_pair("forest", ([0.95], [1.0]))]),
            _run("b", 1, [_pair("forest", ([0.60], [1.0]))], suite_hash="h2"),
            _run("c", 2, [_pair("forest", ([0.94], [1.0]))]),
            _run("d", 3, [_pair("forest", ([0.96], [1.0]))])]
    assert [r.id for r in compare.history_for(runs, runs[-1], 7)] == ["a", "c", "d"]
    # Within one hash, a run whose fixed parameters differ is no night of the band either.
    odd = _run("odd", 4, [_pair("forest", ([0.60], [1.0]), fixed={"max_depth": "1 (fixed)"})])
    tonight = _run("tonight", 5, [_pair("forest", ([0.91], [1.0]))])
    nights = [*compare.history_for(runs, runs[-1], 7), odd]
    row = compare.compare(runs[-1], tonight, compare.Thresholds(), nights)[0]
    assert row["why"] == "inside the night-to-night band 0.9003..0.9997 of 3 earlier nights"
    assert row["verdict"] == "unchanged"


def test_the_summary_names_the_baseline_and_why() -> None:
    base, now = _run("n1", 1, [_pair("forest", STEADY)]), _run("n2", 2, [_pair("forest", STEADY)])
    rows = compare.compare(base, now, compare.Thresholds())
    comparison = nightly.Comparison(base, now, rows, [], [base, now],
                                    baseline_why="the last finished run on this machine with "
                                                 "the same suite hash (h1)")
    lines = nightly.summary_lines(comparison)
    assert lines[1] == ("  baseline n1: the last finished run on this machine with the same "
                        "suite hash (h1)")
    assert nightly.described("previous").startswith("previous: the last finished run")
    assert nightly.described("20261101-020000-abcdef") == "given by its id"


# ------------------------------------------------------------ history

def test_history_shows_full_column_names_and_the_metric(monkeypatch: pytest.MonkeyPatch) -> None:
    long = "logistic_regression_balanced"
    runs = [_run("20261101-020000-aaaaaa", 0,
                 [_pair("random_forest", STEADY, metric="f1", dataset="customers"),
                  _pair(long, None, metric="f1", dataset="customers")]),
            _run("20261102-020000-bbbbbb", 1,
                 [_pair("random_forest", STEADY, metric="f1", dataset="customers"),
                  _pair(long, STEADY, metric="f1", dataset="customers")])]
    monkeypatch.setattr(nightly, "_summaries", lambda store, name: runs)
    lines = nightly.history(None, "churn")
    assert lines[0].startswith("suite churn: test f1 (mean over the final refits)")
    assert lines[1] == "  [1] customers / random_forest: f1"
    assert lines[2] == f"  [2] customers / {long}: f1"
    header, first, second = lines[3:]
    assert header.split() == ["run", "status", "host", "[1]", "[2]"]
    assert first.split()[-1] == "failed" and "0.9500 10.0 s" in second
    # Columns line up: every cell ends where its header label ends.
    assert len({len(line) for line in (header, first, second)}) == 1


def test_history_names_the_metric_of_a_column_whose_metric_changed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    runs = [_run("r1", 0, [_pair("svm", STEADY, metric="accuracy")]),
            _run("r2", 1, [_pair("svm", STEADY, metric="f1")])]
    monkeypatch.setattr(nightly, "_summaries", lambda store, name: runs)
    lines = nightly.history(None, "churn")
    assert lines[0].startswith("suite churn: test accuracy / f1")
    assert lines[1] == "  [1] customers / svm: accuracy, then f1"
    assert lines[-2].endswith("accuracy 0.9500 10.0 s") and lines[-1].endswith("f1 0.9500 10.0 s")


# ------------------------------------------------------------ latest

def test_one_latest_link_per_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BENCHMARK_STORAGE", raising=False)
    assert runner.latest_name("sqlite:///reports/benchmark.db") == "latest"
    assert runner.latest_name(f"sqlite:///{tmp_path / 'reports' / 'benchmark.db'}") == "latest"
    assert runner.latest_name("sqlite:///nightly.db") == "latest-nightly"
    assert runner.latest_name("postgresql://bench:secret@db.example/bench") == \
        "latest-bench-db.example"
    assert runner.latest_name("postgresql://bench@/bench?host=/var/run/postgresql") == \
        "latest-bench"
    # BENCHMARK_STORAGE names the database commands use without --storage: it owns `latest`.
    monkeypatch.setenv("BENCHMARK_STORAGE", "postgresql://bench@db.example/bench")
    assert runner.latest_name("postgresql://bench@db.example/bench") == "latest"
    assert runner.latest_name("sqlite:///reports/benchmark.db") == "latest-benchmark"

    folder = tmp_path / "reports" / "churn"
    for run_id, storage in (("r1", "sqlite:///reports/benchmark.db"),
                            ("r2", "postgresql://bench:secret@db.example/bench")):
        (folder / run_id).mkdir(parents=True)
        runner._point_latest(folder / run_id, storage)
    assert os.readlink(folder / "latest-benchmark") == "r1"
    assert os.readlink(folder / "latest-bench-db.example") == "r2"
    assert (folder / "r2" / "database.txt").read_text() == \
        "postgresql://bench:***@db.example/bench\n"


IRIS = """
    name: irisnight
    datasets:
      iris: {source: 'sklearn:iris'}
    models: [{model: knn}]
    study: {n_trials: 2, seed: 1}
    """


@pytest.mark.slow
def test_a_nightly_on_another_database_leaves_latest_to_the_default(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENCHMARK_STORAGE", raising=False)  # run_cli passes os.environ on
    suite = write_suite(tmp_path, IRIS, "irisnight.yaml")
    first = run_cli("run", str(suite), "--quiet", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    other = run_cli("nightly", str(suite), "--storage", "sqlite:///other.db", "--quiet",
                    cwd=tmp_path)
    assert other.returncode == 0, other.stdout + other.stderr
    report = run_cli("report", "latest", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    folder = tmp_path / "reports" / "irisnight"
    default_run = report.stdout.split("HTML report: ")[1].split("/")[-2]
    assert os.readlink(folder / "latest") == default_run  # `report latest` agrees
    other_run = os.readlink(folder / "latest-other")
    assert other_run != default_run
    assert (folder / other_run / "database.txt").read_text() == "sqlite:///other.db\n"
