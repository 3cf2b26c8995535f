"""User code by import path (README, "User code"): ``model: python:MODULE:NAME``
for a Keras network or a scikit-learn-API estimator, ``source: python:...`` for
a data loader; every bad input is one line with its key path."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from benchmark import suite
from benchmark.errors import UserError
from benchmark.models import user
from conftest import REPO, run_cli, write_suite

NETS = '''
from typing import Literal


def build(input_shape, n_classes, *, width: int = 8, rate: float = 0.1,
          act: Literal["relu", "tanh"] = "relu", norm: bool = False):
    """A test network."""
    import keras
    return keras.Sequential([keras.Input(shape=input_shape), keras.layers.Flatten(),
                             keras.layers.Dense(width, activation=act),
                             keras.layers.Dense(n_classes, activation="softmax")])


def unannotated(input_shape, n_classes, *, width=8):
    pass


def stringly(input_shape, n_classes, *, width: str = "8"):
    pass


def no_default(input_shape, n_classes, *, width: int):
    pass


def clashes(input_shape, n_classes, *, epochs: int = 3):
    pass


def one_argument(input_shape):
    pass


WIDTH = 8


class NotAnEstimator:
    def fit(self, x, y):
        return self
'''

DATA = '''
import numpy as np
import pandas as pd


def images(*, n: int = 60, channels: bool = False):
    """Random test images."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(n, 8, 8, 3) if channels else (n, 8, 8)).astype("uint8")
    return x, np.array(["cat", "dog", "emu"] * (n // 3))


def table():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=90), "b": rng.normal(size=90),
                          "kind": ["x", "y", "z"] * 30})
    return frame, "kind"


def from_file(path):
    return pd.read_csv(path), "label"


def flat():
    return np.zeros((30, 64)), np.arange(30) % 2


def short_labels():
    return np.zeros((30, 8, 8)), np.arange(10) % 2


def one_array():
    return np.zeros((30, 8, 8))


def no_target():
    return pd.DataFrame({"a": [1, 2]}), "label"


def raises():
    raise RuntimeError("no data today")
