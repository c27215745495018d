"""Regression from images: DATA/images/<image> + DATA/targets.csv (filename, one column per value).

The network has one linear output per value. It learns the values
standardised with the training images' mean and spread (kept in the run's
settings as data.target_mean / data.target_std), so a count in the hundreds
and a position in pixels weigh alike in the loss; every output is turned back
into the table's own units before anyone sees it. The curves' 'mae' is also
in those units (the error per value, averaged over the values).
"""

from __future__ import annotations

import numpy as np

from petrilab.errors import UserError
from petrilab.prediction.options import DEFAULT
from petrilab.tasks import OutputHead, output_head
from petrilab.tasks.regression.metrics import regression_metrics, summary_line
from petrilab.tasks.tables.recipe import TableRecipe

LOSSES = ("auto", "mse", "mae", "huber")


def _scale(settings) -> tuple[np.ndarray, np.ndarray]:
    d = settings.data
    n = len(d.target_columns)
    if len(d.target_mean) != n or len(d.target_std) != n:
        raise UserError("This run's settings lack the mean and spread of its values (data.target_mean, "
                        "data.target_std), so its outputs cannot be turned back into your units.",
                        fix="Train the model again with this version of PetriLab.")
    return np.asarray(d.target_mean, dtype=np.float64), np.asarray(d.target_std, dtype=np.float64)


def standardise(settings, values: np.ndarray) -> np.ndarray:
    mean, std = _scale(settings)
    return ((np.asarray(values, dtype=np.float64) - mean) / std).astype(np.float32)


def restore(settings, outputs: np.ndarray) -> np.ndarray:
    """The network's outputs in the targets' own units."""
    mean, std = _scale(settings)
    return np.asarray(outputs, dtype=np.float64).reshape(-1, len(mean)) * std + mean


class RegressionRecipe(TableRecipe):
    task = "regression"

    def decide_from_data(self, settings, dataset, report):
        super().decide_from_data(settings, dataset, report)
        settings.data.classes = []

    def decide_from_training(self, settings, train):
        values = np.array([s.values for s in train], dtype=np.float64).reshape(len(train), -1)
        std = values.std(axis=0)
        flat = [c for c, s in zip(settings.data.target_columns, std) if not s > 0]
        if flat:
            raise UserError(f"The training images all have the same value of '{flat[0]}': there is nothing to learn.",
                            fix="Leave this column out ('data.target_columns'), or add images with other values.")
        settings.data.target_mean = [float(v) for v in values.mean(axis=0)]
        settings.data.target_std = [float(v) for v in std]

    def head(self, settings):
        loss = settings.training.loss
        if loss not in LOSSES:
            raise UserError(f"The loss '{loss}' is for classes or pixels; regression learns numbers with mse, mae "
                            f"or huber.", fix="Set 'training.loss' to mse (the workshop's choice), mae or huber.")
        from petrilab.tasks.regression.keras_metrics import MeanAbsoluteErrorInUnits

        base = output_head(self.task, len(settings.data.target_columns))
        scales = settings.data.target_std or [1.0] * base.units
        return OutputHead(base.units, base.activation, base.loss, (MeanAbsoluteErrorInUnits(scales),),
                          base.main_metric)

    def targets(self, settings, samples):
        return standardise(settings, [s.values for s in samples])

    def augmentation(self, settings, samples):
        """Flips and turns only when every value's kind is known and none is `other`; positions and angles
        move with the image (target_geometry.py), and free rotation and zoom are left out for them."""
        from petrilab.data.augment import Augmenter
        from petrilab.tasks.regression.target_geometry import TargetGeometry, angle_range, standardised

        aug = settings.augmentation
        columns = settings.data.target_columns
        default = "invariant" if aug.geometric == "yes" else None  # "yes" with no kinds: flips keep the values
        kinds = [settings.data.target_kinds.get(c, default) for c in columns]
        plain = settings.copy()
        if aug.geometric == "no" or None in kinds or "other" in kinds:
            plain.augmentation.geometric = "no"
            return Augmenter(plain.augmentation, settings.training.seed), None
        augmenter = Augmenter(aug, settings.training.seed)
        if not any(k != "invariant" for k in kinds):
            return augmenter, None
        from petrilab.data.images import image_info

        infos = [image_info(s.path) for s in samples]
        sizes = np.array([(i.height, i.width) for i in infos], dtype=np.int64)
        angles = [j for j, k in enumerate(kinds) if k == "angle"]
        span = angle_range(np.array([s.values[angles[0]] for s in samples])) if angles else (0.0, 360.0)
        geometry = TargetGeometry(kinds, sizes, span)
        augmenter.only_flips_and_turns()
        if geometry.needs_partner():
            augmenter.rotate_90 = False  # an x without its y cannot follow a quarter turn
        return augmenter, standardised(geometry, settings.data.target_mean, settings.data.target_std)

    # ------------------------------------------------------------ results

    def summary_line(self, result):
        return summary_line(result)

    def report_section(self, evaluation, run_dir, trained=None):
        from petrilab.tasks.regression.report import regression_section

        return regression_section(evaluation, run_dir)

    def evaluate(self, trained, samples):
        settings = trained.settings
        targets = list(settings.data.target_columns)
        done, outputs, problems, y_true = self.predicted_with_truth(trained, samples)
        predicted = restore(settings, outputs) if len(done) else np.zeros((0, len(targets)))
        result = regression_metrics(y_true, predicted, targets, settings.data.target_mean)
        self.add_counts(result, done, problems, targets)
        header = ["file"]
        for t in targets:
            header += [f"true_{t}", f"predicted_{t}", f"error_{t}"]
        rows = []
        for path, true, pred in zip(done, y_true, predicted):
            row = [str(path)]
            for a, b in zip(true, pred):
                row += [f"{a:.6g}", f"{b:.6g}", f"{b - a:.6g}"]
            rows.append(row)
        return result, header, rows

    def predict(self, trained, images, input_dir, output_dir, options=DEFAULT):
        targets = list(trained.settings.data.target_columns)
        done, outputs, problems = trained.predict_files(images)
        predicted = restore(trained.settings, outputs) if len(done) else np.zeros((0, len(targets)))
        header = ["file"] + targets + ["problem"]
        rows = [[str(p.relative_to(input_dir)), *(f"{v:.6g}" for v in values), ""]
                for p, values in zip(done, predicted)]
        return self.write_predictions(output_dir, input_dir, header, rows, problems, len(targets), options.excel)
