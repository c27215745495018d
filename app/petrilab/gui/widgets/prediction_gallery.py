"""Predictions as pictures: each new image with what the model said about it.

Classification: sorted from the least sure to the surest, the close calls
flagged as a coin toss (what to look at first); segmentation: the overlays the
engine drew, with the object count; regression and multi-label: the values or
labels under each image. Pure functions of predictions.csv's rows, so they are
tested without a window; `PredictionGallery` shows them.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QWidget

from petrilab.gui.widgets.gallery import ImageGallery

GALLERY_LIMIT = 300  # pictures shown at most; the table and predictions.csv have them all
COIN_TOSS_MARGIN = 0.15  # the two likeliest classes closer than this: the model could have gone either way


def _float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None


def certainty(row: dict) -> tuple[float, float] | None:
    """(probability of the predicted class, its margin over the runner-up) of a classification row."""
    probabilities = sorted((p for k, v in row.items() if k.startswith("p_") and (p := _float(v)) is not None),
                           reverse=True)
    if not probabilities:
        return None
    return probabilities[0], probabilities[0] - (probabilities[1] if len(probabilities) > 1 else 0.0)


def is_coin_toss(row: dict) -> bool:
    sure = certainty(row)
    return sure is not None and sure[1] < COIN_TOSS_MARGIN


def value_columns(columns: list[str]) -> list[str]:
    """Regression: the predicted values' columns (everything but the file and the problem)."""
    return [c for c in columns if c not in ("file", "problem") and not c.startswith(("true_", "error_"))]


def entries(rows: list[dict], columns: list[str], input_dir: Path | None, output_dir: Path | None
            ) -> list[tuple[str, str, str]]:
    """(picture path, caption, tooltip) for each readable prediction, in the order to show them."""
    usable = [r for r in rows if r.get("file") and not r.get("problem")]
    if "predicted_class" in columns:
        usable.sort(key=lambda r: (certainty(r) or (1.0, 1.0))[1])  # the closest calls first
        return [_classified(r, input_dir) for r in usable[:GALLERY_LIMIT]]
    if "overlay_file" in columns and output_dir is not None:
        return [(str(output_dir / r["overlay_file"]), f"{Path(r['file']).name}\n{_objects(r)}",
                 f"{r['file']}: {_objects(r)} (outlined)") for r in usable[:GALLERY_LIMIT] if r.get("overlay_file")]
    labels = next((c for c in ("labels", "predicted_labels") if c in columns), None)
    if labels:  # multi-label
        return [(_image(r, input_dir), f"{Path(r['file']).name}\n{r.get(labels) or 'no label'}",
                 f"{r['file']}: {r.get(labels) or 'no label'}") for r in usable[:GALLERY_LIMIT]]
    values = value_columns(columns)
    return [(_image(r, input_dir), f"{Path(r['file']).name}\n{_values(r, values)}", f"{r['file']}: {_values(r, values)}")
            for r in usable[:GALLERY_LIMIT]]


def _image(row: dict, input_dir: Path | None) -> str:
    path = Path(row["file"])
    return str(path if path.is_absolute() or input_dir is None else input_dir / path)


def _classified(row: dict, input_dir: Path | None) -> tuple[str, str, str]:
    sure = certainty(row)
    name = row.get("predicted_class", "")
    if sure is None:
        return _image(row, input_dir), f"{Path(row['file']).name}\n{name}", row["file"]
    caption = f"{name} {sure[0]:.0%}" + (" · coin toss" if sure[1] < COIN_TOSS_MARGIN else "")
    tooltip = (f"{row['file']}: {name}, {sure[0]:.0%} sure"
               + (" — the model hesitated between two classes: check this one" if sure[1] < COIN_TOSS_MARGIN else ""))
    return _image(row, input_dir), f"{caption}\n{Path(row['file']).name}", tooltip


def _objects(row: dict) -> str:
    count = _float(row.get("count"))
    if count is None:
        return "objects outlined"
    return f"{int(count)} object{'s' if int(count) != 1 else ''}"


def _values(row: dict, columns: list[str]) -> str:
    parts = []
    for column in columns:
        number = _float(row.get(column))
        parts.append(f"{column} = {number:.4g}" if number is not None else f"{column} = {row.get(column, '')}")
    return ", ".join(parts)


class PredictionGallery(ImageGallery):
    """The predicted images as thumbnails with their captions (double-click opens one)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(thumb_size=112, parent=parent)

    def show_predictions(self, rows: list[dict], columns: list[str], input_dir: Path | None,
                         output_dir: Path | None) -> int:
        shown = entries(rows, columns, input_dir, output_dir)
        self.set_images(shown)
        return len(shown)
