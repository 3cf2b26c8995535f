"""One contract for every registered model (STYLE.md 9): it builds on small
inputs, trains a step, and predicts one probability row per sample."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.datasets import Part, Splits
from benchmark.errors import TrialError
from benchmark.metrics import metrics
from benchmark.models import models
from benchmark.training import keras as keras_training

KERAS_MODELS = [name for name, spec in models.items() if spec.family == "keras"]


def _splits(shape: tuple[int, ...], n_classes: int = 3, n: int = 24) -> Splits:
    rng = np.random.default_rng(0)
    x = rng.random((n, *shape), dtype=np.float32)
    y = np.arange(n) % n_classes
    return Splits(Part(x, y), Part(x[:9], y[:9]), Part(x[:6], y[:6]))


@pytest.mark.parametrize("shape", [(8, 8, 1), (28, 28, 1), (32, 32, 3)])
@pytest.mark.parametrize("name", KERAS_MODELS)
def test_builds_trains_and_predicts(name: str, shape: tuple[int, ...]) -> None:
    fitted = keras_training.fit(models.get(name), {"epochs": 1, "batch_size": 8}, _splits(shape), 3,
                                seed=0, metric=metrics.get("accuracy"))
    assert len(fitted.history) == 1 and {"loss", "val_accuracy"} <= set(fitted.history[0])
    proba = fitted.predict_proba(_splits(shape).test)
    assert proba.shape == (6, 3)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert fitted.n_params > 0


@pytest.mark.parametrize("name", KERAS_MODELS)
def test_architecture_knobs_change_the_model(name: str) -> None:
    spec = models.get(name)
    knob = next(k for k, v in spec.architecture_defaults().items()
                if isinstance(v, int) and not isinstance(v, bool))
    default = spec.build((8, 8, 1), 3)
    wider = spec.build((8, 8, 1), 3, **{knob: spec.architecture_defaults()[knob] * 2})
    assert wider.count_params() > default.count_params()


def test_same_seed_same_history() -> None:
    args = (models.get("lenet5"), {"epochs": 2, "batch_size": 8}, _splits((8, 8, 1)), 3)
    first = keras_training.fit(*args, seed=5, metric=metrics.get("accuracy")).history
    second = keras_training.fit(*args, seed=5, metric=metrics.get("accuracy")).history
    assert first == second


def test_metric_without_keras_counterpart_is_tracked_per_epoch() -> None:
    fitted = keras_training.fit(models.get("lenet5"), {"epochs": 2, "batch_size": 8},
                                _splits((8, 8, 1)), 3, seed=0, metric=metrics.get("f1_macro"))
    assert all("val_f1_macro" in epoch for epoch in fitted.history)


def test_diverging_loss_is_a_trial_error() -> None:
    with pytest.raises(TrialError, match="loss became"):
        keras_training.fit(models.get("custom_cnn"),
                           {"epochs": 2, "batch_size": 8, "optimizer": "sgd", "learning_rate": 1e12,
                            "filters": 4},
                           _splits((8, 8, 1)), 3, seed=0, metric=metrics.get("accuracy"))
