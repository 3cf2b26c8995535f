"""VGG-16 (Simonyan and Zisserman, 2015): thirteen 3x3 convolutions in five
blocks, each block ending in 2x2 max-pooling, then dense layers. For small
inputs the dense layers default to 512 units (as in the CIFAR adaptations)
and ``width`` scales the filters (1.0 is the original 64-128-256-512-512).
Colour by default, as the original; ``grey`` keeps one channel (seed 003's
48x48 grey VGG-16)."""

from __future__ import annotations

from benchmark.models.keras._common import Shrink, classifier, conv_block, input_layers

BLOCKS = [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]


def build(input_shape: tuple[int, ...], n_classes: int, *,
          width: float = 1.0, dense_units: int = 512, dropout: float = 0.5,
          batch_norm: bool = False, grey: bool = False, image_size: int = 32):
    import keras
    from keras import layers

    stack = list(input_layers(input_shape, image_size, channels=1 if grey else 3))
    for filters, repeats in BLOCKS:
        for _ in range(repeats):
            stack += conv_block(max(4, round(filters * width)), 3, batch_norm=batch_norm)
        stack.append(layers.MaxPooling2D(2))
    stack.append(layers.Flatten())
    for _ in range(2):
        stack += [layers.Dense(dense_units, activation="relu"), layers.Dropout(dropout)]
    stack.append(classifier(n_classes))
    return keras.Sequential(stack, name="vgg16")


def fits(side: int, **_: object) -> bool:
    shrink = Shrink(side)
    for _block in BLOCKS:
        shrink.conv(3).pool(2)
    return shrink.ok
