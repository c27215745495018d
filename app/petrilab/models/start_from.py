"""model.start_from: training that continues from a trained model instead of random weights.

The source is a .keras file, a PetriLab run folder, a folder made by
`petrilab import` (both hold model.keras), or a bioimage.io zip with Keras
weights (imported on the fly into a temporary folder). Its body — every layer up to the last weights — is kept
with its learnt weights; its output head is kept too when it already answers
the same question (the same number of outputs, the same activation, and the
same class names when the source says them), and replaced by a fresh head
for this task otherwise. Every layer is trained further (nothing is frozen):
with few images, a smaller learning rate keeps what the source learnt.

The body must fit the new images: the same number of channels, and the same
image size when the source fixed one (a U-Net takes any size). A source that
answers per image cannot become a segmentation model, nor the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.data.check import Finding
from petrilab.data.split import fingerprint
from petrilab.errors import UserError
from petrilab.settings import Settings
from petrilab.tasks import OutputHead, is_per_pixel

# what the source's own settings.toml decides about the network (the new run records the network it trains)
NETWORK_KEYS = ("architecture", "activation", "dense_layers", "filters", "head_units", "dropout", "batch_norm",
                "l1", "l2", "backbone")
WRAPPERS = (keras.layers.Activation, keras.layers.Softmax, keras.layers.ReLU, keras.layers.Dropout)


@dataclass
class StartFrom:
    """The model file a training starts from, and what its folder says about it."""

    given: Path  # what the user chose
    model_file: Path  # the .keras file read
    settings: Settings | None  # the source run's settings, when it is a run folder
    sha256: str


def _fix() -> str:
    return ("Choose a .keras file, a PetriLab run folder (it holds model.keras), a bioimage.io zip with Keras "
            "weights or a folder made by 'petrilab import'; or clear 'model.start_from' to train from scratch.")


def locate(path: str | Path) -> StartFrom:
    """The source behind model.start_from, or a UserError naming the file and what to choose instead."""
    given = Path(path)
    if not given.exists():
        raise UserError(f"The model to start from, {given}, does not exist.", file=given, fix=_fix())
    folder = given if given.is_dir() else given.parent
    if given.is_dir():
        model_file = given / runs.BEST_MODEL
        if not model_file.is_file():
            raise UserError(f"The folder {given.name} holds no trained model (model.keras).", file=given,
                            fix="Choose the folder of a finished run, or the .keras file itself. " + _fix())
    elif given.suffix.lower() == ".keras":
        model_file = given
    elif given.suffix.lower() == ".zip":  # a bioimage.io package: its Keras weights and declared settings
        folder = _imported(given)
        model_file = folder / runs.BEST_MODEL
    else:
        raise UserError(f"{given.name} is not a trained model.", file=given, fix=_fix())
    source_settings = None
    if (folder / runs.SETTINGS).is_file() and model_file.parent == folder:
        try:
            source_settings = settings_io.load(folder / runs.SETTINGS)
        except UserError:
            source_settings = None  # a settings file we cannot read: the weights alone still serve
    return StartFrom(given, model_file, source_settings, fingerprint(given if given.is_file() else model_file))


def _imported(package: Path) -> Path:
    """The package imported into a temporary run folder, removed when the process ends."""
    import atexit
    import shutil
    import tempfile

    from petrilab.export.importing import import_model

    scratch = Path(tempfile.mkdtemp(prefix="petrilab-start-from-"))
    atexit.register(shutil.rmtree, scratch, True)
    return import_model(package, scratch / "imported")


def adopt_network(settings: Settings, source: StartFrom) -> list[Finding]:
    """The source run's network settings into `settings`, so the run records (and sizes patches for) the
    network it really trains. Returns warnings worth telling the user."""
    warnings: list[Finding] = []
    if source.settings is None:
        return warnings
    for key in NETWORK_KEYS:
        setattr(settings.model, key, getattr(source.settings.model, key))
    if source.settings.data.normalisation != settings.data.normalisation:
        warnings.append(Finding(
            "warning", f"The model you start from was trained on images normalised with "
                       f"'{source.settings.data.normalisation}', this experiment uses "
                       f"'{settings.data.normalisation}': it first has to relearn what the pixel values mean.",
            str(source.given), f"Set 'data.normalisation' to '{source.settings.data.normalisation}' "
                               "(Model page, Input images) to keep what it learnt."))
    return warnings


def _load(source: StartFrom) -> keras.Model:
    from petrilab.tasks import register_keras_objects

    register_keras_objects()
    try:
        return keras.saving.load_model(source.model_file, compile=False)
    except Exception as exc:
        raise UserError(f"The model to start from, {source.model_file.name}, cannot be read "
                        f"({exc.__class__.__name__}).", file=source.model_file, fix=_fix()) from None


def _head_layer(model: keras.Model):
    """The last layer with weights (Dense or 1 × 1 convolution), walking back over activations."""
    layer = model.get_layer(model.outputs[0]._keras_history.operation.name)
    activation = None
    while isinstance(layer, WRAPPERS):
        if isinstance(layer, keras.layers.Softmax):
            activation = activation or "softmax"
        elif isinstance(layer, keras.layers.Activation):
            activation = activation or keras.activations.serialize(layer.activation)
        layer = layer.input._keras_history.operation
    if not isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
        return None, None
    own = keras.activations.serialize(layer.activation)
    if own != "linear":
        activation = own if activation in (None, "linear") else activation
    return layer, activation or "linear"


def _name(activation) -> str:
    return activation if isinstance(activation, str) else str(activation.get("config", {}).get("name", activation))


def _channels(n: int) -> str:
    return {1: "1 channel (grey)", 3: "3 channels (RGB)"}.get(n, f"{n} channels")


def _shape_problems(model: keras.Model, input_shape: tuple[int, int, int], source: StartFrom) -> None:
    shape = model.input_shape
    if isinstance(shape, list) or len(shape) != 4:
        raise UserError(f"The model to start from, {source.given.name}, does not take one 2-D image as input.",
                        file=source.given, fix=_fix())
    height, width, channels = input_shape
    if shape[3] != channels:
        raise UserError(f"The model to start from, {source.given.name}, takes images with {_channels(shape[3])}; "
                        f"this experiment's images have {_channels(channels)}. Its first layer is part of the "
                        "body that is kept, so it must get the same channels.", file=source.given,
                        fix=f"Set 'data.channels' to {shape[3]} on the Model page (Input images), or start "
                            "from a model trained on images like yours.")
    if shape[1] is not None and shape[2] is not None and (shape[1], shape[2]) != (height, width):
        raise UserError(f"The model to start from, {source.given.name}, was trained on {shape[1]} × {shape[2]} "
                        f"images; this experiment uses {height} × {width}.", file=source.given,
                        fix=f"Set 'data.image_size' to [{shape[1]}, {shape[2]}] (Input images), so its layers "
                            "see images of the size they learnt from.")


def build_from(source: StartFrom, settings: Settings, input_shape: tuple[int, int, int],
               head: OutputHead) -> tuple[keras.Model, dict]:
    """The model to train: the source's body and weights, and its head or a new one.

    Returns the model and what the `started` event records: start_from, start_from_sha256 and
    start_from_head ("kept" or "replaced")."""
    record = {"start_from": str(source.given), "start_from_sha256": source.sha256}
    model = _load(source)
    _shape_problems(model, input_shape, source)
    per_pixel = is_per_pixel(settings.task.kind)
    answers_per_pixel = len(model.output_shape) == 4
    if per_pixel != answers_per_pixel:
        what = "a mask (an answer per pixel)" if answers_per_pixel else "one answer per image"
        needed = "an answer per pixel" if per_pixel else "one answer per image"
        raise UserError(f"The model to start from, {source.given.name}, gives {what}; this task needs {needed}, "
                        "so its body cannot be reused.", file=source.given,
                        fix="Start from a model trained for the same kind of task, or clear 'model.start_from'.")
    layer, activation = _head_layer(model)
    if layer is None:
        raise UserError(f"PetriLab cannot find the output layer of {source.given.name} to fit it to this task.",
                        file=source.given, fix=_fix())
    units = layer.units if isinstance(layer, keras.layers.Dense) else layer.filters
    same_names = source.settings is None or source.settings.data.classes == settings.data.classes
    if source.settings is not None and source.settings.task.kind != settings.task.kind:
        same_names = False  # a regression's values are not a multi-label's labels, even when they count the same
    if units == head.units and _name(activation) == head.activation and same_names:
        return model, {**record, "start_from_head": "kept"}
    features = layer.input
    if per_pixel:
        x = keras.layers.Conv2D(head.units, 1, name="output_weights")(features)
    else:
        x = keras.layers.Dense(head.units, name="output_weights")(features)
    outputs = keras.layers.Activation(head.activation, dtype="float32", name="output")(x)
    return keras.Model(model.inputs, outputs, name=model.name), {**record, "start_from_head": "replaced"}

