"""Tabular pieces without a run: preprocessing, targets, thresholds, the
scikit-learn models' contract and cross-validation."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.datasets import Part, _preprocess, load, split
from benchmark.datasets._tabular import encode_target
from benchmark.errors import DataError
from benchmark.metrics import metrics, predict_labels, score_all, tune_threshold
from benchmark.models import models
from benchmark.suite import Preprocess
from benchmark.training import sklearn as sklearn_training
from promotion_data import promotion_frame

SKLEARN_MODELS = [name for name, spec in models.items() if spec.family == "sklearn"]

SEED_000 = Preprocess.model_validate({
    "drop": ["employee_id", "gender", "age", "no_of_trainings", "length_of_service"],
    "fill": {"previous_year_rating": 0, "education": "other"},
    "ordinal": {"education": ["other", "Below Secondary", "Bachelor's", "Master's & above"]},
    "binarize": {"recruitment_channel": {"level": "referred", "name": "is_referred"}},
    "one_hot": ["department", "region"],
    "scale": "standard",
    "pca": 0.9,
})


@pytest.fixture(scope="module")
def promotion():
    frame = promotion_frame(1500, seed=1)
    return frame.drop(columns=["is_promoted"]), frame["is_promoted"].to_numpy()


def test_seed_000_preprocessing_encodes_as_declared(promotion) -> None:
    x, _ = promotion
    spec = SEED_000.model_copy(update={"pca": None, "scale": None})
    out = _preprocess.build(spec, list(x.columns)).fit_transform(x)
    assert "gender" not in out.columns and "employee_id" not in out.columns
    assert "is_referred" in out.columns and "recruitment_channel" not in out.columns
    assert np.array_equal(out["is_referred"], (x["recruitment_channel"] == "referred").astype(float))
    # other < Below Secondary < Bachelor's < Master's & above, missing education -> other.
    expected = x["education"].fillna("other").map(
        {"other": 0, "Below Secondary": 1, "Bachelor's": 2, "Master's & above": 3})
    assert np.array_equal(out["education"], expected)
    assert out["previous_year_rating"].isna().sum() == 0
    assert (out.loc[x["previous_year_rating"].isna(), "previous_year_rating"] == 0).all()
    assert {f"department_{d}" for d in x["department"].unique()} <= set(out.columns)


def test_pca_keeps_the_declared_variance_and_is_fitted_on_training_rows_only(promotion) -> None:
    x, _ = promotion
    train, rest = x.iloc[:1000], x.iloc[1000:]
    fitted = _preprocess.check(SEED_000, train)
    pipeline = _preprocess.build(SEED_000, list(x.columns)).fit(train)
    pca = pipeline.named_steps["pca"]
    assert fitted.pca_components == pca.n_components_ == fitted.n_features
    assert fitted.pca_variance >= 0.9 > np.sum(pca.explained_variance_ratio_[:-1])
    assert len(fitted.features) > fitted.n_features  # PCA reduced the encoded features
    scaler = pipeline.named_steps["scale"]
    encoded_train = pipeline.named_steps["columns"].transform(train)
    assert np.allclose(scaler.mean_, encoded_train.mean().to_numpy())
    assert pipeline.transform(rest).shape == (len(rest), fitted.n_features)


@pytest.mark.parametrize(("change", "key", "text"), [
    ({"one_hot": ["department", "regoin"]}, "preprocess.one_hot[1]", "did you mean 'region'"),
    ({"drop": ["employee_id"], "one_hot": ["region"]}, "preprocess",
     "column 'department' is still non-numeric after preprocessing"),
    ({"fill": {}}, "preprocess", "missing value"),
    ({"ordinal": {"education": ["other", "Bachelor's"]}}, "preprocess.ordinal.education",
     "leaves out level(s) 'Below Secondary', \"Master's & above\""),
])
def test_preprocessing_problems_name_the_key(promotion, change, key, text) -> None:
    x, _ = promotion
    spec = SEED_000.model_copy(update=change)
    with pytest.raises(DataError) as error:
        _preprocess.check(spec, x)
    assert error.value.key == key
    assert text in error.value.message


def test_positive_class_becomes_label_one_and_bad_targets_are_refused() -> None:
    y, names = encode_target(["yes", "no", "yes"], origin="t.csv", positive_class="no")
    assert names == ["yes", "no"] and y.tolist() == [0, 1, 0]
    y, names = encode_target([0, 1, 1], origin="t.csv", positive_class=1)
    assert names == ["0", "1"] and y.tolist() == [0, 1, 1]
    with pytest.raises(DataError, match="single class"):
        encode_target([1, 1, 1], origin="t.csv")
    with pytest.raises(DataError, match="'maybe' is not a class of t.csv; classes: no, yes"):
        encode_target(["yes", "no"], origin="t.csv", positive_class="maybe")
    with pytest.raises(DataError, match="needs a binary target"):
        encode_target(["a", "b", "c"], origin="t.csv", positive_class="a")
    cancer = load("sklearn:breast_cancer", positive_class="malignant")
    assert cancer.class_names == ["benign", "malignant"] and cancer.y.sum() == 212


def test_thresholds_are_the_best_on_the_curves() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.15).astype(int)
    p = np.clip(0.3 * y + rng.normal(0.3, 0.15, 400), 0, 1)
    proba = np.column_stack([1 - p, p])
    f1 = metrics.get("f1")
    best = tune_threshold(y, p, "f1")
    candidates = np.unique(p)
    assert f1(y, proba, best) == pytest.approx(max(f1(y, proba, t) for t in candidates))
    assert f1(y, proba, best) > f1(y, proba, 0.5)
    youden = tune_threshold(y, p, "youden")
    balanced = metrics.get("balanced_accuracy")  # = (J + 1) / 2 for two classes
    assert balanced(y, proba, youden) == pytest.approx(max(balanced(y, proba, t) for t in candidates))
    assert predict_labels(proba, youden).tolist() == (p >= youden).astype(int).tolist()
    scores = score_all(y, proba, best)
    assert scores["f1"] == pytest.approx(f1(y, proba, best))
    assert scores["roc_auc"] == score_all(y, proba)["roc_auc"]  # threshold-free


@pytest.mark.parametrize("source", ["sklearn:breast_cancer", "sklearn:iris"])
@pytest.mark.parametrize("name", SKLEARN_MODELS)
def test_every_sklearn_model_fits_and_predicts_probabilities(name: str, source: str) -> None:
    dataset = load(source)
    parts = split(dataset, train=0.6, validation=0.2, test=0.2, stratify=True, seed=0)
    spec = models.get(name)
    fitted = sklearn_training.fit(spec, {}, parts.train, dataset.n_classes, seed=0,
                                  preprocess=Preprocess(scale="standard"))
    proba = fitted.predict_proba(parts.test)
    assert proba.shape == (len(parts.test), dataset.n_classes)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert metrics.get("accuracy")(parts.test.y, proba) > 0.8
    assert "class_weight" in spec.architecture_defaults() or name == "knn"


def test_a_class_missing_from_the_training_rows_keeps_its_column() -> None:
    dataset = load("sklearn:iris")
    keep = dataset.y < 2
    train = Part(dataset.x[keep], dataset.y[keep])
    fitted = sklearn_training.fit(models.get("logistic_regression"), {}, train, 3, seed=0)
    proba = fitted.predict_proba(Part(dataset.x, dataset.y))
    assert proba.shape == (150, 3) and np.all(proba[:, 2] == 0)


def test_cross_validation_predicts_every_training_row_out_of_fold() -> None:
    dataset = load("sklearn:breast_cancer")
    train = Part(dataset.x, dataset.y)
    accuracy = metrics.get("accuracy")
    folds: list[float] = []
    proba, scores, seconds = sklearn_training.cross_validate(
        models.get("decision_tree"), {"max_depth": 3}, train, 2, folds=4, seed=0,
        preprocess=None, score=accuracy, fold_scores=folds)
    assert scores is folds and len(scores) == 4 and seconds > 0
    assert proba.shape == (569, 2) and np.allclose(proba.sum(axis=1), 1.0)
    # Each fold's score is the accuracy of its own out-of-fold rows: their mean is
    # close to (not exactly, folds differ by a row) the overall out-of-fold accuracy.
    assert np.mean(scores) == pytest.approx(accuracy(train.y, proba), abs=0.01)


def test_cross_validation_is_pruned_between_folds_never_after_the_last() -> None:
    import optuna

    dataset = load("sklearn:breast_cancer")
    train = Part(dataset.x, dataset.y)
    # A pruner that prunes whenever it may (no accuracy reaches 2), from fold
    # ``warmup`` on: 2 leaves it only the last of the 3 folds, where it must not.
    for warmup, completes in ((2, True), (0, False)):
        study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(
            lower=2.0, n_warmup_steps=warmup))
        trial, scores = study.ask(), []

        def run() -> None:
            sklearn_training.cross_validate(
                models.get("decision_tree"), {"max_depth": 3}, train, 2, folds=3, seed=0,
                preprocess=None, score=metrics.get("accuracy"), trial=trial, fold_scores=scores)
        if completes:
            run()
            assert len(scores) == 3
        else:
            with pytest.raises(optuna.TrialPruned):
                run()
            assert len(scores) == 1


def test_impossible_pca_and_split_are_data_errors_naming_their_key() -> None:
    from benchmark.datasets import load_splits
    from benchmark.suite import DatasetEntry

    iris = load("sklearn:iris")
    with pytest.raises(DataError) as error:
        _preprocess.check(Preprocess(pca=10), iris.x)  # iris has 4 columns
    assert error.value.key == "preprocess" and "n_components" in error.value.message
    entry = DatasetEntry.model_validate({"source": "sklearn:iris",
                                         "split": {"train": 0.97, "validation": 0.02, "test": 0.01}})
    with pytest.raises(DataError) as error:
        load_splits(entry, seed=0)  # 2 test samples cannot hold 3 classes
    assert error.value.key == "split"


def test_searched_steps_are_checked_for_each_choice_and_built_only_once_chosen() -> None:
    wine = load("sklearn:wine")
    spec = Preprocess.model_validate({"scale": "standard", "pca": {"choices": [None, 0.9, 2]}})
    fitted = _preprocess.check(spec, wine.x)
    # The numbers that differ between the choices are stated per choice, not once.
    assert fitted.n_features is None and fitted.pca_components is None
    assert [v["params"] for v in fitted.searched] == [
        {"preprocess.pca": None}, {"preprocess.pca": 0.9}, {"preprocess.pca": 2}]
    without, ninety, two = fitted.searched
    assert without["n_features"] == 13 and without["pca_components"] is None
    assert 2 < ninety["pca_components"] == ninety["n_features"] < 13 and ninety["pca_variance"] >= 0.9
    assert two["n_features"] == 2 and two["pca_variance"] < ninety["pca_variance"]
    with pytest.raises(ValueError, match="preprocess.pca is searched"):
        _preprocess.build(spec, list(wine.x.columns))
    chosen, _ = spec.chosen({"preprocess.pca": 2})
    assert list(_preprocess.build(chosen, list(wine.x.columns)).named_steps) == ["columns", "scale",
                                                                                 "pca"]


@pytest.mark.parametrize("pca", [None, 0.9])
def test_a_refit_applies_the_chosen_preprocessing_and_the_model_never_sees_it(
        tmp_path, pca) -> None:
    """What a final evaluation of a searched preprocess.pca fits and saves: the
    pipeline has a PCA step exactly when the selected configuration chose one."""
    import joblib

    from benchmark import worker
    from benchmark.suite import DatasetEntry

    entry = DatasetEntry.model_validate({"source": "sklearn:wine", "preprocess": {
        "scale": "standard", "pca": {"choices": [None, 0.9]}}})
    outcome = worker.run_evaluation(worker.EvaluationTask(
        model="logistic_regression", params={"C": 1.0, "preprocess.pca": pca},
        data=worker.DataRef(entry.model_dump_json(), 0), metric="accuracy", seed=0,
        save_to=str(tmp_path)))
    assert outcome.state == "complete", outcome.error
    pipeline = joblib.load(outcome.model_file)
    steps = pipeline.named_steps["preprocess"].named_steps
    assert ("pca" in steps) == (pca is not None)
    assert pipeline.named_steps["model"].n_features_in_ == (
        steps["pca"].n_components_ if pca is not None else 13)