'''


@pytest.fixture(autouse=True)
def _clean_import_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's folders leave sys.path (and the suite folders) as they were."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(user, "_suite_directories", [])


def _modules(tmp_path: Path) -> tuple[str, str]:
    """(nets module, data module): files with names of their own, so that no
    test finds another's module in sys.modules."""
    tag = uuid.uuid4().hex[:8]
    nets, data = f"nets_{tag}", f"data_{tag}"
    (tmp_path / f"{nets}.py").write_text(NETS)
    (tmp_path / f"{data}.py").write_text(DATA)
    return nets, data


def _suite(tmp_path: Path, model: str, source: str, search: str = "{}") -> Path:
    return write_suite(tmp_path, f"""
        datasets:
          d:
            source: "{source}"
        models:
          - model: "{model}"
            search: {search}
        study: {{n_trials: 2}}
        """)


def _error(path: Path) -> str:
    with pytest.raises(UserError) as refused:
        suite.load(path)
    message = str(refused.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- Keras networks

def test_a_keras_function_is_a_model_with_typed_knobs(tmp_path: Path) -> None:
    nets, data = _modules(tmp_path)
    loaded = suite.load(_suite(tmp_path, f"python:{nets}:build", f"python:{data}:images",
                               "{width: {low: 4, high: 16}, act: {choices: [relu, tanh]}, "
                               "rate: {low: 0, high: 1}, epochs: 1, optimizer: sgd}"))
    entry = loaded.models[0]
    assert entry.label == "build"
    spec = entry.spec
    assert (spec.family, spec.input_kind, spec.description) == ("keras", "image", "A test network.")
    assert spec.architecture_defaults() == {"width": 8, "rate": 0.1, "act": "relu", "norm": False}
    assert entry.search["rate"]["type"] == "float"  # a float knob's integer bounds: a float range
    info = user.model_info(spec)
    assert info["family"] == "keras"
    assert info["knobs"]["act"] == {"type": "Literal['relu', 'tanh']", "default": "relu"}
    assert info["knobs"]["width"] == {"type": "int", "default": 8}
    assert info["knobs"]["epochs"]["type"] == "int"  # the training knobs apply too


@pytest.mark.parametrize("search, expected", [
    ("{act: sigmoid}", "models[0].search.act: unknown act of python:NETS:build: 'sigmoid'; "
                       "valid: relu, tanh"),
    ("{width: 2.5}", "models[0].search.width: 2.5 is not a valid width of python:NETS:build; "
                     "valid: an integer"),
    ("{act: {low: 1, high: 2}}", "models[0].search.act: python:NETS:build's act takes 'relu', "
                                 "'tanh', so it is searched with 'choices', not a range"),
    ("{depth: 3}", "models[0].search.depth: unknown parameter of model 'python:NETS:build': "
                   "'depth'"),
])
def test_a_keras_function_knobs_are_checked_as_the_built_in_ones(tmp_path: Path, search: str,
                                                                  expected: str) -> None:
    nets, data = _modules(tmp_path)
    message = _error(_suite(tmp_path, f"python:{nets}:build", f"python:{data}:images", search))
    assert expected.replace("NETS", nets) in message


# ---------------------------------------------------------------- estimators

def test_a_scikit_learn_class_by_import_path(tmp_path: Path) -> None:
    _, data = _modules(tmp_path)
    loaded = suite.load(_suite(tmp_path, "python:sklearn.ensemble:ExtraTreesClassifier",
                               f"python:{data}:table",
                               "{n_estimators: {low: 10, high: 50}, max_depth: {choices: [3, null]}}"))
    entry = loaded.models[0]
    assert entry.label == "ExtraTreesClassifier"
    spec = entry.spec
    assert (spec.family, spec.input_kind) == ("sklearn", "tabular")
    assert spec.architecture_defaults()["n_estimators"] == 100
    assert "random_state" not in spec.architecture_defaults()
    assert spec.reference.startswith("scikit-learn ")
    estimator = spec.build(seed=3, n_estimators=5)
    assert type(estimator).__name__ == "ExtraTreesClassifier"
    assert (estimator.random_state, estimator.n_estimators) == (3, 5)
    # Its parameters are checked as the built-in estimators' are.
    message = _error(_suite(tmp_path, "python:sklearn.ensemble:ExtraTreesClassifier",
                            f"python:{data}:table", "{n_estimators: {low: 10.5, high: 50}}"))
    assert "models[0].search.n_estimators" in message
    assert user.model_info(spec)["knobs"]["n_estimators"] == {"type": "int", "default": 100}


def test_lightgbm_by_import_path(tmp_path: Path) -> None:
    pytest.importorskip("lightgbm")
    _, data = _modules(tmp_path)
    loaded = suite.load(_suite(tmp_path, "python:lightgbm:LGBMClassifier", f"python:{data}:table",
                               "{num_leaves: {low: 4, high: 16}}"))
    spec = loaded.models[0].spec
    assert spec.family == "sklearn" and "num_leaves" in spec.architecture_defaults()
    estimator = spec.build(seed=0, num_leaves=4, n_estimators=5)
    x = np.random.default_rng(0).normal(size=(60, 3))
    estimator.fit(x, np.arange(60) % 2)
    assert estimator.predict_proba(x).shape == (60, 2)


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("model, expected", [
    ("python:no_such_module_x1:build",
     "models[0].model: python:no_such_module_x1:build: no module named 'no_such_module_x1' in "),
    ("python:NETS:biuld", "models[0].model: python:NETS:biuld: module NETS has no attribute "
                          "'biuld' (did you mean 'build'?)"),
    ("python:NETS:WIDTH", "models[0].model: python:NETS:WIDTH: NETS.WIDTH is int 8, not a "
                          "function that builds a Keras model nor a class with scikit-learn's "
                          "estimator API (get_params, fit, predict_proba)"),
    ("python:NETS:NotAnEstimator", "models[0].model: python:NETS:NotAnEstimator: class "
                                   "NETS.NotAnEstimator has no get_params, predict_proba"),
    ("python:NETS:unannotated", "models[0].model: python:NETS:unannotated: parameter 'width' of "
                                "NETS.unannotated has no type annotation; annotate each knob int, "
                                "float, bool or Literal[...]"),
    ("python:NETS:stringly", "models[0].model: python:NETS:stringly: parameter 'width' of "
                             "NETS.stringly is annotated str; a knob is int, float, bool or "
                             "Literal[...]"),
    ("python:NETS:no_default", "parameter 'width' of NETS.no_default has no default"),
    ("python:NETS:clashes", "parameter 'epochs' of NETS.clashes is a training knob"),
    ("python:NETS:one_argument", "NETS.one_argument takes 1 positional parameter(s); a model "
                                 "builder is build(input_shape, n_classes, *, knobs...)"),
    ("python:NETS", "models[0].model: python:NETS: not a python: reference; write "
                    "python:MODULE:NAME"),
    ("python:not_installed_pkg_q:Model", "pip install not-installed-pkg-q"),
])
def test_bad_model_references_are_one_line(tmp_path: Path, model: str, expected: str) -> None:
    nets, data = _modules(tmp_path)
    model = model.replace("NETS", nets)
    message = _error(_suite(tmp_path, model, f"python:{data}:images"))
    assert message.startswith(f"{tmp_path / 'suite.yaml'}: ")
    assert expected.replace("NETS", nets) in message


def test_a_module_that_imports_a_missing_package_names_it(tmp_path: Path) -> None:
    (tmp_path / "needs_pkg_7.py").write_text("import lightgbm_not_here_zz\n\ndef build(a, b):\n"
                                             "    pass\n")
    _, data = _modules(tmp_path)
    message = _error(_suite(tmp_path, "python:needs_pkg_7:build", f"python:{data}:images"))
    assert message.endswith("models[0].model: python:needs_pkg_7:build: module needs_pkg_7 "
                            "imports lightgbm_not_here_zz, which is not installed: pip install "
                            "lightgbm-not-here-zz")


def test_a_missing_package_says_what_to_install_on_the_command_line(tmp_path: Path) -> None:
    path = write_suite(tmp_path, """
        datasets: {d: {source: "sklearn:iris"}}
        models: [{model: "python:lightgbm_missing_pkg:LGBMClassifier"}]
        """)
    result = run_cli("validate", str(path), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {path}: models[0].model: python:lightgbm_missing_pkg:"
                               f"LGBMClassifier: no module named 'lightgbm_missing_pkg' in ")
    assert lines[0].endswith("pip install lightgbm-missing-pkg")


@pytest.mark.parametrize("source, expected", [
    ("python:DATA:flat", "python:DATA:flat returned images of shape (30, 64); images are N x H x "
                         "W or N x H x W x C (a table: return (DataFrame, target))"),
    ("python:DATA:short_labels", "python:DATA:short_labels returned 30 images but labels of "
                                 "shape (10,); labels are N values, one per image"),
    ("python:DATA:one_array", "python:DATA:one_array returned an array of shape (30, 8, 8); it "
                              "must return (images, labels) as numpy arrays (images N x H x W "
                              "[x C], labels N) or (DataFrame, name of its target column)"),
    ("python:DATA:no_target", "python:DATA:no_target returned a DataFrame without its target "
                              "column: "),
    ("python:DATA:raises", "python:DATA:raises raised RuntimeError: no data today"),
    ("python:DATA:nothing", "datasets.d.source: python:DATA:nothing: module DATA has no "
                            "attribute 'nothing'"),
])
def test_bad_data_loaders_are_one_line(tmp_path: Path, source: str, expected: str) -> None:
    nets, data = _modules(tmp_path)
    message = _error(_suite(tmp_path, f"python:{nets}:build", source.replace("DATA", data)))
    assert f"datasets.d.source: {source.replace('DATA', data)}" in message
    assert expected.replace("DATA", data) in message


# ---------------------------------------------------------------- data loaders

def test_a_loader_of_images_and_labels(tmp_path: Path) -> None:
    from benchmark.datasets import load_splits

    nets, data = _modules(tmp_path)
    loaded = suite.load(write_suite(tmp_path, f"""
        datasets:
          d:
            source: "python:{data}:images"
            options: {{n: 90, channels: true}}
        models: [{{model: "python:{nets}:build"}}]
        """))
    entry = loaded.datasets["d"]
    assert entry.kind == "image"
    dataset, splits = load_splits(entry, 0)
    assert dataset.x.shape == (90, 8, 8, 3) and dataset.x.dtype == np.float32
    assert dataset.x.max() <= 1.0  # uint8 pixels divided by 255
    assert dataset.class_names == ["cat", "dog", "emu"]
    assert len(splits.train) + len(splits.validation) + len(splits.test) <= 90
    # Unknown options are refused as the built-in sources' are.
    message = _error(write_suite(tmp_path, f"""
        datasets:
          d: {{source: "python:{data}:images", options: {{size: 3}}}}
        models: [{{model: "python:{nets}:build"}}]
        """))
    assert f"datasets.d.options.size: unknown option of source 'python:{data}:images': 'size'" \
        in message


def test_a_loader_of_a_frame_and_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmark.datasets import load_splits

    monkeypatch.chdir(tmp_path)  # a relative path: from the current directory

    _, data = _modules(tmp_path)
    (tmp_path / "rows.csv").write_text("a,b,label\n" + "".join(
        f"{i},{i % 7},{'yes' if i % 2 else 'no'}\n" for i in range(60)))
    loaded = suite.load(write_suite(tmp_path, f"""
        datasets:
          t: {{source: "python:{data}:table", preprocess: {{scale: standard}}}}
          f: {{source: "python:{data}:from_file", path: rows.csv}}
        models: [{{model: "python:sklearn.tree:DecisionTreeClassifier"}}]
        """))
    assert loaded.datasets["t"].kind == "tabular"
    dataset, _ = load_splits(loaded.datasets["t"], 0)
    assert list(dataset.x.columns) == ["a", "b"] and dataset.class_names == ["x", "y", "z"]
    dataset, _ = load_splits(loaded.datasets["f"], 0)
    assert dataset.class_names == ["no", "yes"]
    # A Keras network takes images, not this table.
    nets, _ = _modules(tmp_path)
    message = _error(write_suite(tmp_path, f"""
        datasets: {{t: {{source: "python:{data}:table"}}}}
        models: [{{model: "python:{nets}:build"}}]
        """))
    assert f"models[0].model: model 'python:{nets}:build' takes image data, but dataset 't' " \
           f"(python:{data}:table) is tabular" in message


# ---------------------------------------------------------------- commands, records

def _copy_examples(tmp_path: Path) -> Path:
    folder = tmp_path / "examples"
    shutil.copytree(REPO / "examples", folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


@pytest.mark.slow
def test_validate_a_suite_with_user_code_without_tensorflow(tmp_path: Path) -> None:
    folder = _copy_examples(tmp_path)
    code = ("import sys; from benchmark import cli; code = cli.main(['validate', "
            f"{str(folder / 'suite.yaml')!r}]); "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)); "
            "sys.exit(code)")
    # From another directory: the modules are found next to the suite.
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300, env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "[]"
    assert f"{folder / 'suite.yaml'}: valid suite 'examples': 1 dataset(s) x 1 model(s)" \
        in result.stdout


def test_compare_lists_a_changed_user_source_as_a_change() -> None:
    from benchmark import compare

    def run(code: dict[str, str]) -> SimpleNamespace:
        return SimpleNamespace(suite_hash="h", suite={}, fingerprints={}, worker_machines=[],
                               machines=[], environment={"user_code": code})

    lines = compare.changes(run({"nets:small_cnn": "a" * 64, "data:digits": "b" * 64}),
                            run({"nets:small_cnn": "c" * 64, "data:digits": "b" * 64}))
    assert lines == [f"user code nets:small_cnn: source {'a' * 12} -> {'c' * 12}"]


def _database(db: Path) -> tuple[list[tuple], dict]:
    with sqlite3.connect(db) as connection:
        studies = connection.execute("SELECT model, model_name, model_info FROM bench_studies "
                                     "ORDER BY id").fetchall()
        environment = json.loads(connection.execute("SELECT environment FROM bench_runs")
                                 .fetchone()[0])
    return studies, environment


TREES = '''
from sklearn.tree import DecisionTreeClassifier


