"""The report from a stored run (tests/data/stored_run.db, made by
tests/data/make_stored_run.py): context, statistics, narrative, figures,
sections, escaping and the PDF's text. Nothing here trains a model."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats
from sqlalchemy import update

from benchmark import stats
from benchmark.report import context as report_context
from benchmark.report import figures, narrative, render
from benchmark.report.format import number
from benchmark.store import RunRecord, Store

STORED = Path(__file__).resolve().parent / "data" / "stored_run.db"


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    copy = tmp_path / "stored.db"
    shutil.copy(STORED, copy)
    return Store(f"sqlite:///{copy}", create=False)


@pytest.fixture(autouse=True)
def few_resamples(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test-sample bootstrap with 100 resamples, not 1,000: each context
    build would otherwise spend seconds on it (tests/test_honest_numbers.py
    checks the intervals themselves)."""
    monkeypatch.setattr(stats, "BOOTSTRAP_RESAMPLES", 100)


@pytest.fixture()
def ctx(store: Store) -> dict:
    return report_context.build(store, "latest")


def _result(ctx: dict, label: str) -> report_context.ModelResult:
    return next(r for r in ctx["results"] if r.label == label)


# ------------------------------------------------------------------ context


def test_context_of_the_stored_run_has_repeats_intervals_and_tests(ctx: dict) -> None:
    lenet = _result(ctx, "lenet5")
    assert lenet.repeats == 3 and len(lenet.repeat_scores["accuracy"]) == 3
    low, high = lenet.test_ci["accuracy"]
    assert low <= lenet.test["accuracy"] <= high <= 1.0
    assert not _result(ctx, "diverging").ok
    selected = ctx["best"]["digits"]
    rows = ctx["comparisons"]["digits"]
    # One row per other evaluated model; the failed model is not compared.
    assert [row["other"] for row in rows] == [r.label for r in ctx["results"]
                                              if r.ok and r is not selected]
    row = rows[0]
    assert row["mcnemar"]["n"] == len(selected.predictions["y_true"])
    assert row["paired"]["n"] == 3
    assert row["corrected"] is False  # two models: one comparison, nothing to adjust


@pytest.mark.slow
def test_references_cite_the_tools_and_each_architecture_once(ctx: dict) -> None:
    texts = [entry["text"] for entry in ctx["references"]]
    assert any("Optuna" in t for t in texts) and any("LeCun" in t for t in texts)
    assert any("McNemar" in t for t in texts)
    assert len(texts) == len(set(texts))
    # IEEE order: [n] first appears after [1] ... [n-1], and the list follows it.
    import re

    html = render.render_html(ctx, render.draw(ctx, None))
    body, listed = html.split('<ol class="references">')
    first = list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", body)))
    assert first == list(range(1, len(first) + 1)) and len(first) >= 5
    entries = re.findall(r"<li>(.*?)</li>", listed)
    assert len(entries) == len(first) and "Optuna" in entries[0]  # cited first, in the Introduction


def test_discussion_numbers_are_the_tables_numbers(ctx: dict) -> None:
    selected = ctx["best"]["digits"]
    first = ctx["discussion"][0]
    assert first.startswith(f"On digits, {selected.label} had the best validation accuracy")
    assert number(selected.best_value) in first and number(selected.test["accuracy"]) in first
    row = ctx["comparisons"]["digits"][0]
    assert f"{row['mcnemar']['only_a']} are classified correctly only by {selected.label}" in first
    verdict = "significant at the 5% level" if row["mcnemar"]["significant"] else "not significant"
    assert verdict in first


# ------------------------------------------------------------------ statistics


def test_mcnemar_is_the_exact_binomial_test_on_discordant_samples() -> None:
    y = [0] * 30
    a = [0] * 20 + [1] * 10      # A right on 20
    b = [1] * 12 + [0] * 18      # B right on 18
    result = stats.mcnemar(y, a, b)
    # A alone right on samples 0-11 (12), B alone right on 20-29 (10).
    assert (result["only_a"], result["only_b"]) == (12, 10)
    assert result["p_value"] == pytest.approx(scipy_stats.binomtest(12, 22, 0.5).pvalue)
    assert result["odds_ratio"] == pytest.approx(1.2)
    assert stats.mcnemar(y, a, a)["p_value"] == 1.0


