"""Image classification (binary and multi-class): DATA/<class name>/<image>."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from petrilab import runs
from petrilab.data.check import check_dataset, resolve_channels
from petrilab.data.discovery import discover
from petrilab.prediction.options import DEFAULT
from petrilab.recipes.base import Recipe
from petrilab.tasks import output_head
from petrilab.tasks.classification.metrics import classification_metrics


class ClassificationRecipe(Recipe):
    task = "classification"

    def discover(self, settings, folder):
        return discover(self.task, folder, classes=settings.data.classes or None)

    def check(self, dataset, progress=None):
        return check_dataset(dataset, progress=progress)

    def decide_from_data(self, settings, dataset, report):
        settings.data.classes = list(dataset.classes)
        settings.data.channels = resolve_channels(settings.data.channels, report)

    def head(self, settings):
        return output_head(self.task, len(settings.data.classes))

    def inputs(self, samples, prep, settings, training):
        from petrilab.data.augment import Augmenter
        from petrilab.data.batches import make_inputs

        augmenter = Augmenter(settings.augmentation, settings.training.seed) if training else None
        return make_inputs(samples, prep, len(settings.data.classes), settings.training.batch_size,
                           settings.data.load, augmenter=augmenter if augmenter and augmenter.active else None,
                           shuffle=training, seed=settings.training.seed)

    def fit_options(self, samples, settings):
        if not settings.data.class_weights:
            return {}, {}
        from petrilab.data.batches import class_weights

        weights = class_weights(np.array([s.label for s in samples]), len(settings.data.classes))
        shown = {settings.data.classes[k]: round(float(v), 4) for k, v in weights.items()}
        return {"class_weight": weights}, {"class_weights": shown}

    # ------------------------------------------------------------ results

    @staticmethod
    def probabilities(out: np.ndarray) -> np.ndarray:
        """The network's outputs as one probability per class."""
        if out.shape[1] == 1:  # binary: one sigmoid unit = P(second class)
            out = np.concatenate([1.0 - out, out], axis=1)
        return out

    def evaluate(self, trained, samples):
        classes = trained.classes
        truth = {s.path: s.label for s in samples}
        done, outputs, problems = trained.predict_files([s.path for s in samples])
        probs = self.probabilities(outputs) if len(done) else np.zeros((0, len(classes)))
        y_true = np.array([truth[p] for p in done], dtype=int)
        y_pred = probs.argmax(axis=1) if len(done) else np.zeros(0, int)
        result = classification_metrics(y_true, y_pred, classes)
        result["warnings"] += [f"Skipped {p}: {m}" for p, m in problems.items()]
        result["n_images"] = len(done)
        header = ["file", "true_class", "predicted_class", "correct"] + [f"p_{c}" for c in classes]
        rows = [[str(p), classes[t], classes[q], int(t == q), *(f"{v:.6f}" for v in pr)]
                for p, t, q, pr in zip(done, y_true, y_pred, probs)]
        return result, header, rows

    def summary_line(self, result):
        m = result["metrics"]
        return (f"{result['n_images']} images ({result['source']}): accuracy {m['accuracy']:.3f}, "
                f"balanced accuracy {m['balanced_accuracy']:.3f}, macro F1 {m['macro_f1']:.3f}")

    def report_section(self, evaluation, run_dir, trained=None):
        from petrilab.tasks.classification.report import classification_section

        return classification_section(evaluation)

    def predict(self, trained, images, input_dir, output_dir, options=DEFAULT):
        classes = trained.classes
        done, outputs, problems = trained.predict_files(images)
        probs = self.probabilities(outputs) if len(done) else np.zeros((0, len(classes)))
        header = ["file", "predicted_class"] + [f"p_{c}" for c in classes] + ["problem"]
        rows = [[str(p.relative_to(input_dir)), classes[int(pr.argmax())], *(f"{v:.6f}" for v in pr), ""]
                for p, pr in zip(done, probs)]
        rows += [[str(p.relative_to(input_dir)), "", *([""] * len(classes)), message]
                 for p, message in problems.items()]
        rows.sort(key=lambda r: r[0])
        return runs.atomic_write_csv(Path(output_dir) / "predictions.csv", header, rows, excel=options.excel)