class Stump(DecisionTreeClassifier):
    """A shallow decision tree (user code)."""

    def __init__(self, max_depth=2, criterion="gini", min_samples_leaf=1, random_state=None):
        super().__init__(max_depth=max_depth, criterion=criterion,
                         min_samples_leaf=min_samples_leaf, random_state=random_state)


def rows():
    from sklearn.datasets import load_iris

    return load_iris(as_frame=True).frame, "target"
'''


def test_a_run_of_user_code_renders_again_without_the_module(tmp_path: Path) -> None:
    """The fast one: a user's estimator class and loader in one module, one
    trial; the module removed, `report` renders the stored run from the database."""
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "trees_local.py").write_text(TREES)
    path = write_suite(folder, """
        name: local
        datasets: {iris: {source: "python:trees_local:rows"}}
        models:
          - model: python:trees_local:Stump
            search: {max_depth: {low: 1, high: 3}}
        study: {n_trials: 1}
        report: {sections: [results, methods], figures: [confusion]}
        """)
    db = tmp_path / "b.db"
    storage = f"sqlite:///{db}"
    result = run_cli("run", str(path), "--storage", storage, "--reports-dir",
                     str(tmp_path / "reports"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    studies, environment = _database(db)
    assert [s[:2] for s in studies] == [("Stump", "python:trees_local:Stump")]
    info = json.loads(studies[0][2])
    assert (info["family"], info["description"]) == ("sklearn", "A shallow decision tree (user code).")
    assert info["knobs"]["max_depth"] == {"type": "int", "default": 2}
    assert set(environment["user_code"]) == {"trees_local:Stump", "trees_local:rows"}
    run_id = next((tmp_path / "reports" / "local").glob("2*")).name
    # The saved model scores new rows (from the module's folder: the pickle names
    # its class), one probability per class summing to 1.
    from sklearn.datasets import load_iris

    load_iris(as_frame=True).frame.head(5).to_csv(tmp_path / "new.csv", index=False)
    scored = run_cli("predict", run_id, str(tmp_path / "new.csv"), "--model", "Stump",
                     "--storage", storage, cwd=folder)
    assert scored.returncode == 0, scored.stderr
    table = list(csv.DictReader(io.StringIO(scored.stdout)))
    assert len(table) == 5
    assert all(abs(sum(float(row[f"p({k})"]) for k in range(3)) - 1) < 1e-6 for row in table)

    shutil.rmtree(folder)
    result = run_cli("report", run_id, "--storage", storage, "--reports-dir",
                     str(tmp_path / "again"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "again" / "local" / run_id / "report.html").read_text()
    # Described and cited from what the study stored: the family is scikit-learn's.
    assert "A shallow decision tree (user code)." in html
    assert "scikit-learn" in html and "TensorFlow" not in html


@pytest.mark.slow
def test_the_example_suite_runs_and_its_report_renders_without_the_module(tmp_path: Path) -> None:
    folder = _copy_examples(tmp_path)
    db = tmp_path / "b.db"
    storage = f"sqlite:///{db}"
    result = run_cli("run", str(folder / "suite.yaml"), "--storage", storage, "--reports-dir",
                     str(tmp_path / "reports"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "small_cnn" in result.stdout
    studies, environment = _database(db)
    assert [s[:2] for s in studies] == [("small_cnn", "python:nets:small_cnn")]
    info = json.loads(studies[0][2])
    assert info["family"] == "keras" and info["knobs"]["filters"] == {"type": "int", "default": 8}
    assert info["description"].startswith("A tiny CNN")
    import hashlib

    assert environment["user_code"] == {
        "nets:small_cnn": hashlib.sha256((folder / "nets.py").read_bytes()).hexdigest(),
        "data:digits": hashlib.sha256((folder / "data.py").read_bytes()).hexdigest()}
    run_id = next((tmp_path / "reports" / "examples").glob("2*")).name

    shutil.rmtree(folder)  # the user's module is gone
    result = run_cli("report", run_id, "--storage", storage, "--reports-dir",
                     str(tmp_path / "again"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    html = tmp_path / "again" / "examples" / run_id / "report.html"
    assert html.stat().st_size > 0
    assert "small_cnn" in html.read_text()


@pytest.mark.slow
def test_the_tabular_example_suite_runs(tmp_path: Path) -> None:
    pytest.importorskip("lightgbm")
    folder = _copy_examples(tmp_path)
    db = tmp_path / "b.db"
    result = run_cli("run", str(folder / "tabular.yaml"), "--storage", f"sqlite:///{db}",
                     "--reports-dir", str(tmp_path / "reports"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "[LightGBM]" not in result.stdout + result.stderr
    studies, environment = _database(db)
    assert [s[:2] for s in studies] == [
        ("extra_trees", "python:sklearn.ensemble:ExtraTreesClassifier"),
        ("lightgbm", "python:lightgbm:LGBMClassifier")]
    assert [json.loads(s[2])["family"] for s in studies] == ["sklearn", "sklearn"]
    assert set(environment["user_code"]) == {"sklearn.ensemble:ExtraTreesClassifier",
                                             "lightgbm:LGBMClassifier", "data:wine"}
