"""Pieces every Keras architecture shares: the input stage that resizes images
to the size the architecture expects, and convolution blocks."""

from __future__ import annotations

from typing import Any


def _repeat_channels(images: Any, count: int = 3) -> Any:
    from keras import ops

    return ops.repeat(images, count, axis=-1)


def _mean_channel(images: Any) -> Any:
    from keras import ops

    return ops.mean(images, axis=-1, keepdims=True)


def input_layers(input_shape: tuple[int, ...], image_size: int | None,
                 channels: int | None = None) -> list[Any]:
    """``keras.Input`` and, when the architecture wants another size, a bilinear
    resize (bilinear beat zero-padding on digits, DESIGN.md); when it wants
    another number of ``channels``, grey repeated to RGB or RGB averaged to grey.
    Adapting inside the model keeps training, evaluation and later use consistent."""
    import keras
    from keras import layers

    stack: list[Any] = [keras.Input(shape=input_shape)]
    if image_size and tuple(input_shape[:2]) != (image_size, image_size):
        stack.append(layers.Resizing(image_size, image_size, interpolation="bilinear"))
    if channels == 3 and input_shape[-1] == 1:
        stack.append(layers.Lambda(_repeat_channels, name="grey_to_rgb"))
    elif channels == 1 and input_shape[-1] != 1:
        stack.append(layers.Lambda(_mean_channel, name="rgb_to_grey"))
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


def classifier(n_classes: int) -> Any:
    """The softmax output layer, computed in float32 even under mixed precision:
    float16 probabilities underflow and make the loss and the stored test
    probabilities inexact (Keras's mixed-precision guide asks for this)."""
    from keras import layers

    return layers.Dense(n_classes, activation="softmax", dtype="float32")


class Shrink:
    """The side of a square image as it passes a chain of convolutions and poolings,
    computed without building the model, so that ``validate`` can refuse an image
    size that an architecture would shrink to nothing (it never imports TensorFlow).
    Each architecture's ``fits`` walks the same layers as its builder; the model
    tests build every architecture at the smallest size ``fits`` accepts, and one
    pixel below it, to keep the two in step."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.ok = size >= 1

    def _after(self, size: int) -> Shrink:
        self.size = size
        self.ok = self.ok and size >= 1
        return self

    def conv(self, kernel: int, strides: int = 1, padding: str = "same") -> Shrink:
        if padding == "same":
            return self._after(-(-self.size // strides))
        return self._after((self.size - kernel) // strides + 1)

    def pool(self, size: int, strides: int | None = None) -> Shrink:
        # Keras's poolings pad "valid" by default.
        return self.conv(size, strides or size, "valid")
