"""Everything the report shows, as plain data read from the database alone."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from benchmark import stats
from benchmark.families import families, family_of
from benchmark.store import RunRecord, Store, mask_command, optuna_storage, scrub
from benchmark.suite import REPORT_FIGURES as FIGURES
from benchmark.suite import REPORT_SECTIONS as SECTIONS

STATE_NAMES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}


@dataclass
class ModelResult:
    dataset: str
    label: str
    model_name: str
    description: str
    reference: str
    metric: str
    direction: str
    space: dict[str, str]
    counts: dict[str, int]
    search_seconds: float | None
    best_trial: int | None
    best_value: float | None
    best_params: dict[str, Any] | None
    best_history: list[dict[str, float]]
    trials: list[dict[str, Any]]
    repeat_scores: dict[str, list[float]]  # metric -> its value in each final refit
    repeats: int
    fit_seconds: float | None
    n_params: int | None
    confusion: list[list[int]] | None
    error: str | None
    # The model's family (benchmark.families); None for a model this version
    # does not know (a stored run of a model since removed).
    family: str | None = None
    threshold: float | None = None  # tuned on validation, applied to test (mean over repeats)
    predictions: dict[str, Any] | None = None  # test y_true / proba of the first refit
    # The first refit's own threshold: the one its predictions were labelled at
    # (its confusion matrix, McNemar's test, the operating point on the ROC curve).
    prediction_threshold: float | None = None
    fit_seconds_std: float | None = None  # over the refits, when there are two or more
    architecture: dict[str, Any] | None = None  # Keras: the layer table of the first refit
    importances: dict[str, float] | None = None  # Optuna's fANOVA, searched parameters
    edges: list[dict[str, Any]] = field(default_factory=list)  # best values at a range's edge
    pruning: dict[str, Any] | None = None  # work the pruner saved
    figures: dict[str, str] = field(default_factory=dict)
    # What the final threshold was tuned on: {"on": "out-of-fold" | "validation",
    # "samples": n, "positives": p} (runs stored before it was recorded: the
    # validation split, read from the data summary).
    threshold_data: dict[str, Any] | None = None
    # Where its trials and final refits trained: (host, device) -> {"trials": n,
    # "refits": n}, from the trials' user attributes and the evaluation rows;
    # empty for runs of format 2, which did not record it.
    hardware: dict[tuple[str | None, str | None], dict[str, int]] = field(default_factory=dict)
    workers: set[str] = field(default_factory=set)  # the worker ids that ran its trials
    # What the model costs to run (the median over its refits of each of
    # worker.measure_cost's numbers) and where its first refit was saved (the
    # artifact store, the artifact id, the file name, the classes); None for
    # runs stored before format 4.
    cost: dict[str, float] | None = None
    saved: dict[str, Any] | None = None
    # evaluation.learning_curve: [{"fraction", "samples", "scores"}] (None: not asked).
    learning_curve: list[dict[str, Any]] | None = None
    # The model's ablation.factors: [{"factor", "levels": [...]}] (None: not asked).
    ablation: list[dict[str, Any]] | None = None

    @property
    def ok(self) -> bool:
        return bool(self.test)

    @property
    def trains_in_epochs(self) -> bool:
        """Per-epoch curves and epoch counts (Keras); asked of the family."""
        return self.family in families and families.get(self.family).trains_in_epochs

    @property
    def cross_validates(self) -> bool:
        return self.family in families and families.get(self.family).cross_validates

    @cached_property
    def identical(self) -> dict[str, bool]:
        """Metric -> whether every refit scored exactly the same (a deterministic
        model): its spread over refits is no interval at all."""
        return {k: stats.refits_identical(v) for k, v in self.repeat_scores.items()}

    @cached_property
    def test_bootstrap(self) -> dict[str, tuple[float, float]]:
        """The study metric's 95% bootstrap interval over the test samples (first
        refit's predictions at its threshold): the uncertainty of which samples
        the test split drew, which the refits do not show."""
        from benchmark.metrics import metrics

        if not self.predictions or self.metric not in metrics:
            return {}
        interval = stats.bootstrap_interval(metrics.get(self.metric), self.predictions["y_true"],
                                            self.predictions["proba"], self.prediction_threshold)
        return {self.metric: interval} if interval else {}

    # Test scores over the refits: mean, standard deviation, 95% interval.
    @cached_property
    def test(self) -> dict[str, float]:
        return {k: statistics.fmean(v) for k, v in self.repeat_scores.items()}

    @cached_property
    def test_std(self) -> dict[str, float]:
        return {k: statistics.stdev(v) if len(v) > 1 else 0.0 for k, v in self.repeat_scores.items()}

    @cached_property
    def test_ci(self) -> dict[str, tuple[float, float]]:
        # Every stored metric but the log loss is a proportion or an area under a curve.
        intervals = {k: stats.confidence_interval(v, bounds=None if k == "log_loss" else (0, 1))
                     for k, v in self.repeat_scores.items()}
        return {k: v for k, v in intervals.items() if v}


def _per_repeat(values: list[dict[str, float]]) -> dict[str, list[float]]:
    keys = set.intersection(*(set(v) for v in values)) if values else set()
    return {k: [v[k] for v in values] for k in sorted(keys)}


def _study(storage: Any, study_name: str) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name=study_name, storage=storage)


def importances(study: Any) -> dict[str, float] | None:
    """Optuna's fANOVA importance of each searched parameter (seeded, so a report
    renders the same twice); None when the completed trials cannot support one
    (fewer than two, or nothing varied)."""
    import optuna

    # One trial has no variance to share out (Optuna would call it all importance 1).
    if len(study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE])) < 2:
        return None
    try:
        values = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
    except RuntimeError:  # "zero total variance": every completed trial scored the same
        return None
    return {k: float(v) for k, v in values.items()} or None


def at_edges(trial: Any) -> list[dict[str, Any]]:
    """The searched numeric parameters of ``trial`` that sit on (or within 5% of,
    on the log scale when the range is logarithmic) the end of their range: the
    search may have wanted to go further."""
    from optuna.distributions import FloatDistribution, IntDistribution

    edges = []
    for name, distribution in trial.distributions.items():
        if not isinstance(distribution, (FloatDistribution, IntDistribution)):
            continue
        low, high, value = distribution.low, distribution.high, trial.params[name]
        if high <= low:
            continue
        if distribution.log:
            position = (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
        else:
            position = (value - low) / (high - low)
        if position <= 0.05 or position >= 0.95:
            edges.append({"name": name, "value": value, "low": low, "high": high,
                          "side": "lower" if position <= 0.05 else "upper"})
    return edges


def pruning_savings(rows: list[dict[str, Any]], planned: Any) -> dict[str, Any] | None:
    """Epochs (Keras) or folds (cross-validation) that pruned trials did not run.
    ``planned(row)`` gives the units a trial would have run to the end; the
    seconds saved are estimated at the completed trials' seconds per unit."""
    pruned = [r for r in rows if r["state"] == "pruned"]
    done = [r for r in rows if r["state"] == "complete" and r["units"] and r["seconds"]]
    if not pruned:
        return None
    planned_units = sum(planned(r) for r in pruned)
    run_units = sum(r["units"] for r in pruned)
    all_units = sum(planned(r) for r in rows if r["state"] in ("complete", "pruned"))
    per_unit = (sum(r["seconds"] for r in done) / sum(r["units"] for r in done)) if done else None
    saved = max(planned_units - run_units, 0)
    return {"trials": len(pruned), "planned": planned_units, "run": run_units, "saved": saved,
            "share": saved / all_units if all_units else 0.0,
            "seconds": saved * per_unit if per_unit is not None else None}


