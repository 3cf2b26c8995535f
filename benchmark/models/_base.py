from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Family = Literal["keras", "sklearn"]


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: ``build(input_shape, n_classes, **params)``.

    Builders import their framework inside the function, so registering and
    listing models costs nothing (``--help`` and ``validate`` stay instant).
    """

    name: str
    family: Family
    build: Callable[..., Any]
    input_kind: Literal["image", "tabular", "any"]
    description: str
    reference: str = ""
    # The knobs and their defaults, when they are not the builder's keyword-only
    # arguments (scikit-learn estimators: their get_params()).
    parameters: Callable[[], dict[str, Any]] | None = None
    # Image models: the smallest side (after the input stage's resizing) that
    # leaves every layer a positive output size.
    min_image_size: int = 1

    def architecture_defaults(self) -> dict[str, Any]:
        """The model's own knobs and their defaults."""
        if self.parameters is not None:
            return self.parameters()
        return {
            name: p.default
            for name, p in inspect.signature(self.build).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        }
