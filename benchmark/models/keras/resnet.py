"""A small residual network (He et al., 2016, the CIFAR variant): a 3x3 stem,
three stages of basic blocks (two 3x3 convolutions and an identity or 1x1
projection shortcut) with 16, 32 and 64 filters times ``width``, global
average pooling. ``blocks_per_stage`` n gives depth 6n + 2 (n=3: ResNet-20).
``max_pooling`` adds a 2x2 max-pooling after the stem (seed 003 compared
the network with and without it)."""

from __future__ import annotations

from benchmark.models.keras._common import classifier, input_layers

MIN_IMAGE_SIZE = 8


def build(input_shape: tuple[int, ...], n_classes: int, *,
          blocks_per_stage: int = 3, width: float = 1.0, max_pooling: bool = False,
          image_size: int | None = None):
    import keras
    from keras import layers

    stack = input_layers(input_shape, image_size)
    inputs = stack[0]
    x = inputs
    for layer in stack[1:]:
        x = layer(x)

    def bn_relu(tensor):
        return layers.Activation("relu")(layers.BatchNormalization()(tensor))

    x = bn_relu(layers.Conv2D(max(4, round(16 * width)), 3, padding="same", use_bias=False)(x))
    if max_pooling:
        x = layers.MaxPooling2D(2)(x)
    for stage, filters in enumerate((16, 32, 64)):
        filters = max(4, round(filters * width))
        for block in range(blocks_per_stage):
            strides = 2 if stage > 0 and block == 0 else 1
            shortcut = x
            y = bn_relu(layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x))
            y = layers.BatchNormalization()(layers.Conv2D(filters, 3, padding="same", use_bias=False)(y))
            if strides != 1 or shortcut.shape[-1] != filters:
                shortcut = layers.BatchNormalization()(
                    layers.Conv2D(filters, 1, strides=strides, use_bias=False)(shortcut))
            x = layers.Activation("relu")(layers.Add()([y, shortcut]))
    x = layers.GlobalAveragePooling2D()(x)
    outputs = classifier(n_classes)(x)
    return keras.Model(inputs, outputs, name="resnet")
