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
    batch_sizes: dict[str, int] = field(default_factory=dict)  # several devices: per set of images, see plan()

    @property
    def replicas(self) -> int:
        return len(self.devices) if self.strategy is not None else 1

    def scope(self):
        """Where the model must be built, compiled or loaded to be trained on every device."""
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def global_batch_size(self, per_device: int) -> int:
        return int(per_device) * self.replicas

    def plan(self, per_device: int, counts: dict[str, int]) -> Distribution:
        """The batch of one update for each set of images (e.g. {"training": 156, "validation": 48}),
        or one device when a set is too small to share (see `shared_batch`)."""
        if self.replicas == 1:
            return self
        wanted = self.global_batch_size(per_device)
        sizes = {name: shared_batch(n, wanted, self.replicas) for name, n in counts.items()}
        unshareable = [name for name, size in sizes.items() if size is None]
        if unshareable:
            name = unshareable[0]
            return Distribution(None, NONE, self.devices[:1], self.warnings + [
                f"The {name} set ({counts[name]} images) is too small to be shared between {self.replicas} "
                f"devices, so training runs on one device ({short_name(self.devices[0])})."])
        changed = [f"{sizes[name]} for the {name} set" for name, n in counts.items() if n >= wanted and
                   sizes[name] != wanted]
        note = ([f"The batch of one update is {', '.join(changed)} instead of {wanted}, so that every device "
                 f"gets images in the last batch of each epoch."] if changed else [])
        planned = Distribution(self.strategy, self.name, self.devices, self.warnings + note)
        planned.batch_sizes = {name: size for name, size in sizes.items()}
        return planned

    def batch_settings(self, settings: Settings, subset: str) -> Settings:
        """The settings the batches of one set ("training", "validation") are made from."""
        if self.replicas == 1:
            return settings
        scaled = settings.copy()
        scaled.training.batch_size = self.batch_sizes[subset]
        return scaled

    def replan(self, per_device: int, counts: dict[str, int]) -> None:
        """New batches after a smaller per-device batch (out of memory); a set that cannot take it keeps its own."""
        if self.replicas == 1:
            return
        wanted = self.global_batch_size(per_device)
        for name, n in counts.items():
            self.batch_sizes[name] = shared_batch(n, wanted, self.replicas) or self.batch_sizes[name]

    def report(self, per_device: int) -> dict:
        """The `distribution` field of the `started` event (the batch of one update: the training set's)."""
        per_update = self.batch_sizes.get("training", self.global_batch_size(per_device))
        return {"strategy": self.name, "devices": [short_name(d) for d in self.devices], "replicas": self.replicas,
                "per_device_batch_size": per_update // self.replicas, "global_batch_size": per_update}


def shared_batch(n_images: int, wanted: int, replicas: int) -> int | None:
    """The largest batch of at most `wanted` images that `replicas` devices can share for `n_images` images.

    Two rules from TensorFlow's MirroredStrategy: Keras builds the model on
    every device from the first batch of each pass, which must split evenly
    (a multiple of the devices); and each batch is dealt out in equal parts
    in device order, so a short last batch must still reach the last device
    (on the processor, a device left without images fails). None when no batch works.
    """
    if n_images == 0:
        return wanted
    for batch in range(min(wanted, n_images - n_images % replicas), replicas - 1, -replicas):
        last = n_images % batch
        if last == 0 or last > batch - batch // replicas:
            return batch
    return None


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
