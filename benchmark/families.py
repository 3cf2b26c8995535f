"""Model families: the one seam between the tool and a modelling framework.

A family (Keras, scikit-learn; later any other) answers every question the
tool asks about the models of its kind: which training knobs they share and of
which types, whether they train in epochs (per-epoch curves, pruning after an
epoch) or can be cross-validated, how a model is fitted, cross-validated,
saved and loaded, and which software the report cites for it. Callers ask
``family_of(spec)`` instead of testing a family's name. Adding a family is one
module with a ``Family`` and its registration here.

Frameworks are imported inside the methods: listing families costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.registry import Registry


@dataclass(frozen=True)
class Family:
    name: str
    label: str  # as prose names it: "Keras", "scikit-learn"
    # Per-epoch training curves, and a pruner that may stop a trial after an epoch.
    trains_in_epochs: bool
    # study.cv_folds: trials scored by k-fold cross-validation of the training split.
    cross_validates: bool
    # Citation keys of the report's software line (report/context.py's references).
    software: tuple[str, ...]
    # The training knobs every model of the family takes, with defaults and types.
    training_defaults: dict[str, Any] = field(default_factory=dict)
    training_types: dict[str, Any] = field(default_factory=dict)
    # The suffix of a saved model file.
    suffix: str = ""
    # Its models run on TensorFlow (a worker readies it, with determinism and
    # thread caps, before the first fit).
    uses_tensorflow: bool = False
    # How a user loads a saved model without this tool (the report says it).
    loader: str = ""

    def fit(self, spec: Any, params: dict[str, Any], train: Any, splits: Any, n_classes: int, *,
            preprocess: Any, metric: Any, seed: int, trial: Any = None,
            history: list | None = None) -> Any:
        """Fits ``spec`` with ``params`` on ``train``; ``splits.validation`` feeds
        the per-epoch curves of families that train in epochs. Returns an object
        with ``predict_proba(part)``, ``fit_seconds``, ``n_params``, ``history``."""
        raise NotImplementedError

    def cross_validate(self, spec: Any, params: dict[str, Any], train: Any, n_classes: int, *,
                       folds: int, seed: int, preprocess: Any, **options: Any) -> Any:
        """(out-of-fold probabilities, fold scores, fit seconds)."""
        raise ValueError(f"{self.label} models are not cross-validated (study.cv_folds)")

    def save(self, fitted: Any, path: Path) -> Path:
        """Writes the fitted model to ``path`` with the family's suffix, loadable
        without this tool (``keras.models.load_model`` / ``joblib.load``)."""
        raise NotImplementedError

    def load(self, path: Path) -> Any:
        raise NotImplementedError

    def predictor(self, model: Any) -> Any:
        """How a deployed model answers one request: a function from inputs to
        class probabilities, without the tool's batching (latency is measured
        through it)."""
        raise NotImplementedError


@dataclass(frozen=True)
class KerasFamily(Family):
    def fit(self, spec: Any, params: dict[str, Any], train: Any, splits: Any, n_classes: int, *,
            preprocess: Any, metric: Any, seed: int, trial: Any = None,
            history: list | None = None) -> Any:
        from benchmark.datasets import Splits
        from benchmark.training import keras as keras_training

        return keras_training.fit(spec, params, Splits(train, splits.validation, splits.test),
                                  n_classes, seed=seed, metric=metric, trial=trial,
                                  history=history)

    def save(self, fitted: Any, path: Path) -> Path:
        target = path.with_suffix(self.suffix)
        fitted.model.save(target)
        return target

    def load(self, path: Path) -> Any:
        import keras

        return keras.models.load_model(path)

    def predictor(self, model: Any) -> Any:
        # A direct call: model.predict adds ~30 ms of per-call setup that a served
        # model does not pay.
        return lambda x: np.asarray(model(x, training=False))


@dataclass(frozen=True)
class SklearnFamily(Family):
    def fit(self, spec: Any, params: dict[str, Any], train: Any, splits: Any, n_classes: int, *,
            preprocess: Any, metric: Any, seed: int, trial: Any = None,
            history: list | None = None) -> Any:
        from benchmark.training import sklearn as sklearn_training

        return sklearn_training.fit(spec, params, train, n_classes, seed=seed,
                                    preprocess=preprocess)

    def cross_validate(self, spec: Any, params: dict[str, Any], train: Any, n_classes: int, *,
                       folds: int, seed: int, preprocess: Any, **options: Any) -> Any:
        from benchmark.training import sklearn as sklearn_training

        return sklearn_training.cross_validate(spec, params, train, n_classes, folds=folds,
                                               seed=seed, preprocess=preprocess, **options)

    def save(self, fitted: Any, path: Path) -> Path:
        import joblib

        target = path.with_suffix(self.suffix)
        joblib.dump(fitted.model, target)
        return target

    def load(self, path: Path) -> Any:
        import joblib

        return joblib.load(path)

    def predictor(self, model: Any) -> Any:
        return model.predict_proba


families: Registry[Family] = Registry("model family")


def _register() -> None:
    from benchmark.training import TRAINING_DEFAULTS, TRAINING_TYPES

    families.register("keras", KerasFamily(
        "keras", "Keras", trains_in_epochs=True, cross_validates=False,
        software=("tensorflow", "keras"), training_defaults=TRAINING_DEFAULTS["keras"],
        training_types=TRAINING_TYPES["keras"], suffix=".keras", uses_tensorflow=True,
        loader="keras.models.load_model (on a copy named *.keras: Keras reads the suffix)"))
    families.register("sklearn", SklearnFamily(
        "sklearn", "scikit-learn", trains_in_epochs=False, cross_validates=True,
        software=("sklearn",), suffix=".joblib", loader="joblib.load"))


_register()


def family_of(spec: Any) -> Family:
    """The family of a registered model (``ModelSpec``)."""
    return families.get(spec.family)


__all__ = ["Family", "families", "family_of"]
