"""Metric registry. Each metric is a scikit-learn function named by string, so
that listing metrics (``benchmark list``) does not import scikit-learn."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmark.registry import Registry


@dataclass(frozen=True)
class Metric:
    name: str
    sklearn_function: str
    higher_is_better: bool
    uses_probabilities: bool = False
    kwargs: dict[str, Any] = field(default_factory=dict)
    # The Keras metric that tracks this one every epoch (what a pruner watches).
    keras_name: str | None = None
    description: str = ""

    @property
    def direction(self) -> str:
        return "maximize" if self.higher_is_better else "minimize"

    def __call__(self, y_true: np.ndarray, proba: np.ndarray) -> float:
        """Score from true labels and class probabilities (n_samples, n_classes)."""
        import sklearn.metrics

        function = getattr(sklearn.metrics, self.sklearn_function)
        labels = np.arange(proba.shape[1])
        if self.uses_probabilities:
            kwargs = dict(self.kwargs)
            if self.sklearn_function in {"log_loss", "roc_auc_score"}:
                kwargs["labels"] = labels
            scores = proba[:, 1] if proba.shape[1] == 2 and self.sklearn_function == "roc_auc_score" else proba
            return float(function(y_true, scores, **kwargs))
        y_pred = proba.argmax(axis=1)
        kwargs = dict(self.kwargs)
        if "average" in kwargs:
            kwargs.setdefault("labels", labels)
            kwargs.setdefault("zero_division", 0)
        return float(function(y_true, y_pred, **kwargs))


metrics: Registry[Metric] = Registry("metric")

for _metric in [
    Metric("accuracy", "accuracy_score", True, keras_name="accuracy",
           description="fraction of correct predictions"),
    Metric("balanced_accuracy", "balanced_accuracy_score", True,
           description="mean recall over classes"),
    Metric("f1_macro", "f1_score", True, kwargs={"average": "macro"},
           description="unweighted mean F1 over classes"),
    Metric("precision_macro", "precision_score", True, kwargs={"average": "macro"},
           description="unweighted mean precision over classes"),
    Metric("recall_macro", "recall_score", True, kwargs={"average": "macro"},
           description="unweighted mean recall over classes"),
    Metric("log_loss", "log_loss", False, uses_probabilities=True, keras_name="loss",
           description="cross-entropy of the predicted probabilities"),
    Metric("roc_auc_ovr", "roc_auc_score", True, uses_probabilities=True,
           kwargs={"multi_class": "ovr"}, description="one-vs-rest ROC AUC"),
]:
    metrics.register(_metric.name, _metric)


def score_all(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Every registered metric that is defined for these labels: an undefined one
    (ROC AUC on a split that lacks a class) is left out, not reported as 0 or NaN."""
    import warnings

    from sklearn.exceptions import UndefinedMetricWarning

    scores = {}
    for name, metric in metrics.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            try:
                value = metric(y_true, proba)
            except ValueError:
                continue
        if np.isfinite(value):
            scores[name] = value
    return scores
