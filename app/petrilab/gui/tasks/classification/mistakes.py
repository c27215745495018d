"""Evaluate page: the misclassified test images, as gallery entries with what was predicted and what is true."""

from __future__ import annotations

from pathlib import Path

GALLERY_LIMIT = 200  # thumbnails shown at most; the table file has them all


def mistakes(rows: list[dict], run_dir: Path | None) -> tuple[list[tuple[str, str, str]], str]:
    """The wrong rows of test_predictions.csv as (image, caption, tooltip), and the gallery's title."""
    wrong = [r for r in rows if str(r.get("correct", "1")).strip() in ("0", "0.0", "False", "false")]
    entries = []
    for r in wrong[:GALLERY_LIMIT]:
        # classes, or the labels of a multi-label image ('' when it has none)
        predicted = r.get("predicted_class", r.get("predicted_labels")) or "no label"
        true = r.get("true_class", r.get("true_labels")) or "no label"
        confidence = r.get(f"p_{predicted}")
        sure = f" {float(confidence):.0%}" if confidence not in (None, "") else ""
        caption = f"→ {predicted}{sure}\ntrue: {true}"
        tooltip = f"{r.get('file')}\nTrue class: {true}\nPredicted: {predicted} (probability{sure})"
        entries.append((_resolve(r.get("file", ""), run_dir), caption, tooltip))
    shown = f" — showing {GALLERY_LIMIT}" if len(wrong) > GALLERY_LIMIT else ""
    if rows and not wrong:
        title = "Misclassified test images: none, every test image was right"
    else:
        title = f"Misclassified test images ({len(wrong)} of {len(rows)}){shown}"
    return entries, title


def _resolve(file: str, run_dir: Path | None) -> str:
    path = Path(file)
    if path.is_absolute() or run_dir is None:
        return str(path)
    return str(run_dir / path)
