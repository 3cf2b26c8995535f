"""Suite schema and loading. ``load()`` turns a YAML file into an immutable,
validated Suite, or raises UserError with one line: file, key path, what is
wrong, what would be valid."""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError,
                      field_validator, model_serializer, model_validator)

from benchmark.errors import UserError
from benchmark.registry import closest_name, unknown_name_message
from benchmark.space import is_finite, same_value, shown


class PathError(ValueError):
    """A validation error deeper than the validator that raised it."""

    def __init__(self, subpath: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.subpath = subpath
        self.message = message


def _left_out(data: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """A serialized section without the keys that are at the given defaults: keys
    added after the first release are left out unset, so that suites written
    before them keep their hash (nightly baselines)."""
    for key, default in defaults.items():
        if key in data and data[key] == default:
            del data[key]
    return data


def _unknown(kind: str, name: Any, valid: list[str]) -> str:
    """``unknown_name_message`` with a long name cut: error lines stay short."""
    text = name if isinstance(name, str) else str(name)
    return unknown_name_message(kind, text if len(text) <= 60 else text[:57] + "...", valid)


# Names that become file and folder names (reports/<suite>/, figures/roc-<data>-<model>.svg).
NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
NAME_RULE = ("letters, digits, '_', '-' and '.' (not first), at most 64 characters, "
             "as it names files and folders")


def _path_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(f"{shown(name, 40)} is not a valid name; use {NAME_RULE}")
    return name


PathName = Annotated[str, AfterValidator(_path_name)]

# Seeds count up from the suite's (one per trial, per repeat + 10,000): a seed
# below 2**31 keeps them all within what NumPy and scikit-learn accept (< 2**32).
MAX_SEED = 2**31 - 1


def _seed(value: int | None) -> int | None:
    if value is not None and not 0 <= value <= MAX_SEED:
        raise ValueError(f"a seed is an integer from 0 to {MAX_SEED}, got {shown(value)}")
    return value


class _Strict(BaseModel):
    # strict: no coercion (n_trials: true or "1" is not 1); no NaN or infinity in any number.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            valid = list(cls.model_fields)
            for key in data:
                if key not in valid:
                    raise PathError((str(key),), _unknown("key", key, valid))
        return data


# ---------------------------------------------------------------- registries

SAMPLERS = {"tpe": "TPESampler", "random": "RandomSampler", "cmaes": "CmaEsSampler",
            "qmc": "QMCSampler", "gp": "GPSampler", "nsga2": "NSGAIISampler"}
PRUNERS = {"median": "MedianPruner", "percentile": "PercentilePruner",
           "successive_halving": "SuccessiveHalvingPruner", "hyperband": "HyperbandPruner",
           "threshold": "ThresholdPruner", "none": "NopPruner"}


def _optuna_class(module: str, table: dict[str, str], kind: str, name: str):
    import optuna

    if name not in table:
        raise ValueError(_unknown(kind, name, list(table)))
    return getattr(getattr(optuna, module), table[name])


class _Component(_Strict):
    """An Optuna sampler or pruner by name, with keyword options."""

    name: str
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data

    def _check(self, module: str, table: dict[str, str], kind: str) -> None:
        cls = _optuna_class(module, table, kind, self.name)
        accepted = [p for p in inspect.signature(cls).parameters if p not in {"self", "seed"}]
        for option in self.options:
            if option not in accepted:
                raise PathError(("options", option), _unknown(
                    f"option of {kind} {self.name!r}:", option, accepted))
        # Optuna checks some options when it builds the object and others only when
        # it first samples or prunes: build it and try it on a throwaway study, so
        # that run never fails on them.
        key = (kind, self.name, json.dumps(self.options, sort_keys=True, default=repr))
        if key not in _TRIED:
            try:
                _try_out(kind, self.instantiate(module, table, **({"seed": 0} if kind == "sampler"
                                                                 else {})))
                _TRIED[key] = None
            except Exception as error:
                _TRIED[key] = _error_text(error)
        if _TRIED[key] is not None:
            options = f" with options {shown(self.options)}" if self.options else ""
            raise ValueError(f"{kind} {self.name!r}{options} fails: {_TRIED[key]}")

    def instantiate(self, module: str, table: dict[str, str], **extra: Any):
        return _optuna_class(module, table, "", self.name)(**self.options, **extra)


# What _try_out said of each (kind, name, options) tried: None when it worked.
_TRIED: dict[tuple[str, str, str], str | None] = {}


def _error_text(error: BaseException) -> str:
    """An exception as the tail of a one-line message."""
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, ImportError):
        text += " (a package it needs is not installed)"
    return text if len(text) <= 160 else text[:157] + "..."


def _try_out(kind: str, component: Any) -> None:
    """Two trials of an in-memory study with ``component`` as its sampler or pruner."""
    import warnings

    import optuna
    from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                      IntDistribution)

    space = {"x": FloatDistribution(0, 1), "n": IntDistribution(1, 4),
             "c": CategoricalDistribution(["a", "b"])}
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = optuna.create_study(**{kind: component})
            for number in range(2):
                trial = study.ask(space)
                for step in range(2):
                    trial.report(float(number + step), step)
                    trial.should_prune()
                study.tell(trial, float(number))
    finally:
        optuna.logging.set_verbosity(verbosity)


class Sampler(_Component):
    name: str = "tpe"

    @model_validator(mode="after")
    def _valid(self) -> Sampler:
        self._check("samplers", SAMPLERS, "sampler")
        return self

    def create(self, seed: int):
        return self.instantiate("samplers", SAMPLERS, seed=seed)


class Pruner(_Component):
    name: str = "median"

    @model_validator(mode="after")
    def _valid(self) -> Pruner:
        self._check("pruners", PRUNERS, "pruner")
        return self

    def create(self):
        return self.instantiate("pruners", PRUNERS)


# ---------------------------------------------------------------- sections

def _fraction(value: float) -> float:
    if not 0 < value < 1:
        raise ValueError(f"a fraction must be between 0 and 1, got {value}")
    return value


class Split(_Strict):
    train: Annotated[float, AfterValidator(_fraction)] = 0.7
    validation: Annotated[float, AfterValidator(_fraction)] = 0.15
    test: Annotated[float, AfterValidator(_fraction)] = 0.15
    stratify: bool = True
    seed: Annotated[int | None, AfterValidator(_seed)] = None
    # Exact duplicates kept in one split only (so no test sample is also a training
    # sample). Unset (null): true for images, false for tabular data.
    dedupe: bool | None = None

    @model_serializer(mode="wrap")
    def _dedupe_only_when_set(self, handler: Any) -> dict[str, Any]:
        return _left_out(handler(self), {"dedupe": None})

    @model_validator(mode="after")
    def _sums_to_one(self) -> Split:
        total = self.train + self.validation + self.test
        if abs(total - 1) > 1e-6:
            raise ValueError(
                f"train + validation + test must sum to 1, got {self.train} + "
                f"{self.validation} + {self.test} = {total:g}")
        return self


