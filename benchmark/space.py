"""A suite's ``search:`` mapping <-> Optuna distributions.

Each value is one of
  - ``{choices: [...]}``                        categorical
  - ``{low, high, log?, step?, type?}``         float or int range
  - anything else                               a fixed value, not searched
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

RANGE_KEYS = {"low", "high", "log", "step", "type"}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_finite(value: int | float) -> bool:
    """False for NaN, infinities and integers too large for a float."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def shown(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters: error lines quote values, not structures."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def same_value(a: Any, b: Any) -> bool:
    """Whether two values of a setting are the same one: equal and of one type, so
    that 1 (one PCA component) is not 1.0 (all the variance) and 1 is not true."""
    return type(a) is type(b) and a == b


def is_searched(spec: Any) -> bool:
    return isinstance(spec, dict) and ("choices" in spec or "low" in spec or "high" in spec)


def to_distribution(spec: Any):
    """The Optuna distribution for one searched entry; ValueError names what is wrong."""
    from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                      IntDistribution)

    if "choices" in spec:
        extra = set(spec) - {"choices"}
        if extra:
            raise ValueError(f"a categorical entry takes only 'choices', got also "
                             f"{shown(sorted(map(str, extra)))}")
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            raise ValueError(f"'choices' must be a non-empty list, got {shown(choices)}")
        for choice in choices:
            if not isinstance(choice, str | int | float | bool | None):
                # Optuna stores a choice as null, a boolean, a number or a string only.
                raise ValueError(f"'choices' must be null, true/false, numbers or strings, "
                                 f"got {shown(choice)}")
            if isinstance(choice, float) and not is_finite(choice):
                raise ValueError(f"'choices' must hold finite numbers, got {choice}")
        return CategoricalDistribution(choices)
    unknown = set(spec) - RANGE_KEYS
    if unknown:
        raise ValueError(f"unknown range key(s) {shown(sorted(map(str, unknown)))}; "
                         f"valid: {sorted(RANGE_KEYS)}")
    if "low" not in spec or "high" not in spec:
        raise ValueError(f"a range needs both 'low' and 'high', got {shown(spec)}")
    low, high, step = spec["low"], spec["high"], spec.get("step")
    log = spec.get("log", False)
    for key in ("low", "high", "step"):
        value = spec.get(key)
        if key == "step" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"'{key}' must be a number, got {shown(value)}")
        if not is_finite(value):
            raise ValueError(f"'{key}' must be a finite number, got {shown(value)}")
    if not isinstance(log, bool):
        raise ValueError(f"'log' must be true or false, got {shown(log)}")
    kind = spec.get("type") or ("int" if all(_is_int(v) for v in (low, high, step) if v is not None)
                                else "float")
    if kind not in ("int", "float"):
        raise ValueError(f"'type' must be 'int' or 'float', got {shown(kind)}")
    if kind == "int" and not all(_is_int(v) for v in (low, high) if v is not None):
        raise ValueError(f"an int range needs integer bounds, got (low={shown(low)}, "
                         f"high={shown(high)})")
    # Optuna's own checks give the messages STYLE.md asks for: "`low <= high` must hold ...";
    # what it would only warn about (a range that is no multiple of its step, which it
    # cuts short) is refused too, as validate checks the search run will do.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if kind == "int":
            distribution = IntDistribution(low, high, log=log, step=step or 1)
        else:
            distribution = FloatDistribution(float(low), float(high), log=log,
                                             step=None if step is None else float(step))
    if caught:
        raise ValueError(" ".join(str(caught[0].message).split()))
    return distribution


@dataclass(frozen=True)
class Space:
    """Searched distributions plus fixed values: what one model's trials draw from."""

    distributions: dict[str, Any]
    fixed: dict[str, Any]

    @classmethod
    def from_spec(cls, search: dict[str, Any]) -> Space:
        distributions = {k: to_distribution(v) for k, v in search.items() if is_searched(v)}
        fixed = {k: v for k, v in search.items() if not is_searched(v)}
        return cls(distributions, fixed)

    @classmethod
    def for_study(cls, search: dict[str, Any], preprocess: Any = None) -> Space:
        """One (data set, model) study's space: the model's ``search`` and, as
        categorical parameters named ``preprocess.<step>``, the steps of the data
        set's preprocessing that the suite gives choices (``Preprocess.searched``)."""
        from optuna.distributions import CategoricalDistribution

        space = cls.from_spec(search)
        steps = preprocess.searched() if preprocess is not None else {}
        if not steps:
            return space
        return cls({**space.distributions,
                    **{name: CategoricalDistribution(choices) for name, choices in steps.items()}},
                   space.fixed)

    def to_data(self) -> dict[str, Any]:
        """What a study stores: Optuna's JSON of each searched distribution and
        the fixed values (comparisons read this, not the display text)."""
        from optuna.distributions import distribution_to_json

        return {"distributions": {k: distribution_to_json(d) for k, d in self.distributions.items()},
                "fixed": dict(self.fixed)}

    @classmethod
    def from_data(cls, data: dict[str, Any] | None) -> Space:
        """The space a study stored (``to_data``)."""
        from optuna.distributions import json_to_distribution

        data = data or {}
        return cls({k: json_to_distribution(v) for k, v in data.get("distributions", {}).items()},
                   dict(data.get("fixed", {})))

    def describe(self) -> dict[str, str]:
        """One human-readable line per parameter, for the report."""
        from optuna.distributions import CategoricalDistribution, IntDistribution

        text = {}
        for name, dist in self.distributions.items():
            if isinstance(dist, CategoricalDistribution):
                text[name] = "{" + ", ".join(str(c) for c in dist.choices) + "}"
            else:
                kind = "int" if isinstance(dist, IntDistribution) else "float"
                extras = [kind] + (["log"] if dist.log else []) + (
                    [f"step {dist.step:g}"] if dist.step not in (None, 1) else [])
                text[name] = f"[{dist.low:g}, {dist.high:g}] ({', '.join(extras)})"
        for name, value in self.fixed.items():
            shown = f"{value:g}" if isinstance(value, float) else str(value)
            text[name] = f"{shown} (fixed)"
        return text
