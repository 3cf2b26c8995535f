"""Tabular data: CSV files, and the label encoding every tabular source shares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmark.datasets._base import Dataset
from benchmark.errors import DataError


def read_csv(path: str, **options: Any):
    """The CSV as a DataFrame; one-line errors for a missing or unreadable file."""
    import pandas as pd

    file = Path(path)
    if not file.is_file():
        where = "is a directory, not a file" if file.is_dir() else "no such file"
        raise DataError("path", f"{path}: {where}")
    try:
        frame = pd.read_csv(file, **options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError("path", f"{path}: not a readable CSV ({str(error).splitlines()[0]})") from None
    except TypeError as error:
        raise DataError("options", f"not an option of pandas.read_csv: {error}") from None
    if frame.empty:
        raise DataError("path", f"{path}: the CSV has no rows")
    return frame


def encode_target(values, *, origin: str, positive_class: Any = None) -> tuple[np.ndarray, list[str]]:
    """Integer labels 0..k-1 and the class names. With ``positive_class`` (two
    classes only) that class becomes label 1, the one that F1, precision,
    recall and the ROC curve score."""
    import pandas as pd

    series = pd.Series(values)
    missing = int(series.isna().sum())
    if missing:
        raise DataError("target", f"{missing} row(s) of {origin} have no target value; "
                                  "drop them from the file first")
    levels = sorted(series.unique().tolist(), key=lambda v: (str(type(v)), v))
    if len(levels) < 2:
        raise DataError("target", f"{origin} has a single class ({levels[0]!r}); "
                                  "a classifier needs at least two")
    if positive_class is not None:
        # YAML may read the class as a number or a string: match on text.
        matches = [v for v in levels if str(v) == str(positive_class)]
        if not matches:
            raise DataError("positive_class", f"{positive_class!r} is not a class of {origin}; "
                                              f"classes: {', '.join(map(str, levels))}")
        if len(levels) != 2:
            raise DataError("positive_class", f"a positive class needs a binary target, but "
                                              f"{origin} has {len(levels)} classes")
        levels = [v for v in levels if v != matches[0]] + matches
    codes = {value: index for index, value in enumerate(levels)}
    return series.map(codes).to_numpy(dtype="int64"), [str(v) for v in levels]


def load_csv(*, path: str, target: str, sep: str = ",", encoding: str = "utf-8") -> Dataset:
    frame = read_csv(path, sep=sep, encoding=encoding)
    if target not in frame.columns:
        from benchmark.registry import unknown_name_message

        raise DataError("target", f"{path}: " + unknown_name_message("column", target,
                                                                     [str(c) for c in frame.columns]))
    y, class_names = encode_target(frame[target], origin=path)
    return Dataset(name=Path(path).stem, kind="tabular", x=frame.drop(columns=[target]), y=y,
                   class_names=class_names,
                   description=f"{Path(path).name}, {frame.shape[1] - 1} columns, target {target!r}")
