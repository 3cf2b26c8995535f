"""A suite's ``search:`` mapping <-> Optuna distributions.

Each value is one of
  - ``{choices: [...]}``                        categorical
  - ``{low, high, log?, step?, type?}``         float or int range
  - anything else                               a fixed value, not searched
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RANGE_KEYS = {"low", "high", "log", "step", "type"}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_searched(spec: Any) -> bool:
    return isinstance(spec, dict) and ("choices" in spec or "low" in spec or "high" in spec)


def to_distribution(spec: Any):
    """The Optuna distribution for one searched entry; ValueError names what is wrong."""
    from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                      IntDistribution)

    if "choices" in spec:
        extra = set(spec) - {"choices"}
        if extra:
            raise ValueError(f"a categorical entry takes only 'choices', got also {sorted(extra)}")
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            raise ValueError(f"'choices' must be a non-empty list, got {choices!r}")
        return CategoricalDistribution(choices)
    unknown = set(spec) - RANGE_KEYS
    if unknown:
        raise ValueError(f"unknown range key(s) {sorted(unknown)}; valid: {sorted(RANGE_KEYS)}")
    if "low" not in spec or "high" not in spec:
        raise ValueError(f"a range needs both 'low' and 'high', got {spec!r}")
    low, high, step = spec["low"], spec["high"], spec.get("step")
    log = spec.get("log", False)
    for key in ("low", "high", "step"):
        value = spec.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"'{key}' must be a number, got {value!r}")
    kind = spec.get("type") or ("int" if all(_is_int(v) for v in (low, high, step) if v is not None)
                                else "float")
    # Optuna's own checks give the messages STYLE.md asks for: "`low <= high` must hold ...".
    if kind == "int":
        if not all(_is_int(v) for v in (low, high) if v is not None):
            raise ValueError(f"an int range needs integer bounds, got (low={low}, high={high})")
        return IntDistribution(low, high, log=log, step=step or 1)
    if kind == "float":
        return FloatDistribution(float(low), float(high), log=log,
                                 step=None if step is None else float(step))
    raise ValueError(f"'type' must be 'int' or 'float', got {kind!r}")


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
