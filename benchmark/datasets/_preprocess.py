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
from benchmark.space import same_value


def _indicator_name(name: str, feature: str, category: Any) -> str:
    return name


def _fill(value: Any):
    from sklearn.impute import SimpleImputer

    strategy = getattr(value, "strategy", None)
    if strategy is not None:
        return SimpleImputer(strategy=strategy)
    return SimpleImputer(strategy="constant", fill_value=value)


def build(spec: Any, columns: list[str]):
    """The unfitted pipeline for ``spec`` (a suite ``Preprocess``) over ``columns``;
    a searched step must be chosen first (``Preprocess.chosen``)."""
    searched = spec.searched() if hasattr(spec, "searched") else {}
    if searched:
        raise ValueError(f"{', '.join(searched)} is searched: build the pipeline of one choice "
                         "(Preprocess.chosen)")
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
        elif column in getattr(spec, "dates", ()):
            from benchmark.datasets._dates import DateFeatures

            steps.append(("dates", DateFeatures(str(column))))
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
    # What the model sees; with searched steps, None where the choices differ in it.
    n_features: int | None
    pca_components: int | None
    pca_variance: float | None
    # Columns worth a look (constant, or an ID unique per row), shown as warnings.
    warnings: tuple[str, ...] = ()
    # preprocess.dates: each date column and the earliest training date (ISO), the
    # day its "<column>_days" feature counts from.
    dates: tuple[tuple[str, str], ...] = ()
    # With searched steps (``{choices: [...]}``), each combination of the choices:
    # {"params": {"preprocess.pca": 0.9, ...}, "n_features", "pca_components", "pca_variance"}.
    searched: tuple[dict[str, Any], ...] = ()


def _check_dates(spec: Any, frame: Any, whole: Any) -> tuple[tuple[str, str], ...]:
    """Every row of each ``preprocess.dates`` column (after a constant fill) is a
    date, and none is missing unless preprocess.fill fills it; returns each
    column with its earliest training date."""
    from benchmark.datasets._dates import NotDates, parse

    starts = []
    for index, column in enumerate(spec.dates):
        where = f"preprocess.dates[{index}]"
        fill = spec.fill.get(column)
        filled = [part[column] if fill is None or hasattr(fill, "strategy") else
                  part[column].fillna(fill) for part in (whole, frame)]
        try:
            every, training = (parse(values, str(column)) for values in filled)
        except NotDates as error:
            raise DataError(where, str(error)) from None
        missing = int(every.isna().sum())
        if missing and fill is None:
            raise DataError(where, (
                f"column {column!r} has {missing} missing date(s) in the data set's {len(whole)} "
                "rows; give it a value in preprocess.fill (a date such as '2024-01-01', or "
                "{strategy: most_frequent}) or list it in preprocess.drop"))
        earliest = training.min()
        starts.append((str(column), "" if earliest != earliest else  # NaT: no date at all
                       str(earliest.date()) if earliest == earliest.normalize() else
                       earliest.isoformat()))
    return tuple(starts)


