"""Keras metrics the task recipes add to training (Keras 3 only; imported by the engine, never by the GUI).

Registered as serialisable, so a resumed run's last.keras (saved with its
compile settings) loads with them; prediction loads model.keras without
compiling and needs none of this.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="petrilab")
class MeanAbsoluteErrorInUnits(keras.metrics.Metric):
    """Mean absolute error of standardised outputs, turned back into the targets' own units.

    The network learns (value - mean) / spread; multiplying each target's
    error by its spread gives the error in the units of targets.csv (e.g.
    pixels), averaged over the targets. This is what the curves show as 'mae'.
    """

    def __init__(self, scales, name: str = "mae", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.scales = [float(s) for s in scales]
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        scales = ops.convert_to_tensor(self.scales, dtype="float32")
        error = ops.abs(ops.cast(y_true, "float32") - ops.cast(y_pred, "float32")) * scales
        per_image = ops.mean(error, axis=-1)
        if sample_weight is not None:
            weight = ops.reshape(ops.cast(sample_weight, "float32"), ops.shape(per_image))
            self.total.assign_add(ops.sum(per_image * weight))
            self.count.assign_add(ops.sum(weight))
        else:
            self.total.assign_add(ops.sum(per_image))
            self.count.assign_add(ops.cast(ops.shape(per_image)[0], "float32"))

    def result(self):
        return ops.divide_no_nan(self.total, self.count)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {"scales": self.scales, "name": self.name, "dtype": self.dtype}
