"""Suite schema and loading. ``load()`` turns a YAML file into an immutable,
validated Suite, or raises UserError with one line: file, key path, what is
wrong, what would be valid."""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, ValidationError,
                      field_validator, model_validator)

from benchmark.errors import UserError
from benchmark.registry import unknown_name_message


class PathError(ValueError):
    """A validation error deeper than the validator that raised it."""

    def __init__(self, subpath: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.subpath = subpath
        self.message = message


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            valid = list(cls.model_fields)
            for key in data:
                if key not in valid:
                    raise PathError((str(key),), unknown_name_message("key", key, valid))
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
        raise ValueError(unknown_name_message(kind, name, list(table)))
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
                raise PathError(("options", option), unknown_name_message(
                    f"option of {kind} {self.name!r}:", option, accepted))

    def instantiate(self, module: str, table: dict[str, str], **extra: Any):
        return _optuna_class(module, table, "", self.name)(**self.options, **extra)


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
    seed: int | None = None

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


class Preprocess(_Strict):
    """Declared preprocessing of a tabular data set (applied in this order)."""

    drop: list[str] = Field(default_factory=list)
    fill: dict[str, FillStrategy | bool | int | float | str] = Field(default_factory=dict)
    ordinal: dict[str, Annotated[list[str | int | float], Field(min_length=1)]] = Field(default_factory=dict)
    binarize: dict[str, Binarize] = Field(default_factory=dict)
    one_hot: list[str] = Field(default_factory=list)
    scale: Literal["standard", "minmax"] | None = None
    pca: Annotated[int | float | None, AfterValidator(_variance_or_count)] = None

    @model_validator(mode="after")
    def _one_encoding_per_column(self) -> Preprocess:
        owner: dict[str, str] = {}
        for key in ("drop", "ordinal", "binarize", "one_hot"):
            for column in getattr(self, key):
                if column in owner:
                    raise PathError((key,), f"column {column!r} is in both {owner[column]} and {key}; "
                                            "give each column one treatment")
                owner[column] = key
        for column in self.fill:
            if owner.get(column) == "drop":
                raise PathError(("fill", column), f"column {column!r} is dropped, so it is never filled")
        return self


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

        if source not in sources:
            raise ValueError(unknown_name_message("dataset source", source, sources.names()))
        return source

    @model_validator(mode="after")
    def _fits_source(self) -> DatasetEntry:
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
                raise PathError(("options", option), unknown_name_message(
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


def _space_entry(spec: Any) -> Any:
    from benchmark.space import is_searched, to_distribution

    if is_searched(spec):
        to_distribution(spec)
    return spec


class ModelEntry(_Strict):
    model: str
    name: str | None = None
    # Trials train on at most this many rows (stratified); the final refit uses all.
    search_sample: Annotated[int, Field(ge=10)] | None = None
    search: dict[str, Annotated[Any, AfterValidator(_space_entry)]] = Field(default_factory=dict)

    @field_validator("model")
    @classmethod
    def _known(cls, model: str) -> str:
        from benchmark.models import models

        if model not in models:
            raise ValueError(unknown_name_message("model", model, models.names()))
        return model

    @model_validator(mode="after")
    def _known_parameters(self) -> ModelEntry:
        from pydantic import TypeAdapter

        from benchmark.space import is_searched

        valid = list(self.parameter_defaults())
        types = self.parameter_types()
        for key, spec in self.search.items():
            if key not in valid:
                raise PathError(("search", key), unknown_name_message(
                    f"parameter of model {self.model!r}:", key, valid))
            if key not in types:
                continue
            if is_searched(spec) and "choices" not in spec and _is_choice_type(types[key]):
                raise PathError(("search", key), (
                    f"{self.model}'s {key} takes {_type_name(types[key])}, so it is searched "
                    f"with 'choices', not a range"))
            for value in _extremes(spec):
                try:
                    TypeAdapter(types[key]).validate_python(value, strict=True)
                except ValidationError:
                    names = literal_values(types[key])
                    raise PathError(("search", key), unknown_name_message(
                        f"{key} of {self.model}:", value, list(names)) if isinstance(value, str)
                        and names and all(isinstance(n, str) for n in names)
                        else f"{value!r} is not a valid {key} of {self.model}; "
                             f"valid: {_type_name(types[key])}") from None
        problem = self.image_size_problem()
        if problem:
            raise PathError(("search", problem[0]), problem[1])
        return self

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
        return self.name or self.model

    @property
    def spec(self):
        from benchmark.models import models

        return models.get(self.model)

    def parameter_defaults(self) -> dict[str, Any]:
        from benchmark.training import TRAINING_DEFAULTS

        spec = self.spec
        return {**TRAINING_DEFAULTS.get(spec.family, {}), **spec.architecture_defaults()}

    def parameter_types(self) -> dict[str, Any]:
        from benchmark.training import TRAINING_TYPES

        spec = self.spec
        return {**TRAINING_TYPES.get(spec.family, {}), **spec.parameter_types()}


def _extremes(spec: Any) -> list[Any]:
    """The values of a search entry worth checking, against a knob's type or an
    architecture's shape arithmetic: the fixed value, every choice, or a range's
    two ends (sizes grow monotonically)."""
    from benchmark.space import is_searched

    if not is_searched(spec):
        return [spec]
    if "choices" in spec:
        return list(spec["choices"])
    return [spec["low"], spec["high"]]


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
    seed: int = 0
    # Score trials by k-fold cross-validation on the training split instead of
    # the hold-out validation split (scikit-learn models).
    cv_folds: Annotated[int, Field(ge=2, le=50)] | None = None
    # Tune the decision threshold of a binary classifier on validation data
    # (Youden's J or F1); the final evaluation applies it, unchanged, to the test split.
    threshold: Literal["youden", "f1"] | None = None

    @field_validator("metric")
    @classmethod
    def _known(cls, metric: str) -> str:
        from benchmark.metrics import metrics

        if metric not in metrics:
            raise ValueError(unknown_name_message("metric", metric, metrics.names()))
        return metric

    @model_validator(mode="after")
    def _consistent(self) -> Study:
        from benchmark.metrics import metrics

        if self.n_trials is None and self.timeout is None:
            raise ValueError("set n_trials, timeout or both; with neither the search never ends")
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


class Execution(_Strict):
    # Each worker process is replaced after this many trials: TensorFlow keeps
    # ~10 MiB per fitted model alive for the life of a process (DESIGN.md).
    trials_per_worker: Annotated[int, Field(ge=1)] = 20


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
    # A run id to compare every night against, instead of the last good run.
    baseline: str | None = None


# What a suite's report: section may choose (all by default), in report order.
REPORT_SECTIONS = ("introduction", "data", "methods", "results", "statistics", "discussion",
                   "trials", "architectures", "references", "reproducibility")
REPORT_FIGURES = ("samples", "class_balance", "correlation", "search_history", "importances",
                  "pareto", "curves", "accuracy_loss", "confusion", "roc")


class Report(_Strict):
    title: str | None = None
    authors: list[str] = Field(default_factory=list)
    abstract: str | None = None
    # Which sections and figures the report includes (default: all of them, in
    # the report's own order; listing them does not reorder them).
    sections: list[Literal[REPORT_SECTIONS]] | None = None
    figures: list[Literal[REPORT_FIGURES]] | None = None


class Suite(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    description: str = ""
    datasets: Annotated[dict[str, DatasetEntry], Field(min_length=1)]
    models: Annotated[list[ModelEntry], Field(min_length=1)]
    study: Study = Field(default_factory=Study)
    evaluation: Evaluation = Field(default_factory=Evaluation)
    execution: Execution = Field(default_factory=Execution)
    report: Report = Field(default_factory=Report)
    nightly: Nightly = Field(default_factory=Nightly)

    @model_validator(mode="after")
    def _compatible(self) -> Suite:
        for name, dataset in self.datasets.items():
            source = dataset.source_spec
            for key, needed in (("path", source.takes_path), ("target", source.takes_target)):
                if needed and getattr(dataset, key) is None:
                    hint = f" (in the suite, or with --set datasets.{name}.path=FILE)" \
                        if key == "path" else ""
                    raise PathError(("datasets", name, key),
                                    f"source {dataset.source!r} needs a {key}{hint}")
        seen: dict[str, int] = {}
        for index, entry in enumerate(self.models):
            if entry.label in seen:
                raise PathError(("models", index, "name"), (
                    f"model name {entry.label!r} is used twice (also models[{seen[entry.label]}]);"
                    " give one of them another 'name:'"))
            seen[entry.label] = index
            if self.study.cv_folds and entry.spec.family != "sklearn":
                raise PathError(("study", "cv_folds"), (
                    f"cross-validation applies to scikit-learn models; models[{index}] "
                    f"({entry.model}) is {entry.spec.family} (remove cv_folds or that model)"))
            for dataset_name, dataset in self.datasets.items():
                kind = entry.spec.input_kind
                if kind != "any" and kind != dataset.kind:
                    raise PathError(("models", index, "model"), (
                        f"model {entry.model!r} takes {kind} data, but dataset "
                        f"{dataset_name!r} ({dataset.source}) is {dataset.kind}"))
        return self

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
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _first_error(error: ValidationError) -> tuple[str, str]:
    detail = error.errors(include_url=False)[0]
    loc = tuple(p for p in detail["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    cause = (detail.get("ctx") or {}).get("error")
    if isinstance(cause, PathError):
        return format_location(loc + cause.subpath), cause.message
    message = detail["msg"]
    message = re.sub(r"^(Value|Assertion) error, ", "", message)
    if detail["type"] in {"missing"}:
        message = "required key is missing"
    elif "input" in detail and detail["type"] not in {"value_error", "assertion_error"}:
        message += f", got {detail['input']!r}"
    return format_location(loc), message


def _set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    parts = [int(p) if p.isdigit() else p for p in re.split(r"\.|\[(\d+)\]", dotted) if p]
    node: Any = data
    for depth, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            if not isinstance(part, int) or part >= len(node):
                raise UserError(f"--set {dotted}: {format_location(tuple(parts[:depth + 1]))} "
                                f"is not an index of a list of {len(node)}")
            node = node[part]
        else:
            node = node.setdefault(part, {})
            if not isinstance(node, dict | list):
                raise UserError(f"--set {dotted}: {format_location(tuple(parts[:depth + 1]))} "
                                f"holds {node!r}, not a mapping")
    node[parts[-1]] = value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> None:
    """``key.path=value`` pairs; the value is YAML (so numbers and lists keep their type)."""
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep or not key:
            raise UserError(f"--set {override!r}: expected KEY.PATH=VALUE, e.g. study.n_trials=50")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        _set_path(data, key.strip(), value)


def parse(data: Any, *, origin: str) -> Suite:
    if not isinstance(data, dict):
        raise UserError(f"{origin}: a suite must be a YAML mapping, got {type(data).__name__}")
    try:
        return Suite.model_validate(data)
    except PathError as error:  # raised by the top-level key check, outside pydantic's wrapping
        raise UserError(f"{origin}: {format_location(error.subpath)}: {error.message}") from None
    except ValidationError as error:
        where, message = _first_error(error)
        raise UserError(f"{origin}: {where}: {message}" if where else f"{origin}: {message}") from None


def read(path: str | Path, overrides: list[str] | None = None) -> tuple[Suite, str]:
    """The validated suite and the YAML text as run (overrides applied)."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UserError(f"{path}: no such suite file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read the suite: {error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise UserError(f"{path}: invalid YAML{where}: {problem}") from None
    if overrides:
        if not isinstance(data, dict):
            data = {}
        apply_overrides(data, overrides)
        text = yaml.safe_dump(data, sort_keys=False)
    if isinstance(data, dict) and "name" not in data:
        data = {"name": path.stem, **data}
    return parse(data, origin=str(path)), text


def load(path: str | Path, overrides: list[str] | None = None) -> Suite:
    return read(path, overrides)[0]

