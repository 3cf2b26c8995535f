"""Exact duplicates (found, counted, kept in one split by ``split.dedupe``), class
balance after the split, and the data fingerprint after these steps. On data the
tests make: scikit-learn's digits and iris, doubled or cut down. Nothing trains."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import benchmark.datasets as datasets
from benchmark.datasets import Dataset, load_splits
from benchmark.datasets._split import count_duplicates, dedupe_index, sample_hashes
from benchmark.datasets._summary import fingerprint, summarize
from benchmark.errors import DataError, UserError
from benchmark.suite import DatasetEntry


def _entry(source: str = "sklearn:digits", **split) -> DatasetEntry:
    return DatasetEntry.model_validate({"source": source, "split": split})


def _digits() -> Dataset:
    return datasets.load("sklearn:digits")


def _doubled(dataset: Dataset) -> Dataset:
    """Every sample twice (as a scraped image set may have it)."""
    import pandas as pd

    x = (pd.concat([dataset.x, dataset.x]) if hasattr(dataset.x, "iloc")
         else np.concatenate([dataset.x, dataset.x]))
    return replace(dataset, x=x, y=np.concatenate([dataset.y, dataset.y]))


def _serve(monkeypatch, dataset: Dataset) -> None:
    """load_splits loads ``dataset`` whatever the entry's source."""
    monkeypatch.setattr(datasets, "load", lambda *args, **kwargs: dataset)


def _fingerprint(splits) -> str:
    return fingerprint({"train": splits.train, "validation": splits.validation,
                        "test": splits.test})


def _test_in_train(splits) -> int:
    """Counted here independently of load_splits: test images equal to a training image."""
    train = {row.tobytes() for row in np.asarray(splits.train.x)}
    return sum(row.tobytes() in train for row in np.asarray(splits.test.x))


# ------------------------------------------------------------------ every sample twice


def test_doubled_digits_without_dedupe_has_almost_every_test_sample_in_training(monkeypatch):
    digits = _digits()
    _serve(monkeypatch, _doubled(digits))
    dataset, splits = load_splits(_entry(dedupe=False), seed=0)
    found = splits.duplicates
    assert (found.n_loaded, found.copies, found.conflicting) == (2 * 1797, 1797, 0)
    assert not found.dedupe and found.dropped == {}
    assert found.test_in_train == _test_in_train(splits)
    # Each test image's twin is in training with probability ~0.7 (or in validation).
    assert 0.6 * len(splits.test) < found.test_in_train <= len(splits.test)
    assert any(f"{found.test_in_train} of {len(splits.test)} test samples also appear in the "
               "training split" in line and "split.dedupe: true" in line
               for line in dataset.warnings)
    summary = summarize(dataset, splits)
    assert summary["duplicates"]["test_in_train"] == found.test_in_train
    assert summary["n_samples"] == 2 * 1797


def test_doubled_digits_with_dedupe_has_no_test_sample_in_training(monkeypatch):
    digits = _digits()
    _serve(monkeypatch, _doubled(digits))
    dataset, splits = load_splits(_entry(), seed=0)  # images: dedupe by default
    found = splits.duplicates
    assert found.dedupe and not found.dedupe_set
    assert found.dropped == {"all": 1797} and len(dataset.y) == 1797
    assert found.test_in_train == 0 == _test_in_train(splits)
    assert found.validation_in_train == 0
    assert summarize(dataset, splits)["n_samples"] == 1797
    assert ("1797 of 3594 samples are exact copies of an earlier one (same pixels), 0 of them "
            "with a different label; split.dedupe dropped 1797 of them (true, the default for "
            "image data), so each sample is in one split only") in dataset.warnings
    # What is left is the original data, split as the original would be: the same fingerprint.
    _serve(monkeypatch, digits)
    _, original = load_splits(_entry(), seed=0)
    assert _fingerprint(splits) == _fingerprint(original)


