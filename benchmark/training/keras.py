"""Fitting a Keras model for one trial or one final evaluation."""

from __future__ import annotations

import math
import time
from pathlib import Path
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmark import phases
from benchmark.datasets import Part, Splits
from benchmark.errors import TrialError
from benchmark.metrics import Metric
from benchmark.models import ModelSpec
from benchmark.training import TRAINING_DEFAULTS


@dataclass
class Fitted:
    model: Any
    history: list[dict[str, float]]
    fit_seconds: float
    n_params: int

    def predict_proba(self, part: Part, batch_size: int = 256) -> np.ndarray:
        proba = np.asarray(self.model.predict(part.x, batch_size=batch_size, verbose=0), dtype="float64")
        # float32 softmax rows sum to 1 only within ~1e-7; scikit-learn's log_loss warns on that.
        return proba / proba.sum(axis=1, keepdims=True)

    def architecture(self) -> dict[str, Any]:
        """Layer, output shape and parameters of each layer (seed 000's Appendices
        F-H), with total and trainable parameter counts; augmentation layers,
        which are not part of the trained network, are left out."""
        import keras

        model = self.model
        inner = [layer for layer in model.layers if isinstance(layer, keras.Model)]
        network = inner[0] if len(inner) == 1 else model
        layers = [{"name": layer.name, "type": layer.__class__.__name__,
                   "output_shape": [None if d is None else int(d) for d in layer.output.shape],
                   "params": int(layer.count_params())} for layer in network.layers]
        trainable = int(sum(np.prod(w.shape) for w in network.trainable_weights))
        return {"layers": layers, "total": int(network.count_params()), "trainable": trainable,
                "flops": flops_per_image(network)}


def flops_per_image(model: Any) -> int | None:
    """Floating-point operations of one forward pass on one image, counted by
    TensorFlow's profiler on the model's frozen graph (a multiply-add is 2)."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    try:
        spec = tf.TensorSpec([1, *model.inputs[0].shape[1:]], model.inputs[0].dtype)
        concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
        frozen = convert_variables_to_constants_v2(concrete)
        with tf.Graph().as_default() as graph:
            tf.graph_util.import_graph_def(frozen.graph.as_graph_def(), name="")
            options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
            options["output"] = "none"
            profile = tf.compat.v1.profiler.profile(graph=graph, run_meta=tf.compat.v1.RunMetadata(),
                                                    cmd="op", options=options)
        return int(profile.total_float_ops)
    except Exception:  # noqa: BLE001 - a count the profiler cannot make is left out, not fatal
        return None


def _optimizer(name: str, learning_rate: float, momentum: float, nesterov: bool):
    import keras

    config: dict[str, Any] = {"learning_rate": learning_rate}
    if name in {"sgd", "rmsprop"}:
        config["momentum"] = momentum
    if name == "sgd":
        config["nesterov"] = bool(nesterov)
    return keras.optimizers.get({"class_name": name, "config": config})


def _augmented(model: Any, training: dict[str, Any], input_shape: tuple[int, ...]):
    """``model`` behind the asked augmentation layers (active in training only)."""
    import keras
    from keras import layers

    stage = []
    if training["augment_flip"] != "none":
        stage.append(layers.RandomFlip(training["augment_flip"]))
    if training["augment_shift"]:
        stage.append(layers.RandomTranslation(training["augment_shift"], training["augment_shift"]))
    if training["augment_rotation"]:
        stage.append(layers.RandomRotation(training["augment_rotation"]))
    if not stage:
        return model
    return keras.Sequential([keras.Input(shape=input_shape), *stage, model], name=model.name)


def _validation_metric_callback(metric: Metric, validation: Part):
    """Adds ``val_<metric>`` to each epoch's logs for metrics Keras does not track,
    so the pruner and the curves see the metric the study optimises."""
    import keras

    class ValidationMetric(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            proba = self.model.predict(validation.x, batch_size=256, verbose=0)
            logs[f"val_{metric.name}"] = metric(validation.y, np.asarray(proba, dtype="float64"))

    return ValidationMetric()


def input_pipeline(part: Part, batch_size: int, *, shuffle_seed: int | None = None):
    """``part`` as a tf.data pipeline: cached after the first epoch, reshuffled every
    epoch when ``shuffle_seed`` is given, batched, and prefetched so that the next
    batch is ready while the current one trains (on a GPU this keeps the device busy)."""
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((part.x, part.y)).cache()
    if shuffle_seed is not None:
        data = data.shuffle(len(part), seed=shuffle_seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def monitor_name(metric: Metric) -> str:
    return f"val_{metric.keras_name or metric.name}"


def _pruning_callback(trial: Any, monitor: str, epochs: int) -> Any:
    """Optuna's Keras pruning callback, except at the last epoch: a trial that has
    trained every epoch is reported and completes, since pruning it there would
    save nothing and throw its finished score away."""
    from optuna_integration import KerasPruningCallback

    class PruneBeforeTheLastEpoch(KerasPruningCallback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            if epoch + 1 < epochs:
                super().on_epoch_end(epoch, logs)
            elif (logs or {}).get(monitor) is not None:
                trial.report(float(logs[monitor]), step=epoch)

    return PruneBeforeTheLastEpoch(trial, monitor)


def cpu_has_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (AMX or AVX512-BF16; Linux's
    flags); elsewhere bfloat16 is emulated and slower than float32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("amx_bf16", "avx512_bf16"))


def policy(training: dict[str, Any]) -> str:
    """The Keras dtype policy of a trial's ``precision`` knob."""
    precision = training.get("precision", "float32")
    if precision == "float32" and training.get("mixed_precision"):
        return "mixed_float16"
    if precision != "auto":
        return precision
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU"):
        return "mixed_float16"
    return "mixed_bfloat16" if cpu_has_bfloat16() else "float32"


