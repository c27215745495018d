"""describe_model: the parameter count and layer table the GUI shows while the user edits.

Builds the real model (never downloads or reads weights, never trains),
reads its numbers, throws it away. Warnings are plain sentences about
choices that will likely disappoint, in the workshop's words.
"""

from __future__ import annotations

import gc
import math
from pathlib import Path

import keras

from petrilab.models.build import build_model
from petrilab.models.transfer import base_name
from petrilab.settings import Settings
from petrilab.tasks import OutputHead, task_warnings

# A first dense layer above this many weights gets the workshop's warning about dense nets on images.
DENSE_FIRST_LAYER_WARNING = 200_000


def describe_model(settings: Settings, input_shape: tuple[int, int, int], head: OutputHead,
                   block: tuple[int, ...] | None = None) -> dict:
    """{"total", "trainable", "non_trainable", "layers": [{"name", "type", "output_shape", "parameters"}],
    "warnings": [str]}. output_shape leaves out the batch: [height, width, channels] or [values].
    With `block` (the training patch, (z, y, x) for stacks): also "memory", what training needs (below)."""
    notes = _weights_notes(settings)
    model = build_model(settings, input_shape, head, load_weights=False)  # same counts, no download
    try:
        described = {
            "total": _size(model.weights),
            "trainable": _size(model.trainable_weights),
            "non_trainable": _size(model.non_trainable_weights),
            "layers": layer_table(model),
            "warnings": notes + model_warnings(model, settings),
        }
        if block:
            described["memory"] = training_memory(model, settings, tuple(block) + (int(input_shape[-1]),))
        return described
    finally:
        del model
        forget_model()


def forget_model() -> None:
    """Free the model just described: the GUI asks again at every edit. Keras's own clear_session collects the
    whole heap at every describe: about 0.3 s of processor time in a process that has trained a few models, and
    more as the heap grows. The model's objects are recent: collecting the two young generations frees it, and
    the few an automatic collection had moved to the old one go at Python's own next full collection."""
    try:
        keras.backend.clear_session(free_memory=False)
    except TypeError:  # a Keras without that argument collects the whole heap itself
        keras.backend.clear_session()
    gc.collect(1)


def training_memory(model: keras.Model, settings: Settings, shape: tuple[int, ...]) -> dict | None:
    """What training on patches of `shape` (with channels) in batches of training.batch_size needs, by the
    estimate the trainer warns with (training/memory.py, on this computer's processor): {"block", "batch",
    "needed", "available", "where"} in bytes; None when the free memory cannot be known."""
    from petrilab.training import memory

    estimate = memory.estimate(model, shape)
    if estimate is None:
        return None
    batch = int(settings.training.batch_size)
    return {"block": list(shape[:-1]), "batch": batch, "needed": int(estimate.needed(batch)),
            "available": int(estimate.available), "where": estimate.where}


def layer_table(model: keras.Model) -> list[dict]:
    rows = []
    for operation in model.operations:  # layers and the few keras.ops steps (e.g. a channel flip)
        rows.append({
            "name": operation.name,
            "type": type(operation).__name__,
            "output_shape": list(operation.output.shape[1:]),
            "parameters": operation.count_params() if isinstance(operation, keras.layers.Layer) else 0,
        })
    return rows


def model_warnings(model: keras.Model, settings: Settings) -> list[str]:
    """Plain-language warnings about a built model and the settings that made it."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.MaxPooling2D) and tuple(layer.input.shape[1:3]) == (1, 1):
            found.append(
                f"'{layer.name}' starts from a 1 × 1 map: the images are too small for "
                f"{len(settings.model.filters)} blocks, the last ones see no neighbourhood any more. "
                "Remove blocks from 'model.filters' or use larger images."
            )
            break
    if settings.model.architecture == "dense":
        first = next((layer for layer in model.layers if isinstance(layer, keras.layers.Dense)), None)
        if first is not None and first.count_params() > DENSE_FIRST_LAYER_WARNING:
            per_neuron = first.kernel.shape[0]
            found.append(
                f"Each neuron of the first dense layer has one weight per pixel value ({per_neuron:,} here), "
                f"so that layer alone has {first.count_params():,} parameters. A ConvNet needs far fewer "
                "and keeps neighbouring pixels together."
            )
    if settings.model.architecture == "transfer":
        found += _transfer_warnings(model, settings)
    return found + task_warnings(settings)


def _transfer_warnings(model: keras.Model, settings: Settings) -> list[str]:
    found = []
    m = settings.model
    base = model.get_layer(base_name(m.backbone))
    if "enlarge" in [layer.name for layer in model.layers]:
        height, width = model.input.shape[1:3]
        new_height, new_width = model.get_layer("enlarge").output.shape[1:3]
        found.append(f"Images of {height} × {width} pixels are enlarged to {new_height} × {new_width} inside "
                     "the model: the pretrained base needs at least 32 pixels a side.")
    if m.weights == "random":
        found.append("With weights = random there is nothing pretrained to keep: the whole base learns from "
                     "your images ('model.fine_tune_layers' is not used). Like any large network trained from "
                     "scratch, this is slow and needs many images; ImageNet weights usually do better.")
    elif m.fine_tune_layers > len(base.layers):
        found.append(f"'model.fine_tune_layers' is {m.fine_tune_layers} but the base has only "
                     f"{len(base.layers)} layers: the whole base is retrained.")
    return found


def _weights_notes(settings: Settings) -> list[str]:
    m = settings.model
    if m.architecture != "transfer" or m.weights == "random":
        return []
    if m.weights == "imagenet":
        return ["Counted without downloading the ImageNet weights (the counts are the same); training "
                "downloads them once, which needs an internet connection."]
    if not Path(m.weights).expanduser().is_file():
        return [f"The weights file {m.weights} does not exist: training will stop there. Check the path in "
                "'model.weights', or set it to \"imagenet\" or \"random\"."]
    return []


def _size(weights) -> int:
    return int(sum(math.prod(w.shape) for w in weights))
