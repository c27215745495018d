"""`petrilab export RUN --format bioimageio`: a run as a BioImage Model Zoo package (spec 0.5).

The package is a zip with rdf.yaml (the description), the weights, one test
input and the output the exported weights give for it, a cover image and a
README. Consumers (deepImageJ in Fiji, ilastik, bioimageio.core, the Model Zoo
website) read the description and run the weights without PetriLab.

Weights: the model in Keras' HDF5 format (`keras_hdf5`, the TensorFlow/Keras
format every consumer that runs Keras models understands) and, when the
backend is TensorFlow, also a TensorFlow SavedModel bundle
(`tensorflow_saved_model_bundle`, the TensorFlow format deepImageJ runs),
declared as converted from the HDF5 weights.

What PetriLab does before the network (channels, size, normalisation) is
declared so a consumer repeats it: the input tensor has the model's size and
channels, and the normalisation becomes the spec's own preprocessing step
(scale_linear for integer images scaled by their bit depth, scale_range for
per-image minimum-maximum or percentiles, zero_mean_unit_variance for
mean 0 / std 1). Regression outputs are standardised inside PetriLab; a
scale_linear postprocessing step gives back values in the user's units.
These tensors are described in export/bioimageio_tensors.py; this module
writes, validates and zips the package.
"""


from __future__ import annotations

import datetime
import getpass
import io
import re
import shutil
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from petrilab import __version__, runs
from petrilab.data.split import fingerprint
from petrilab.errors import UserError
from petrilab.export.bioimageio_tensors import (TEST_INPUT, TEST_OUTPUT, describe_tensors, first_test_image,
                                                is_segmentation, model_step, normalise_like_spec, output_names,
                                                preprocessing_steps, raw_input_tensor, unstandardise)
from petrilab.tasks import kinds, task_info

FORMATS = ("bioimageio",)
RDF = "rdf.yaml"
WEIGHTS_H5 = "weights.h5"
WEIGHTS_SAVED_MODEL = "tf_saved_model.zip"
COVER = "cover.png"
README = "README.md"
# Default citation: the BioImage Model Zoo paper (the format this package follows); the user adds theirs.
MODEL_ZOO_CITATION = {"text": "Ouyang W. et al. BioImage Model Zoo: a community-driven resource for accessible "
                              "deep learning in bioimage analysis. bioRxiv 2022.",
                      "doi": "10.1101/2022.06.07.495102"}
# a task is exported once the registry gives its bioimage.io tags
SUPPORTED_TASKS = kinds(lambda t: bool(t.tags))


@dataclass
class PackageInfo:
    """What the user tells about the model (asked for in the export dialog, or given as options)."""

    name: str = ""
    description: str = ""
    authors: list[str] = field(default_factory=list)
    license: str = "CC-BY-4.0"
    cite: list[str] = field(default_factory=list)  # "text" or "text|doi-or-url"
    tags: list[str] = field(default_factory=list)


def package_name(name: str) -> str:
    """`name` as bioimage.io accepts it: ASCII letters, digits, spaces and _+-() only, 5 to 64 characters.

    Accents lose their mark (Kernhülle → Kernhulle), other characters become spaces, and a
    name too short for the model zoo gets " model" after it, so a run called "r1" still exports.
    """
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    plain = " ".join(re.sub(r"[^A-Za-z0-9_+\-() ]", " ", plain).split())[:64].strip()
    if len(plain) < 5:
        plain = f"{plain} model".strip() if plain else "PetriLab model"
    return plain


def parse_citation(text: str) -> dict:
    """'Smith et al. 2024|10.1234/abc' or '...|https://…' → a cite entry; plain text gets no link."""
    words, _, link = text.partition("|")
    words, link = words.strip(), link.strip()
    if not words:
        raise UserError(f"The citation '{text}' has no text.", fix="Write it as 'Authors, title, year|DOI or web address'.")
    if not link:
        return {"text": words}
    if link.lower().startswith(("http://", "https://")):
        return {"text": words, "url": link}
    return {"text": words, "doi": link.removeprefix("doi:").removeprefix("https://doi.org/")}



# ---------------------------------------------------------------- files


def load_exported_weights(path: Path):
    """The network from the package's HDF5 weights (how a consumer loads it)."""
    import keras

    from petrilab.tasks import register_keras_objects

    register_keras_objects()
    return keras.saving.load_model(path, compile=False)


