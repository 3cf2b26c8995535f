from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, Strict

from benchmark.errors import DataError

DataKind = Literal["image", "tabular"]

# Option types for the loaders' signatures: each source checks its ``options:``
# against these annotations (``Source.check_options``) before it loads anything,
# so that a wrong value is one line naming the option, not a traceback. YAML
# gives integers as ints, so they are strict (no "8" or true for 8).
PositiveInt = Annotated[int, Strict(), Field(gt=0)]
PositiveNumber = Annotated[float, Field(gt=0, allow_inf_nan=False)]
BadRows = Literal["refuse", "drop"]


def valid(annotation: Any, description: str) -> Any:
    """``annotation``, with the words that say what is valid in the one-line error."""
    return Annotated[annotation, Field(description=description)]


@dataclass(frozen=True)
class Dataset:
    """Features and integer labels, with the names of the classes. Tabular
    features are a pandas DataFrame (named, possibly text, columns that the
    suite's preprocessing turns into numbers); images are an array."""

    name: str
    kind: DataKind
    x: Any
    y: np.ndarray
    class_names: list[str]
    description: str = ""
    # Per sample, a split fixed by the data itself (separate train / validation /
    # test folders or files): "train", "validation" or "test". None: split by fractions.
    parts: np.ndarray | None = None
    # Problems the loader worked around (skipped files), shown to the user.
    warnings: tuple[str, ...] = ()
    # Rows (samples) the loader dropped, by reason ("cut off", "missing values"...)
    # -> count, with ``options.bad_rows: drop``; the report's data section says so.
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x.shape[1:])


@dataclass(frozen=True)
class Source:
    """A registered way of loading data: ``load(**arguments) -> Dataset``.

    A source that ``takes_path`` gets the entry's ``path=``, one that
    ``takes_target`` its ``target=``; its other keyword-only parameters are the
    ``options:`` a suite may set.
    """

    name: str
    kind: DataKind
    load: Callable[..., Dataset]
    description: str
    takes_path: bool = False
    takes_target: bool = False
    # False for data that is downloaded on first use (keras.datasets).
    ships: bool = True

    def __post_init__(self) -> None:
        # Every call checks its options first (the wrapper keeps the signature).
        loader = self.load

        @wraps(loader)
        def load(**arguments: Any) -> Dataset:
            return loader(**self.check_options(arguments))

        object.__setattr__(self, "load", load)

    def check_options(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """``arguments`` with each option checked against the type its loader
        declares (and converted, e.g. 255 to 255.0); a DataError at
        ``options.<name>`` naming the value and what is valid otherwise."""
        from pydantic import TypeAdapter, ValidationError

        hints = _option_hints(self.load)
        checked = dict(arguments)
        for name, value in arguments.items():
            if name in {"path", "target"} or name not in hints:
                continue
            try:
                checked[name] = TypeAdapter(hints[name]).validate_python(value)
            except ValidationError:
                shown = repr(value)
                shown = shown if len(shown) <= 60 else shown[:57] + "..."
                raise DataError(f"options.{name}", f"{shown} is not a valid {name}; valid: "
                                                   f"{_valid_text(hints[name])}") from None
        return checked

    def _options(self) -> dict[str, inspect.Parameter]:
        return {name: p for name, p in inspect.signature(self.load).parameters.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in {"path", "target"}}

    def option_names(self) -> list[str]:
        return list(self._options())

    def required_options(self) -> list[str]:
        return [name for name, p in self._options().items() if p.default is inspect.Parameter.empty]


def _option_hints(load: Callable[..., Any]) -> dict[str, Any]:
    import typing

    function = inspect.unwrap(load)
    function = getattr(function, "func", function)  # functools.partial
    return typing.get_type_hints(function, include_extras=True)


def _valid_text(annotation: Any) -> str:
    """The description given with ``valid()``, else the type in words."""
    import typing

    for meta in getattr(annotation, "__metadata__", ()):
        if getattr(meta, "description", None):
            return meta.description
    if typing.get_origin(annotation) is Annotated:
        return _valid_text(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) is Literal:
        return " or ".join(repr(a) for a in typing.get_args(annotation))
    args = typing.get_args(annotation)
    if args:
        return " or ".join(_valid_text(a) for a in args)
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string",
            type(None): "null", list: "a list"}.get(annotation, getattr(annotation, "__name__",
                                                                       str(annotation)))
