"""The seeds' own CNNs.

``custom_cnn`` is seed 003's "Model 1" family: two 5x5 convolutions, pooling,
dropout, two 3x3 convolutions, pooling, dropout, a dense layer, dropout; its
models 2-7 are settings of the knobs below. ``simple_cnn`` is seed 000's
Appendix F model: three convolutions, two poolings, two dense layers.
"""

from __future__ import annotations

from typing import Literal

from benchmark.models.keras._common import activation_layer, classifier, conv_block, input_layers


def build(input_shape: tuple[int, ...], n_classes: int, *,
          filters_1: int = 32, filters_2: int = 64, kernel_1: int = 5, kernel_2: int = 3,
          dropout_conv: float = 0.25, dropout_dense: float = 0.5, dense_units: int = 256,
          batch_norm: bool = False, activation: Literal["relu", "leaky_relu"] = "relu",
          image_size: int | None = None):
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
        layers.Dense(dense_units), activation_layer(activation),
        layers.Dropout(dropout_dense),
        classifier(n_classes),
    ], name="custom_cnn")


def build_simple(input_shape: tuple[int, ...], n_classes: int, *,
                 filters: int = 32, kernel_size: int = 3, dense_units: int = 64,
                 activation: Literal["relu", "leaky_relu"] = "relu",
                 image_size: int | None = None):
    import keras
    from keras import layers

    return keras.Sequential([
        *input_layers(input_shape, image_size),
        *conv_block(filters, kernel_size, batch_norm=False, activation=activation),
        layers.MaxPooling2D(2),
        *conv_block(2 * filters, kernel_size, batch_norm=False, activation=activation),
        layers.MaxPooling2D(2),
        *conv_block(2 * filters, kernel_size, batch_norm=False, activation=activation),
        layers.Flatten(),
        layers.Dense(dense_units), activation_layer(activation),
        classifier(n_classes),
    ], name="simple_cnn")
