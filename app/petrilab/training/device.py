"""Choosing where training runs: the GPU when there is one, else the CPU.

Called once, before the first model is built. The TensorFlow- and
PyTorch-specific calls are kept here, behind the backend check, so the
model and training code stays backend-neutral Keras.

`Device.replicas` lists the devices one training could share
(`training/distribute.py` decides whether it does): every GPU, or, for
testing and diagnosis only, the CPU split into several logical devices by
the environment variable PETRILAB_LOGICAL_CPUS=N (TensorFlow; it must be set
before the engine starts, because TensorFlow fixes its devices when it
first uses them).
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
    # the devices a training could be shared between, as the backend names them
    # ("/device:GPU:0", "cuda:1", "/device:CPU:1"); one or none: nothing to share
    replicas: list[str] = field(default_factory=list)


LOGICAL_CPUS = "PETRILAB_LOGICAL_CPUS"  # testing/diagnostic aid: split the CPU into N TensorFlow devices


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


def _tensorflow_gpu_names() -> list[str]:
    import tensorflow as tf

    return [d.name for d in tf.config.list_logical_devices("GPU")]


def split_cpu(backend: str, warnings: list[str]) -> list[str]:
    """The logical CPU devices asked for by PETRILAB_LOGICAL_CPUS (none when it is unset or below 2).

    Lets the several-device path (MirroredStrategy) run, and be tested, on a
    machine without GPUs. It does not make training faster: the logical devices
    share the same cores.
    """
    wanted = os.environ.get(LOGICAL_CPUS, "").strip()
    if not wanted:
        return []
    if not wanted.isdigit():
        warnings.append(f"{LOGICAL_CPUS}={wanted} is not a whole number, so the processor is not split.")
        return []
    count = int(wanted)
    if count < 2:
        return []
    if backend != "tensorflow":
        warnings.append(f"{LOGICAL_CPUS} only works with the TensorFlow engine; this run uses one device.")
        return []
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:  # TensorFlow already started: keep the split only if it is the one asked for
        if len(tf.config.get_logical_device_configuration(cpu) or []) != count:
            warnings.append(f"The processor could not be split into {count} devices ({LOGICAL_CPUS}) because "
                            "TensorFlow had already started; this run uses one device.")
            return []
    return [d.name for d in tf.config.list_logical_devices("CPU")]


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
        return Device("cpu", _cpu_name(), backend, False, warnings, split_cpu(backend, warnings))

    name = gpus[0][0]
    # Tensor cores (compute capability 7.0 and newer) make float16 maths
    # about twice as fast; older cards gain nothing and lose precision.
    # Cards that share a training must all have them, or the slowest sets the pace.
    fast_half = all(capability is not None and tuple(capability) >= (7, 0) for _, capability in gpus)
    use_mixed = mixed_precision == "on" or (mixed_precision == "auto" and fast_half)
    keras.mixed_precision.set_global_policy("mixed_float16" if use_mixed else "float32")
    label = f"GPU: {name}" + (f" (+{len(gpus) - 1} more)" if len(gpus) > 1 else "")
    replicas = _tensorflow_gpu_names() if backend == "tensorflow" else [f"cuda:{i}" for i in range(len(gpus))]
    return Device("gpu", label, backend, use_mixed, warnings, replicas)
