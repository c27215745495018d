"""Choosing where training runs: the GPU when there is one, else the CPU.

Called once, before the first model is built. The TensorFlow- and
PyTorch-specific calls are kept here, behind the backend check, so the
model and training code stays backend-neutral Keras.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field


@dataclass
class Device:
    kind: str  # "gpu" | "cpu"
    name: str  # what the user sees, e.g. "GPU: NVIDIA RTX A4000" or "CPU (8 cores)"
    backend: str
    mixed_precision: bool = False
    warnings: list[str] = field(default_factory=list)


def _cpu_name() -> str:
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def _tensorflow_gpus() -> list[tuple[str, tuple[int, int] | None]]:
    import tensorflow as tf

    found = []
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            # Grab memory as needed rather than all at once, so the GUI's
            # preview or a second run on the same card can still start.
            tf.config.experimental.set_memory_growth(gpu, True)
        except (RuntimeError, ValueError):
            pass  # already initialised: growth can no longer change
        details = tf.config.experimental.get_device_details(gpu)
        found.append((details.get("device_name", gpu.name), details.get("compute_capability")))
    return found


def _torch_gpus() -> list[tuple[str, tuple[int, int] | None]]:
    import torch

    # Keras chooses its torch device once, at import (KERAS_TORCH_DEVICE, else MPS, else CUDA):
    # report the same one it will train on.
    if os.environ.get("KERAS_TORCH_DEVICE", "").startswith("cpu"):
        return []
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return [("Apple GPU (Metal)", None)]
    if not torch.cuda.is_available():
        return []
    return [(torch.cuda.get_device_name(i), torch.cuda.get_device_capability(i)) for i in range(torch.cuda.device_count())]


def list_gpus(backend: str) -> list[tuple[str, tuple[int, int] | None]]:
    try:
        if backend == "tensorflow":
            return _tensorflow_gpus()
        if backend == "torch":
            return _torch_gpus()
    except Exception:  # a broken driver must not stop a CPU run
        return []
    return []


def _hide_gpus(backend: str) -> None:
    if backend == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.set_visible_devices([], "GPU")
        except RuntimeError:
            pass  # devices already initialised; the CPU choice then holds for new models only
    else:
        # effective only before Keras is imported (petrilab.backend.activate sets it then)
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
        os.environ["KERAS_TORCH_DEVICE"] = "cpu"


def configure(device: str = "auto", mixed_precision: str = "auto") -> Device:
    """Pick the device from the settings ('auto' | 'cpu' | 'gpu') and set Keras up for it."""
    import keras

    backend = keras.backend.backend()
    warnings = []
    gpus = [] if device == "cpu" else list_gpus(backend)
    if device == "cpu":
        _hide_gpus(backend)
    if device == "gpu" and not gpus:
        warnings.append("No usable GPU was found, so training runs on the CPU (slower, same results).")
    if not gpus:
        if mixed_precision == "on":
            warnings.append("Mixed precision only speeds up training on a GPU; it is off for this CPU run.")
        keras.mixed_precision.set_global_policy("float32")
        return Device("cpu", _cpu_name(), backend, False, warnings)

    name, capability = gpus[0]
    # Tensor cores (compute capability 7.0 and newer) make float16 maths
    # about twice as fast; older cards gain nothing and lose precision.
    fast_half = capability is not None and tuple(capability) >= (7, 0)
    use_mixed = mixed_precision == "on" or (mixed_precision == "auto" and fast_half)
    keras.mixed_precision.set_global_policy("mixed_float16" if use_mixed else "float32")
    label = f"GPU: {name}" + (f" (+{len(gpus) - 1} more)" if len(gpus) > 1 else "")
    return Device("gpu", label, backend, use_mixed, warnings)
