"""The pieces every builder shares.

Hidden layers, convolution blocks, the step from image maps to one vector,
the classifier head and the output layer, each applying the regularisation
settings the same way, so the four architectures differ only in their
shape. Layers get readable names: they are what the GUI's layer table shows.
"""

from __future__ import annotations

import keras

from petrilab.data.network_depth import FLATTEN_MAX_SIDE
from petrilab.settings import ModelSettings
from petrilab.tasks import OutputHead


def regulariser(model: ModelSettings):
    """L1/L2 penalty on the weights of our Dense and Conv layers, or None when both are 0."""
    if model.l1 == 0 and model.l2 == 0:
        return None
    return keras.regularizers.L1L2(l1=model.l1, l2=model.l2)


def dense(x, units: int, model: ModelSettings, name: str):
    """A hidden Dense layer: weights, then batch normalisation if asked, then the activation."""
    if model.batch_norm:
        # The normalisation has its own shift, which makes the layer's bias redundant.
        x = keras.layers.Dense(units, use_bias=False, kernel_regularizer=regulariser(model), name=name)(x)
        x = keras.layers.BatchNormalization(name=f"{name}_norm")(x)
        return keras.layers.Activation(model.activation, name=f"{name}_{model.activation}")(x)
    return keras.layers.Dense(units, activation=model.activation, kernel_regularizer=regulariser(model),
                              name=name)(x)


def conv(x, filters: int, model: ModelSettings, name: str):
    """A 3 × 3 convolution that keeps the map size, with the same batch-norm rule as `dense`."""
    if model.batch_norm:
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False,
                                kernel_regularizer=regulariser(model), name=name)(x)
        x = keras.layers.BatchNormalization(name=f"{name}_norm")(x)
        return keras.layers.Activation(model.activation, name=f"{name}_{model.activation}")(x)
    return keras.layers.Conv2D(filters, 3, padding="same", activation=model.activation,
                               kernel_regularizer=regulariser(model), name=name)(x)


def pool(x, name: str):
    # padding="same" rounds odd sizes up (25 → 13) instead of dropping the last row of
    # pixels, and never shrinks a 1 × 1 map to nothing: any number of blocks builds for
    # any image size (describe_model warns when blocks run out of pixels).
    return keras.layers.MaxPooling2D(2, padding="same", name=name)(x)


def feature_vector(x):
    """Turn the last feature maps into one vector per image for the dense head.

    A small last map (at most 4 × 4, as in the workshop's MNIST ConvNet) is
    flattened: the head still knows where in the image each feature was, at a
    small cost. A larger map would give every neuron of the first head layer
    thousands of inputs (8 × 8 × 64 = 4,096 for the defaults on 64 × 64
    images), most of the model's parameters and an easy way to overfit; so we
    average each feature over the image instead (global average pooling): the
    head's size then no longer depends on the image size.
    """
    _, height, width, _ = x.shape
    if height <= FLATTEN_MAX_SIDE and width <= FLATTEN_MAX_SIDE:
        return keras.layers.Flatten(name="flatten")(x)
    return keras.layers.GlobalAveragePooling2D(name="average")(x)


def classifier(x, model: ModelSettings, head: OutputHead, units: list[int], dropout_first: bool = True):
    """Hidden Dense layers `units`, then the output; dropout before each Dense layer.

    dropout_first=False leaves the first Dense layer without dropout on its inputs
    (for the dense architecture, whose inputs are the raw pixels).
    """
    for i, n in enumerate(units, start=1):
        if model.dropout > 0 and (dropout_first or i > 1):
            x = keras.layers.Dropout(model.dropout, name=f"dropout{i}")(x)
        x = dense(x, n, model, name=f"hidden{i}")
    if model.dropout > 0 and (dropout_first or units):
        x = keras.layers.Dropout(model.dropout, name="dropout_output")(x)
    return output(x, model, head)


def output(x, model: ModelSettings, head: OutputHead):
    """The task's last layer. Its activation runs in float32 even under mixed precision,
    so probabilities near 0 or 1 and the loss computed from them stay accurate."""
    x = keras.layers.Dense(head.units, kernel_regularizer=regulariser(model), name="output_weights")(x)
    return keras.layers.Activation(head.activation, dtype="float32", name="output")(x)
