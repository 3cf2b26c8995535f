"""The tool's training overhead: seconds per epoch of a model trained through
``benchmark.training.keras.fit`` (with its callbacks, its tf.data pipeline and an
Optuna trial that reports every epoch to a SQLite study, as in a run) against the
same model trained by a plain ``model.fit`` on the same arrays, measured side by
side, interleaved, in one run.

    python benchmarks/overhead.py [--model lenet5] [--epochs 6] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lenet5")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    import keras
    import optuna

    from benchmark.datasets import load, split
    from benchmark.metrics import metrics
    from benchmark.models import models
    from benchmark.store import Store, optuna_storage
    from benchmark.training import keras as keras_training

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dataset = load("sklearn:digits")
    splits = split(dataset, train=0.7, validation=0.15, test=0.15, stratify=True, seed=0)
    spec = models.get(args.model)
    params = {"epochs": args.epochs, "batch_size": args.batch_size}

    def plain() -> float:
        keras.utils.set_random_seed(0)
        model = spec.build(tuple(splits.train.x.shape[1:]), dataset.n_classes)
        model.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        # Both sides are timed the same way: from one epoch's end to the next.
        stamps: list[float] = []
        timer = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda e, logs: stamps.append(time.perf_counter()))
        model.fit(splits.train.x, splits.train.y, validation_data=(splits.validation.x, splits.validation.y),
                  batch_size=args.batch_size, epochs=args.epochs, verbose=0, callbacks=[timer])
        return statistics.median(b - a for a, b in zip(stamps, stamps[1:]))

    # The run's own storage: each epoch's report is a write to this database.
    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'overhead.db'}"
    Store(url)
    storage = optuna_storage(url)

    def tool() -> float:
        study = optuna.create_study(storage=storage, direction="maximize",
                                    pruner=optuna.pruners.NopPruner())
        trial = study.ask()
        stamps: list[float] = []

        class Stamped(list):
            def append(self, item):  # called by the tool's history callback at each epoch end
                stamps.append(time.perf_counter())
                super().append(item)

        keras_training.fit(spec, params, splits, dataset.n_classes, seed=0,
                           metric=metrics.get("accuracy"), trial=trial, history=Stamped())
        return statistics.median(b - a for a, b in zip(stamps, stamps[1:]))

    rows = []
    for round_ in range(args.rounds):
        a, b = plain(), tool()
        rows.append((a, b))
        print(f"round {round_ + 1}: plain model.fit {a * 1000:7.1f} ms/epoch   "
              f"through the tool {b * 1000:7.1f} ms/epoch   ratio {b / a:.3f}")
    a = statistics.median(r[0] for r in rows)
    b = statistics.median(r[1] for r in rows)
    print(f"median: plain {a * 1000:.1f} ms/epoch, tool {b * 1000:.1f} ms/epoch, "
          f"overhead {100 * (b / a - 1):+.1f}% ({args.model}, batch {args.batch_size}, "
          f"{len(splits.train)} training images)")


if __name__ == "__main__":
    main()
