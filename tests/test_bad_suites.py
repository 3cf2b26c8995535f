"""Suites that attack or lie: duplicate keys, alias bombs, names that become
paths, out-of-range values, options Optuna and scikit-learn refuse, bad
--set paths. Each is one line naming the key, exit code 2, nothing written.
The generated corpus of mutated shipped suites is in test_suite_corpus.py."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from benchmark import cli, suite
from benchmark.errors import UserError
from conftest import REPO, write_suite

BASE = textwrap.dedent("""
    datasets:
      iris: {source: "sklearn:iris"}
    models:
      - model: svm
        search:
          C: {low: 0.1, high: 10.0, log: true}
      - model: knn
    study:
      n_trials: 2
    """)

KERAS = textwrap.dedent("""
    datasets:
      digits: {source: "sklearn:digits"}
    models:
      - model: lenet5
        search:
          learning_rate: {low: 0.001, high: 0.1, log: true}
    """)


def _refused(tmp_path: Path, text: str, overrides: list[str] | None = None,
             name: str = "suite.yaml") -> str:
    """The one-line message suite.read gives ``text``."""
    path = write_suite(tmp_path, text, name)
    with pytest.raises(UserError) as error:
        suite.read(path, overrides)
    message = str(error.value)
    assert "\n" not in message and len(message) <= suite.MAX_MESSAGE, message
    return message


def _cli_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
                 text: str, command: str = "run", overrides: list[str] = ()) -> str:
    """``command`` on the suite: exit 2, one line on stderr, no reports/ and no database."""
    monkeypatch.chdir(tmp_path)
    path = write_suite(tmp_path, text)
    sets = [arg for override in overrides for arg in ("--set", override)]
    assert cli.main([command, str(path), *sets]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    return err.strip()


# ---------------------------------------------------------------- 1. duplicate keys

@pytest.mark.parametrize("text, where, lines", [
    (BASE + "study:\n  n_trials: 50\n", "study", (9, 11)),
    (BASE.replace("n_trials: 2", "n_trials: 2\n  n_trials: 50"), "study.n_trials", (10, 11)),
    (BASE.replace('iris: {source: "sklearn:iris"}',
                  'iris: {source: "sklearn:iris"}\n  iris: {source: "sklearn:wine"}'),
     "datasets.iris", (3, 4)),
    (BASE.replace("C: {low: 0.1, high: 10.0, log: true}",
                  "C: 1.0\n      kernel: rbf\n      C: 2.0"), "models[0].search.C", (7, 9)),
    (BASE.replace("{low: 0.1, high: 10.0, log: true}", "{low: 0.1, high: 10.0, low: 1.0}"),
     "models[0].search.C.low", (7, 7)),
])
def test_a_duplicate_key_is_refused_with_both_lines(tmp_path: Path, text: str, where: str,
                                                    lines: tuple[int, int]) -> None:
    message = _refused(tmp_path, text)
    assert message == (f"{tmp_path / 'suite.yaml'}: {where}: duplicate key "
                       f"(lines {lines[0]} and {lines[1]}); keep one")


def test_a_duplicate_key_in_a_set_value_is_refused(tmp_path: Path) -> None:
    message = _refused(tmp_path, BASE, ["study={n_trials: 1, n_trials: 50}"])
    assert message == "--set study: n_trials: duplicate key (lines 1 and 1); keep one"


def test_python_object_tags_stay_refused(tmp_path: Path) -> None:
    for tag in ("!!python/object/apply:os.system ['touch pwned']", "!!python/name:os.system",
                "!!binary aGVsbG8=", "!!set {a: null}"):
        message = _refused(tmp_path, BASE + f"description: {tag}\n")
        assert "could not determine a constructor" in message
    assert not (tmp_path / "pwned").exists()


def test_a_date_stays_text(tmp_path: Path) -> None:
    loaded = suite.load(write_suite(tmp_path, BASE + "description: 2024-01-31\n"))
    assert loaded.description == "2024-01-31"


# ---------------------------------------------------------------- 2. aliases

# Under a kilobyte that stands for 10**9 strings (the was 821 bytes).
BILLION_LAUGHS = 'lol: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + \
    "".join(f"l{n}: &{chr(98 + n)} [{', '.join([f'*{chr(97 + n)}'] * 10)}]\n" for n in range(8))


def test_a_billion_laughs_suite_is_refused_before_it_expands(tmp_path: Path) -> None:
    """Expanded, the last list holds 10**9 strings: refused from the node graph,
    before PyYAML or pydantic builds or walks it (else validate eats memory and hangs)."""
    text = BILLION_LAUGHS + textwrap.dedent(BASE) + "report:\n  authors: *i\n"
    assert len(text.encode()) < 1000
    message = _refused(tmp_path, text)
    assert message == f"{tmp_path / 'suite.yaml'}: l3: aliases (*name) expand this to more than " \
                      "100,000 values; write the values out"


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    message = _refused(tmp_path, "x: &a [1, *a]\n" + textwrap.dedent(BASE))
    assert "x[1]: an alias (*name) refers to a value that contains it" in message


def test_a_few_aliases_still_work(tmp_path: Path) -> None:
    text = textwrap.dedent(BASE).replace("C: {low: 0.1, high: 10.0, log: true}",
                                         "C: &c {low: 0.1, high: 10.0, log: true}").replace(
        "  - model: knn\n", "  - model: knn\n  - {model: logistic_regression, search: {C: *c}}\n")
    loaded = suite.load(write_suite(tmp_path, text))
    assert loaded.models[2].search["C"] == {"low": 0.1, "high": 10.0, "log": True}


# ---------------------------------------------------------------- 3. --set

@pytest.mark.parametrize("override, expected", [
    ("models[5]=svm", "--set models[5]: models has 2 entries (models[0] to models[1]), "
                      "so there is no models[5]"),
    ("models.foo=1", "--set models.foo: models is a list; use models[INDEX].foo (INDEX 0 to 1)"),
    (".=5", "--set '.': not a key path; write KEY.PATH=VALUE"),
    ("a..b=5", "--set 'a..b': not a key path"),
    ("models[x]=5", "--set 'models[x]': not a key path"),
    ("datasets[0].source=x", "--set datasets[0].source: datasets is a mapping, not a list; "
                             "use datasets.NAME.source (NAME one of: iris)"),
    ("study.n_trials.x=1", "--set study.n_trials.x: study.n_trials holds 2, not a mapping"),
    ("models[1].model.x[3]=1", "--set models[1].model.x[3]: models[1].model holds 'knn'"),
    ("=5", "expected KEY.PATH=VALUE"),
])
def test_a_bad_set_path_is_one_line(tmp_path: Path, override: str, expected: str) -> None:
    assert expected in _refused(tmp_path, BASE, [override])


def test_set_fills_a_null_section(tmp_path: Path) -> None:
    loaded = suite.load(write_suite(tmp_path, BASE + "report:\n"), ["report.title=T"])
    assert loaded.report.title == "T"


def test_set_errors_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture) -> None:
    for override in ("models[5]=svm", "models.foo=1", ".=5"):
        assert _cli_refuses(tmp_path, monkeypatch, capsys, BASE, "validate", [override]) \
            .startswith("error: --set ")


# ---------------------------------------------------------------- 4. names that become paths

BAD_NAMES = ["..", ".", ".hidden", "a/b", "../up", "a\\b", "a b", "a\x00b", "x" * 65, "",
             "r\u00e9sum\u00e9", "<script>"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=[repr(n)[:12] for n in BAD_NAMES])
def test_names_that_become_paths_are_checked(tmp_path: Path, name: str) -> None:
    quoted = '"' + name.replace("\\", "\\\\").replace("\x00", "\\0") + '"'
    for text, where in [
        (BASE + f"name: {quoted}\n", "name"),
        (BASE.replace("- model: knn", f"- model: knn\n    name: {quoted}"), "models[1].name"),
        (BASE.replace('iris: {source: "sklearn:iris"}', f'{quoted}: {{source: "sklearn:iris"}}'),
         "datasets."),
    ]:
        message = _refused(tmp_path, text)
        assert f"suite.yaml: {where}" in message
        assert "not a valid" in message and "letters, digits, '_', '-' and '.' (not first)" in message


def test_a_suite_named_by_its_file_needs_a_valid_file_name(tmp_path: Path) -> None:
    message = _refused(tmp_path, BASE, name="my suite.yaml")
    assert message.endswith("name: the suite has no 'name:', and its file name 'my suite' is not "
                            "a valid name (letters, digits, '_', '-' and '.' (not first), at most "
                            "64 characters, as it names files and folders); add a 'name:'")


@pytest.mark.parametrize("text", [
    BASE + "name: ..\n",
    BASE + "name: ../../escaped\n",
    BASE.replace("- model: knn", "- model: knn\n    name: lr/one"),
    BASE.replace('iris: {source: "sklearn:iris"}', '"../x": {source: "sklearn:iris"}'),
])
def test_no_suite_makes_run_write_outside_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture, text: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    assert "not a valid" in _cli_refuses(work, monkeypatch, capsys, text)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_names_of_the_shipped_suites_and_tests_stay_valid(tmp_path: Path) -> None:
    text = BASE + "name: my_suite-2.1\n"
    text = text.replace("- model: knn", "- model: knn\n    name: knn.v2-b_1")
    text = text.replace('iris: {source: "sklearn:iris"}', 'iris_2.v-1: {source: "sklearn:iris"}')
    loaded = suite.load(write_suite(tmp_path, text))
    assert (loaded.name, loaded.models[1].label, list(loaded.datasets)) == \
        ("my_suite-2.1", "knn.v2-b_1", ["iris_2.v-1"])


# ---------------------------------------------------------------- 5. out-of-range values

@pytest.mark.parametrize("text, expected", [
    (KERAS + "      epochs: -1\n",
     "models[0].search.epochs: -1 is not a valid epochs of lenet5; valid: an integer >= 1"),
    (KERAS + "      batch_size: 0\n",
     "models[0].search.batch_size: 0 is not a valid batch_size of lenet5; valid: an integer >= 1"),
    (KERAS + "      batch_size: {choices: [32, 0]}\n",
     "models[0].search.batch_size: 0 is not a valid batch_size"),
    (KERAS + "      momentum: 1.5\n", "momentum of lenet5; valid: a number >= 0 and <= 1"),
    (KERAS + "      epochs: {low: 2, high: 8, type: float}\n",
     "models[0].search.epochs: 2.0 is not a valid epochs of lenet5; valid: an integer >= 1"),
    (KERAS.replace("low: 0.001", "low: .nan"),
     "models[0].search.learning_rate: nan is not a finite number"),
    (KERAS.replace("high: 0.1", "high: .inf"),
     "models[0].search.learning_rate: inf is not a finite number"),
    (KERAS.replace("{low: 0.001, high: 0.1, log: true}", "-.inf"),
     "models[0].search.learning_rate: -inf is not a finite number"),
    (KERAS.replace("{low: 0.001, high: 0.1, log: true}", "{choices: [0.01, .nan]}"),
     "models[0].search.learning_rate: nan is not a finite number"),
    (KERAS.replace("{low: 0.001, high: 0.1, log: true}", "{low: 0.001, high: 1" + "0" * 400 + "}"),
     "models[0].search.learning_rate: 1000000000000"),
    (KERAS.replace("{low: 0.001, high: 0.1, log: true}", "{low: 0.001, high: 0.1, log: 'yes'}"),
     "'log' must be true or false, got 'yes'"),
    (KERAS.replace("{low: 0.001, high: 0.1, log: true}", "{choices: [[0.1], 0.2]}"),
     "'choices' must be null, true/false, numbers or strings, got [0.1]"),
    (BASE.replace("n_trials: 2", "timeout: .inf"), "study.timeout: Input should be a finite number"),
    (BASE.replace("n_trials: 2", "n_trials: true"),
     "study.n_trials: Input should be a valid integer, got True"),
    (BASE.replace("n_trials: 2", 'n_trials: "1"'),
     "study.n_trials: Input should be a valid integer, got '1'"),
    (BASE.replace("n_trials: 2", "n_trials: 2\n  timeout: '60'"),
     "study.timeout: Input should be a valid number, got '60'"),
    (BASE + "nightly: {min_change: .nan}\n", "nightly.min_change: Input should be a finite number"),
    (BASE.replace('{source: "sklearn:iris"}', '{source: "sklearn:iris", split: {train: .nan}}'),
     "datasets.iris.split.train: Input should be a finite number"),
])
def test_out_of_range_values_are_refused(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _refused(tmp_path, text)


# ---------------------------------------------------------------- 6. sampler and pruner options

@pytest.mark.parametrize("study, expected", [
    ("pruner: threshold", "study.pruner: pruner 'threshold' fails: Either lower or upper must be "
                          "specified."),
    ("pruner: {name: median, options: {n_warmup_steps: -1}}",
     "study.pruner: pruner 'median' with options {'n_warmup_steps': -1} fails: Number of warmup "
     "steps cannot be negative"),
    ("pruner: {name: hyperband, options: {min_resource: x}}", "study.pruner: pruner 'hyperband'"),
    ("pruner: percentile", "study.pruner: pruner 'percentile' fails: "),
    ("sampler: {name: tpe, options: {n_startup_trials: abc}}",
     "study.sampler: sampler 'tpe' with options {'n_startup_trials': 'abc'} fails: '<' not "
     "supported"),
    ("sampler: {name: nsga2, options: {population_size: 1}}",
     "study.sampler: sampler 'nsga2' with options {'population_size': 1} fails: "
     "`population_size` must be greater than or equal to 2."),
])
def test_sampler_and_pruner_options_are_tried_by_validate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
        study: str, expected: str) -> None:
    text = BASE.replace("n_trials: 2", f"n_trials: 2\n  {study}")
    assert expected in _refused(tmp_path, text)
    # run refuses it before anything is stored: no failed run row, no report folder.
    assert expected in _cli_refuses(tmp_path, monkeypatch, capsys, text, "run")


def test_valid_sampler_and_pruner_options_pass_and_print_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    text = BASE.replace("n_trials: 2", "n_trials: 2\n  sampler: {name: random}\n"
                                       "  pruner: {name: threshold, options: {lower: 0.1}}")
    loaded = suite.load(write_suite(tmp_path, text))
    assert loaded.study.pruner.options == {"lower": 0.1}
    out, err = capsys.readouterr()
    assert out == "" and err == ""


# ---------------------------------------------------------------- 7. scikit-learn knobs

@pytest.mark.parametrize("model, search, expected", [
    ("svm", "C: {low: -5, high: -1}",
     "models[1].search.C: -5 is not valid for svm: The 'C' parameter of SVC must be a float in "
     "the range (0.0, inf]"),
    ("svm", "C: {low: 1, high: 2}\n      kernel: {choices: [rbf, rbff]}",
     "models[1].search.kernel: 'rbff' is not valid for svm: The 'kernel' parameter of SVC must "
     "be a str among"),
    ("random_forest", "max_depth: {choices: [100, abc, null, 2.5]}",
     "models[1].search.max_depth: 'abc' is not valid for random_forest: The 'max_depth' "
     "parameter of RandomForestClassifier must be an int in the range [1, inf) or None"),
    ("random_forest", "n_estimators: {low: 10, high: 100, type: float}",
     "models[1].search.n_estimators: 10.0 is not valid for random_forest"),
    ("knn", "weights: alexnet",
     "models[1].search.weights: 'alexnet' is not valid for knn: The 'weights' parameter of "
     "KNeighborsClassifier must be a str among"),
    ("hist_gradient_boosting", "learning_rate: {low: 0.0, high: 0.3}",
     "models[1].search.learning_rate: 0.0 is not valid for hist_gradient_boosting"),
    ("decision_tree", "min_samples_leaf: {low: 0, high: 5}",
     "models[1].search.min_samples_leaf: 0 is not valid for decision_tree"),
])
def test_scikit_learn_checks_its_own_knobs(tmp_path: Path, model: str, search: str,
                                           expected: str) -> None:
    text = BASE.replace("- model: knn", f"- model: {model}\n    search:\n      {search}")
    message = _refused(tmp_path, text)
    assert expected in message
    assert "Got" not in message  # the value is quoted once, first


def test_every_scikit_learn_model_accepts_its_defaults_and_refuses_nonsense() -> None:
    """The check relies on fit checking the parameters before the data: if a
    release turned that round, this fails instead of the check going quiet."""
    from benchmark.models import models

    sklearn_models = [spec for _, spec in models.items() if spec.family == "sklearn"]
    assert len(sklearn_models) >= 6
    for spec in sklearn_models:
        defaults = spec.architecture_defaults()
        for name, value in defaults.items():
            assert spec.parameter_problem(name, value) is None, (spec.name, name)
        refused = [name for name in defaults
                   if spec.parameter_problem(name, "surely-not-valid") is not None]
        assert len(refused) >= len(defaults) // 2, (spec.name, refused)


# ---------------------------------------------------------------- 8. misleading messages

@pytest.mark.parametrize("text, expected", [
    (BASE.replace("n_trials: 2", "n_trials: 2\n  seed: -1"),
     "study.seed: a seed is an integer from 0 to 2147483647, got -1"),
    (BASE.replace("n_trials: 2", "n_trials: 2\n  seed: 4294967296"),
     "study.seed: a seed is an integer from 0 to 2147483647, got 4294967296"),
    (BASE.replace('{source: "sklearn:iris"}', '{source: "sklearn:iris", split: {seed: -3}}'),
     "datasets.iris.split.seed: a seed is an integer from 0 to 2147483647, got -3"),
    (BASE.replace("n_trials: 2", "n_trials: 2\n  seed: 1.5"),
     "study.seed: Input should be a valid integer, got 1.5"),
])
def test_a_bad_seed_is_blamed_on_the_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture, text: str,
                                          expected: str) -> None:
    assert expected in _cli_refuses(tmp_path, monkeypatch, capsys, text, "validate")


@pytest.mark.parametrize("text", [
    BASE.replace("n_trials: 2", "n_trials: [" + ", ".join(["123456789"] * 200) + "]"),
    BASE.replace("n_trials: 2", "n_trials: {" + ", ".join(f"k{i}: {i}" for i in range(200)) + "}"),
    BASE.replace("n_trials: 2", "metric: " + "x" * 2000),
    BASE.replace("n_trials: 2", "x" * 2000 + ": 1"),
    BASE.replace('iris: {source: "sklearn:iris"}', '"' + "\\n" * 50 + 'a": {source: "sklearn:iris"}'),
    BASE.replace("{low: 0.1, high: 10.0, log: true}",
                 "{choices: [" + ", ".join(["[1, 2, 3, 4, 5, 6, 7, 8, 9]"] * 50) + "]}"),
    BASE.replace("- model: knn", "- model: knn\n    search: {weights: " + "y" * 3000 + "}"),
    BASE + "description: " + "[" * 30 + "]" * 30 + "\n",
])
def test_no_error_line_quotes_a_whole_structure(tmp_path: Path, text: str) -> None:
    message = _refused(tmp_path, text)
    prefix = f"{tmp_path / 'suite.yaml'}: "
    assert message.startswith(prefix) and len(message) - len(prefix) <= 250, message


# ---------------------------------------------------------------- 8. searched preprocessing

@pytest.mark.parametrize("step, expected", [
    ("pca: {choices: [null, 1.5]}",
     "preprocess.pca.choices[1]: pca is a fraction of variance in (0, 1) or a number of "
     "components, got 1.5"),
    ("pca: {choices: [0.9, 0]}",
     "preprocess.pca.choices[1]: pca needs at least 1 component, got 0"),
    ("pca: {choices: [0.9, true]}",
     "preprocess.pca.choices[1]: True is not a valid pca; valid: a fraction of variance in (0, 1), "
     "a number of components (an integer >= 1) or null"),
    ("pca: {choices: [null, null]}",
     "preprocess.pca.choices[1]: null is listed twice; list each choice once"),
    ("pca: {choices: []}", "preprocess.pca.choices: 'choices' must be a non-empty list, got []"),
    ("pca: {low: 0.5, high: 0.9}", "preprocess.pca.low: unknown key 'low'; valid: choices "
                                   "(preprocess.pca is searched with choices only, not a range)"),
    ("scale: {choices: [standard, minmx]}",
     "preprocess.scale.choices[1]: 'minmx' is not a valid scale; valid: 'standard', 'minmax' or "
     "null (did you mean 'minmax'?)"),
    ("scale: {choice: [standard]}",
     "preprocess.scale.choice: unknown key 'choice' (did you mean 'choices'?); valid: choices"),
])
def test_bad_preprocess_choices_are_one_line_naming_the_choice(tmp_path: Path, step: str,
                                                               expected: str) -> None:
    text = BASE.replace('iris: {source: "sklearn:iris"}',
                        'iris: {source: "sklearn:iris", preprocess: {' + step + '}}')
    assert _refused(tmp_path, text) == f"{tmp_path / 'suite.yaml'}: datasets.iris.{expected}"


def test_a_pca_choice_the_data_cannot_give_names_the_choice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    text = BASE.replace('iris: {source: "sklearn:iris"}',
                        'iris: {source: "sklearn:iris", preprocess: {pca: {choices: [null, 2, 9]}}}')
    message = _cli_refuses(tmp_path, monkeypatch, capsys, text)  # iris has 4 columns
    assert "datasets.iris.preprocess.pca.choices[2]: n_components=9 must be between" in message
