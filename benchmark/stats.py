"""Statistics of the report: confidence intervals over repeated final
evaluations, bootstrap intervals over the test samples, and paired tests
between the selected model and the others (McNemar on the test predictions,
a paired t-test over repeats, a paired bootstrap of the difference), with effect
sizes and a false-discovery-rate correction when more than two models compete.

Plain numbers in, plain dicts out, so that the report and the tests use the
same functions; scipy.stats does the statistics."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

ALPHA = 0.05


def confidence_interval(values: list[float], level: float = 0.95,
                        bounds: tuple[float, float] | None = None) -> tuple[float, float] | None:
    """Student-t interval of the mean of ``values``, cut to ``bounds`` (an accuracy
    cannot exceed 1, though a t-interval of three repeats may); None below two
    values. Zero spread gives a zero-width interval (every repeat scored the same)."""
    values = np.asarray(values, dtype="float64")
    if len(values) < 2:
        return None
    mean = float(values.mean())
    if np.ptp(values) == 0:  # sem of equal floats is ~1e-17, not 0
        return mean, mean
    sem = float(stats.sem(values))
    low, high = stats.t.interval(level, len(values) - 1, loc=mean, scale=sem)
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return float(low), float(high)


# Bootstrap resamples of the test samples. One scikit-learn metric call costs
# ~0.7 ms (accuracy) to ~2.5 ms (F1, ROC AUC) on a loaded 2-core machine, almost
# all of it input checking, whatever the test size: ~1-3 s per model at 1,000.
BOOTSTRAP_RESAMPLES = 1000


def refits_identical(values: list[float]) -> bool:
    """Whether two or more refits all scored exactly the same (a deterministic
    model: the seed changes nothing), so their spread says nothing."""
    return len(values) > 1 and float(np.ptp(np.asarray(values, dtype="float64"))) == 0.0


def _bootstrap(statistic: Any, n: int, level: float, n_resamples: int | None,
               seed: int, mean_of: np.ndarray | None = None,
               batched: Any = None) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``statistic(index)`` over ``n`` samples
    resampled with replacement (scipy.stats.bootstrap on the sample indices, so
    that labels and predictions stay paired). A resample on which the metric is
    undefined (ROC AUC of a resample with one class) is left out.
    ``n_resamples`` None: BOOTSTRAP_RESAMPLES, read at call time. ``mean_of``:
    the statistic is the mean of these per-sample values (accuracy: whether each
    sample is classified correctly), resampled in one vectorised call.
    ``batched(index)``: the statistic of each row of a (resamples, n) index array."""
    n_resamples = n_resamples or BOOTSTRAP_RESAMPLES
    if n < 2:
        return None

    def safe(index: np.ndarray) -> float:
        try:
            value = float(statistic(np.asarray(index, dtype="int64")))
        except ValueError:
            return math.nan
        return value

    import warnings

    with warnings.catch_warnings():
        # An undefined resample warns (UndefinedMetricWarning, DegenerateDataWarning).
        warnings.simplefilter("ignore")
        if mean_of is not None:  # a mean of per-sample values: one vectorised call
            result = stats.bootstrap((np.asarray(mean_of, dtype="float64"),), np.mean,
                                     vectorized=True, axis=-1, n_resamples=n_resamples,
                                     confidence_level=level, method="percentile",
                                     rng=np.random.default_rng(seed))
        elif batched is not None:  # many resamples per scikit-learn call

            def many(index: np.ndarray, axis: int = -1) -> np.ndarray:
                index = np.asarray(index, dtype="int64")
                values = np.asarray(batched(np.atleast_2d(index)), dtype="float64")
                return values[0] if index.ndim == 1 else values

            result = stats.bootstrap((np.arange(n),), many, vectorized=True, axis=-1,
                                     batch=200, n_resamples=n_resamples,
                                     confidence_level=level, method="percentile",
                                     rng=np.random.default_rng(seed))
        else:
            result = stats.bootstrap((np.arange(n),), safe, vectorized=False,
                                     n_resamples=n_resamples, confidence_level=level,
                                     method="percentile", rng=np.random.default_rng(seed))
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    if not (math.isfinite(low) and math.isfinite(high)):
        values = np.asarray(result.bootstrap_distribution, dtype="float64")
        values = values[np.isfinite(values)]
        if len(values) < n_resamples / 2:
            return None
        tail = 100 * (1 - level) / 2
        low, high = (float(v) for v in np.percentile(values, [tail, 100 - tail]))
    return low, high


