from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

DataKind = Literal["image", "tabular"]


@dataclass(frozen=True)
class Dataset:
    """Features and integer labels, with the names of the classes."""

    name: str
    kind: DataKind
    x: np.ndarray
    y: np.ndarray
    class_names: list[str]
    description: str = ""

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x.shape[1:])


@dataclass(frozen=True)
class Source:
    """A registered way of loading data: ``load(**options) -> Dataset``."""

    name: str
    kind: DataKind
    load: Callable[..., Dataset]
    description: str
    options: dict[str, Any] = field(default_factory=dict)