def test_paired_repeats_and_undefined_cases() -> None:
    result = stats.paired_repeats([0.9, 0.92, 0.91], [0.8, 0.83, 0.8])
    assert result["p_value"] == pytest.approx(scipy_stats.ttest_rel([0.9, 0.92, 0.91],
                                                                    [0.8, 0.83, 0.8]).pvalue)
    assert result["cohen_dz"] > 0
    assert stats.paired_repeats([0.9], [0.8]) is None
    constant = stats.paired_repeats([0.9, 0.9], [0.8, 0.8])
    assert constant["p_value"] is None and constant["mean_difference"] == pytest.approx(0.1)


def test_confidence_interval_is_bounded_and_needs_two_values() -> None:
    assert stats.confidence_interval([0.5]) is None
    low, high = stats.confidence_interval([0.98, 1.0, 0.99], bounds=(0, 1))
    assert low < 0.99 and high == 1.0
    low, high = stats.confidence_interval([0.7, 0.7, 0.7])
    assert low == high == pytest.approx(0.7)


def test_more_than_two_models_get_adjusted_p_values_and_plain_verdicts() -> None:
    y = list(range(10)) * 20
    right = list(y)
    wrong = [(v + 1) % 10 for v in y]
    selected = stats.Candidate("a", [0.99, 0.98, 0.99], y, right)
    clearly_worse = stats.Candidate("b", [0.1, 0.12, 0.11], y, wrong)
    same = stats.Candidate("c", [0.99, 0.98, 0.99], y, right)
    rows = stats.compare_to_selected(selected, [clearly_worse, same])
    assert all(row["corrected"] for row in rows)
    raw = rows[0]["mcnemar"]["p_value"]
    assert rows[0]["mcnemar"]["p_adjusted"] >= raw and rows[0]["mcnemar"]["significant"]
    assert not rows[1]["mcnemar"]["significant"] and rows[1]["difference"] == 0
    text = narrative._significance("a", "c", rows[1], 2)
    assert "nothing to weigh" in text


# ------------------------------------------------------------------ narrative


def _model(label: str, **changes) -> report_context.ModelResult:
    fields = dict(dataset="d", label=label, model_name="lenet5", description="", reference="",
                  metric="accuracy", direction="maximize", space={}, counts={}, search_seconds=1.0,
                  best_trial=0, best_value=0.9, best_params={}, best_history=[], trials=[],
                  repeat_scores={"accuracy": [0.9]}, repeats=1, fit_seconds=10.0, n_params=1,
                  confusion=None, error=None, family="keras")
    fields.update(changes)
    return report_context.ModelResult(**fields)


def test_narrative_says_overfitting_and_not_converged_only_when_the_curves_show_it() -> None:
    rising = [{"accuracy": a, "val_accuracy": v} for a, v in [(0.8, 0.7), (0.95, 0.75), (0.99, 0.8)]]
    text = narrative.training_curves(_model("m", best_history=rising))
    assert "sign of overfitting" in text and "still rising at the last epoch" in text
    flat = [{"accuracy": a, "val_accuracy": v} for a, v in [(0.8, 0.79), (0.9, 0.9), (0.91, 0.89)]]
    text = narrative.training_curves(_model("m", best_history=flat))
    assert "does not overfit" in text and "peaked at epoch 2 of 3" in text
    assert narrative.training_curves(_model("m")) is None
    below = [{"accuracy": a, "val_accuracy": v} for a, v in [(0.7, 0.8), (0.8, 0.9), (0.82, 0.9)]]
    text = narrative.training_curves(_model("m", best_history=below, best_params={"dropout": 0.5}))
    assert "as dropout, active only in training" in text
    text = narrative.training_curves(_model("m", best_history=below, best_params={"dropout": 0.0}))
    assert "dropout" not in text and "averages over the epoch" in text


def test_narrative_says_higher_for_the_others_when_the_metric_is_minimised() -> None:
    low = _model("low", metric="log_loss", direction="minimize", best_value=0.1,
                 repeat_scores={"log_loss": [0.1]})
    high = _model("high", metric="log_loss", direction="minimize", best_value=0.3,
                  repeat_scores={"log_loss": [0.3]})
    rows = [{"other": "high", "difference": -0.2, "better": True, "mcnemar": None,
             "paired": None, "corrected": False}]
    [text] = narrative.winners([low, high], {"d": low}, {"d": rows}, "log_loss", maximize=False)
    assert "high, scored 0.3000, 0.2000 higher." in text