def check(spec: Any, frame: Any, whole: Any = None) -> Fitted:
    """Fit ``spec`` on ``frame`` (the training split) and say what is wrong, as a
    DataError naming the preprocess key, if the result is not a numeric matrix.
    ``whole`` (every row, of every split; default ``frame``) is checked too: the
    fitted preprocessing must leave no missing value in any row the model sees."""
    import pandas as pd

    whole = frame if whole is None else whole
    columns = list(frame.columns)
    for key in ("drop", "fill", "ordinal", "binarize", "one_hot", "dates"):
        for index, column in enumerate(getattr(spec, key)):
            if column not in columns:
                from benchmark.datasets._tabular import unknown_column

                where = f"preprocess.{key}[{index}]" if isinstance(getattr(spec, key), list) else \
                    f"preprocess.{key}.{column}"
                raise DataError(where, unknown_column(column, columns))
    for column, order in spec.ordinal.items():
        values = whole[column]
        if column in spec.fill and not hasattr(spec.fill[column], "strategy"):
            values = values.fillna(spec.fill[column])
        unlisted = sorted({str(v) for v in values.dropna().unique()} - {str(v) for v in order})
        if unlisted:
            from benchmark.datasets._tabular import column_list

            raise DataError(f"preprocess.ordinal.{column}",
                            f"the order leaves out level(s) {column_list(unlisted, quote=True)} "
                            f"found in the data; list every level, lowest first")
    for column, rule in spec.binarize.items():
        # YAML's unquoted yes/no/on/off arrive as true/false: an indicator of a level
        # the column never has would be 0 in every row, silently.
        if isinstance(rule.level, bool) and not pd.api.types.is_bool_dtype(whole[column]):
            levels = sorted({str(v) for v in whole[column].dropna().unique()})
            if str(rule.level) not in levels:
                from benchmark.datasets._tabular import _yaml_bool_hint, column_list

                raise DataError(f"preprocess.binarize.{column}", (
                    f"{rule.level!r} is not a level of column {column!r}; levels: "
                    f"{column_list(levels, quote=True, noun='levels')}"
                    + _yaml_bool_hint(rule.level, levels, key="")))

    # The encoding stage first, alone: text or gaps that survive it are named per
    # column before scaling or PCA would fail on them with a less useful message.
    for column, value in spec.fill.items():
        numeric = pd.api.types.is_numeric_dtype(whole[column])
        strategy = getattr(value, "strategy", None)
        if strategy in {"mean", "median"} and not numeric:
            sample = whole[column].dropna().astype(str).unique()[:3]
            raise DataError(f"preprocess.fill.{column}", (
                f"the {strategy} needs numbers, but column {column!r} holds text (values like "
                f"{', '.join(map(repr, sample))}); use {{strategy: most_frequent}} or a constant"))
        if strategy is None and numeric and isinstance(value, str):
            raise DataError(f"preprocess.fill.{column}", (
                f"column {column!r} holds numbers; fill it with a number, not {value!r}"))
    starts = _check_dates(spec, frame, whole)
    # The encoding stage is the same whatever the search chooses; scaling and PCA
    # are fitted for each combination of the searched choices below.
    settings = spec.settings() if hasattr(spec, "settings") else [({}, spec)]
    pipeline = build(settings[0][1], columns)
    try:
        encoded = pipeline[:1].fit_transform(frame)
    except ValueError as error:  # what the checks above do not foresee
        raise DataError("preprocess", str(error).splitlines()[0][:200]) from None
    for column in encoded.columns:
        values = encoded[column]
        if not pd.api.types.is_numeric_dtype(values):
            sample = values.dropna().astype(str).unique()[:3]
            raise DataError("preprocess", (
                f"column {column!r} is still non-numeric after preprocessing (values like "
                f"{', '.join(map(repr, sample))}); add it to preprocess.one_hot, "
                "preprocess.ordinal or preprocess.binarize, or to preprocess.drop"))
    # Every row, not only the training rows: a gap in a validation or test row
    # would reach the model (a fill fitted on the training rows fills it).
    try:
        every = encoded if whole is frame else pipeline[:1].transform(whole)
    except ValueError as error:
        raise DataError("preprocess", str(error).splitlines()[0][:200]) from None
    gaps = every.isna().sum()
    infinite = every.apply(lambda values: int(np.isinf(values.to_numpy(dtype="float64")).sum()))
    for column, count in infinite.items():
        if count:  # "inf" in the file, or a number too large for a float
            raise DataError("preprocess", (
                f"column {column!r} has {count} infinite value(s) (inf, or a number too large "
                f"for a float) in the data set's {len(whole)} rows; correct them in the file or "
                "list the column in preprocess.drop"))
    for column, missing in gaps.items():
        if missing:
            outside = int(missing) - int(encoded[column].isna().sum())
            where = "" if whole is frame else (
                f" in the data set's {len(whole)} rows ({outside} of them outside the training rows)")
            raise DataError("preprocess", (
                f"column {column!r} has {int(missing)} missing value(s) after preprocessing{where}; "
                f"give it a value in preprocess.fill (a constant or {{strategy: median}}) or list "
                "it in preprocess.drop"))
    variants = []
    for params, chosen in settings:
        stages = build(chosen, columns)[1:]  # scaling and PCA
        if len(stages):
            try:
                stages.fit(encoded)
            except ValueError as error:  # e.g. more PCA components than features
                raise DataError(_setting_key(spec, params), str(error).splitlines()[0]) from None
        pca = stages.named_steps.get("pca")
        variants.append({
            "params": params,
            "n_features": int(pca.n_components_) if pca is not None else int(encoded.shape[1]),
            "pca_components": int(pca.n_components_) if pca is not None else None,
            "pca_variance": float(np.sum(pca.explained_variance_ratio_)) if pca is not None
            else None})

    def common(key: str) -> Any:  # what every choice gives, else None
        values = {repr(v[key]) for v in variants}
        return variants[0][key] if len(values) == 1 else None

    return Fitted(
        n_input_columns=len(columns),
        features=[str(c) for c in encoded.columns],
        n_features=common("n_features"),
        pca_components=common("pca_components"),
        pca_variance=common("pca_variance"),
        warnings=column_warnings(spec, whole),
        dates=starts,
        searched=tuple(variants) if len(variants) > 1 or variants[0]["params"] else (),
    )


