"""The dense network: every pixel connected to every neuron (the workshop's first models)."""

from __future__ import annotations

import math

import keras

from petrilab.errors import UserError
from petrilab.models import blocks
from petrilab.settings import Settings
from petrilab.tasks import OutputHead

# Beyond this many weights in one layer the model no longer fits a lab computer's memory
# comfortably (400 MB in float32) and would learn nothing useful from so few images.
LARGEST_LAYER = 100_000_000


def build_dense(settings: Settings, input_shape: tuple[int, int, int], head: OutputHead) -> keras.Model:
    """Flatten, the hidden layers model.dense_layers, then the output head.

    No hidden layers gives the single neuron: one weight per pixel value plus a bias.
    """
    model = settings.model
    inputs = keras.Input(input_shape, name="image")
    n_inputs = math.prod(input_shape)
    first = model.dense_layers[0] if model.dense_layers else head.units
    if n_inputs * first > LARGEST_LAYER:
        height, width, channels = input_shape
        raise UserError(
            f"A dense network on {height} × {width} images would need {n_inputs * first:,} weights "
            "in its first layer alone.",
            fix="Use the ConvNet or VGG-like architecture (they suit images), or smaller images.",
        )
    x = keras.layers.Flatten(name="flatten")(inputs)
    outputs = blocks.classifier(x, model, head, model.dense_layers, dropout_first=False)
    return keras.Model(inputs, outputs, name="dense")
