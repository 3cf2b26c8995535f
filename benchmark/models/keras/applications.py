"""Architectures of ``keras.applications`` (MobileNetV2, MobileNetV3-Small,
EfficientNet-B0, DenseNet-121, ResNet-50) behind the project's input stage and
a new classifier head.

Each builder returns ``input stage -> preprocessing -> application -> dropout ->
softmax``: the input stage resizes to ``image_size`` (None: the images' own
size, at least 32 pixels, the smallest every application takes) and repeats
grey to RGB (the applications expect 3 channels); the preprocessing maps the
project's [0, 1] pixels to what the application's ``preprocess_input`` gives;
the application is built with ``include_top=False, pooling="avg"`` and is one
nested layer of the model, so that ``freeze_base`` trains only the head and a
weights file of the base alone (``base.save_weights(...)``, or Keras's
``*_no_top.h5`` ImageNet download) loads into it.

``weights`` is None (from scratch) or the path of such a file: nothing is
downloaded here, so ``"imagenet"`` is refused with the way to get the file.
The checks run in ``validate`` (``parameter_problem``) and again when building.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmark.models.keras._common import classifier, input_layers

MIN_SIDE = 32  # keras.applications refuse smaller inputs ("at least 32x32")

# ImageNet statistics of the RGB channels on [0, 1] pixels ("torch" preprocessing)
# and of the BGR channels on [0, 255] pixels ("caffe" preprocessing).
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def weights_problem(value: Any) -> str | None:
    """Why ``weights`` cannot be used, in one line, or None."""
    if value is None:
        return None
    if not isinstance(value, str):
        return f"weights takes null (train from scratch) or the path of a weights file, got {value!r}"
    if value.strip().lower() == "imagenet":
        return ("weights 'imagenet' needs a download, and this tool downloads nothing: download "
                "the ImageNet weights elsewhere (e.g. keras.applications.<Model>(include_top=False,"
                " weights='imagenet').save_weights('<model>.weights.h5'), or Keras's *_no_top.h5 "
                "file) and give its path as weights")
    path = Path(value).expanduser()
    if not path.is_file():
        return (f"weights file {value!r} does not exist (weights: null, or the path of a weights "
                f"file of the same architecture without its top)")
    return None


def parameter_problem(name: str, value: Any) -> str | None:
    """The knob checks ``validate`` runs (ModelSpec.parameter_problem) besides the
    annotated types: a usable weights file, and values the layers accept."""
    if name == "weights":
        return weights_problem(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None  # the annotation's check says it
    if name == "dropout" and not 0 <= value < 1:
        return f"dropout is a fraction in [0, 1), got {value!r}"
    if name == "alpha" and value <= 0:
        return f"alpha (the width multiplier) must be positive, got {value!r}"
    return None


def fits(side: int, **_: object) -> bool:
    return side >= MIN_SIDE


def _rgb_to_bgr(images: Any) -> Any:
    from keras import ops

    return ops.flip(images, axis=-1)


def _preprocessing(kind: str) -> list[Any]:
    """Layers taking [0, 1] RGB pixels to the application's expected input."""
    from keras import layers

    if kind == "tf":  # [-1, 1]
        return [layers.Rescaling(2.0, offset=-1.0, name="to_minus_one_one")]
    if kind == "raw":  # [0, 255]: the application rescales (and normalises) itself
        return [layers.Rescaling(255.0, name="to_0_255")]
    if kind == "torch":  # ImageNet mean and standard deviation per channel
        return [layers.Rescaling([1 / s for s in _TORCH_STD],
                                 offset=[-m / s for m, s in zip(_TORCH_MEAN, _TORCH_STD)],
                                 name="imagenet_standardise")]
    if kind == "caffe":  # BGR, ImageNet mean subtracted, [0, 255]
        return [layers.Lambda(_rgb_to_bgr, name="rgb_to_bgr"),
                layers.Rescaling(255.0, offset=[-m for m in _CAFFE_MEAN_BGR],
                                 name="imagenet_centre")]
    raise ValueError(kind)


