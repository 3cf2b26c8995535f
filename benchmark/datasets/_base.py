from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

DataKind = Literal["image", "tabular"]


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

    def _options(self) -> dict[str, inspect.Parameter]:
        return {name: p for name, p in inspect.signature(self.load).parameters.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in {"path", "target"}}

    def option_names(self) -> list[str]:
        return list(self._options())

    def required_options(self) -> list[str]:
        return [name for name, p in self._options().items() if p.default is inspect.Parameter.empty]
