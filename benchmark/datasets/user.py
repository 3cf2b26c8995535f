"""User data by import path: ``source: python:mypackage.data:load``.

The function is called with the entry's ``options:`` as keyword arguments
(and ``path=`` when it has a ``path`` parameter without a default: the
entry's ``path:``, made absolute) and returns either

* ``(images, labels)``: numpy arrays, images N x H x W or N x H x W x C of
  numbers (uint8 pixels are divided by 255, other types are used as float32
  unchanged; a missing channel axis is added), labels of length N (integers
  or strings: each distinct value is a class, in sorted order); or
* ``(frame, target)``: a pandas DataFrame and the name of its target column
  (the other columns are the features, preprocessed as a CSV's are).

Splits, preprocessing and the report then work as for the built-in sources.
The suite's validation calls the function (it must know whether the data
are images or a table); a process keeps the last results, so a run calls it
once per process.
"""

from __future__ import annotations

import inspect
import json
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.datasets._base import Dataset, Source
from benchmark.errors import DataError
from benchmark.models.user import UserCodeError, _error_text, _shown_kind, parse_reference, resolve

CONTRACT = ("(images, labels) as numpy arrays (images N x H x W [x C], labels N) or "
            "(DataFrame, name of its target column)")
# The last datasets each process loaded, by (name, arguments): validation and
# loading call the function once.
_loaded: OrderedDict[tuple[str, str], Dataset] = OrderedDict()
_KEEP = 4


def _function(name: str) -> Any:
    _, function = resolve(name)
    if inspect.isclass(function) or not callable(function):
        module, attribute = parse_reference(name)
        raise UserCodeError(f"{name}: {module}.{attribute} is {_shown_kind(function)}, not a "
                            f"function that returns {CONTRACT}")
    return function


def _parameters(function: Any) -> dict[str, inspect.Parameter]:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return {}
    return {n: p for n, p in parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def check_source(name: str) -> None:
    """UserCodeError unless ``name`` imports and names a function."""
    _function(name)


def source_for(name: str) -> Source:
    """The registered Source of ``python:MODULE:NAME``, without loading its data
    (its kind is the last loaded one's, image until it is loaded)."""
    from benchmark.datasets import sources

    if name in sources:
        return sources.get(name)
    return _register(name, "image")


def _register(name: str, kind: str) -> Source:
    from benchmark.datasets import sources

    function = _function(name)
    parameters = _parameters(function)
    takes_path = "path" in parameters and parameters["path"].default is inspect.Parameter.empty
    options = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=p.default)
               for n, p in parameters.items() if n not in {"path", "target"}]
    if takes_path:
        options.insert(0, inspect.Parameter("path", inspect.Parameter.KEYWORD_ONLY))

    def load(**arguments: Any) -> Dataset:
        return load_dataset(name, arguments)

    load.__signature__ = inspect.Signature(options)  # type: ignore[attr-defined]
    load.__annotations__ = {}  # the function checks its own options
    module, attribute = parse_reference(name)
    doc = (inspect.getdoc(function) or "").split("\n\n")[0]
    source = Source(name, kind, load, " ".join(doc.split()) or f"user data {module}.{attribute}",
                    takes_path=takes_path)
    sources._entries[name] = source  # registered again when the module is read anew
    return source


def _key(name: str, arguments: dict[str, Any]) -> tuple[str, str]:
    arguments = dict(arguments)
    if arguments.get("path") is not None:
        arguments["path"] = str(Path(arguments["path"]).resolve())
    return name, json.dumps(arguments, sort_keys=True, default=repr)


def load_dataset(name: str, arguments: dict[str, Any]) -> Dataset:
    """The function's data as a Dataset; UserCodeError (one line) when it
    raises or returns anything but the contract."""
    key = _key(name, arguments)
    if key in _loaded:
        _loaded.move_to_end(key)
        return _loaded[key]
    function = _function(name)
    try:
        result = function(**arguments)
    except Exception as error:  # noqa: BLE001 - the user's function, whatever it raises
        raise UserCodeError(f"{name} raised {_error_text(error)}") from None
    module, attribute = parse_reference(name)
    doc = (inspect.getdoc(function) or "").split("\n\n")[0]
    dataset = to_dataset(result, name, f"{module}.{attribute}",
                         " ".join(doc.split()) or f"user data {module}.{attribute}")
    _loaded[key] = dataset
    while len(_loaded) > _KEEP:
        _loaded.popitem(last=False)
    return dataset