def _cover(raw: np.ndarray, output: np.ndarray, out_names: list[str], path: Path, restored: bool = False) -> None:
    """A 2:1 picture: the test input on the left, its prediction on the right (map, restored image or bars)."""
    from PIL import Image, ImageDraw

    height = 256

    def grey(img: np.ndarray) -> np.ndarray:
        img = img.astype(np.float64)
        low, high = np.percentile(img, [1, 99.5])
        return (np.clip((img - low) / max(high - low, 1e-9), 0, 1) * 255).astype(np.uint8)

    image = raw[0]
    shown = grey(image[..., :3] if image.shape[-1] >= 3 else image[..., 0])
    left = Image.fromarray(shown).convert("RGB").resize((height, height), Image.NEAREST)
    right = Image.new("RGB", (height, height), "white")
    pred = output[0]
    if pred.ndim == 3 and restored:  # a restored image, in grey as the input
        right = Image.fromarray(grey(pred[..., :3] if pred.shape[-1] >= 3 else pred[..., 0])).convert("RGB").resize(
            (height, height), Image.NEAREST)
    elif pred.ndim == 3:  # a map: the most likely class per pixel, in colours
        labels = pred.argmax(axis=-1) if pred.shape[-1] > 1 else (pred[..., 0] > 0.5).astype(int)
        palette = np.array([[0, 0, 0], [255, 200, 0], [0, 160, 255], [230, 60, 60], [80, 200, 80]], np.uint8)
        right = Image.fromarray(palette[labels % len(palette)]).resize((height, height), Image.NEAREST)
    else:  # one bar per class, label or value
        draw = ImageDraw.Draw(right)
        values = np.asarray(pred, np.float64).ravel()
        top = max(float(np.abs(values).max()), 1e-9)
        n = max(len(values), 1)
        row = min(40, (height - 20) // n)
        for i, (name, v) in enumerate(zip(out_names, values)):
            y = 10 + i * row
            width = int((height - 160) * abs(v) / top) if not (0 <= values.min() and values.max() <= 1) else \
                int((height - 160) * v)
            draw.rectangle([100, y + 4, 100 + max(width, 1), y + row - 6], fill=(31, 119, 180))
            draw.text((4, y + row // 3), f"{name[:14]}", fill="black")
            draw.text((104 + max(width, 1), y + row // 3), f"{v:.3g}", fill="black")
    cover = Image.new("RGB", (2 * height, height), "white")
    cover.paste(left, (0, 0))
    cover.paste(right, (height, 0))
    cover.save(path)


def _readme(settings, info: PackageInfo, steps: list[dict], out_names: list[str], in_shape) -> str:
    task = settings.task.kind
    lines = [f"# {info.name}", "", info.description or "", "",
             f"Trained with PetriLab {__version__} ({task}).", "",
             "## Input", "",
             f"One image of {in_shape[1]} × {in_shape[2]} pixels with {in_shape[3]} channel(s) (axes: batch, y, x, "
             "channel)." if not is_segmentation(settings) else
             f"An image of any size (a multiple of the model's step) with {in_shape[3]} channel(s) "
             "(axes: batch, y, x, channel).",
             "Resize your image and give it the channels first, as PetriLab did when training "
             "(grey → repeated; colour → grey by luminance).", "",
             "Normalisation (declared as preprocessing): " + ", ".join(s["id"] for s in steps[1:]) + ".", "",
             "## Output", "", "Channels: " + ", ".join(out_names) + "."]
    if task_info(task).multi_label and settings.postprocess.label_thresholds:
        lines += ["", "Thresholds tuned on the validation images (a label is present above its threshold): "
                  + ", ".join(f"{n}: {t:.3f}" for n, t in zip(out_names, settings.postprocess.label_thresholds))]
    if task_info(task).restores:
        lines += ["", "The output is the restored image in the stretched intensities the network works in; PetriLab "
                  "maps it back with the input's own percentiles. A restoration network can invent structures: "
                  "compare with the raw image (difference image, line profile) before trusting a detail, and do "
                  "not measure intensities on restored images without a check."]
    elif is_segmentation(settings):
        p = settings.postprocess
        lines += ["", f"PetriLab's post-processing (not part of the network): threshold {p.threshold:.3f}, fill holes "
                  f"{p.fill_holes}, minimum object size {p.min_size} pixels, split touching objects {p.split_touching}."]
    lines += ["", "## Weights", "",
              f"- `{WEIGHTS_H5}`: Keras HDF5 (keras_hdf5).",
              f"- `{WEIGHTS_SAVED_MODEL}`: TensorFlow SavedModel (tensorflow_saved_model_bundle), when present.", "",
              "## Validation", "",
              "The test output was computed by loading the exported HDF5 weights and running them on the test "
              "input after the declared preprocessing. Check the trained model on your own test images before "
              "relying on it: a new microscope or stain can change its answers.", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- the package


def _write_saved_model(model, folder: Path) -> Path | None:
    """A zipped TensorFlow SavedModel (for deepImageJ), or None when the backend cannot make one."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return None
    saved = folder / "saved_model"
    try:
        model.export(str(saved), format="tf_saved_model", verbose=False)
    except Exception:  # some custom layers cannot be traced; the HDF5 weights remain
        shutil.rmtree(saved, ignore_errors=True)
        return None
    target = folder / WEIGHTS_SAVED_MODEL
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(saved.rglob("*")):
            if p.is_file():
                z.write(p, p.relative_to(saved).as_posix())
    shutil.rmtree(saved)
    return target


def _require_spec():
    try:
        import bioimageio.spec  # noqa: F401
    except ImportError:
        raise UserError("Exporting for bioimage.io needs the 'bioimageio.spec' package, which is not installed.",
                        fix="Install PetriLab with its export extra: pip install \"petrilab[export]\".") from None


def _authors(info: PackageInfo) -> list[dict]:
    names = [a.strip() for a in info.authors if a.strip()]
    if not names:
        try:
            names = [getpass.getuser()]
        except Exception:  # no user name on this system
            names = ["PetriLab user"]
    return [{"name": n} for n in names]


def build_package_folder(run_dir: str | Path, folder: str | Path, info: PackageInfo | None = None) -> Path:
    """Write the package's files and rdf.yaml into `folder` (validated); return the rdf.yaml path."""
    import keras
    from ruyaml import YAML

    from petrilab.prediction.trained_model import TrainedModel

    _require_spec()
    run_dir, folder = Path(run_dir), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    info = info or PackageInfo()
    trained = TrainedModel(run_dir)
    settings = trained.settings
    if settings.task.kind not in SUPPORTED_TASKS:
        raise UserError(f"Runs of the task '{settings.task.kind}' cannot be exported for bioimage.io yet.")
    if settings.data.dimensions == "3d":  # the package's axes, test tensors and cover are 2-D for now
        raise UserError(f"The run {run_dir.name} was trained on z-stacks, which PetriLab cannot export for "
                        "bioimage.io yet.", file=run_dir,
                        fix="Share the run folder itself: 'petrilab predict' reads it on any computer.")
    info.name = package_name(info.name or settings.name or run_dir.name)

    # the weights, then everything else computed from the weights as a consumer will load them
    weights = folder / WEIGHTS_H5
    trained.model.save(weights)
    model = load_exported_weights(weights)
    raw, dtype = raw_input_tensor(trained, first_test_image(run_dir))
    steps = preprocessing_steps(trained.prep, dtype)
    if is_segmentation(settings):  # a fully convolutional net: crop the test image to its step
        step = model_step(model)
        h, w = (raw.shape[1] // step) * step, (raw.shape[2] // step) * step
        raw = np.ascontiguousarray(raw[:, :h, :w])
    output = np.asarray(model.predict(normalise_like_spec(raw, steps), verbose=0), np.float32)
    output = unstandardise(settings, output).astype(np.float32)
    np.save(folder / TEST_INPUT, raw)
    np.save(folder / TEST_OUTPUT, output)
    out_names = output_names(settings, output.shape[-1])
    _cover(raw, output, out_names, folder / COVER, restored=task_info(settings.task.kind).restores)
    (folder / README).write_text(_readme(settings, info, steps, out_names, raw.shape), encoding="utf-8")
    inputs, outputs = describe_tensors(trained, settings, raw.shape, output.shape, steps, out_names, raw.shape[-1])

    import tensorflow as tf  # the version the weights were written with (TensorFlow backend is the default)

    tf_version = ".".join(tf.__version__.split(".")[:3]).split("-")[0].split("rc")[0]
    weights_descr = {"keras_hdf5": {"source": WEIGHTS_H5, "sha256": fingerprint(weights), "tensorflow_version": tf_version}}
    saved = _write_saved_model(model, folder)
    if saved is not None:
        weights_descr["tensorflow_saved_model_bundle"] = {
            "source": saved.name, "sha256": fingerprint(saved), "tensorflow_version": tf_version, "parent": "keras_hdf5"}
    for name in (TEST_INPUT, TEST_OUTPUT):
        tensor = inputs if name == TEST_INPUT else outputs
        tensor["test_tensor"]["sha256"] = fingerprint(folder / name)
    cite = [parse_citation(c) for c in info.cite if c.strip()] or [dict(MODEL_ZOO_CITATION)]
    rdf = {
        "type": "model",
        "format_version": _format_version(),
        "name": info.name,
        "description": (info.description or f"A {settings.task.kind} model trained with PetriLab.")[:1024],
        "authors": _authors(info),
        "cite": cite,
        "license": info.license,
        "tags": sorted({*task_info(settings.task.kind).tags, "petrilab", "keras", *info.tags}),
        "covers": [{"source": COVER}],
        "documentation": {"source": README},
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "inputs": [inputs],
        "outputs": [outputs],
        "weights": weights_descr,
        "config": {"petrilab": {"version": __version__, "task": settings.task.kind,
                                "classes": list(settings.data.classes), "keras_version": keras.__version__,
                                "settings": _shareable_settings(settings)}},
    }
    path = folder / RDF
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    with open(path, "w", encoding="utf-8") as f:
        yaml.dump(_plain(rdf), f)
    validate_package(path)
    return path


def _shareable_settings(settings) -> dict:
    """The run's settings without the folders of this computer (they mean nothing elsewhere and may be private)."""
    body = settings.to_dict()
    body["data"] = {k: v for k, v in body["data"].items() if k not in ("folder", "test_folder")}
    if body["model"].get("weights") not in ("imagenet", "random"):
        body["model"]["weights"] = Path(body["model"]["weights"]).name
    return body


def _plain(value):
    """Python types only (the YAML writer refuses numpy scalars)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value


def _format_version() -> str:
    from bioimageio.spec.model import v0_5

    return v0_5.ModelDescr.implemented_format_version


def validate_package(source: str | Path) -> None:
    """Check a package (rdf.yaml, its folder or its zip) with bioimageio.spec, offline; UserError if invalid.

    The checks that read the package's own files (hashes, test tensors) run; nothing is fetched
    from the internet (the package has no remote files).
    """
    _require_spec()
    from bioimageio.spec import InvalidDescr, load_description

    descr = load_description(str(source), perform_io_checks=True)
    if isinstance(descr, InvalidDescr):
        errors = "; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in descr.validation_summary.details[0].errors
                           ) if descr.validation_summary.details else str(descr.validation_summary)
        raise UserError(f"The bioimage.io package is not valid: {errors[:800]}", file=source,
                        fix="Tell the PetriLab developers: this is a bug of the export.")


def export_bioimageio(run_dir: str | Path, output: str | Path, info: PackageInfo | None = None) -> Path:
    """Write the run as a bioimage.io model zip at `output` (a .zip name); return its path."""
    run_dir, output = Path(run_dir), Path(output)
    if not (run_dir / runs.BEST_MODEL).exists():
        raise UserError(f"The run {run_dir.name} has no trained model to export ({runs.BEST_MODEL} is missing).",
                        file=run_dir, fix="Choose a run that finished at least one epoch.")
    if output.suffix.lower() != ".zip":
        output = output.with_suffix(".zip")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"The folder {output.parent} cannot be created ({exc.strerror}).", file=output,
                        fix="Choose a folder you can write to.") from None
    with tempfile.TemporaryDirectory(prefix="petrilab-export-") as tmp:
        build_package_folder(run_dir, tmp, info)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for p in sorted(Path(tmp).iterdir()):
                z.write(p, p.name)
        runs.atomic_write_bytes(output, buffer.getvalue())
    return output