def bootstrap_interval(metric: Any, y_true: list[int], proba: list[list[float]],
                  threshold: float | None = None, level: float = 0.95,
                  n_resamples: int | None = None, seed: int = 0) -> tuple[float, float] | None:
    """95% percentile-bootstrap interval of ``metric(y_true, proba, threshold)``
    over the test samples: the uncertainty of a score that comes from which
    samples the test split happened to draw (none of the refits shows it).
    ``metric`` is a benchmark.metrics.Metric (a scikit-learn function)."""
    y, p = np.asarray(y_true), np.asarray(proba, dtype="float64")
    return _bootstrap(lambda index: metric(y[index], p[index], threshold), len(y), level,
                      n_resamples, seed, mean_of=_correct(metric, y, p, threshold),
                      batched=_binary_batched(metric, y, p, threshold))


def _binary_batched(metric: Any, y: np.ndarray, proba: np.ndarray,
                    threshold: float | None) -> Any:
    """Precision, recall or F1 of the positive class for many resamples in one
    scikit-learn call: each resample is one column of a multilabel indicator
    matrix, and ``average=None`` scores every column (= label) on its own."""
    if not getattr(metric, "binary_only", False) or getattr(metric, "uses_probabilities", True) \
            or proba.ndim != 2 or proba.shape[1] != 2:
        return None
    import sklearn.metrics

    from benchmark.metrics import predict_labels

    function = getattr(sklearn.metrics, metric.sklearn_function)
    labels = predict_labels(proba, threshold)
    truth = (y == 1).astype("int64")

    def batched(index: np.ndarray) -> np.ndarray:
        return function(truth[index].T, labels[index].T, average=None, zero_division=0)

    return batched


def _correct(metric: Any, y: np.ndarray, proba: np.ndarray,
             threshold: float | None) -> np.ndarray | None:
    """Accuracy is the mean of "classified correctly" per sample: its bootstrap
    needs no scikit-learn call per resample (~1-2 ms each, input checks)."""
    if getattr(metric, "name", None) != "accuracy":
        return None
    from benchmark.metrics import predict_labels

    return (predict_labels(proba, threshold) == y).astype("float64")


def bootstrap_difference(metric: Any, y_true: list[int], proba_a: list[list[float]],
                        threshold_a: float | None, proba_b: list[list[float]],
                        threshold_b: float | None, level: float = 0.95,
                        n_resamples: int | None = None,
                        seed: int = 0) -> tuple[float, float] | None:
    """Paired percentile-bootstrap interval of metric(A) - metric(B) on the same
    test samples (each resample scores both models on the same samples)."""
    y = np.asarray(y_true)
    a, b = np.asarray(proba_a, dtype="float64"), np.asarray(proba_b, dtype="float64")
    correct_a, correct_b = _correct(metric, y, a, threshold_a), _correct(metric, y, b, threshold_b)
    return _bootstrap(lambda index: metric(y[index], a[index], threshold_a)
                      - metric(y[index], b[index], threshold_b), len(y), level, n_resamples, seed,
                      mean_of=None if correct_a is None else correct_a - correct_b,
                      batched=_difference_batched(_binary_batched(metric, y, a, threshold_a),
                                                  _binary_batched(metric, y, b, threshold_b)))


def _difference_batched(batched_a: Any, batched_b: Any) -> Any:
    if batched_a is None or batched_b is None:
        return None
    return lambda index: batched_a(index) - batched_b(index)


