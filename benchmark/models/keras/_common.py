"""Pieces every Keras architecture shares: the input stage that resizes images
to the size the architecture expects, and convolution blocks."""

from __future__ import annotations

from typing import Any


def input_layers(input_shape: tuple[int, ...], image_size: int | None) -> list[Any]:
    """``keras.Input`` and, when the architecture wants another size, a bilinear
    resize (bilinear beat zero-padding on digits, DESIGN.md). Resizing inside the
    model keeps training, evaluation and any later use of the model consistent."""
    import keras
    from keras import layers

    stack: list[Any] = [keras.Input(shape=input_shape)]
    if image_size and tuple(input_shape[:2]) != (image_size, image_size):
        stack.append(layers.Resizing(image_size, image_size, interpolation="bilinear"))
    return stack


def activation_layer(name: str):
    from keras import layers

    return layers.LeakyReLU(negative_slope=0.1) if name == "leaky_relu" else layers.Activation(name)


def conv_block(filters: int, kernel: int, *, batch_norm: bool, activation: str = "relu",
               strides: int = 1, padding: str = "same") -> list[Any]:
    """Convolution, then batch normalisation (when asked), then the activation."""
    from keras import layers

    block = [layers.Conv2D(filters, kernel, strides=strides, padding=padding,
                           use_bias=not batch_norm)]
    if batch_norm:
        block.append(layers.BatchNormalization())
    block.append(activation_layer(activation))
    return block
