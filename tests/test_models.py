"""One contract for every registered model (STYLE.md 9): it builds on small
inputs, trains a step, and predicts one probability row per sample."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.datasets import Part, Splits
from benchmark.errors import TrialError
from benchmark.metrics import metrics
from benchmark.models import models
from benchmark.models.keras import applications
from benchmark.training import keras as keras_training

# The hand-built zoo: keras.applications networks (32x32 at least, millions of
# weights) have their own contract in tests/test_applications.py.
KERAS_MODELS = [name for name, spec in models.items()
                if spec.family == "keras" and spec.build.__module__ != applications.__name__]


def _splits(shape: tuple[int, ...], n_classes: int = 3, n: int = 24) -> Splits:
    rng = np.random.default_rng(0)
    x = rng.random((n, *shape), dtype=np.float32)
    y = np.arange(n) % n_classes
    return Splits(Part(x, y), Part(x[:9], y[:9]), Part(x[:6], y[:6]))


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(8, 8, 1), (28, 28, 1), (32, 32, 3)])
@pytest.mark.parametrize("name", KERAS_MODELS)
def test_builds_trains_and_predicts(name: str, shape: tuple[int, ...]) -> None:
    spec = models.get(name)
    params = {"epochs": 1, "batch_size": 8}
    smallest = spec.min_image_size({})
    if spec.architecture_defaults().get("image_size") is None and shape[0] < smallest:
        params["image_size"] = smallest  # what validate asks a suite for on such images
    if "dense_units" in spec.architecture_defaults() and name in ("alexnet", "vgg16"):
        # Their 4096-unit dense layers (~1 GB with Adam's slots) change nothing this
        # checks, and memory a fit allocates in this process is not all given back
        # (TF, keras-team/keras#17458; clear_session does not help): each full-size
        # fit added ~1 GB to the test process, which reached 6.9 GB in CI.
        params["dense_units"] = 64
    fitted = keras_training.fit(spec, params, _splits(shape), 3,
                                seed=0, metric=metrics.get("accuracy"))
    assert len(fitted.history) == 1 and {"loss", "val_accuracy"} <= set(fitted.history[0])
    proba = fitted.predict_proba(_splits(shape).test)
    assert proba.shape == (6, 3)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert fitted.n_params > 0


# A knob of each architecture that makes it bigger when doubled.
GROWING_KNOB = {"custom_cnn": "filters_1", "simple_cnn": "filters_3", "lenet5": "filters_1",
                "alexnet": "dense_units", "vgg16": "dense_units", "resnet": "blocks_per_stage"}


@pytest.mark.slow
@pytest.mark.parametrize("name", KERAS_MODELS)
def test_architecture_knobs_change_the_model(name: str) -> None:
    spec = models.get(name)
    knob = GROWING_KNOB[name]
    size = {"image_size": spec.min_image_size({})}
    # AlexNet's and VGG-16's 4096 dense units, doubled, are ~0.5 GB of weights the
    # test process keeps (see above); 64 doubled shows the knob as well.
    base = 64 if knob == "dense_units" else spec.architecture_defaults()[knob]
    default = spec.build((8, 8, 1), 3, **size, **{knob: base})
    wider = spec.build((8, 8, 1), 3, **size, **{knob: base * 2})
    assert wider.count_params() > default.count_params()


@pytest.mark.slow
def test_alexnet_ablation_and_resnet_pooling_knobs() -> None:
    alexnet = models.get("alexnet")
    small = {"image_size": 64, "dense_units": 64}  # the knobs under test are elsewhere
    convs = [len([layer for layer in alexnet.build((32, 32, 3), 10, conv_layers=n, **small).layers
                  if layer.__class__.__name__ == "Conv2D"]) for n in (3, 4, 5)]
    assert convs == [3, 4, 5]
    no_dropout = alexnet.build((32, 32, 3), 10, dropout=0.0, **small)
    assert not any(layer.__class__.__name__ == "Dropout" for layer in no_dropout.layers)
    with_bn = alexnet.build((32, 32, 3), 10, batch_norm=True, **small)
    assert sum(layer.__class__.__name__ == "BatchNormalization" for layer in with_bn.layers) == 5
    resnet = models.get("resnet")
    plain = resnet.build((32, 32, 3), 10).get_layer(index=-2).output.shape
    pooled = resnet.build((32, 32, 3), 10, max_pooling=True)
    assert plain == pooled.get_layer(index=-2).output.shape  # global pooling hides the size
    assert any(layer.__class__.__name__ == "MaxPooling2D" for layer in pooled.layers)


# Settings whose smallest input the shape arithmetic of ``fits`` must get right.
SHAPE_SETTINGS = [
    ("custom_cnn", {}), ("simple_cnn", {}), ("simple_cnn", {"padding": "same"}),
    ("simple_cnn", {"kernel_size": 5}), ("lenet5", {}), ("lenet5", {"kernel_size": 7}),
    ("lenet5", {"kernel_size": 3, "first_padding": "same"}), ("alexnet", {}),
    ("alexnet", {"stem_kernel": 11, "stem_strides": 1, "stem_padding": "valid"}),
    ("alexnet", {"stem_kernel": 11, "stem_strides": 4, "stem_padding": "valid"}),
    ("vgg16", {}), ("resnet", {}), ("resnet", {"stem_kernel": 7, "stem_strides": 2,
                                                "max_pooling": True}),
]


@pytest.mark.parametrize(("name", "knobs"), SHAPE_SETTINGS)
def test_smallest_image_size_is_what_keras_can_build(name: str, knobs: dict) -> None:
    """``validate`` refuses image sizes by ``fits`` (no TensorFlow in the main
    process): Keras must build the smallest size it accepts, and not one below."""
    spec = models.get(name)
    side = spec.min_image_size(knobs)
    assert side is not None
    spec.build((side, side, 1), 3, **knobs, image_size=side)
    if side > 1:
        with pytest.raises(ValueError):
            spec.build((side - 1, side - 1, 1), 3, **knobs, image_size=side - 1)


@pytest.mark.parametrize(("name", "shape", "knobs", "params"), [
    # Seed 000, Appendices F and G (10 classes): the same parameter counts.
    ("simple_cnn", (200, 200, 3), {}, 8_708_466),
    ("lenet5", (32, 32, 3), {"kernel_size": 3, "grey": False}, 81_302),
    # Seed 003 (5 classes): Model 1, and the LeNet-5 variant of its Models 2-5.
    ("custom_cnn", (28, 28, 1), {}, 886_245),
    ("lenet5", (28, 28, 1), {"filters_1": 32, "filters_2": 48, "first_padding": "same",
                             "pooling": "max", "activation": "relu", "dense_1": 256,
                             "image_size": 28}, 368_749),
])
def test_seed_architectures_are_settings_of_the_knobs(name, shape, knobs, params) -> None:
    n_classes = 10 if shape[0] != 28 else 5
    assert models.get(name).build(shape, n_classes, **knobs).count_params() == params


def test_seed_003_alexnet_and_resnet_shapes() -> None:
    alexnet = models.get("alexnet").build(
        (28, 28, 1), 5, image_size=48, stem_kernel=11, stem_strides=1, stem_padding="valid",
        grey=True)
    first = next(layer for layer in alexnet.layers if layer.__class__.__name__ == "Conv2D")
    # Seed 003: "conv2d_16 (Conv2D) (None, 38, 38, 96) 11712".
    assert first.output.shape == (None, 38, 38, 96) and first.count_params() == 11_712
    resnet = models.get("resnet").build(
        (28, 28, 1), 5, stem_kernel=7, stem_strides=2, base_filters=64, stages=4,
        blocks_per_stage=2, dropout=0.2, l2=1e-4)
    convs = [layer for layer in resnet.layers if layer.__class__.__name__ == "Conv2D"]
    # Seed 003's stage 2 starts "conv2d_26 (Conv2D) (None, 7, 7, 128) 73856"; ours
    # has no bias before its batch normalisation: 128 fewer parameters.
    assert convs[0].output.shape == (None, 14, 14, 64)
    assert any(c.output.shape == (None, 7, 7, 128) and c.count_params() == 73_856 - 128
               for c in convs)
    assert convs[-1].output.shape[-1] == 512 and resnet.losses  # four stages; the L2 penalty
    assert any(layer.__class__.__name__ == "Dropout" for layer in resnet.layers)
    seed_002 = models.get("alexnet").build((32, 32, 3), 20, image_size=64, extra_dense=1000,
                                           dense_batch_norm=True)
    dense = [layer.units for layer in seed_002.layers if layer.__class__.__name__ == "Dense"]
    assert dense == [4096, 4096, 1000, 20]
    assert sum(layer.__class__.__name__ == "BatchNormalization" for layer in seed_002.layers) == 3


def test_every_architecture_resizes_to_its_declared_input() -> None:
    for name in KERAS_MODELS:
        spec = models.get(name)
        size = spec.architecture_defaults().get("image_size")
        model = spec.build((40, 40, 1), 3)  # larger than any minimum, unlike any default size
        resize = [layer for layer in model.layers if layer.__class__.__name__ == "Resizing"]
        if size is None:
            assert not resize, name
        else:
            assert resize and resize[0].output.shape[1:3] == (size, size), name


def test_training_knobs_schedule_stop_and_augment() -> None:
    fitted = keras_training.fit(
        models.get("lenet5"),
        {"epochs": 6, "batch_size": 8, "optimizer": "sgd", "momentum": 0.9, "nesterov": True,
         "learning_rate": 0.0, "early_stopping_patience": 2, "reduce_lr_patience": 1,
         "reduce_lr_factor": 0.5, "min_lr": 0.0, "augment_flip": "horizontal",
         "augment_shift": 0.1, "augment_rotation": 0.05},
        _splits((8, 8, 1)), 3, seed=0, metric=metrics.get("accuracy"))
    # A zero learning rate never improves the validation loss: stopped after 1 + patience epochs.
    assert len(fitted.history) == 3
    assert fitted.model.optimizer.nesterov is True
    assert [layer.__class__.__name__ for layer in fitted.model.layers[:3]] == [
        "RandomFlip", "RandomTranslation", "RandomRotation"]


def test_same_seed_same_history() -> None:
    args = (models.get("lenet5"), {"epochs": 2, "batch_size": 8}, _splits((8, 8, 1)), 3)
    first = keras_training.fit(*args, seed=5, metric=metrics.get("accuracy")).history
    second = keras_training.fit(*args, seed=5, metric=metrics.get("accuracy")).history
    assert first == second


def test_metric_without_keras_counterpart_is_tracked_per_epoch() -> None:
    fitted = keras_training.fit(models.get("lenet5"), {"epochs": 2, "batch_size": 8},
                                _splits((8, 8, 1)), 3, seed=0, metric=metrics.get("f1_macro"))
    assert all("val_f1_macro" in epoch for epoch in fitted.history)


def test_diverging_loss_is_a_trial_error() -> None:
    with pytest.raises(TrialError, match="loss became"):
        keras_training.fit(models.get("custom_cnn"),
                           {"epochs": 2, "batch_size": 8, "optimizer": "sgd", "learning_rate": 1e12,
                            "filters_1": 4},
                           _splits((8, 8, 1)), 3, seed=0, metric=metrics.get("accuracy"))


@pytest.mark.slow
def test_layer_table_and_flops_of_a_fitted_model() -> None:
    fitted = keras_training.fit(models.get("lenet5"), {"epochs": 1, "batch_size": 8},
                                _splits((8, 8, 1)), 3, seed=0, metric=metrics.get("accuracy"))
    table = fitted.architecture()
    assert table["total"] == fitted.n_params == sum(layer["params"] for layer in table["layers"])
    assert table["layers"][0]["type"] == "Resizing" and table["layers"][0]["output_shape"] == [None, 32, 32, 1]
    # LeNet-5's two convolutions and three dense layers: 2 x multiply-adds, plus pooling etc.
    macs = 28 * 28 * 6 * 25 + 10 * 10 * 16 * 6 * 25 + 400 * 120 + 120 * 84 + 84 * 3
    assert 2 * macs <= table["flops"] < 2.5 * macs


def test_channels_are_adapted_to_what_the_architecture_expects() -> None:
    def first_conv_input_channels(model) -> int:
        conv = next(layer for layer in model.layers if layer.__class__.__name__ == "Conv2D")
        return conv.input.shape[-1]

    assert first_conv_input_channels(models.get("alexnet").build((8, 8, 1), 3, image_size=32)) == 3
    assert first_conv_input_channels(models.get("vgg16").build((32, 32, 1), 3)) == 3
    assert first_conv_input_channels(models.get("lenet5").build((32, 32, 3), 3)) == 1
    assert first_conv_input_channels(models.get("resnet").build((8, 8, 3), 3)) == 3  # takes any


@pytest.mark.parametrize("warmup, completes", [(2, True), (0, False)])
def test_the_pruner_stops_a_trial_before_its_last_epoch_never_at_it(warmup: int,
                                                                   completes: bool) -> None:
    import optuna

    # A pruner that prunes whenever it may (no accuracy reaches 2), from epoch
    # ``warmup`` on: 2 leaves it only the last of 3 epochs, where it must not.
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(
        lower=2.0, n_warmup_steps=warmup))
    trial = study.ask()
    history: list = []
    args = (models.get("lenet5"), {"epochs": 3, "batch_size": 8}, _splits((8, 8, 1)), 3)
    if completes:
        keras_training.fit(*args, seed=0, metric=metrics.get("accuracy"), trial=trial,
                           history=history)
        assert len(history) == 3
        assert sorted(study.trials[0].intermediate_values) == [0, 1, 2]  # the last one reported
    else:
        with pytest.raises(optuna.TrialPruned):
            keras_training.fit(*args, seed=0, metric=metrics.get("accuracy"), trial=trial,
                               history=history)
        assert len(history) == 1  # stopped after the first epoch


@pytest.mark.slow
@pytest.mark.parametrize("knobs", [{"precision": "mixed_bfloat16", "jit_compile": True}])
def test_bfloat16_and_xla_train_and_reproduce_on_the_cpu(knobs: dict) -> None:
    """The speed knobs change how a step is computed, not what a rerun with the
    same seed gives: every metric of every epoch is reproduced."""
    import keras

    try:
        runs = [keras_training.fit(models.get("lenet5"), {"epochs": 2, "batch_size": 8, **knobs},
                                   _splits((8, 8, 1)), 3, seed=0, metric=metrics.get("accuracy"))
                for _ in range(2)]
        assert runs[0].history == runs[1].history
        proba = [run.predict_proba(_splits((8, 8, 1)).test) for run in runs]
        np.testing.assert_array_equal(proba[0], proba[1])
        compute = {layer.dtype_policy.compute_dtype for layer in runs[0].model.layers
                   if layer.__class__.__name__ == "Conv2D"}
        assert compute == {"bfloat16" if "precision" in knobs else "float32"}
        assert runs[0].model.layers[-1].compute_dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_precision_auto_picks_by_device(monkeypatch: pytest.MonkeyPatch) -> None:
    # No GPU here: bfloat16 where the CPU has the units, float32 where it would be emulated.
    for units, expected in ((True, "mixed_bfloat16"), (False, "float32")):
        monkeypatch.setattr(keras_training, "cpu_has_bfloat16", lambda units=units: units)
        assert keras_training.policy({"precision": "auto"}) == expected
    assert keras_training.policy({"precision": "float32", "mixed_precision": True}) == "mixed_float16"
    assert keras_training.policy({"precision": "mixed_bfloat16"}) == "mixed_bfloat16"


def test_mixed_precision_trains_with_float32_probabilities() -> None:
    # On a GPU this is the suite's speed knob; on this CPU it runs the same code.
    import keras

    try:
        fitted = keras_training.fit(models.get("lenet5"),
                                    {"epochs": 2, "batch_size": 8, "mixed_precision": True},
                                    _splits((8, 8, 1)), 3, seed=0, metric=metrics.get("accuracy"))
        compute = {layer.dtype_policy.compute_dtype for layer in fitted.model.layers
                   if layer.__class__.__name__ == "Conv2D"}
        assert compute == {"float16"}
        assert fitted.model.layers[-1].compute_dtype == "float32"
        raw = fitted.model.predict(_splits((8, 8, 1)).test.x, verbose=0)
        assert raw.dtype == np.float32 and np.allclose(raw.sum(axis=1), 1.0, atol=1e-5)
        assert all(np.isfinite(h["loss"]) for h in fitted.history)
    finally:
        keras.mixed_precision.set_global_policy("float32")
