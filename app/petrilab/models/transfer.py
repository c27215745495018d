"""Transfer learning: a pretrained keras.applications base under a new classifier.

Our images arrive scaled 0..1 per channel, with 1 to 4 channels and any size
from 8 pixels up. The model itself turns them into what the base was trained
on (3 channels, at least 32 pixels a side, the base's value range), so the
saved model.keras takes the same images as every other PetriLab model.
"""

from __future__ import annotations

import math
import re
import urllib.error
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from petrilab.errors import UserError
from petrilab.models import blocks
from petrilab.settings import Settings
from petrilab.tasks import OutputHead

# keras.applications refuses smaller inputs for both bases.
MIN_SIDE = 32

# ImageNet's mean pixel in VGG16's channel order (blue, green, red), 0..255.
_VGG16_MEAN_BGR = (103.939, 116.779, 123.68)


class WeightsUnavailable(UserError):
    """The ImageNet weights could not be downloaded (no internet, or a broken download)."""


@dataclass(frozen=True)
class Backbone:
    key: str
    title: str
    make: Callable[..., keras.Model]  # the keras.applications constructor

    def scale_inputs(self, x):
        """Map 0..1 RGB images to the value range the base was trained on."""
        if self.key == "mobilenetv2":
            return keras.layers.Rescaling(2.0, offset=-1.0, name="to_mobilenetv2_range")(x)  # -1..1
        # VGG16 was trained on 0..255 images in blue-green-red order minus the mean pixel.
        x = keras.ops.flip(x, axis=-1)
        return keras.layers.Rescaling(255.0, offset=[-m for m in _VGG16_MEAN_BGR], name="to_vgg16_range")(x)


BACKBONES = {
    "mobilenetv2": Backbone("mobilenetv2", "MobileNetV2", keras.applications.MobileNetV2),
    "vgg16": Backbone("vgg16", "VGG16", keras.applications.VGG16),
}


def base_name(backbone: str) -> str:
    """The name of the pretrained base inside the model (one layer in the layer table)."""
    return f"{backbone}_base"


def build_transfer(settings: Settings, input_shape: tuple[int, int, int], head: OutputHead,
                   load_weights: bool = True) -> keras.Model:
    model = settings.model
    if model.backbone not in BACKBONES:
        raise UserError(f"'{model.backbone}' is not a pretrained base PetriLab knows.",
                        fix=f"Set 'model.backbone' to one of: {', '.join(BACKBONES)}.")
    backbone = BACKBONES[model.backbone]
    inputs = keras.Input(input_shape, name="image")
    x = _enlarge_if_small(inputs)
    x, to_rgb = _to_three_channels(x)
    x = backbone.scale_inputs(x)
    base = _make_base(backbone, tuple(x.shape[1:]), model.weights if load_weights else "random")
    set_fine_tuning(base, model.fine_tune_layers, pretrained=model.weights != "random")
    x = base(x)
    x = keras.layers.GlobalAveragePooling2D(name="average")(x)
    outputs = blocks.classifier(x, model, head, model.head_units)
    result = keras.Model(inputs, outputs, name=f"transfer_{backbone.key}")
    if to_rgb is not None:
        _set_channel_mixing(to_rgb)
    return result


def set_fine_tuning(base: keras.Model, fine_tune_layers: int, pretrained: bool = True) -> None:
    """Freeze a pretrained base, or make only its last `fine_tune_layers` layers trainable.

    A base with random weights holds nothing worth keeping, and frozen it is
    worse than useless: its normalisation layers have no learnt statistics, so
    the signal fades through the layers (a random MobileNetV2 gives features
    near 1e-12, the same for every image). So a random base always trains
    whole, like any network trained from scratch, and fine_tune_layers is not used.

    BatchNormalization layers stay frozen even among the last layers: training
    would replace the ImageNet statistics they hold (each feature's mean and
    variance) with ones measured on our small batches of microscopy images.
    Those are noisy and unlike what the next pretrained layers expect, and the
    first epochs of fine-tuning would wreck what the base knew. Frozen, Keras
    runs them in inference mode with the ImageNet statistics.
    """
    if not pretrained:
        base.trainable = True
        return
    if fine_tune_layers == 0:
        base.trainable = False
        return
    base.trainable = True
    tuned = {id(layer) for layer in base.layers[-fine_tune_layers:]}
    for layer in base.layers:
        layer.trainable = id(layer) in tuned and not isinstance(layer, keras.layers.BatchNormalization)


