"""AlexNet (Krizhevsky et al., 2012) as the seeds built it: five convolutions
and dense layers with dropout, optionally with batch normalisation
(seeds 000, 002, 004). ``conv_layers`` 3 or 4 removes the last convolutions
(seed 002's ablation); ``width`` scales every layer (1.0 is the original).

At its native 227x227 the first convolution is 11x11 with stride 4, unpadded.
Below 128 pixels that would leave almost nothing to convolve, so small inputs
get a 3x3, stride-1, padded first convolution instead (the usual CIFAR-size
adaptation). ``stem_kernel``, ``stem_strides`` and ``stem_padding`` override
either: seed 003's 48x48 AlexNet is 11, 1 and valid, on grey images
(``grey``). Seed 002 adds a third dense layer of 1000 units
(``extra_dense: 1000``) and batch normalisation after the dense layers
(``dense_batch_norm``).
"""

from __future__ import annotations

from typing import Literal

from benchmark.models.keras._common import Shrink, classifier, conv_block, input_layers

Padding = Literal["valid", "same"]


def _stem(side: int, kernel: int | None, strides: int | None,
          padding: str | None) -> tuple[int, int, str]:
    """The first convolution for an image of ``side`` pixels: the suite's, else by size."""
    native = side >= 128
    return (kernel or (11 if native else 3), strides or (4 if native else 1),
            padding or ("valid" if native else "same"))


def build(input_shape: tuple[int, ...], n_classes: int, *,
          conv_layers: Literal[3, 4, 5] = 5, batch_norm: bool = False, dropout: float = 0.5,
          width: float = 1.0, dense_units: int = 4096, extra_dense: int = 0,
          dense_batch_norm: bool = False, stem_kernel: int | None = None,
          stem_strides: int | None = None, stem_padding: Padding | None = None,
          grey: bool = False, image_size: int = 227):
    import keras
    from keras import layers

    def n(filters: int) -> int:
        return max(4, round(filters * width))

    kernel, strides, padding = _stem(image_size or input_shape[0], stem_kernel, stem_strides,
                                     stem_padding)
    stack = [*input_layers(input_shape, image_size, channels=1 if grey else 3),
             *conv_block(n(96), kernel, strides=strides, padding=padding, batch_norm=batch_norm),
             layers.MaxPooling2D(3, strides=2),
             *conv_block(n(256), 5, batch_norm=batch_norm),
             layers.MaxPooling2D(3, strides=2),
             *conv_block(n(384), 3, batch_norm=batch_norm)]
    if conv_layers >= 4:
        stack += conv_block(n(384), 3, batch_norm=batch_norm)
    if conv_layers >= 5:
        stack += conv_block(n(256), 3, batch_norm=batch_norm)
    stack += [layers.MaxPooling2D(3, strides=2), layers.Flatten()]
    for units in [n(dense_units)] * 2 + ([n(extra_dense)] if extra_dense else []):
        stack.append(layers.Dense(units, activation="relu"))
        if dropout > 0:
            stack.append(layers.Dropout(dropout))
        if dense_batch_norm:
            stack.append(layers.BatchNormalization())
    stack.append(classifier(n_classes))
    return keras.Sequential(stack, name="alexnet")


def fits(side: int, *, stem_kernel: int | None, stem_strides: int | None,
         stem_padding: str | None, **_: object) -> bool:
    kernel, strides, padding = _stem(side, stem_kernel, stem_strides, stem_padding)
    return (Shrink(side).conv(kernel, strides, padding).pool(3, 2).conv(5).pool(3, 2)
            .conv(3).pool(3, 2).ok)
