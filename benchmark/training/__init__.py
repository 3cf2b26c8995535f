"""How each model family is fitted. The knobs below are taken by every model of
the family, on top of the architecture's own (see ``ModelSpec.architecture_defaults``).
Trainers live in submodules so that importing this package stays cheap."""

import dataclasses
import typing
from typing import Annotated, Any, Literal

from annotated_types import Ge, Gt, Interval

KERAS_OPTIMIZERS = ["adadelta", "adagrad", "adam", "adamax", "adamw", "nadam", "rmsprop", "sgd"]


@dataclasses.dataclass(frozen=True)
class KerasTraining:
    """The training knobs of every Keras model, typed so that ``validate`` can
    refuse a value the trainer would misread (a monitor Keras does not log
    would silently turn ReduceLROnPlateau off)."""

    optimizer: Literal[tuple(KERAS_OPTIMIZERS)] = "adam"  # type: ignore[valid-type]
    # Bounds (annotated_types) are checked by validate, with the types.
    learning_rate: Annotated[float, Gt(0)] = 1e-3
    batch_size: Annotated[int, Ge(1)] = 32
    epochs: Annotated[int, Ge(1)] = 10
    # Used by SGD and RMSprop only; Nesterov by SGD only.
    momentum: Annotated[float, Interval(ge=0, le=1)] = 0.0
    nesterov: bool = False
    # ReduceLROnPlateau: off while patience is 0.
    reduce_lr_patience: Annotated[int, Ge(0)] = 0
    reduce_lr_factor: Annotated[float, Interval(gt=0, lt=1)] = 0.1
    reduce_lr_monitor: Literal["val_loss", "val_accuracy", "loss", "accuracy"] = "val_loss"
    min_lr: Annotated[float, Ge(0)] = 1e-6
    # EarlyStopping on the validation loss, best weights restored: off while 0.
    early_stopping_patience: Annotated[int, Ge(0)] = 0
    # Augmentation of training images (Keras preprocessing layers, training only).
    augment_flip: Literal["none", "horizontal", "vertical", "horizontal_and_vertical"] = "none"
    augment_shift: Annotated[float, Ge(0)] = 0.0  # fraction of the height and width
    augment_rotation: Annotated[float, Ge(0)] = 0.0  # fraction of a full turn
    # float16 compute with float32 weights; worth it on a GPU only. Kept for
    # suites written before ``precision``: true means precision mixed_float16.
    mixed_precision: bool = False
    # The compute type (weights stay float32; the softmax is float32 always):
    # mixed_float16 for GPUs, mixed_bfloat16 for CPUs with bfloat16 units (AMX,
    # AVX512-BF16) and recent GPUs; auto picks by the device the trial runs on.
    precision: Literal["float32", "mixed_float16", "mixed_bfloat16", "auto"] = "float32"
    # XLA compilation of the training step: None leaves it to Keras (on with a
    # GPU, off on a CPU).
    jit_compile: bool | None = None


TRAINING_DEFAULTS: dict[str, dict[str, Any]] = {"keras": dataclasses.asdict(KerasTraining())}
TRAINING_TYPES: dict[str, dict[str, Any]] = {
    "keras": typing.get_type_hints(KerasTraining, include_extras=True)}
