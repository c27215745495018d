"""Evaluate page: the headline numbers as cards (the first metrics the evaluation has, then how many images),
each named with the images it was measured on."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from petrilab.tasks import DEFAULT_TASK, has_objects

# key -> (title, what it means in the workshop's words); the first ones an evaluation has become the cards
METRICS = {
    "accuracy": ("Accuracy", "Share of test images put in the right class."),
    "balanced_accuracy": ("Balanced accuracy",
                          "Accuracy averaged over the classes, so a rare class counts as much as a common one."),
    "macro_f1": ("Macro F1", "F1 (balance of precision and recall) averaged over the classes or labels."),
    "exact_match": ("Exact match", "Share of images whose labels are all right."),
    "macro_auc": ("Macro AUC", "How well the probabilities rank positives above negatives, averaged over labels."),
    "hamming_loss": ("Hamming loss", "Share of wrong yes/no label decisions (lower is better)."),
    "mae": ("Mean absolute error", "Average distance between the predicted and the true values (lower is better)."),
    "rmse": ("RMSE", "Root mean squared error: like the MAE, but large mistakes weigh more."),
    "r2": ("R²", "1 is perfect; 0 is no better than always answering the mean."),
    "mean_iou": ("Mean IoU", "Overlap of predicted and true masks: TP / (TP + FP + FN), averaged over classes."),
    "iou": ("IoU", "Overlap of predicted and true masks: TP / (TP + FP + FN)."),
    "dice": ("Dice", "2 |X ∩ Y| / (|X| + |Y|): overlap of predicted and true masks."),
    "psnr": ("PSNR", "Peak signal-to-noise ratio against the clean images, in dB (higher is better; +3 dB is half "
                     "the squared error)."),
    "ssim": ("SSIM", "Structural similarity to the clean images: 1 is identical structure."),
    "noise_after": ("Noise left", "The noise estimated in the restored images, in the input's units (no clean "
                                  "images to compare with)."),
    "object_f1": ("Object F1", "Objects matched one to one at IoU ≥ 0.5: the balance of precision (found objects "
                               "that are real) and recall (real objects found)."),
}
INSTANCE_ONLY = {"object_f1"}  # semantic runs count pieces, not objects: only tasks with objects show it
AS_PERCENT = {"accuracy", "balanced_accuracy", "macro_f1", "exact_match", "macro_auc", "hamming_loss", "mean_iou",
              "iou", "dice", "precision", "recall", "f1", "auc", "object_f1"}
N_CARDS = 3  # metric cards, then the number of test images


def format_metric(key: str, value) -> str:
    if not isinstance(value, (int, float)) or value != value:
        return "–"
    if key in AS_PERCENT:
        return f"{value:.1%}"
    if key in ("support", "n"):
        return str(int(value))
    return f"{value:.3g}"


class _Card(QFrame):
    """One number with its name, e.g. Accuracy 84.3 %."""

    def __init__(self):
        super().__init__()
        self.setObjectName("card")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 8, 14, 10)
        layout.setSpacing(2)
        self.name = QLabel()
        self.name.setObjectName("muted")
        self.value = QLabel("–")
        self.value.setStyleSheet("font-size: 22px; font-weight: 600;")
        layout.addWidget(self.name)
        layout.addWidget(self.value)

    def show_metric(self, title: str, tooltip: str, text: str) -> None:
        self.name.setText(title)
        self.setToolTip(tooltip)
        self.value.setText(text)


class MetricCards(QWidget):
    """A row of N_CARDS metric cards and the count of images they rest on."""

    def __init__(self):
        super().__init__()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.card_widgets = [_Card() for _ in range(N_CARDS + 1)]
        for card in self.card_widgets:
            row.addWidget(card)
        self.cards: dict[str, QLabel] = {}  # metric key -> the value label showing it
        self.show_metrics({}, None)

    def show_metrics(self, metrics: dict, n_images, task: str = DEFAULT_TASK, source: str | None = None) -> None:
        """The first metrics this evaluation has (in METRICS order), then how many images they rest on; each
        named with the images it was measured on (validation figures appear on other pages: never confuse them)."""
        shown = [k for k in METRICS if isinstance(metrics.get(k), (int, float))
                 and (k not in INSTANCE_ONLY or has_objects(task))][:N_CARDS]
        if not shown:
            shown = ["accuracy", "balanced_accuracy", "macro_f1"]
        self.cards.clear()  # the same dict: the page shows it as its `cards`
        other = source not in (None, "test split")
        on = f"on {Path(source).name}" if other else "on the test images"
        for card, key in zip(self.card_widgets, shown):
            title, tip = METRICS[key]
            card.show_metric(f"{title} · {on.removeprefix('on the ')}", f"{tip} Measured {on}.",
                             format_metric(key, metrics.get(key)))
            card.show()
            self.cards[key] = card.value
        for card in self.card_widgets[len(shown):-1]:
            card.hide()
        last = self.card_widgets[-1]
        last.show_metric(f"Images of {Path(source).name}" if other else "Test images",
                         "How many images the numbers are based on.",
                         str(n_images) if n_images is not None else "–")
        self.cards["n_images"] = last.value