class FillStrategy(_Strict):
    strategy: Literal["mean", "median", "most_frequent"]


class Binarize(_Strict):
    """One indicator column: 1 where the column equals ``level``."""

    level: str | int | float | bool
    name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_scalar(cls, data: Any) -> Any:
        return data if isinstance(data, dict) else {"level": data}


def _variance_or_count(value: float | int | None) -> float | int | None:
    if value is None:
        return value
    if isinstance(value, float) and not 0 < value < 1:
        raise ValueError(f"pca is a fraction of variance in (0, 1) or a number of components, got {value}")
    if isinstance(value, int) and value < 1:
        raise ValueError(f"pca needs at least 1 component, got {value}")
    return value


# Preprocessing steps that may be searched: ``pca: {choices: [null, 0.9]}`` makes
# ``preprocess.pca`` a categorical parameter of every study of the data set.
SEARCHABLE_STEPS = ("scale", "pca")
PREPROCESS_PREFIX = "preprocess."
ScaleValue = Literal["standard", "minmax"] | None
PcaValue = Annotated[int | float | None, AfterValidator(_variance_or_count)]
_STEP_TYPES = {"scale": ScaleValue, "pca": PcaValue}
_STEP_VALID = {"scale": "'standard', 'minmax' or null",
               "pca": "a fraction of variance in (0, 1), a number of components (an integer "
                      ">= 1) or null"}


class Choices(_Strict):
    """A preprocessing step the search chooses: each choice is valid as the plain key is."""

    choices: Annotated[list[Any], Field(min_length=1)]


def _shown_choice(choice: Any) -> str:
    return "null" if choice is None else shown(choice)  # as the suite writes it


def _step_choices(key: str, value: Any) -> Any:
    """``{choices: [...]}`` of a searchable step, each choice checked as the plain
    value would be; PathError (one line, with the choice's index) otherwise."""
    if not isinstance(value, dict):
        return value
    for name in value:
        if name != "choices":
            raise PathError((str(name),), _unknown("key", name, ["choices"]) + (
                f" (preprocess.{key} is searched with choices only, not a range)"
                if name in {"low", "high", "log", "step", "type"} else ""))
    if "choices" not in value:
        raise PathError((), f"a searched step is {{choices: [...]}}, got {shown(value)}")
    choices = value["choices"]
    if not isinstance(choices, list) or not choices:
        raise PathError(("choices",), f"'choices' must be a non-empty list, got {shown(choices)}")
    seen: list[Any] = []
    for index, choice in enumerate(choices):
        try:
            _adapter(_STEP_TYPES[key]).validate_python(choice, strict=True)
        except ValidationError as error:
            detail = error.errors(include_url=False)[0]
            message = (re.sub(r"^Value error, ", "", detail["msg"])
                       if detail["type"] == "value_error" else
                       f"{_shown_choice(choice)} is not a valid {key}; valid: {_STEP_VALID[key]}")
            if isinstance(choice, str) and key == "scale":
                close = closest_name(choice, ["standard", "minmax"])
                message += f" (did you mean {close!r}?)" if close else ""
            raise PathError(("choices", index), message) from None
        if any(same_value(choice, other) for other in seen):
            raise PathError(("choices", index), f"{_shown_choice(choice)} is listed twice; list "
                                                "each choice once")
        seen.append(choice)
    return value


class Preprocess(_Strict):
    """Declared preprocessing of a tabular data set (applied in this order). ``scale``
    and ``pca`` may be ``{choices: [...]}``: searched with the model's settings."""

    drop: list[str] = Field(default_factory=list)
    fill: dict[str, FillStrategy | bool | int | float | str] = Field(default_factory=dict)
    ordinal: dict[str, Annotated[list[str | int | float], Field(min_length=1)]] = Field(default_factory=dict)
    binarize: dict[str, Binarize] = Field(default_factory=dict)
    one_hot: list[str] = Field(default_factory=list)
    # Date columns -> year, month, day of week, days since the earliest training date.
    dates: list[str] = Field(default_factory=list)
    scale: ScaleValue | Choices = None
    pca: PcaValue | Choices = None

    @field_validator("scale", "pca", mode="before")
    @classmethod
    def _searched_step(cls, value: Any, info: Any) -> Any:
        return _step_choices(info.field_name, value)

    @model_serializer(mode="wrap")
    def _dates_only_when_set(self, handler: Any) -> dict[str, Any]:
        return _left_out(handler(self), {"dates": []})

    @model_validator(mode="after")
    def _one_encoding_per_column(self) -> Preprocess:
        owner: dict[str, str] = {}
        for key in ("drop", "ordinal", "binarize", "one_hot", "dates"):
            for column in getattr(self, key):
                if column in owner:
                    raise PathError((key,), f"column {column!r} is in both {owner[column]} and {key}; "
                                            "give each column one treatment")
                owner[column] = key
        for column in self.fill:
            if owner.get(column) == "drop":
                raise PathError(("fill", column), f"column {column!r} is dropped, so it is never filled")
        return self

    def searched(self) -> dict[str, list[Any]]:
        """The steps the search chooses, by parameter name: ``{"preprocess.pca": [None, 0.9]}``."""
        return {PREPROCESS_PREFIX + key: list(getattr(self, key).choices)
                for key in SEARCHABLE_STEPS if isinstance(getattr(self, key), Choices)}

    def chosen(self, params: dict[str, Any]) -> tuple[Preprocess, dict[str, Any]]:
        """This preprocessing with the ``preprocess.*`` values of ``params`` applied
        (what a trial or refit drew), and the rest of ``params``: the model's own."""
        steps = {k.removeprefix(PREPROCESS_PREFIX): v for k, v in params.items()
                 if k.startswith(PREPROCESS_PREFIX)}
        unknown = [k for k in steps if k not in SEARCHABLE_STEPS]
        if unknown:
            raise ValueError(f"preprocess.{unknown[0]} is not a searchable step; "
                             f"valid: {', '.join(SEARCHABLE_STEPS)}")
        rest = {k: v for k, v in params.items() if not k.startswith(PREPROCESS_PREFIX)}
        return (self.model_copy(update=steps) if steps else self), rest

    def settings(self) -> list[tuple[dict[str, Any], Preprocess]]:
        """Every combination of the searched choices, as (the ``preprocess.*``
        parameters, the preprocessing they give); one ``({}, self)`` when nothing
        is searched."""
        from itertools import product

        searched = self.searched()
        combinations = [dict(zip(searched, values)) for values in product(*searched.values())]
        return [(params, self.chosen(params)[0]) for params in combinations]


