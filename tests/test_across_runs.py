"""Conclusions across data sets and budgets, as a user gets them: the
make_classification source, study.budget: equal_time, and a run over several
data sets whose report ranks the models, tests them across data sets
(Friedman / Nemenyi or Wilcoxon, checked against scipy on the run's own
scores) and draws the score-against-budget figures."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import optuna
import pytest
from scipy import stats

from benchmark.datasets import sources
from benchmark.errors import DataError
from benchmark.store import Store
from conftest import REPO, run_cli, write_suite


def test_make_classification_takes_its_parameters_as_options() -> None:
    source = sources.get("sklearn:make_classification")
    data = source.load(n_samples=300, n_features=8, n_informative=3, n_classes=3,
                       weights=[0.6, 0.3, 0.1], random_state=4)
    assert data.x.shape == (300, 8) and data.kind == "tabular"
    assert list(data.x.columns) == [f"x{i}" for i in range(8)]
    assert data.class_names == ["0", "1", "2"]
    counts = np.bincount(data.y)
    assert counts[0] > counts[1] > counts[2]  # the weights were applied
    again = source.load(n_samples=300, n_features=8, n_informative=3, n_classes=3,
                        weights=[0.6, 0.3, 0.1], random_state=4)
    assert np.array_equal(data.x.to_numpy(), again.x.to_numpy())  # random_state fixes the data
    with pytest.raises(DataError, match=r"options.n_classes: 1 is not a valid n_classes; "
                                        r"valid: a whole number > 1"):
        source.load(n_classes=1)
    with pytest.raises(DataError, match="make_classification refused these options: "
                                        "Number of informative"):
        source.load(n_features=3, n_informative=5)


def test_bad_budget_is_one_line(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, """
        name: bad
        datasets: {iris: {source: "sklearn:iris"}}
        models: [{model: knn}]
        study: {n_trials: 5, budget: equal_time}
        """)
    result = run_cli("validate", str(suite), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "study.budget" in result.stderr and "set study.timeout" in result.stderr
    suite.write_text(suite.read_text().replace("equal_time", "equal_trials"))
    result = run_cli("validate", str(suite), cwd=tmp_path)
    assert result.returncode == 2 and "'trials' or 'equal_time', got 'equal_trials'" in result.stderr


@pytest.mark.slow  # ~40 s: two real searches to their time budget
def test_equal_time_gives_each_model_the_same_summed_training_time(tmp_path: Path) -> None:
    """A cheap model (a shallow tree) and one whose trials cost far more (a
    forest of 300 trees): with the same summed training time the cheap one runs
    many more trials (here all 15 that n_trials allows), the forest stops once
    its time is spent (overshooting by less than its last trial), and the
    report says which budget it used."""
    suite = write_suite(tmp_path, """
        name: equal
        datasets: {wine: {source: "sklearn:wine", preprocess: {scale: standard}}}
        models:
          - model: decision_tree
            search: {max_depth: {low: 1, high: 6}}
          - model: random_forest
            search: {n_estimators: 300, max_depth: {low: 2, high: 8}}
        study: {budget: equal_time, timeout: 1.5, n_trials: 15, seed: 1}
        """)
    storage = f"sqlite:///{tmp_path / 'b.db'}"
    result = run_cli("run", str(suite), "--storage", storage, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    run = Store(storage, create=False).resolve("latest")
    spent = {}
    for study in run.studies:
        trials = optuna.load_study(study_name=study.optuna_study, storage=storage).get_trials()
        # Training time as the workers measured it: a process's start and
        # imports, paid by the first trial, do not count against its model.
        seconds = [t.user_attrs["fit_seconds"] for t in trials]
        spent[study.model] = (len(trials), sum(seconds))
        # One worker checks the budget before each trial: it stops at the first
        # trial that reaches it, or at n_trials.
        assert (1.5 <= sum(seconds) < 1.5 + seconds[-1]
                or (len(trials) == 15 and sum(seconds) < 1.5)), (study.model, seconds)
    assert spent["random_forest"][1] >= 1.5  # its time ran out before its 15 trials
    assert spent["decision_tree"][0] > 3 * spent["random_forest"][0], spent
    html = next((tmp_path / "reports" / "equal").glob("*/report.html")).read_text()
    assert "1.5 s of summed training time per study (study.budget: equal_time" in html


@pytest.mark.slow  # about 3 to 4 minutes on 2 cores
def test_tabular_multi_ranks_and_tests_models_across_data_sets(tmp_path: Path) -> None:
    result = run_cli("run", str(REPO / "suites" / "tabular_multi.yaml"), "--set",
                     "study.n_trials=6", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = next((tmp_path / "reports" / "tabular_multi").glob("2*"))
    rows = json.loads((run_dir / "results.json").read_text())
    rows = rows["results"] if isinstance(rows, dict) else rows
    datasets = ["iris", "wine", "breast_cancer", "generated_wide", "generated_imbalanced"]
    models = ["random_forest", "svm", "logistic_regression", "knn"]

    def score(row: dict) -> float:
        return row["test"]["accuracy"]["mean"] if isinstance(row["test"]["accuracy"], dict) \
            else row["test"]["accuracy"]

    table = np.array([[score(next(r for r in rows if r["dataset"] == d and r["model"] == m))
                       for m in models] for d in datasets])
    # Ranks and the Friedman test recomputed from the run's own scores.
    ranks = np.array([stats.rankdata(-row) for row in table])
    average = ranks.mean(axis=0)
    n, k = table.shape
    chi2 = 12 * n / (k * (k + 1)) * (np.sum(average ** 2) - k * (k + 1) ** 2 / 4)
    html = (run_dir / "report.html").read_text()
    assert "Across data sets" in html
    for model, rank in zip(models, average):
        assert f"<strong>{rank:.2f}</strong>" in html, (model, rank)
    assert f"= {chi2:.2f} (3 d.f." in html
    # One score-against-budget figure per data set; the diagram when Friedman rejects.
    figures = {p.stem for p in (run_dir / "figures").glob("*.svg")}
    assert {f"budget-{d}" for d in datasets} <= figures
    f_f = (n - 1) * chi2 / (n * (k - 1) - chi2)
    rejected = stats.f.sf(f_f, k - 1, (k - 1) * (n - 1)) < 0.05
    assert ("critical-difference" in figures) == rejected
    text = subprocess.run(["pdftotext", "-layout", str(run_dir / "report.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "Across data sets" in text and "Demšar" in text
    assert re.search(r"Across the 5 data sets, .+ the best average rank", text.replace("\n", " "))
    if rejected:
        assert "Critical-difference diagram" in text


@pytest.mark.slow  # ~35 s: a search and its curve's refits
def test_learning_curve_refits_on_growing_fractions(tmp_path: Path) -> None:
    """evaluation.learning_curve: each fraction refitted `repeats` times on a
    stratified sample of the training split, the whole split being the final
    refits; stored with the study, drawn, and read in the discussion."""
    suite = write_suite(tmp_path, """
        name: curve
        datasets:
          generated:
            source: sklearn:make_classification
            options: {n_samples: 600, n_features: 10, n_informative: 4, random_state: 3}
        models:
          - model: logistic_regression
            search: {C: {low: 0.01, high: 10.0, log: true}}
          - model: knn
            search: {n_neighbors: {low: 1, high: 15}}
        study: {n_trials: 3, seed: 5}
        evaluation: {repeats: 2, learning_curve: [0.1, 0.4, 1.0]}
        """)
    storage = f"sqlite:///{tmp_path / 'b.db'}"
    result = run_cli("run", str(suite), "--storage", storage, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    run = Store(storage, create=False).resolve("latest")
    train = run.datasets[0].summary["split_sizes"]["train"]
    for study in run.studies:
        curve = study.learning_curve
        assert [p["fraction"] for p in curve] == [0.1, 0.4, 1.0]
        assert [p["samples"] for p in curve[:2]] == [round(0.1 * train), round(0.4 * train)]
        assert all(len(p["scores"]) == 2 for p in curve)
        # The whole split's point is the final refits' own test scores.
        assert curve[-1]["scores"] == [e.metrics["accuracy"] for e in study.evaluations]
    run_dir = tmp_path / "reports" / "curve" / run.id
    assert (run_dir / "figures" / "learning-generated.svg").exists()
    html = (run_dir / "report.html").read_text()
    assert "Learning curves on generated" in html
    assert "more data would likely help" in html or "unlikely to help much" in html
    bad = suite.read_text().replace("[0.1, 0.4, 1.0]", "[0.5, 0.2]")
    suite.write_text(bad)
    result = run_cli("validate", str(suite), cwd=tmp_path)
    assert result.returncode == 2 and "two or more increasing fractions" in result.stderr
