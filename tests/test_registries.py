from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from benchmark import cli
from benchmark.datasets import sources, split
from benchmark.metrics import metrics, score_all
from benchmark.models import models
from benchmark.registry import Registry


def test_unknown_name_suggests_nearest_and_lists_all() -> None:
    registry: Registry[int] = Registry("thing")
    registry.register("alpha", 1)
    registry.register("beta", 2)
    with pytest.raises(KeyError, match=r"unknown thing 'alpah' \(did you mean 'alpha'\?\); valid: alpha, beta"):
        registry.get("alpah")
    with pytest.raises(ValueError, match="already registered"):
        registry.register("alpha", 3)


def test_list_shows_every_registered_entry(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in [*sources, *models, *metrics]:
        assert name in out
    # Category knobs list the values validate accepts.
    assert "pooling=average (average|max)" in out and "conv_layers=5 (3|4|5)" in out


def test_help_and_validate_do_not_import_tensorflow() -> None:
    code = ("import sys; from benchmark import cli, suite; cli.build_parser(); "
            "suite.load('suites/cnn.yaml'); cli.main(['validate', 'suites/tabular.yaml']); "
            "print(sorted(m for m in ('tensorflow', 'keras', 'weasyprint', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("name", [n for n, s in sources.items() if s.ships and not s.takes_path])
def test_every_builtin_source_loads_and_splits_stratified(name: str) -> None:
    dataset = sources.get(name).load()
    assert len(dataset.x) == len(dataset.y) and dataset.n_classes == len(set(dataset.y.tolist()))
    parts = split(dataset, train=0.6, validation=0.2, test=0.2, stratify=True, seed=3)
    assert len(parts.train) + len(parts.validation) + len(parts.test) == len(dataset.y)
    overall = np.bincount(dataset.y) / len(dataset.y)
    for part in (parts.train, parts.validation, parts.test):
        assert np.abs(np.bincount(part.y, minlength=dataset.n_classes) / len(part) - overall).max() < 0.05
    again = split(dataset, train=0.6, validation=0.2, test=0.2, stratify=True, seed=3)
    assert np.array_equal(again.test.y, parts.test.y)


def test_metrics_on_known_predictions() -> None:
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7]])  # one mistake
    scores = score_all(y, proba)
    assert scores["accuracy"] == pytest.approx(0.75)
    assert scores["balanced_accuracy"] == pytest.approx(0.75)
    assert scores["recall_macro"] == pytest.approx(0.75)
    assert scores["roc_auc"] == pytest.approx(1.0)  # the ranking is perfect
    assert scores["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.4, 0.8, 0.7])))
    assert metrics.get("log_loss").direction == "minimize"
    assert metrics.get("accuracy").keras_name == "accuracy"


def test_undefined_metric_is_left_out_not_zeroed() -> None:
    y = np.array([0, 0, 0])  # a single class: ROC AUC is undefined
    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4]])
    scores = score_all(y, proba)
    assert "roc_auc" not in scores and scores["accuracy"] == 1.0
