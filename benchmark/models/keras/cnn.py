"""The seeds' custom CNN ("Model 1" of seed 003): two 5x5 convolutions, pooling,
dropout, two 3x3 convolutions, pooling, dropout, one dense layer, dropout."""

from __future__ import annotations

from typing import Literal


def build(input_shape: tuple[int, ...], n_classes: int, *,
          filters: int = 32, dense_units: int = 256, dropout: float = 0.25,
          batch_norm: bool = False,
          activation: Literal["relu", "leaky_relu"] = "relu"):
    import keras
    from keras import layers

    def conv(n_filters: int, kernel: int) -> list:
        block = [layers.Conv2D(n_filters, kernel, padding="same", use_bias=not batch_norm)]
        if batch_norm:
            block.append(layers.BatchNormalization())
        block.append(layers.Activation(activation))
        return block

    return keras.Sequential([
        keras.Input(shape=input_shape),
        *conv(filters, 5), *conv(filters, 5),
        layers.MaxPooling2D(2), layers.Dropout(dropout),
        *conv(2 * filters, 3), *conv(2 * filters, 3),
        layers.MaxPooling2D(2), layers.Dropout(dropout),
        layers.Flatten(),
        layers.Dense(dense_units, activation=activation),
        layers.Dropout(dropout),
        layers.Dense(n_classes, activation="softmax"),
    ], name="custom_cnn")
