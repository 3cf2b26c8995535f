from __future__ import annotations

from pathlib import Path

import pytest

from benchmark import cli, suite
from benchmark.errors import UserError
from conftest import REPO, run_cli, write_suite

MINIMAL = """
    datasets:
      digits: {source: "sklearn:digits"}
    models:
      - model: lenet5
        search:
          learning_rate: {low: 0.001, high: 0.1, log: true}
    """


def test_shipped_suites_are_valid() -> None:
    import yaml

    for path in (REPO / "suites").glob("*.yaml"):
        # Suites of data that is not shipped name it with --set datasets.NAME.path=...
        datasets = yaml.safe_load(path.read_text())["datasets"]
        overrides = [f"datasets.{name}.path=data.csv" for name, entry in datasets.items()
                     if "path" in entry and entry["path"] is None]
        loaded = suite.load(path, overrides)
        assert loaded.name == path.stem


def test_a_suite_of_unshipped_data_says_how_to_give_the_path() -> None:
    with pytest.raises(UserError, match=r"promotion.yaml: datasets.promotion.path: source 'csv' needs"
                                        r" a path \(in the suite, or with --set "
                                        r"datasets.promotion.path=FILE\)$"):
        suite.load(REPO / "suites" / "promotion.yaml")


def test_defaults_and_name_from_file(tmp_path: Path) -> None:
    loaded = suite.load(write_suite(tmp_path, MINIMAL, "my-suite.yaml"))
    assert loaded.name == "my-suite"
    assert loaded.study.sampler.name == "tpe"
    assert loaded.study.objective_direction == "maximize"
    assert loaded.datasets["digits"].split.train == 0.7


def test_hash_ignores_layout_but_not_content(tmp_path: Path) -> None:
    a = suite.load(write_suite(tmp_path, MINIMAL, "a.yaml"))
    reformatted = MINIMAL.replace('{source: "sklearn:digits"}', '\n        source: sklearn:digits')
    b = suite.load(write_suite(tmp_path, "# comment\n" + reformatted, "a.yaml"))
    assert a.hash() == b.hash()
    c = suite.load(write_suite(tmp_path, MINIMAL.replace("0.1,", "0.2,"), "a.yaml"))
    assert c.hash() != a.hash()


def test_overrides_are_typed_and_validated(tmp_path: Path) -> None:
    path = write_suite(tmp_path, MINIMAL)
    loaded, text = suite.read(path, ["study.n_trials=7", "models[0].search.epochs=3",
                                     "datasets.digits.split={train: 0.5, validation: 0.25, test: 0.25}"])
    assert loaded.study.n_trials == 7
    assert loaded.models[0].search["epochs"] == 3
    assert loaded.datasets["digits"].split.test == 0.25
    assert "n_trials: 7" in text
    with pytest.raises(UserError, match=r"study\.n_trials: Input should be greater than or equal to 1"):
        suite.read(path, ["study.n_trials=0"])
    with pytest.raises(UserError, match="expected KEY.PATH=VALUE"):
        suite.read(path, ["study.n_trials"])


def _with_knobs(*lines: str) -> str:
    """MINIMAL with more entries in the model's search."""
    return MINIMAL.rstrip() + "".join(f"\n          {line}" for line in lines) + "\n"


BAD_INPUTS = [
    # (suite text, or None for a missing file; the message's expected fragments)
    (None, ["missing.yaml", "no such suite file"]),
    ("datasets: [a\nmodels: ]", ["invalid YAML at line 2", "column"]),
    (MINIMAL.replace("lenet5", "lenet"),
     ["models[0].model", "unknown model 'lenet'", "did you mean 'lenet5'", "custom_cnn"]),
    (MINIMAL.replace("sklearn:digits", "sklearn:digit"),
     ["datasets.digits.source", "did you mean 'sklearn:digits'"]),
    (MINIMAL + "study: {sampler: tpee}",
     ["study.sampler", "unknown sampler 'tpee'", "did you mean 'tpe'", "random"]),
    (MINIMAL + "study: {pruner: medain}", ["study.pruner", "did you mean 'median'", "hyperband"]),
    (MINIMAL + "study: {metric: acuracy}", ["study.metric", "did you mean 'accuracy'", "f1_macro"]),
    (MINIMAL.replace("low: 0.001, high: 0.1", "low: 0.1, high: 0.01"),
     ["models[0].search.learning_rate", "`low <= high` must hold", "low=0.1, high=0.01"]),
    (MINIMAL.replace("low: 0.001", "low: 0"),
     ["models[0].search.learning_rate", "`low > 0` must hold for `log=True`"]),
    (MINIMAL.replace('{source: "sklearn:digits"}',
                     '{source: "sklearn:digits", split: {train: 0.7, validation: 0.2, test: 0.2}}'),
     ["datasets.digits.split", "must sum to 1", "= 1.1"]),
    (MINIMAL + "study: {n_trails: 5}",
     ["study.n_trails", "unknown key 'n_trails'", "did you mean 'n_trials'"]),
    (MINIMAL.replace("learning_rate:", "learning_rat:"),
     ["models[0].search.learning_rat", "did you mean 'learning_rate'"]),
    (MINIMAL + "study: {pruner: {name: median, options: {warmup: 2}}}",
     ["study.pruner.options.warmup", "n_warmup_steps"]),
    (MINIMAL.replace("sklearn:digits", "sklearn:iris"),
     ["models[0].model", "takes image data", "'digits' (sklearn:iris) is tabular"]),
    # Knob values are checked against the builders' and the trainer's declared types.
    (_with_knobs("pooling: {choices: [avg, max]}"),
     ["models[0].search.pooling", "unknown pooling of lenet5: 'avg'", "did you mean 'average'"]),
    (_with_knobs("reduce_lr_monitor: val_acc"),
     ["models[0].search.reduce_lr_monitor", "'val_acc'", "val_accuracy"]),
    (_with_knobs("optimizer: {choices: [adam, sgdd]}"),
     ["models[0].search.optimizer", "'sgdd'", "did you mean 'sgd'"]),
    (_with_knobs("filters_1: {low: 4, high: 8.5}"),
     ["models[0].search.filters_1", "8.5 is not a valid filters_1 of lenet5", "an integer"]),
    (_with_knobs("grey: 'yes'"),
     ["models[0].search.grey", "'yes' is not a valid grey", "true or false"]),
    (_with_knobs("pooling: {low: 1, high: 2}"),
     ["models[0].search.pooling", "searched with 'choices', not a range"]),
    # The smallest image an architecture takes depends on its searched knobs.
    (_with_knobs("kernel_size: {choices: [3, 7]}", "image_size: 16"),
     ["models[0].search.image_size", "lenet5 needs images of at least 22x22 pixels with "
      "kernel_size 7", "got image_size 16"]),
    (MINIMAL.replace("lenet5", "simple_cnn"),
     ["models[0].search.image_size", "simple_cnn needs images of at least 18x18 pixels",
      "got the 8x8 images of digits", "set image_size"]),
]


