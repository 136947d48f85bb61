"""Face-expression architectures, by name: the seed baseline, the v1 VGG (`face_large`) and the compact v2 nets."""

from __future__ import annotations

from functools import partial
from typing import Callable

from edge.labels import FACE_LABELS
from edge.classify.face_preprocess import FACE_PREPROCESS

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


def compact(stem: int = 16, widths: tuple[int, ...] = (32, 64, 128), full_res: bool = False, head: int = 256,
            dropout: float = 0.3):
    """A cheap VGG with residual pairs: what one Cortex-A57 core can run per face in about a millisecond.

    Stem: a 3x3 conv at 48x48 with `stem` channels (cheap: one input channel). Then one stage per width, each
    a 3x3 conv that changes the width and a second 3x3 conv added back to it (a residual pair, so a short CPU
    schedule still trains it). `full_res=False` halves the resolution before the first stage with a stride-2
    conv (24, 12, 6 px), True keeps the first stage at 48 px (48, 24, 12, 6 with `stem` as the first width).
    A 1x1 conv widens to `head` channels before global average pooling. Only CONV_2D, ADD, MAX_POOL_2D, MEAN,
    FULLY_CONNECTED and SOFTMAX: all run inside XNNPACK with static shapes.
    """
    import keras
    from keras import layers

    def conv(x, c, stride=1, k=3):
        x = layers.Conv2D(c, k, strides=stride, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU()(x)

    def pair(x, c, stride=1):
        x = conv(x, c, stride)
        y = layers.Conv2D(c, 3, padding="same", use_bias=False)(x)
        y = layers.BatchNormalization()(y)
        return layers.ReLU()(layers.Add()([x, y]))

    x = inp = keras.Input(INPUT_SHAPE, name="face")
    x = conv(x, stem)
    for i, width in enumerate(widths):
        if i == 0 and not full_res:
            x = pair(x, width, stride=2)
            continue
        if i:
            x = layers.MaxPooling2D()(x)
        x = pair(x, width)
    x = conv(x, head, k=1)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    out = layers.Dense(len(FACE_LABELS), activation="softmax", name="probs")(x)
    res = "r48" if full_res else "r24"
    return keras.Model(inp, out, name=f"compact_{res}_{stem}-" + "-".join(map(str, widths)) + f"_h{head}")


# name -> builder; `edge-convert train-face --arch NAME`. The 1 MB file limit bounds the parameters (int8: one byte
# each) while one core here runs about 560 M int8 MACs per ms (edge/models/FACE_MODEL_CARD.md), so the VGGs spend
# their width early, at high resolution.
ARCHS: dict[str, Callable] = {
    "baseline": baseline,
    "vgg": vgg,
    "vgg-deep": partial(vgg, (32, 64, 128, 160), (2, 2, 3, 2)),
    "compact": partial(compact, 16, (32, 64, 128), False, 256),
    "compact-r48": partial(compact, 12, (12, 24, 56, 112), True, 256),
    # v3: the compact layout 1.5x wider, 56.9 M MACs (issue 20's budget is 60 M per face)
    "compact-wide": partial(compact, 24, (48, 96, 192), False, 384),
}


def macs(model) -> int:
    """Multiply-accumulates of one forward pass, counted over convolution and Dense layers."""
    from keras import layers

    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.DepthwiseConv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            total += h * w * c_out * kh * kw
        elif isinstance(layer, layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            total += h * w * c_out * kh * kw * layer.input.shape[-1] // layer.groups
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


def calibrated(model, temperature: float, log_prior_shift):
    """`model` with its softmax input divided by `temperature` and `log_prior_shift` (per class) added to it.

    Folded into the last Dense layer (W / T, b / T + shift), so the converted graph is unchanged and the runtime
    needs no calibration code: softmax(z / T + shift) is what the file outputs.
    """
    import numpy as np

    dense = model.get_layer("probs")
    w, b = dense.get_weights()
    dense.set_weights([w / temperature, b / temperature + np.asarray(log_prior_shift, np.float32)])
    return model


def without_softmax(model):
    """`model` ending in its class scores: the last Dense layer's softmax is left to the runtime.

    XNNPACK has no int8 SOFTMAX, so a full-integer graph that ends in one leaves that op to the reference
    kernels; the sidecar's `"postprocess": {"softmax": true}` tells edge.classify.model.Model to apply it in float.
    """
    import keras

    model.get_layer("probs").activation = keras.activations.get("linear")
    return model