# ---------------------------------------------------------------- inputs


def _enlarge_if_small(x):
    """Images under 32 pixels a side are enlarged (shape kept) so that the shorter side is 32."""
    _, height, width, _ = x.shape
    if min(height, width) >= MIN_SIDE:
        return x
    factor = MIN_SIDE / min(height, width)
    size = (math.ceil(height * factor), math.ceil(width * factor))
    return keras.layers.Resizing(*size, interpolation="bilinear", name="enlarge")(x)


def _to_three_channels(x):
    """Grey is repeated into red, green and blue: a grey photograph is what ImageNet features know.

    2 or 4 channels go through a fixed 1 × 1 mixing layer (filled in by
    _set_channel_mixing) that shows them as colours. It is not trained: learning
    it would mean back-propagating through the whole base on every batch, the
    cost a frozen base is there to avoid. Returns the tensor and the mixing layer.
    """
    channels = x.shape[-1]
    if channels == 3:
        return x, None
    if channels == 1:
        return keras.layers.Concatenate(name="grey_to_rgb")([x, x, x]), None
    mixing = keras.layers.Conv2D(3, 1, use_bias=False, trainable=False, name="channels_to_rgb")
    return mixing(x), mixing


def _set_channel_mixing(layer) -> None:
    channels = layer.kernel.shape[2]
    kernel = np.zeros((1, 1, channels, 3), dtype="float32")
    if channels == 2:  # channel 1 red, channel 2 green, their mean blue
        kernel[0, 0, 0, 0] = kernel[0, 0, 1, 1] = 1.0
        kernel[0, 0, :, 2] = 0.5
    else:  # the first three channels as red, green, blue (the 4th is often alpha)
        for c in range(3):
            kernel[0, 0, c, c] = 1.0
    layer.set_weights([kernel])


# ---------------------------------------------------------------- weights


def _make_base(backbone: Backbone, shape: tuple[int, int, int], weights: str) -> keras.Model:
    name = base_name(backbone.key)
    if weights == "imagenet":
        try:
            with warnings.catch_warnings():
                # MobileNetV2 warns that its weights were made for 96..224 pixel squares;
                # they work at other sizes, objects just appear at another scale.
                warnings.filterwarnings("ignore", message=".*input_shape.*undefined or non-square")
                return backbone.make(include_top=False, weights="imagenet", input_shape=shape, name=name)
        except Exception as exc:
            if _is_download_failure(exc):
                raise _weights_unavailable(backbone, exc) from None
            raise
    base = backbone.make(include_top=False, weights=None, input_shape=shape, name=name)
    if weights != "random":
        _load_weights_file(base, backbone, weights)
    return base


def _is_download_failure(exc: Exception) -> bool:
    # keras' get_file turns network errors into a bare Exception("URL fetch failure on ...").
    return (isinstance(exc, (OSError, urllib.error.URLError))
            or "URL fetch failure" in str(exc)
            or "Incomplete or corrupted file" in str(exc))


def _weights_unavailable(backbone: Backbone, exc: Exception) -> WeightsUnavailable:
    found = re.search(r"(https?://\S+?):\s", str(exc))
    where = f" (from {found.group(1)})" if found else ""
    error = WeightsUnavailable(
        f"PetriLab could not download the ImageNet weights of {backbone.title}{where}: "
        "no internet connection could reach them.",
        fix="Connect to the internet and train again; or set 'model.weights' to \"random\" to continue "
            "with an untrained base (your explicit choice; it then learns from your images only); or set "
            f"'model.weights' to the path of a weights file for a {backbone.title} base without its top, "
            "downloaded on another computer.",
    )
    error.url = found.group(1) if found else None
    return error


def _load_weights_file(base: keras.Model, backbone: Backbone, path_text: str) -> None:
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise UserError(
            f"The weights file {path} does not exist.",
            file=path,
            fix="Check the path in 'model.weights', or set it to \"imagenet\" or \"random\".",
        )
    try:
        base.load_weights(str(path))
    except Exception as exc:  # h5py, Keras and file errors all mean: not the right file
        raise UserError(
            f"The file {path} does not hold weights for a {backbone.title} base without its top ({exc}).",
            file=path,
            fix=f"Give a .h5 or .weights.h5 file saved from {backbone.title} with include_top=False, "
                "or set 'model.weights' to \"imagenet\" or \"random\".",
        ) from None
