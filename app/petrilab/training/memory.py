"""Will a batch fit in memory? An estimate before training, and a smaller batch when it did not.

The estimate (kept simple and on the safe side):

    fixed      = 4 bytes × parameters × 4        weights, their gradients, Adam's two moments
    per image  = 4 bytes × (activations × 3 + input × 2)
                 activations: the numbers every layer outputs for one image (float32); kept for
                 the backward pass, their gradients, and working space for the layer maths.
                 input: the image itself, twice (the batch being used and the next one prepared)
    budget     = RAM_SHARE of the free RAM (the data, the window and other programs need the rest),
                 or GPU_SHARE of the graphics card's free memory
    largest batch = (budget − fixed) / per image

Frameworks share memory between layers more cleverly than this, so the real
need is usually lower: a batch the estimate accepts fits, one it refuses by a
wide margin (CLEARLY_TOO_LARGE) is worth a warning. When the estimate is wrong
the other way, the trainer catches the out-of-memory error, halves the batch
and goes on (see `is_out_of_memory`).
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from dataclasses import dataclass

BYTES_PER_NUMBER = 4  # float32
PARAMETER_COPIES = 4  # weights, gradients, two optimiser moments (Adam; SGD needs fewer)
ACTIVATION_COPIES = 3  # forward value, its gradient, working space
INPUT_COPIES = 2  # the batch in use and the next one being prepared
RAM_SHARE = 0.5
GPU_SHARE = 0.8
CLEARLY_TOO_LARGE = 2.0  # warn when the configured batch needs more than twice the budget

# The exception classes that mean "out of memory", by name, so that no backend needs importing:
# TensorFlow's ResourceExhaustedError, PyTorch's torch.cuda.OutOfMemoryError (and torch.OutOfMemoryError),
# and Python's own MemoryError (numpy allocations on the CPU).
OUT_OF_MEMORY_CLASSES = {"ResourceExhaustedError", "OutOfMemoryError", "MemoryError"}


@dataclass
class MemoryEstimate:
    where: str  # "RAM" | "GPU memory"
    available: int  # bytes free now
    fixed: int  # bytes needed whatever the batch
    per_image: int  # bytes added by each image of a batch

    @property
    def budget(self) -> int:
        return int(self.available * (GPU_SHARE if self.where == "GPU memory" else RAM_SHARE))

    def needed(self, batch_size: int) -> int:
        return self.fixed + batch_size * self.per_image

    def largest_batch(self) -> int:
        """The largest batch the budget holds (0 when not even one image fits)."""
        room = self.budget - self.fixed
        return max(0, room // max(1, self.per_image))

    def proposed_batch(self, wanted: int) -> int:
        """`wanted`, or the largest power of two below it that fits (at least 1).

        Never larger than `wanted`: a larger batch changes how the model learns
        (the workshop's rule: larger batches want a smaller learning rate).
        """
        largest = self.largest_batch()
        if wanted <= largest:
            return wanted
        return max(1, 2 ** int(math.floor(math.log2(largest)))) if largest >= 1 else 1

    def clearly_too_large(self, batch_size: int) -> bool:
        return self.needed(batch_size) > CLEARLY_TOO_LARGE * self.budget


# ---------------------------------------------------------------- what the model needs


def _elements(shape) -> int:
    return int(math.prod(int(n) for n in shape[1:]))


def activation_numbers(model, input_shape: tuple[int, ...]) -> int:
    """How many numbers the layers of `model` output for one image of `input_shape` (height, width, channels).

    Shapes are worked out by Keras for this input size (a U-Net takes any size, so its own
    layer shapes say 'None'); a model used as a layer (a transfer learning base) is counted
    layer by layer too.
    """
    import keras

    operations = list(model.operations)
    try:
        probe = keras.Model(model.inputs, [op.output for op in operations])
        specs = probe.compute_output_spec(keras.KerasTensor((1, *input_shape)))
        shapes = [spec.shape for spec in (specs if isinstance(specs, (list, tuple)) else [specs])]
    except Exception:  # an unusual graph: fall back to the shapes the layers know, unknown sides as the input's
        shapes = [_known_shape(op.output.shape, input_shape) for op in operations]
    total = 0
    for op, shape in zip(operations, shapes):
        if isinstance(op, keras.Model) and getattr(op, "inputs", None):
            inner = tuple(int(n) if n is not None else int(s)
                          for n, s in zip(op.inputs[0].shape[1:], input_shape))
            total += activation_numbers(op, inner)
        else:
            total += _elements(shape)
    return total


def _known_shape(shape, input_shape) -> tuple:
    sides = list(input_shape[:2])
    return tuple(n if n is not None else (sides[i - 1] if 1 <= i <= 2 else 1) for i, n in enumerate(shape))


def estimate(model, input_shape: tuple[int, ...], device_kind: str = "cpu",
             backend: str = "tensorflow") -> MemoryEstimate | None:
    """The memory estimate for training `model` on images of `input_shape`; None when the free memory is unknown."""
    where, available = available_memory(device_kind, backend)
    if available is None:
        return None
    try:
        fixed = BYTES_PER_NUMBER * PARAMETER_COPIES * int(model.count_params())
        per_image = BYTES_PER_NUMBER * (ACTIVATION_COPIES * activation_numbers(model, input_shape)
                                        + INPUT_COPIES * int(math.prod(input_shape)))
    except Exception:  # noqa: BLE001 - a model the estimate cannot read: no estimate, never no training
        return None
    return MemoryEstimate(where, int(available), fixed, per_image)


# ---------------------------------------------------------------- what the machine has


def available_memory(device_kind: str = "cpu", backend: str = "tensorflow") -> tuple[str, int | None]:
    """("RAM" | "GPU memory", bytes free now, or None when it cannot be known)."""
    if device_kind == "gpu":
        free = gpu_free_memory(backend)
        if free is not None:
            return "GPU memory", free
    try:
        import psutil

        return "RAM", int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - no estimate rather than no training
        return "RAM", None


def gpu_free_memory(backend: str) -> int | None:
    """Free memory of the first graphics card, in bytes, or None."""
    try:
        if backend == "torch":
            import torch

            if torch.cuda.is_available():
                free, _total = torch.cuda.mem_get_info()
                return int(free)
            return None
        # TensorFlow tells what it uses itself (get_memory_info) but not the card's size: ask the driver.
        used_by_us = 0
        if backend == "tensorflow":
            try:
                import tensorflow as tf

                used_by_us = int(tf.config.experimental.get_memory_info("GPU:0").get("current", 0))
            except Exception:  # noqa: BLE001 - not initialised yet: nothing used
                used_by_us = 0
        smi = shutil.which("nvidia-smi")
        if smi is None:
            return None
        out = subprocess.run([smi, "--query-gpu=memory.free", "--format=csv,noheader,nounits", "-i", "0"],
                             capture_output=True, text=True, timeout=10, env={**os.environ, "LC_ALL": "C"})
        # what TensorFlow already holds for this process is ours to use
        return int(float(out.stdout.strip().splitlines()[0]) * 1024 * 1024) + used_by_us
    except Exception:  # noqa: BLE001 - a broken driver means no estimate, not no training
        return None


# ---------------------------------------------------------------- when it did not fit


def is_out_of_memory(exc: BaseException | None) -> bool:
    """True when `exc` (or what caused it) is an out-of-memory error of any backend, recognised by class name."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if any(cls.__name__ in OUT_OF_MEMORY_CLASSES for cls in type(exc).__mro__):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def smaller_batch(batch_size: int) -> int:
    """Half the batch (rounded down), at least 1."""
    return max(1, int(batch_size) // 2)


def halved_message(old: int, new: int, where: str = "memory") -> str:
    return (f"The batch of {old} images did not fit in {where}, so training goes on with batches of {new} "
            f"(saved in the run's settings).")


HALVED_FIX = ("Nothing to do. Next time, start with this batch size (Model page, 'Batch size'), "
              "or use smaller images or a smaller model.")


def too_large_message(batch_size: int, est: MemoryEstimate) -> str:
    gb = 1024 ** 3
    return (f"A batch of {batch_size} images probably does not fit in {est.where}: it needs about "
            f"{est.needed(batch_size) / gb:.1f} GB and {est.available / gb:.1f} GB are free. "
            f"If it runs out, PetriLab halves the batch and goes on.")


def too_large_fix(est: MemoryEstimate, batch_size: int) -> str:
    return f"Choose a batch size of {est.proposed_batch(batch_size)} or less, smaller images, or a smaller model."


def fit_with_smaller_batches(fit, batch_size: int, shrink, warn, first_epoch) -> int:
    """Run `fit(first_epoch())`; when a batch does not fit in memory, halve the batch and go on.

    `shrink(new_batch_size)` rebuilds whatever depends on the batch size (the batches, the
    steps per epoch, the saved settings); `warn(message, fix)` tells the user; `first_epoch()`
    says where to continue (the epochs completed so far are kept, the interrupted one is
    trained again). Returns the batch size that worked. Out of memory with batches of one
    image is a plain UserError: only smaller images or a smaller model can help then.
    """
    from petrilab.errors import UserError

    while True:
        try:
            fit(first_epoch())
            return batch_size
        except Exception as exc:  # noqa: BLE001 - only out-of-memory is handled, the rest goes on up
            if not is_out_of_memory(exc):
                raise
            if batch_size <= 1:
                raise UserError("The model does not fit in memory even with one image per batch.",
                                fix="Use smaller images (or a smaller patch size), or a smaller model "
                                    "(fewer filters or blocks).") from None
            new = smaller_batch(batch_size)
            del exc  # let the framework free what the failed batch held before the next try
            shrink(new)
            warn(halved_message(batch_size, new), HALVED_FIX)
            batch_size = new