def mcnemar(y_true: list[int], labels_a: list[int], labels_b: list[int]) -> dict[str, Any]:
    """Exact McNemar test on the test samples the two models classify differently.

    ``only_a`` counts samples only model A gets right, ``only_b`` those only B gets
    right; under the null hypothesis each discordant sample is a fair coin
    (scipy.stats.binomtest). The effect size is the odds ratio only_a / only_b
    (with 0.5 added to both counts when one is zero)."""
    y_true = np.asarray(y_true)
    right_a = np.asarray(labels_a) == y_true
    right_b = np.asarray(labels_b) == y_true
    only_a = int(np.sum(right_a & ~right_b))
    only_b = int(np.sum(~right_a & right_b))
    discordant = only_a + only_b
    p_value = 1.0 if discordant == 0 else float(stats.binomtest(only_a, discordant, 0.5).pvalue)
    if only_a and only_b:
        odds_ratio = only_a / only_b
    else:
        odds_ratio = (only_a + 0.5) / (only_b + 0.5)
    return {"only_a": only_a, "only_b": only_b, "p_value": p_value, "odds_ratio": odds_ratio,
            "n": int(len(y_true))}


def paired_repeats(scores_a: list[float], scores_b: list[float]) -> dict[str, Any] | None:
    """Paired t-test over repeats that share a seed (repeat k of every model is
    trained with the same seed), with Cohen's d_z (mean difference over the
    standard deviation of the differences). None with fewer than two pairs;
    p is None when every difference is the same (the test is undefined)."""
    n = min(len(scores_a), len(scores_b))
    if n < 2:
        return None
    a, b = np.asarray(scores_a[:n], dtype="float64"), np.asarray(scores_b[:n], dtype="float64")
    differences = a - b
    spread = float(np.std(differences, ddof=1))
    if spread == 0.0:
        return {"n": n, "mean_difference": float(differences.mean()), "t": None, "p_value": None,
                "cohen_dz": None}
    result = stats.ttest_rel(a, b)
    return {"n": n, "mean_difference": float(differences.mean()), "t": float(result.statistic),
            "p_value": float(result.pvalue), "cohen_dz": float(differences.mean() / spread)}


def adjust(p_values: list[float | None]) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values (scipy.stats.false_discovery_control)
    of the defined ones; None stays None. One p-value is returned as it is."""
    defined = [p for p in p_values if p is not None]
    if len(defined) < 2:
        return list(p_values)
    adjusted = iter(stats.false_discovery_control(defined, method="bh").tolist())
    return [None if p is None else float(next(adjusted)) for p in p_values]


@dataclass
class Candidate:
    """What the comparison needs of one model's final evaluation."""

    label: str
    scores: list[float]  # the metric of each repeat, in repeat order
    y_true: list[int] | None
    labels: list[int] | None  # predicted classes of the first repeat on the test split


def compare_to_selected(selected: Candidate, others: list[Candidate],
                        higher_is_better: bool = True) -> list[dict[str, Any]]:
    """One row per other model: the selected model against it, McNemar on the
    first repeat's test predictions and the paired t-test over repeats, with
    p-values adjusted over all rows (and both tests) when there is more than one
    comparison. ``difference`` is the selected model's mean score minus the
    other's; ``better`` says whether that favours the selected model."""
    rows = []
    for other in others:
        row: dict[str, Any] = {"other": other.label, "mcnemar": None, "paired": None}
        mean_selected = float(np.mean(selected.scores)) if selected.scores else math.nan
        mean_other = float(np.mean(other.scores)) if other.scores else math.nan
        row["difference"] = mean_selected - mean_other
        row["better"] = (row["difference"] > 0) == higher_is_better and row["difference"] != 0
        if selected.labels is not None and other.labels is not None \
                and selected.y_true == other.y_true:
            row["mcnemar"] = mcnemar(selected.y_true, selected.labels, other.labels)
        row["paired"] = paired_repeats(selected.scores, other.scores)
        rows.append(row)
    tests = [(row, key) for row in rows for key in ("mcnemar", "paired")
             if row[key] is not None and row[key]["p_value"] is not None]
    corrected = len(rows) > 1
    adjusted = adjust([row[key]["p_value"] for row, key in tests]) if corrected \
        else [row[key]["p_value"] for row, key in tests]
    for (row, key), p in zip(tests, adjusted):
        row[key]["p_adjusted"] = p
        row[key]["significant"] = p < ALPHA
    for row in rows:
        for key in ("mcnemar", "paired"):
            if row[key] is not None:
                row[key].setdefault("p_adjusted", None)
                row[key].setdefault("significant", False)
        row["corrected"] = corrected
    return rows
