"""Tabular data: CSV files, and the label encoding every tabular source shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import Field, Strict

from benchmark.datasets._base import Dataset, valid
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
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError) as error:
        raise DataError("path", f"{path}: not a readable CSV ({_first_line(error)})") from None
    except TypeError as error:
        raise DataError("options", f"not an option of pandas.read_csv: {error}") from None
    except (ValueError, LookupError, OverflowError, MemoryError) as error:
        # pandas' other refusals of a file (or of the options for it)
        raise DataError("path", f"{path}: not a readable CSV ({_first_line(error)})") from None
    if frame.empty:
        raise DataError("path", f"{path}: the CSV has no rows")
    return frame


def shown(name: Any, limit: int = 40) -> str:
    """A column name (or value) for a one-line message: control characters
    escaped, long ones shortened."""
    text = str(name)
    text = text if text.isprintable() else repr(text)[1:-1]
    return text if len(text) <= limit else text[:limit - 3] + "..."


def column_list(columns: list[Any], quote: bool = False, noun: str = "columns") -> str:
    """Names for a message, at most 12 of them: the first 8 and the last."""
    names = [repr(shown(c)) if quote else shown(c) for c in columns]
    if len(names) <= 12:
        return ", ".join(names)
    return ", ".join(names[:8]) + f", ..., {names[-1]} ({len(names)} {noun})"


def unknown_column(name: Any, columns: list[Any]) -> str:
    from benchmark.registry import closest_name

    close = closest_name(str(name), [str(c) for c in columns])
    return (f"unknown column {shown(name)!r}" + (f" (did you mean {shown(close)!r}?)" if close else "")
            + f"; valid: {column_list(columns)}")


def _first_line(error: BaseException, limit: int = 200) -> str:
    """An exception's message for a one-line error: first line, bounded length."""
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else type(error).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


# The words YAML 1.1 (PyYAML) reads as true or false when they are not quoted.
YAML_BOOLEANS = {True: ("yes", "on", "true"), False: ("no", "off", "false")}


def _yaml_bool_hint(value: Any, levels: list[Any], key: str = "positive_class: ") -> str:
    """For a true/false the data does not hold: the hint that YAML turned an
    unquoted yes, no, on or off into it, naming the quoted class to write."""
    if not isinstance(value, bool):
        return ""
    spelled = [v for v in levels if str(v).lower() in YAML_BOOLEANS[value]]
    if spelled:
        return (f" (YAML reads an unquoted {shown(spelled[0])} as {str(value).lower()}; "
                f"quote it: {key}{shown(repr(str(spelled[0])), 40)})")
    return (" (YAML reads an unquoted yes, no, on or off as true/false; quote the class, "
            "e.g. 'yes')")


# A numeric target with many distinct values is a quantity (a regression target:
# a price, a duration, total charges), not a set of classes. Refused when it has
# more than max(20, 5% of the rows) distinct values, i.e. a classifier would see
# fewer than 20 rows per class on average and a stratified split fails, or more
# than 20 values some of which are not whole numbers (fractions are measurements,
# not class codes; half-star ratings, 10 levels, still pass). Class codes such as
# 0..9 or 1..50 in a large file pass.
MAX_NUMERIC_CLASSES = 20
MAX_CLASS_SHARE = 0.05


def regression_target_problem(values, name: Any) -> str | None:
    """Why ``values`` (a numeric target column) look like a regression target, or None."""
    import pandas as pd

    series = pd.Series(values).dropna()
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return None
    distinct = int(series.nunique())
    if distinct <= MAX_NUMERIC_CLASSES:
        return None
    fractional = bool((series.astype("float64") % 1 != 0).any())
    if not fractional and distinct <= MAX_CLASS_SHARE * len(series):
        return None
    return (f"column {shown(name)!r} has {distinct} distinct numeric values in {len(series)} rows"
            f"{' (not whole numbers)' if fractional else ''}: it looks like a regression target, "
            "and this tool compares classifiers; choose a column of classes (or bin the values "
            "into a few classes in the file)")


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
    if not levels:
        raise DataError("target", f"{origin} has no rows")
    if len(levels) < 2:
        raise DataError("target", f"{origin} has a single class ({shown(repr(levels[0]), 60)}); "
                                  "a classifier needs at least two")
    if positive_class is not None:
        # YAML may read the class as a number or a string: match on text.
        matches = [v for v in levels if str(v) == str(positive_class)]
        if not matches:
            raise DataError("positive_class", f"{positive_class!r} is not a class of {origin}; "
                                              f"classes: {column_list(levels, noun='classes')}"
                                              + _yaml_bool_hint(positive_class, levels))
        if len(levels) != 2:
            raise DataError("positive_class", f"a positive class needs a binary target, but "
                                              f"{origin} has {len(levels)} classes")
        levels = [v for v in levels if v != matches[0]] + matches
    codes = {value: index for index, value in enumerate(levels)}
    return series.map(codes).to_numpy(dtype="int64"), [str(v) for v in levels]


def load_csv(*, path: str, target: str,
             sep: valid(Annotated[str, Strict(), Field(min_length=1)],
                        "a non-empty string: one character such as ',', ';' or '\\t' "
                        "(longer: a regular expression)") = ",",
             encoding: valid(Annotated[str, Strict(), Field(min_length=1)],
                             "a Python codec name, e.g. utf-8, latin-1 or cp1252") = "utf-8") -> Dataset:
    import codecs

    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataError("options.encoding", f"{encoding!r} is not a valid encoding; valid: a "
                                            "Python codec name, e.g. utf-8, latin-1 or cp1252") from None
    frame = read_csv(path, sep=sep, encoding=encoding)
    if target not in frame.columns:
        raise DataError("target", f"{path}: " + unknown_column(target, list(frame.columns)))
    problem = regression_target_problem(frame[target], target)
    if problem:
        raise DataError("target", problem)
    y, class_names = encode_target(frame[target], origin=path)
    return Dataset(name=Path(path).stem, kind="tabular", x=frame.drop(columns=[target]), y=y,
                   class_names=class_names,
                   description=f"{Path(path).name}, {frame.shape[1] - 1} columns, target {target!r}")