def _returned(result: Any) -> str:
    if isinstance(result, tuple):
        return "a tuple of " + ", ".join(_part(r) for r in result)
    return _part(result)


def _part(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return _shown_kind(value)


def to_dataset(result: Any, name: str, short: str, description: str) -> Dataset:
    """The contract (module docstring), checked."""
    import pandas as pd

    from benchmark.datasets._tabular import encode_target, regression_target_problem

    wrong = f"{name} returned {_returned(result)}; it must return {CONTRACT}"
    if not isinstance(result, tuple) or len(result) != 2:
        raise UserCodeError(wrong)
    first, second = result
    if isinstance(first, pd.DataFrame):
        if not isinstance(second, str):
            raise UserCodeError(f"{name} returned a DataFrame and {_part(second)}; the second "
                                f"value is the name of the target column")
        if second not in first.columns:
            from benchmark.datasets._tabular import unknown_column

            raise UserCodeError(f"{name} returned a DataFrame without its target column: "
                                + unknown_column(second, [str(c) for c in first.columns]))
        problem = regression_target_problem(first[second], second)
        if problem:
            raise UserCodeError(f"{name}: {problem}")
        try:
            y, class_names = encode_target(first[second], origin=name)
        except DataError as error:
            raise UserCodeError(f"{name}: {error.message}") from None
        return Dataset(name=short, kind="tabular", x=first.drop(columns=[second]), y=y,
                       class_names=class_names, description=description)
    if not isinstance(first, np.ndarray) or not hasattr(second, "__len__") \
            or isinstance(second, str):
        raise UserCodeError(wrong)
    images, labels = first, np.asarray(second)
    if images.ndim not in (3, 4):
        raise UserCodeError(f"{name} returned images of shape {images.shape}; images are "
                            f"N x H x W or N x H x W x C (a table: return (DataFrame, target))")
    if images.ndim == 4 and not 1 <= images.shape[3] <= 4:
        raise UserCodeError(f"{name} returned images of shape {images.shape}: "
                            f"{images.shape[3]} channels; images are N x H x W x C, C 1 to 4")
    if not (np.issubdtype(images.dtype, np.number) or images.dtype == bool):
        raise UserCodeError(f"{name} returned images of type {images.dtype}; images are numbers")
    if labels.ndim != 1 or len(labels) != len(images):
        raise UserCodeError(f"{name} returned {len(images)} images but labels of shape "
                            f"{labels.shape}; labels are N values, one per image")
    x = images / 255.0 if images.dtype == np.uint8 else images
    x = np.asarray(x, dtype="float32")
    if not np.isfinite(x).all():
        raise UserCodeError(f"{name} returned images with NaN or infinite values")
    if x.ndim == 3:
        x = x[..., np.newaxis]
    if labels.dtype.kind == "f" and np.isnan(labels).any():
        raise UserCodeError(f"{name} returned labels with NaN values")
    levels, y = np.unique(labels, return_inverse=True)
    if len(levels) < 2:
        raise UserCodeError(f"{name} returned a single class ({levels[0]!r}); a classifier "
                            f"needs at least two")
    return Dataset(name=short, kind="image", x=x, y=np.asarray(y, dtype="int64").reshape(-1),
                   class_names=[str(level) for level in levels.tolist()],
                   description=description)


def prepare(source: str, path: str | None, options: dict[str, Any]) -> Source:
    """The Source of a suite's ``python:`` entry with its data loaded (its kind,
    image or tabular, is what the function returns). With a key missing or
    unknown nothing is loaded: the suite's checks name that key."""
    spec = source_for(source)
    accepted = spec.option_names()
    if (spec.takes_path and path is None) or any(o not in accepted for o in options) or any(
            o not in options for o in spec.required_options() if o != "path"):
        return spec
    arguments = dict(options)
    if spec.takes_path:
        arguments["path"] = str(Path(path).resolve())
    dataset = load_dataset(source, arguments)
    if dataset.kind != spec.kind:
        spec = _register(source, dataset.kind)
    return spec


__all__ = ["CONTRACT", "check_source", "load_dataset", "prepare", "source_for", "to_dataset"]
