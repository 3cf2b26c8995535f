"""Comparing models across several data sets, as Demšar recommends
(J. Demšar, "Statistical Comparisons of Classifiers over Multiple Data Sets",
JMLR 7 (2006) 1-30).

Why ranks: test scores of different data sets are not commensurable (0.01 of
AUC on one data set is not 0.01 on another), and there are few data sets, so
their differences cannot be assumed normal. Demšar's tests therefore use only
the order of the models on each data set: the Wilcoxon signed-ranks test for
two models, the Friedman test (with Iman and Davenport's F form) for more, and
the Nemenyi post-hoc test, drawn as a critical-difference diagram, when the
Friedman test rejects.

The unit of observation is the data set (N of them), not the trial or the
repeat: with N data sets these tests can say little, and the functions here
say so (``min_p`` of Wilcoxon, no test with two data sets) rather than print a
p-value that cannot mean anything.

Pure functions, plain numbers in and JSON-friendly dicts out (floats, lists,
dicts, None; never NaN or inf) so that the report's templates and the export
can use them; numpy, pandas and scipy.stats do the work. No Matplotlib here:
``validate`` imports this without drawing anything."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

ALPHA = 0.05

# The last row of rank_table's table, as in Demšar's Table 6.
AVERAGE_ROW = "average rank"

NO_TEST_WITH_TWO = "with two data sets no test across data sets is possible"


def rank_table(scores: pd.DataFrame, maximize: bool) -> pd.DataFrame:
    """Rank of each model on each data set (1 = best, ties get the average of
    the ranks they span), and the average rank per model as a last row named
    ``AVERAGE_ROW`` -- the table Demšar (2006, Table 6) prints.

    ``scores``: rows are data sets, columns models, values the test score;
    ``maximize``: whether a higher score is better.

    Missing results (NaN): Friedman's and Wilcoxon's tests need every model's
    score on every data set (a complete block design), and ranking a data set
    on the models that happen to have a result would make its ranks mean
    something else (rank 1 of 2 is not rank 1 of 5). So first a model with no
    result on any data set is dropped (else it would empty the table), then
    every data set on which a remaining model has no result. What was dropped
    is in ``table.attrs["dropped_models"]`` and ``["dropped_datasets"]`` (the
    report should say so); the table holds only the complete data sets."""
    if AVERAGE_ROW in scores.index:
        raise ValueError(f"a data set may not be named {AVERAGE_ROW!r}")
    values = scores.astype("float64")
    empty = [str(c) for c in values.columns if values[c].isna().all()]
    values = values.loc[:, values.notna().any(axis=0)]
    complete = values.notna().all(axis=1)
    dropped = [str(d) for d in values.index[~complete]]
    values = values.loc[complete]
    ranks = values.rank(axis=1, method="average", ascending=not maximize)
    table = pd.concat([ranks, ranks.mean(axis=0).to_frame(AVERAGE_ROW).T])
    table.attrs["dropped_models"] = empty
    table.attrs["dropped_datasets"] = dropped
    return table


def friedman(avg_ranks: Mapping[str, float] | Sequence[float], n_datasets: int) -> dict[str, Any]:
    """Friedman's test of whether k models rank alike over N data sets, from
    their average ranks R_j, as Demšar (2006, Sec. 3.2.2) defines it:

        chi2_F = 12 N / (k (k+1)) * [sum_j R_j^2 - k (k+1)^2 / 4]

    (chi-squared with k-1 degrees of freedom), and Iman and Davenport's
    F_F = (N-1) chi2_F / (N (k-1) - chi2_F), F-distributed with k-1 and
    (k-1)(N-1) degrees of freedom, which Demšar recommends because chi2_F is
    needlessly conservative.

    Reported: this uncorrected chi2_F, not ``scipy.stats.friedmanchisquare``,
    which divides by a tie correction and so gives a larger statistic when a
    data set has tied scores (Demšar's example, with three ties, gives 9.28
    published; scipy's tie-corrected value on the same ranks is higher). The
    uncorrected one is the one Demšar's numbers, his F_F and his critical
    values are stated in; without ties the two are equal. The p-values come
    from ``scipy.stats.chi2.sf`` and ``scipy.stats.f.sf``.

    Needs N >= 3 data sets and k >= 3 models, else ValueError (two models are
    compared with ``wilcoxon_two``; two data sets allow no test at all).
    Returns {"chi2": chi2_F, "chi2_p": its p, "f": F_F, "f_p": its p,
    "df_chi2": k-1, "df_f": [k-1, (k-1)(N-1)], "n_datasets": N, "k": k}. When
    every data set ranks the models identically F_F is infinite: "f" is None
    and "f_p" 0.0 (JSON has no infinity)."""
    ranks = np.asarray(list(avg_ranks.values()) if isinstance(avg_ranks, Mapping) else avg_ranks,
                       dtype="float64")
    k, n = len(ranks), int(n_datasets)
    if n < 3 or k < 3:
        raise ValueError(f"Friedman's test needs at least 3 data sets and 3 models "
                         f"(got {n} data sets, {k} models)")
    chi2 = 12 * n / (k * (k + 1)) * (float(np.sum(ranks ** 2)) - k * (k + 1) ** 2 / 4)
    chi2 = max(chi2, 0.0)  # -1e-15 when every rank is (k+1)/2
    denominator = n * (k - 1) - chi2
    df1, df2 = k - 1, (k - 1) * (n - 1)
    if denominator <= 1e-12:
        f_value, f_p = None, 0.0
    else:
        f_value = (n - 1) * chi2 / denominator
        f_p = float(stats.f.sf(f_value, df1, df2))
    return {"chi2": float(chi2), "chi2_p": float(stats.chi2.sf(chi2, df1)),
            "f": None if f_value is None else float(f_value), "f_p": f_p,
            "df_chi2": df1, "df_f": [df1, df2], "n_datasets": n, "k": k}


def q_alpha(k: int, alpha: float = ALPHA) -> float:
    """Nemenyi's critical value for k models: the studentized range statistic
    at 1 - alpha with infinite degrees of freedom, divided by sqrt(2) (Demšar
    2006, Table 5(a): k=4 gives 2.569 at 0.05 and 2.291 at 0.10)."""
    return float(stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2))


def nemenyi(avg_ranks: Mapping[str, float], n_datasets: int,
            alpha: float = ALPHA) -> dict[str, Any]:
    """Nemenyi's post-hoc test after a Friedman test that rejects (Demšar 2006,
    Sec. 3.2.2): two models differ significantly when their average ranks
    differ by at least the critical difference CD = q_alpha sqrt(k (k+1) / (6 N)).

    Returns {"alpha", "k", "n_datasets", "q_alpha", "cd",
    "order": models best (lowest average rank) first,
    "significant_pairs": [{"better", "worse", "difference"}] for every pair
    whose ranks differ by >= CD, larger differences first,
    "cliques": [[model, ...]]}: the groups that a critical-difference diagram
    joins with a bar -- maximal runs of models, in rank order, whose extreme
    average ranks differ by less than CD; a run inside another is dropped, and
    so is a run of one model (a model that differs from every other has no
    bar). Cliques overlap where the data cannot place a model (Demšar's
    C4.5+cf at alpha 0.10): that is the finding, not a contradiction."""
    names = [str(m) for m in avg_ranks]
    k, n = len(names), int(n_datasets)
    if k < 2 or n < 1:
        raise ValueError(f"Nemenyi's test needs at least 2 models and 1 data set "
                         f"(got {k} models, {n} data sets)")
    q = q_alpha(k, alpha)
    cd = q * math.sqrt(k * (k + 1) / (6 * n))
    ranked = sorted(((float(r), str(m)) for m, r in avg_ranks.items()))
    order = [m for _, m in ranked]
    pairs = []
    for i, (r_i, m_i) in enumerate(ranked):
        for r_j, m_j in ranked[i + 1:]:
            if r_j - r_i >= cd:
                pairs.append({"better": m_i, "worse": m_j, "difference": r_j - r_i})
    pairs.sort(key=lambda p: -p["difference"])
    runs: list[tuple[int, int]] = []  # [start, end) in rank order
    for start in range(k):
        end = start + 1
        while end < k and ranked[end][0] - ranked[start][0] < cd:
            end += 1
        if end - start > 1 and not any(s <= start and end <= e for s, e in runs):
            runs.append((start, end))
    return {"alpha": float(alpha), "k": k, "n_datasets": n, "q_alpha": q, "cd": float(cd),
            "order": order, "significant_pairs": pairs,
            "cliques": [order[s:e] for s, e in runs]}


def min_p(n_pairs: int) -> float:
    """The smallest two-sided p-value the exact Wilcoxon signed-ranks test can
    give on n non-zero differences: 2 / 2**n, when every difference has the
    same sign (N=5 gives 0.0625)."""
    return min(1.0, 2.0 / 2 ** n_pairs)


def can_reach(n_pairs: int, alpha: float = ALPHA) -> bool:
    """Whether the exact Wilcoxon test on n non-zero differences can reject at
    ``alpha`` at all (at 0.05 it needs n >= 6: 2/2**6 = 0.031)."""
    return min_p(n_pairs) <= alpha


def wilcoxon_two(scores_a: Sequence[float], scores_b: Sequence[float],
                 alpha: float = ALPHA) -> dict[str, Any]:
    """Wilcoxon's signed-ranks test of two models over N data sets (Demšar
    2006, Sec. 3.1.3): the paired scores' differences, ranked by size, should
    favour neither model. It uses the differences' sizes (unlike the sign
    test) but not their values (unlike the t-test, whose normality N data sets
    cannot support). ``scipy.stats.wilcoxon``, two-sided; data sets where the
    two models score the same are left out (its default ``zero_method``),
    so the exact null distribution is over the non-zero differences.

    Returns {"n_datasets": N, "n_nonzero", "statistic": min(W+, W-) or None,
    "p_value", "min_p": the smallest p the exact test can give with these
    differences (2 / 2**n_nonzero), "alpha", "reachable": whether min_p <=
    alpha, "note": None or a sentence for the report when no outcome could be
    significant}. With every difference zero the test is undefined: statistic
    None, p 1.0."""
    a, b = np.asarray(scores_a, dtype="float64"), np.asarray(scores_b, dtype="float64")
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("wilcoxon_two needs two equally long lists of scores")
    differences = a - b
    n_nonzero = int(np.count_nonzero(differences))
    smallest = min_p(n_nonzero)
    reachable = smallest <= alpha
    if n_nonzero == 0:
        statistic, p_value = None, 1.0
    else:
        result = stats.wilcoxon(a, b, alternative="two-sided")
        statistic, p_value = float(result.statistic), float(result.pvalue)
    note = None if reachable else (
        f"with {n_nonzero} data sets on which the two models differ, the smallest p-value "
        f"Wilcoxon's test can give is {smallest:.3g}, so no result could be significant "
        f"at {alpha:g}")
    return {"n_datasets": int(len(a)), "n_nonzero": n_nonzero, "statistic": statistic,
            "p_value": p_value, "min_p": smallest, "alpha": float(alpha),
            "reachable": reachable, "note": note}


def across_datasets(scores: pd.DataFrame, maximize: bool,
                    alpha: float = ALPHA) -> dict[str, Any] | None:
    """Everything the report shows about models compared across data sets.

    ``scores``: rows data sets, columns models, test scores (NaN: no result;
    see ``rank_table`` for what is dropped). Chooses the test by what the
    numbers allow (Demšar 2006), N counting the complete data sets:

    - N < 2 or fewer than two models: None (nothing to compare across);
    - N == 2: ranks only, ``test`` None and ``reason`` says why (even with
      two models: Wilcoxon's smallest p on two data sets is 0.5);
    - two models, N >= 3: ``wilcoxon_two`` (with its reachability note);
    - k >= 3 models, N >= 3: ``friedman``; it rejects when Iman-Davenport's
      p (Demšar's recommendation) is below ``alpha``, and only then
      ``nemenyi`` at the same alpha (else ``post_hoc_reason`` says why not).

    Returns None or {"n_datasets", "k", "models", "datasets",
    "dropped_models", "dropped_datasets", "maximize", "alpha",
    "ranks": {data set: {model: rank}}, "scores": {data set: {model: score}},
    "average_ranks": {model: rank},
    "order": models best first, "test": None | "wilcoxon" | "friedman",
    "reason": str | None, "wilcoxon": dict | None, "friedman": dict | None,
    "rejected": bool | None, "nemenyi": dict | None,
    "post_hoc_reason": str | None}."""
    table = rank_table(scores, maximize)
    ranks = table.drop(index=AVERAGE_ROW)
    n, k = len(ranks), ranks.shape[1]
    if n < 2 or k < 2:
        return None
    models = [str(m) for m in ranks.columns]
    average = {str(m): float(r) for m, r in table.loc[AVERAGE_ROW].items()}
    result: dict[str, Any] = {
        "n_datasets": n, "k": k, "models": models, "datasets": [str(d) for d in ranks.index],
        "dropped_models": list(table.attrs["dropped_models"]),
        "dropped_datasets": list(table.attrs["dropped_datasets"]),
        "maximize": bool(maximize), "alpha": float(alpha),
        "ranks": {str(d): {str(m): float(r) for m, r in row.items()}
                  for d, row in ranks.iterrows()},
        # The scores ranked, for the table that prints them beside their ranks.
        "scores": {str(d): {str(m): float(scores.loc[d, m]) for m in ranks.columns}
                   for d in ranks.index},
        "average_ranks": average,
        "order": [m for _, m in sorted((r, m) for m, r in average.items())],
        "test": None, "reason": None, "wilcoxon": None, "friedman": None,
        "rejected": None, "nemenyi": None, "post_hoc_reason": None,
    }
    if n == 2:
        result["reason"] = NO_TEST_WITH_TWO
        return result
    complete = scores.loc[ranks.index, ranks.columns].astype("float64")
    if k == 2:
        result["test"] = "wilcoxon"
        result["wilcoxon"] = wilcoxon_two(complete.iloc[:, 0].tolist(),
                                          complete.iloc[:, 1].tolist(), alpha)
        return result
    result["test"] = "friedman"
    result["friedman"] = test = friedman(average, n)
    result["rejected"] = rejected = test["f_p"] < alpha
    if rejected:
        result["nemenyi"] = post_hoc = nemenyi(average, n, alpha)
        if not post_hoc["significant_pairs"]:
            result["post_hoc_reason"] = (
                f"Friedman's test rejects, but no two average ranks differ by Nemenyi's "
                f"critical difference ({post_hoc['cd']:.2f}): the post-hoc test is not "
                f"powerful enough to tell which models differ")
    else:
        result["post_hoc_reason"] = (
            f"Friedman's test does not reject at {alpha:g} (p = {test['f_p']:.3g}), "
            f"so no post-hoc test is made")
    return result
