"""User code by import path: ``model: python:mypackage.nets:build_net``.

A suite names a Python object as ``python:MODULE:NAME``; the prefix keeps it
apart from registered names such as ``keras:mnist``. The module is imported
from the suite's directory, the current directory or the installed packages.

* a function ``build(input_shape, n_classes, *, knob: int = 3, ...)`` that
  returns an uncompiled Keras model is a Keras model (family "keras"): its
  keyword-only parameters, annotated int, float, bool or ``Literal[...]``, are
  its knobs, checked by ``validate`` as the built-in builders' are;
* a class with scikit-learn's estimator API (``get_params``, ``fit``,
  ``predict_proba``) is a scikit-learn model (family "sklearn"): its knobs
  are its ``get_params()``.

Each resolved object is registered in ``benchmark.models.models`` under its
full ``python:...`` name, so the rest of the tool finds it as it finds a
built-in model. Resolution problems are ``UserCodeError`` (a ValueError with
one line), which the suite's validation reports with the key path.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import importlib
import inspect
import os
import re
import sys
import typing
from pathlib import Path
from typing import Any, Literal

from benchmark.models._base import ModelSpec
from benchmark.models.sklearn import Estimator

PREFIX = "python:"
_REFERENCE = re.compile(r"python:([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")
# Import names whose distribution on PyPI is called otherwise.
PIP_NAMES = {"sklearn": "scikit-learn", "cv2": "opencv-python", "PIL": "pillow", "yaml": "pyyaml",
             "skimage": "scikit-image"}
# The suites' folders that user code is imported from (``suite.read`` adds each
# suite's), in front of the current directory.
_suite_directories: list[str] = []


class UserCodeError(ValueError):
    """A ``python:`` reference that does not resolve; the message is one line."""


def is_user_code(name: Any) -> bool:
    return isinstance(name, str) and name.startswith(PREFIX)


def add_suite_directory(directory: str | Path) -> None:
    """Import user code from ``directory`` too (the folder of a suite being read)."""
    path = str(Path(directory).resolve())
    if path not in _suite_directories:
        _suite_directories.append(path)


def search_directories() -> list[str]:
    """Where a ``python:`` module is looked for before the installed packages."""
    return list(dict.fromkeys([*reversed(_suite_directories), os.getcwd()]))


def _ensure_path() -> None:
    # Kept on sys.path for the life of the process: spawned worker processes
    # inherit sys.path, so they import the same modules.
    for directory in reversed(search_directories()):
        if directory not in sys.path:
            sys.path.insert(0, directory)


def parse_reference(name: str) -> tuple[str, str]:
    """``python:a.b:c`` -> ('a.b', 'c'); UserCodeError when it is not written so."""
    match = _REFERENCE.fullmatch(name)
    if not match:
        raise UserCodeError(f"{name}: not a python: reference; write python:MODULE:NAME, e.g. "
                            f"python:mypackage.nets:build_net")
    return match.group(1), match.group(2)


def pip_name(module: str) -> str:
    top = module.split(".")[0]
    return PIP_NAMES.get(top, top.replace("_", "-"))


def import_module(module: str, name: str) -> Any:
    """The module, or UserCodeError saying why not (one line, ``name: ...``)."""
    _ensure_path()
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        missing = error.name or module
        if missing == module or module.startswith(missing + "."):
            places = " or ".join(search_directories())
            raise UserCodeError(
                f"{name}: no module named {missing!r} in {places} or the installed packages; "
                f"if it is a package, install it: pip install {pip_name(missing)}") from None
        raise UserCodeError(f"{name}: module {module} imports {missing}, which is not installed: "
                            f"pip install {pip_name(missing)}") from None
    except SyntaxError as error:
        raise UserCodeError(f"{name}: module {module} has a syntax error at "
                            f"{error.filename}:{error.lineno}: {error.msg}") from None
    except Exception as error:  # noqa: BLE001 - the user's module, whatever it raises
        raise UserCodeError(f"{name}: importing module {module} raised "
                            f"{_error_text(error)}") from None


def _error_text(error: BaseException) -> str:
    text = " ".join(str(error).split())
    text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def resolve(name: str) -> tuple[Any, Any]:
    """(module, object) that ``python:MODULE:NAME`` names; UserCodeError otherwise."""
    module_name, attribute = parse_reference(name)
    module = import_module(module_name, name)
    found: Any = module
    where = f"module {module_name}"
    for part in attribute.split("."):
        if not hasattr(found, part):
            valid = [n for n in dir(found) if not n.startswith("_")]
            close = difflib.get_close_matches(part, valid, n=1)
            raise UserCodeError(f"{name}: {where} has no attribute {part!r}"
                                + (f" (did you mean {close[0]!r}?)" if close else ""))
        found = getattr(found, part)
        where = f"{where.split(' ', 1)[1]}.{part}"
    return module, found


def _shown_kind(obj: Any) -> str:
    if inspect.ismodule(obj):
        return f"module {obj.__name__}"
    if inspect.isclass(obj):
        return f"class {obj.__name__}"
    text = repr(obj)
    return f"{type(obj).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


# ---------------------------------------------------------------- knob types

def _usable(annotation: Any) -> bool:
    """int, float, bool, Literal[...] of scalars, or one of them | None."""
    if annotation in (int, float, bool):
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _usable(typing.get_args(annotation)[0])
    if origin is Literal:
        return all(isinstance(a, str | int | float | bool) or a is None
                   for a in typing.get_args(annotation))
    args = typing.get_args(annotation)
    if args and (origin is typing.Union or type(annotation).__name__ == "UnionType"):
        parts = [a for a in args if a is not type(None)]
        return bool(parts) and all(_usable(a) for a in parts)
    return False


def type_text(annotation: Any) -> str:
    """A knob's type as text: ``int``, ``float``, ``Literal['relu', 'tanh']``, ``int | None``."""
    if annotation is type(None):
        return "None"
    if isinstance(annotation, type):
        return annotation.__name__
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return type_text(typing.get_args(annotation)[0])
    if origin is Literal:
        return f"Literal[{', '.join(repr(a) for a in typing.get_args(annotation))}]"
    args = typing.get_args(annotation)
    if args and (origin is typing.Union or type(annotation).__name__ == "UnionType"):
        return " | ".join(type_text(a) for a in args)
    return str(annotation).replace("typing.", "")


