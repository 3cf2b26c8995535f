"""AlexNet (Krizhevsky et al., 2012) as the seeds built it: five convolutions
and three dense layers with dropout, optionally with batch normalisation
(seeds 000, 002, 004). ``conv_layers`` 3 or 4 removes the last convolutions
(seed 002's ablation); ``width`` scales every layer (1.0 is the original).

At its native 227x227 the first convolution is 11x11 with stride 4. Below 128
pixels that would leave almost nothing to convolve, so small inputs get a 3x3,
stride-1 first convolution instead (the usual CIFAR-size adaptation).
"""

from __future__ import annotations

from typing import Literal

from benchmark.models.keras._common import classifier, conv_block, input_layers

# The small-input stem with three 3x3/2 max-poolings needs at least this many pixels.
MIN_IMAGE_SIZE = 32


def build(input_shape: tuple[int, ...], n_classes: int, *,
          conv_layers: Literal[3, 4, 5] = 5, batch_norm: bool = False, dropout: float = 0.5,
          width: float = 1.0, dense_units: int = 4096, image_size: int = 227):
    import keras
    from keras import layers

    def n(filters: int) -> int:
        return max(4, round(filters * width))

    native = image_size >= 128
    stack = [*input_layers(input_shape, image_size, channels=3),
             *conv_block(n(96), 11 if native else 3, strides=4 if native else 1,
                         padding="valid" if native else "same", batch_norm=batch_norm),
             layers.MaxPooling2D(3, strides=2),
             *conv_block(n(256), 5, batch_norm=batch_norm),
             layers.MaxPooling2D(3, strides=2),
             *conv_block(n(384), 3, batch_norm=batch_norm)]
    if conv_layers >= 4:
        stack += conv_block(n(384), 3, batch_norm=batch_norm)
    if conv_layers >= 5:
        stack += conv_block(n(256), 3, batch_norm=batch_norm)
    stack += [layers.MaxPooling2D(3, strides=2), layers.Flatten()]
    for _ in range(2):
        stack += [layers.Dense(n(dense_units), activation="relu")]
        if dropout > 0:
            stack.append(layers.Dropout(dropout))
    stack.append(classifier(n_classes))
    return keras.Sequential(stack, name="alexnet")
