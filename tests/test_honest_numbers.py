"""Numbers that claim no more than they know (issue 18): a test-sample bootstrap
interval next to the spread over refits, "deterministic: refits identical"
instead of a zero-width interval, labels that follow the method (cross-validated
or hold-out validation), dropped columns absent from the data description, and
a threshold tuned on the out-of-fold predictions of the whole training split
with the number of positives it rests on stated."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats

from benchmark import stats
from benchmark.metrics import metrics
from benchmark.report import context as report_context
from benchmark.report import narrative
from benchmark.store import Store
from conftest import run_cli, write_suite

# ------------------------------------------------------------------ statistics


def _binary(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    positive = np.clip(0.35 * y + rng.random(n) * 0.65, 0, 1)  # overlapping classes
    return y, np.c_[1 - positive, positive]


def test_accuracy_bootstrap_agrees_with_the_binomial_interval() -> None:
    y, proba = _binary()
    low, high = stats.bootstrap_interval(metrics.get("accuracy"), y, proba, 0.5)
    correct = int(np.sum((proba[:, 1] >= 0.5) == y))
    binomial = scipy_stats.binomtest(correct, len(y)).proportion_ci(0.95, method="wilson")
    assert low < correct / len(y) < high
    assert abs(low - binomial.low) < 0.02 and abs(high - binomial.high) < 0.02


@pytest.mark.parametrize("name", ["accuracy", "f1", "recall"])
def test_fast_paths_are_the_per_resample_sklearn_bootstrap(name: str) -> None:
    """The vectorised accuracy path and the batched precision/recall/F1 path give
    the intervals that one scikit-learn call per resample gives (the same seeded
    resamples), for one model and for the paired difference of two."""
    y, proba = _binary(200)
    other = np.c_[1 - proba[:, 1] ** 0.5, proba[:, 1] ** 0.5]
    metric = metrics.get(name)

    class Plain:  # the metric without its name and flags: the generic path
        def __call__(self, *args):
            return metric(*args)

    fast = stats.bootstrap_interval(metric, y, proba, 0.5, n_resamples=100)
    slow = stats.bootstrap_interval(Plain(), y, proba, 0.5, n_resamples=100)
    assert fast == pytest.approx(slow)
    fast = stats.bootstrap_difference(metric, y, proba, 0.5, other, 0.4, n_resamples=100)
    slow = stats.bootstrap_difference(Plain(), y, proba, 0.5, other, 0.4, n_resamples=100)
    assert fast == pytest.approx(slow)


def test_f1_and_roc_auc_bootstrap_intervals_hold_the_score_and_are_seeded() -> None:
    y, proba = _binary(300)
    for name, threshold in (("f1", 0.5), ("roc_auc", None)):
        metric = metrics.get(name)
        started = time.perf_counter()
        interval = stats.bootstrap_interval(metric, y, proba, threshold, n_resamples=200)
        assert time.perf_counter() - started < 5
        low, high = interval
        assert low < metric(y, proba, threshold) < high and high - low > 0.01
        assert stats.bootstrap_interval(metric, y, proba, threshold, n_resamples=200) == interval


def test_paired_difference_interval_includes_zero_for_a_model_against_itself_nearly() -> None:
    y, proba = _binary()
    metric = metrics.get("accuracy")
    same = stats.bootstrap_difference(metric, y, proba, 0.5, proba, 0.5)
    assert same == (0.0, 0.0)
    perfect = np.c_[1 - y, y].astype(float)
    low, high = stats.bootstrap_difference(metric, y, perfect, 0.5, proba, 0.5)
    assert 0 < low < high


def test_refits_identical_only_for_two_or_more_equal_scores() -> None:
    assert stats.refits_identical([0.7, 0.7, 0.7])
    assert not stats.refits_identical([0.7])
    assert not stats.refits_identical([0.7, 0.71])


# ------------------------------------------------------------------ context


def test_score_labels_follow_the_method() -> None:
    cv = report_context.score_labels(5, "f1")
    assert cv["name"] == "cross-validated f1" and cv["title"] == "Cross-validated f1"
    assert "validation" not in " ".join(cv.values()).replace("cross-validat", "")
    held_out = report_context.score_labels(None, "f1")
    assert held_out["name"] == "validation f1" and "hold-out" in held_out["where"]


def test_data_view_leaves_dropped_columns_out_and_names_them() -> None:
    summary = {"name": "x", "tabular": {
        "columns": [{"name": "customer_id", "dtype": "numeric", "missing": 0, "levels": None},
                    {"name": "signup_date", "dtype": "categorical", "missing": 0, "levels": 900},
                    {"name": "plan", "dtype": "categorical", "missing": 3, "levels": 2},
                    {"name": "age", "dtype": "numeric", "missing": 0, "levels": None}],
        "positive_rates": [{"column": "signup_date", "levels": []}, {"column": "plan", "levels": []}],
        "correlation": {"columns": ["customer_id", "age", "(target)"],
                        "values": [[1, 0.1, 0.2], [0.1, 1, 0.3], [0.2, 0.3, 1]], "omitted": 0}}}
    view = report_context.data_view(summary, ["customer_id", "signup_date"])["tabular"]
    assert [c["name"] for c in view["columns"]] == ["plan", "age"]
    assert view["dropped_columns"] == ["customer_id", "signup_date"]
    assert view["n_columns_loaded"] == 4
    assert [r["column"] for r in view["positive_rates"]] == ["plan"]
    assert view["correlation"]["columns"] == ["age", "(target)"]
    assert view["correlation"]["values"] == [[1, 0.3], [0.3, 1]]
    assert view["correlation"]["omitted"] == 0
    assert report_context.data_view(summary, [])["tabular"]["columns"] == summary["tabular"]["columns"]


def test_threshold_data_falls_back_to_the_validation_split_for_old_runs() -> None:
    class Evaluation:
        threshold = 0.4
        predictions = {"y_true": [0, 1], "proba": [[1, 0], [0, 1]]}

    summary = {"class_counts": {"validation": [80, 20]}, "split_sizes": {"validation": 100}}
    assert report_context.threshold_data([Evaluation()], summary) == {
        "on": "validation", "samples": 100, "positives": 20}
    Evaluation.predictions = {**Evaluation.predictions,
                              "threshold_tuned_on": {"on": "out-of-fold", "samples": 500,
                                                     "positives": 120}}
    assert report_context.threshold_data([Evaluation()], summary)["on"] == "out-of-fold"
    Evaluation.threshold = None
    assert report_context.threshold_data([Evaluation()], summary) is None


def test_final_threshold_is_tuned_on_out_of_fold_predictions_of_the_whole_training_split() -> None:
    from benchmark.suite import DatasetEntry
    from benchmark.worker import DataRef, EvaluationTask, run_evaluation

    entry = DatasetEntry.model_validate({"source": "sklearn:breast_cancer",
                                         "positive_class": "malignant",
                                         "preprocess": {"scale": "standard"}})
    data = DataRef(entry.model_dump_json(), 0)
    tuned = {}
    for folds in (None, 3):
        outcome = run_evaluation(EvaluationTask(model="logistic_regression", params={}, data=data,
                                                metric="f1", seed=1, threshold="f1",
                                                cv_folds=folds))
        assert outcome.state == "complete" and 0 < outcome.threshold < 1
        tuned[folds] = outcome.threshold_data
    assert tuned[None]["on"] == "validation" and tuned[3]["on"] == "out-of-fold"
    # The whole training split: several times the validation split's positives.
    assert tuned[3]["positives"] > 3 * tuned[None]["positives"]
    assert tuned[3]["samples"] > 3 * tuned[None]["samples"]
    no_threshold = run_evaluation(EvaluationTask(model="logistic_regression", params={},
                                                 data=data, metric="f1", seed=1, cv_folds=3))
    assert no_threshold.threshold is None and no_threshold.threshold_data is None


def _result(**changes) -> report_context.ModelResult:
    y, proba = _binary(200)
    values = dict(dataset="d", label="logreg", model_name="logistic_regression", description="",
                  reference="", metric="accuracy", direction="maximize", space={}, counts={},
                  search_seconds=1.0, best_trial=0, best_value=0.8, best_params={},
                  best_history=[], trials=[], repeat_scores={"accuracy": [0.7, 0.7, 0.7]},
                  repeats=3, fit_seconds=0.1, n_params=None, confusion=None, error=None,
                  family="sklearn", threshold=0.5, prediction_threshold=0.5,
                  predictions={"y_true": y.tolist(), "proba": proba.tolist()})
    values.update(changes)
    return report_context.ModelResult(**values)


def test_the_discussion_names_a_faster_model_only_within_the_noise_of_the_best() -> None:
    cost = {"latency_ms": 3.0, "latency_p95_ms": 4.0, "throughput": 900.0, "size_bytes": 4096}
    best = _result(label="big", cost=cost)
    # Same predictions: the paired interval of the difference is [0, 0].
    twin = _result(label="small", cost={**cost, "latency_ms": 1.0})
    text = " ".join(narrative.prediction_cost([best, twin], {"d": best}, "accuracy"))
    assert "small is as good as big" in text and "3.0 times faster to predict" in text
    # Worse on the same samples (every prediction flipped): no such claim.
    y = best.predictions["y_true"]
    flipped = [[p[1], p[0]] for p in best.predictions["proba"]]
    worse = _result(label="small", cost={**cost, "latency_ms": 1.0},
                    predictions={"y_true": y, "proba": flipped})
    assert narrative.prediction_cost([best, worse], {"d": best}, "accuracy") == []
    # As good, but not faster: said, without a recommendation.
    slow = _result(label="small", cost=cost)
    assert "none is clearly faster" in " ".join(
        narrative.prediction_cost([best, slow], {"d": best}, "accuracy"))


def test_deterministic_model_gets_a_test_sample_interval_and_the_identical_note() -> None:
    result = _result()
    assert result.identical["accuracy"]
    low, high = result.test_bootstrap["accuracy"]
    assert high - low > 0.05  # a zero-width refit interval, but not a zero-width uncertainty
    text = narrative._score(result, "accuracy")
    assert "deterministic: all 3 refits identical" in text
    assert "95% bootstrap CI over the test samples" in text


def test_a_paired_t_test_on_refits_alone_does_not_establish_a_difference() -> None:
    """Same test predictions, refit scores that differ consistently: the t-test
    over refits is significant, the test samples cannot tell the two apart."""
    a = _result(label="a", repeat_scores={"accuracy": [0.70, 0.72, 0.74]})
    b = _result(label="b", repeat_scores={"accuracy": [0.69, 0.705, 0.73]})
    best = {"d": a}
    rows = report_context.comparisons([a, b], best, "accuracy")
    assert rows["d"][0]["paired"]["significant"]
    text = narrative.winners([a, b], best, rows, "accuracy")[0]
    assert "has a 95% bootstrap interval of 0.0000 to 0.0000, which includes zero" in text
    assert "the difference is not established" in text


def test_threshold_warning_names_the_positives_only_when_few() -> None:
    few = _result(threshold_data={"on": "validation", "samples": 300, "positives": 70})
    warning = narrative.threshold(few)
    assert "only 70 positive samples of the validation split" in warning
    assert "study.cv_folds" in warning
    many = _result(threshold_data={"on": "out-of-fold", "samples": 2000, "positives": 300})
    assert narrative.threshold(many) is None
    # Models tuned on the same few positives share one paragraph naming each.
    other = _result(label="other", threshold_data={"on": "validation", "samples": 300,
                                                   "positives": 70})
    [paragraph] = narrative.thresholds([few, other, many])
    assert paragraph.startswith(f"The decision thresholds of {few.label} (")
    assert "other (" in paragraph and "were each tuned on only 70 positive samples" in paragraph
    assert narrative.thresholds([few, many]) == [warning]


def test_deterministic_report_shows_identical_refits_a_test_interval_and_explains_the_dash(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stored run's models, made deterministic (every refit scored the same):
    no "± 0.000" and no zero-width interval, the note, a test-sample interval,
    and the undefined paired t-test explained."""
    from benchmark.report import render

    monkeypatch.setattr(stats, "BOOTSTRAP_RESAMPLES", 200)
    copy = tmp_path / "stored.db"
    shutil.copy(Path(__file__).resolve().parent / "data" / "stored_run.db", copy)
    real = report_context.model_results

    def deterministic(store, run):
        results = real(store, run)
        for result in results:
            result.repeat_scores = {k: [v[0]] * len(v) for k, v in result.repeat_scores.items()}
        return results

    monkeypatch.setattr(report_context, "model_results", deterministic)
    ctx = report_context.build(Store(f"sqlite:///{copy}", create=False), "latest")
    html = render.render_html(ctx, {})
    assert "deterministic: refits identical" in html and "± 0.000" not in html
    assert "95% test-sample CI (accuracy)" in html
    low, high = ctx["best"]["digits"].test_bootstrap["accuracy"]
    assert f"{low:.3f}–{high:.3f}" in html and high - low > 0.01
    assert "the t-test is undefined" in html
    # The caption says which interval is which, and what "refits identical" means.
    assert "95% test-sample interval (bootstrap over the test samples)" in html
    assert "refits identical”: a deterministic model" in html
    assert "a paired t-test over its refits is undefined (“–” in the statistical comparison)" in html
    assert "deterministic: all 3 refits identical" in " ".join(ctx["discussion"])


