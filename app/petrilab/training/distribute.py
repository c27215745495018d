"""Sharing one training between several devices (data parallelism), or not.

With several GPUs on the TensorFlow engine, each batch is cut into equal
parts, one per GPU; every GPU holds a copy of the model, computes the
gradients of its part, and the copies are averaged before each update
(TensorFlow's MirroredStrategy, which Keras 3 `model.fit` follows when the
model is built inside `strategy.scope()`). Keras' own distribution API is
not used: in Keras 3 it works on the JAX backend only.

`training.batch_size` is per device, so each device gets the batch it would
get alone and the batch of one update is per device × devices. PyTorch has
no such path in Keras 3: a PyTorch run trains on one GPU and says so.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from petrilab.settings import Settings

MIRRORED = "mirrored"
NONE = "none"


@dataclass
class Distribution:
    strategy: object | None  # a tf.distribute.Strategy, or None for one device
    name: str  # MIRRORED | NONE
    devices: list[str]
    warnings: list[str] = field(default_factory=list)

    @property
    def replicas(self) -> int:
        return len(self.devices) if self.strategy is not None else 1

    def scope(self):
        """Where the model must be built, compiled or loaded to be trained on every device."""
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def global_batch_size(self, per_device: int) -> int:
        return int(per_device) * self.replicas

    def batch_settings(self, settings: Settings) -> Settings:
        """The settings the batches are made from: the batch of one update (all devices together)."""
        if self.replicas == 1:
            return settings
        scaled = settings.copy()
        scaled.training.batch_size = self.global_batch_size(settings.training.batch_size)
        return scaled

    def report(self, per_device: int) -> dict:
        """The `distribution` field of the `started` event."""
        return {"strategy": self.name, "devices": [short_name(d) for d in self.devices], "replicas": self.replicas,
                "per_device_batch_size": int(per_device), "global_batch_size": self.global_batch_size(per_device)}


def short_name(device: str) -> str:
    """'/job:localhost/replica:0/task:0/device:GPU:1' or '/device:GPU:1' -> 'GPU:1'."""
    return device.rsplit("device:", 1)[-1]


def choose(device, setting: str = "auto") -> Distribution:
    """How to use the devices `training.device.configure` found; `setting` is training.devices ('auto' | 'one')."""
    devices = list(device.replicas)
    one = Distribution(None, NONE, devices[:1] or [device.name])
    if len(devices) < 2 or setting == "one":
        return one
    if device.backend != "tensorflow":
        one.warnings.append(
            f"This computer has {len(devices)} graphics cards, but the PyTorch engine trains on one of them "
            f"({short_name(devices[0])}); the others stay free. The TensorFlow engine (Model page, Engine) "
            "trains on all of them, on Linux.")
        return one
    import tensorflow as tf

    try:
        strategy = tf.distribute.MirroredStrategy(devices=devices)
    except (RuntimeError, ValueError) as exc:  # a driver that refuses to pair the cards must not stop the run
        one.warnings.append(f"Training runs on one device because the {len(devices)} devices could not be "
                            f"used together ({exc}).")
        return one
    return Distribution(strategy, MIRRORED, devices)
