"""Multi-label classification: DATA/images/<image> + DATA/labels.csv (filename, one 0/1 column per label).

One sigmoid output per label and binary cross-entropy, as in the workshop's
table: each label is its own yes/no question, so an image can get none, one
or several. After training, each label's decision threshold is chosen on the
validation images (the best F1) and kept in the run's settings
(postprocess.label_thresholds); a rare label often needs a threshold below 0.5.
"""

from __future__ import annotations

import numpy as np

from petrilab.errors import UserError
from petrilab.prediction.options import DEFAULT
from petrilab.tasks import output_head
from petrilab.tasks.classification.multilabel_metrics import best_threshold, multilabel_metrics, summary_line
from petrilab.tasks.tables.recipe import TableRecipe

LOSSES = ("auto", "binary_crossentropy")


def thresholds(settings) -> np.ndarray:
    """One decision threshold per label: the tuned ones, or postprocess.threshold for every label."""
    labels = settings.data.target_columns
    tuned = settings.postprocess.label_thresholds
    if len(tuned) == len(labels):
        return np.asarray(tuned, dtype=np.float64)
    return np.full(len(labels), float(settings.postprocess.threshold))


class MultiLabelRecipe(TableRecipe):
    task = "multilabel"

    def decide_from_data(self, settings, dataset, report):
        super().decide_from_data(settings, dataset, report)
        settings.data.classes = list(dataset.columns)  # the labels, in the order of the outputs
        if len(settings.postprocess.label_thresholds) != len(dataset.columns):
            settings.postprocess.label_thresholds = []  # from another dataset: tuned again after training

    def head(self, settings):
        if settings.training.loss not in LOSSES:
            raise UserError(f"The loss '{settings.training.loss}' does not suit multi-label classification.",
                            fix="Set 'training.loss' to auto (binary cross-entropy, one per label).")
        return output_head(self.task, len(settings.data.target_columns))

    def targets(self, settings, samples):
        return np.array([s.values for s in samples], np.float32)

    def after_training(self, trained, validation):
        settings = trained.settings
        labels = list(settings.data.target_columns)
        default = float(settings.postprocess.threshold)
        if not settings.postprocess.tune_threshold or not validation:
            return {}  # no tuned thresholds: postprocess.threshold decides for every label
        done, outputs, _, y_true = self.predicted_with_truth(trained, validation)
        if not done:
            return {}
        chosen = [best_threshold(y_true[:, j] > 0.5, outputs[:, j], default) for j in range(len(labels))]
        settings.postprocess.label_thresholds = chosen
        return {"label_thresholds": dict(zip(labels, chosen)), "images": len(done),
                "message": "Decision threshold per label chosen on the validation images (best F1)."}

    # ------------------------------------------------------------ results

    def summary_line(self, result):
        return summary_line(result)

    def report_section(self, evaluation, run_dir, trained=None):
        from petrilab.tasks.classification.report import multilabel_section

        return multilabel_section(evaluation)

    def evaluate(self, trained, samples):
        settings = trained.settings
        labels = list(settings.data.target_columns)
        cut = thresholds(settings)
        done, outputs, problems, y_true = self.predicted_with_truth(trained, samples)
        probs = outputs if len(done) else np.zeros((0, len(labels)))
        result = multilabel_metrics(y_true, probs, labels, cut)
        self.add_counts(result, done, problems, labels)
        decided = probs >= cut
        header = ["file", "correct", "true_labels", "predicted_labels"]
        header += [f"{kind}{label}" for label in labels for kind in ("true_", "p_", "")]
        rows = []
        for path, true, p, d in zip(done, y_true > 0.5, probs, decided):
            row = [str(path), int(np.all(true == d)), "; ".join(l for l, t in zip(labels, true) if t),
                   "; ".join(l for l, k in zip(labels, d) if k)]
            for t, q, k in zip(true, p, d):
                row += [int(t), f"{q:.6f}", int(k)]
            rows.append(row)
        return result, header, rows

    def predict(self, trained, images, input_dir, output_dir, options=DEFAULT):
        labels = list(trained.settings.data.target_columns)
        cut = thresholds(trained.settings)
        done, outputs, problems = trained.predict_files(images)
        header = ["file", "labels"] + [f"{kind}{label}" for label in labels for kind in ("p_", "")] + ["problem"]
        rows = []
        for path, p in zip(done, outputs if len(done) else []):
            decided = p >= cut
            row = [str(path.relative_to(input_dir)), "; ".join(l for l, k in zip(labels, decided) if k)]
            for q, k in zip(p, decided):
                row += [f"{q:.6f}", int(k)]
            rows.append(row + [""])
        return self.write_predictions(output_dir, input_dir, header, rows, problems, 1 + 2 * len(labels),
                                      options.excel)
