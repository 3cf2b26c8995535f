"""The Discussion, written from the numbers of the run.

Each function returns plain-text paragraphs (the template escapes them) and
says only what the stored results support: a sentence whose number is missing
is left out, not filled with a stock phrase."""

from __future__ import annotations

from typing import Any

from benchmark.report.context import ModelResult, pareto_front
from benchmark.report.format import number, p_value, seconds

# Train-minus-validation accuracy at the last epoch above which the discussion
# calls a model overfitted; below a tenth of it the curves are called close.
OVERFIT_GAP = 0.05
# A decision threshold tuned on fewer positive samples than this is called noisy.
FEW_POSITIVES = 100


def _p(value: float | None) -> str:
    if value is None:
        return "undefined"
    text = p_value(value)
    return text if text.startswith("<") else f"= {text}"


def _score(result: ModelResult, metric: str) -> str:
    """The test score with both of its uncertainties: which test samples were
    drawn (bootstrap) and which seed the refit had (spread over refits)."""
    text = number(result.test.get(metric))
    notes = []
    sampled = result.test_bootstrap.get(metric)
    if sampled:
        notes.append(f"95% bootstrap CI over the test samples {number(sampled[0])} to "
                     f"{number(sampled[1])}")
    interval = result.test_ci.get(metric)
    if result.identical.get(metric):
        notes.append(f"deterministic: all {result.repeats} refits identical")
    elif interval:
        notes.append(f"95% CI over the refits {number(interval[0])} to {number(interval[1])}")
    return text + (f" ({'; '.join(notes)})" if notes else "")


def _difference(selected: ModelResult, other: ModelResult, metric: str) -> tuple[float, float] | None:
    """Paired bootstrap interval of the two first refits' test scores' difference."""
    from benchmark import stats
    from benchmark.metrics import metrics

    a, b = selected.predictions, other.predictions
    if not a or not b or a["y_true"] != b["y_true"] or metric not in metrics:
        return None
    return stats.bootstrap_difference(metrics.get(metric), a["y_true"], a["proba"],
                                      selected.prediction_threshold, b["proba"],
                                      other.prediction_threshold)


def _difference_sentence(selected: ModelResult, other: ModelResult,
                         interval: tuple[float, float] | None) -> str:
    if interval is None:
        return ""
    text = (f" On the same test samples, {selected.label} minus {other.label} has a 95% bootstrap "
            f"interval of {number(interval[0])} to {number(interval[1])}")
    if interval[0] <= 0 <= interval[1]:
        return text + ", which includes zero: the test split cannot tell the two apart."
    return text + ", which excludes zero."


def winners(results: list[ModelResult], best: dict[str, ModelResult],
            comparisons: dict[str, list[dict[str, Any]]], metric: str,
            maximize: bool = True, score: dict[str, str] | None = None) -> list[str]:
    """Which model won on each data set, by how much, and whether that holds.
    ``score`` names the search score (context.score_labels; validation by default)."""
    score = score or {"name": f"validation {metric}"}
    paragraphs = []
    for dataset, selected in best.items():
        rows = comparisons.get(dataset) or []
        others = {r.label: r for r in results if r.dataset == dataset and r.ok and r is not selected}
        text = (f"On {dataset}, {selected.label} had the best {score['name']} "
                f"({number(selected.best_value)}) and scored {_score(selected, metric)} on the test split.")
        if not rows:
            paragraphs.append(text + " It was the only model evaluated, so there is nothing to compare it with.")
            continue
        # The strongest alternative on the test split: the comparison that matters.
        closest = min(rows, key=lambda row: row["difference"] if maximize else -row["difference"])
        other = others[closest["other"]]
        difference = closest["difference"]
        if difference == 0:
            text += f" The best of the others, {other.label}, scored the same ({number(other.test.get(metric))})."
        elif closest["better"]:
            text += (f" The best of the others, {other.label}, scored {_score(other, metric)}, "
                     f"{number(abs(difference))} {'lower' if maximize else 'higher'}.")
        else:
            text += (f" {other.label} scored better on the test split: {_score(other, metric)}, "
                     f"{number(abs(difference))} {'more' if maximize else 'less'}, although the "
                     f"{score['name']}, which the selection uses, ranked it lower.")
        interval = _difference(selected, other, metric) if difference != 0 else None
        text += _difference_sentence(selected, other, interval)
        text += " " + _significance(selected.label, other.label, closest, len(rows))
        paired = closest["paired"]
        if paired and paired.get("significant") and interval and interval[0] <= 0 <= interval[1]:
            text += (" The paired t-test weighs only the spread over refits (the training seed); "
                     "with the uncertainty of the test samples, whose bootstrap interval of the "
                     "difference includes zero, the difference is not established.")
        paragraphs.append(text)
    return paragraphs