def _defaults(model_name: str, info: dict[str, Any] | None = None) -> dict[str, Any]:
    """Each knob's default: from the registry, or for user code (python:...)
    from what its study stored (``model_info``), so the report needs no import."""
    from benchmark.models import models

    if model_name not in models:
        return {knob: value["default"] for knob, value in ((info or {}).get("knobs") or {}).items()}
    spec = models.get(model_name)
    return {**family_of(spec).training_defaults, **spec.architecture_defaults()}


def changed_parameters(params: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The parameters of a trial that differ from the model's defaults (the
    seed's "n_estimators=500 -> 0.960" tables)."""
    return {k: v for k, v in params.items() if k not in defaults or defaults[k] != v}


def threshold_data(evaluations: list[Any], summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the first refit's threshold was tuned on: as recorded with its
    predictions, or (a run stored before that was recorded, which always tuned
    the final threshold on the validation split) the validation split's counts."""
    if not evaluations or evaluations[0].threshold is None:
        return None
    recorded = (evaluations[0].predictions or {}).get("threshold_tuned_on")
    if recorded:
        return recorded
    if not summary or len(summary["class_counts"]["validation"]) != 2:
        return None
    return {"on": "validation", "samples": int(summary["split_sizes"]["validation"]),
            "positives": int(summary["class_counts"]["validation"][1])}


def model_results(store: Store, run: RunRecord) -> list[ModelResult]:
    from benchmark.models import models

    results = []
    cv_folds = run.suite["study"].get("cv_folds")
    summaries = {d.name: d.summary for d in run.datasets}
    storage = optuna_storage(store.url)
    for study in run.studies:
        defaults = _defaults(study.model_name, study.model_info)
        optuna_study = _study(storage, study.optuna_study)
        trials = optuna_study.get_trials(deepcopy=False)
        counts = {name: 0 for name in STATE_NAMES.values()}
        rows = []
        where: dict[tuple[str | None, str | None], dict[str, int]] = {}
        workers: set[str] = set()
        for trial in trials:
            state = STATE_NAMES.get(trial.state.name)
            if state is None:  # RUNNING or WAITING: an interrupted run
                continue
            counts[state] += 1
            _count_where(where, trial.user_attrs.get("host"), trial.user_attrs.get("device"),
                         "trials")
            if trial.user_attrs.get("worker") is not None:
                workers.add(str(trial.user_attrs["worker"]))
            rows.append({"number": trial.number, "state": state, "value": trial.value,
                         "params": trial.params, "error": trial.user_attrs.get("error"),
                         "changed": changed_parameters(trial.params, defaults),
                         "threshold": trial.user_attrs.get("threshold"),
                         "folds": len(trial.user_attrs.get("fold_scores") or []),
                         "epochs": len(trial.user_attrs.get("history") or []),
                         "seconds": trial.duration.total_seconds() if trial.duration else None,
                         # Model fitting only (pruned trials: the epochs they trained).
                         "fit_seconds": trial.user_attrs.get("fit_seconds"),
                         # Seed 003's table: training and validation accuracy and loss at
                         # the last epoch the trial ran.
                         "last_epoch": (trial.user_attrs.get("history") or [{}])[-1]})
            rows[-1]["units"] = rows[-1]["folds"] if cv_folds else rows[-1]["epochs"]
        best = next((t for t in trials if t.number == study.best_trial), None)
        evaluations = study.evaluations
        for evaluation in evaluations:
            _count_where(where, getattr(evaluation, "host", None),
                         getattr(evaluation, "device", None), "refits")
        spec = models.get(study.model_name) if study.model_name in models else None
        family_name = spec.family if spec else (study.model_info or {}).get("family")
        family_trains_in_epochs = (family_name in families
                                   and families.get(family_name).trains_in_epochs)
        fixed_epochs = (study.best_params or {}).get("epochs", defaults.get("epochs"))

        def planned(row: dict[str, Any], fixed_epochs: Any = fixed_epochs) -> int:
            if cv_folds:
                return int(cv_folds)
            return int(row["params"].get("epochs", fixed_epochs) or row["units"])
        results.append(ModelResult(
            dataset=study.dataset, label=study.model, model_name=study.model_name,
            # User code (python:...) is described by what was stored with its study,
            # so that a report renders where the code cannot be imported.
            description=(spec.description if spec else
                         (study.model_info or {}).get("description") or study.model_name),
            reference=spec.reference if spec else (study.model_info or {}).get("reference") or "",
            metric=study.metric, direction=study.direction, space=shown_space(study.space),
            counts=counts,
            search_seconds=study.search_seconds, best_trial=study.best_trial,
            best_value=best.value if best else None, best_params=study.best_params,
            best_history=(best.user_attrs.get("history") or []) if best else [],
            trials=rows, repeat_scores=_per_repeat([e.metrics for e in evaluations]),
            repeats=len(evaluations),
            fit_seconds=statistics.fmean(e.fit_seconds for e in evaluations) if evaluations else None,
            fit_seconds_std=(statistics.stdev(e.fit_seconds for e in evaluations)
                             if len(evaluations) > 1 else None),
            n_params=evaluations[0].n_params if evaluations else None,
            confusion=evaluations[0].confusion if evaluations else None,
            error=study.error, family=spec.family if spec else (study.model_info or {}).get("family"),
            threshold=(statistics.fmean(e.threshold for e in evaluations)
                       if evaluations and evaluations[0].threshold is not None else None),
            predictions=evaluations[0].predictions if evaluations else None,
            prediction_threshold=evaluations[0].threshold if evaluations else None,
            threshold_data=threshold_data(evaluations, summaries.get(study.dataset)),
            architecture=evaluations[0].architecture if evaluations else None,
            importances=importances(optuna_study), edges=at_edges(best) if best else [],
            pruning=pruning_savings(rows, planned)
            if (cv_folds or family_trains_in_epochs) else None,
            hardware=where, workers=workers, cost=cost_of(evaluations),
            saved=next((e.saved for e in evaluations if getattr(e, "saved", None)), None),
            learning_curve=getattr(study, "learning_curve", None),
            ablation=getattr(study, "ablation", None)))
    return results


def saved_models(results: list[ModelResult]) -> dict[str, Any] | None:
    """Where the run's selected models were saved and how each family's file
    loads without this tool (the Results section says it)."""
    saved = [r.saved for r in results if r.saved]
    if not saved:
        return None
    loaders = [families.get(name).loader for name in dict.fromkeys(s.get("family") for s in saved)
               if name in families and families.get(name).loader]
    return {"store": saved[0]["store"], "loaders": loaders}


def cost_of(evaluations: list[Any]) -> dict[str, float] | None:
    """The median over the refits of each number they measured (latency,
    throughput, size, parameters): one refit's latency is noisy."""
    costs = [e.cost for e in evaluations if getattr(e, "cost", None)]
    if not costs:
        return None
    keys = [key for key in costs[0]
            if all(isinstance(cost.get(key), int | float) for cost in costs)]
    return {key: statistics.median(cost[key] for cost in costs) for key in keys}


def _count_where(where: dict[tuple[str | None, str | None], dict[str, int]], host: Any,
                 device: Any, kind: str) -> None:
    """One trial or refit more on (host, device); nothing when neither is recorded
    (format 2)."""
    if host is None and device is None:
        return
    key = (None if host is None else str(host), None if device is None else str(device))
    where.setdefault(key, {"trials": 0, "refits": 0})[kind] += 1


def hardware(environment: dict[str, Any], results: list[ModelResult]) -> dict[str, Any]:
    """Where the run trained, as the report shows it: one row per (host, device)
    with the trials and final refits each ran (empty for runs of format 2, which
    recorded the run's one device only), and how many workers trained at once:
    the run's ``workers`` or the distinct worker ids of its trials, whichever is
    more. With more than one, trial order depended on timing."""
    counts: dict[tuple[str | None, str | None], dict[str, int]] = {}
    for result in results:
        for key, count in result.hardware.items():
            total = counts.setdefault(key, {"trials": 0, "refits": 0})
            total["trials"] += count["trials"]
            total["refits"] += count["refits"]
    rows = [{"host": host or "not recorded", "device": device or "not recorded", **count}
            for (host, device), count in sorted(counts.items(),
                                                key=lambda item: (str(item[0][0]), str(item[0][1])))]
    try:
        declared = int((environment or {}).get("workers", 1))
    except (TypeError, ValueError):  # not a number ("auto" before it was resolved)
        declared = 1
    worker_ids = set().union(*(r.workers for r in results)) if results else set()
    # The run's own workers trained at once; with none (run --workers 0), the
    # `worker` processes that joined it. A resumed one-worker run has two
    # worker ids one after the other, not at once.
    workers = declared if declared >= 1 else len(worker_ids)
    return {"rows": rows, "hosts": len({row["host"] for row in rows}),
            "devices": list(dict.fromkeys(row["device"] for row in rows)),
            "trials": sum(row["trials"] for row in rows),
            "refits": sum(row["refits"] for row in rows),
            "workers": workers, "concurrent": workers > 1}


def comparisons(results: list[ModelResult], best: dict[str, ModelResult],
                metric: str, maximize: bool = True) -> dict[str, list[dict[str, Any]]]:
    """Per dataset, the selected model tested against every other evaluated one."""
    import numpy as np

    from benchmark.metrics import predict_labels

    def candidate(result: ModelResult) -> stats.Candidate:
        labels = y_true = None
        if result.predictions:
            y_true = result.predictions["y_true"]
            labels = predict_labels(np.asarray(result.predictions["proba"]),
                                    result.prediction_threshold).tolist()
        return stats.Candidate(result.label, result.repeat_scores.get(metric, []), y_true, labels)

    table = {}
    for dataset, selected in best.items():
        others = [r for r in results if r.dataset == dataset and r.ok and r is not selected]
        if others:
            table[dataset] = stats.compare_to_selected(
                candidate(selected), [candidate(r) for r in others], higher_is_better=maximize)
    return table


def pareto_front(points: list[tuple[float, float]], maximize: bool = True) -> list[int]:
    """Indices of the points (seconds, score) that no other point beats on both:
    at least as fast and at least as good, better on one; sorted by time."""
    sign = 1 if maximize else -1
    front = []
    for i, (time_i, score_i) in enumerate(points):
        dominated = any(
            time_j <= time_i and sign * score_j >= sign * score_i
            and (time_j < time_i or sign * score_j > sign * score_i)
            for j, (time_j, score_j) in enumerate(points) if j != i)
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: points[i][0])


def best_by_dataset(results: list[ModelResult]) -> dict[str, ModelResult]:
    """Per dataset, the model the search would pick: best validation score, not test."""
    best: dict[str, ModelResult] = {}
    for result in results:
        if not result.ok or result.best_value is None:
            continue
        sign = 1 if result.direction == "maximize" else -1
        current = best.get(result.dataset)
        if current is None or sign * result.best_value > sign * current.best_value:
            best[result.dataset] = result
    return best


def score_labels(cv_folds: int | None, metric: str) -> dict[str, str]:
    """How every sentence, caption and figure axis names the score the search
    selected on: cross-validated (study.cv_folds) or hold-out validation."""
    if cv_folds:
        return {"name": f"cross-validated {metric}", "title": f"Cross-validated {metric}",
                "short": f"CV {metric}", "method": "cross-validation",
                "where": (f"by a stratified {cv_folds}-fold cross-validation on the training "
                          f"split (the {metric} of the out-of-fold predictions)")}
    return {"name": f"validation {metric}", "title": f"Validation {metric}",
            "short": f"val. {metric}", "method": "hold-out validation",
            "where": "on the hold-out validation split"}


def data_view(summary: dict[str, Any], drop: list[str], dates: list[str] = ()) -> dict[str, Any]:
    """A data set's summary as the data section shows it: the columns the models
    see. Columns in preprocess.drop leave the column list, the per-level table
    and the correlation heatmap, and are listed once, by name, in ``dropped_columns``
    (stored summaries describe every loaded column)."""
    tabular = summary.get("tabular")
    if not tabular:
        return summary
    drop = [str(c) for c in drop or []]
    loaded = [c["name"] for c in tabular["columns"]]
    dropped = [c for c in loaded if c in drop]
    # A column of preprocess.dates is loaded as text but reaches the models as
    # four numbers: a date column, not a categorical one with a level per date.
    dates = {str(c) for c in dates or []}
    kept = [{**c, "dtype": "date"} if c["name"] in dates else c
            for c in tabular["columns"] if c["name"] not in drop]
    view = {**tabular, "columns": kept, "dropped_columns": dropped, "n_columns_loaded": len(loaded),
            "positive_rates": [r for r in tabular.get("positive_rates") or []
                               if r["column"] not in drop and r["column"] not in dates]}
    heatmap = tabular.get("correlation") or {}
    if heatmap and dropped:
        keep = [i for i, c in enumerate(heatmap["columns"]) if c not in drop]
        columns = [heatmap["columns"][i] for i in keep]
        numeric = sum(1 for c in kept if c["dtype"] == "numeric")
        view["correlation"] = {
            "columns": columns,
            "values": [[heatmap["values"][i][j] for j in keep] for i in keep],
            # Numeric model inputs not in the heatmap (the target is its last column).
            "omitted": max(numeric - (len(columns) - 1), 0),
        } if len(columns) > 1 else {}
    return {**summary, "tabular": view}


def _choice_text(step: str, value: Any) -> str:
    """One choice of a searched preprocessing step, as the data section names it."""
    if step == "scale":
        return {"standard": "standard scaling",
                "minmax": "min-max scaling"}.get(value, "no scaling")
    if value is None:
        return "no PCA"
    if isinstance(value, float):
        return f"PCA to {100 * value:g}% of the variance"
    return f"PCA to {value} component{'s' if value != 1 else ''}"


def preprocess_search(preprocess: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any] | None:
    """A data set's searched preprocessing steps (``{choices: [...]}``) as the data
    section states them: each step with its choices, what each combination of
    choices gives the models (fitted on the training split when the data was
    checked), and the feature counts they span. None when nothing is searched."""
    from benchmark.datasets._preprocess import feature_counts
    from benchmark.suite import PREPROCESS_PREFIX, SEARCHABLE_STEPS

    steps = [{"name": PREPROCESS_PREFIX + key,
              "choices": [_choice_text(key, c) for c in value["choices"]]}
             for key in SEARCHABLE_STEPS if isinstance(value := preprocess.get(key), dict)]
    if not steps:
        return None
    variants = ((summary.get("tabular") or {}).get("preprocessing") or {}).get("searched") or []
    settings = [{"text": " and ".join(_choice_text(k.removeprefix(PREPROCESS_PREFIX), c)
                                   for k, c in v["params"].items()),
                 "n_features": v["n_features"], "pca_components": v["pca_components"],
                 "pca_variance": v["pca_variance"]} for v in variants]
    return {"steps": steps, "settings": settings,
            "features": feature_counts(variants) if variants else None}


def search_spaces(results: list[ModelResult]) -> list[dict[str, Any]]:
    """The rows of the search-space table: each model once when its space is the
    same on every data set, else once per data set (a data set's searched
    preprocessing, ``preprocess.*``, is part of its studies' spaces)."""
    by_label: dict[str, list[ModelResult]] = {}
    for result in results:
        by_label.setdefault(result.label, []).append(result)
    groups = []
    for label, studies in by_label.items():
        if len({repr(sorted(r.space.items())) for r in studies}) == 1:
            groups.append({"label": label, "dataset": None, "space": studies[0].space})
        else:
            groups += [{"label": label, "dataset": r.dataset, "space": r.space} for r in studies]
    return groups


# Works every report of this kind rests on, cited where the text uses them.
TOOL_REFERENCES = {
    "optuna": "T. Akiba, S. Sano, T. Yanase, T. Ohta and M. Koyama, \"Optuna: A next-generation "
              "hyperparameter optimization framework,\" in Proc. ACM SIGKDD, 2019, pp. 2623-2631.",
    "tpe": "J. Bergstra, R. Bardenet, Y. Bengio and B. Kegl, \"Algorithms for hyper-parameter "
           "optimization,\" in Proc. NeurIPS, 2011.",
    "fanova": "F. Hutter, H. Hoos and K. Leyton-Brown, \"An efficient approach for assessing "
              "hyperparameter importance,\" in Proc. ICML, 2014, pp. 754-762.",
    "sklearn": "F. Pedregosa et al., \"Scikit-learn: Machine learning in Python,\" J. Machine "
               "Learning Research, vol. 12, pp. 2825-2830, 2011.",
    "tensorflow": "M. Abadi et al., \"TensorFlow: A system for large-scale machine learning,\" in "
                  "Proc. USENIX OSDI, 2016, pp. 265-283.",
    "keras": "F. Chollet et al., \"Keras,\" 2015. [Online]. Available: https://keras.io",
    "demsar": "J. Demšar, \"Statistical comparisons of classifiers over multiple data sets,\" "
              "J. Machine Learning Research, vol. 7, pp. 1-30, 2006.",
    "friedman": "M. Friedman, \"The use of ranks to avoid the assumption of normality implicit in "
                "the analysis of variance,\" J. American Statistical Association, vol. 32, no. "
                "200, pp. 675-701, 1937.",
    "iman": "R. L. Iman and J. M. Davenport, \"Approximations of the critical region of the "
            "Friedman statistic,\" Communications in Statistics, vol. 9, no. 6, pp. 571-595, 1980.",
    "nemenyi": "P. B. Nemenyi, \"Distribution-free multiple comparisons,\" PhD thesis, "
               "Princeton University, 1963.",
    "wilcoxon": "F. Wilcoxon, \"Individual comparisons by ranking methods,\" Biometrics Bulletin, "
                "vol. 1, no. 6, pp. 80-83, 1945.",
    "mcnemar": "Q. McNemar, \"Note on the sampling error of the difference between correlated "
               "proportions or percentages,\" Psychometrika, vol. 12, no. 2, pp. 153-157, 1947.",
    "bh": "Y. Benjamini and Y. Hochberg, \"Controlling the false discovery rate: A practical and "
          "powerful approach to multiple testing,\" J. Royal Statistical Society B, vol. 57, "
          "no. 1, pp. 289-300, 1995.",
    "bootstrap": "B. Efron and R. J. Tibshirani, An Introduction to the Bootstrap. New York: "
                 "Chapman & Hall, 1993.",
}


def references(results: list[ModelResult], sampler: str,
               compared: dict[str, list[dict[str, Any]]],
               across: dict[str, Any] | None = None,
               ablation: list[dict[str, Any]] | None = None) -> list[dict[str, str]]:
    """Every work the report may cite: tools, then each model used. The renderer
    keeps those the text cites and numbers them in order of first citation."""
    keys = ["optuna"] + (["tpe"] if sampler == "tpe" else [])
    if any(r.importances and len(r.importances) > 1 for r in results):
        keys.append("fanova")  # cited by the importances figure, drawn for two or more
    used = {r.family for r in results}
    if used:
        keys.append("sklearn")  # preprocessing and metrics, whatever the family
    for name in sorted(used):
        if name in families:
            keys += [key for key in families.get(name).software if key not in keys]
    if any(row["mcnemar"] for rows in compared.values() for row in rows):
        keys.append("mcnemar")
    if any(row["corrected"] for rows in compared.values() for row in rows):
        keys.append("bh")
    if "bh" not in keys and any(v["comparisons"] > 1 for v in ablation or []):
        keys.append("bh")  # the ablation's adjusted p-values
    if any(r.predictions for r in results):
        keys.append("bootstrap")  # the test-set intervals of the results table
    if across:  # the comparison across data sets
        keys.append("demsar")
        keys += {"wilcoxon": ["wilcoxon"], "friedman": ["friedman", "iman"]}.get(across["test"], [])
        if across.get("nemenyi"):
            keys.append("nemenyi")
    entries = [{"key": key, "text": TOOL_REFERENCES[key]} for key in keys]
    for result in results:
        key = f"model:{result.model_name}"
        if result.reference and all(e["key"] != key for e in entries):
            entries.append({"key": key, "text": result.reference})
    return entries


# How the report names each software citation key of a family (families.py's
# ``software``) and the package whose version the run recorded for it.
SOFTWARE = {"tensorflow": ("TensorFlow", "tensorflow"), "keras": ("Keras", "keras"),
            "sklearn": ("scikit-learn", "scikit-learn")}
# What the methods section says each family's software does (a family not
# listed here gets the generic sentence).
FAMILY_ROLES = {
    "keras": ("the networks are built and trained with",
              ", fed by a tf.data pipeline (cached, shuffled each epoch, prefetched)"),
    "sklearn": ("the classical models and their preprocessing are", " pipelines"),
}


def software(results: list[ModelResult], environment: dict[str, Any]) -> dict[str, Any]:
    """The software the run used, from the families of its models alone: a
    scikit-learn-only run names neither TensorFlow nor Keras. ``used``: the
    families (name, label, epochs, cross-validation); ``toolkits``: one
    sentence part per family, with the software it cites; ``line``: name and
    version of each package of the hardware-and-software line (Optuna, then the
    families' software; scikit-learn always, for the metrics); ``packages``: the
    run's recorded package versions less those of software it did not use."""
    used = [families.get(name) for name in sorted({r.family for r in results
                                                   if r.family in families})]
    keys: list[str] = []
    toolkits = []
    for family in used:
        keys += [key for key in family.software if key not in keys]
        before, after = FAMILY_ROLES.get(family.name, (f"the {family.label} models are built with",
                                                      ""))
        toolkits.append({"family": family.name, "before": before, "after": after,
                         "software": [{"key": key, "name": SOFTWARE.get(key, (key, key))[0]}
                                      for key in family.software]})
    if toolkits:
        toolkits[0]["before"] = toolkits[0]["before"][:1].upper() + toolkits[0]["before"][1:]
    if "sklearn" not in keys:
        keys.append("sklearn")  # the metrics and preprocessing, whatever the family
    versions = (environment or {}).get("packages") or {}
    line = [{"name": "Optuna", "version": versions.get("optuna")}] + [
        {"name": SOFTWARE.get(key, (key, key))[0], "version": versions.get(SOFTWARE.get(key, (key, key))[1])}
        for key in keys]
    unused = {package for key, (_, package) in SOFTWARE.items() if key not in keys}
    return {"used": [{"name": f.name, "label": f.label, "trains_in_epochs": f.trains_in_epochs,
                      "cross_validates": f.cross_validates} for f in used],
            "toolkits": toolkits, "line": line,
            "packages": {name: version for name, version in versions.items()
                         if version and name not in unused},
            # Families whose models fit once (no epochs): the pruner has nothing to compare.
            "single_fit": [f.label for f in used if not f.trains_in_epochs],
            "trains_in_epochs": any(r.trains_in_epochs for r in results)}


def majority_baselines(datasets: list[dict[str, Any]], results: list[ModelResult]) -> None:
    """Per binary tabular data set (in place, as ``baseline``): what always
    predicting the majority class scores on the test split, and the models'
    results ranked by recall, for the discussion."""
    for d in datasets:
        if d.get("kind") != "tabular" or len(d.get("class_names") or ()) != 2:
            continue
        counts, size = d["class_counts"]["test"], d["split_sizes"]["test"]
        ok = [r for r in results if r.dataset == d["name"] and r.ok]
        if not ok or not size:
            continue
        accuracy = max(counts) / size
        d["baseline"] = {"accuracy": accuracy, "positives_are_majority": counts[1] > counts[0],
                         "negatives": counts[0], "positives": counts[1],
                         "rare": accuracy > 0.7, "results": ok,
                         "by_recall": sorted(ok, key=lambda r: r.test.get("recall", 0.0),
                                             reverse=True)}


def shown_space(stored: dict[str, Any] | None) -> dict[str, str]:
    """A study's stored space (format 4: data) as the report lists it; a study
    whose data the upgrade to format 4 could not recover keeps its text."""
    from benchmark.space import Space

    stored = stored or {}
    if "shown" in stored:
        return dict(stored["shown"])
    return Space.from_data(stored).describe()


def across_view(results: list[ModelResult], datasets: list[str], metric: str,
                maximize: bool) -> dict[str, Any] | None:
    """Conclusions across data sets (benchmark.across, Demšar 2006): each
    model's mean test score and rank per data set, the average ranks, and the
    test the numbers of data sets and models allow. None with one data set."""
    import pandas as pd

    from benchmark import across

    models = list(dict.fromkeys(r.label for r in results))
    names = [d for d in datasets if any(r.dataset == d for r in results)]
    if len(names) < 2 or len(models) < 2:
        return None
    scores = pd.DataFrame(float("nan"), index=names, columns=models)
    for r in results:
        if r.ok and r.test.get(metric) is not None:
            scores.loc[r.dataset, r.label] = r.test[metric]
    return across.across_datasets(scores, maximize)


def learning_curves(results: list[ModelResult],
                    datasets: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per data set and model: training samples, mean and s.d. of the test
    score over the repeats at each fraction of the training split (the whole
    split's size from the data summary)."""
    train = {d["name"]: (d.get("split_sizes") or {}).get("train") for d in datasets}
    curves: dict[str, dict[str, Any]] = {}
    for r in results:
        points = [p for p in r.learning_curve or []
                  if [s for s in p["scores"] if s is not None]]
        if len(points) < 2:
            continue
        series = {"samples": [], "mean": [], "std": [], "repeats": []}
        for p in points:
            scores = [s for s in p["scores"] if s is not None]
            series["samples"].append(p["samples"] or train.get(r.dataset))
            series["mean"].append(statistics.fmean(scores))
            series["std"].append(statistics.stdev(scores) if len(scores) > 1 else 0.0)
            series["repeats"].append(len(scores))
        curves.setdefault(r.dataset, {})[r.label] = series
    return curves


def ablations(results: list[ModelResult], metric: str, maximize: bool) -> list[dict[str, Any]]:
    """Each model's ablation (``ablation.factors``), one table per (data set,
    model): per level of each factor its test score over the repeats (mean,
    95% t-interval), the change against the base and the paired t-test over
    the shared seeds (stats.paired_repeats), its p-value adjusted with the
    model's other levels (Benjamini-Hochberg: a model with 8 levels makes 8
    comparisons), and the mean training seconds. ``better`` says a level
    beat the base significantly, ``worse`` that it lost to it."""
    bounds = None if metric == "log_loss" else (0, 1)
    views = []
    for r in results:
        if not r.ablation:
            continue
        factors = []
        for factor in r.ablation:
            base = next(row for row in factor["levels"] if row["base"])
            base_scores = [s for s in base["scores"] if s is not None]
            rows = []
            for row in factor["levels"]:
                scores = [s for s in row["scores"] if s is not None]
                seconds = [s for s in row.get("fit_seconds") or [] if s is not None]
                test = None if row["base"] else stats.paired_repeats(scores, base_scores)
                rows.append({
                    "level": _short(row["level"]) if isinstance(row["level"], float)
                    else "None" if row["level"] is None else str(row["level"]),
                    "base": row["base"], "n": len(scores),
                    "mean": statistics.fmean(scores) if scores else None,
                    "ci": stats.confidence_interval(scores, bounds=bounds),
                    "difference": test["mean_difference"] if test else None,
                    "p_value": test["p_value"] if test else None,
                    "seconds": statistics.fmean(seconds) if seconds else None,
                    "error": row.get("error")})
            factors.append({"factor": factor["factor"], "rows": rows})
        flat = [row for f in factors for row in f["rows"]]
        for row, adjusted in zip(flat, stats.adjust([row["p_value"] for row in flat])):
            row["p_adjusted"] = adjusted
            significant = adjusted is not None and adjusted < stats.ALPHA
            gain = row["difference"] if maximize else -(row["difference"] or 0.0)
            row["better"] = significant and gain > 0
            row["worse"] = significant and gain < 0
        views.append({"dataset": r.dataset, "model": r.label, "factors": factors,
                      "failed": [f"{f['factor']} = {row['level']} ({row['error']})"
                                 for f in factors for row in f["rows"] if row["error"]],
                      "repeats": max((row["n"] for row in flat), default=0),
                      "comparisons": sum(1 for row in flat if row["p_value"] is not None)})
    return views


# A numeric knob with more distinct values than this is binned (in thirds).
EFFECT_LEVELS = 6


def setting_effects(result: ModelResult) -> list[dict[str, Any]]:
    """What each searched setting did in this search, descriptively: the mean
    validation score of the completed trials at each level of a categorical
    knob (or of a numeric one in thirds of its tried values), with counts.
    The sampler chose which levels to try, so this shows a direction, not a
    controlled effect (fANOVA's importances say how much each knob matters)."""
    import pandas as pd

    done = [t for t in result.trials if t["state"] == "complete" and t["value"] is not None
            and math.isfinite(t["value"])]
    if len(done) < 3:
        return []
    scores = pd.Series([t["value"] for t in done], dtype="float64")
    rows = []
    for name in dict.fromkeys(k for t in done for k in t["params"]):
        values = [t["params"].get(name) for t in done]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if len(set(map(repr, values))) < 2:
            continue
        if numeric and len(set(values)) > EFFECT_LEVELS:
            column = pd.Series(values, dtype="float64")
            levels = pd.qcut(column, 3, labels=False, duplicates="drop")
            # Each bin named by the values tried in it (qcut widens its edges).
            shown = {level: " to ".join(dict.fromkeys(
                         (_short(column[levels == level].min()),
                          _short(column[levels == level].max()))))
                     for level in sorted(levels.unique())}
        elif numeric:  # a few numbers: in their order, not as text
            levels = pd.Series(values, dtype="float64")
            shown = {v: _short(v) for v in levels.unique()}
        else:
            levels = pd.Series(["None" if v is None else str(v) for v in values])
            shown = None
        grouped = scores.groupby(levels, sort=True).agg(["mean", "count"])
        for level, row in grouped.iterrows():
            rows.append({"parameter": name, "level": shown[level] if shown else str(level),
                         "mean": float(row["mean"]), "count": int(row["count"])})
    return rows


def _short(value: float) -> str:
    return f"{value:.3g}"


def budget_series(result: ModelResult) -> dict[str, list[float]]:
    """The best validation score so far against the cumulative training time
    of the study's trials (every finished trial spends some, pruned and failed
    ones too; runs stored without it count each trial's wall time) and against
    the number of trials, from the first completed trial on."""
    better = max if result.direction == "maximize" else min
    spent, best = 0.0, None
    points: dict[str, list[float]] = {"x": [], "trials": [], "best": []}
    for count, trial in enumerate(sorted(result.trials, key=lambda t: t["number"]), start=1):
        fitted = trial.get("fit_seconds")
        spent += (fitted if fitted is not None else trial["seconds"]) or 0.0
        if trial["state"] == "complete" and trial["value"] is not None \
                and math.isfinite(trial["value"]):
            best = trial["value"] if best is None else better(best, trial["value"])
        if best is not None:
            points["x"].append(spent)
            points["trials"].append(count)
            points["best"].append(best)
    return points


# Budgets (seconds of summed training time) at which the report names the leader.
BUDGET_MARKS = (60, 600, 3600)


def budget_leaders(series: dict[str, dict[str, list[float]]],
                   maximize: bool) -> list[dict[str, Any]]:
    """Which model led (best validation score so far) at 1, 10 and 60 minutes
    of summed training time, where every model's search got that far, and at the
    end of the shortest search: the budgets at which the winner can change."""
    drawn = {m: p for m, p in series.items() if p["x"]}
    if len(drawn) < 2:
        return []
    shortest = min(p["x"][-1] for p in drawn.values())
    marks = [m for m in BUDGET_MARKS if m < shortest] + [shortest]
    leaders = []
    for mark in marks:
        at = {}
        for model, points in drawn.items():
            reached = [b for x, b in zip(points["x"], points["best"]) if x <= mark + 1e-9]
            if reached:
                at[model] = reached[-1]
        if not at:
            continue
        top = (max if maximize else min)(at.values())
        leaders.append({"seconds": mark, "models": [m for m, v in at.items() if v == top],
                        "score": top, "end": mark == shortest})
    return leaders


def time_spent(store: Store, run: RunRecord) -> dict[str, Any] | None:
    """Where the run's time went (benchmark.phases): the main process's phases
    and each worker's, summed. None for runs stored before revision 0005."""
    from sqlalchemy import select

    from benchmark import phases
    from benchmark.store import WorkerRecord

    with store.session() as session:
        workers = list(session.scalars(select(WorkerRecord.phases)
                                       .where(WorkerRecord.run_id == run.id)))
    if run.phases is None and not any(workers):
        return None
    # The report's own rendering is stored after the report is written; leaving
    # it out keeps a report rendered again from the database (`report RUN_ID`)
    # identical to the first one.
    own = {k: v for k, v in (run.phases or {}).items() if k != "report"}
    rows = phases.rows(own, workers)
    return {"rows": rows, "total": sum(row["seconds"] for row in rows),
            "workers": len(workers)}


def build(store: Store, run_id: str) -> dict[str, Any]:
    from benchmark.report import narrative

    run = store.resolve(run_id)
    results = model_results(store, run)
    suite = run.suite
    metric = suite["study"]["metric"]
    # Every study of a run optimises the same metric in the same direction.
    maximize = all(r.direction == "maximize" for r in results)
    best = best_by_dataset(results)
    compared = comparisons(results, best, metric, maximize)
    score = score_labels(suite["study"].get("cv_folds"), metric)
    duration = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
    entries = suite.get("datasets") or {}
    preprocess = {d.name: (entries.get(d.name) or {}).get("preprocess") or {} for d in run.datasets}
    datasets = [{"name": d.name, "source": d.source,
                 **data_view(d.summary, preprocess[d.name].get("drop") or [],
                             preprocess[d.name].get("dates") or []),
                 "preprocess_search": preprocess_search(preprocess[d.name], d.summary)}
                for d in run.datasets]
    majority_baselines(datasets, results)
    across = across_view(results, [d.name for d in run.datasets], metric, maximize)
    budgets = {}
    for d in run.datasets:
        series = {r.label: budget_series(r) for r in results if r.dataset == d.name}
        budgets[d.name] = {"series": series, "leaders": budget_leaders(series, maximize)}
    budget_kind = suite["study"].get("budget") or "trials"
    curves = learning_curves(results, datasets)
    ablation = ablations(results, metric, maximize)
    cited = references(results, suite["study"]["sampler"]["name"], compared, across, ablation)
    report = suite["report"]
    return {
        "style": report.get("style") or "ieee",
        # The software the run used (its families'), for every sentence naming it.
        "software": software(results, run.environment or {}),
        "saved_models": saved_models(results),
        "run": {
            "id": run.id, "suite_name": run.suite_name, "suite_hash": run.suite_hash,
            "seed": run.seed, "status": run.status,
            # Masked again: a run stored by an older version kept the password.
            "error": scrub(run.error, store.url) if run.error else run.error,
            "command": mask_command(run.command or ""),
            "started_at": run.started_at, "finished_at": run.finished_at, "duration": duration,
            "environment": run.environment, "suite_yaml": run.suite_yaml,
        },
        "suite": suite,
        "title": suite["report"].get("title") or f"Benchmark of {len(results)} model(s): {run.suite_name}",
        "authors": suite["report"].get("authors") or [],
        "abstract_override": suite["report"].get("abstract"),
        "study": suite["study"],
        "datasets": datasets,
        "results": results,
        # One entry per suite model, in suite order (results repeat them per dataset).
        "models": list({r.label: r for r in results}.values()),
        "search_spaces": search_spaces(results),
        "best": best,
        "maximize": maximize,
        "comparisons": compared,
        "discussion": narrative.discussion(
            results, best, compared, metric, maximize, score=score, across_view=across,
            budget_leaders={name: b["leaders"] for name, b in budgets.items()},
            budget_kind=budget_kind, curves=curves, ablations=ablation),
        # How the score the search selected on is named everywhere (CV or validation).
        "score": score,
        "bootstrap_resamples": stats.BOOTSTRAP_RESAMPLES,
        # What may be cited; render_html numbers what the text does cite.
        "references": cited,
        "sections": suite["report"].get("sections") or list(SECTIONS),
        "figure_kinds": suite["report"].get("figures") or list(FIGURES),
        # Each (dataset, model) pair that produced no result, with the reason, in
        # suite order: what the run's summary line names.
        "empty_pairs": [{"dataset": r.dataset, "model": r.label,
                         "reason": r.error or "no result"} for r in results if not r.ok],
        # Which hosts and devices trained the trials and refits (format 3), and
        # whether several workers ran at once.
        "hardware": hardware(run.environment or {}, results),
        "time_spent": time_spent(store, run),
        "across": across,
        "budget": budgets,
        "effects": {(r.dataset, r.label): setting_effects(r) for r in results},
        "learning_curves": curves,
        "ablations": ablation,
        "budget_kind": budget_kind,
    }
