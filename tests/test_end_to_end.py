"""The tiny suite through ``python -m benchmark run`` twice, as a user runs it:
real training in worker processes, a real SQLite database, a real PDF."""

from __future__ import annotations

import subprocess
from pathlib import Path

import optuna
import pytest

from benchmark.report.format import number
from benchmark.store import Store
from conftest import run_cli


# The session's tiny suite run twice (about 2 minutes): CI runs this module;
# the fast loop's end-to-end run is test_user_code's one-trial run.
pytestmark = pytest.mark.slow

def _paths(result: subprocess.CompletedProcess) -> tuple[Path, Path]:
    """The report paths the command printed, relative to the directory it ran in."""
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    cwd = Path(result.cwd)
    return cwd / lines["HTML report"].strip(), cwd / lines["PDF report"].strip()


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_run_succeeds_and_prints_report_paths(tiny_run: dict) -> None:
    for result in tiny_run["results"]:
        assert result.returncode == 0, result.stderr[-3000:]
        html, pdf = _paths(result)
        assert html.exists() and pdf.exists()
        assert pdf.read_bytes().startswith(b"%PDF")
    # live progress names the study, the trial and the best so far
    progress = tiny_run["results"][0].stderr
    assert "digits / lenet5: searching (3 trials)" in progress
    assert "trial   2" in progress and "best 0." in progress


def test_latest_points_at_the_newest_run(tiny_run: dict) -> None:
    html, _ = _paths(tiny_run["results"][1])
    latest = tiny_run["workdir"] / "reports" / "tiny" / "latest"
    assert latest.is_symlink() and latest.resolve() == html.parent.resolve()


def test_run_record_describes_itself(tiny_run: dict) -> None:
    run = Store(tiny_run["storage"], create=False).resolve("latest")
    assert run.status == "finished" and run.finished_at is not None
    assert run.seed == 7 and len(run.suite_hash) == 16 and "lenet5" in run.suite_yaml
    for package in ("tensorflow", "keras", "optuna", "scikit-learn"):
        assert run.environment["packages"][package]
    assert run.environment["python"].startswith("3.")
    assert run.environment["cpu"] and run.environment["device"] == "CPU"
    assert run.command.startswith("python -m benchmark run")
    assert [s.model for s in run.studies] == ["lenet5", "custom_cnn", "diverging"]


def test_failed_trials_are_recorded_and_the_search_goes_on(tiny_run: dict) -> None:
    run = Store(tiny_run["storage"], create=False).resolve("latest")
    diverging = next(s for s in run.studies if s.model == "diverging")
    trials = optuna.load_study(study_name=diverging.optuna_study, storage=tiny_run["storage"]).trials
    assert len(trials) == 3
    assert all(t.state == optuna.trial.TrialState.FAIL for t in trials)
    assert all("loss became" in t.user_attrs["error"] for t in trials)
    assert diverging.evaluations == [] and "no trial completed" in diverging.error
    lenet = next(s for s in run.studies if s.model == "lenet5")
    assert lenet.evaluations and 0.3 < lenet.evaluations[0].metrics["accuracy"] <= 1.0


def test_same_seed_gives_same_trials_and_metrics(tiny_run: dict) -> None:
    store = Store(tiny_run["storage"], create=False)
    with store.session() as session:
        from sqlalchemy import select

        from benchmark.store import RunRecord
        ids = session.scalars(select(RunRecord.id).order_by(RunRecord.started_at)).all()
    assert len(ids) == 2
    first, second = (store.resolve(run_id) for run_id in ids)
    for a, b in zip(first.studies, second.studies, strict=True):
        trials_a = optuna.load_study(study_name=a.optuna_study, storage=store.url).trials
        trials_b = optuna.load_study(study_name=b.optuna_study, storage=store.url).trials
        assert [t.params for t in trials_a] == [t.params for t in trials_b]
        assert [t.value for t in trials_a] == [t.value for t in trials_b]
        assert [e.metrics for e in a.evaluations] == [e.metrics for e in b.evaluations]


def test_report_holds_the_comparison_with_the_stored_numbers(tiny_run: dict) -> None:
    run = Store(tiny_run["storage"], create=False).resolve("latest")
    html_path, pdf_path = _paths(tiny_run["results"][1])
    html = html_path.read_text()
    pdf = _pdf_text(pdf_path)
    for text in (html, pdf):
        assert "Comparison of the models" in text
        assert "Best hyper-parameters per model" in text
        assert "Data sets and splits" in text
    for study in run.studies:
        if study.evaluations:
            test_accuracy = number(study.evaluations[0].metrics["accuracy"])
            parameters = f"{study.evaluations[0].n_params:,}"
            assert test_accuracy in html and test_accuracy in pdf
            assert parameters in html and parameters in pdf
    assert "no trial completed" in html
    assert html.count("<img") >= 4  # search history, 2 curve figures, confusion matrix
    assert "TABLE I" in pdf.upper() and "Fig. 1." in pdf


def test_report_command_rerenders_from_the_database_alone(tiny_run: dict, tmp_path: Path) -> None:
    html_before = _paths(tiny_run["results"][1])[0].read_text()
    result = run_cli("report", "latest", "--storage", tiny_run["storage"],
                     "--reports-dir", str(tmp_path), cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    html, pdf = _paths(result)
    assert html.is_relative_to(tmp_path) and pdf.exists()
    assert html.read_text() == html_before
    assert not (html.parent / "worker.log").exists()  # nothing was trained


def test_report_of_unknown_run_is_one_line(tiny_run: dict, tmp_path: Path) -> None:
    result = run_cli("report", "no-such-run", "--storage", tiny_run["storage"], cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("error: run 'no-such-run' not found") and result.stderr.count("\n") == 1
