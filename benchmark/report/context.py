"""Everything the report shows, as plain data read from the database alone."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from benchmark.store import RunRecord, Store

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
    test: dict[str, float]  # mean over repeats
    test_std: dict[str, float]
    repeats: int
    fit_seconds: float | None
    n_params: int | None
    confusion: list[list[int]] | None
    error: str | None
    family: str = "keras"
    threshold: float | None = None  # tuned on validation, applied to test (mean over repeats)
    predictions: dict[str, Any] | None = None  # test y_true / proba of the first refit
    architecture: dict[str, Any] | None = None  # Keras: the layer table of the first refit
    figures: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.test)


def _mean_std(values: list[dict[str, float]]) -> tuple[dict[str, float], dict[str, float]]:
    keys = set.intersection(*(set(v) for v in values)) if values else set()
    mean = {k: statistics.fmean(v[k] for v in values) for k in keys}
    std = {k: statistics.stdev(v[k] for v in values) if len(values) > 1 else 0.0 for k in keys}
    return mean, std


def _trials(storage: str, study_name: str) -> list[Any]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name=study_name, storage=storage).get_trials(deepcopy=False)


def _defaults(model_name: str) -> dict[str, Any]:
    from benchmark.models import models
    from benchmark.training import TRAINING_DEFAULTS

    if model_name not in models:
        return {}
    spec = models.get(model_name)
    return {**TRAINING_DEFAULTS.get(spec.family, {}), **spec.architecture_defaults()}


def changed_parameters(params: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The parameters of a trial that differ from the model's defaults (the
    seed's "n_estimators=500 -> 0.960" tables)."""
    return {k: v for k, v in params.items() if k not in defaults or defaults[k] != v}


def model_results(store: Store, run: RunRecord) -> list[ModelResult]:
    from benchmark.models import models

    results = []
    for study in run.studies:
        defaults = _defaults(study.model_name)
        trials = _trials(store.url, study.optuna_study)
        counts = {name: 0 for name in STATE_NAMES.values()}
        rows = []
        for trial in trials:
            state = STATE_NAMES.get(trial.state.name)
            if state is None:  # RUNNING or WAITING: an interrupted run
                continue
            counts[state] += 1
            rows.append({"number": trial.number, "state": state, "value": trial.value,
                         "params": trial.params, "error": trial.user_attrs.get("error"),
                         "changed": changed_parameters(trial.params, defaults),
                         "threshold": trial.user_attrs.get("threshold"),
                         "folds": len(trial.user_attrs.get("fold_scores") or []),
                         "epochs": len(trial.user_attrs.get("history") or []),
                         "seconds": trial.duration.total_seconds() if trial.duration else None})
        best = next((t for t in trials if t.number == study.best_trial), None)
        evaluations = study.evaluations
        mean, std = _mean_std([e.metrics for e in evaluations])
        spec = models.get(study.model_name) if study.model_name in models else None
        results.append(ModelResult(
            dataset=study.dataset, label=study.model, model_name=study.model_name,
            description=spec.description if spec else study.model_name,
            reference=spec.reference if spec else "",
            metric=study.metric, direction=study.direction, space=study.space, counts=counts,
            search_seconds=study.search_seconds, best_trial=study.best_trial,
            best_value=best.value if best else None, best_params=study.best_params,
            best_history=(best.user_attrs.get("history") or []) if best else [],
            trials=rows, test=mean, test_std=std, repeats=len(evaluations),
            fit_seconds=statistics.fmean(e.fit_seconds for e in evaluations) if evaluations else None,
            n_params=evaluations[0].n_params if evaluations else None,
            confusion=evaluations[0].confusion if evaluations else None,
            error=study.error, family=spec.family if spec else "keras",
            threshold=(statistics.fmean(e.threshold for e in evaluations)
                       if evaluations and evaluations[0].threshold is not None else None),
            predictions=evaluations[0].predictions if evaluations else None,
            architecture=evaluations[0].architecture if evaluations else None))
    return results


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


def build(store: Store, run_id: str) -> dict[str, Any]:
    run = store.resolve(run_id)
    results = model_results(store, run)
    suite = run.suite
    duration = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
    datasets = [{"name": d.name, "source": d.source, **d.summary} for d in run.datasets]
    return {
        "run": {
            "id": run.id, "suite_name": run.suite_name, "suite_hash": run.suite_hash,
            "seed": run.seed, "status": run.status, "error": run.error, "command": run.command,
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
        "best": best_by_dataset(results),
    }