def fit(spec: ModelSpec, params: dict[str, Any], splits: Splits, n_classes: int, *,
        seed: int, metric: Metric, trial: Any = None,
        history: list[dict[str, float]] | None = None) -> Fitted:
    """Build ``spec`` with ``params``, train on the training part, validate each epoch.

    With an Optuna ``trial``, each epoch's validation metric is reported to it
    and ``optuna.TrialPruned`` ends the fit when the pruner says so. Each epoch's
    logs are appended to ``history`` as it ends, so the caller keeps the curves
    of a fit that was pruned or failed. Raises TrialError when the loss becomes NaN.
    """
    import keras

    training = {**TRAINING_DEFAULTS["keras"], **{k: v for k, v in params.items()
                                                 if k in TRAINING_DEFAULTS["keras"]}}
    architecture = {k: v for k, v in params.items() if k not in TRAINING_DEFAULTS["keras"]}

    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy(policy(training))
    input_shape = tuple(splits.train.x.shape[1:])
    with phases.timed("model build"):
        model = _augmented(spec.build(input_shape, n_classes, **architecture), training,
                           input_shape)
        model.compile(
            optimizer=_optimizer(training["optimizer"], training["learning_rate"],
                                 training["momentum"], training["nesterov"]),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            jit_compile="auto" if training["jit_compile"] is None else bool(training["jit_compile"]),
        )

    history = [] if history is None else history
    callbacks: list[Any] = [keras.callbacks.TerminateOnNaN()]
    if training["reduce_lr_patience"]:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor=training["reduce_lr_monitor"], factor=training["reduce_lr_factor"],
            patience=int(training["reduce_lr_patience"]), min_lr=training["min_lr"]))
    if training["early_stopping_patience"]:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=int(training["early_stopping_patience"]),
            restore_best_weights=True))
    if metric.keras_name is None:
        callbacks.append(_validation_metric_callback(metric, splits.validation))
    # Before the pruning callback, so the epoch that got pruned is recorded too.
    callbacks.append(keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: history.append({k: float(v) for k, v in logs.items()})))
    if trial is not None:
        callbacks.append(_pruning_callback(trial, monitor_name(metric), int(training["epochs"])))

    batch_size = int(training["batch_size"])
    train = input_pipeline(splits.train, batch_size, shuffle_seed=seed)
    validation = input_pipeline(splits.validation, batch_size)
    started = time.perf_counter()
    # shuffle=False: the pipeline shuffles; Keras would only warn that it cannot.
    with phases.timed("training"):  # a pruned fit's epochs count too
        model.fit(train, validation_data=validation, epochs=int(training["epochs"]),
                  shuffle=False, verbose=0, callbacks=callbacks)
    fit_seconds = time.perf_counter() - started
    for epoch, logs in enumerate(history, start=1):
        if not math.isfinite(logs.get("loss", 0.0)):
            raise TrialError(f"training loss became {logs['loss']} at epoch {epoch}")
    return Fitted(model, history, fit_seconds, int(model.count_params()))
