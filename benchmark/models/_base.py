from __future__ import annotations

import inspect
import typing
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
    # Image models: ``fits(side, **params)`` says whether every layer keeps a
    # positive output size for an image of ``side`` pixels (after the input
    # stage's resizing) with the architecture's knobs ``params``.
    fits: Callable[..., bool] | None = None

    def architecture_defaults(self) -> dict[str, Any]:
        """The model's own knobs and their defaults."""
        if self.parameters is not None:
            return self.parameters()
        return {
            name: p.default
            for name, p in inspect.signature(self.build).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        }

    def parameter_types(self) -> dict[str, Any]:
        """The annotated type of each of the builder's knobs (Keras builders; the
        scikit-learn estimators check their own parameters when they fit)."""
        if self.parameters is not None:
            return {}
        hints = typing.get_type_hints(self.build)
        return {name: hints[name] for name in self.architecture_defaults() if name in hints}

    def parameter_problem(self, name: str, value: Any) -> str | None:
        """The framework's own complaint about one knob's value, where it has a
        check of its own (scikit-learn estimators), else None."""
        check = getattr(self.build, "parameter_problem", None)
        return check(name, value) if check is not None else None

    def min_image_size(self, params: dict[str, Any]) -> int | None:
        """The smallest image side this architecture accepts with the knobs
        ``params`` (defaults filled in), or None when it takes any size."""
        if self.fits is None:
            return None
        knobs = {**self.architecture_defaults(), **params}
        return next((side for side in range(1, 1025) if self.fits(side, **knobs)), None)
