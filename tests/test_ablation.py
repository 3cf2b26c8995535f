"""What each setting does (issue 16): a model's ``ablation.factors`` varied
one at a time around its base configuration, each level refitted with the
final refits' seeds and compared with the base by a paired test; and
``study.kind: ablation``, which trains a fixed base instead of searching."""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from benchmark import suite
from benchmark.errors import UserError
from benchmark.report import narrative
from benchmark.store import Store
from conftest import REPO, run_cli, write_suite

ABLATION = textwrap.dedent("""
    name: abl
    datasets:
      generated:
        source: sklearn:make_classification
        options: {n_samples: 500, n_features: 8, n_informative: 5, n_clusters_per_class: 3,
                  random_state: 2}
    models:
      - model: random_forest
        search: {n_estimators: 40, max_depth: null}
        ablation:
          factors:
            max_depth: [1]
            n_estimators: [40, 5]
            preprocess.pca: [2]
    study: {kind: ablation, seed: 3}
    evaluation: {repeats: 3}
    """)


def _refused(tmp_path: Path, text: str) -> str:
    path = write_suite(tmp_path, text)
    with pytest.raises(UserError) as error:
        suite.read(path)
    message = str(error.value)
    assert "\n" not in message, message
    return message


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("max_depth: [1]", "max_depth: [1, 1]",
     "models[0].ablation.factors.max_depth: level 1 is listed twice"),
    ("max_depth: [1]", "max_dept: [1]",
     "models[0].ablation.factors.max_dept: unknown parameter of model 'random_forest': "
     "'max_dept' (did you mean 'max_depth'?)"),
    ("max_depth: [1]", "max_depth: [0]",
     "models[0].ablation.factors.max_depth: 0 is not valid for random_forest"),
    ("max_depth: [1]", "max_depth: []", "models[0].ablation.factors.max_depth"),
    ("n_estimators: 40,", "n_estimators: {low: 5, high: 50},",
     "models[0].search.n_estimators: study.kind ablation searches nothing: give n_estimators "
     "one value"),
    ("kind: ablation,", "kind: ablation, n_trials: 10,",
     "study.n_trials: study.kind ablation trains a fixed base configuration and its levels, "
     "with no search budget: leave n_trials out"),
    ("kind: ablation,", "kind: ablate,", "study.kind"),
    ("preprocess.pca: [2]", "preprocess.pca: [1.5]",
     "models[0].ablation.factors.preprocess.pca: pca is a fraction of variance in (0, 1) or a "
     "number of components, got 1.5"),
    ("preprocess.pca: [2]", "preprocess.drop: [x0]",
     "models[0].ablation.factors.preprocess.drop: unknown preprocessing step: 'drop'"),
    ("random_state: 2}", "random_state: 2}\n    preprocess: {pca: {choices: [null, 2]}}",
     "datasets.generated.preprocess.pca: study.kind ablation searches nothing: give pca one "
     "value and vary it as an ablation factor (preprocess.pca: [...])"),
])
def test_a_bad_ablation_is_one_line_naming_its_key(tmp_path: Path, old: str, new: str,
                                                   expected: str) -> None:
    assert old in ABLATION
    assert expected in _refused(tmp_path, ABLATION.replace(old, new))


def test_study_kind_ablation_needs_every_model_to_have_factors(tmp_path: Path) -> None:
    text = ABLATION.replace("  - model: random_forest", "  - model: knn\n"
                            "  - model: random_forest")
    assert ("models[0].ablation: study.kind ablation varies factors around each model's base "
            "configuration: give models[0] (knn) an ablation") in _refused(tmp_path, text)


def test_an_ablation_block_in_a_search_and_old_suites_keep_their_hash(tmp_path: Path) -> None:
    """An ordinary search may ablate around its selected configuration; suites
    that use neither key hash as before (the keys are left out unset)."""
    searched = ABLATION.replace("kind: ablation, ", "n_trials: 3, ").replace(
        "n_estimators: 40,", "n_estimators: {low: 10, high: 60},")
    loaded, _ = suite.read(write_suite(tmp_path, searched))
    assert loaded.study.kind == "search" and loaded.models[0].ablation.factors["max_depth"] == [1]
    plain = suite.read(REPO / "suites" / "tabular.yaml")[0].to_json()
    assert "kind" not in plain["study"] and all("ablation" not in m for m in plain["models"])
    based, _ = suite.read(write_suite(tmp_path, ABLATION, "b.yaml"))
    assert based.study.n_trials == 1  # one trial scores the base on validation


