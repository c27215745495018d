"""The 3-D U-Net for z-stacks: the workshop's U-Net with 3-D convolutions, pooling z only where z is fine enough.

Confocal planes are usually farther apart than pixels (a voxel of 1 × 0.25 × 0.25 µm). Halving z as
often as y and x would leave a few planes after two levels and blur objects along z; like the
anisotropic networks of the literature, each level halves y and x, and halves z as well only once the
pixels have grown at least as large as half the plane spacing (`pool_sizes`). With planes as far apart
as pixels every level pools in z, y and x alike. Convolutions are 3 × 3 × 3 (1 × 3 × 3 while z is much
coarser than y, x, where a z neighbour is another world).

The default for stacks, filters [8, 16], is small enough to train on a processor in minutes. The
network is fully convolutional: it takes stacks of any size whose sides are multiples of
`size_multiples` (padded by the prediction code).
"""

from __future__ import annotations

import keras

from petrilab.models import blocks
from petrilab.data.anisotropy import DEFAULT_FILTERS_3D, kernel_sizes, pool_sizes, size_multiples  # noqa: F401
from petrilab.models.unet import NORM_MOMENTUM
from petrilab.tasks import OutputHead


def _conv(x, filters: int, kernel, model, name: str):
    if model.batch_norm:
        x = keras.layers.Conv3D(filters, kernel, padding="same", use_bias=False,
                                kernel_regularizer=blocks.regulariser(model), name=name)(x)
        x = keras.layers.BatchNormalization(momentum=NORM_MOMENTUM, name=f"{name}_norm")(x)
        return keras.layers.Activation(model.activation, name=f"{name}_{model.activation}")(x)
    return keras.layers.Conv3D(filters, kernel, padding="same", activation=model.activation,
                               kernel_regularizer=blocks.regulariser(model), name=name)(x)


def _double_conv(x, filters: int, kernel, model, name: str):
    x = _conv(x, filters, kernel, model, f"{name}_conv1")
    return _conv(x, filters, kernel, model, f"{name}_conv2")


def build_unet3d(model, channels: int, head: OutputHead, anisotropy: float = 1.0) -> keras.Model:
    """A 3-D U-Net taking (any z, any y, any x, channels), giving head.units channels per voxel.

    `model` is the settings' model section (filters, batch_norm, dropout, activation, l1, l2).
    """
    levels = len(model.filters)
    pools, kernels = pool_sizes(levels, anisotropy), kernel_sizes(levels, anisotropy)
    inputs = keras.Input((None, None, None, int(channels)), name="stack")
    x, skips = inputs, []
    for level, filters in enumerate(model.filters, start=1):
        x = _double_conv(x, filters, kernels[level - 1], model, f"down{level}")
        skips.append(x)
        x = keras.layers.MaxPooling3D(pools[level - 1], padding="same", name=f"down{level}_pool")(x)
    if model.dropout > 0:
        x = keras.layers.Dropout(model.dropout, name="bottleneck_dropout")(x)
    x = _double_conv(x, 2 * model.filters[-1], kernels[-1], model, "bottleneck")
    for level in range(levels, 0, -1):
        filters = model.filters[level - 1]
        x = keras.layers.Conv3DTranspose(filters, pools[level - 1], strides=pools[level - 1], padding="same",
                                         kernel_regularizer=blocks.regulariser(model), name=f"up{level}_upconv")(x)
        x = keras.layers.Concatenate(name=f"up{level}_join")([skips[level - 1], x])
        x = _double_conv(x, filters, kernels[level - 1], model, f"up{level}")
    x = keras.layers.Conv3D(head.units, 1, kernel_regularizer=blocks.regulariser(model), name="output_weights")(x)
    outputs = keras.layers.Activation(head.activation, dtype="float32", name="output")(x)
    return keras.Model(inputs, outputs, name="unet3d")
