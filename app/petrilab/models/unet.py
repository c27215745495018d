"""The U-Net of the workshop's segmentation session: an answer for every pixel.

The encoder is one level per entry of model.filters: two 3 × 3 convolutions,
then a 2 × 2 max-pooling that halves the map. A bottleneck with twice the
last filters sees the widest context. The decoder climbs back: a 2 × 2
up-convolution doubles the map, the encoder's map of the same size is joined
to it (the skip connection that keeps fine detail), two convolutions mix
them. A 1 × 1 convolution gives the task's channels per pixel. For blind-spot
training (Noise2Void) the head may ask for blurred down-sampling
(head.blur_pool, _blur_pool) and, as N2V2, no shortcut at the finest level
(head.finest_shortcut).

The defaults [16, 32, 64] make the "petit U-Net" (about 0.5 M parameters)
that trains in minutes on a laptop's processor; the workshop's larger ones had
four or five levels and 2–4 M. The network is fully convolutional: it takes
images of any size whose sides are multiples of 2^depth (padded otherwise by
the prediction code), whatever the patch size it was trained on.
"""

from __future__ import annotations

import keras

from petrilab.models import blocks
from petrilab.settings import Settings
from petrilab.tasks import OutputHead


def size_multiple(settings: Settings) -> int:
    """Image sides must be multiples of this for the poolings to halve them evenly."""
    return 2 ** len(settings.model.filters)


def build_unet(settings: Settings, input_shape: tuple[int, int, int], head: OutputHead) -> keras.Model:
    """A U-Net taking (any height, any width, channels) and giving head.units channels per pixel.

    input_shape's height and width are not fixed into the model (only its channels are):
    the same model trains on patches and predicts whole images.
    """
    model = settings.model
    blur, finest_shortcut = getattr(head, "blur_pool", False), getattr(head, "finest_shortcut", True)
    inputs = keras.Input((None, None, int(input_shape[2])), name="image")
    x = inputs
    skips = []
    for level, filters in enumerate(model.filters, start=1):
        x = _double_conv(x, filters, model, f"down{level}")
        skips.append(x)
        x = _blur_pool(x, f"down{level}_pool") if blur else blocks.pool(x, name=f"down{level}_pool")
    if model.dropout > 0:
        # dropout where the network summarises the most, as in the original U-Net
        x = keras.layers.Dropout(model.dropout, name="bottleneck_dropout")(x)
    x = _double_conv(x, 2 * model.filters[-1], model, "bottleneck")
    for level in range(len(model.filters), 0, -1):
        filters = model.filters[level - 1]
        x = keras.layers.Conv2DTranspose(filters, 2, strides=2, padding="same",
                                         kernel_regularizer=blocks.regulariser(model), name=f"up{level}_upconv")(x)
        if level > 1 or finest_shortcut:  # N2V2: none at the finest level, where pixel patterns would pass
            x = keras.layers.Concatenate(name=f"up{level}_join")([skips[level - 1], x])
        x = _double_conv(x, filters, model, f"up{level}")
    x = keras.layers.Conv2D(head.units, 1, kernel_regularizer=blocks.regulariser(model), name="output_weights")(x)
    # float32 even under mixed precision: probabilities near 0 or 1 and the loss stay accurate
    outputs = keras.layers.Activation(head.activation, dtype="float32", name="output")(x)
    return keras.Model(inputs, outputs, name="unet")


# Batch normalisation's running statistics (used for prediction) follow the recent batches more closely
# than Keras' default 0.99: segmentation often trains few steps per epoch on a few images, and stale
# statistics make a well-trained network predict nonsense.
NORM_MOMENTUM = 0.9


def _conv(x, filters: int, model, name: str):
    """A 3 × 3 convolution keeping the map size; with batch norm, as blocks.conv but with NORM_MOMENTUM."""
    if not model.batch_norm:
        return blocks.conv(x, filters, model, name)
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_regularizer=blocks.regulariser(model),
                            name=name)(x)
    x = keras.layers.BatchNormalization(momentum=NORM_MOMENTUM, name=f"{name}_norm")(x)
    return keras.layers.Activation(model.activation, name=f"{name}_{model.activation}")(x)


def _double_conv(x, filters: int, model, name: str):
    x = _conv(x, filters, model, name=f"{name}_conv1")
    return _conv(x, filters, model, name=f"{name}_conv2")


def _blur_pool(x, name: str):
    """N2V2's down-sampling (Höck et al. 2022, after Zhang's "Making convolutional networks shift-invariant
    again", 2019): the 2 × 2 maximum at every pixel, then a fixed [1 2 1] ⊗ [1 2 1] / 16 blur keeping every second
    pixel. A plain max-pooling's pick of one pixel in four aliases fine noise into checkerboard-like patterns,
    which a blind-spot network then paints into its answer. The blur is fixed: set here, never trained."""
    import numpy as np

    x = keras.layers.MaxPooling2D(2, strides=1, padding="same", name=f"{name}_max")(x)
    blur = keras.layers.DepthwiseConv2D(3, strides=2, padding="same", use_bias=False, trainable=False, name=name)
    x = blur(x)
    kernel = np.outer([1, 2, 1], [1, 2, 1]).astype("float32") / 16
    blur.set_weights([np.repeat(kernel[:, :, None, None], int(x.shape[-1]), axis=2)])
    return x