def _significance(selected: str, other: str, row: dict[str, Any], comparisons: int) -> str:
    sentences = []
    correction = (f" (p adjusted for {comparisons} comparisons by Benjamini-Hochberg)"
                  if row["corrected"] else "")
    test = row["mcnemar"]
    if test is not None:
        if test["only_a"] + test["only_b"] == 0:
            sentences.append(f"The two models classify every one of the {test['n']} test samples "
                             f"alike, so McNemar's test has nothing to weigh.")
        else:
            verdict = "significant at the 5% level" if test["significant"] else \
                "not significant: this test split does not show that either model is better"
            sentences.append(
                f"Of the {test['n']} test samples, {test['only_a']} are classified correctly only "
                f"by {selected} and {test['only_b']} only by {other}; McNemar's exact test gives "
                f"p {_p(test['p_adjusted'])}{correction}, {verdict} "
                f"(odds ratio {test['odds_ratio']:.2f}).")
    paired = row["paired"]
    if paired is not None:
        if paired["p_value"] is None:
            sentences.append(f"Over the {paired['n']} repeated refits the difference was the same "
                             f"every time ({number(paired['mean_difference'])}), so the paired "
                             f"t-test is undefined (there is no spread to test against) and only "
                             f"the test samples carry uncertainty.")
        else:
            verdict = "significant" if paired["significant"] else "not significant"
            sentences.append(
                f"Over {paired['n']} refits with shared seeds, the paired t-test gives "
                f"p {_p(paired['p_adjusted'])} ({verdict}; Cohen's d_z = {paired['cohen_dz']:.2f}).")
    elif test is not None:
        sentences.append("With a single refit per model there is no paired test over repeats; "
                         "set evaluation.repeats to 3 or more for one.")
    return " ".join(sentences)


def training_curves(result: ModelResult) -> str | None:
    """Overfitting and convergence of the best trial, from its per-epoch curves."""
    history = [h for h in result.best_history if "val_accuracy" in h and "accuracy" in h]
    if len(history) < 2:
        return None
    last = history[-1]
    val = [h["val_accuracy"] for h in history]
    best_epoch = val.index(max(val)) + 1
    gap = last["accuracy"] - last["val_accuracy"]
    text = (f"{result.label}: after {len(history)} epochs the best trial (#{result.best_trial}) "
            f"reached {number(last['accuracy'])} training and {number(last['val_accuracy'])} "
            f"validation accuracy, a gap of {number(gap, 3)}")
    if gap > OVERFIT_GAP:
        text += ", a sign of overfitting (more dropout, augmentation or early stopping may help)."
    elif gap < -OVERFIT_GAP:
        regularised = _regularisers(result.best_params or {})
        text += ("; validation accuracy is above training accuracy, as " + " and ".join(regularised)
                 + ", active only in training, lower the training score." if regularised else
                 "; validation accuracy is above training accuracy, which Keras averages over the "
                 "epoch while the weights still improve, where validation is measured at its end.")
    else:
        text += ", so it does not overfit noticeably."
    if best_epoch == len(history) and val[-1] > val[-2]:
        text += (f" Its validation accuracy was still rising at the last epoch "
                 f"(+{number(val[-1] - val[-2], 3)}): it had not converged, and more epochs may help.")
    else:
        text += (f" Its validation accuracy peaked at epoch {best_epoch} of {len(history)}"
                 f"{'' if best_epoch == len(history) else '; later epochs did not improve it'}.")
    return text


