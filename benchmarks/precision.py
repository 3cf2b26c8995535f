"""Seconds per epoch of one network under each speed knob (``precision``,
``jit_compile``), trained through ``benchmark.training.keras.fit`` on the same
data with the same seed, measured side by side, interleaved, in one run; and
whether each knob keeps the float32 accuracy.

    python benchmarks/precision.py [--model custom_cnn] [--image-size 32] [--epochs 4] [--rounds 2]

The first epoch (tracing, and XLA's compilation) is reported apart from the
others, whose median is the figure.
"""

from __future__ import annotations

import argparse
import statistics
import time

SETTINGS = {
    "float32": {},
    "mixed_bfloat16": {"precision": "mixed_bfloat16"},
    "float32 + XLA": {"jit_compile": True},
    "mixed_bfloat16 + XLA": {"precision": "mixed_bfloat16", "jit_compile": True},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="custom_cnn")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    import keras

    from benchmark.datasets import load, split
    from benchmark.metrics import metrics
    from benchmark.models import models
    from benchmark.training import keras as keras_training

    dataset = load("sklearn:digits")
    splits = split(dataset, train=0.7, validation=0.15, test=0.15, stratify=True, seed=0)
    spec = models.get(args.model)
    print(f"{args.model}, digits resized to {args.image_size}x{args.image_size}, batch "
          f"{args.batch_size}, {args.epochs} epochs, {args.rounds} rounds; bfloat16 units: "
          f"{keras_training.cpu_has_bfloat16()}")
    first: dict[str, list[float]] = {name: [] for name in SETTINGS}
    later: dict[str, list[float]] = {name: [] for name in SETTINGS}
    accuracy: dict[str, list[float]] = {name: [] for name in SETTINGS}

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.started)

    for _ in range(args.rounds):
        for name, knobs in SETTINGS.items():  # interleaved: drifts hit every setting alike
            clock = Clock()
            clock.seconds = []
            params = {"epochs": args.epochs, "batch_size": args.batch_size,
                      "image_size": args.image_size, **knobs}
            # The epoch clock rides along as a callback of the model's own fit.
            fit = keras.Model.fit

            def timed_fit(self, *a, _fit=fit, **kw):
                kw["callbacks"] = [*(kw.get("callbacks") or []), clock]
                return _fit(self, *a, **kw)

            keras.Model.fit = timed_fit
            try:
                fitted = keras_training.fit(spec, params, splits, dataset.n_classes, seed=0,
                                            metric=metrics.get("accuracy"))
            finally:
                keras.Model.fit = fit
                keras.mixed_precision.set_global_policy("float32")
            first[name].append(clock.seconds[0])
            later[name].extend(clock.seconds[1:])
            proba = fitted.predict_proba(splits.test)
            accuracy[name].append(float((proba.argmax(axis=1) == splits.test.y).mean()))

    base = statistics.median(later["float32"])
    print(f"{'setting':<22} {'epoch 1 (s)':>11} {'later (s)':>10} {'speed-up':>9} {'test acc.':>9}")
    for name in SETTINGS:
        median = statistics.median(later[name])
        print(f"{name:<22} {statistics.median(first[name]):>11.2f} {median:>10.2f} "
              f"{base / median:>8.2f}x {statistics.fmean(accuracy[name]):>9.3f}")


if __name__ == "__main__":
    main()