def test_conflicting_labels_are_counted_and_the_first_label_kept(monkeypatch):
    digits = _digits()
    doubled = _doubled(digits)
    y = doubled.y.copy()
    y[1797:1797 + 40] = (y[1797:1797 + 40] + 1) % 10  # 40 copies say another digit
    _serve(monkeypatch, replace(doubled, y=y))
    dataset, splits = load_splits(_entry(), seed=0)
    assert (splits.duplicates.copies, splits.duplicates.conflicting) == (1797, 40)
    assert np.array_equal(dataset.y, digits.y)  # the first copy (and its label) is kept
    assert any("40 of them with a different label" in line for line in dataset.warnings)


def test_tabular_duplicates_are_found_after_preprocess_drop(tmp_path: Path, monkeypatch):
    # An ID column makes every row unique; without it, the doubled rows are copies.
    import pandas as pd

    iris = datasets.load("sklearn:iris")
    frame = iris.x.assign(species=iris.y)
    frame = pd.concat([frame, frame.iloc[:30]], ignore_index=True)
    frame.insert(0, "employee_id", np.arange(len(frame)))
    path = tmp_path / "iris.csv"
    frame.to_csv(path, index=False)
    base = {"source": "csv", "path": str(path), "target": "species"}
    _, kept = load_splits(DatasetEntry.model_validate(base), seed=0)
    assert kept.duplicates.copies == 0  # every row has its own id
    entry = DatasetEntry.model_validate({**base, "preprocess": {"drop": ["employee_id"]}})
    dataset, splits = load_splits(entry, seed=0)
    iris_copies = count_duplicates(sample_hashes(iris), iris.y)[0]  # iris has one of its own
    assert iris_copies == 1
    assert splits.duplicates.copies == 30 + iris_copies
    assert splits.duplicates.hashed_on == "features after dropping employee_id"
    assert not splits.duplicates.dedupe and len(dataset.y) == len(frame)  # tabular: kept
    deduped = DatasetEntry.model_validate({**base, "preprocess": {"drop": ["employee_id"]},
                                           "split": {"dedupe": True}})
    dataset, splits = load_splits(deduped, seed=0)
    assert len(dataset.y) == len(frame) - 30 - iris_copies
    assert splits.duplicates.test_in_train == 0


# ------------------------------------------------------------------ splits the data fixes


def _given(parts: list[str], x: np.ndarray, y: np.ndarray) -> Dataset:
    return Dataset(name="g", kind="image", x=x, y=y, class_names=["a", "b"],
                   parts=np.array(parts))


def test_dedupe_never_drops_a_test_sample_of_a_given_split():
    rng = np.random.default_rng(0)
    x = rng.random((60, 2, 2, 1)).astype("float32")
    y = np.arange(60) % 2
    parts = ["train"] * 40 + ["validation"] * 10 + ["test"] * 10
    # Copies: train 0-4 of the test samples 50-54, validation 40-42 of test 55-57,
    # train 5-7 of validation 43-45, train 8 of train 9, test 58 of test 59.
    for a, b in [*zip(range(5), range(50, 55)), *zip(range(40, 43), range(55, 58)),
                 *zip(range(5, 8), range(43, 46)), (8, 9), (58, 59)]:
        x[a] = x[b]
    hashes = sample_hashes(_given(parts, x, y))
    keep = dedupe_index(hashes, np.array(parts))
    assert set(range(50, 60)) <= set(keep)  # every test sample stays, copies included
    gone = sorted(set(range(60)) - set(keep))
    assert gone == [*range(8), 9, 40, 41, 42]  # train 9 repeats train 8: the first stays
    assert len(np.unique(hashes[keep][np.array(parts)[keep] != "test"])) == len(keep) - 10