def _regularisers(params: dict[str, Any]) -> list[str]:
    """What, in a configuration, lowers training accuracy but not validation accuracy."""
    found = []
    if any("dropout" in name and value for name, value in params.items()):
        found.append("dropout")
    if params.get("augment_flip", "none") != "none" or params.get("augment_shift") \
            or params.get("augment_rotation"):
        found.append("augmentation")
    return found


def edges(result: ModelResult) -> str | None:
    if not result.edges:
        return None
    parts = [f"{e['name']} = {number(e['value'])} (range {number(e['low'])} to {number(e['high'])}, "
             f"{e['side']} end)" for e in result.edges]
    return (f"The best {result.label} configuration sits at the edge of its search range for "
            f"{'; '.join(parts)}: the optimum may lie beyond it, so a wider range is worth a try.")


def pruning(result: ModelResult) -> str | None:
    saved = result.pruning
    if not saved:
        return None
    unit = "epochs" if result.trains_in_epochs else "folds"
    one = saved["trials"] == 1
    text = (f"The pruner stopped {saved['trials']} of {result.label}'s trials early; "
            f"{'it' if one else 'they'} ran {saved['run']} of {'its' if one else 'their'} "
            f"{saved['planned']} planned {unit}, which spared "
            f"{100 * saved['share']:.0f}% of the {unit} the search would otherwise have run")
    if saved["seconds"]:
        text += f" (about {seconds(saved['seconds'])} of training)"
    return text + "."


def trade_off(results: list[ModelResult], metric: str, maximize: bool = True) -> list[str]:
    """Accuracy against training time of the final models (seed 000's LeNet-5
    against AlexNet): who is on the Pareto front and what speed buys."""
    paragraphs = []
    for dataset in dict.fromkeys(r.dataset for r in results):
        scored = [r for r in results if r.dataset == dataset and r.ok and r.fit_seconds
                  and r.test.get(metric) is not None]
        if len(scored) < 2:
            continue
        sign = 1 if maximize else -1
        front = [scored[i] for i in pareto_front([(r.fit_seconds, r.test[metric]) for r in scored],
                                                 maximize)]
        top = max(scored, key=lambda r: sign * r.test[metric])
        fastest = min(scored, key=lambda r: r.fit_seconds)
        if top is fastest:
            text = (f"On {dataset}, {top.label} is both the best by test {metric} "
                    f"({number(top.test[metric])}) and the fastest to train ({seconds(top.fit_seconds)}).")
        elif top.fit_seconds < 1.1 * fastest.fit_seconds:  # a few per cent is timing noise
            text = (f"On {dataset}, {top.label} has the best test {metric} "
                    f"({number(top.test[metric])}) and trains in {seconds(top.fit_seconds)}, about as "
                    f"fast as the fastest model, {fastest.label} ({seconds(fastest.fit_seconds)}).")
        else:
            text = (f"On {dataset}, {top.label} has the best test {metric} ({number(top.test[metric])}) "
                    f"but takes {seconds(top.fit_seconds)} to train; {fastest.label} trains in "
                    f"{seconds(fastest.fit_seconds)}, {top.fit_seconds / fastest.fit_seconds:.1f} times "
                    f"faster, for a test {metric} of {number(fastest.test[metric])} "
                    f"({number(abs(top.test[metric] - fastest.test[metric]), 3)} "
                    f"{'lower' if maximize else 'higher'}).")
        dominated = [r.label for r in scored if r not in front]
        text += (f" The Pareto front of {metric} against training time holds "
                 f"{', '.join(r.label for r in front)}")
        text += (f"; {', '.join(dominated)} {'is' if len(dominated) == 1 else 'are'} beaten on both."
                 if dominated else ".")
        # Runs of format 3 record where each refit ran: times measured on other
        # hardware say as much about the hardware as about the models.
        places = list(dict.fromkeys(key for r in scored for key, count in r.hardware.items()
                                    if count["refits"]))
        if len(places) > 1:
            text += (f" These final refits ran on {len(places)} different hosts or devices ("
                     + ", ".join(f"{device or 'device not recorded'} on "
                                 f"{host or 'a host not recorded'}" for host, device in places)
                     + "), so their times compare the hardware as well as the models.")
        paragraphs.append(text)
    return paragraphs