@pytest.mark.parametrize("text, fragments", BAD_INPUTS,
                         ids=[f[1][0] if f[0] is None else f[1][1] for f in BAD_INPUTS])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_input_is_one_line_exit_2_nothing_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
        command: str, text: str | None, fragments: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "missing.yaml" if text is None else write_suite(tmp_path, text)
    assert cli.main([command, str(path)]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {path}")
    for fragment in fragments:
        assert fragment in lines[0]
    assert out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [] if text is None else [path.name])  # no reports/, no database


def test_bad_input_from_the_command_line_has_no_traceback(tmp_path: Path) -> None:
    path = write_suite(tmp_path, MINIMAL + "study: {n_trails: 5}")
    result = run_cli("run", str(path), cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "reports").exists()


def test_validate_reports_what_it_checked(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["validate", str(REPO / "suites" / "cnn.yaml")]) == 0
    out = capsys.readouterr().out
    assert "valid suite 'cnn'" in out and "2 model(s)" in out


PREPROCESS_SEARCH = """
    datasets:
      wine:
        source: sklearn:wine
        preprocess: {scale: {choices: [standard, minmax]}, pca: {choices: [null, 0.9, 3]}}
    models:
      - model: logistic_regression
        search: {C: {low: 0.01, high: 10.0, log: true}}
    """


def test_preprocess_choices_validate_and_become_study_parameters(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from optuna.distributions import CategoricalDistribution

    from benchmark.space import Space

    loaded = suite.load(write_suite(tmp_path, PREPROCESS_SEARCH))
    preprocess = loaded.datasets["wine"].preprocess
    assert preprocess.searched() == {"preprocess.scale": ["standard", "minmax"],
                                     "preprocess.pca": [None, 0.9, 3]}
    space = Space.for_study(loaded.models[0].search, preprocess)
    assert list(space.distributions) == ["C", "preprocess.scale", "preprocess.pca"]
    assert space.distributions["preprocess.pca"] == CategoricalDistribution([None, 0.9, 3])
    # A trial's preprocess.* values go to the pipeline, the rest to the model.
    chosen, rest = preprocess.chosen({"C": 1.0, "preprocess.pca": 0.9,
                                      "preprocess.scale": "minmax"})
    assert (chosen.pca, chosen.scale, rest) == (0.9, "minmax", {"C": 1.0})
    assert len(preprocess.settings()) == 6 and preprocess.settings()[0][0] == {
        "preprocess.scale": "standard", "preprocess.pca": None}
    # validate fits each combination on the training split and says what it gives.
    assert cli.main(["validate", str(tmp_path / "suite.yaml")]) == 0
    assert "3 to 13 features after preprocessing" in capsys.readouterr().out


def test_plain_preprocess_steps_serialize_as_before() -> None:
    """Suites without choices keep their hash (it is taken of this dump)."""
    plain = suite.Preprocess.model_validate({"scale": "standard", "pca": 0.9})
    assert plain.model_dump(mode="json") == {"drop": [], "fill": {}, "ordinal": {}, "binarize": {},
                                             "one_hot": [], "scale": "standard", "pca": 0.9}
    assert plain.searched() == {} and plain.settings() == [({}, plain)]
    searched = suite.Preprocess.model_validate({"pca": {"choices": [None, 0.9]}})
    assert searched.model_dump(mode="json")["pca"] == {"choices": [None, 0.9]}
    # What a worker rebuilds from the data set's JSON is the same preprocessing.
    assert suite.Preprocess.model_validate_json(searched.model_dump_json()) == searched