def test_given_split_dedupe_counts_what_it_dropped_by_part(monkeypatch):
    digits = _digits()
    x = np.concatenate([digits.x, digits.x[:200]])
    y = np.concatenate([digits.y, digits.y[:200]])
    # The first 200 images are test samples; their copies at the end are training samples.
    parts = np.array(["test"] * 200 + ["train"] * 1597 + ["train"] * 200)
    _serve(monkeypatch, replace(digits, x=x, y=y, parts=parts))
    _, kept = load_splits(_entry(dedupe=False), seed=0)
    # Each test image's copy lands in training, or in the validation part cut from it.
    assert kept.duplicates.test_in_train == _test_in_train(kept)
    assert 0.6 * 200 < kept.duplicates.test_in_train < 200 == len(kept.test)
    dataset, splits = load_splits(_entry(), seed=0)
    assert splits.duplicates.dropped == {"train": 200}
    assert len(splits.test) == 200 and splits.duplicates.test_in_train == 0


# ------------------------------------------------------------------ fingerprint


@pytest.mark.parametrize(("source", "today"), [("sklearn:digits", "059464a2d46285a3"),
                                              ("sklearn:iris", "ad6b35110ed6300f")])
def test_fingerprint_is_unchanged_when_nothing_is_dropped(source: str, today: str):
    # The values the tool stored before duplicates were looked for (commit ffc11af):
    # digits has no duplicates; iris has one, kept by the tabular default.
    dataset, splits = load_splits(_entry(source), seed=0)
    assert sum(splits.duplicates.dropped.values()) == 0
    assert summarize(dataset, splits)["fingerprint"] == today


def test_fingerprint_changes_when_dedupe_drops_a_sample():
    dataset, splits = load_splits(_entry("sklearn:iris", dedupe=True), seed=0)
    assert splits.duplicates.dropped == {"all": 1}
    assert summarize(dataset, splits)["fingerprint"] != "ad6b35110ed6300f"


def test_unset_dedupe_leaves_the_suite_hash_as_it_was():
    from benchmark import suite

    loaded = suite.load(Path(__file__).resolve().parents[1] / "suites" / "tabular.yaml")
    assert "dedupe" not in loaded.to_json()["datasets"]["breast_cancer"]["split"]
    assert loaded.hash() == "576496b4bd737521"  # its hash at commit ffc11af


# ------------------------------------------------------------------ class balance


def _small(counts: list[int], parts: list[str] | None = None) -> Dataset:
    y = np.repeat(np.arange(len(counts)), counts)
    x = np.random.default_rng(1).random((len(y), 2, 2, 1)).astype("float32")
    return Dataset(name="s", kind="image", x=x, y=y, class_names=[f"c{k}" for k in
                                                                range(len(counts))],
                   parts=None if parts is None else np.array(parts))


def test_a_class_with_one_sample_is_named_for_a_stratified_split(monkeypatch):
    _serve(monkeypatch, _small([30, 30, 1]))
    with pytest.raises(DataError) as error:
        load_splits(_entry(), seed=0)
    message = str(error.value)
    assert message.startswith("split: class 'c2' has 1 sample in the data, before the test cut")
    assert "stratify: false" in message and "\n" not in message


def test_a_class_left_with_one_sample_after_the_test_cut_is_named(monkeypatch):
    # Two samples of c2 and a test half: the stratified test cut takes one.
    _serve(monkeypatch, _small([20, 20, 2]))
    with pytest.raises(DataError, match=r"class 'c2' has 1 sample in what the test cut left for "
                                        r"training and validation \(2 in all\)"):
        load_splits(_entry(train=0.35, validation=0.15, test=0.5), seed=0)
    # Where the data gives the training part, it is named as the place of the lone sample.
    parts = ["train"] * 61 + ["validation"] * 10
    lone = replace(_small([30, 30, 1, 10], parts),
                   y=np.concatenate([np.repeat([0, 1, 2], [30, 30, 1]), np.zeros(10, dtype=int)]),
                   class_names=["c0", "c1", "c2"])
    _serve(monkeypatch, lone)
    with pytest.raises(DataError, match=r"class 'c2' has 1 sample in the training part, before "
                                        r"the test cut \(1 in all\)"):
        load_splits(_entry(), seed=0)


