"""A small residual network (He et al., 2016). The defaults are the CIFAR
variant: a 3x3 stem, three stages of basic blocks (two 3x3 convolutions and an
identity or 1x1 projection shortcut) with 16, 32 and 64 filters times
``width``, global average pooling; ``blocks_per_stage`` n gives depth 6n + 2
(n=3: ResNet-20). ``max_pooling`` adds a 2x2 max-pooling after the stem (seed
003 compared the network with and without it). Seed 003's ResNet-18-like
network is ``stem_kernel: 7, stem_strides: 2, base_filters: 64, stages: 4,
blocks_per_stage: 2`` with ``dropout`` after each activation and an ``l2``
weight penalty of 1e-4."""

from __future__ import annotations

from benchmark.models.keras._common import Shrink, classifier, input_layers


def build(input_shape: tuple[int, ...], n_classes: int, *,
          blocks_per_stage: int = 3, stages: int = 3, base_filters: int = 16,
          width: float = 1.0, stem_kernel: int = 3, stem_strides: int = 1,
          max_pooling: bool = False, dropout: float = 0.0, l2: float = 0.0,
          image_size: int | None = None):
    import keras
    from keras import layers

    stack = input_layers(input_shape, image_size)
    inputs = stack[0]
    x = inputs
    for layer in stack[1:]:
        x = layer(x)
    regularizer = keras.regularizers.L2(l2) if l2 else None

    def conv(filters: int, kernel: int, strides: int = 1):
        return layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False,
                             kernel_initializer="he_normal", kernel_regularizer=regularizer)

    def activate(tensor):
        tensor = layers.Activation("relu")(tensor)
        return layers.Dropout(dropout)(tensor) if dropout else tensor

    filters = max(4, round(base_filters * width))
    x = activate(layers.BatchNormalization()(conv(filters, stem_kernel, stem_strides)(x)))
    if max_pooling:
        x = layers.MaxPooling2D(2)(x)
    for stage in range(stages):
        stage_filters = filters * 2 ** stage
        for block in range(blocks_per_stage):
            strides = 2 if stage > 0 and block == 0 else 1
            shortcut = x
            y = activate(layers.BatchNormalization()(conv(stage_filters, 3, strides)(x)))
            y = layers.BatchNormalization()(conv(stage_filters, 3)(y))
            if strides != 1 or shortcut.shape[-1] != stage_filters:
                shortcut = layers.BatchNormalization()(conv(stage_filters, 1, strides)(shortcut))
            x = activate(layers.Add()([y, shortcut]))
    x = layers.GlobalAveragePooling2D()(x)
    outputs = classifier(n_classes)(x)
    return keras.Model(inputs, outputs, name="resnet")


def fits(side: int, *, stem_kernel: int, stem_strides: int, max_pooling: bool,
         **_: object) -> bool:
    shrink = Shrink(side).conv(stem_kernel, stem_strides)
    if max_pooling:
        shrink.pool(2)
    return shrink.ok
