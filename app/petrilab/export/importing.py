"""`petrilab import MODEL -o RUN_DIR`: a bioimage.io (Keras) package or a .keras file as a run folder.

The run folder made here has what prediction needs (settings.toml and
model.keras), so `petrilab predict RUN_DIR IN OUT` and the Predict page use
an imported model exactly like a trained one. A package exported by PetriLab
carries its full settings (config.petrilab), so classes, normalisation and
regression units come back unchanged. For other packages and bare .keras
files, the settings are read from what the file declares (input size and
channels, output channel names, the normalisation step) and written to
settings.toml, where the user can check and correct them.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.errors import UserError
from petrilab.events import EventWriter
from petrilab.tasks import kinds

IMPORTED = "imported.json"  # where the model came from


def _not_readable(path: Path, why: str) -> UserError:
    return UserError(f"The model {path.name} cannot be imported: {why}.", file=path,
                     fix="Choose a bioimage.io model zip with Keras or TensorFlow weights, or a .keras file.")


def _read_rdf(z: zipfile.ZipFile, path: Path) -> dict:
    from ruyaml import YAML

    names = [n for n in z.namelist() if n.endswith(("rdf.yaml", "bioimageio.yaml"))]
    if not names:
        raise _not_readable(path, "the zip has no rdf.yaml (it is not a bioimage.io package)")
    return YAML(typ="safe").load(z.read(sorted(names, key=len)[0]).decode("utf-8"))


def _load_keras(path: Path):
    import keras

    from petrilab.tasks import register_keras_objects

    register_keras_objects()
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as exc:
        raise _not_readable(path, f"Keras could not read its weights ({exc.__class__.__name__})") from None


def _settings_from_declaration(model, rdf: dict | None) -> settings_io.Settings:
    """Settings for a model PetriLab did not train: from its shapes and, when present, its description."""
    in_shape, out_shape = model.input_shape, model.output_shape
    if isinstance(in_shape, list) or len(in_shape) != 4:
        raise UserError("This model does not take one 2-D image (batch, y, x, channels) as input; "
                        "PetriLab cannot use it.", fix="Choose a model made for 2-D images.")
    segmentation = len(out_shape) == 4
    # taken for a class per pixel (semantic segmentation) or one class per image (classification)
    settings = settings_io.defaults_for(kinds(lambda t: t.answer == ("mask" if segmentation else "class"))[0])
    settings.name = (rdf or {}).get("name", "imported model")[:60]
    settings.data.channels = int(in_shape[3])
    if in_shape[1] and in_shape[2]:
        settings.data.image_size = [int(in_shape[1]), int(in_shape[2])]
    names = []
    if rdf:
        out_axes = rdf["outputs"][0].get("axes", [])
        channel = next((a for a in out_axes if isinstance(a, dict) and a.get("type") == "channel"), {})
        names = [n.removeprefix("p_") for n in channel.get("channel_names", [])]
        for step in rdf["inputs"][0].get("preprocessing", []) or []:
            kind, kw = step.get("id") or step.get("name"), step.get("kwargs", {})
            if kind == "zero_mean_unit_variance":
                settings.data.normalisation = "mean_std"
            elif kind == "scale_range" and (kw.get("min_percentile", 0), kw.get("max_percentile", 100)) != (0, 100):
                settings.data.normalisation = "percentile"
                settings.data.percentile_low = float(kw.get("min_percentile", 1.0))
                settings.data.percentile_high = float(kw.get("max_percentile", 99.8))
    units = int(out_shape[-1])
    if not names or len(names) != units:
        names = [f"class_{i}" for i in range(units)]
    if units == 1:  # one sigmoid output: the probability of the second of two classes
        names = [f"not_{names[0]}", names[0]]
    settings.data.classes = names
    return settings


def import_model(model_path: str | Path, run_dir: str | Path) -> Path:
    """Make `run_dir` (new or empty) a run folder holding the model; return it."""
    model_path, run_dir = Path(model_path), Path(run_dir)
    if not model_path.is_file():
        raise UserError(f"The model file {model_path} does not exist.", file=model_path, fix="Check the path.")
    if run_dir.exists() and any(run_dir.iterdir()):
        raise UserError(f"The folder {run_dir} is not empty.", file=run_dir,
                        fix="Choose a new folder for the imported model; PetriLab never overwrites a run.")
    suffix = model_path.suffix.lower()
    rdf = None
    with tempfile.TemporaryDirectory(prefix="petrilab-import-") as tmp:
        if suffix == ".keras":
            model = _load_keras(model_path)
        elif suffix == ".zip":
            try:
                z = zipfile.ZipFile(model_path)
            except zipfile.BadZipFile:
                raise _not_readable(model_path, "the file is not a readable zip") from None
            with z:
                rdf = _read_rdf(z, model_path)
                weights = rdf.get("weights", {})
                entry = weights.get("keras_v3") or weights.get("keras_hdf5")
                if not entry:
                    kinds = ", ".join(weights) or "none"
                    raise _not_readable(model_path, f"it has no Keras weights (it has: {kinds})")
                source = Path(tmp) / Path(str(entry["source"])).name
                source.write_bytes(z.read(str(entry["source"])))
            model = _load_keras(source)
        else:
            raise _not_readable(model_path, "PetriLab imports .zip (bioimage.io) and .keras files")
        saved = ((rdf or {}).get("config") or {}).get("petrilab", {}).get("settings")
        if saved:
            settings = settings_io.from_dict(saved, source=str(model_path))
        else:
            settings = _settings_from_declaration(model, rdf)
        settings_io.validate(settings, source=str(model_path))
        run_dir.mkdir(parents=True, exist_ok=True)
        settings_io.save(settings, run_dir / runs.SETTINGS)
        buffer_path = Path(tmp) / runs.BEST_MODEL
        model.save(buffer_path)
        runs.atomic_write_bytes(run_dir / runs.BEST_MODEL, buffer_path.read_bytes())
    runs.atomic_write_json(run_dir / IMPORTED, {"source": str(model_path.resolve()),
                                                "petrilab_settings": bool(saved),
                                                "name": (rdf or {}).get("name", model_path.stem)})
    EventWriter(run_dir / runs.EVENTS, echo=False).emit(
        "finished", status="completed", epochs_done=0, best_epoch=None, best_val_loss=None, seconds=0.0,
        imported_from=str(model_path))
    return run_dir


