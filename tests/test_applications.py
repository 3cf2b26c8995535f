"""keras.applications as models (benchmark/models/keras/applications.py): each
builds at its smallest input, ``freeze_base`` trains only the head, a local
weights file loads, "imagenet" and a missing file are one-line refusals in
``validate``, and a tiny MobileNetV2 trains through the project's training path."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from benchmark import suite
from benchmark.datasets import Part, Splits
from benchmark.errors import UserError
from benchmark.metrics import metrics
from benchmark.models import models
from benchmark.models.keras import applications
from benchmark.training import keras as keras_training
from conftest import REPO, run_cli, write_suite

APPLICATIONS = {"mobilenet_v2": "MobileNetV2", "mobilenet_v3_small": "MobileNetV3Small",
                "efficientnet_b0": "EfficientNetB0", "densenet121": "DenseNet121",
                "resnet50": "ResNet50"}
# Each application's own preprocessing module (keras.applications.<module>.preprocess_input).
PREPROCESS_MODULE = {"mobilenet_v2": "mobilenet_v2", "mobilenet_v3_small": "mobilenet_v3",
                     "efficientnet_b0": "efficientnet", "densenet121": "densenet",
                     "resnet50": "resnet50"}


def _base(model):
    import keras

    (base,) = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return base


def _digits(n_train: int = 240) -> Splits:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., np.newaxis]
    y = digits.target
    n = n_train
    return Splits(Part(x[:n], y[:n]), Part(x[n:n + 80], y[n:n + 80]),
                  Part(x[n + 80:n + 160], y[n + 80:n + 160]))


def test_the_applications_are_registered_with_their_knobs_and_papers() -> None:
    assert set(APPLICATIONS) <= set(models.names())
    papers = {"mobilenet_v2": "Sandler", "mobilenet_v3_small": "Howard",
              "efficientnet_b0": "Tan", "densenet121": "Huang", "resnet50": "He"}
    for name in APPLICATIONS:
        spec = models.get(name)
        assert spec.family == "keras" and spec.input_kind == "image"
        assert papers[name] in spec.reference
        defaults = spec.architecture_defaults()
        assert {"weights": None, "image_size": None, "freeze_base": False,
                "dropout": 0.0}.items() <= defaults.items()
        assert ("alpha" in defaults) == name.startswith("mobilenet")
        assert spec.parameter_types()["freeze_base"] is bool
        assert spec.min_image_size({}) == 32


@pytest.mark.slow
@pytest.mark.parametrize("name", APPLICATIONS)
def test_builds_at_its_smallest_size_with_a_frozen_base(name: str) -> None:
    spec = models.get(name)
    side = spec.min_image_size({})
    model = spec.build((8, 8, 1), 5, image_size=side, freeze_base=True, dropout=0.2)
    assert model.outputs[0].shape == (None, 5)
    proba = model.predict(np.random.default_rng(0).random((2, 8, 8, 1), dtype=np.float32),
                          verbose=0)
    assert proba.shape == (2, 5) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    base = _base(model)
    assert base.inputs[0].shape[1:] == (side, side, 3)  # resized, grey repeated to RGB
    assert base.count_params() > 0 and not base.trainable_weights
    head = model.layers[-1]
    assert [id(w) for w in model.trainable_weights] == [id(w) for w in head.trainable_weights]
    assert any(layer.__class__.__name__ == "Dropout" for layer in model.layers)
    # Keras itself refuses one pixel less: ``fits`` (what validate checks) is in step.
    import keras

    assert not spec.fits(side - 1)
    with pytest.raises(ValueError, match="at least 32"):
        getattr(keras.applications, APPLICATIONS[name])(
            include_top=False, weights=None, input_shape=(side - 1, side - 1, 3))


def test_an_unfrozen_base_trains_every_layer() -> None:
    model = models.get("mobilenet_v2").build((32, 32, 3), 4, alpha=0.35)
    assert len(model.trainable_weights) > 2
    assert not any(layer.__class__.__name__ == "Resizing" for layer in model.layers)
    assert not any(layer.__class__.__name__ == "Dropout" for layer in model.layers)
    wider = models.get("mobilenet_v2").build((32, 32, 3), 4, alpha=0.7)
    assert wider.count_params() > model.count_params()


@pytest.mark.parametrize("name", APPLICATIONS)
def test_pixels_reach_the_application_as_its_preprocess_input_gives_them(name: str) -> None:
    """The project's [0, 1] RGB pixels, through the layers before the base, equal
    ``keras.applications.<module>.preprocess_input`` of the same image in [0, 255]."""
    import importlib

    import keras

    model = models.get(name).build((32, 32, 3), 3)
    x = np.random.default_rng(1).random((2, 32, 32, 3), dtype=np.float32)
    y = keras.ops.convert_to_tensor(x)
    for layer in model.layers[:model.layers.index(_base(model))]:
        y = layer(y)
    module = importlib.import_module(f"keras.applications.{PREPROCESS_MODULE[name]}")
    expected = module.preprocess_input(x * 255.0)
    assert np.allclose(keras.ops.convert_to_numpy(y), expected, atol=1e-3)


@pytest.mark.slow
def test_a_weights_file_of_the_base_loads(tmp_path: Path) -> None:
    """What a user downloads elsewhere: a base without its top, saved to a file;
    the weights do not depend on the image size, so they load at another one."""
    import keras

    source = models.get("mobilenet_v2").build((32, 32, 1), 10, alpha=0.35)
    path = tmp_path / "mobilenet_v2.weights.h5"
    _base(source).save_weights(path)
    keras.applications.MobileNetV2(include_top=False, weights=None, alpha=0.35,
                                   input_shape=(32, 32, 3), pooling="avg").save_weights(
        tmp_path / "standalone.weights.h5")
    for file, image_size in [(path, None), (path, 48), (tmp_path / "standalone.weights.h5", None)]:
        loaded = models.get("mobilenet_v2").build((32, 32, 1), 3, alpha=0.35, weights=str(file),
                                                  image_size=image_size)
        assert applications.parameter_problem("weights", str(file)) is None
        expected = _base(source).get_weights() if file == path else None
        if expected is not None:
            got = _base(loaded).get_weights()
            assert len(got) == len(expected) and all(
                np.array_equal(a, b) for a, b in zip(got, expected))
    fresh = _base(models.get("mobilenet_v2").build((32, 32, 1), 3, alpha=0.35)).get_weights()
    assert not all(np.array_equal(a, b) for a, b in zip(fresh, _base(source).get_weights()))


SUITE = textwrap.dedent("""
    datasets:
      digits: {source: "sklearn:digits"}
    models:
      - model: mobilenet_v2
        search:
          image_size: 32
          alpha: 0.35
          weights: WEIGHTS
    """)


@pytest.mark.parametrize(("weights", "says"), [
    ("imagenet", "weights 'imagenet' needs a download, and this tool downloads nothing: "
                 "download the ImageNet weights elsewhere"),
    ("no/such.weights.h5", "weights file 'no/such.weights.h5' does not exist"),
])
def test_imagenet_and_a_missing_file_are_one_line_refusals(tmp_path: Path, weights: str,
                                                           says: str) -> None:
    path = write_suite(tmp_path, SUITE.replace("WEIGHTS", weights))
    with pytest.raises(UserError) as error:
        suite.read(path)
    message = str(error.value)
    assert "\n" not in message and "models[0].search.weights" in message and says in message
    # Called directly, the builder says the same in one line.
    with pytest.raises(ValueError) as built:
        models.get("mobilenet_v2").build((32, 32, 1), 3, weights=weights)
    assert "\n" not in str(built.value) and says in str(built.value)


@pytest.mark.slow
def test_validate_checks_the_weights_file_without_tensorflow(tmp_path: Path) -> None:
    (tmp_path / "base.weights.h5").write_bytes(b"")  # validate checks that it exists
    write_suite(tmp_path, SUITE.replace("WEIGHTS", "base.weights.h5")
                .replace("image_size: 32", "image_size: {choices: [32, 48]}"))
    code = ("import sys; from benchmark import cli; assert cli.main(['validate', 'suite.yaml']) "
            "== 0; print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
    small = write_suite(tmp_path, SUITE.replace("WEIGHTS", "null").replace(
        "image_size: 32", "image_size: 31"), "small.yaml")
    with pytest.raises(UserError, match="at least 32x32"):
        suite.read(small)


@pytest.mark.slow
def test_a_tiny_mobilenet_v2_trains_on_digits_with_a_frozen_base() -> None:
    """The project's training path; with ``freeze_base`` the base, batch
    normalisation statistics included, stays as it was built."""
    import keras

    spec = models.get("mobilenet_v2")
    knobs = {"alpha": 0.35, "image_size": 32, "freeze_base": True, "dropout": 0.1}
    splits = _digits()
    fitted = keras_training.fit(spec, {**knobs, "epochs": 1, "batch_size": 32}, splits, 10,
                                seed=3, metric=metrics.get("accuracy"))
    assert len(fitted.history) == 1 and np.isfinite(fitted.history[0]["loss"])
    proba = fitted.predict_proba(splits.test)
    assert proba.shape == (80, 10) and np.allclose(proba.sum(axis=1), 1.0)
    keras.utils.set_random_seed(3)  # what fit does before it builds
    built = spec.build((8, 8, 1), 10, **knobs)
    assert all(np.array_equal(a, b) for a, b in
               zip(_base(fitted.model).get_weights(), _base(built).get_weights()))
    assert not all(np.array_equal(a, b) for a, b in
                   zip(fitted.model.layers[-1].get_weights(), built.layers[-1].get_weights()))


@pytest.mark.slow
def test_a_whole_run_of_a_tiny_application_suite(tmp_path: Path) -> None:
    """``python -m benchmark run`` end to end (about two minutes on 2 CPU cores)."""
    path = write_suite(tmp_path, """
        name: apps_tiny
        datasets:
          digits:
            source: sklearn:digits
            split: {train: 0.7, validation: 0.15, test: 0.15}
        models:
          - model: mobilenet_v2
            search:
              alpha: 0.35
              image_size: 32
              freeze_base: {choices: [false, true]}
              epochs: 1
        study:
          n_trials: 1
          pruner: none
          seed: 0
        """)
    result = run_cli("run", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "mobilenet_v2" in result.stdout