def _knob_problem(name: str, function: Any, training: dict[str, Any]) -> None:
    """UserCodeError naming the first keyword-only parameter that is not a knob."""
    where = f"{function.__module__}.{function.__qualname__}"
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        raise UserCodeError(f"{name}: {where} has no signature to read its knobs from") from None
    positional = [p for p in signature.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    takes_args = any(p.kind is p.VAR_POSITIONAL for p in signature.parameters.values())
    if len(positional) < 2 and not takes_args:
        raise UserCodeError(f"{name}: {where} takes {len(positional)} positional parameter(s); "
                            f"a model builder is build(input_shape, n_classes, *, knobs...)")
    required = [p.name for p in positional[2:] if p.default is p.empty]
    if required:
        raise UserCodeError(f"{name}: {where} needs {', '.join(required)} besides input_shape "
                            f"and n_classes; make its knobs keyword-only (after '*') with defaults")
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception as error:  # noqa: BLE001 - a NameError in a string annotation, say
        raise UserCodeError(f"{name}: the annotations of {where} cannot be read: "
                            f"{_error_text(error)}") from None
    from pydantic import TypeAdapter, ValidationError

    for parameter in signature.parameters.values():
        if parameter.kind is not parameter.KEYWORD_ONLY:
            continue
        knob = parameter.name
        if knob not in hints:
            raise UserCodeError(f"{name}: parameter {knob!r} of {where} has no type annotation; "
                                f"annotate each knob int, float, bool or Literal[...]")
        if not _usable(hints[knob]):
            raise UserCodeError(f"{name}: parameter {knob!r} of {where} is annotated "
                                f"{type_text(hints[knob])}; a knob is int, float, bool or "
                                f"Literal[...] (or one of them | None)")
        if parameter.default is parameter.empty:
            raise UserCodeError(f"{name}: parameter {knob!r} of {where} has no default; "
                                f"give each knob one")
        try:
            TypeAdapter(hints[knob]).validate_python(parameter.default, strict=True)
        except ValidationError:
            raise UserCodeError(f"{name}: the default {parameter.default!r} of parameter "
                                f"{knob!r} of {where} is not {type_text(hints[knob])}") from None
        if knob in training:
            raise UserCodeError(f"{name}: parameter {knob!r} of {where} is a training knob that "
                                f"every Keras model takes; give the architecture's knob "
                                f"another name")


# ---------------------------------------------------------------- models

def _keras_builder(function: Any, name: str) -> Any:
    """``function``, checked to return a Keras model (signature and
    annotations are the function's: ``functools.wraps``)."""

    @functools.wraps(function)
    def build(input_shape: Any, n_classes: int, **knobs: Any) -> Any:
        model = function(input_shape, n_classes, **knobs)
        import keras

        if not isinstance(model, keras.Model):
            raise TypeError(f"{name} returned {_shown_kind(model)}, not a keras.Model")
        return model

    return build


def _description(obj: Any, fallback: str) -> str:
    doc = inspect.getdoc(obj) if (inspect.isfunction(obj) or inspect.isclass(obj)) else None
    line = (doc or "").strip().split("\n\n")[0]
    line = " ".join(line.split())
    return line if line else fallback


def _reference(module: Any, qualified: str) -> str:
    """The package and its version for installed code, the file for local code."""
    from importlib import metadata

    top = module.__name__.split(".")[0]
    try:
        distributions = metadata.packages_distributions().get(top) or []
        if distributions:
            return f"{distributions[0]} {metadata.version(distributions[0])} ({qualified})"
    except Exception:  # noqa: BLE001 - metadata is a nicety
        pass
    file = getattr(module, "__file__", None)
    return f"user code {qualified}" + (f" ({Path(file).name})" if file else "")


def resolve_model(name: str) -> ModelSpec:
    """The ModelSpec ``python:MODULE:NAME`` names, registered in ``models``."""
    from benchmark.models import models
    from benchmark.training import TRAINING_DEFAULTS

    module, obj = resolve(name)
    module_name, attribute = parse_reference(name)
    qualified = f"{module_name}.{attribute}"
    if inspect.isclass(obj):
        missing = [m for m in ("get_params", "fit", "predict_proba")
                   if not callable(getattr(obj, m, None))]
        if missing:
            raise UserCodeError(f"{name}: class {qualified} has no {', '.join(missing)}; a model "
                                f"class needs scikit-learn's estimator API (get_params, fit, "
                                f"predict_proba)")
        try:
            estimator = UserEstimator(name)
            estimator.parameters()
        except Exception as error:  # noqa: BLE001 - the user's class
            raise UserCodeError(f"{name}: {qualified}().get_params() fails: "
                                f"{_error_text(error)}; a model class is built with its "
                                f"defaults, then the suite's knobs") from None
        spec = ModelSpec(name, "sklearn", estimator, "tabular",
                         _description(obj, f"scikit-learn-API estimator {qualified}"),
                         _reference(module, qualified), parameters=estimator.parameters)
    elif inspect.isfunction(obj) or inspect.isbuiltin(obj) or inspect.ismethod(obj):
        _knob_problem(name, obj, TRAINING_DEFAULTS["keras"])
        spec = ModelSpec(name, "keras", _keras_builder(obj, name), "image",
                         _description(obj, f"Keras network {qualified}"),
                         _reference(module, qualified))
    else:
        raise UserCodeError(f"{name}: {qualified} is {_shown_kind(obj)}, not a function that "
                            f"builds a Keras model nor a class with scikit-learn's estimator API "
                            f"(get_params, fit, predict_proba)")
    # Registered (again: a module edited since is read anew) under its full name.
    models._entries[name] = spec
    return spec


class UserEstimator(Estimator):
    """``models.sklearn.Estimator`` for a class found by import path."""

    def __init__(self, name: str) -> None:
        module, attribute = parse_reference(name)
        super().__init__(f"{module}.{attribute}")
        self.name = name
        accepted = self._class()().get_params()
        # As for the built-in random forest: all cores, or the worker's share
        # (execution.threads_per_worker); LightGBM's per-tree warnings off.
        if "n_jobs" in accepted:
            self.fixed["n_jobs"] = -1
        if module.split(".")[0] == "lightgbm":  # a keyword it takes, not in get_params()
            self.fixed["verbose"] = -1

    def _class(self) -> Any:
        return resolve(self.name)[1]


class UserModelName(str):
    """A ``python:`` model name that, pickled into a spawned worker process
    (``worker.TrialTask.model``), registers its model there as it is
    unpickled, before the worker looks it up in ``models``."""

    def __reduce__(self) -> Any:
        return _restore, (str(self), tuple(_suite_directories))


def _restore(name: str, directories: tuple[str, ...]) -> str:
    for directory in directories:
        add_suite_directory(directory)
    try:
        resolve_model(name)
    except Exception:  # noqa: BLE001 - the worker's models.get says it, as a failed trial
        return name
    return UserModelName(name)


# ---------------------------------------------------------------- records

def model_info(spec: ModelSpec) -> dict[str, Any]:
    """What a report needs of a study's model without importing it: family,
    description, reference and each knob's default and type (as text)."""
    import json

    from benchmark.families import family_of

    family = family_of(spec)
    defaults = {**family.training_defaults, **spec.architecture_defaults()}
    types = {**family.training_types, **spec.parameter_types()}
    knobs = {}
    for knob, default in defaults.items():
        if knob in types:
            kind = type_text(types[knob])
        else:
            kind = "None" if default is None else type(default).__name__
        try:
            json.dumps(default)
        except (TypeError, ValueError):
            default = repr(default)
        knobs[knob] = {"type": kind, "default": default}
    return {"name": spec.name, "family": spec.family, "input_kind": spec.input_kind,
            "description": spec.description, "reference": spec.reference, "knobs": knobs}


def source_hash(name: str) -> str | None:
    """sha256 of the source file(s) of what ``python:MODULE:NAME`` names (the
    file that defines it, and its module's file when that is another one)."""
    module, obj = resolve(name)
    files: list[str] = []
    for candidate in (obj, module):
        try:
            file = inspect.getsourcefile(candidate)
        except TypeError:
            file = None
        if file and file not in files:
            files.append(file)
    if not files:
        return None
    digest = hashlib.sha256()
    for file in files:
        digest.update(Path(file).read_bytes())
    return digest.hexdigest()


def suite_code_hashes(suite: Any) -> dict[str, str]:
    """``{"MODULE:NAME": sha256}`` of every ``python:`` model and data source of a suite."""
    names = [entry.model for entry in suite.models if is_user_code(entry.model)]
    names += [entry.source for entry in suite.datasets.values() if is_user_code(entry.source)]
    hashes = {}
    for name in dict.fromkeys(names):
        digest = source_hash(name)
        if digest is not None:
            hashes[name.removeprefix(PREFIX)] = digest
    return hashes


__all__ = ["PREFIX", "UserCodeError", "UserModelName", "add_suite_directory", "is_user_code",
           "model_info", "resolve", "resolve_model", "source_hash", "suite_code_hashes"]
