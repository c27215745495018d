"""augmentation.geometric = "auto": does a flipped or turned image keep its answer? A short probe tells.

Whether a 6 turned upside down is still a 6 is a fact about the user's question, not about the task, and
the images themselves say it: a network trained briefly on the images as they are (no flips, no turns)
learns what each class looks like. Shown a flipped copy of a validation image, it answers the same class
when the flipped image still looks like that class (an elongated cell flipped is an elongated cell), and
another class when flipping makes it look like one (a left arrow flipped looks like a right arrow).

- Classification: how well the probe answers flipped and turned images, against how well it answers the
  validation images as they are (its "level"). The flipped images are the validation images and up to
  PROBE_VALIDATION training images: a flipped training image is as new to the probe as a validation image,
  and with a few dozen images the validation set alone is five to nine images, too few to tell. Flips and
  turns are used when every one keeps at least KEEP of the level overall and no class with enough images
  is clearly below CLASS_KEEP of it (a 6 that becomes a 9 sinks its class's share alone). "Clearly": even
  the optimistic end of the share's confidence interval is below. A class of 25 hard images kept 47 % of
  the time is what a weak probe does by chance (one of fifteen class-and-transform shares is bound to be
  low); 6s turned half way are kept 0-10 %.
- Regression, each column with no kind in data.target_kinds: the probe's answers on flipped copies are
  compared with what each kind predicts: the same value (invariant), x mirrored (position_x), y mirrored
  (position_y). The kind that matches, clearly better than the others, is taken; none: `other`.
- A probe that learnt too little to tell (accuracy close to always answering the largest class, or an
  error close to always answering the mean) decides nothing: no flips or turns, as a notebook would.

Cost: one short training (PROBE_STEPS batches on at most PROBE_IMAGES training images) and six predictions
of at most 2 × PROBE_VALIDATION images; the initial weights are put back afterwards.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from petrilab.data.augment import flip_and_turn
from petrilab.data.images import image_info, read_image
from petrilab.tasks import TASKS
from petrilab.tasks.regression.target_geometry import TargetGeometry

PROBE_STEPS = 100
PROBE_MIN_EPOCHS, PROBE_MAX_EPOCHS = 2, 40
PROBE_IMAGES = 2000
PROBE_VALIDATION = 300
KEEP = 0.70
CLASS_KEEP = 0.50
CLASS_MIN_IMAGES = 5
CLASS_CONFIDENCE_Z = 1.28  # one-sided 90 %: a class is changed when the upper end of its share is below CLASS_KEEP
LEARNT_OVER_MAJORITY = 0.10  # probe accuracy needed above always answering the largest class
LEARNT_ERROR = 0.60  # mean |error| in standard deviations needed (always the mean: about 0.8)
MATCH_ERROR = 0.25  # an accepted kind's mismatch: at most this many standard deviations ...
MATCH_OF_ERROR = 2.0  # ... or this many times the probe's own error, whichever is larger
CLEARLY_BETTER = 0.5  # ... and at most this fraction of the next best kind's mismatch

# (name, flip left-right, flip up-down, quarter turns)
TRANSFORMS = (("flipped left-right", 1, 0, 0), ("flipped upside down", 0, 1, 0), ("turned a quarter", 0, 0, 1),
              ("turned half way", 0, 0, 2), ("turned three quarters", 0, 0, 3))


@dataclass
class GeometryDecision:
    geometric: str  # yes | no
    message: str
    target_kinds: dict[str, str] = field(default_factory=dict)  # regression: the kinds decided
    details: dict = field(default_factory=dict)
    seconds: float = 0.0

    def to_event(self) -> dict:
        event = {"key": "augmentation.geometric", "value": self.geometric, "message": self.message,
                 "details": self.details, "seconds": round(self.seconds, 2)}
        if self.target_kinds:
            event["target_kinds"] = self.target_kinds
        return event


def transforms_for(shape: tuple[int, int]) -> list[tuple]:
    """Quarter turns only for square inputs (the augmentation turns others by half turns only)."""
    square = shape[0] == shape[1]
    return [t for t in TRANSFORMS if square or t[3] in (0, 2)]


def _probe_epochs(n_train: int, batch_size: int) -> int:
    per_epoch = max(1, math.ceil(n_train / batch_size))
    return int(np.clip(math.ceil(PROBE_STEPS / per_epoch), PROBE_MIN_EPOCHS, PROBE_MAX_EPOCHS))


def train_probe(model, recipe, settings, train, prep, fit_options: dict) -> None:
    """Train `model` briefly on the training images without flips or turns (the caller restores it)."""
    plain = settings.copy()
    plain.augmentation.geometric = "no"
    rng = np.random.default_rng(settings.training.seed)
    if len(train) > PROBE_IMAGES:
        train = [train[i] for i in sorted(rng.choice(len(train), PROBE_IMAGES, replace=False))]
    data = recipe.inputs(train, prep, plain, training=True)
    arguments = {"x": data["x"]} if data["y"] is None else {"x": data["x"], "y": data["y"],
                                                             "batch_size": data["batch_size"]}
    model.fit(**arguments, epochs=_probe_epochs(len(train), settings.training.batch_size), shuffle=True,
              verbose=0, **fit_options)


def _validation_images(validation, prep, seed: int):
    rng = np.random.default_rng(seed)
    if len(validation) > PROBE_VALIDATION:
        validation = [validation[i] for i in sorted(rng.choice(len(validation), PROBE_VALIDATION, replace=False))]
    return validation, np.stack([prep(read_image(s.path)) for s in validation])


def _predict(model, x: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=64, verbose=0), dtype=np.float64)


def upper_share(kept: int, n: int, z: float = CLASS_CONFIDENCE_Z) -> float:
    """The optimistic end of the Wilson score interval of the share kept/n."""
    share, spread = kept / n, z * z / n
    centre = (share + spread / 2) / (1 + spread)
    half = z * math.sqrt(share * (1 - share) / n + spread / (4 * n)) / (1 + spread)
    return centre + half


def classes_keep(model, validation, prep, seed: int, classes: list[str], train=()) -> GeometryDecision:
    """The decision for classification, from the probe's answers on flipped and turned images."""
    samples, x = _validation_images(validation, prep, seed)
    labels = np.array([s.label for s in samples])

    def answers(images):
        out = _predict(model, images)
        return (out[:, 0] > 0.5).astype(int) if out.shape[1] == 1 else out.argmax(axis=1)

    level = float((answers(x) == labels).mean())  # how well the probe answers images it has not seen
    majority = np.bincount(labels, minlength=len(classes)).max() / len(labels)
    details = {"probe_accuracy": round(level, 3), "majority_share": round(float(majority), 3),
               "validation_images": len(samples)}
    if level < majority + LEARNT_OVER_MAJORITY:
        return GeometryDecision("no", (
            f"The short probe got {level:.0%} of {len(samples)} validation images right, too few to tell "
            "whether a flipped or turned image keeps its class: no flips or turns (answer the question on the "
            "Model page to choose)."), details=details)
    # Flipped copies of training images are unseen too: with a few dozen images they multiply the evidence.
    extra, seen = _validation_images(list(train), prep, seed + 1) if len(train) else ([], x[:0])
    labels = np.concatenate([labels, np.array([s.label for s in extra], dtype=labels.dtype)])
    x = np.concatenate([x, seen])
    details["flipped_images"] = len(x)
    kept, worst = {}, []
    for name, *op in transforms_for(x.shape[1:3]):
        right = answers(flip_and_turn(x, np.tile(np.array(op), (len(x), 1)))) == labels
        kept[name] = round(min(1.0, float(right.mean()) / level), 3)
        for k, cls in enumerate(classes):
            mine = labels == k
            n = int(mine.sum())
            if n >= CLASS_MIN_IMAGES and upper_share(int(right[mine].sum()), n) < CLASS_KEEP * level:
                worst.append((float(right[mine].mean()) / level, cls, name))
    details["kept"] = kept
    low_name = min(kept, key=kept.get)
    if kept[low_name] >= KEEP and not worst:
        return GeometryDecision("yes", (
            f"A short probe (trained without flips or turns) answered flipped and turned images at least "
            f"{kept[low_name]:.0%} as well as the images as they are: the classes do not depend on the way up, "
            "so training uses flips and turns."), details=details)
    if worst:
        share, cls, name = min(worst)
        why = f"'{cls}' images {name} were called '{cls}' {share:.0%} as often as unturned ones"
    else:
        why = f"images {low_name} were answered right {kept[low_name]:.0%} as often as unturned ones"
    return GeometryDecision("no", (
        f"A short probe (trained without flips or turns) showed that flipping or turning changes the answer: "
        f"{why}. Training uses no flips or turns."), details=details)