def _setting_key(spec: Any, params: dict[str, Any]) -> str:
    """The suite key to name when the scaling or PCA of one combination of
    searched choices fails: the PCA choice when PCA is searched, else preprocess."""
    if "preprocess.pca" in params and params["preprocess.pca"] is not None:
        choices = spec.searched()["preprocess.pca"]
        index = next(i for i, c in enumerate(choices) if same_value(c, params["preprocess.pca"]))
        return f"preprocess.pca.choices[{index}]"
    return "preprocess"


def feature_counts(searched: list[dict[str, Any]]) -> str:
    """The numbers of features the combinations of searched choices give the
    models, as ``validate`` and the report say them: "8 or 13", "3 to 13"."""
    counts = sorted({v["n_features"] for v in searched})
    return " or ".join(map(str, counts)) if len(counts) <= 2 else f"{counts[0]} to {counts[-1]}"


# Fewer rows than this and a column of distinct values says little (an ID warning would be noise).
ID_MIN_ROWS = 20


def column_warnings(spec: Any, frame: Any) -> tuple[str, ...]:
    """Columns that are kept but cannot help a model: constant ones (one value
    in every row) and ID-like ones (text or integers unique per row)."""
    import pandas as pd

    kept = [c for c in frame.columns if c not in spec.drop]
    constant = [c for c in kept if frame[c].nunique(dropna=False) <= 1]
    ids = [c for c in kept if c not in spec.dates  # a date unique per row is no ID
           and len(frame) >= ID_MIN_ROWS and not pd.api.types.is_float_dtype(frame[c])
           and not pd.api.types.is_bool_dtype(frame[c]) and frame[c].notna().all()
           and frame[c].nunique() == len(frame)]
    warnings = []
    if constant:
        warnings.append(f"{_columns(constant)} {'has' if len(constant) == 1 else 'have'} one value "
                        f"in every row, so {'it carries' if len(constant) == 1 else 'they carry'} "
                        "no information; list "
                        f"{'it' if len(constant) == 1 else 'them'} in preprocess.drop")
    if ids:
        warnings.append(f"{_columns(ids)} {'is' if len(ids) == 1 else 'are'} unique per row (an ID?), "
                        f"which cannot generalise; list {'it' if len(ids) == 1 else 'them'} in "
                        "preprocess.drop")
    return tuple(warnings)


def _columns(names: list[Any], most: int = 8) -> str:
    shown = ", ".join(repr(str(c)) for c in names[:most])
    return ("column " if len(names) == 1 else "columns ") + shown + (
        f" and {len(names) - most} more" if len(names) > most else "")