def test_narrative_edges_pruning_and_trade_off() -> None:
    edge = [{"name": "learning_rate", "value": 0.1, "low": 1e-4, "high": 0.1, "side": "upper"}]
    assert "upper end" in narrative.edges(_model("m", edges=edge))
    assert narrative.edges(_model("m")) is None
    saving = report_context.pruning_savings(
        [{"state": "complete", "units": 10, "seconds": 10.0, "params": {}},
         {"state": "pruned", "units": 2, "seconds": 2.0, "params": {}}], lambda row: 10)
    assert saving["saved"] == 8 and saving["share"] == pytest.approx(0.4)
    assert saving["seconds"] == pytest.approx(8.0)
    text = narrative.pruning(_model("m", pruning=saving))
    assert "stopped 1 of m's trials early; it ran 2 of its 10 planned epochs" in text
    fast = _model("fast", repeat_scores={"accuracy": [0.85]}, fit_seconds=1.0)
    slow = _model("slow", repeat_scores={"accuracy": [0.95]}, fit_seconds=10.0)
    worse = _model("worse", repeat_scores={"accuracy": [0.8]}, fit_seconds=20.0)
    [text] = narrative.trade_off([fast, slow, worse], "accuracy")
    assert "10.0 times faster" in text and "holds fast, slow; worse is beaten on both" in text


def test_pareto_front_keeps_only_undominated_points() -> None:
    points = [(1.0, 0.8), (2.0, 0.9), (3.0, 0.85), (0.5, 0.5), (2.0, 0.7)]
    assert report_context.pareto_front(points) == [3, 0, 1]
    assert report_context.pareto_front([(1.0, 0.3), (2.0, 0.2)], maximize=False) == [0, 1]


# ------------------------------------------------------------------ figures (also tests/test_figures.py)


def test_importances_need_two_complete_trials_that_vary(store: Store) -> None:
    import optuna

    study = optuna.create_study(storage=store.url, study_name="one-trial")
    study.add_trial(optuna.trial.create_trial(
        params={"x": 0.5}, distributions={"x": optuna.distributions.FloatDistribution(0, 1)},
        value=1.0))
    assert report_context.importances(study) is None


# ------------------------------------------------------------------ rendering


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.slow
def test_pdf_text_holds_the_tables_numbers(store: Store, tmp_path: Path) -> None:
    html_path, pdf_path = render.render_run(store, "latest", tmp_path / "out")
    ctx = report_context.build(store, "latest")
    text = _pdf_text(pdf_path)
    for result in ctx["results"]:
        if result.ok:
            assert number(result.test["accuracy"]) in text
            low, high = result.test_ci["accuracy"]
            assert f"{number(low, 3)}–{number(high, 3)}" in text
    row = ctx["comparisons"]["digits"][0]
    assert f"{row['mcnemar']['only_a']} / {row['mcnemar']['only_b']}" in text
    for heading in ("Introduction", "Data", "Methods", "Results", "Discussion", "References"):
        assert heading.upper() in text.upper()
    assert "TABLE I" in text and "Fig. 1." in text and "[1]" in text
    # Seed 003's trial table: the best trial's last-epoch training and validation numbers,
    # and the appendix lists every trial of every model.
    best = ctx["best"]["digits"]
    row = next(t for t in best.trials if t["number"] == best.best_trial)
    for key in ("accuracy", "loss", "val_accuracy", "val_loss"):
        assert number(row["last_epoch"][key], 3) in text
    for result in ctx["results"]:
        assert f"{result.label} ({len(result.trials)})" in text.replace("\n", " ")
    html = html_path.read_text()
    assert 'src="data:image/svg+xml;base64,' in html and "src=\"figures/" not in html


@pytest.mark.slow
def test_strings_from_the_suite_are_escaped(store: Store) -> None:
    script = "<script>alert(1)</script>"
    with store.session() as session:
        run = session.query(RunRecord).one()
        suite = dict(run.suite)
        suite["report"] = {**suite["report"], "title": script}
        suite["description"] = script
        session.execute(update(RunRecord).values(suite_name=script, suite=suite))
    ctx = report_context.build(store, "latest")
    html = render.render_html(ctx, render.draw(ctx, None))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_report_sections_and_figures_follow_the_suite(store: Store) -> None:
    with store.session() as session:
        run = session.query(RunRecord).one()
        suite = dict(run.suite)
        suite["report"] = {**suite["report"], "sections": ["results", "references"],
                           "figures": ["curves", "importances"]}
        session.execute(update(RunRecord).values(suite=suite))
    ctx = report_context.build(store, "latest")
    uris = render.draw(ctx, None)
    assert uris and all(name.startswith(("curves-", "importances-")) for name in uris)
    html = render.render_html(ctx, uris)
    assert "<h2>Results</h2>" in html and "References" in html
    # Only what the included text cites is listed, numbered from [1]: here the
    # Results' test-sample bootstrap, then the importances figure's fANOVA;
    # Optuna is cited by the left-out Introduction.
    assert "bootstrap interval [1] over" in html and "Efron" in html
    assert "fANOVA evaluator [2] over" in html and "Hutter" in html
    assert "next-generation hyperparameter" not in html and "[3]" not in html
    for absent in ("<h2>Introduction</h2>", "<h2>Data</h2>", "<h2>Discussion</h2>", "Reproducibility",
                   "Statistical comparison"):
        assert absent not in html


