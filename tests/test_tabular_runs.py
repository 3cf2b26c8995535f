"""Tabular suites run as a user runs them: seed 000's promotion study on a
generated CSV, a multiclass suite, and every kind of bad data input."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.store import Store
from conftest import REPO, run_cli, write_suite
from promotion_data import write_promotion_csv

PROMOTION = str(REPO / "suites" / "promotion.yaml")


@pytest.fixture(scope="module")
def promotion_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    workdir = tmp_path_factory.mktemp("promotion")
    csv = write_promotion_csv(workdir / "train.csv", n=1500, seed=2)
    result = run_cli("run", PROMOTION, "--set", f"datasets.promotion.path={csv}",
                     "--set", "study.n_trials=3", "--set", "models[0].search.n_estimators=50",
                     "--set", "models[1].search_sample=400", cwd=workdir)
    return {"workdir": workdir, "result": result,
            "storage": f"sqlite:///{workdir / 'reports' / 'benchmark.db'}"}


@pytest.mark.slow
def test_promotion_suite_runs_on_a_csv_given_with_set(promotion_run: dict) -> None:
    result = promotion_run["result"]
    assert result.returncode == 0, result.stderr[-2000:]
    run = Store(promotion_run["storage"], create=False).resolve("latest")
    assert run.suite["datasets"]["promotion"]["path"].endswith("train.csv")
    assert run.suite["study"]["n_trials"] == 3
    labels = [s.model for s in run.studies]
    assert labels == ["random_forest", "svm", "logistic_regression", "hist_gradient_boosting",
                      "knn", "decision_tree"]
    summary = run.datasets[0].summary
    assert summary["class_names"] == ["0", "1"]
    info = summary["tabular"]["preprocessing"]
    assert "is_referred" in info["features"] and "gender" not in info["features"]
    # The seed's PCA is searched (preprocess.pca: {choices: [null, 0.9]}): what each choice gives.
    without, with_pca = info["searched"]
    assert without["params"] == {"preprocess.pca": None}
    assert without["n_features"] == len(info["features"])
    assert with_pca["params"] == {"preprocess.pca": 0.9}
    assert with_pca["pca_components"] == with_pca["n_features"] < len(info["features"])
    for study in run.studies:
        assert study.error is None, study.error
        assert "preprocess.pca" in study.space["distributions"]
        assert study.best_params["preprocess.pca"] in (None, 0.9)
        evaluation = study.evaluations[0]
        # The threshold was tuned on validation data and the test scores use it.
        assert 0 <= evaluation.threshold <= 1
        assert {"f1", "precision", "recall", "roc_auc", "average_precision",
                "balanced_accuracy"} <= set(evaluation.metrics)
        assert len(evaluation.predictions["y_true"]) == summary["split_sizes"]["test"]
        assert sum(map(sum, evaluation.confusion)) == summary["split_sizes"]["test"]


@pytest.mark.slow
def test_promotion_report_states_features_metrics_and_trials(promotion_run: dict) -> None:
    run = Store(promotion_run["storage"], create=False).resolve("latest")
    html = (promotion_run["workdir"] / "reports" / "promotion" / run.id / "report.html").read_text()
    info = run.datasets[0].summary["tabular"]["preprocessing"]
    without, with_pca = info["searched"]
    assert f"PCA to 90% of the variance, {with_pca['pca_components']} components" in html
    assert (f"<strong>{with_pca['n_features']} or {without['n_features']} features</strong>, "
            "as the search chose") in html
    assert "On promotion, the search chose preprocess.pca = " in html
    assert "is_referred" in html and "Share of 1 per level" in html
    assert "Test-split metrics of each model" in html and "ROC (left) and precision-recall" in html
    assert "Trials of svm" in html and "Confusion matrices of every model" in html
    best = max(run.studies, key=lambda s: s.evaluations[0].metrics["f1"] if s.evaluations else -1)
    assert f"{best.evaluations[0].metrics['recall'] * 100:.1f}%" in html
    assert "always predicting the majority class" in html
    figures = {p.stem for p in (promotion_run["workdir"] / "reports" / "promotion" / run.id
                                / "figures").iterdir()}
    assert {"balance-promotion", "correlation-promotion", "roc-promotion",
            "confusions-promotion"} <= figures


@pytest.mark.slow
def test_multiclass_tabular_suite_cross_validates_and_draws_one_vs_rest(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, """
        name: wine
        datasets:
          wine: {source: sklearn:wine, preprocess: {scale: minmax}}
        models:
          - model: logistic_regression
            search: {C: {low: 0.01, high: 10.0, log: true}}
          - model: knn
            search: {n_neighbors: {low: 1, high: 15}}
        study: {metric: f1_macro, cv_folds: 3, n_trials: 3, seed: 1}
        """)
    result = run_cli("run", str(suite), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    store = Store(f"sqlite:///{tmp_path / 'reports' / 'benchmark.db'}", create=False)
    run = store.resolve("latest")
    import optuna

    for study in run.studies:
        trials = optuna.load_study(study_name=study.optuna_study, storage=store.url).trials
        assert all(len(t.user_attrs["fold_scores"]) == 3 for t in trials if t.state.name == "COMPLETE")
        assert study.evaluations[0].threshold is None  # no tuning asked, and 3 classes
        assert "f1" not in study.evaluations[0].metrics  # binary-only metric left out
    figures = {p.stem for p in (tmp_path / "reports" / "wine" / run.id / "figures").iterdir()}
    assert {"roc-wine-logistic_regression", "roc-wine-knn"} <= figures


def test_a_searched_pca_is_a_setting_of_the_study_and_the_refit_uses_the_choice(
        tmp_path: Path) -> None:
    """preprocess.pca: {choices: [...]} is searched like a model setting: its
    trials try each choice, the selected one is refitted, saved and reported."""
    suite = write_suite(tmp_path, """
        name: pca_question
        datasets:
          wine: {source: sklearn:wine, preprocess: {scale: standard, pca: {choices: [null, 0.9]}}}
        models:
          - model: logistic_regression
            search: {C: {low: 0.001, high: 10.0, log: true}}
        study: {sampler: random, n_trials: 4, seed: 1}
        evaluation: {learning_curve: [0.5, 1.0]}
        report: {figures: [learning_curve]}
        """)
    result = run_cli("run", str(suite), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    store = Store(f"sqlite:///{tmp_path / 'reports' / 'benchmark.db'}", create=False)
    run = store.resolve("latest")
    import joblib
    import optuna
    from optuna.artifacts import FileSystemArtifactStore, download_artifact

    from benchmark.space import Space

    study = run.studies[0]
    assert set(Space.from_data(study.space).distributions) == {"C", "preprocess.pca"}
    trials = optuna.load_study(study_name=study.optuna_study, storage=store.url).trials
    assert all("preprocess.pca" in t.params for t in trials)
    assert {t.params["preprocess.pca"] for t in trials} == {None, 0.9}  # both were tried
    best = next(t for t in trials if t.number == study.best_trial)
    assert study.best_params == {"C": best.params["C"], "preprocess.pca": best.params["preprocess.pca"]}
    assert [len(p["scores"]) for p in study.learning_curve] == [1, 1]
    # The saved refit is the selected pipeline: PCA exactly when it was chosen.
    saved = study.evaluations[0].saved
    download_artifact(artifact_store=FileSystemArtifactStore(saved["store"]),
                      file_path=str(tmp_path / saved["file"]), artifact_id=saved["model"])
    steps = joblib.load(tmp_path / saved["file"]).named_steps["preprocess"].named_steps
    assert ("pca" in steps) == (study.best_params["preprocess.pca"] is not None)
    searched = run.datasets[0].summary["tabular"]["preprocessing"]["searched"]
    assert [v["params"] for v in searched] == [{"preprocess.pca": None}, {"preprocess.pca": 0.9}]
    html = (tmp_path / "reports" / "pca_question" / run.id / "report.html").read_text()
    assert "<code>preprocess.pca</code></td><td>{None, 0.9}" in html  # the search-space table
    assert (f"PCA to 90% of the variance, {searched[1]['pca_components']} components explaining"
            in html)


BAD_DATA = [
    ("no_file", {"path": "missing.csv"}, "datasets.promotion.path: {dir}/missing.csv: no such file"),
    ("no_target", {"target": "promoted"},
     "datasets.promotion.target: {csv}: unknown column 'promoted' (did you mean 'is_promoted'?)"),
    ("no_column", {"preprocess.one_hot": "[department, regions]"},
     "datasets.promotion.preprocess.one_hot[1]: unknown column 'regions' (did you mean 'region'?)"),
    ("one_class", {"target": "awards_won?", "positive_class": 1, "_single": True},
     "datasets.promotion.target: {csv} has a single class (0); a classifier needs at least two"),
    ("text_left", {"preprocess.one_hot": "[region]"},
     "datasets.promotion.preprocess: column 'department' is still non-numeric after preprocessing"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("case", "changes", "message"), BAD_DATA, ids=[c[0] for c in BAD_DATA])
def test_bad_data_is_one_line_exit_2_and_nothing_written(tmp_path: Path, case: str,
                                                         changes: dict, message: str) -> None:
    csv = tmp_path / "train.csv"
    from promotion_data import promotion_frame

    frame = promotion_frame(300, seed=3)
    if changes.pop("_single", False):
        frame["awards_won?"] = 0
    frame.to_csv(csv, index=False)
    sets = {"path": str(csv), **changes}
    args = [arg for key, value in sets.items()
            for arg in ("--set", f"datasets.promotion.{key}={value}")]
    result = run_cli("run", PROMOTION, *args, cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    expected = message.format(dir=tmp_path, csv=csv)
    assert lines[0].startswith(f"error: {PROMOTION}: ") and expected in lines[0], lines[0]
    assert not (tmp_path / "reports").exists()
