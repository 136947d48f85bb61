"""Face-expression architectures, by name: the seed baseline and the shipped small VGG."""

from __future__ import annotations

from functools import partial
from typing import Callable

from edge.labels import FACE_LABELS
from edge.preprocess import FACE_PREPROCESS

INPUT_SHAPE = (FACE_PREPROCESS["size"][0], FACE_PREPROCESS["size"][1], 1)


def baseline():
    """The seed design: three conv blocks 32-64-128 with max-pooling, dense 256, dropout 0.5."""
    import keras
    from keras import layers

    x = inp = keras.Input(INPUT_SHAPE, name="face")
    for width in (32, 64, 128):
        x = layers.Conv2D(width, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    out = layers.Dense(len(FACE_LABELS), activation="softmax", name="probs")(x)
    return keras.Model(inp, out, name="baseline")


def vgg(widths: tuple[int, ...] = (64, 96, 128, 160), convs: tuple[int, ...] = (2, 2, 2, 2), dropout: float = 0.4):
    """Conv-BN-ReLU blocks with max-pooling, global average pooling, dropout, softmax."""
    import keras
    from keras import layers

    x = inp = keras.Input(INPUT_SHAPE, name="face")
    for i, (width, n) in enumerate(zip(widths, convs)):
        if i:
            x = layers.MaxPooling2D()(x)
        for _ in range(n):
            # No conv bias: BatchNorm's shift replaces it, and the converter folds BN into the conv.
            x = layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    out = layers.Dense(len(FACE_LABELS), activation="softmax", name="probs")(x)
    return keras.Model(inp, out, name="vgg_" + "-".join(f"{w}x{n}" for w, n in zip(widths, convs)))


# name -> builder; `edge-convert train-face --arch NAME`. The 1 MB file limit bounds the parameters (int8: one byte
# each) while one core here runs about 560 M int8 MACs per ms (edge/models/FACE_MODEL_CARD.md), so the VGGs spend
# their width early, at high resolution.
ARCHS: dict[str, Callable] = {
    "baseline": baseline,
    "vgg": vgg,
    "vgg-deep": partial(vgg, (32, 64, 128, 160), (2, 2, 3, 2)),
}


def macs(model) -> int:
    """Multiply-accumulates of one forward pass, counted over Conv2D and Dense layers."""
    from keras import layers

    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            total += h * w * c_out * kh * kw * layer.input.shape[-1]
        elif isinstance(layer, layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return int(total)


def mirror_average(core):
    """`core` wrapped to classify the face and its mirror image in one batch and average the two.

    Horizontal-flip test-time averaging inside the graph: the runtime runs one model, pays two
    forward passes, and needs no flip code of its own. The weights are stored once.
    """
    import keras
    from keras import layers, ops

    class MirrorBatch(layers.Layer):
        def call(self, x):
            return ops.concatenate([x, ops.flip(x, axis=2)], axis=0)  # axis 2: image width (NHWC)

    class MeanOfHalves(layers.Layer):
        def call(self, p):
            n = ops.shape(p)[0] // 2
            return (p[:n] + p[n:]) * 0.5

    inp = keras.Input(INPUT_SHAPE, name="face")
    out = MeanOfHalves(name="probs_mirror_average")(core(MirrorBatch(name="mirror_batch")(inp)))
    return keras.Model(inp, out, name=core.name + "_mirror")
