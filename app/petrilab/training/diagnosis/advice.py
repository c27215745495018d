"""The advice for each verdict: which pieces of advice (advice_builders.py), in which order; a setting that
makes a network underfit whatever its size comes first."""

from __future__ import annotations

import math

from petrilab.settings import Settings
from petrilab.tasks import TASKS
from petrilab.training.diagnosis import evidence
from petrilab.training.diagnosis.advice_builders import (
    add_augmentation, add_batch_norm, add_dropout, add_l2, auto_learning_rate, bigger_model, lower_learning_rate,
    most_epochs, raise_epochs, raise_learning_rate, smaller_model, try_transfer,
)
from petrilab.training.diagnosis.curves import Curves
from petrilab.training.diagnosis.results import Advice
from petrilab.training.diagnosis.rules import Finding
from petrilab.training.diagnosis.thresholds import (
    FALLING, HEAVY_DROPOUT, HEAVY_PENALTY, LR_FAR_HIGH, LR_FAR_LOW, MIN_MORE_EPOCHS, VAL_NOISE,
    VALIDATION_FRACTION_ADVISED,
)
from petrilab.training.diagnosis.words import fmt, pct


def advise(f: Finding, s: Settings | None, c: Curves | None, n_seen: int, secondary: list[str]) -> list[Advice]:
    tips = evidence.advice(f, s, c)
    if tips is not None:
        return tips
    if f.verdict == "diverged" or f.kind == "unstable":
        why = "The loss blew up" if f.verdict == "diverged" else "The training loss rose again instead of settling"
        tips = [_far_high_rate(s) or lower_learning_rate(s, why), add_batch_norm(s, "steadies training"),
                Advice("Check that the images are normalised (data page): very large pixel values make training "
                       "diverge.", page="data")]
    elif f.verdict == "underfitting":
        tips = _underfitting_advice(f, s, c, n_seen)
        if f.kind == "stuck":  # always the average: first ask whether the images show the values at all
            tips = tips[-1:] + tips[:-1]
    elif f.verdict == "overfitting":
        tips = _overfitting_advice(s, c)
    elif f.verdict == "not_finished":
        tips = _more_epochs(s, n_seen)
        if "underfitting" in secondary:  # falling, but slowly and still close to a blind guess
            tips.append(raise_learning_rate(s))
    elif f.verdict == "unrepresentative_validation":
        tips = _validation_advice(s)
    elif f.verdict == "unrepresentative_training":
        tips = _training_set_advice(s)
    else:
        tips = [Advice("Nothing to fix in the training. Check the result on the test set and look at predictions "
                       "on new images before trusting the model.")]
    return [t for t in tips if t is not None]


def _cause_in_settings(s: Settings | None, regularisation: Advice | None) -> Advice | None:
    if s is None:
        return None
    lr = s.training.learning_rate
    # A rate far from the usual is fixed in one step by the range test, not by a tenfold nudge that may
    # still be too far (1e-5 → 1e-4 and 0.3 → 0.03 both stayed at chance in benchmarks/advice_check.py).
    if isinstance(lr, (int, float)) and lr < LR_FAR_LOW:
        return auto_learning_rate(f"The learning rate ({fmt(lr)}) is far below the usual 0.001, so the network "
                                  "hardly moves")
    far_high = _far_high_rate(s)
    if far_high is not None:
        return far_high
    m = s.model
    if m.dropout >= HEAVY_DROPOUT or m.l1 >= HEAVY_PENALTY or m.l2 >= HEAVY_PENALTY:
        return regularisation
    return None


def _far_high_rate(s: Settings | None) -> Advice | None:
    lr = s.training.learning_rate if s is not None else None
    if isinstance(lr, (int, float)) and lr > LR_FAR_HIGH and s.training.optimizer in ("adam", "rmsprop"):
        return auto_learning_rate(f"The learning rate ({fmt(lr)}) is far above the usual 0.001, so each step "
                                  "overshoots")
    return None


def _underfitting_advice(f: Finding, s, c, n_seen) -> list[Advice]:
    tips = _underfitting_tips(f, s, c, n_seen)
    regularisation = next((t for t in tips if t is not None and t.text.startswith("Remove the regularisation")), None)
    first = _cause_in_settings(s, regularisation)
    if first is None:
        return tips
    return [first] + [t for t in tips if t is not None and t.changes != first.changes]


