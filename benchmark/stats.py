"""Statistics of the report: confidence intervals over repeated final
evaluations, and paired tests between the selected model and the others
(McNemar on the test predictions, a paired t-test over repeats), with effect
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