class DatasetEntry(_Strict):
    source: str
    path: str | None = None
    target: str | None = None
    positive_class: str | int | bool | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    preprocess: Preprocess | None = None
    split: Split = Field(default_factory=Split)

    @field_validator("source")
    @classmethod
    def _known(cls, source: str) -> str:
        from benchmark.datasets import sources

        if source.startswith("python:"):  # user code: README, "User code"
            from benchmark.datasets.user import check_source

            check_source(source)  # UserCodeError, a ValueError: one line
            return source
        if source not in sources:
            raise ValueError(_unknown("dataset source", source, sources.names()))
        return source

    @model_validator(mode="after")
    def _fits_source(self) -> DatasetEntry:
        if self.source.startswith("python:"):
            from benchmark.datasets.user import prepare
            from benchmark.models.user import UserCodeError

            try:  # the function is called: its data say image or tabular
                prepare(self.source, self.path, self.options)
            except UserCodeError as error:
                raise PathError(("source",), str(error)) from None
        source = self.source_spec
        for key, needed in (("path", source.takes_path), ("target", source.takes_target)):
            # A missing one is reported by Suite, which knows the entry's name for the hint.
            if getattr(self, key) is not None and not needed:
                raise PathError((key,), f"source {self.source!r} takes no {key}")
        accepted = source.option_names()
        for option in source.required_options():
            if option not in self.options:
                raise PathError(("options",), f"source {self.source!r} needs options.{option}")
        for option in self.options:
            if option not in accepted:
                raise PathError(("options", option), _unknown(
                    f"option of source {self.source!r}:", option, accepted))
        if self.preprocess is not None and source.kind != "tabular":
            raise PathError(("preprocess",), f"preprocess applies to tabular data; "
                                             f"{self.source!r} is {source.kind}")
        return self

    @property
    def source_spec(self):
        from benchmark.datasets import sources

        return sources.get(self.source)

    @property
    def kind(self) -> str:
        return self.source_spec.kind


def _non_finite(value: Any) -> Any:
    """The first NaN, infinity or too-large number in ``value`` (searched or fixed), else None."""
    if isinstance(value, int | float) and not is_finite(value):
        return value
    for part in value.values() if isinstance(value, dict) else \
            value if isinstance(value, list) else ():
        found = _non_finite(part)
        if found is not None:
            return found
    return None


def _space_entry(spec: Any) -> Any:
    from benchmark.space import is_searched, to_distribution

    bad = _non_finite(spec)
    if bad is not None:
        raise ValueError(f"{shown(bad)} is not a finite number; NaN, infinities and numbers "
                         "beyond a float's range cannot be searched or set")
    if is_searched(spec):
        to_distribution(spec)
    return spec


Level = str | int | float | bool | None


