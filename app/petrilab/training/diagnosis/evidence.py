"""Diagnosis rules that look past the shape of the curves: accuracy lost, not only curves that settled.

The verdict asks `RULES` after the curve rules (rules.py); `summary` and `advice` answer for their kinds of
case before the curve rules' texts. Each rule's advice is something that, applied, raises the validation
metric in the case it names:

- `lost_accuracy` (underfitting): classification whose *training* accuracy settled well below 100 %. The
  network does not even get the images it learns from right, so it cannot do better on new ones: its
  augmentation changes the answer (flips that make a 6 a 9) or it is too small. Curves that "settled with a
  small gap" would otherwise read as a good fit.
- `val_chance` (overfitting): the training loss fell far below a blind guess while the validation loss never
  did: what the network learns does not carry over to new images.
- a validation set too small to tell (a note on any verdict, `note_small_validation`): with few images one
  image more or less right moves the validation accuracy by several percent, and the curves' wiggles are that
  noise.
"""

from __future__ import annotations

import math

import numpy as np

from petrilab.tasks import TASKS
from petrilab.training.diagnosis.advice_builders import add_augmentation, add_dropout, bigger_model
from petrilab.training.diagnosis.curves import median
from petrilab.training.diagnosis.results import Advice, Diagnosis
from petrilab.training.diagnosis.rules import Finding, early
from petrilab.training.diagnosis.thresholds import FALLING
from petrilab.training.diagnosis.words import fmt, pct


LOST_ACCURACY = 0.95  # training accuracy below this, settled: accuracy the network could reach is lost
STILL_RISING = 0.01  # training accuracy that rose more than this over the last stretch has not settled
VAL_CHANCE = 0.95  # validation loss never below this fraction of a blind guess's ...
TRAIN_LEARNT = 0.6  # ... while the training loss fell below this fraction of it
FEW_VALIDATION = 40  # fewer validation images than this: one image is 2.5 % or more of the accuracy
FEW_PER_CLASS = 8
VALIDATION_FRACTION = 0.3
GEOMETRIC_WORDS = ("flip_horizontal", "flip_vertical", "rotate_90")


def _lost_accuracy(c) -> Finding | None:
    accuracy = c.metrics.get("accuracy")
    if c.regression or accuracy is None or not len(accuracy) or early(c):
        return None
    level = median(accuracy[-c.tail:])
    if not math.isfinite(level) or level >= LOST_ACCURACY or c.trend_t == FALLING:
        return None
    before = accuracy[-2 * c.tail:-c.tail]
    if len(before) and level - median(before) > STILL_RISING:
        return None  # training accuracy still climbs: not lost, only not there yet
    val = c.metrics.get("val_accuracy")
    evidence = [f"Training accuracy settled at {pct(level)} over epochs {c.ep(c.start)}–{c.ep(c.last)}: the "
                "network does not get even the images it learns from right, so it cannot do better on new ones."]
    if val is not None and len(val) and math.isfinite(median(val[-c.tail:])):
        evidence.append(f"Validation accuracy is about {pct(median(val[-c.tail:]))}.")
    return Finding("underfitting", "lost_accuracy", evidence, {"train_accuracy": level})


def _val_chance(c) -> Finding | None:
    if c.chance is None or c.regression or early(c):
        return None
    best_val = float(np.min(c.vs))
    if best_val >= VAL_CHANCE * c.chance and c.level_t <= TRAIN_LEARNT * c.chance:
        return Finding("overfitting", "val_chance", [
            f"Validation loss never went below {pct(best_val / c.chance)} of {c.guess}, while training loss "
            f"fell to {fmt(c.level_t)} ({pct(c.level_t / c.chance)} of it): what the network learns from the "
            "training images does not carry over to new ones."], {"val_vs_chance": best_val / c.chance})
    return None


RULES = (_lost_accuracy, _val_chance)