def _assemble(name: str, application: str, preprocessing: str, input_shape: tuple[int, ...],
              n_classes: int, *, weights: str | None, image_size: int | None,
              freeze_base: bool, dropout: float, **options: Any):
    """The model around ``keras.applications.<application>(**options)``."""
    import keras
    from keras import layers

    for knob, value in (("weights", weights), ("dropout", dropout),
                        ("alpha", options.get("alpha"))):
        problem = parameter_problem(knob, value)
        if problem:
            raise ValueError(f"{name}: {problem}")
    rows, cols = (image_size, image_size) if image_size else tuple(input_shape[:2])
    if min(rows, cols) < MIN_SIDE:
        raise ValueError(f"{name} needs images of at least {MIN_SIDE}x{MIN_SIDE} pixels, got "
                         f"{rows}x{cols}; set image_size (the input stage resizes to it)")
    stack = input_layers(input_shape, image_size, channels=3)
    base = getattr(keras.applications, application)(
        include_top=False, weights=str(Path(weights).expanduser()) if weights else None,
        input_shape=(rows, cols, 3), pooling="avg",
        **options)
    base.trainable = not freeze_base
    head = [layers.Dropout(dropout)] if dropout else []
    return keras.Sequential([*stack, *_preprocessing(preprocessing), base, *head,
                             classifier(n_classes)], name=name)


def build_mobilenet_v2(input_shape: tuple[int, ...], n_classes: int, *,
                       weights: str | None = None, image_size: int | None = None,
                       freeze_base: bool = False, dropout: float = 0.0, alpha: float = 1.0):
    return _assemble("mobilenet_v2", "MobileNetV2", "tf", input_shape, n_classes,
                     weights=weights, image_size=image_size, freeze_base=freeze_base,
                     dropout=dropout, alpha=alpha)


def build_mobilenet_v3_small(input_shape: tuple[int, ...], n_classes: int, *,
                             weights: str | None = None, image_size: int | None = None,
                             freeze_base: bool = False, dropout: float = 0.0,
                             alpha: float = 1.0, minimalistic: bool = False):
    return _assemble("mobilenet_v3_small", "MobileNetV3Small", "raw", input_shape, n_classes,
                     weights=weights, image_size=image_size, freeze_base=freeze_base,
                     dropout=dropout, alpha=alpha, minimalistic=minimalistic)


def build_efficientnet_b0(input_shape: tuple[int, ...], n_classes: int, *,
                          weights: str | None = None, image_size: int | None = None,
                          freeze_base: bool = False, dropout: float = 0.0):
    return _assemble("efficientnet_b0", "EfficientNetB0", "raw", input_shape, n_classes,
                     weights=weights, image_size=image_size, freeze_base=freeze_base,
                     dropout=dropout)


def build_densenet121(input_shape: tuple[int, ...], n_classes: int, *,
                      weights: str | None = None, image_size: int | None = None,
                      freeze_base: bool = False, dropout: float = 0.0):
    return _assemble("densenet121", "DenseNet121", "torch", input_shape, n_classes,
                     weights=weights, image_size=image_size, freeze_base=freeze_base,
                     dropout=dropout)


def build_resnet50(input_shape: tuple[int, ...], n_classes: int, *,
                   weights: str | None = None, image_size: int | None = None,
                   freeze_base: bool = False, dropout: float = 0.0):
    return _assemble("resnet50", "ResNet50", "caffe", input_shape, n_classes,
                     weights=weights, image_size=image_size, freeze_base=freeze_base,
                     dropout=dropout)


for _build in (build_mobilenet_v2, build_mobilenet_v3_small, build_efficientnet_b0,
               build_densenet121, build_resnet50):
    _build.parameter_problem = parameter_problem  # type: ignore[attr-defined]
