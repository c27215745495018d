"""A training whose loss or weights stop being numbers (NaN, infinity) ends, and says so.

Keras' own TerminateOnNaN looks at the loss only, and the loss can hide it:
after a ReLU a NaN becomes 0, so a network whose convolution weights are all
NaN still reports a loss of ln 2 = 0.693 and "learns" nothing, epoch after
epoch, to a run that says "completed". So at each epoch's end the recorder
asks `problem(logs, model)`: the loss and metrics, then every weight (one
reduction per weight, on the device: cheap next to an epoch). When something
is not finite the training stops at once, no checkpoint is written from that
epoch on, and `error` explains it in plain words (the run ends as failed).
"""

from __future__ import annotations

import math

from petrilab.errors import UserError


def _what(value: float) -> str:
    return "infinite" if math.isinf(value) else "NaN (not a number)"


def weights_finite(model) -> bool:
    """True when every floating-point weight of `model` (trainable or not: batch-norm statistics too) is finite."""
    import keras

    each = [keras.ops.all(keras.ops.isfinite(v.value)) for v in model.weights if "float" in str(v.dtype)]
    return not each or bool(keras.ops.all(keras.ops.stack(each)))  # one answer read back from the device


def problem(logs: dict, model) -> str | None:
    """What became non-finite this epoch, in words ("the training loss became NaN (not a number)"), or None."""
    loss = logs.get("loss")
    if isinstance(loss, float) and not math.isfinite(loss):
        return f"the training loss became {_what(loss)}"
    for key, value in logs.items():
        if isinstance(value, float) and not math.isfinite(value):
            name = "the validation loss" if key == "val_loss" else f"'{key}'"
            return f"{name} became {_what(value)}"
    if not weights_finite(model):
        return "the network's weights became NaN or infinite (the loss shown may still look normal)"
    return None


def diverged_error(what: str, epoch: int, settings, best_epoch: int | None, nonfinite_images: list[str]) -> UserError:
    """The plain message a run ends with when it went non-finite at `epoch` (0-based)."""
    lr = settings.training.learning_rate
    kept = (f" model.keras keeps the network from epoch {best_epoch + 1}, the best before it went wrong."
            if best_epoch is not None and best_epoch < epoch else " No usable model was saved.")
    fix = (f"Lower the learning rate (training.learning_rate, now {lr:g}), for example to {lr / 10:g}, and train again."
           if isinstance(lr, (int, float)) else
           "Set a lower learning rate (training.learning_rate, for example 0.0001) and train again.")
    if nonfinite_images:
        names = ", ".join(f"'{p}'" for p in nonfinite_images[:5])
        fix += f" Check the images the data check named: {names}."
    else:
        fix += (" If it happens again, check the images for extreme pixel values (Analyze > Histogram in Fiji) "
                "and try percentile normalisation (data.normalisation = \"percentile\").")
    return UserError(f"Training went wrong at epoch {epoch + 1}: {what}, so the network cannot learn any more and "
                     f"training was stopped.{kept}", fix=fix)