def test_the_discussion_reads_the_paired_tests() -> None:
    row = {"base": False, "difference": -0.2, "p_value": 0.001, "p_adjusted": 0.002,
           "better": False, "worse": True, "level": "1"}
    same = {**row, "difference": 0.004, "p_value": 0.6, "p_adjusted": 0.6, "worse": False,
            "level": "5"}
    view = {"model": "rf", "dataset": "d", "factors": [
        {"factor": "max_depth", "rows": [{"base": True}, row]},
        {"factor": "n_estimators", "rows": [{"base": True}, same]}]}
    text = narrative.ablation([view], "accuracy")[0]
    assert text == ("In the ablation of rf on d, max_depth = 1 hurt its test accuracy by 0.2000 "
                    "(adjusted p = 0.002); no other level differed significantly from the base.")
    view["factors"] = view["factors"][1:]
    assert "no level differed significantly from the base configuration (the largest change: " \
           "n_estimators = 5, +0.0040" in narrative.ablation([view], "accuracy")[0]


def test_an_ablation_run_pairs_each_level_with_the_base(tmp_path: Path) -> None:
    """study.kind ablation end to end: one trial of the base, its three final
    refits, then each level that differs from the base three times with the
    same seeds; a forest of stumps loses to the base significantly, a level
    equal to the base is not trained again; stored, tabled, drawn, discussed."""
    path = write_suite(tmp_path, ABLATION)
    storage = f"sqlite:///{tmp_path / 'b.db'}"
    result = run_cli("run", str(path), "--storage", storage, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ablation 2/3, n_estimators = 5" in result.stderr  # 40 is the base: not retrained
    run = Store(storage, create=False).resolve("latest")
    (study,) = run.studies
    assert study.best_params == {"n_estimators": 40, "max_depth": None}
    base_scores = [e.metrics["accuracy"] for e in sorted(study.evaluations, key=lambda e: e.repeat)]
    depth, trees, pca = study.ablation
    assert [row["level"] for row in depth["levels"]] == [None, 1]
    assert [row["level"] for row in trees["levels"]] == [40, 5]
    # The data set declares no preprocessing: its base is no PCA, the level two components.
    assert [row["level"] for row in pca["levels"]] == [None, 2]
    assert pca["levels"][1]["scores"] != base_scores
    for factor in (depth, trees, pca):
        assert factor["levels"][0]["base"] and factor["levels"][0]["scores"] == base_scores
        assert len(factor["levels"][1]["scores"]) == 3
    stumps, few = depth["levels"][1]["scores"], trees["levels"][1]["scores"]
    assert sum(stumps) < sum(base_scores), (stumps, base_scores)  # stumps lose on this data

    run_dir = tmp_path / "reports" / "abl" / run.id
    html = (run_dir / "report.html").read_text()
    assert "What each setting does" in html and "No search (study.kind: ablation)" in html
    assert (run_dir / "figures" / "ablation-generated-random_forest.svg").exists()
    assert not (run_dir / "figures" / "search-generated.svg").exists()  # one trial: no history
    (table,) = (run_dir / "tables").glob("*ablation-of-random-forest*.csv")
    rows = list(csv.DictReader(table.open()))
    assert [(r["Factor"], r["Level"]) for r in rows] == [
        ("max_depth", "None (base)"), ("max_depth", "1"),
        ("n_estimators", "40 (base)"), ("n_estimators", "5"),
        ("preprocess.pca", "None (base)"), ("preprocess.pca", "2")]
    assert float(rows[1]["Δ vs base"]) == pytest.approx(
        sum(stumps) / 3 - sum(base_scores) / 3, abs=1e-4)
    # The paired t-tests over the shared seeds, adjusted together (BH), as scipy
    # computes them from the stored scores.
    tested = [(1, stumps), (3, few), (5, pca["levels"][1]["scores"])]
    p = {i: stats.ttest_rel(scores, base_scores).pvalue for i, scores in tested
         if len(set(np.subtract(scores, base_scores))) > 1}
    adjusted = dict(zip(p, stats.false_discovery_control(list(p.values())) if len(p) > 1
                        else p.values()))
    for i, _ in tested:
        shown = rows[i]["p (adj.)"]
        if i not in p:
            assert shown == "no spread"
            continue
        if not shown.startswith("<"):
            assert float(shown.split()[0]) == pytest.approx(adjusted[i], abs=6e-4), (shown, adjusted)
        worse = adjusted[i] < 0.05 and float(rows[i]["Δ vs base"]) < 0
        assert shown.endswith("(worse)") == worse
        if worse:
            assert f"{rows[i]['Factor']} = {rows[i]['Level']} hurt its test accuracy" in html
    if not any(rows[i]["p (adj.)"].endswith(")") for i, _ in tested):
        assert "In the ablation of random_forest on generated, no level differed" in html
