"""A suite's ``preprocess:`` section as a scikit-learn pipeline.

The pipeline is part of every tabular model (``Pipeline([preprocess, estimator])``),
so it is fitted on the training split only, and refitted inside each fold when
the search cross-validates.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from benchmark.errors import DataError


def _indicator_name(name: str, feature: str, category: Any) -> str:
    return name


def _fill(value: Any):
    from sklearn.impute import SimpleImputer

    strategy = getattr(value, "strategy", None)
    if strategy is not None:
        return SimpleImputer(strategy=strategy)
    return SimpleImputer(strategy="constant", fill_value=value)


def build(spec: Any, columns: list[str]):
    """The unfitted pipeline for ``spec`` (a suite ``Preprocess``) over ``columns``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.decomposition import PCA
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler

    per_column = []
    for column in columns:
        if column in spec.drop:
            continue
        steps = []
        if column in spec.fill:
            steps.append(("fill", _fill(spec.fill[column])))
        if column in spec.ordinal:
            # A level the training split never had (or the order left out) becomes -1.
            steps.append(("ordinal", OrdinalEncoder(
                categories=[list(spec.ordinal[column])], handle_unknown="use_encoded_value",
                unknown_value=-1)))
        elif column in spec.binarize:
            rule = spec.binarize[column]
            steps.append(("binarize", OneHotEncoder(
                categories=[[rule.level]], handle_unknown="ignore", sparse_output=False,
                feature_name_combiner=partial(_indicator_name, rule.name or f"{column}_{rule.level}"))))
        elif column in spec.one_hot:
            steps.append(("one_hot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)))
        if steps:
            per_column.append((column, steps[0][1] if len(steps) == 1 else Pipeline(steps), [column]))
    dropped = [c for c in columns if c in spec.drop]
    stages: list[tuple[str, Any]] = [("columns", ColumnTransformer(
        per_column + ([("drop", "drop", dropped)] if dropped else []),
        remainder="passthrough", verbose_feature_names_out=False))]
    if spec.scale == "standard":
        stages.append(("scale", StandardScaler()))
    elif spec.scale == "minmax":
        stages.append(("scale", MinMaxScaler()))
    if spec.pca is not None:
        stages.append(("pca", PCA(n_components=spec.pca, svd_solver="full")))
    return Pipeline(stages).set_output(transform="pandas")


@dataclass(frozen=True)
class Fitted:
    """What the preprocessing made of the training split (stated in the report)."""

    n_input_columns: int
    features: list[str]  # after encoding, before PCA
    n_features: int  # what the model sees
    pca_components: int | None
    pca_variance: float | None


def check(spec: Any, frame: Any) -> Fitted:
    """Fit ``spec`` on ``frame`` (the training split) and say what is wrong, as a
    DataError naming the preprocess key, if the result is not a numeric matrix."""
    import pandas as pd

    columns = list(frame.columns)
    for key in ("drop", "fill", "ordinal", "binarize", "one_hot"):
        for index, column in enumerate(getattr(spec, key)):
            if column not in columns:
                from benchmark.registry import unknown_name_message

                where = f"preprocess.{key}[{index}]" if isinstance(getattr(spec, key), list) else \
                    f"preprocess.{key}.{column}"
                raise DataError(where, unknown_name_message("column", column, columns))
    for column, order in spec.ordinal.items():
        values = frame[column]
        if column in spec.fill and not hasattr(spec.fill[column], "strategy"):
            values = values.fillna(spec.fill[column])
        unlisted = sorted({str(v) for v in values.dropna().unique()} - {str(v) for v in order})
        if unlisted:
            raise DataError(f"preprocess.ordinal.{column}",
                            f"the order leaves out level(s) {', '.join(map(repr, unlisted))} "
                            f"found in the data; list every level, lowest first")

    # The encoding stage first, alone: text or gaps that survive it are named per
    # column before scaling or PCA would fail on them with a less useful message.
    pipeline = build(spec, columns)
    encoded = pipeline[:1].fit_transform(frame)
    for column in encoded.columns:
        values = encoded[column]
        if not pd.api.types.is_numeric_dtype(values):
            sample = values.dropna().astype(str).unique()[:3]
            raise DataError("preprocess", (
                f"column {column!r} is still non-numeric after preprocessing (values like "
                f"{', '.join(map(repr, sample))}); add it to preprocess.one_hot, "
                "preprocess.ordinal or preprocess.binarize, or to preprocess.drop"))
        missing = int(values.isna().sum())
        if missing:
            raise DataError("preprocess", (
                f"column {column!r} has {missing} missing value(s) after preprocessing; "
                f"give it a value in preprocess.fill (a constant or {{strategy: median}})"))
    if len(pipeline) > 1:
        try:
            pipeline[1:].fit(encoded)  # the slice shares its steps with ``pipeline``
        except ValueError as error:  # e.g. more PCA components than features
            raise DataError("preprocess", str(error).splitlines()[0]) from None
    pca = pipeline.named_steps.get("pca")
    return Fitted(
        n_input_columns=len(columns),
        features=[str(c) for c in encoded.columns],
        n_features=int(pca.n_components_) if pca is not None else encoded.shape[1],
        pca_components=int(pca.n_components_) if pca is not None else None,
        pca_variance=float(np.sum(pca.explained_variance_ratio_)) if pca is not None else None,
    )