def prediction_cost(results: list[ModelResult], best: dict[str, ModelResult],
                    metric: str) -> list[str]:
    """The model to deploy: the fastest to predict among those the test split
    cannot tell apart from the best (a paired bootstrap interval of the score
    difference that includes zero), named only when the numbers say so."""
    paragraphs = []
    for dataset, top in best.items():
        if not top.ok or not top.cost or not top.cost.get("latency_ms"):
            continue
        tied = []
        for other in results:
            if other is top or other.dataset != dataset or not other.ok or not other.cost:
                continue
            interval = _difference(top, other, metric)
            if interval is not None and interval[0] <= 0 <= interval[1]:
                tied.append(other)
        faster = [r for r in tied if r.cost.get("latency_ms")
                  and r.cost["latency_ms"] * 1.1 < top.cost["latency_ms"]]
        if faster:
            quick = min(faster, key=lambda r: r.cost["latency_ms"])
            paragraphs.append(
                f"On {dataset}, {quick.label} is as good as {top.label} by test {metric} within "
                f"the test split's noise (the paired 95% bootstrap interval of their difference "
                f"includes zero) and {top.cost['latency_ms'] / quick.cost['latency_ms']:.1f} times "
                f"faster to predict ({number(quick.cost['latency_ms'], 2)} ms against "
                f"{number(top.cost['latency_ms'], 2)} ms per sample): where prediction time "
                f"matters, it is the one to deploy.")
        elif tied:
            paragraphs.append(
                f"On {dataset}, {', '.join(r.label for r in tied)} cannot be told apart from "
                f"{top.label} by test {metric}, but none is clearly faster to predict "
                f"({top.label}: {number(top.cost['latency_ms'], 2)} ms per sample).")
    return paragraphs


def threshold(result: ModelResult) -> str | None:
    """A warning when the decision threshold rests on few positive samples."""
    data = result.threshold_data
    if result.threshold is None or not data or data["positives"] >= FEW_POSITIVES:
        return None
    where = ("the out-of-fold predictions of the training split" if data["on"] == "out-of-fold"
             else "the validation split")
    text = (f"{result.label}'s decision threshold ({number(result.threshold, 3)}) was tuned on "
            f"only {data['positives']} positive samples of {where}: a threshold tuned on so few "
            f"moves a lot with the samples drawn, so its test scores may not hold on new data")
    if data["on"] == "validation" and result.cross_validates:
        text += ("; study.cv_folds tunes it on the out-of-fold predictions of the whole "
                 "training split instead")
    return text + "."


def thresholds(results: list[ModelResult]) -> list[str]:
    """The few-positives warning once per data set and tuning split, naming
    every model it concerns (six models tuned on the same 37 positives get one
    paragraph, not six)."""
    groups: dict[tuple, list[ModelResult]] = {}
    for result in results:
        if result.ok and threshold(result):
            data = result.threshold_data
            groups.setdefault((result.dataset, data["on"], data["positives"]), []).append(result)
    paragraphs = []
    for (_, on, positives), members in groups.items():
        if len(members) == 1:
            paragraphs.append(threshold(members[0]))
            continue
        where = ("the out-of-fold predictions of the training split" if on == "out-of-fold"
                 else "the validation split")
        names = ", ".join(f"{r.label} ({number(r.threshold, 3)})" for r in members)
        text = (f"The decision thresholds of {names} were each tuned on only {positives} positive "
                f"samples of {where}: a threshold tuned on so few moves a lot with the samples "
                f"drawn, so their test scores may not hold on new data")
        if on == "validation" and any(r.cross_validates for r in members):
            text += ("; study.cv_folds tunes them on the out-of-fold predictions of the whole "
                     "training split instead")
        paragraphs.append(text + ".")
    return paragraphs


def _names(models: list[str]) -> str:
    return models[0] if len(models) == 1 else ", ".join(models[:-1]) + " and " + models[-1]