def test_a_class_without_training_samples_is_refused_with_the_counts(monkeypatch):
    parts = ["train"] * 40 + ["test"] * 12
    dataset = _small([20, 20, 12], parts)  # c2 only in the test folder
    _serve(monkeypatch, dataset)
    with pytest.raises(DataError) as error:
        load_splits(_entry(), seed=0)
    assert str(error.value) == ("split: class 'c2' has no training samples (train 0, validation "
                                "0, test 12): no model can learn it; give it training samples or "
                                "remove it")


def test_a_class_missing_from_the_test_split_or_the_data_is_one_warning(monkeypatch):
    parts = ["train"] * 48 + ["test"] * 20
    dataset = _small([24, 24, 20], parts)
    dataset = replace(dataset, y=np.concatenate([dataset.y[:48], np.zeros(20, dtype=int)]),
                      class_names=["c0", "c1", "c2", "empty"])
    _serve(monkeypatch, dataset)
    loaded, splits = load_splits(_entry(), seed=0)
    counts = np.bincount(splits.train.y, minlength=4), np.bincount(splits.validation.y, minlength=4)
    assert (f"class 'c1' has no test samples (train {counts[0][1]}, validation {counts[1][1]}, "
            "test 0): metrics that need every class there (ROC AUC) are undefined"
            in loaded.warnings)
    assert "class 'empty' has no samples at all (train 0, validation 0, test 0)" in loaded.warnings


def test_a_test_part_too_small_for_the_classes_is_one_line(monkeypatch):
    _serve(monkeypatch, _small([4] * 10))
    with pytest.raises(DataError) as error:
        load_splits(_entry(), seed=0)
    assert "should be greater or equal to the number of classes = 10" in str(error.value)


def _suite(extra_study: dict | None = None, models: list | None = None):
    from benchmark import suite

    return suite.parse({
        "name": "balance",
        "datasets": {"d": {"source": "sklearn:iris", "split": {"stratify": False}}},
        "models": models or [{"model": "logistic_regression", "search": {"C": 1.0}}],
        "study": {"n_trials": 1, "metric": "accuracy", **(extra_study or {})},
    }, origin="s.yaml")


def test_classes_smaller_than_the_cross_validation_folds_are_named(monkeypatch):
    from benchmark import runner

    iris = datasets.load("sklearn:iris")
    keep = np.flatnonzero((iris.y != 2) | (np.arange(150) % 50 < 6))  # 6 of class 2
    _serve(monkeypatch, replace(iris, x=iris.x.iloc[keep], y=iris.y[keep]))
    loaded = runner.load_datasets(_suite({"cv_folds": 10}), "s.yaml")["d"]
    n = int(np.sum(loaded.splits.train.y == 2))
    assert (f"class 'virginica' has {n} training samples, fewer than study.cv_folds (10): some "
            "folds hold none of it") in loaded.dataset.warnings
    with pytest.raises(UserError, match="study.cv_folds: 50 stratified folds need at least 50 "):
        runner.load_datasets(_suite({"cv_folds": 50}), "s.yaml")


def test_a_single_training_sample_of_a_class_is_refused_for_a_search_sample(monkeypatch):
    from benchmark import runner

    iris = datasets.load("sklearn:iris")
    keep = np.flatnonzero((iris.y != 2) | (np.arange(150) == 149))  # one virginica
    _serve(monkeypatch, replace(iris, x=iris.x.iloc[keep], y=iris.y[keep]))
    models = [{"model": "logistic_regression", "search": {"C": 1.0}, "search_sample": 20}]
    suite = _suite(models=models)
    for seed in range(20):  # a seed that puts the one virginica in the training split
        suite = suite.model_copy(update={"study": suite.study.model_copy(update={"seed": seed})})
        with pytest.raises(UserError) as error:
            runner.load_datasets(suite, "s.yaml")
        if "no training samples" in str(error.value):  # in validation or test: refused anyway
            continue
        assert str(error.value) == ("s.yaml: models[0].search_sample: class 'virginica' of d has "
                                    "1 training sample; the stratified sample of 20 rows needs "
                                    "at least 2 of each class")
        return
    pytest.fail("no seed put the single virginica in the training split")