def value_kinds(model, validation, prep, seed: int, settings, unknown: list[str]) -> GeometryDecision:
    """The kind of each regression column in `unknown`, from the probe's answers on flipped images."""
    from petrilab.tasks.regression.recipe import restore

    samples, x = _validation_images(validation, prep, seed)
    columns = list(settings.data.target_columns)
    std = np.asarray(settings.data.target_std, dtype=np.float64)
    truth = np.array([s.values for s in samples], dtype=np.float64).reshape(len(samples), -1)
    sizes = np.array([(i.height, i.width) for i in (image_info(s.path) for s in samples)], dtype=np.float64)
    index = np.arange(len(samples))
    first = restore(settings, _predict(model, x))
    error = np.abs(first - truth).mean(axis=0) / std
    flips = [t for t in TRANSFORMS if t[3] == 0]
    moved = {name: restore(settings, _predict(model, flip_and_turn(x, np.tile(np.array(op), (len(x), 1)))))
             for name, *op in flips}
    kinds, details = {}, {"validation_images": len(samples), "columns": {}}
    for column in unknown:
        j = columns.index(column)
        mismatch = {}
        for kind in ("invariant", "position_x", "position_y"):
            geometry = TargetGeometry([kind], sizes)
            gaps = [np.abs(moved[name][:, j] - geometry(first[:, [j]], np.tile(np.array(op), (len(x), 1)),
                                                        index)[:, 0]).mean() / std[j]
                    for name, *op in flips]
            mismatch[kind] = float(np.mean(gaps))
        ranked = sorted(mismatch, key=mismatch.get)
        best, second = ranked[0], ranked[1]
        allowed = max(MATCH_ERROR, MATCH_OF_ERROR * error[j])
        learnt = error[j] <= LEARNT_ERROR
        clear = mismatch[best] <= allowed and mismatch[best] <= CLEARLY_BETTER * mismatch[second]
        kinds[column] = best if learnt and clear else "other"
        details["columns"][column] = {"probe_error_sd": round(float(error[j]), 3),
                                      "mismatch_sd": {k: round(v, 3) for k, v in mismatch.items()},
                                      "kind": kinds[column]}
    words = {"invariant": "unchanged by flips and turns", "position_x": "a position across (x)",
             "position_y": "a position down (y)", "other": "not clear"}
    said = "; ".join(f"'{c}': {words[k]}" for c, k in kinds.items())
    if "other" in kinds.values():
        return GeometryDecision("no", (
            f"A short probe looked at how its answers change when images are flipped: {said}. A value whose "
            "change cannot be told would be taught wrong answers, so training uses no flips or turns (say what "
            "each value is on the Model page to use them)."), kinds, details)
    return GeometryDecision("yes", (
        f"A short probe looked at how its answers change when images are flipped: {said}. Training uses flips "
        "and turns, and moves the positions with the image."), kinds, details)


def decide(model, recipe, settings, train, validation, prep, fit_options: dict, unknown: list[str]):
    """Train the probe, look, and return the GeometryDecision (the caller restores the weights)."""
    started = time.monotonic()
    train_probe(model, recipe, settings, train, prep, fit_options)
    if TASKS[settings.task.kind].geometry == "targets":
        decision = value_kinds(model, validation, prep, settings.training.seed, settings, unknown)
    else:
        decision = classes_keep(model, validation, prep, settings.training.seed, list(settings.data.classes),
                                train)
    decision.seconds = time.monotonic() - started
    return decision


def memory_fallback() -> GeometryDecision:
    """The probe's batch did not fit in memory: no flips or turns (they can never make a label wrong)."""
    return GeometryDecision("no", "A batch did not fit in memory during the flip-and-turn probe, so PetriLab trains "
                                  "without flips and turns (they could have changed what the labels mean); answer "
                                  "the question on the Model page to decide yourself.")
