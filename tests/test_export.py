"""Results to take away: ``export`` (JSON, CSV, LaTeX) from a stored run
(tests/data/stored_run.db, as in test_report.py), the results files and the
terminal table at the end of ``run``, and the progress lines' time estimate."""

from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stdout
from pathlib import Path

import pandas as pd
import pytest

from benchmark import export
from benchmark.cli import main
from benchmark.report import context as report_context
from benchmark.store import Store
from conftest import run_cli, write_suite

STORED = Path(__file__).resolve().parent / "data" / "stored_run.db"


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The stored run copied, its report context, and what ``export`` writes of it."""
    folder = tmp_path_factory.mktemp("export")
    shutil.copy(STORED, folder / "stored.db")
    url = f"sqlite:///{folder / 'stored.db'}"
    # JSON from the database as a user runs it; the context that export built
    # is kept to compare with (each build takes seconds), and the CSV reuses it.
    built, build = [], report_context.build
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(report_context, "build", lambda store, run_id: built.append(
            build(store, run_id)) or built[-1])
        assert main(["export", "latest", "--format", "json", "--output",
                     str(folder / "out.json"), "--storage", url]) == 0
    (ctx,) = built
    assert ctx["run"]["id"] == Store(url, create=False).resolve("latest").id
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(report_context, "build", lambda store, run_id: ctx)
        assert main(["export", "latest", "--format", "csv", "--output", str(folder / "out.csv"),
                     "--storage", url]) == 0
    return {"url": url, "ctx": ctx, "folder": folder,
            "json": json.loads((folder / "out.json").read_text()),
            "csv": pd.read_csv(folder / "out.csv")}


def test_json_export_round_trips_the_reports_numbers(stored: dict) -> None:
    ctx, doc = stored["ctx"], stored["json"]
    assert doc["run"]["id"] == ctx["run"]["id"] and doc["run"]["seed"] == ctx["run"]["seed"]
    assert doc["environment"] == ctx["run"]["environment"]
    assert doc["selected"] == {d: r.label for d, r in ctx["best"].items()}
    assert [(e["dataset"], e["model"]) for e in doc["results"]] == \
        [(r.dataset, r.label) for r in ctx["results"]]
    for entry, result in zip(doc["results"], ctx["results"]):
        assert entry["ok"] == result.ok and entry["error"] == result.error
        assert entry["selected"] == (ctx["best"].get(result.dataset) is result)
        assert entry["validation_score"] == result.best_value
        assert entry["best_params"] == result.best_params
        assert entry["threshold"] == result.threshold
        assert entry["timings"] == {"search_seconds": result.search_seconds,
                                    "fit_seconds": result.fit_seconds,
                                    "fit_seconds_std": result.fit_seconds_std}
        assert set(entry["test"]) == set(result.repeat_scores)
        for metric, values in entry["test"].items():
            # Numbers, not "0.9602 ± 0.002": exactly the report's.
            assert values["mean"] == result.test[metric]
            assert values["std"] == result.test_std[metric]
            assert [values["ci_low"], values["ci_high"]] == list(result.test_ci[metric])
            assert values["values"] == result.repeat_scores[metric]
            # The test-set (bootstrap) interval and the "refits identical" flag,
            # where the report's context has them.
            bootstrap = (getattr(result, "test_bootstrap", None) or {}).get(metric)
            if bootstrap:
                assert [values["test_set_ci_low"], values["test_set_ci_high"]] == list(bootstrap)
            identical = (getattr(result, "identical", None) or {}).get(metric)
            if identical is not None:
                assert values["refits_identical"] == identical
    assert any(e["test"] for e in doc["results"]) and any(not e["ok"] for e in doc["results"])


def test_csv_export_has_one_row_per_pair_with_the_same_numbers(stored: dict) -> None:
    ctx, table = stored["ctx"], stored["csv"]
    assert list(zip(table["dataset"], table["model"])) == \
        [(r.dataset, r.label) for r in ctx["results"]]
    for (_, row), result in zip(table.iterrows(), ctx["results"]):
        assert bool(row["selected"]) == (ctx["best"].get(result.dataset) is result)
        if not result.ok:
            assert pd.isna(row["test"]) and "no trial completed" in row["error"]
            continue
        metric = result.metric
        assert row["metric"] == metric
        assert row["test"] == pytest.approx(result.test[metric], rel=1e-15)
        assert (row["test_ci_low"], row["test_ci_high"]) == pytest.approx(
            result.test_ci[metric], rel=1e-15)
        assert row["validation_score"] == pytest.approx(result.best_value, rel=1e-15)
        assert row["fit_seconds"] == pytest.approx(result.fit_seconds, rel=1e-15)
        assert row["n_params"] == result.n_params and row["repeats"] == result.repeats
        assert json.loads(row["best_params"]) == result.best_params
        for other in result.repeat_scores:
            if other != metric:
                assert row[f"test_{other}"] == pytest.approx(result.test[other], rel=1e-15)
    # Every numeric column is read back as numbers.
    for column in ("test", "test_ci_low", "test_ci_high", "fit_seconds", "search_seconds"):
        assert pd.api.types.is_float_dtype(table[column])


def test_latex_export_is_a_booktabs_table_of_the_same_numbers(stored: dict) -> None:
    ctx = stored["ctx"]
    text = export.to_latex(export.document(ctx))
    assert "\\toprule" in text and "\\midrule" in text and "\\bottomrule" in text
    assert "±" not in text
    selected = ctx["best"]["digits"]
    bold_row = next(line for line in text.splitlines() if f"\\bfseries {selected.label}" in line)
    low, high = selected.test_ci[selected.metric]
    for value in (selected.best_value, selected.test[selected.metric], low, high):
        assert f"\\bfseries {value:.4f}" in bold_row
    assert "simple\\_cnn" in text  # escaped


def test_export_prints_to_stdout_and_refuses_an_unknown_run(stored: dict,
                                                           capsys: pytest.CaptureFixture) -> None:
    assert main(["export", "no-such-run", "--storage", stored["url"]]) == 2
    assert "not found" in capsys.readouterr().err


def test_test_set_interval_is_exported_when_the_context_has_one(
        stored: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = stored["ctx"]
    selected = ctx["best"]["digits"]
    # The report context's bootstrap interval over the test samples (set by hand here).
    monkeypatch.setattr(selected, "test_bootstrap", {"accuracy": (0.94, 0.975)}, raising=False)
    doc = export.document(ctx)
    lines = export.table_lines(doc)
    table = export.rows(doc=doc)
    entry = next(e for e in doc["results"] if e["model"] == selected.label)
    assert (entry["test"]["accuracy"]["test_set_ci_low"],
            entry["test"]["accuracy"]["test_set_ci_high"]) == (0.94, 0.975)
    assert table[0]["test_set_ci_low"] == 0.94
    assert "95% CI (test set)" in lines[1] and "0.9400–0.9750" in lines[2]
    assert "\\toprule" in export.to_latex(doc) and "test-set low" in export.to_latex(doc)


def test_terminal_table_marks_the_selected_model(stored: dict) -> None:
    lines = export.table_lines(export.document(stored["ctx"]))
    selected = stored["ctx"]["best"]["digits"]
    marked = [line for line in lines if line.lstrip().startswith("*")]
    assert len(marked) == 1 and selected.label in marked[0]
    low, high = selected.test_ci["accuracy"]
    assert f"{low:.4f}–{high:.4f}" in marked[0]
    assert any("diverging: no result" in line for line in lines)


def test_progress_shows_elapsed_time_and_an_estimate_of_what_is_left() -> None:
    from benchmark.runner import Progress, _clock

    progress = Progress(enabled=False)
    progress.start("d / m", 4)
    progress.started -= 10.0  # ten seconds in, two of four trials done
    progress.done = 2
    assert progress.timing().startswith("10.") and "~10." in progress.timing()
    progress.start("d / m", None, timeout=60.0)
    progress.started -= 15.0
    progress.done = 3
    assert "~45." in progress.timing()
    progress.start("d / m", 100, timeout=30.0)  # the timeout ends it first
    progress.started -= 20.0
    progress.done = 1
    assert "~10." in progress.timing()
    assert _clock(185) == "3 min 05 s" and _clock(3720) == "1 h 02 min"


TINY_TABULAR = """
    name: tiny_tabular
    datasets:
      iris: {source: "sklearn:iris"}
    models:
      - model: logistic_regression
        search:
          C: {low: 0.1, high: 10.0, log: true}
    study:
      n_trials: 2
      metric: accuracy
      seed: 1
    evaluation:
      repeats: 2
    """


@pytest.mark.slow  # one real run with its report: about 30 s on two shared cores
def test_run_prints_a_results_table_and_writes_results_files(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, TINY_TABULAR, "tiny_tabular.yaml")
    result = run_cli("run", str(suite), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "elapsed" in result.stderr and "left" in result.stderr  # progress lines
    out = result.stdout.splitlines()
    marked = [line for line in out if line.lstrip().startswith("* ")]
    assert len(marked) == 1 and "iris" in marked[0] and "logistic_regression" in marked[0]
    assert any("test accuracy" in line and "95% CI" in line for line in out)
    run_dir = next((tmp_path / "reports" / "tiny_tabular").glob("2*"))
    doc = json.loads((run_dir / "results.json").read_text())
    (entry,) = doc["results"]
    assert entry["selected"] and isinstance(entry["test"]["accuracy"]["mean"], float)
    assert entry["best_params"]["C"] > 0 and doc["environment"]["python"].startswith("3.")
    table = pd.read_csv(run_dir / "results.csv")
    assert len(table) == 1 and table["test"][0] == pytest.approx(entry["test"]["accuracy"]["mean"])
    # The run's files and a later export of the stored run agree.
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        assert main(["export", doc["run"]["id"], "--format", "json", "--storage",
                     f"sqlite:///{tmp_path / 'reports' / 'benchmark.db'}"]) == 0
    exported = json.loads(buffer.getvalue())
    assert exported["results"] == doc["results"]
