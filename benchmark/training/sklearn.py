"""Fitting a scikit-learn model (the suite's preprocessing + the estimator) for
one trial, by hold-out or k-fold cross-validation, or for a final evaluation."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmark import phases
from benchmark.datasets import Part, take
from benchmark.models import ModelSpec


@dataclass
class Fitted:
    model: Any
    n_classes: int
    fit_seconds: float
    n_params: int | None = None
    history: list[dict[str, float]] = field(default_factory=list)

    def predict_proba(self, part: Part) -> np.ndarray:
        proba = np.asarray(self.model.predict_proba(part.x), dtype="float64")
        # A training sample without some class gives fewer columns: put them back.
        full = np.zeros((len(proba), self.n_classes))
        full[:, np.asarray(self.model.classes_, dtype="int64")] = proba
        return full


def build(spec: ModelSpec, params: dict[str, Any], *, columns: list[str] | None,
          preprocess: Any, seed: int):
    from sklearn.pipeline import Pipeline

    from benchmark.datasets import _preprocess

    estimator = spec.build(seed=seed, **params)
    if preprocess is None or columns is None:
        return estimator
    return Pipeline([("preprocess", _preprocess.build(preprocess, columns)), ("model", estimator)])


def fit(spec: ModelSpec, params: dict[str, Any], train: Part, n_classes: int, *, seed: int,
        preprocess: Any = None) -> Fitted:
    columns = [str(c) for c in train.x.columns] if hasattr(train.x, "columns") else None
    model = build(spec, params, columns=columns, preprocess=preprocess, seed=seed)
    started = time.perf_counter()
    with phases.timed("training"):
        model.fit(train.x, train.y)
    return Fitted(model, n_classes, time.perf_counter() - started)


def cross_validate(spec: ModelSpec, params: dict[str, Any], train: Part, n_classes: int, *,
                   folds: int, seed: int, preprocess: Any,
                   score: Callable[[np.ndarray, np.ndarray], float] | None = None,
                   trial: Any = None,
                   fold_scores: list[float] | None = None) -> tuple[np.ndarray, list[float], float]:
    """Out-of-fold probabilities for every training sample, the score of each
    fold, and the total fit time. With an Optuna ``trial``, the score of the
    folds so far is reported after each fold, so a pruner can stop a poor
    configuration before all folds are fitted. Without ``score`` (the final
    evaluation's threshold tuning) only the out-of-fold probabilities count."""
    from sklearn.model_selection import StratifiedKFold

    out_of_fold = np.zeros((len(train), n_classes))
    scored = np.zeros(len(train), dtype=bool)
    fold_scores = [] if fold_scores is None else fold_scores
    seconds = 0.0
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (fit_index, held_out) in enumerate(splitter.split(np.zeros(len(train)), train.y)):
        fitted = fit(spec, params, Part(take(train.x, fit_index), train.y[fit_index]), n_classes,
                     seed=seed, preprocess=preprocess)
        seconds += fitted.fit_seconds
        out_of_fold[held_out] = fitted.predict_proba(Part(take(train.x, held_out), train.y[held_out]))
        scored[held_out] = True
        if score is not None:
            fold_scores.append(score(train.y[held_out], out_of_fold[held_out]))
        if trial is not None and score is not None:
            import optuna

            trial.report(score(train.y[scored], out_of_fold[scored]), fold)
            # After the last fold the trial is done: pruning it would save nothing.
            if fold + 1 < folds and trial.should_prune():
                raise optuna.TrialPruned()
    return out_of_fold, fold_scores, seconds
