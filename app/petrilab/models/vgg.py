"""The VGG-like network of the workshop's red blood cell example."""

from __future__ import annotations

import keras

from petrilab.models import blocks
from petrilab.settings import Settings
from petrilab.tasks import OutputHead


def build_vgg(settings: Settings, input_shape: tuple[int, int, int], head: OutputHead) -> keras.Model:
    """Per entry of model.filters two 3 × 3 convolutions and a 2 × 2 max-pooling, then the dense head.

    Two stacked 3 × 3 convolutions see a 5 × 5 neighbourhood with fewer weights
    than one 5 × 5 convolution, and add one more activation in between.
    """
    model = settings.model
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    for i, filters in enumerate(model.filters, start=1):
        x = blocks.conv(x, filters, model, name=f"block{i}_conv1")
        x = blocks.conv(x, filters, model, name=f"block{i}_conv2")
        x = blocks.pool(x, name=f"block{i}_pool")
    x = blocks.feature_vector(x)
    outputs = blocks.classifier(x, model, head, model.head_units)
    return keras.Model(inputs, outputs, name="vgg")