# ------------------------------------------------------------------ validate and the report


def test_validate_prints_the_duplicates_line(tmp_path: Path, monkeypatch, capsys):
    from benchmark import cli

    _serve(monkeypatch, _doubled(_digits()))
    path = tmp_path / "s.yaml"
    path.write_text("name: s\ndatasets:\n  d: {source: sklearn:digits, split: {dedupe: false}}\n"
                    "models:\n  - model: lenet5\n    search: {epochs: 1}\nstudy: {n_trials: 1}\n")
    assert cli.main(["validate", str(path)]) == 0
    err = capsys.readouterr().err
    assert ("warning: datasets.d: 1797 of 3594 samples are exact copies of an earlier one (same "
            "pixels), 0 of them with a different label; they are kept (split.dedupe: false)") in err
    assert "test samples also appear in the training split" in err


def _data_paragraph(monkeypatch, dataset: Dataset, entry: DatasetEntry,
                    dropped: dict | None = None) -> tuple[str, object]:
    """The report's data section for ``dataset``, its summary put in a stored run's place."""
    import shutil
    import tempfile

    from benchmark.report import context as report_context
    from benchmark.report import render
    from benchmark.store import Store

    copy = Path(tempfile.mkdtemp()) / "stored.db"
    shutil.copy(Path(__file__).resolve().parent / "data" / "stored_run.db", copy)
    ctx = report_context.build(Store(f"sqlite:///{copy}", create=False), "latest")
    _serve(monkeypatch, dataset)
    loaded, splits = load_splits(entry, seed=0)
    summary = summarize(loaded, splits)
    if dropped is not None:
        summary["dropped"] = dropped
    ctx["datasets"][0] = {**ctx["datasets"][0], **summary}
    html = " ".join(render.render_html(ctx, {}).split())
    return html[html.index("<h2>Data</h2>"):html.index("<h2>Methods</h2>")], splits


def test_report_data_section_states_duplicates_dedupe_and_test_overlap(monkeypatch):
    doubled = _doubled(_digits())
    html, splits = _data_paragraph(monkeypatch, doubled, _entry(dedupe=False),
                                   {"cut off": 1, "missing values": 3})
    assert "The loader dropped 4 rows: 1 cut off, 3 missing values." in html
    assert ("1,797 of the 3,594 samples loaded are exact copies of an earlier one (same pixels), "
            "none of them with a different label; they were kept (split.dedupe: false): "
            f"{splits.duplicates.test_in_train:,} of the {len(splits.test):,} test samples are "
            "also training samples, so the test scores are partly scores on training data.") in html

    html, splits = _data_paragraph(monkeypatch, doubled, _entry())
    assert "The loader dropped" not in html
    assert ("1,797 of the 3,594 samples loaded are exact copies of an earlier one (same pixels), "
            "none of them with a different label; split.dedupe (the default for image data) "
            "dropped the 1,797 copies, so each sample is in one split only; none of the "
            f"{len(splits.test):,} test samples is also a training sample.") in html


def test_report_data_section_for_a_given_split_and_for_clean_data(monkeypatch):
    digits = _digits()
    x = np.concatenate([digits.x, digits.x[:200]])
    y = np.concatenate([digits.y, digits.y[:200]])
    parts = np.array(["test"] * 200 + ["train"] * 1797)
    html, _ = _data_paragraph(monkeypatch, replace(digits, x=x, y=y, parts=parts), _entry())
    assert ("dropped the 200 copies (200 training; a test sample is never dropped), so each "
            "sample is in one split only; none of the 200 test samples is also a training "
            "sample.") in html
    html, _ = _data_paragraph(monkeypatch, digits, _entry())
    assert ("No two of the 1,797 samples loaded are exact copies (compared on the pixels), so no "
            "test sample is also a training sample.") in html