def test_figure_axes_name_the_cross_validated_score(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A CV suite's search-history and trade-off figures label their y axis
    "Cross-validated ...", not "Validation ..."."""
    from sqlalchemy import update

    from benchmark.report import figures, render
    from benchmark.store import RunRecord

    monkeypatch.setattr(stats, "BOOTSTRAP_RESAMPLES", 100)
    copy = tmp_path / "stored.db"
    shutil.copy(Path(__file__).resolve().parent / "data" / "stored_run.db", copy)
    store = Store(f"sqlite:///{copy}", create=False)
    with store.session() as session:
        run = session.query(RunRecord).one()
        suite = dict(run.suite)
        suite["study"] = {**suite["study"], "cv_folds": 3}
        suite["report"] = {**suite["report"], "figures": ["search_history", "pareto"]}
        session.execute(update(RunRecord).values(suite=suite))
    ctx = report_context.build(store, "latest")
    drawn = []
    monkeypatch.setattr(figures, "svg", lambda figure: drawn.append(figure) or b"<svg/>")
    render.draw(ctx, None)
    labels = [axis.get_ylabel() for figure in drawn for axis in figure.axes]
    assert len(drawn) == 2 and set(labels) == {"Cross-validated accuracy"}


# ------------------------------------------------------------------ end to end

CHURN_SUITE = """
    name: churn
    datasets:
      churn:
        source: csv
        path: {csv}
        target: churned
        positive_class: "yes"
        preprocess:
          drop: [customer_id, signup_date]
          fill: {{tenure: {{strategy: median}}}}
          one_hot: [plan]
          scale: standard
        split: {{train: 0.6, validation: 0.2, test: 0.2}}
    models:
      - model: logistic_regression
        search: {{C: {{low: 0.01, high: 10.0, log: true}}}}
      - model: svm
        search: {{C: {{low: 0.1, high: 10.0, log: true}}}}
    study: {{metric: f1, cv_folds: 3, threshold: f1, n_trials: 2, seed: 3,
             pruner: {{name: none}}}}
    evaluation: {{repeats: 2}}
"""


def _write_churn(path: Path, n: int = 600) -> None:
    import pandas as pd

    rng = np.random.default_rng(7)
    tenure = rng.integers(1, 72, n).astype(float)
    charges = rng.normal(70, 20, n)
    plan = rng.choice(["basic", "plus", "pro"], n)
    risk = -0.05 * tenure + 0.03 * charges + (plan == "basic") * 0.8 + rng.normal(0, 1, n)
    churned = np.where(risk > np.quantile(risk, 0.8), "yes", "no")
    tenure[rng.choice(n, 20, replace=False)] = np.nan
    pd.DataFrame({"customer_id": np.arange(10_000, 10_000 + n),
                  "signup_date": pd.date_range("2020-01-01", periods=n, freq="D").astype(str),
                  "tenure": tenure, "monthly_charges": charges, "plan": plan,
                  "churned": churned}).to_csv(path, index=False)


@pytest.fixture(scope="module")
def churn_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("churn")
    _write_churn(work / "churn.csv")
    suite = write_suite(work, CHURN_SUITE.format(csv=work / "churn.csv"))
    result = run_cli("run", str(suite), cwd=work, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    store = Store(f"sqlite:///{work / 'reports' / 'benchmark.db'}", create=False)
    run = store.resolve("latest")
    folder = work / "reports" / "churn" / run.id
    return {"work": work, "store": store, "run": run, "folder": folder}


@pytest.mark.slow
def test_cv_report_never_calls_a_cv_score_validation(churn_run: dict) -> None:
    text = subprocess.run(["pdftotext", "-layout", str(churn_run["folder"] / "report.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    assert "cross-validated f1" in flat and "Best CV f1" in flat
    lowered = flat.lower()
    for claim in ("validation f1", "scored on the validation split", "none pruner",
                  "of the folds so far"):
        assert claim not in lowered, claim
    # The figures' axes (SVG text is drawn as paths): test_figure_axes_name_... .


@pytest.mark.slow
def test_cv_report_shows_test_intervals_dropped_columns_and_threshold_positives(
        churn_run: dict) -> None:
    html = (churn_run["folder"] / "report.html").read_text()
    # Every model has a test-sample interval; no zero-width interval is shown.
    # (These deterministic models' refits still differ: each refit's threshold is
    # tuned on its own seed's folds. test_deterministic_report_... covers "identical".)
    assert "95% test-sample CI" in html and "± 0.000" not in html
    ctx = report_context.build(churn_run["store"], churn_run["run"].id)
    for result in ctx["results"]:
        low, high = result.test_bootstrap["f1"]
        assert high - low > 0.02
        if result.identical["f1"]:
            assert "deterministic: refits identical" in html
    # Dropped columns: named once, absent from the column counts and per-level table.
    data = ctx["datasets"][0]["tabular"]
    assert data["dropped_columns"] == ["customer_id", "signup_date"]
    assert "signup_date" not in [r["column"] for r in data["positive_rates"]]
    assert html.count("<code>signup_date</code>") == 1 and html.count("<code>customer_id</code>") == 1
    assert "the models get the other 3" in html
    # The threshold: tuned on the out-of-fold predictions of the whole training split.
    summary = churn_run["run"].datasets[0].summary
    positives = summary["class_counts"]["train"][1]
    for result in ctx["results"]:
        assert result.threshold_data == {"on": "out-of-fold",
                                         "samples": summary["split_sizes"]["train"],
                                         "positives": positives}
    assert f"tuned to" in html and f"on {positives} positive samples (out-of-fold" in html