class Ablation(_Strict):
    """One factor at a time around a base configuration (the model's selected
    configuration, or with ``study.kind: ablation`` its fixed ``search:``
    values): each level of each factor is trained ``evaluation.repeats`` times
    with the final refits' seeds and scored on the test split, so that every
    level is paired with the base by seed."""

    factors: Annotated[dict[str, Annotated[list[Level], Field(min_length=1)]],
                       Field(min_length=1)]

    @field_validator("factors")
    @classmethod
    def _distinct(cls, factors: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for name, levels in factors.items():
            seen: list[Any] = []
            for level in levels:
                if any(same_value(level, other) for other in seen):
                    raise PathError((name,), f"level {shown(level)} is listed twice; "
                                             f"list each level of {name} once")
                seen.append(level)
        return factors


class ModelEntry(_Strict):
    model: str
    name: PathName | None = None
    # Trials train on at most this many rows (stratified); the final refit uses all.
    search_sample: Annotated[int, Field(ge=10)] | None = None
    search: dict[str, Annotated[Any, AfterValidator(_space_entry)]] = Field(default_factory=dict)
    # What each setting does: evaluation.repeats refits per level (Ablation).
    ablation: Ablation | None = None

    @model_serializer(mode="wrap")
    def _ablation_only_when_set(self, handler: Any) -> dict[str, Any]:
        return _left_out(handler(self), {"ablation": None})

    @field_validator("model")
    @classmethod
    def _known(cls, model: str) -> str:
        from benchmark.models import models

        if model.startswith("python:"):  # user code: README, "User code"
            from benchmark.models.user import UserModelName, resolve_model

            resolve_model(model)  # UserCodeError, a ValueError: one line
            return UserModelName(model)
        if model not in models:
            raise ValueError(_unknown("model", model, models.names()))
        return model

    @model_validator(mode="after")
    def _known_parameters(self) -> ModelEntry:
        from benchmark.space import is_searched

        defaults = self.parameter_defaults()
        valid = list(defaults)
        types = self.parameter_types()
        # An ablation's levels are checked as the choices of a search would be.
        entries = [(("search", key), key, spec) for key, spec in list(self.search.items())]
        # (preprocess.* factors are the data sets' steps: checked by the suite.)
        entries += [(("ablation", "factors", key), key, {"choices": levels})
                    for key, levels in (self.ablation.factors.items() if self.ablation else ())
                    if not key.startswith(PREPROCESS_PREFIX)]
        for where, key, spec in entries:
            if key not in valid:
                raise PathError(where, _unknown(
                    f"parameter of model {self.model!r}:", key, valid))
            if is_searched(spec) and "choices" not in spec:
                spec = self._typed_range(key, spec, types.get(key), defaults[key])
            # scikit-learn's own check of each value (Keras builders have none: their
            # knobs are checked against their declared types below).
            for value in _extremes(spec):
                problem = self.spec.parameter_problem(key, value)
                if problem:
                    problem = re.sub(r"\.?\s*Got .* instead\.?$", "", " ".join(problem.split()))
                    raise PathError(where,
                                    f"{shown(value)} is not valid for {self.model}: {problem}")
            if key not in types:
                continue
            if is_searched(spec) and "choices" not in spec and _is_choice_type(types[key]):
                raise PathError(where, (
                    f"{self.model}'s {key} takes {_type_name(types[key])}, so it is searched "
                    f"with 'choices', not a range"))
            for value in _extremes(spec):
                try:
                    _adapter(types[key]).validate_python(value, strict=True)
                except ValidationError:
                    names = literal_values(types[key])
                    raise PathError(where, _unknown(
                        f"{key} of {self.model}:", value, list(names)) if isinstance(value, str)
                        and names and all(isinstance(n, str) for n in names)
                        else f"{shown(value)} is not a valid {key} of {self.model}; "
                             f"valid: {_type_name(types[key])}") from None
        problem = self.image_size_problem()
        if problem:
            raise PathError(("search", problem[0]), problem[1])
        return self

    def _typed_range(self, key: str, spec: dict[str, Any], annotation: Any, default: Any) -> Any:
        """A range over a knob whose type is known (its annotation, or else its
        default: scikit-learn's ``C=1.0`` is a float, ``n_estimators=100`` an int)
        follows that type rather than how its bounds are written: a float knob
        with integer bounds (``C: {low: 1, high: 100}``) is a float range (stored
        as ``type: float``, so the search draws floats); an int knob with a float
        bound the model refuses is one line. An explicit ``type:`` is kept."""
        from benchmark.space import _is_int

        kind = _number_kind(annotation, default)
        if spec.get("type") is not None or kind is None:
            return spec
        written = {k: spec[k] for k in ("low", "high", "step") if spec.get(k) is not None}
        if kind == "float" and all(_is_int(v) for v in written.values()):
            as_float = {**spec, "type": "float"}
            # Only where the model takes the bounds as floats: a knob that also takes
            # a count as an integer (HistGradientBoosting's validation_fraction: a
            # fraction, or a number of rows) keeps bounds valid only as integers, and
            # bounds valid in neither form are refused below as written (C: -5).
            for value in _extremes(as_float):
                if annotation is None and self.spec.parameter_problem(key, value):
                    return spec
                if annotation is not None:
                    try:
                        _adapter(annotation).validate_python(value, strict=True)
                    except ValidationError:
                        return spec
            self.search[key] = as_float  # the model is frozen, its dict is not
            return as_float
        floats = {k: v for k, v in written.items() if not _is_int(v)}
        # (Keras knobs: the type check in _known_parameters says it; scikit-learn
        # knobs that also take a fraction, min_samples_split: 0.05, pass)
        if kind == "int" and floats and annotation is None and any(
                self.spec.parameter_problem(key, v) for v in _extremes(spec)):
            raise PathError(("search", key), (
                f"{key} of {self.model} takes integers (default {shown(default)}), so its range "
                f"needs integer bounds, got {', '.join(f'{k}={shown(v)}' for k, v in floats.items())}"))
        return spec

    def image_size_problem(self, native: int | None = None,
                           dataset: str = "the data set") -> tuple[str, str] | None:
        """(key, message) when some searched setting of the architecture would shrink
        its input image to nothing, else None. ``native`` is the data set's image
        side, known once it is loaded; without it only image sizes the suite or the
        architecture fixes are checked."""
        from itertools import product

        from benchmark.space import is_searched

        spec = self.spec
        if spec.fits is None:
            return None
        architecture = spec.architecture_defaults()
        knobs = {**architecture, **{k: v for k, v in self.search.items() if k in architecture}}
        sizes = _extremes(knobs.pop("image_size", None))
        # Only the knobs the shape walk reads: their combinations are few.
        shaping = [name for name, p in inspect.signature(spec.fits).parameters.items()
                   if p.kind is inspect.Parameter.KEYWORD_ONLY]
        searched = {k: _extremes(knobs[k]) for k in shaping if is_searched(knobs.get(k))}
        for values in product(*searched.values()):
            params = {**knobs, **dict(zip(searched, values))}
            for size in sizes:
                side = native if size is None else size
                if side is None or spec.fits(side, **params):
                    continue
                needed = spec.min_image_size({**params, "image_size": size})
                setting = ", ".join(f"{k} {v!r}" for k, v in zip(searched, values))
                key = "image_size" if "image_size" in self.search or not searched \
                    else next(iter(searched))
                got = f"image_size {size}; use a larger one" if size is not None else \
                    f"the {side}x{side} images of {dataset}; set image_size (the input stage " \
                    f"resizes to it)"
                needs = f"images of at least {needed}x{needed} pixels" if needed else \
                    "images larger than 1024x1024 pixels"
                return key, (f"{self.model} needs {needs}{' with ' + setting if setting else ''} "
                             f"(its layers shrink smaller ones to nothing), got {got}")
        return None

    @property
    def label(self) -> str:
        if self.name is None and self.model.startswith("python:"):
            return self.model.rsplit(":", 1)[1]  # python:nets:small_cnn -> small_cnn (file names)
        return self.name or self.model

    @property
    def spec(self):
        from benchmark.models import models

        return models.get(self.model)

    def parameter_defaults(self) -> dict[str, Any]:
        from benchmark.families import family_of

        spec = self.spec
        return {**family_of(spec).training_defaults, **spec.architecture_defaults()}

    def parameter_types(self) -> dict[str, Any]:
        from benchmark.families import family_of

        spec = self.spec
        return {**family_of(spec).training_types, **spec.parameter_types()}


@functools.lru_cache(maxsize=None)
def _adapter(annotation: Any) -> Any:
    """A knob type's pydantic TypeAdapter (built once: building costs more than checking)."""
    from pydantic import TypeAdapter

    return TypeAdapter(annotation)


def _extremes(spec: Any) -> list[Any]:
    """The values of a search entry worth checking, against a knob's type or an
    architecture's shape arithmetic: the fixed value, every choice, or a range's
    two ends (sizes grow monotonically), as the search draws them (floats from a
    range of ``type: float`` with integer ends)."""
    from benchmark.space import is_searched, to_distribution

    if not is_searched(spec):
        return [spec]
    if "choices" in spec:
        return list(spec["choices"])
    # As written (messages quote the suite), unless the search draws floats from
    # integer ends (type: float, or a float step).
    distribution = to_distribution(spec)
    if spec.get("type") is not None or isinstance(distribution.low, float) and not (
            isinstance(spec["low"], float) or isinstance(spec["high"], float)):
        return [distribution.low, distribution.high]
    return [spec["low"], spec["high"]]


def _number_kind(annotation: Any, default: Any) -> str | None:
    """'float' or 'int' when a knob's number type is known: from its annotation
    (Keras builders: ``dropout: float``), else from its default (scikit-learn's
    get_params(): ``C=1.0`` is a float, ``n_estimators=100`` an int); None when
    it is neither or not known (a default of None, a string, a bool)."""
    import typing

    if annotation is not None:
        while typing.get_origin(annotation) is Annotated:
            annotation = typing.get_args(annotation)[0]
        if typing.get_origin(annotation) is Literal:
            return None
        parts = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
        kinds = {"float" if a is float else "int" if a is int else None for a in parts}
        return kinds.pop() if len(kinds) == 1 else None
    if isinstance(default, bool):
        return None
    return "float" if isinstance(default, float) else "int" if isinstance(default, int) else None


def _is_choice_type(annotation: Any) -> bool:
    """Literal and bool knobs are categories, searched with choices."""
    import typing

    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return annotation is bool or typing.get_origin(annotation) is Literal or (
        bool(args) and all(_is_choice_type(a) for a in args))


def literal_values(annotation: Any) -> tuple[Any, ...]:
    """The values a ``Literal[...]`` (or ``Literal[...] | None``) knob accepts; () if none."""
    import typing

    for part in [annotation, *typing.get_args(annotation)]:
        if typing.get_origin(part) is Literal:
            return typing.get_args(part)
    return ()


def _type_name(annotation: Any) -> str:
    """``Literal['a', 'b'] | None`` -> "'a', 'b' or null"; ``int`` -> "an integer"."""
    import typing

    if typing.get_origin(annotation) is Literal:
        return ", ".join(repr(a) for a in typing.get_args(annotation))
    if typing.get_origin(annotation) is Annotated:  # bounds (annotated_types): ">= 1"
        base, *bounds = typing.get_args(annotation)
        ops = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
        limits = [f"{op} {getattr(b, k)}" for b in bounds for k, op in ops.items()
                  if getattr(b, k, None) is not None]
        return _type_name(base) + (" " + " and ".join(limits) if limits else "")
    if annotation is type(None):
        return "null"
    args = typing.get_args(annotation)
    if args:
        return " or ".join(_type_name(a) for a in args)
    return {int: "an integer", float: "a number", bool: "true or false",
            str: "a string"}.get(annotation, getattr(annotation, "__name__", str(annotation)))


class Study(_Strict):
    sampler: Sampler = Field(default_factory=Sampler)
    pruner: Pruner = Field(default_factory=Pruner)
    n_trials: Annotated[int, Field(ge=1)] | None = 20
    timeout: Annotated[float, Field(gt=0)] | None = None
    metric: str = "accuracy"
    direction: Literal["maximize", "minimize"] | None = None
    seed: Annotated[int, AfterValidator(_seed)] = 0
    # Score trials by k-fold cross-validation on the training split instead of
    # the hold-out validation split (scikit-learn models).
    cv_folds: Annotated[int, Field(ge=2, le=50)] | None = None
    # Tune the decision threshold of a binary classifier (Youden's J or F1) on the
    # validation split, or with cv_folds on the out-of-fold predictions of the whole
    # training split; the final evaluation applies it, unchanged, to the test split.
    threshold: Literal["youden", "f1"] | None = None
    # Seconds one trial may train; the worker process is stopped after it and the
    # trial recorded as failed ("timed out after N s"); the search goes on.
    trial_timeout: Annotated[float, Field(gt=0)] | None = None
    # Stop a study after this many failed trials in a row (every trial of a
    # learning-rate range that diverges, say) instead of spending its budget.
    max_consecutive_failures: Annotated[int, Field(ge=1)] | None = None
    # What every (data set, model) study gets the same of: trials (n_trials; a
    # timeout is wall-clock time), or equal_time: `timeout` seconds of summed
    # training time (the fitting of every trial, pruned ones included; not
    # wall-clock time, which parallel workers distort), the fair budget when
    # one model's trial costs 20 times another's; n_trials, when set, still
    # caps the trials.
    budget: Literal["trials", "equal_time"] = "trials"
    # search: each model's trials search its space, the selected configuration
    # is refitted. ablation: no search; each model's fixed `search:` values are
    # the base configuration, refitted `evaluation.repeats` times, and every
    # level of its `ablation.factors` is trained as often with the same seeds
    # (one trial of the base scores it on the validation split, as a search would).
    kind: Literal["search", "ablation"] = "search"

    @model_serializer(mode="wrap")
    def _limits_only_when_set(self, handler: Any) -> dict[str, Any]:
        return _left_out(handler(self), {"trial_timeout": None, "max_consecutive_failures": None,
                                         "budget": "trials", "kind": "search"})

    @model_validator(mode="before")
    @classmethod
    def _one_trial_for_ablation(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kind") == "ablation":
            for key in ("n_trials", "timeout", "budget"):
                if key in data and not (key == "n_trials" and data[key] == 1):
                    raise PathError((key,), f"study.kind ablation trains a fixed base "
                                            f"configuration and its levels, with no search "
                                            f"budget: leave {key} out")
            data = {**data, "n_trials": 1}
        return data

    @field_validator("metric")
    @classmethod
    def _known(cls, metric: str) -> str:
        from benchmark.metrics import metrics

        if metric not in metrics:
            raise ValueError(_unknown("metric", metric, metrics.names()))
        return metric

    @model_validator(mode="after")
    def _consistent(self) -> Study:
        from benchmark.metrics import metrics

        if self.n_trials is None and self.timeout is None:
            raise ValueError("set n_trials, timeout or both; with neither the search never ends")
        if self.budget == "equal_time" and self.timeout is None:
            raise PathError(("budget",), "budget equal_time gives every study `timeout` seconds "
                                         "of summed training time: set study.timeout (e.g. 600)")
        expected = metrics.get(self.metric).direction
        if self.direction is not None and self.direction != expected:
            raise PathError(("direction",), f"metric {self.metric!r} must be {expected}d, "
                                            f"got direction {self.direction!r}")
        return self

    @property
    def objective_direction(self) -> str:
        from benchmark.metrics import metrics

        return metrics.get(self.metric).direction


class Evaluation(_Strict):
    # Final refits of the best configuration, each with another seed.
    repeats: Annotated[int, Field(ge=1, le=100)] = 1
    # Fractions of the training split to refit the selected configuration on
    # (each `repeats` times, stratified, the same rows for every model): the
    # test score against training-set size, "would more data help?". 1.0 is
    # the final evaluation itself.
    learning_curve: list[Annotated[float, Field(gt=0, le=1)]] | None = None

    @field_validator("learning_curve")
    @classmethod
    def _increasing(cls, fractions: list[float] | None) -> list[float] | None:
        if fractions is not None and (len(fractions) < 2 or sorted(set(fractions)) != fractions):
            raise ValueError("learning_curve: two or more increasing fractions of the training "
                             "split, e.g. [0.1, 0.25, 0.5, 1.0]")
        return fractions

    @model_serializer(mode="wrap")
    def _curve_only_when_set(self, handler: Any) -> dict[str, Any]:
        return _left_out(handler(self), {"learning_curve": None})


def _devices(value: Any) -> Any:
    """``auto``, ``cpu``, a list of GPU indices, or ``0,1`` (from ``--devices``)."""
    if isinstance(value, str) and value not in ("auto", "cpu"):
        try:
            return [int(part) for part in value.split(",")]
        except ValueError:
            raise ValueError(f"{value!r} is not a device list; valid: auto, cpu, or GPU "
                             f"indices such as [0, 1] (or 0,1 on the command line)") from None
    return value


class Execution(_Strict):
    """Where and how many trials train at once (README, "Scale out")."""

    # Each worker process is replaced after this many trials: TensorFlow keeps
    # ~10 MiB per fitted model alive for the life of a process (DESIGN.md).
    # Runs without a TensorFlow model keep theirs (execution.Worker).
    trials_per_worker: Annotated[int, Field(ge=1)] = 20
    # Trials training at the same time on this machine: a number (0: none here,
    # remote `worker` processes train), or auto: one per visible GPU, else one
    # per threads_per_worker cores.
    workers: Annotated[int, Field(ge=0, le=256)] | Literal["auto"] = 1
    # CPU threads of each worker (TensorFlow, BLAS/OpenMP, scikit-learn n_jobs)
    # when there is more than one; default: the cores divided among the workers
    # (2 each for workers: auto).
    threads_per_worker: Annotated[int, Field(ge=1, le=1024)] | None = None
    # auto: worker i gets GPU i (round robin) when there are GPUs, else the CPU;
    # cpu: no GPU; [0, 1, ...]: these GPU indices, round robin.
    devices: Annotated[Literal["auto", "cpu"] | list[Annotated[int, Field(ge=0)]],
                       BeforeValidator(_devices)] = "auto"
    # Liveness of running trials across machines: each worker records a
    # heartbeat this often, and a trial without one for grace_seconds is failed
    # (its worker died) and retried once.
    heartbeat_seconds: Annotated[int, Field(ge=1, le=3600)] = 10
    grace_seconds: Annotated[int, Field(ge=2, le=86400)] = 60
    # Optuna's artifact store for each study's selected model: a folder (relative
    # to where the evaluating process runs; a shared one for workers on several
    # machines) or an S3-compatible bucket, s3://BUCKET (benchmark.artifacts).
    # Default: artifacts/ under the reports folder.
    artifacts: str | None = None

    @field_validator("artifacts")
    @classmethod
    def _store(cls, location: str | None) -> str | None:
        from benchmark import artifacts

        why = artifacts.problem(location) if location is not None else None
        if why:
            raise ValueError(why)
        return location

    @model_validator(mode="after")
    def _grace_after_heartbeats(self) -> Execution:
        if isinstance(self.devices, list) and not self.devices:
            raise PathError(("devices",), "an empty device list; valid: auto, cpu or [0, 1, ...]")
        if self.grace_seconds <= self.heartbeat_seconds:
            raise PathError(("grace_seconds",), f"{self.grace_seconds} must be longer than "
                                                f"heartbeat_seconds ({self.heartbeat_seconds})")
        return self

    @model_serializer(mode="wrap")
    def _only_when_changed(self, handler: Any) -> dict[str, Any]:
        return _left_out(handler(self), {"workers": 1, "threads_per_worker": None,
                                         "devices": "auto", "heartbeat_seconds": 10,
                                         "grace_seconds": 60, "artifacts": None})


class Nightly(_Strict):
    """How ``compare`` and ``nightly`` judge a change (README, "Nightly")."""

    # A score change smaller than this (absolute, in the metric's units) is
    # never a regression, however consistent.
    min_change: Annotated[float, Field(ge=0)] = 0.01
    # Significance level of the Welch t-test between the two runs' repeated
    # final evaluations (needs evaluation.repeats >= 2 in both).
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05
    # Earlier nights whose spread gives the band of normal night-to-night
    # variation (used when at least 3 exist).
    history: Annotated[int, Field(ge=0, le=365)] = 7
    # A training-time slowdown counts beyond this factor (same machine only).
    slowdown: Annotated[float, Field(gt=1)] = 1.2
    # A training-time change smaller than this many seconds (median refit) is
    # never slower or faster, whatever its ratio: tiny times are noise.
    min_seconds: Annotated[float, Field(ge=0)] = 1.0
    # A run id to compare every night against, instead of the last good run.
    baseline: str | None = None

    @model_serializer(mode="wrap")
    def _min_seconds_only_when_changed(self, handler: Any) -> dict[str, Any]:
        # At its default it is left out, so suites written before it keep their hash.
        data = handler(self)
        if self.min_seconds == 1.0:
            data.pop("min_seconds", None)
        return data


# What a suite's report: section may choose (all by default), in report order.
REPORT_SECTIONS = ("introduction", "data", "methods", "results", "statistics", "across",
                   "ablation", "discussion", "trials", "architectures", "references", "reproducibility")
REPORT_FIGURES = ("samples", "class_balance", "correlation", "search_history", "budget",
                  "importances", "pareto", "cost", "curves", "accuracy_loss", "confusion", "roc",
                  "critical_difference", "learning_curve", "ablation")


class Report(_Strict):
    title: str | None = None
    authors: list[str] = Field(default_factory=list)
    abstract: str | None = None
    # Which sections and figures the report includes (default: all of them, in
    # the report's own order; listing them does not reorder them).
    sections: list[Literal[REPORT_SECTIONS]] | None = None
    figures: list[Literal[REPORT_FIGURES]] | None = None
    # The layout: IEEE two-column paper, or a one-column technical report with
    # a table of contents.
    style: Literal["ieee", "techreport"] = "ieee"
    # A folder of report templates (relative to the suite file's folder), looked
    # up before the shipped ones: one file per section replaces that section
    # (README, "The report"). Checked when the suite is validated or run.
    templates: str | None = None

    @model_serializer(mode="wrap")
    def _layout_only_when_set(self, handler: Any) -> dict[str, Any]:
        # At their defaults they are left out, so suites written before them
        # keep their hash (and a run stored without them renders as IEEE).
        data = handler(self)
        if self.style == "ieee":
            data.pop("style", None)
        if self.templates is None:
            data.pop("templates", None)
        return data


class Suite(_Strict):
    name: PathName
    description: str = ""
    datasets: Annotated[dict[str, DatasetEntry], Field(min_length=1)]
    models: Annotated[list[ModelEntry], Field(min_length=1)]
    study: Study = Field(default_factory=Study)
    evaluation: Evaluation = Field(default_factory=Evaluation)
    execution: Execution = Field(default_factory=Execution)
    report: Report = Field(default_factory=Report)
    nightly: Nightly = Field(default_factory=Nightly)

    @field_validator("datasets", mode="before")
    @classmethod
    def _dataset_names(cls, datasets: Any) -> Any:
        for name in datasets if isinstance(datasets, dict) else ():
            if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
                raise PathError((str(name),), f"{shown(name, 40)} is not a valid data set name; "
                                              f"use {NAME_RULE}")
        return datasets

    @model_validator(mode="after")
    def _compatible(self) -> Suite:
        from benchmark.families import family_of

        for name, dataset in self.datasets.items():
            source = dataset.source_spec
            for key, needed in (("path", source.takes_path), ("target", source.takes_target)):
                if needed and getattr(dataset, key) is None:
                    hint = f" (in the suite, or with --set datasets.{name}.path=FILE)" \
                        if key == "path" else ""
                    raise PathError(("datasets", name, key),
                                    f"source {dataset.source!r} needs a {key}{hint}")
        if self.study.kind == "ablation":
            self._nothing_searched()
        seen: dict[str, int] = {}
        for index, entry in enumerate(self.models):
            if entry.label in seen:
                raise PathError(("models", index, "name"), (
                    f"model name {entry.label!r} is used twice (also models[{seen[entry.label]}]);"
                    " give one of them another 'name:'"))
            seen[entry.label] = index
            if self.study.kind == "ablation":
                self._ablation_base(index, entry)
            if entry.ablation:
                self._preprocess_factors(index, entry)
            family = family_of(entry.spec)
            if self.study.cv_folds and not family.cross_validates:
                raise PathError(("study", "cv_folds"), (
                    f"cross-validation applies to scikit-learn models; models[{index}] "
                    f"({entry.model}) is {family.name} (remove cv_folds or that model)"))
            for dataset_name, dataset in self.datasets.items():
                kind = entry.spec.input_kind
                if kind != "any" and kind != dataset.kind:
                    raise PathError(("models", index, "model"), (
                        f"model {entry.model!r} takes {kind} data, but dataset "
                        f"{dataset_name!r} ({dataset.source}) is {dataset.kind}"))
        return self

    def _preprocess_factors(self, index: int, entry: ModelEntry) -> None:
        """An ablation factor ``preprocess.scale`` / ``preprocess.pca`` varies the
        data sets' preprocessing: a searchable step, levels valid for it, and
        tabular data sets only (images have no preprocess)."""
        for key, levels in entry.ablation.factors.items():
            if not key.startswith(PREPROCESS_PREFIX):
                continue
            where = ("models", index, "ablation", "factors", key)
            step = key.removeprefix(PREPROCESS_PREFIX)
            if step not in SEARCHABLE_STEPS:
                raise PathError(where, _unknown("preprocessing step:", step,
                                                list(SEARCHABLE_STEPS)))
            try:  # each level as a searched choice of the step is checked
                _step_choices(step, {"choices": levels})
            except PathError as error:
                raise PathError(where, error.message) from None
            for name, dataset in self.datasets.items():
                if dataset.kind != "tabular":
                    raise PathError(where, f"{key} varies preprocessing, which applies to "
                                           f"tabular data; data set {name!r} is {dataset.kind}")

    def _nothing_searched(self) -> None:
        """study.kind ablation: a data set's preprocessing is fixed too."""
        for name, dataset in self.datasets.items():
            for key in (dataset.preprocess.searched() if dataset.preprocess else {}):
                step = key.removeprefix(PREPROCESS_PREFIX)
                raise PathError(("datasets", name, "preprocess", step), (
                    f"study.kind ablation searches nothing: give {step} one value and vary it "
                    f"as an ablation factor ({key}: [...])"))

    @staticmethod
    def _ablation_base(index: int, entry: ModelEntry) -> None:
        from benchmark.space import is_searched

        if entry.ablation is None:
            raise PathError(("models", index, "ablation"), (
                f"study.kind ablation varies factors around each model's base configuration: "
                f"give models[{index}] ({entry.label}) an ablation: {{factors: {{...}}}} block"))
        for key, spec in entry.search.items():
            if is_searched(spec):
                raise PathError(("models", index, "search", key), (
                    f"study.kind ablation searches nothing: give {key} one value (the base "
                    f"configuration's) and its other values under ablation.factors"))

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def hash(self) -> str:
        """Identifies what was run: equal for suites that differ only in layout or comments."""
        canonical = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# ---------------------------------------------------------------- loading

def format_location(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        if not isinstance(part, int):
            # A key that would break the line or run long is quoted and cut.
            part = str(part)
            part = part if part.isprintable() and 0 < len(part) <= 40 else shown(part, 40)
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


# Error lines are one line, and short: values are quoted cut (``shown``); this
# bounds what is left (a valid-names list, a library's message).
MAX_MESSAGE = 400


def _one_line(message: str) -> str:
    message = " ".join(message.split())
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE - 3] + "..."


# ---------------------------------------------------------------- YAML

# Values a suite may hold once its aliases (*name) are expanded: a few kilobytes
# of anchors and aliases can otherwise stand for 10**9 values ("billion laughs").
MAX_VALUES = 100_000


class SuiteYAMLError(yaml.YAMLError):
    """YAML that parses but is refused: a duplicate key, an alias bomb."""

    def __init__(self, where: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


class SuiteLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser when built
    """PyYAML's safe loader (no tag constructs a Python object), plus: a key given
    twice in a mapping is refused with both lines, and the document is checked
    for its size with aliases expanded before anything is built from it."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # An explicit tag on a value it does not fit (``!!bool seed``, ``!!int x``)
        # makes PyYAML's constructors raise KeyError or ValueError: a YAML error here.
        try:
            return super().construct_object(node, deep)
        except (ArithmeticError, LookupError, TypeError, ValueError) as error:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            value = shown(node.value, 40) if isinstance(node, yaml.ScalarNode) else "this value"
            raise yaml.constructor.ConstructorError(
                None, None, f"{value} is not a valid {shown(tag, 40)[1:-1]}" + (
                    "" if isinstance(error, LookupError) else f" ({_error_text(error)})"),
                node.start_mark) from None

    def get_single_node(self) -> yaml.Node | None:
        node = super().get_single_node()
        if node is not None:
            self._check(node, (), {}, set())
        return node

    def _check(self, node: yaml.Node, where: tuple[str | int, ...], sizes: dict[int, int],
               open_: set[int]) -> int:
        """The number of values under ``node`` with aliases expanded (an alias is
        the same node object as its anchor, so each is counted once per use but
        walked once)."""
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in open_:
            raise SuiteYAMLError(where, "an alias (*name) refers to a value that contains it; "
                                        "write the values out")
        open_.add(id(node))
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for index, child in enumerate(node.value):
                total += self._check(child, where + (index,), sizes, open_)
        elif isinstance(node, yaml.MappingNode):
            lines: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key: Any = key_node.tag  # a merge key (<<) or a structure as a key
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                    key = self.construct_object(key_node)
                    line = key_node.start_mark.line + 1
                    if key in lines:
                        raise SuiteYAMLError(where + (str(key),), (
                            f"duplicate key (lines {lines[key]} and {line}); keep one"))
                    lines[key] = line
                total += self._check(key_node, where, sizes, open_)
                total += self._check(value_node, where + (str(key),), sizes, open_)
        if total > MAX_VALUES:
            raise SuiteYAMLError(where, f"aliases (*name) expand this to more than {MAX_VALUES:,} "
                                        "values; write the values out")
        open_.discard(id(node))
        sizes[id(node)] = total
        return total


# Dates stay the text they are written as; binary data, sets and ordered pairs
# have no place in a suite.
SuiteLoader.add_constructor("tag:yaml.org,2002:timestamp", SuiteLoader.construct_yaml_str)
for _tag in ("binary", "set", "omap", "pairs"):
    SuiteLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", SuiteLoader.construct_undefined)


def load_yaml(text: str) -> Any:
    """A suite's YAML text as Python data; yaml.YAMLError (SuiteYAMLError) says why not."""
    return yaml.load(text, Loader=SuiteLoader)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """``where: problem`` of a YAML error, one line."""
    if isinstance(error, SuiteYAMLError):
        where = format_location(error.where)
        return f"{where}: {error.message}" if where else error.message
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(error, "problem", None) or (str(error).splitlines() or [""])[0]
    context, context_mark = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context and problem:  # "second occurrence (found duplicate anchor 'a'; first occurrence at line 3)"
        problem += f" ({context}" + (f" at line {context_mark.line + 1}" if context_mark else "") + ")"
    return f"invalid YAML{where}: {problem}"


def _input_location(loc: tuple[str | int, ...], data: Any, missing: bool) -> tuple[str | int, ...]:
    """The parts of pydantic's ``loc`` that are keys of the suite as written: not
    the member a union tried (``positive_class.str``) or a dict's ``[key]``."""
    kept: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        if isinstance(node, dict) and part in node or (
                isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)):
            kept.append(part)
            node = node[part]
        elif missing and index == len(loc) - 1:
            kept.append(part)
        else:  # a union member's tag, or a key a before-validator made
            node = None
    return tuple(kept)


def _first_error(error: ValidationError, data: Any = None) -> tuple[str, str]:
    detail = error.errors(include_url=False)[0]
    loc = tuple(p for p in detail["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    if data is not None:
        loc = _input_location(loc, data, detail["type"] == "missing")
    cause = (detail.get("ctx") or {}).get("error")
    if isinstance(cause, PathError):
        return format_location(loc + cause.subpath), cause.message
    message = detail["msg"]
    message = re.sub(r"^(Value|Assertion) error, ", "", message)
    if detail["type"] in {"missing"}:
        message = "required key is missing"
    elif "input" in detail and detail["type"] not in {"value_error", "assertion_error"}:
        message += f", got {shown(detail['input'])}"
    return format_location(loc), message


def _key_path(dotted: str) -> list[str | int]:
    """``models[0].search.C`` -> ['models', 0, 'search', 'C']."""
    if not re.fullmatch(r"[^.\[\]]+(\[[0-9]+\])*(\.[^.\[\]]+(\[[0-9]+\])*)*", dotted):
        raise UserError(f"--set {shown(dotted)}: not a key path; write KEY.PATH=VALUE, e.g. "
                        "study.n_trials=50 or models[0].search.epochs=3")
    return [name or int(index) for name, index in re.findall(r"([^.\[\]]+)|\[([0-9]+)\]", dotted)]


def _set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    parts = _key_path(dotted)
    node: Any = data
    for depth, part in enumerate(parts):
        here = format_location(tuple(parts[:depth]))
        rest = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts[depth + 1:])
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if isinstance(part, str) and part.isdigit():
                part = int(part)  # models.0.x, as earlier versions (and nightly scripts) wrote it
            if not isinstance(part, int):
                raise UserError(f"--set {dotted}: {here} is a list; use {here}[INDEX].{part}{rest}"
                                + (f" (INDEX 0 to {len(node) - 1})" if node else ""))
            if part >= len(node):
                entries = f"{len(node)} entries ({here}[0] to {here}[{len(node) - 1}])" if node \
                    else "no entries"
                raise UserError(f"--set {dotted}: {here} has {entries}, so there is no "
                                f"{here}[{part}]")
        elif isinstance(node, dict):
            if isinstance(part, int):
                names = shown(", ".join(map(str, node)), 60)[1:-1]
                raise UserError(f"--set {dotted}: {here} is a mapping, not a list; use "
                                f"{here}.NAME{rest}" + (f" (NAME one of: {names})" if node else ""))
            if not last and node.get(part) is None:
                node[part] = {}
        else:
            raise UserError(f"--set {dotted}: {here} holds {shown(node)}, not a mapping or a list")
        if last:
            node[part] = value
        else:
            node = node[part]


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> None:
    """``key.path=value`` pairs; the value is YAML (so numbers and lists keep their type)."""
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep or not key:
            raise UserError(f"--set {override!r}: expected KEY.PATH=VALUE, e.g. study.n_trials=50")
        try:
            value = load_yaml(raw)
        except SuiteYAMLError as error:
            raise UserError(_one_line(f"--set {key.strip()}: {_yaml_problem(error)}")) from None
        except yaml.YAMLError:
            value = raw
        _set_path(data, key.strip(), value)


def parse(data: Any, *, origin: str) -> Suite:
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"{type(data).__name__} {shown(data, 40)}"
        raise UserError(f"{origin}: a suite must be a YAML mapping (datasets:, models:, ...), "
                        f"got {got}")
    try:
        return Suite.model_validate(data)
    except PathError as error:  # raised by the top-level key check, outside pydantic's wrapping
        raise UserError(_one_line(f"{origin}: {format_location(error.subpath)}: "
                                  f"{error.message}")) from None
    except ValidationError as error:
        where, message = _first_error(error, data)
        raise UserError(_one_line(f"{origin}: {where}: {message}" if where
                                  else f"{origin}: {message}")) from None


def read(path: str | Path, overrides: list[str] | None = None) -> tuple[Suite, str]:
    """The validated suite and the YAML text as run (overrides applied)."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UserError(f"{path}: no such suite file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(_one_line(f"{path}: cannot read the suite: {error}")) from None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as error:
        raise UserError(_one_line(f"{path}: {_yaml_problem(error)}")) from None
    except RecursionError:
        raise UserError(f"{path}: invalid YAML: nested too deeply") from None
    if overrides:
        if data is None:
            data = {}
        if isinstance(data, dict):  # anything else is refused by parse
            apply_overrides(data, overrides)
            text = yaml.safe_dump(data, sort_keys=False)
    if isinstance(data, dict) and "name" not in data:
        if not NAME_PATTERN.fullmatch(path.stem):
            raise UserError(_one_line(
                f"{path}: name: the suite has no 'name:', and its file name {shown(path.stem)} "
                f"is not a valid name ({NAME_RULE}); add a 'name:'"))
        data = {"name": path.stem, **data}
    from benchmark.models.user import add_suite_directory

    add_suite_directory(path.parent)  # python: user code is imported from here too
    return parse(data, origin=str(path)), text


def load(path: str | Path, overrides: list[str] | None = None) -> Suite:
    return read(path, overrides)[0]

