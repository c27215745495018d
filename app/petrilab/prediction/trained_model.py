"""A trained model as a run folder left it: the model plus the exact preprocessing it was trained with."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.data.images import read_image
from petrilab.data.split import fingerprint
from petrilab.data.preprocess import Preprocessing
from petrilab.errors import UserError
from petrilab.prediction.engine import BATCH as PREDICT_BATCH
from petrilab.prediction.engine import NetworkRunner


class TrainedModel:
    def __init__(self, run_dir: str | Path, model=None, engine: str = "keras"):
        """`engine`: what runs the network (prediction/engine.py): keras, onnx, or auto (the faster of both
        when their outputs agree; predict's default)."""
        from petrilab.recipes import get_recipe

        self.run_dir = Path(run_dir)
        runs.require_run_folder(self.run_dir)
        self.settings = settings_io.load(self.run_dir / runs.SETTINGS)
        self.recipe = get_recipe(self.settings.task.kind)
        self.classes = list(self.settings.data.classes)
        self.prep = Preprocessing.from_settings(self.settings.data, self.settings.data.channels)
        self.model = model if model is not None else self._load()
        self.progress = None  # called with the number of images predicted so far (evaluate / predict events)
        self.decided = None  # called with the engine's decision, once, at the first batch (predict's events)
        self.done = 0
        # the file's hash ties a cached model.onnx to it; a model handed over in memory has none
        source = fingerprint(self.run_dir / runs.BEST_MODEL) if model is None and engine != "keras" else None
        self.network = NetworkRunner(self.model, self.run_dir, source, engine, on_decided=self._decided)

    def _decided(self, decision: dict) -> None:
        if self.decided is not None:
            self.decided(decision)

    def predicted(self, n: int) -> None:
        """`n` more images went through the network (or could not be read): say so to `progress`."""
        self.done += n
        if self.progress is not None:
            self.progress(self.done)

    def _load(self):
        import keras

        path = self.run_dir / runs.BEST_MODEL
        if not path.exists():
            raise UserError(f"The run {self.run_dir.name} has no trained model yet ({runs.BEST_MODEL} is missing).",
                            file=path, fix="Wait for the training to save its first checkpoint, or train again.")
        try:
            return keras.saving.load_model(path, compile=False)
        except Exception as exc:
            raise UserError(f"The model file could not be read ({exc.__class__.__name__}).", file=path,
                            fix="The file may be damaged; train again or use last.keras.") from None

    def raw_predict(self, images: np.ndarray) -> np.ndarray:
        """The network's outputs for a preprocessed batch (N, h, w, c)."""
        return np.asarray(self.network(images), dtype=np.float64)

    def predict_files(self, paths: list[Path]) -> tuple[list[Path], np.ndarray, dict[Path, str]]:
        """Raw outputs for image files, in batches; unreadable files are reported, not fatal."""
        done, outputs, problems = [], [], {}
        for start in range(0, len(paths), PREDICT_BATCH):
            batch, names = [], []
            for path in paths[start:start + PREDICT_BATCH]:
                try:
                    batch.append(self.prep(read_image(path)))
                    names.append(path)
                except UserError as exc:
                    problems[path] = exc.message
            if batch:
                outputs.append(self.raw_predict(np.stack(batch)))
                done += names
            self.predicted(len(paths[start:start + PREDICT_BATCH]))
        return done, (np.concatenate(outputs) if outputs else np.zeros((0, 0))), problems
