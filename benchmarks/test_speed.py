"""Our own speed, as pytest-benchmark tests: a slowdown of the tool's code is
caught like a model regression, against a saved baseline.

    .venv/bin/python -m pytest benchmarks/ -n 0 --benchmark-enable --benchmark-only --benchmark-autosave
    .venv/bin/python -m pytest benchmarks/ -n 0 --benchmark-enable --benchmark-only \\
        --benchmark-compare --benchmark-compare-fail=median:20%

The default test run does not collect this folder (pyproject's testpaths is
tests/) and the project's addopts disable benchmarks, hence --benchmark-enable.
A whole fit, render or search is one round (``benchmark.pedantic``); what a
round measures besides its time (seconds per epoch, resident memory,
milliseconds per trial) goes to ``extra_info``, which the saved JSON keeps.
The side-by-side scripts next to this file (overhead.py, scaling.py,
memory.py, precision.py) print the ratios.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))  # scaling.py, memory.py: the scripts' own helpers


@pytest.fixture(scope="module")
def digits_splits():
    from benchmark.datasets import load, split

    dataset = load("sklearn:digits")
    return dataset, split(dataset, train=0.7, validation=0.15, test=0.15, stratify=True, seed=0)




@pytest.mark.parametrize("through", ["tool", "plain_fit"])
def test_training_epoch(benchmark, digits_splits, through: str) -> None:
    """LeNet-5 on digits, 4 epochs: through the tool's fit (callbacks, tf.data
    pipeline) against a plain model.fit on the same arrays."""
    import keras

    from benchmark.metrics import metrics
    from benchmark.models import models
    from benchmark.training import keras as keras_training

    dataset, splits = digits_splits
    spec = models.get("lenet5")
    seconds: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            if epoch:  # each fit's first epoch traces the graph: not a steady epoch
                seconds.append(time.perf_counter() - self.started)

    def tool() -> None:
        fit = keras.Model.fit

        def timed(self, *args, **kwargs):
            kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), Clock()]
            return fit(self, *args, **kwargs)

        keras.Model.fit = timed
        try:
            keras_training.fit(spec, {"epochs": 4, "batch_size": 32}, splits, dataset.n_classes,
                               seed=0, metric=metrics.get("accuracy"))
        finally:
            keras.Model.fit = fit

    def plain() -> None:
        keras.utils.set_random_seed(0)
        model = spec.build(tuple(splits.train.x.shape[1:]), dataset.n_classes)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(splits.train.x, splits.train.y, batch_size=32, epochs=4, verbose=0,
                  validation_data=(splits.validation.x, splits.validation.y),
                  callbacks=[Clock()])

    benchmark.pedantic(tool if through == "tool" else plain, rounds=3, iterations=1,
                       warmup_rounds=1)
    benchmark.extra_info["seconds_per_epoch"] = statistics.median(seconds)


def test_report_rendering(benchmark, tmp_path: Path) -> None:
    """Context, figures, HTML and PDF of the stored test run (3 models)."""
    from benchmark.report import context as report_context
    from benchmark.report import render_run
    from benchmark.store import Store

    database = tmp_path / "stored.db"
    shutil.copy(REPO / "tests" / "data" / "stored_run.db", database)
    store = Store(f"sqlite:///{database}", create=False)
    run_id = store.resolve("latest").id
    rounds = iter(range(100))

    def render() -> None:
        ctx = report_context.build(store, run_id)
        render_run(store, run_id, tmp_path / f"out{next(rounds)}", ctx)

    benchmark.pedantic(render, rounds=3, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_database_cost_per_trial(benchmark, tmp_path: Path, backend: str,
                                 request: pytest.FixtureRequest) -> None:
    """What a trial costs the database with no training: claim a slot, ask, six
    attributes, ten per-epoch reports, tell (scaling.database_cost), 20 trials
    by one worker per round."""
    import scaling

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'cost.db'}"
    else:
        import postgres

        server = request.getfixturevalue("postgres_server")
        url = postgres.fresh_database(server, "bench_" + tmp_path.name[-12:].lower()
                                      .replace("-", "_"))
    per_trial: list[float] = []
    benchmark.pedantic(lambda: per_trial.append(scaling.database_cost(url, 1, 20)),
                       rounds=3, iterations=1)
    benchmark.extra_info["ms_per_trial"] = statistics.median(per_trial)


@pytest.fixture(scope="module")
def pixel_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MNIST-sized pixel CSV: 60,000 rows, a label and 784 pixel columns."""
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.integers(0, 256, size=(60_000, 784), dtype=np.uint8),
                         columns=[f"pixel{i}" for i in range(784)])
    frame.insert(0, "label", rng.integers(0, 10, size=60_000))
    path = tmp_path_factory.mktemp("pixels") / "train.csv"
    frame.to_csv(path, index=False)
    return path


def test_loading_a_60000_row_pixel_csv(benchmark, pixel_csv: Path) -> None:
    from benchmark.datasets import load

    dataset = benchmark.pedantic(load, args=("csv_pixels",),
                                 kwargs={"path": str(pixel_csv),
                                         "options": {"image_shape": [28, 28]}},
                                 rounds=3, iterations=1)
    assert dataset.x.shape == (60_000, 28, 28, 1)


def test_memory_of_a_long_search(benchmark, tmp_path: Path) -> None:
    """40 LeNet-5 trials of one epoch, workers replaced every 20: the resident
    memory of the worker and of the main process at trial 5 and at the last."""
    import memory

    rss: dict[str, float] = {}
    benchmark.pedantic(lambda: rss.update(memory.measure("lenet5", 40, 20, tmp_path)),
                       rounds=1, iterations=1)
    benchmark.extra_info.update({f"{key}_rss_mib": value for key, value in rss.items()})
