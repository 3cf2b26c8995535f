"""The ``preprocess.dates`` step: a date column as numbers a model can use.

Its own module so that scikit-learn is imported only when a pipeline is built
(``benchmark list`` and ``validate`` of other suites stay quick), while the
transformer stays a module-level class that pickles.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

# What one date column becomes, in this order: "<column>_year", ...
PARTS = ("year", "month", "weekday", "days")
DESCRIBED = "year, month, day of week (0 = Monday) and days since the earliest training date"


class NotDates(ValueError):
    """A date column with values that are not dates (one line, naming the column)."""


def _shown(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def parse(values: Any, column: str) -> pd.Series:
    """``values`` as naive UTC timestamps (NaT where missing). NotDates when the
    column holds numbers, or text that is not a date (naming one such value)."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(series):
        dates = pd.to_datetime(series, utc=True)
    else:
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            raise NotDates(f"column {column!r} holds numbers, not dates (values like "
                           f"{_shown(str(series.dropna().iloc[0]) if series.notna().any() else None)}); "
                           "a number column needs no dates step")
        present = series.notna()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "could not infer format": the fallback says more
            try:  # one format for every row, inferred from the first (fast)
                dates = pd.to_datetime(series, utc=True)
            except (ValueError, TypeError, OverflowError):
                # Formats that vary by row are parsed one by one; what is no date is NaT.
                dates = pd.to_datetime(series, utc=True, format="mixed", errors="coerce")
        bad = present & dates.isna()
        if bad.any():
            raise NotDates(f"column {column!r} has {int(bad.sum())} value(s) that are not dates, "
                           f"e.g. {_shown(str(series[bad].iloc[0]))}; correct them in the file "
                           "(e.g. 2024-03-31) or list the column in preprocess.drop")
    return dates.dt.tz_convert(None)


class DateFeatures(TransformerMixin, BaseEstimator):
    """One date column -> year, month, day of week and days since the earliest
    date of the rows it was fitted on (the training rows: the pipeline is fitted
    on the training split only, and within each cross-validation fold)."""

    def __init__(self, column: str = "date") -> None:
        self.column = column

    def _values(self, X: Any) -> pd.Series:
        if hasattr(X, "iloc"):
            return X.iloc[:, 0].reset_index(drop=True)
        return pd.Series(np.asarray(X, dtype=object).reshape(len(X), -1)[:, 0])

    def fit(self, X: Any, y: Any = None) -> DateFeatures:
        dates = parse(self._values(X), self.column)
        self.start_ = dates.min()
        self.n_features_in_ = 1
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        dates = parse(self._values(X), self.column)
        frame = pd.DataFrame({
            f"{self.column}_year": dates.dt.year,
            f"{self.column}_month": dates.dt.month,
            f"{self.column}_weekday": dates.dt.day_of_week,
            f"{self.column}_days": (dates - self.start_).dt.total_seconds() / 86400.0,
        }).astype("float64")
        if hasattr(X, "index"):
            frame.index = X.index
        return frame

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array([f"{self.column}_{part}" for part in PARTS], dtype=object)