def preprocessing(results: list[ModelResult], score: dict[str, str] | None = None) -> list[str]:
    """What the search chose of each data set's searched preprocessing steps
    (``preprocess.*`` settings), per model: whether PCA or a scaling helped
    each model is answered by the run that compared them."""
    chosen: dict[str, dict[str, dict[str, list[str]]]] = {}
    for result in results:
        if not result.ok:
            continue
        for name, value in (result.best_params or {}).items():
            if name.startswith("preprocess."):
                shown = "None" if value is None else str(value)
                chosen.setdefault(result.dataset, {}).setdefault(name, {}).setdefault(
                    shown, []).append(result.label)
    where = (score or {}).get("name", "validation score")
    out = []
    for dataset, steps in chosen.items():
        parts = []
        for name, values in steps.items():
            if len(values) == 1 and len(next(iter(values.values()))) > 1:
                value, models = next(iter(values.items()))
                parts.append(f"{name} = {value} for "
                             + ("both models" if len(models) == 2 else f"all {len(models)} models"))
            else:
                parts.append(f"{name} = " + ", ".join(f"{value} for {_names(models)}"
                                                       for value, models in values.items()))
        out.append(f"On {dataset}, the search chose {'; '.join(parts)}, by the {where} of "
                   f"the configurations it tried (the preprocessing is searched with each "
                   f"model's own settings).")
    return out


def across(view: dict[str, Any] | None) -> list[str]:
    """What the comparison across data sets allows one to conclude (Demšar 2006)."""
    if not view:
        return []
    order = view["order"]
    ranks = view["average_ranks"]
    first = [m for m in order if ranks[m] == ranks[order[0]]]
    text = (f"Across the {view['n_datasets']} data sets, {_names(first)} "
            f"{'has' if len(first) == 1 else 'share'} the best average rank "
            f"({ranks[first[0]]:.2f} of {view['k']} models).")
    if view["test"] is None:
        text += f" {view['reason'][0].upper()}{view['reason'][1:]}, so this ranking is not a result."
    elif view["test"] == "wilcoxon":
        w = view["wilcoxon"]
        if not w["reachable"]:
            text += (f" With {w['n_nonzero']} data sets on which the two differ, the Wilcoxon "
                     f"signed-rank test cannot reach p < {w['alpha']:g} at all (its smallest "
                     f"two-sided p is {w['min_p']:.4g}): more data sets are needed for any "
                     f"conclusion across them.")
        else:
            verdict = "significant" if w["p_value"] < w["alpha"] else "not significant"
            text += (f" The Wilcoxon signed-rank test over the data sets gives p = "
                     f"{_p(w['p_value'])}: the difference is {verdict}.")
    else:
        f = view["friedman"]
        if not view["rejected"]:
            text += (f" The Friedman test does not reject that all models perform alike "
                     f"(Iman–Davenport F = {f['f']:.2f}, p = {_p(f['f_p'])}): on these "
                     f"data sets no model is shown to be better than another.")
        else:
            post = view.get("nemenyi") or {}
            pairs = post.get("significant_pairs") or []
            text += (f" The Friedman test rejects that all models perform alike "
                     f"(Iman–Davenport F = {f['f']:.2f}, p = {_p(f['f_p'])}).")
            if pairs:
                shown = "; ".join(f"{p['better']} over {p['worse']}" for p in pairs[:4])
                text += (f" By the Nemenyi test (critical difference {post['cd']:.2f}) the "
                         f"significant differences are: {shown}"
                         f"{' and more' if len(pairs) > 4 else ''}.")
            else:
                text += (f" The Nemenyi post-hoc test finds no pair of models whose average "
                         f"ranks differ by more than its critical difference "
                         f"({post.get('cd', float('nan')):.2f}).")
    return [text]


def budget(leaders: dict[str, list[dict[str, Any]]], kind: str) -> list[str]:
    """Which model led at small budgets and at the end, where that changed."""
    out = []
    for dataset, marks in leaders.items():
        if len(marks) < 2:
            continue
        early, end = marks[0], marks[-1]
        if set(early["models"]) == set(end["models"]):
            continue
        out.append(f"On {dataset}, the leader depends on the budget: after "
                   f"{seconds(early['seconds'])} of summed training time {_names(early['models'])} "
                   f"had the best validation score, at the end of the shortest search "
                   f"({seconds(end['seconds'])}) {_names(end['models'])}"
                   + (" (every model got the same summed training time: study.budget "
                      "equal_time)." if kind == "equal_time" else "."))
    return out


