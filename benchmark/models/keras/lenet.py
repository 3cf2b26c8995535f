"""LeNet-5 (LeCun et al., 1998): two convolution + sub-sampling stages, three
dense layers, on a 32x32 grey input. Seed 000's Appendix G is ``kernel_size: 3,
grey: false`` (3x3 kernels on colour images); seed 003's variant is
``filters_1: 32, filters_2: 48, first_padding: same, pooling: max,
activation: relu, dense_1: 256`` at ``image_size: 28``."""

from __future__ import annotations

from typing import Literal

from benchmark.models.keras._common import Shrink, classifier, input_layers


def build(input_shape: tuple[int, ...], n_classes: int, *,
          filters_1: int = 6, filters_2: int = 16, kernel_size: int = 5,
          first_padding: Literal["valid", "same"] = "valid",
          pooling: Literal["average", "max"] = "average",
          activation: Literal["tanh", "relu"] = "tanh",
          dense_1: int = 120, dense_2: int = 84, dropout: float = 0.0,
          grey: bool = True, image_size: int = 32):
    import keras
    from keras import layers

    pool = layers.AveragePooling2D if pooling == "average" else layers.MaxPooling2D
    return keras.Sequential([
        *input_layers(input_shape, image_size, channels=1 if grey else None),
        layers.Conv2D(filters_1, kernel_size, padding=first_padding, activation=activation),
        pool(2),
        layers.Conv2D(filters_2, kernel_size, activation=activation),
        pool(2),
        layers.Flatten(),
        layers.Dense(dense_1, activation=activation),
        layers.Dropout(dropout),
        layers.Dense(dense_2, activation=activation),
        layers.Dropout(dropout),
        classifier(n_classes),
    ], name="lenet5")


def fits(side: int, *, kernel_size: int, first_padding: str, **_: object) -> bool:
    return (Shrink(side).conv(kernel_size, padding=first_padding).pool(2)
            .conv(kernel_size, padding="valid").pool(2).ok)
