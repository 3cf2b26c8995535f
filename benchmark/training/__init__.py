"""How each model family is fitted. The knobs below are taken by every model of
the family, on top of the architecture's own (see ``ModelSpec.architecture_defaults``).
Trainers live in submodules so that importing this package stays cheap."""

from typing import Any

KERAS_OPTIMIZERS = ["adadelta", "adagrad", "adam", "adamax", "adamw", "nadam", "rmsprop", "sgd"]

TRAINING_DEFAULTS: dict[str, dict[str, Any]] = {
    "keras": {
        "optimizer": "adam",
        "learning_rate": 1e-3,
        "batch_size": 32,
        "epochs": 10,
        # Used by SGD and RMSprop only; Nesterov by SGD only.
        "momentum": 0.0,
        "nesterov": False,
        # ReduceLROnPlateau: off while patience is 0.
        "reduce_lr_patience": 0,
        "reduce_lr_factor": 0.1,
        "reduce_lr_monitor": "val_loss",
        "min_lr": 1e-6,
        # EarlyStopping on the validation loss, best weights restored: off while 0.
        "early_stopping_patience": 0,
        # Augmentation of training images (Keras preprocessing layers, training only).
        "augment_flip": "none",  # none, horizontal, vertical, horizontal_and_vertical
        "augment_shift": 0.0,  # fraction of the height and width
        "augment_rotation": 0.0,  # fraction of a full turn
        # float16 compute with float32 weights; worth it on a GPU only.
        "mixed_precision": False,
    },
}