def more_data(curves: dict[str, dict[str, Any]], metric: str, maximize: bool) -> list[str]:
    """Would more data help? The last step of each learning curve: a gain
    larger than the spread of the refits at both ends says the curve still
    rises; a smaller one (or a loss) that it has flattened."""
    out = []
    for dataset, models in curves.items():
        rising, flat = [], []
        for model, c in models.items():
            gain = (c["mean"][-1] - c["mean"][-2]) * (1 if maximize else -1)
            noise = max(c["std"][-1], c["std"][-2])
            (rising if gain > noise and gain > 0 else flat).append((model, gain))
        parts = []
        if rising:
            parts.append(f"{_names([m for m, _ in rising])} still gained from "
                         f"{number(models[rising[0][0]]['samples'][-2])} to "
                         f"{number(models[rising[0][0]]['samples'][-1])} training samples ("
                         + ", ".join(f"{g:+.3f}" for _, g in rising)
                         + f" {metric}): more data would likely help")
        if flat:
            parts.append(f"{_names([m for m, _ in flat])} did not gain more than the spread of "
                         f"{'its' if len(flat) == 1 else 'their'} refits over the last step: "
                         f"more of the same data is unlikely to help much")
        out.append(f"On {dataset}, " + "; ".join(parts) + ".")
    return out


def ablation(views: list[dict[str, Any]], metric: str) -> list[str]:
    """What each setting did, from the ablation's paired tests: the levels
    that beat or lost to the base significantly (adjusted p), or that none
    did and how large the largest change was."""
    out = []
    for view in views:
        where = f"{view['model']} on {view['dataset']}"
        rows = [(f["factor"], row) for f in view["factors"] for row in f["rows"]
                if not row["base"] and row["difference"] is not None]
        if not rows:
            continue
        significant = [(name, row) for name, row in rows if row["better"] or row["worse"]]
        if significant:
            parts = [f"{name} = {row['level']} {'improved' if row['better'] else 'hurt'} its "
                     f"test {metric} by {abs(row['difference']):.4f} (adjusted p "
                     f"{_p(row['p_adjusted'])})" for name, row in significant]
            out.append(f"In the ablation of {where}, " + "; ".join(parts) + (
                "; no other level differed significantly from the base." if
                len(significant) < len(rows) else "."))
        else:
            name, row = max(rows, key=lambda item: abs(item[1]["difference"]))
            tested = any(row["p_value"] is not None for _, row in rows)
            out.append(f"In the ablation of {where}, no level differed "
                       f"{'significantly ' if tested else ''}from the base configuration "
                       f"(the largest change: {name} = {row['level']}, "
                       f"{row['difference']:+.4f} test {metric}"
                       + ("" if tested else ", single refits, untested") + ").")
    return out


def discussion(results: list[ModelResult], best: dict[str, ModelResult],
               comparisons: dict[str, list[dict[str, Any]]], metric: str,
               maximize: bool = True, score: dict[str, str] | None = None,
               across_view: dict[str, Any] | None = None,
               budget_leaders: dict[str, list[dict[str, Any]]] | None = None,
               budget_kind: str = "trials",
               curves: dict[str, dict[str, Any]] | None = None,
               ablations: list[dict[str, Any]] | None = None) -> list[str]:
    paragraphs = winners(results, best, comparisons, metric, maximize, score)
    paragraphs += ablation(ablations or [], metric)
    paragraphs += more_data(curves or {}, metric, maximize)
    paragraphs += across(across_view)
    paragraphs += budget(budget_leaders or {}, budget_kind)
    paragraphs += trade_off(results, metric, maximize)
    paragraphs += prediction_cost(results, best, metric)
    paragraphs += thresholds(results)
    paragraphs += preprocessing(results, score)
    for result in results:
        if not result.ok:
            continue
        sentences = [s for s in (training_curves(result), pruning(result), edges(result)) if s]
        if sentences:
            paragraphs.append(" ".join(sentences))
    return paragraphs
