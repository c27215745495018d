"""The contract each task's recipe fulfils."""

from __future__ import annotations

from pathlib import Path

from petrilab.data.check import DatasetReport
from petrilab.data.discovery import Dataset, Sample
from petrilab.data.preprocess import Preprocessing
from petrilab.prediction.options import DEFAULT, PredictOptions
from petrilab.settings import Settings
from petrilab.tasks import OutputHead


class Recipe:
    task = ""

    # ------------------------------------------------------------ data

    def discover(self, settings: Settings, folder: str | Path) -> Dataset:
        """The samples in `folder` (the training folder or a test folder, same layout).

        `Sample.label` is the stratification group the split uses (the class
        for classification); task-specific targets live in the sample's other fields.
        """
        raise NotImplementedError

    def check(self, dataset: Dataset, progress=None) -> DatasetReport:
        raise NotImplementedError

    def decide_from_data(self, settings: Settings, dataset: Dataset, report: DatasetReport) -> None:
        """Record in `settings` what was decided from the data (classes, channels, …), so that
        evaluation and prediction repeat exactly the same preprocessing."""

    def decide_from_training(self, settings: Settings, train: list[Sample]) -> None:
        """Record in `settings` what is learnt from the training images alone, never from validation or
        test (e.g. the mean and spread that standardise regression targets)."""

    # ------------------------------------------------------------ model and batches

    def head(self, settings: Settings) -> OutputHead:
        """The output layer, loss and metrics, from the settings as `decide_from_data` left them."""
        raise NotImplementedError

    def inputs(self, samples: list[Sample], prep: Preprocessing, settings: Settings, training: bool) -> dict:
        """What model.fit gets: {"x", "y", "batch_size", "steps", "in_memory"} (see data.batches.make_inputs)."""
        raise NotImplementedError

    def fit_options(self, samples: list[Sample], settings: Settings) -> tuple[dict, dict]:
        """Extra keyword arguments for model.fit, and what to report of them in the `started` event."""
        return {}, {}

    def min_improvement(self, settings: Settings) -> float:
        """The smallest fall of the validation loss that early stopping counts as progress."""
        return 1e-4

    def callbacks(self, settings: Settings) -> list:
        """Keras callbacks of the task's own, run beside the run's recorder and early stopping."""
        return []

    def after_training(self, trained, validation: list[Sample]) -> dict:
        """Decisions taken with the trained model on the validation images (e.g. tuning a threshold).

        Change `trained.settings` to keep them (the trainer saves it into the
        run's settings.toml); return what to report in an event, or {}.
        """
        return {}

    # ------------------------------------------------------------ results

    def evaluate(self, trained, samples: list[Sample]) -> tuple[dict, list[str], list[list]]:
        """Score the trained model on labelled samples.

        Returns (result, header, rows): result has "metrics", "warnings" and
        whatever the task shows (e.g. "confusion_matrix"); header and rows
        form the per-image table (test_predictions.csv).
        """
        raise NotImplementedError

    def summary_line(self, result: dict) -> str:
        """`evaluate`'s result in one line for the terminal (`petrilab evaluate`)."""
        raise NotImplementedError

    def report_section(self, evaluation: dict, run_dir: Path, trained=None) -> list:
        """The test-set results in report.html and report.pdf, as report blocks (export/report_blocks.py), from
        evaluation.json (`evaluation`) and the run folder; `trained`: the model, when already in memory."""
        raise NotImplementedError

    def predict(self, trained, images: list[Path], input_dir: Path, output_dir: Path,
                options: PredictOptions = DEFAULT) -> Path:
        """Predict new images into output_dir; return the main table written (predictions.csv).
        `options`: what the command asked for (--excel for every table, --probabilities)."""
        raise NotImplementedError
