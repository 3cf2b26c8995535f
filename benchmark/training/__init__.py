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
        # Used by SGD and RMSprop only.
        "momentum": 0.0,
    },
}
