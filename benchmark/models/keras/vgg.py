"""VGG-16 (Simonyan and Zisserman, 2015): thirteen 3x3 convolutions in five
blocks, each block ending in 2x2 max-pooling, then dense layers. For small
inputs the dense layers default to 512 units (as in the CIFAR adaptations)
and ``width`` scales the filters (1.0 is the original 64-128-256-512-512)."""

from __future__ import annotations

from benchmark.models.keras._common import classifier, conv_block, input_layers

BLOCKS = [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]
# Five 2x2 poolings halve the image five times.
MIN_IMAGE_SIZE = 32


def build(input_shape: tuple[int, ...], n_classes: int, *,
          width: float = 1.0, dense_units: int = 512, dropout: float = 0.5,
          batch_norm: bool = False, image_size: int = 32):
    import keras
    from keras import layers

    stack = list(input_layers(input_shape, image_size, channels=3))
    for filters, repeats in BLOCKS:
        for _ in range(repeats):
            stack += conv_block(max(4, round(filters * width)), 3, batch_norm=batch_norm)
        stack.append(layers.MaxPooling2D(2))
    stack.append(layers.Flatten())
    for _ in range(2):
        stack += [layers.Dense(dense_units, activation="relu"), layers.Dropout(dropout)]
    stack.append(classifier(n_classes))
    return keras.Sequential(stack, name="vgg16")