def summary(f, c) -> str | None:
    if f.kind == "lost_accuracy":
        return ("The curves have settled, but the network misses accuracy it could reach: its training accuracy "
                "stays well below 100 %. Augmentation that changes the answer (a flip that makes a 6 a 9) or a "
                "network too small for the task holds it back.")
    if f.kind == "val_chance":
        return ("The network learns the training images but does no better than a blind guess on the validation "
                "images: it learns something that does not carry over.")
    return None


def _geometric_on(s) -> bool:
    a = s.augmentation
    return a.geometric != "no" and (any(getattr(a, k) for k in GEOMETRIC_WORDS) or a.rotation > 0 or a.zoom > 0)


def advice(f, s, c) -> list[Advice] | None:
    if f.kind == "val_chance":
        tips = [Advice("Check the labels: images of one class in another class's folder teach nothing that "
                       "carries over.", page="data"), add_dropout(s),
                add_augmentation(s, "Use data augmentation, so the network learns what the classes share")]
        return [t for t in tips if t is not None]
    if f.kind != "lost_accuracy":
        return None
    tips: list[Advice] = []
    answered_yes = (s is not None and s.augmentation.geometric == "yes"
                    and "augmentation.geometric" not in s.training.decided_automatically)
    if s is None or (_geometric_on(s) and not answered_yes):
        tips.append(Advice("Turn flips and turns off: if a flipped or turned image can belong to another class "
                           "(a 6 and a 9, a left and a right arrow), they teach the network wrong answers.",
                           {"augmentation.geometric": "no"}, page="model"))
    if s is not None:
        a = s.augmentation
        strong = {k: round(v / 2, 3) for k, v in (("augmentation.rotation", a.rotation), ("augmentation.zoom", a.zoom),
                                                  ("augmentation.noise", a.noise),
                                                  ("augmentation.brightness", a.brightness),
                                                  ("augmentation.contrast", a.contrast)) if v > 0}
        if strong:
            tips.append(Advice("Halve the other augmentation (rotation, zoom, noise, brightness, contrast): too "
                               "strong, it hides what tells the classes apart.", strong, page="model"))
        if s.model.dropout >= 0.3:
            tips.append(Advice(f"Lower the dropout ({pct(s.model.dropout)} now) to 10 %: the network has too "
                               "little capacity left to learn the classes.", {"model.dropout": 0.1}, page="model"))
    tips.append(bigger_model(s))
    return tips


def note_small_validation(diagnosis: Diagnosis, settings, n_validation: int | None) -> Diagnosis:
    """Say when the validation set is too small to tell (counted in images, and per class)."""
    if not n_validation:
        return diagnosis
    one_class = settings is not None and TASKS[settings.task.kind].answer == "class"  # one class per image
    classes = len(settings.data.classes) if one_class else 0
    per_class = n_validation / classes if classes else math.inf
    if n_validation >= FEW_VALIDATION and per_class >= FEW_PER_CLASS:
        return diagnosis
    step = 100 / n_validation
    where = f" (about {per_class:.0f} per class)" if classes else ""
    diagnosis.evidence.append(
        f"The validation set has only {n_validation} images{where}: one image more or less right moves the "
        f"validation accuracy by {step:.1f} %, so smaller differences between epochs or runs cannot be told "
        "apart.")
    diagnosis.numbers["n_validation"] = n_validation
    if "unrepresentative_validation" not in diagnosis.secondary and diagnosis.verdict != "unrepresentative_validation":
        diagnosis.secondary.append("unrepresentative_validation")
    if settings is not None and settings.split.validation_fraction < VALIDATION_FRACTION and not settings.data.test_folder:
        diagnosis.advice.append(Advice(
            f"Keep more images for validation ({pct(VALIDATION_FRACTION)} instead of "
            f"{pct(settings.split.validation_fraction)}), or add images: the validation numbers are then worth "
            "comparing.", {"split.validation_fraction": VALIDATION_FRACTION}, page="split"))
    else:
        diagnosis.advice.append(Advice("Add images, so the validation set holds at least "
                                       f"{FEW_VALIDATION} (and {FEW_PER_CLASS} per class).", page="data"))
    return diagnosis
