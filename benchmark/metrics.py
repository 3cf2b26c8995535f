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
    # Defined for two classes only (scores the positive class, index 1).
    binary_only: bool = False
    description: str = ""

    @property
    def direction(self) -> str:
        return "maximize" if self.higher_is_better else "minimize"

    def __call__(self, y_true: np.ndarray, proba: np.ndarray, threshold: float | None = None) -> float:
        """Score from true labels and class probabilities (n_samples, n_classes).

        ``threshold`` (two classes only) is the positive-class probability from
        which a sample is predicted positive; without it the likeliest class wins.
        """
        import sklearn.metrics

        function = getattr(sklearn.metrics, self.sklearn_function)
        n_classes = proba.shape[1]
        if self.binary_only and n_classes != 2:
            raise ValueError(f"metric {self.name!r} needs two classes, got {n_classes}")
        kwargs = dict(self.kwargs)
        if self.uses_probabilities:
            if self.sklearn_function == "log_loss":
                kwargs["labels"] = np.arange(n_classes)
            if n_classes == 2 and self.sklearn_function != "log_loss":
                return float(function(y_true, proba[:, 1], **kwargs))
            if self.sklearn_function == "roc_auc_score":
                kwargs.update(multi_class="ovr", labels=np.arange(n_classes))
            return float(function(y_true, proba, **kwargs))
        y_pred = predict_labels(proba, threshold)
        if "average" in kwargs or self.binary_only:
            kwargs.setdefault("zero_division", 0)
        if "average" in kwargs:
            kwargs.setdefault("labels", np.arange(n_classes))
        return float(function(y_true, y_pred, **kwargs))


def predict_labels(proba: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Class indices: the positive class (1) from ``threshold`` on, else the likeliest."""
    if threshold is not None and proba.shape[1] == 2:
        return (proba[:, 1] >= threshold).astype("int64")
    return proba.argmax(axis=1)


THRESHOLD_OBJECTIVES = ["youden", "f1"]


def tune_threshold(y_true: np.ndarray, positive_proba: np.ndarray, objective: str) -> float:
    """The positive-class threshold that maximises ``objective`` on these samples.

    Every distinct score is a candidate (the curves of scikit-learn enumerate
    them exactly), so no grid resolution is involved. Youden's J = TPR - FPR.
    """
    from sklearn.metrics import precision_recall_curve, roc_curve

    if objective == "youden":
        fpr, tpr, thresholds = roc_curve(y_true, positive_proba)
        finite = np.isfinite(thresholds)  # roc_curve's first threshold is +inf
        j = (tpr - fpr)[finite]
        return float(thresholds[finite][int(np.argmax(j))])
    if objective == "f1":
        precision, recall, thresholds = precision_recall_curve(y_true, positive_proba)
        # The last (precision, recall) pair has no threshold.
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.nan_to_num(2 * precision * recall / (precision + recall))[:-1]
        return float(thresholds[int(np.argmax(f1))])
    raise ValueError(f"unknown threshold objective {objective!r}; valid: {THRESHOLD_OBJECTIVES}")


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
    Metric("roc_auc", "roc_auc_score", True, uses_probabilities=True,
           description="area under the ROC curve (one-vs-rest macro mean for more than two classes)"),
    Metric("average_precision", "average_precision_score", True, uses_probabilities=True,
           description="area under the precision-recall curve (macro mean for more than two classes)"),
    Metric("f1", "f1_score", True, binary_only=True,
           description="F1 of the positive class (two classes)"),
    Metric("precision", "precision_score", True, binary_only=True,
           description="precision of the positive class (two classes)"),
    Metric("recall", "recall_score", True, binary_only=True,
           description="recall (sensitivity) of the positive class (two classes)"),
]:
    metrics.register(_metric.name, _metric)


def score_all(y_true: np.ndarray, proba: np.ndarray,
              threshold: float | None = None) -> dict[str, float]:
    """Every registered metric that is defined for these labels: an undefined one
    (ROC AUC on a split that lacks a class) is left out, not reported as 0 or NaN."""
    import warnings

    from sklearn.exceptions import UndefinedMetricWarning

    scores = {}
    for name, metric in metrics.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            try:
                value = metric(y_true, proba, threshold)
            except ValueError:
                continue
        if np.isfinite(value):
            scores[name] = value
    return scores
