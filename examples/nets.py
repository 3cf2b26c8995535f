"""A custom Keras network for `model: python:nets:small_cnn` (examples/suite.yaml).

The builder is called as the built-in ones are: ``small_cnn(input_shape,
n_classes, **knobs)``, and returns an uncompiled Keras model whose last layer
is a softmax over ``n_classes``. Its keyword-only parameters, annotated int,
float, bool or Literal[...], are the knobs a suite searches; the training
knobs (optimizer, learning_rate, batch_size, epochs, ...) apply as to every
Keras model. Keras is imported inside the function, so that `validate` stays
free of TensorFlow.
"""

from __future__ import annotations

from typing import Literal


def small_cnn(input_shape: tuple[int, ...], n_classes: int, *,
              filters: int = 8, dense: int = 32, dropout: float = 0.0,
              activation: Literal["relu", "tanh"] = "relu", batch_norm: bool = False):
    """A tiny CNN: one 3x3 convolution, max-pooling and one dense layer."""
    import keras
    from keras import layers

    stack = [keras.Input(shape=input_shape),
             layers.Conv2D(filters, 3, padding="same", activation=None if batch_norm else activation)]
    if batch_norm:
        stack += [layers.BatchNormalization(), layers.Activation(activation)]
    stack += [layers.MaxPooling2D(2), layers.Flatten(),
              layers.Dense(dense, activation=activation), layers.Dropout(dropout),
              layers.Dense(n_classes, activation="softmax")]
    return keras.Sequential(stack, name="small_cnn")
