"""A run's data as the bioimage.io package (spec 0.5) describes it: the test input and the image it comes
from, the preprocessing steps that repeat PetriLab's normalisation, the input and output tensors with their
axes and channel names, and the regression outputs back in the user's units (used by export/bioimageio.py)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from petrilab import runs
from petrilab.data.images import read_image
from petrilab.data.preprocess import convert_channels, resize
from petrilab.errors import UserError
from petrilab.file_names import from_shown
from petrilab.tasks import is_per_pixel, task_info

TEST_INPUT = "test_input.npy"
TEST_OUTPUT = "test_output.npy"


def first_test_image(run_dir: Path) -> Path:
    """An image the model did not train on (test, else validation), to be the package's test input."""
    path = run_dir / runs.SPLIT
    if path.exists():
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        for wanted in ("test", "validation", "train"):
            for row in rows:
                if row.get("subset", row.get("split")) == wanted:
                    file = Path(from_shown(row.get("file") or row.get("path") or ""))
                    if file.is_file():
                        return file
    raise UserError(f"No image of the run {run_dir.name} could be found for the package's test input.",
                    file=path, fix="Keep the training images where they were when the run was trained.")


def raw_input_tensor(trained, image_path: Path) -> np.ndarray:
    """The image as the package's input: the model's channels and size, values as in the file (not normalised)."""
    image = read_image(image_path)
    if image.ndim == 2:
        image = image[:, :, np.newaxis]
    x = convert_channels(image.astype(np.float32), trained.prep.channels)
    if not trained.prep.keep_size:
        x = resize(x, trained.prep.image_size)
    return x[np.newaxis].astype(np.float32), image.dtype


def preprocessing_steps(prep, dtype: np.dtype) -> list[dict]:
    """The run's normalisation as spec 0.5 preprocessing (after making the input float32)."""
    steps = [{"id": "ensure_dtype", "kwargs": {"dtype": "float32"}}]
    joint = ["y", "x", "channel"]  # PetriLab normalises each image over all its pixels and channels together
    if prep.normalisation == "scale" and np.issubdtype(dtype, np.integer):
        steps.append({"id": "scale_linear", "kwargs": {"gain": 1.0 / float(np.iinfo(dtype).max), "offset": 0.0}})
    elif prep.normalisation == "scale":
        steps.append({"id": "scale_range", "kwargs": {"axes": joint, "min_percentile": 0.0, "max_percentile": 100.0,
                                                      "eps": 1e-6}})
    elif prep.normalisation == "mean_std":
        steps.append({"id": "zero_mean_unit_variance", "kwargs": {"axes": joint, "eps": 1e-6}})
    else:
        steps.append({"id": "scale_range", "kwargs": {"axes": joint, "min_percentile": float(prep.percentile_low),
                                                      "max_percentile": float(prep.percentile_high), "eps": 1e-6}})
    return steps


def normalise_like_spec(x: np.ndarray, steps: list[dict]) -> np.ndarray:
    """Apply the declared preprocessing (our reading of the spec) — what a consumer feeds the network."""
    x = x.astype(np.float32)
    for step in steps:
        kw = step["kwargs"]
        if step["id"] == "scale_linear":
            x = x * np.float32(kw["gain"]) + np.float32(kw["offset"])
        elif step["id"] == "scale_range":
            low, high = np.percentile(x, [kw["min_percentile"], kw["max_percentile"]], axis=(1, 2, 3), keepdims=True)
            x = (x - low) / (high - low + kw["eps"])
        elif step["id"] == "zero_mean_unit_variance":
            x = (x - x.mean(axis=(1, 2, 3), keepdims=True)) / (x.std(axis=(1, 2, 3), keepdims=True) + kw["eps"])
    return x.astype(np.float32)


def output_names(settings, units: int) -> list[str]:
    task = task_info(settings.task.kind)
    classes = list(settings.data.classes)
    if task.has_targets:
        return list(settings.data.target_columns) or [f"value_{i + 1}" for i in range(units)]
    if task.has_objects:
        return ["background", "interior", "boundary"]
    if task.restores:  # one restored intensity per channel
        return ["restored"] if units == 1 else [f"restored_{i + 1}" for i in range(units)]
    if not task.per_pixel:  # one unit for two classes is P(the second); labels have one unit each
        return [f"p_{classes[-1]}"] if units == 1 and len(classes) == 2 else [f"p_{c}" for c in classes]
    if units == 1:
        return [f"p_{classes[-1]}" if len(classes) == 2 else "p_foreground"]
    return [f"p_{c}" for c in classes] if len(classes) == units else [f"class_{i}" for i in range(units)]


def _channel_ids(names: list[str]) -> list[str]:
    """Channel names as the spec allows them (letters, digits, _ and -; unique)."""
    out = []
    for name in names:
        clean = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in name)[:32] or "c"
        while clean in out:
            clean += "_"
        out.append(clean)
    return out


def is_segmentation(settings) -> bool:
    return is_per_pixel(settings.task.kind)


def model_step(model) -> int:
    """For a fully convolutional model: the size multiple its poolings need (2 ** number of poolings)."""
    import keras

    pools = sum(1 for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D))
    return 2 ** pools


def describe_tensors(trained, settings, in_shape, out_shape, steps, out_names, n_in_channels) -> tuple[dict, dict]:
    seg = is_segmentation(settings)
    batch = {"type": "batch"}
    in_channel = {"type": "channel", "channel_names": [f"channel{i}" for i in range(n_in_channels)]}
    if seg:
        step = model_step(trained.model)
        space_in = [{"type": "space", "id": axis, "size": {"min": 4 * step, "step": step}}
                    for axis in ("y", "x")]
    else:
        space_in = [{"type": "space", "id": "y", "size": int(in_shape[1])},
                    {"type": "space", "id": "x", "size": int(in_shape[2])}]
    inputs = {"id": "raw", "description": "The image at the model's size and channels, values as in the file.",
              "axes": [batch, *space_in, in_channel], "test_tensor": {"source": TEST_INPUT},
              "data": {"type": "float32"}, "preprocessing": steps}
    out_channel = {"type": "channel", "channel_names": _channel_ids(out_names)}
    if seg:
        space_out = [{"type": "space", "id": axis, "size": {"tensor_id": "raw", "axis_id": axis}}
                     for axis in ("y", "x")]
        description = ("The restored image, in the stretched intensities of the preprocessed input (see the "
                       "README)."
                       if task_info(settings.task.kind).restores else "Probability of each class for every pixel.")
    else:
        space_out = []
        description = {"value": "The predicted values, in the units of targets.csv.",
                       "label": "The probability of each label (independent yes/no per label)."
                       }.get(task_info(settings.task.kind).item, "The probability of each class.")
    outputs = {"id": "prediction", "description": description, "axes": [batch, *space_out, out_channel],
               "test_tensor": {"source": TEST_OUTPUT}, "data": {"type": "float32"}}
    if task_info(settings.task.kind).has_targets:
        mean = [float(v) for v in settings.data.target_mean]
        std = [float(v) for v in settings.data.target_std]
        outputs["postprocessing"] = [{"id": "scale_linear", "kwargs": {"axis": "channel", "gain": std, "offset": mean}}]
    return inputs, outputs


def unstandardise(settings, y: np.ndarray) -> np.ndarray:
    if not task_info(settings.task.kind).has_targets:
        return y
    return y * np.asarray(settings.data.target_std, np.float32) + np.asarray(settings.data.target_mean, np.float32)
