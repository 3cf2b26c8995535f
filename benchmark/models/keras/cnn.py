"""The seeds' own CNNs.

``custom_cnn`` is seed 003's "Model 1" family: two 5x5 convolutions, pooling,
dropout, two 3x3 convolutions, pooling, dropout, a dense layer, dropout; its
defaults are Model 1 and its models 2-7 are settings of the knobs below
(Model 4's LeakyReLU after the dense layer only is ``dense_activation``).
``simple_cnn`` is seed 000's Appendix F model: three unpadded 3x3 convolutions
(6, 64 and 64 filters), two poolings, two dense layers.
"""

from __future__ import annotations

from typing import Literal

from benchmark.models.keras._common import (Shrink, activation_layer, classifier, conv_block,
                                            input_layers)

Activation = Literal["relu", "leaky_relu"]


def build(input_shape: tuple[int, ...], n_classes: int, *,
          filters_1: int = 32, filters_2: int = 64, kernel_1: int = 5, kernel_2: int = 3,
          dropout_conv: float = 0.25, dropout_dense: float = 0.25, dense_units: int = 256,
          batch_norm: bool = False, activation: Activation = "relu",
          dense_activation: Activation | None = None, image_size: int | None = None):
    import keras
    from keras import layers

    def block(n: int, k: int) -> list:
        return conv_block(n, k, batch_norm=batch_norm, activation=activation)

    return keras.Sequential([
        *input_layers(input_shape, image_size),
        *block(filters_1, kernel_1), *block(filters_1, kernel_1),
        layers.MaxPooling2D(2), layers.Dropout(dropout_conv),
        *block(filters_2, kernel_2), *block(filters_2, kernel_2),
        layers.MaxPooling2D(2), layers.Dropout(dropout_conv),
        layers.Flatten(),
        layers.Dense(dense_units), activation_layer(dense_activation or activation),
        layers.Dropout(dropout_dense),
        classifier(n_classes),
    ], name="custom_cnn")


def fits(side: int, **_: object) -> bool:
    return Shrink(side).conv(5).conv(5).pool(2).conv(3).conv(3).pool(2).ok


def build_simple(input_shape: tuple[int, ...], n_classes: int, *,
                 filters_1: int = 6, filters_2: int = 64, filters_3: int = 64,
                 kernel_size: int = 3, padding: Literal["valid", "same"] = "valid",
                 dense_units: int = 64, activation: Activation = "relu",
                 image_size: int | None = None):
    import keras
    from keras import layers

    def block(filters: int) -> list:
        return conv_block(filters, kernel_size, batch_norm=False, activation=activation,
                          padding=padding)

    return keras.Sequential([
        *input_layers(input_shape, image_size),
        *block(filters_1), layers.MaxPooling2D(2),
        *block(filters_2), layers.MaxPooling2D(2),
        *block(filters_3),
        layers.Flatten(),
        layers.Dense(dense_units), activation_layer(activation),
        classifier(n_classes),
    ], name="simple_cnn")


def fits_simple(side: int, *, kernel_size: int, padding: str, **_: object) -> bool:
    shrink = Shrink(side)
    for pooled in (True, True, False):
        shrink.conv(kernel_size, padding=padding)
        if pooled:
            shrink.pool(2)
    return shrink.ok
