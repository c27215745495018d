"""What the table tasks share: DATA/images/<image> + DATA/<table>.csv (filename, one column per value).

Regression (values) and multi-label classification (0/1 per label) find and
check their data the same way, feed Keras the same batches with `y` made from
the table's values, and predict a whole folder the same way; they differ in
what the network's outputs mean (see tasks/regression/recipe.py, tasks/classification/multilabel.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from petrilab import runs
from petrilab.data.check import resolve_channels
from petrilab.recipes.base import Recipe
from petrilab.tasks.tables.check import check_table
from petrilab.tasks.tables.dataset import discover_table


class TableRecipe(Recipe):
    """A recipe for images with a row of values each; subclasses say how values become outputs and back."""

    def discover(self, settings, folder):
        return discover_table(self.task, folder, settings.data.target_columns or None)

    def check(self, dataset, progress=None):
        return check_table(dataset, progress=progress)

    def decide_from_data(self, settings, dataset, report):
        settings.data.channels = resolve_channels(settings.data.channels, report)
        settings.data.target_columns = list(dataset.columns)

    def targets(self, settings, samples) -> np.ndarray:
        """The network's float32 (N, outputs) targets for these samples."""
        raise NotImplementedError

    def augmentation(self, settings, samples) -> tuple:
        """(Augmenter, target_geometry or None) for training batches of `samples`."""
        from petrilab.data.augment import Augmenter

        return Augmenter(settings.augmentation, settings.training.seed), None

    def inputs(self, samples, prep, settings, training):
        from petrilab.tasks.tables.batches import make_table_inputs

        augmenter, geometry = self.augmentation(settings, samples) if training else (None, None)
        return make_table_inputs(samples, prep, lambda chosen: self.targets(settings, chosen),
                                 settings.training.batch_size, settings.data.load, augmenter=augmenter,
                                 shuffle=training, seed=settings.training.seed, target_geometry=geometry)

    @staticmethod
    def predicted_with_truth(trained, samples):
        """(files done, network outputs, problems by file, their table values (N, columns)) for labelled samples."""
        n = len(trained.settings.data.target_columns)
        truth = {s.path: s.values for s in samples}
        done, outputs, problems = trained.predict_files([s.path for s in samples])
        y_true = np.array([truth[p] for p in done], dtype=np.float64).reshape(-1, n)
        return done, outputs, problems, y_true

    @staticmethod
    def add_counts(result: dict, done: list, problems: dict, columns: list[str]) -> dict:
        """evaluation.json's shared fields: images scored, the table's columns, the images skipped and why."""
        result["warnings"] += [f"Skipped {p}: {m}" for p, m in problems.items()]
        result["n_images"] = len(done)
        result["targets"] = columns
        return result

    @staticmethod
    def write_predictions(output_dir, input_dir, header: list[str], rows: list[list], problems: dict,
                          n_empty: int, excel: bool = False) -> Path:
        """predictions.csv: one row per image, the images that could not be read last with their problem
        (`n_empty` blank cells between the file and the problem), all sorted by file."""
        rows = rows + [[str(p.relative_to(input_dir)), *([""] * n_empty), message] for p, message in problems.items()]
        rows.sort(key=lambda r: r[0])
        return runs.atomic_write_csv(Path(output_dir) / "predictions.csv", header, rows, excel=excel)
