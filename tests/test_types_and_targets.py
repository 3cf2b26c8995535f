"""Types and targets that surprise (issue 18): a float knob with integer bounds,
a regression target, YAML's yes/no, and date columns. Generated data only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.cli import main
from benchmark.datasets import _preprocess, load, split
from benchmark.datasets._summary import summarize
from benchmark.errors import DataError, UserError
from benchmark.space import Space
from benchmark.suite import Preprocess, parse
from conftest import write_suite


def _suite(model: str, search: dict, source: str = "sklearn:breast_cancer") -> dict:
    return {"name": "t", "datasets": {"d": {"source": source}},
            "models": [{"model": model, "search": search}]}


def _refusal(data: dict) -> str:
    with pytest.raises(UserError) as error:
        parse(data, origin="s.yaml")
    message = str(error.value)
    assert "\n" not in message and len(message) < 300, message
    return message


def _validate(tmp_path: Path, capsys, text: str) -> tuple[int, list[str]]:
    code = main(["validate", str(write_suite(tmp_path, text))])
    return code, capsys.readouterr().err.strip().splitlines()


# ---------------------------------------------------------------- knob types


def test_a_float_knob_with_integer_bounds_is_searched_as_floats() -> None:
    import optuna
    from optuna.distributions import FloatDistribution

    suite = parse(_suite("svm", {"C": {"low": 1, "high": 100, "log": True}}), origin="s.yaml")
    space = Space.from_spec(suite.models[0].search)
    assert isinstance(space.distributions["C"], FloatDistribution)
    assert space.describe()["C"] == "[1, 100] (float, log)"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    drawn = [study.ask(space.distributions).params["C"] for _ in range(20)]
    assert all(isinstance(c, float) and 1 <= c <= 100 for c in drawn)
    assert sum(c != int(c) for c in drawn) == 20  # not C=9, 22, 12
    # Keras knobs follow their declared type the same way (dropout: float).
    keras = parse(_suite("alexnet", {"dropout": {"low": 0, "high": 1}}, "sklearn:digits"),
                  origin="s.yaml")
    assert keras.models[0].search["dropout"]["type"] == "float"


def test_integer_knobs_and_explicit_types_keep_their_ranges() -> None:
    from optuna.distributions import FloatDistribution, IntDistribution

    def kinds(model: str, search: dict) -> dict:
        entry = parse(_suite(model, search), origin="s.yaml").models[0]
        return {k: type(d) for k, d in Space.from_spec(entry.search).distributions.items()}

    assert kinds("random_forest", {"n_estimators": {"low": 10, "high": 500},
                                   "min_samples_split": {"low": 0.01, "high": 0.2}}) == {
        "n_estimators": IntDistribution, "min_samples_split": FloatDistribution}
    assert kinds("svm", {"C": {"low": 1, "high": 100, "type": "int"}}) == {"C": IntDistribution}
    # a knob that also takes a count keeps bounds that are only valid as integers
    assert kinds("hist_gradient_boosting", {"validation_fraction": {"low": 100, "high": 500}}) == {
        "validation_fraction": IntDistribution}
    # a suite without such ranges keeps its hash (no type: added where nothing changes)
    plain = _suite("svm", {"C": {"low": 0.01, "high": 100.0, "log": True}})
    assert "type" not in parse(plain, origin="s.yaml").models[0].search["C"]


def test_an_int_knob_with_float_bounds_is_one_line() -> None:
    message = _refusal(_suite("random_forest", {"n_estimators": {"low": 10.0, "high": 500}}))
    assert message.endswith("models[0].search.n_estimators: n_estimators of random_forest takes "
                            "integers (default 100), so its range needs integer bounds, got low=10.0")
    message = _refusal(_suite("random_forest", {"n_estimators": {"low": 10, "high": 500,
                                                                 "step": 2.5}}))
    assert "got step=2.5" in message
    # bounds valid in neither form are quoted as written
    assert "search.C: -5 is not valid for svm" in _refusal(_suite("svm", {"C": {"low": -5,
                                                                                "high": -1}}))


# ---------------------------------------------------------------- targets


def _churn(tmp_path: Path, n: int = 3000) -> str:
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2019-01-01")
    frame = pd.DataFrame({
        "customer_id": [f"c{i:05d}" for i in range(n)],
        "signup_date": (start + pd.to_timedelta(rng.integers(0, 1500, n), unit="D")).strftime("%Y-%m-%d"),
        "plan": rng.choice(["basic", "pro"], n),
        "tenure": rng.integers(1, 72, n),
        "total_charges": rng.gamma(2.0, 1000.0, n).round(2),
        "rating": rng.integers(1, 11, n) / 2,  # half stars: 10 classes, not a regression target
        "churned": rng.choice(["no", "yes"], n, p=[0.85, 0.15]),
    })
    path = tmp_path / "churn.csv"
    frame.to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize("stratify", ["true", "false"])
def test_a_continuous_target_is_refused_in_one_short_line(tmp_path: Path, capsys, stratify) -> None:
    path = _churn(tmp_path)
    distinct = pd.read_csv(path)["total_charges"].nunique()
    code, lines = _validate(tmp_path, capsys, f"""
        name: churn
        datasets:
          churn: {{source: csv, path: {path}, target: total_charges,
                   split: {{train: 0.6, validation: 0.2, test: 0.2, stratify: {stratify}}}}}
        models: [{{model: logistic_regression}}]
        """)
    assert code == 2 and len(lines) == 1 and len(lines[0]) < 400, lines
    assert "datasets.churn.target: column 'total_charges' has " in lines[0]
    assert f"{distinct} distinct numeric values in 3000 rows" in lines[0]
    assert "regression target" in lines[0]


def test_class_codes_and_few_numeric_levels_are_still_classes(tmp_path: Path) -> None:
    path = _churn(tmp_path, n=400)
    assert load("csv", path=path, target="rating").n_classes == 10
    assert load("csv", path=path, target="churned").n_classes == 2
    with pytest.raises(DataError, match="column 'tenure' has 71 distinct numeric values in 400 rows"):
        load("csv", path=path, target="tenure")  # 71 > max(20, 5% of 400)


def test_an_unquoted_yes_gets_the_hint_to_quote_it(tmp_path: Path, capsys) -> None:
    path = _churn(tmp_path, n=200)
    body = """
        name: churn
        datasets:
          churn:
            source: csv
            path: {path}
            target: churned
            positive_class: {value}
            preprocess: {{drop: [customer_id, signup_date], one_hot: [plan]}}
        models: [{{model: logistic_regression}}]
        """
    for value, quoted in (("yes", "'yes'"), ("no", "'no'"), ("on", "'yes'"), ("off", "'no'")):
        code, lines = _validate(tmp_path, capsys, body.format(path=path, value=value))
        assert code == 2 and len(lines) == 1, lines
        assert "not a class of" in lines[0] and "classes: no, yes" in lines[0]
        assert f"YAML reads an unquoted {quoted[1:-1]} as" in lines[0]
        assert f"positive_class: {quoted})" in lines[0]
    code, lines = _validate(tmp_path, capsys, body.format(path=path, value="'yes'"))
    assert code == 0, lines
    # the same for a binarized level, which would otherwise be 0 in every row
    frame = pd.DataFrame({"paperless": ["yes", "no"] * 15, "x": np.arange(30.0) % 7})
    with pytest.raises(DataError) as error:
        _preprocess.check(Preprocess(binarize={"paperless": True}), frame)
    assert str(error.value) == (
        "preprocess.binarize.paperless: True is not a level of column 'paperless'; levels: "
        "'no', 'yes' (YAML reads an unquoted yes as true; quote it: 'yes')")
    assert _preprocess.check(Preprocess(binarize={"paperless": "yes"}), frame).features == [
        "paperless_yes", "x"]


# ---------------------------------------------------------------- dates


def _dated(n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    days = pd.Timestamp("2021-03-01") + pd.to_timedelta(rng.permutation(n) * 3, unit="D")
    return pd.DataFrame({"joined": days.strftime("%Y-%m-%d"), "x": rng.normal(size=n),
                         "y": np.arange(n) % 2})


def test_dates_become_four_numbers_fitted_on_training_rows(tmp_path: Path) -> None:
    frame = _dated()
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    dataset = load("csv", path=str(path), target="y")
    parts = split(dataset, train=0.6, validation=0.2, test=0.2, stratify=True, seed=0)
    spec = Preprocess(dates=["joined"])
    fitted = _preprocess.check(spec, parts.train.x, dataset.x)
    assert fitted.features == ["joined_year", "joined_month", "joined_weekday", "joined_days", "x"]
    assert fitted.warnings == ()  # a date unique per row is no ID
    earliest = pd.to_datetime(parts.train.x["joined"]).min()
    assert fitted.dates == (("joined", str(earliest.date())),)
    pipeline = _preprocess.build(spec, list(dataset.x.columns)).fit(parts.train.x)
    out = pipeline.transform(parts.test.x)
    dates = pd.to_datetime(parts.test.x["joined"])
    assert out["joined_year"].tolist() == dates.dt.year.astype(float).tolist()
    assert out["joined_month"].tolist() == dates.dt.month.astype(float).tolist()
    assert out["joined_weekday"].tolist() == dates.dt.day_of_week.astype(float).tolist()
    assert out["joined_days"].tolist() == [float(d.days) for d in dates - earliest]
    assert (pipeline.transform(parts.train.x)["joined_days"] >= 0).all()
    # the report's data section gets what each date column became
    info = summarize(dataset, parts, fitted)["tabular"]["preprocessing"]
    assert info["dates"] == [{"column": "joined", "earliest": str(earliest.date()), "features": [
        "joined_year", "joined_month", "joined_weekday", "joined_days"]}]


def test_bad_dates_are_one_line_naming_the_column_and_a_value(tmp_path: Path, capsys) -> None:
    frame = _dated()
    frame.loc[100, "joined"] = "31st of Smarch"
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    suite = """
        name: dated
        datasets:
          d: {{source: csv, path: {path}, target: y, preprocess: {preprocess}}}
        models: [{{model: logistic_regression}}]
        """
    code, lines = _validate(tmp_path, capsys, suite.format(path=path, preprocess="{dates: [joined]}"))
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].endswith(
        "datasets.d.preprocess.dates[0]: column 'joined' has 1 value(s) that are not dates, e.g. "
        "'31st of Smarch'; correct them in the file (e.g. 2024-03-31) or list the column in "
        "preprocess.drop")
    frame.loc[100, "joined"] = None
    frame.to_csv(path, index=False)
    code, lines = _validate(tmp_path, capsys, suite.format(path=path, preprocess="{dates: [joined]}"))
    assert code == 2 and "column 'joined' has 1 missing date(s)" in lines[0], lines
    code, lines = _validate(tmp_path, capsys, suite.format(
        path=path, preprocess="{dates: [joined], fill: {joined: {strategy: most_frequent}}}"))
    assert code == 0, lines
    code, lines = _validate(tmp_path, capsys, suite.format(path=path, preprocess="{dates: [x]}"))
    assert code == 2 and "column 'x' holds numbers, not dates" in lines[0], lines
    code, lines = _validate(tmp_path, capsys, suite.format(
        path=path, preprocess="{dates: [joined], one_hot: [joined]}"))
    assert code == 2 and "column 'joined' is in both one_hot and dates" in lines[0], lines


def test_dates_in_varying_formats_and_the_suite_hash_without_dates() -> None:
    frame = _dated(40)
    frame.loc[0, "joined"] = "March 5, 2021"
    frame.loc[1, "joined"] = "2021-03-05T10:00:00+02:00"
    fitted = _preprocess.check(Preprocess(dates=["joined"]), frame.drop(columns="y"))
    assert fitted.n_features == 5
    assert "dates" not in Preprocess(drop=["a"]).model_dump(mode="json")
    assert Preprocess(dates=["a"]).model_dump(mode="json")["dates"] == ["a"]
