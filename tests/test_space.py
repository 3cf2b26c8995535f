from __future__ import annotations

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from benchmark.space import Space, to_distribution


def test_entry_kinds() -> None:
    space = Space.from_spec({
        "lr": {"low": 1e-4, "high": 1e-1, "log": True},
        "filters": {"low": 8, "high": 32, "step": 8},
        "dropout": {"low": 0.0, "high": 0.5, "step": 0.1},
        "units": {"low": 16, "high": 64, "type": "int"},
        "optimizer": {"choices": ["adam", "sgd"]},
        "epochs": 5,
        "kernel": [3, 3],
    })
    assert space.distributions["lr"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert space.distributions["filters"] == IntDistribution(8, 32, step=8)
    assert space.distributions["dropout"] == FloatDistribution(0.0, 0.5, step=0.1)
    assert isinstance(space.distributions["units"], IntDistribution)
    assert space.distributions["optimizer"] == CategoricalDistribution(["adam", "sgd"])
    assert space.fixed == {"epochs": 5, "kernel": [3, 3]}


def test_sampled_values_stay_in_range() -> None:
    space = Space.from_spec({"filters": {"low": 8, "high": 32, "step": 8},
                             "lr": {"low": 1e-4, "high": 1e-1, "log": True}})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(20):
        params = study.ask(space.distributions).params
        assert params["filters"] in {8, 16, 24, 32}
        assert 1e-4 <= params["lr"] <= 1e-1


@pytest.mark.parametrize("spec, message", [
    ({"low": 2, "high": 1}, "`low <= high` must hold"),
    ({"low": 0.0, "high": 1.0, "log": True}, "`low > 0` must hold"),
    ({"low": 1}, "needs both 'low' and 'high'"),
    ({"low": 1, "high": 2, "stepp": 1}, "unknown range key"),
    ({"low": "a", "high": 2}, "'low' must be a number"),
    ({"choices": []}, "non-empty list"),
    ({"low": 1.5, "high": 3, "type": "int"}, "integer bounds"),
])
def test_invalid_entries(spec: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        to_distribution(spec)


def test_describe() -> None:
    text = Space.from_spec({"lr": {"low": 1e-4, "high": 0.1, "log": True},
                            "opt": {"choices": ["adam", "sgd"]}, "epochs": 3}).describe()
    assert text == {"lr": "[0.0001, 0.1] (float, log)", "opt": "{adam, sgd}", "epochs": "3 (fixed)"}