def test_unknown_report_section_is_one_clear_line(tmp_path: Path) -> None:
    from benchmark.errors import UserError
    from benchmark import suite

    path = tmp_path / "s.yaml"
    path.write_text("name: s\ndatasets: {d: {source: 'sklearn:digits'}}\nmodels: [{model: lenet5}]\n"
                    "report: {sections: [results, apendix]}\n")
    with pytest.raises(UserError) as error:
        suite.load(path)
    message = str(error.value)
    assert "report.sections[1]" in message and "'references'" in message and "\n" not in message


def test_stored_run_is_current(store: Store) -> None:
    # A schema change makes Store refuse the file; regenerate it with make_stored_run.py.
    assert store.resolve("latest").status == "finished"
    assert np.isfinite(report_context.build(store, "latest")["best"]["digits"].test["accuracy"])


@pytest.mark.slow
def test_a_long_trial_list_runs_over_pages_with_every_trial_in_the_pdf(store: Store,
                                                                      tmp_path: Path) -> None:
    # 120 trials of one model: in the two-column flow WeasyPrint crashed on such a
    # table (or dropped it); the appendix must break it across pages instead.
    import weasyprint

    ctx = report_context.build(store, "latest")
    result = ctx["results"][0]
    result.trials = [dict(t, number=i, changed={"trial_marker": 1000 + i})
                     for i, t in enumerate(result.trials * 40)][:120]
    html = render.render_html(ctx, render.draw(ctx, None))
    weasyprint.HTML(string=html).write_pdf(tmp_path / "long.pdf")
    text = _pdf_text(tmp_path / "long.pdf")
    assert all(f"trial_marker={1000 + i:,}" in text for i in range(120))


@pytest.mark.slow
def test_section_numbers_follow_the_included_sections(store: Store) -> None:
    with store.session() as session:
        run = session.query(RunRecord).one()
        suite = dict(run.suite)
        suite["report"] = {**suite["report"], "sections": ["introduction", "results", "statistics"]}
        session.execute(update(RunRecord).values(suite=suite))
    ctx = report_context.build(store, "latest")
    html = render.render_html(ctx, render.draw(ctx, None))
    # Results is the second numbered section here, not the default's fourth.
    assert "the spread over refits and the paired tests of Section II;" in html
    assert "Section IV" not in html and "<h3>Statistical comparison</h3>" in html


@pytest.mark.parametrize(("given", "sentence"), [
    ([], "samples were split with stratification on the class into 60.0% training, 20.0% "
         "validation and 20.0% test samples."),
    (["train", "validation"], "samples come split into training and validation parts by the data "
                              "itself; a test part of 20.0% of the training samples was cut from "
                              "them with stratification on the class (the validation part stays "
                              "whole)."),
    (["train", "test"], "a validation part of 25.0% of the training samples was cut from them"),
    (["train", "validation", "test"], "come split into training, validation and test parts by "
                                      "the data itself, and those parts are used as they are."),
])
def test_data_section_says_which_parts_the_data_fixed(ctx: dict, given: list[str],
                                                      sentence: str) -> None:
    ctx["datasets"][0]["given_parts"] = given
    html = " ".join(render.render_html(ctx, {}).split())
    assert sentence in html
    assert ("were split" in html) == (not given)


def test_summary_records_the_parts_the_data_fixed() -> None:
    from benchmark.datasets import Dataset, split
    from benchmark.datasets._summary import summarize

    x = np.zeros((40, 2, 2, 1), dtype=np.float32)
    parts = np.array(["train"] * 30 + ["validation"] * 10)
    dataset = Dataset(name="d", x=x, y=np.arange(40) % 2, class_names=["a", "b"], kind="image",
                      description="d", parts=parts)
    splits = split(dataset, train=0.7, validation=0.15, test=0.15, stratify=True, seed=0)
    assert summarize(dataset, splits)["given_parts"] == ["train", "validation"]
    assert len(splits.validation) == 10
