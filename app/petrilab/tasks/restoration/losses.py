"""The restoration loss and curve, Keras 3 (imported by the engine, never by the window).

The network's target packs two things per pixel, channel by channel: the value to reach, then a weight
(patches.py). Noise2Void's weight is 1 on the hidden pixels and 0 elsewhere, so only the blind spots count
(blind_spot.py); with pairs every pixel weighs 1. The loss is the mean squared (or absolute) error over the
weighted pixels of each patch; the curve 'mae' the mean absolute error on the same pixels, in the stretched
intensities the network sees (0 is the image's 1st percentile, 1 its 99.8th). Registered as serialisable:
last.keras (saved compiled, for resume) loads with them.
"""

from __future__ import annotations

import keras
from keras import ops

PACKAGE = "petrilab"
KINDS = ("mse", "mae")


def split_target(y_true, y_pred):
    """(target, weights, prediction) as float32 from the packed target (values, then weights)."""
    channels = y_pred.shape[-1]
    y_true = ops.cast(y_true, "float32")
    return y_true[..., :channels], y_true[..., channels:], ops.cast(y_pred, "float32")


@keras.saving.register_keras_serializable(package=PACKAGE)
class WeightedPixelLoss(keras.losses.Loss):
    """Mean squared (kind "mse") or absolute ("mae") error over each patch's weighted pixels only."""

    def __init__(self, kind: str = "mse", name: str | None = None, **kwargs):
        if kind not in KINDS:
            raise ValueError(f"unknown restoration loss {kind!r}; use one of {KINDS}")
        super().__init__(name=name or f"masked_{kind}", **kwargs)
        self.kind = kind

    def call(self, y_true, y_pred):
        target, weights, prediction = split_target(y_true, y_pred)
        error = target - prediction
        error = ops.square(error) if self.kind == "mse" else ops.abs(error)
        axes = tuple(range(1, len(prediction.shape)))
        return ops.sum(error * weights, axis=axes) / ops.maximum(ops.sum(weights, axis=axes), 1.0)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind}


@keras.saving.register_keras_serializable(package=PACKAGE)
class WeightedPixelMAE(keras.metrics.Metric):
    """The mean absolute error over the weighted pixels of the epoch (all patches pooled): the 'mae' curve."""

    def __init__(self, name: str = "mae", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        target, weights, prediction = split_target(y_true, y_pred)
        self.total.assign_add(ops.sum(ops.abs(target - prediction) * weights))
        self.count.assign_add(ops.sum(weights))

    def result(self):
        return ops.divide_no_nan(self.total, self.count)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}