def _underfitting_tips(f: Finding, s, c, n_seen) -> list[Advice]:
    tips = [bigger_model(s)]
    noisy_training = c is not None and c.noise_rel_t >= VAL_NOISE
    if noisy_training:
        tips.append(lower_learning_rate(s, "The training loss jumps around"))
    else:
        tips.append(raise_learning_rate(s))
    if s is not None and (s.model.dropout > 0 or s.model.l1 > 0 or s.model.l2 > 0):
        changes = {k: 0.0 for k, v in (("model.dropout", s.model.dropout), ("model.l1", s.model.l1),
                                       ("model.l2", s.model.l2)) if v > 0}
        tips.append(Advice("Remove the regularisation (dropout, L1/L2): it fights overfitting, which is not the "
                           "problem here, and makes learning harder.", changes, page="model"))
    if c is not None and c.trend_t == FALLING:
        tips.append(raise_epochs(s, n_seen, "The training loss still falls a little: train more epochs"))
    if s is None or s.model.architecture != "transfer":
        tips.append(try_transfer(s, "A pretrained network brings features learnt on millions of images"))
    if s is not None and TASKS[s.task.kind].has_targets:
        tips.append(Advice("Check the images and the table (data page): do the images, at the size the model sees, "
                           "show the values to predict? Are the values in targets.csv right?", page="data"))
    else:
        tips.append(Advice("Check the images and labels (data page): do the images, at the size the model sees, "
                           "show what separates the classes? Are the labels right?", page="data"))
    return tips


def _overfitting_advice(s: Settings | None, c: Curves | None) -> list[Advice]:
    best = c.ep(c.best) if c is not None else None
    kept = (f"The best checkpoint is already kept by validation loss: model.keras is the network from epoch {best}."
            if best else "The best checkpoint is already kept by validation loss (model.keras).")
    tips: list[Advice | None] = []
    if s is None or not s.training.early_stopping:
        patience = s.training.patience if s is not None else 10
        tips.append(Advice(f"Turn on early stopping: training stops when validation loss has not improved for "
                           f"{patience} epochs. {kept}", {"training.early_stopping": True}, page="train"))
    tips.append(add_augmentation(s, "Use more data augmentation, so the network never sees exactly the same image "
                                 "twice"))
    tips.append(add_dropout(s))
    tips.append(Advice("Add more training images: it is the surest cure for overfitting.", page="data"))
    tips.append(smaller_model(s))
    tips.append(add_l2(s))
    tips.append(add_batch_norm(s, "often also regularises a little"))
    if s is None or s.model.architecture != "transfer":
        tips.append(try_transfer(s, "A pretrained network needs far fewer images to learn"))
    if s is not None and s.training.early_stopping:
        tips.append(Advice(kept))
    return [t for t in tips if t is not None]


def _more_epochs(s: Settings | None, n_seen: int) -> list[Advice]:
    planned = s.training.epochs if s is not None else 0
    # As many again (at least 10), or up to the planned number when the run was stopped before it.
    total = min(max(n_seen + max(MIN_MORE_EPOCHS, int(math.ceil(n_seen / 5.0)) * 5), planned), most_epochs())
    tips = [Advice(f"Train {total - n_seen} more epochs from where it stopped.",
                   {"training.epochs": total} if total != planned else {}, page="train", resume=True)]
    if n_seen >= planned:  # the planned epochs were too few (not so when the run was stopped early)
        tips.append(raise_epochs(s, n_seen, "For the next trainings, set more epochs"))
    if s is None or not s.training.early_stopping:
        tips.append(Advice("Turn on early stopping, so a long training stops by itself when validation loss "
                           "stops improving.", {"training.early_stopping": True}, page="train"))
    return tips


def _validation_advice(s: Settings | None) -> list[Advice]:
    tips = []
    fraction = s.split.validation_fraction if s is not None else None
    if fraction is None or fraction < VALIDATION_FRACTION_ADVISED:
        now = f" instead of {pct(fraction)}" if fraction is not None else ""
        tips.append(Advice(f"Keep more images for validation: {pct(VALIDATION_FRACTION_ADVISED)} of them{now}.",
                           {"split.validation_fraction": VALIDATION_FRACTION_ADVISED}, page="split"))
    if s is not None and not s.split.stratify:
        tips.append(Advice("Stratify the split, so every class has its share of validation images.",
                           {"split.stratify": True}, page="split"))
    tips.append(Advice("Look at the validation images: are they only easy cases, or all from one condition "
                       "(one slide, one day)? They should be as varied as the real data.", page="split"))
    tips.append(Advice("Add more images overall, so the validation set can be larger.", page="data"))
    return tips


def _training_set_advice(s: Settings | None) -> list[Advice]:
    tips = [Advice("Make the training set more diverse: add images from every condition the validation images "
                   "show (cell density, focal plane, illumination, stain).", page="data"),
            add_augmentation(s, "Use data augmentation, so the training images cover more of the variation")]
    if s is not None and not s.split.stratify:
        tips.append(Advice("Stratify the split, so every class is shared between training and validation.",
                           {"split.stratify": True}, page="split"))
    tips.append(Advice("Double-check the labels of the validation images.", page="data"))
    return [t for t in tips if t is not None]
