"""The rules that read the curves: each gives a `Finding` (a verdict, its kind of case, evidence and
numbers) when it holds: the five verdicts besides good fit, good fit when none of them holds, and the
divergence read before all of them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from petrilab.settings import Settings
from petrilab.training.diagnosis import curve_cases
from petrilab.training.diagnosis.chance import chance_loss, guess_words
from petrilab.training.diagnosis.curves import Curves, jitter, median
from petrilab.training.diagnosis.thresholds import (
    CHANCE_FRACTION, DOUBT, DROPOUT_MARGIN, EARLY_EPOCHS, FALLING, FLAT_BELOW_CHANCE, FLAT_DECREASE, GAP_OF_SCALE,
    HIGH_PLATEAU_FRACTION, LARGE_GAP, LEARNT_ACCURACY, MEMORISED, NOISE_RATIO, ONSET_GAP_GROWTH,
    OVERFIT_MIN_EPOCHS_AFTER, OVERFIT_MIN_RISE, OVERFIT_RISE, SIGNIFICANCE, SMALL_GAP, STOPPED, TRAIN_KEEPS_FALLING,
    TRAIN_RISE, TRAIN_RISE_OF_SCALE, VAL_BETTER_MARGIN, VAL_NOISE, VAL_NOISE_OF_SCALE,
)
from petrilab.training.diagnosis.words import fmt, fmt_pair, pct


@dataclass
class Finding:
    """One rule that holds: its verdict, the kind of case, evidence and the numbers behind it."""

    verdict: str
    kind: str
    evidence: list[str]
    numbers: dict = field(default_factory=dict)
    weak: bool = False  # holds only partly: listed in `secondary`, never the verdict


def _underfitting(c: Curves) -> Finding | None:
    last = c.last
    rise = float(c.ts[last] - c.ts[c.tmin])
    if (c.tmin < last and rise >= TRAIN_RISE * c.ts[c.tmin] and rise >= TRAIN_RISE_OF_SCALE * c.scale
            and rise > SIGNIFICANCE * c.noise_t):
        return Finding("underfitting", "unstable", [
            f"Training loss was lowest at epoch {c.ep(c.tmin)} ({fmt(c.ts[c.tmin])}) and rose again to "
            f"{fmt(c.ts[last])} by epoch {c.ep(last)}: training is unstable."
        ], {"train_rise": rise / c.ts[c.tmin]})
    decrease = float((c.ts[0] - c.ts[last]) / c.ts[0]) if c.ts[0] > 0 else 0.0
    numbers = {"train_decrease": decrease}
    stuck = curve_cases.stuck_at_average(c.t, c.v, c.tail, c.chance) if c.regression else None
    if stuck is not None:  # not even a slow start: the bias has learnt the mean and nothing else moves
        start, end = fmt_pair(stuck["start_v"], stuck["end_v"])
        return Finding("underfitting", "stuck", [
            f"Over epochs {c.ep(c.start)}–{c.ep(last)} training loss stayed at {fmt(stuck['level_t'])}, which is "
            f"{c.guess}, and validation loss hardly moved ({start} → {end}).",
            "The network is learning nothing: it always answers the average, whatever the image.",
        ], {**numbers, "train_vs_chance": c.level_t / c.chance, "val_move_of_chance": stuck["move"]})
    accuracy = c.metrics.get("accuracy")
    if accuracy is not None and len(accuracy) and median(accuracy[-c.tail:]) >= LEARNT_ACCURACY:
        return None  # learnt already in the first epoch (an easy task): a flat loss is no problem then
    if c.chance is not None:
        ratio = c.level_t / c.chance
        numbers["train_vs_chance"] = ratio
        guess = c.guess
        if ratio >= CHANCE_FRACTION:
            # Still falling, or early days: maybe a slow start rather than a dead end, so only a partial verdict.
            return Finding("underfitting", "chance", [
                f"Training loss is {fmt(c.level_t)} over epochs {c.ep(c.start)}–{c.ep(last)}, "
                f"{pct(ratio)} of {guess}: the network has learnt almost nothing so far."
            ], numbers, weak=c.trend_t == FALLING or c.learning or early(c))
        if c.trend_t != FALLING and not c.learning and ratio >= HIGH_PLATEAU_FRACTION:
            return Finding("underfitting", "high", [
                f"Training loss settled at {fmt(c.level_t)} over epochs {c.ep(c.start)}–{c.ep(last)}, "
                f"still {pct(ratio)} of {guess}."
            ], numbers)
        if c.trend_t != FALLING and not c.learning and decrease < FLAT_DECREASE and ratio >= FLAT_BELOW_CHANCE:
            return _flat(c, decrease, numbers)
        return None
    if c.trend_t != FALLING and not c.learning and decrease < FLAT_DECREASE:
        return _flat(c, decrease, numbers)
    return None


def _flat(c: Curves, decrease: float, numbers: dict) -> Finding:
    change = "stayed flat" if decrease < 0.01 else f"fell by only {pct(decrease)}"
    first, now = fmt_pair(c.ts[0], c.ts[c.last])
    return Finding("underfitting", "flat", [
        f"Training loss {change}: {first} at epoch {c.ep(0)}, {now} at epoch {c.ep(c.last)}."
    ], numbers, weak=early(c))


def early(c: Curves) -> bool:
    """The first epochs: a slow start cannot be told from a dead end yet (a loss going up is `unstable`)."""
    return c.n < EARLY_EPOCHS


def _overfitting(c: Curves) -> Finding | None:
    last, m, b = c.last, c.vmin, c.best
    rise = float(c.vs[last] - c.vs[m])
    t_fall = float((c.ts[m] - c.ts[last]) / c.ts[m]) if c.ts[m] > 0 else 0.0
    gap_then, gap_now = float(c.vs[m] - c.ts[m]), float(c.vs[last] - c.ts[last])
    numbers = {"val_rise": rise / c.vs[m] if c.vs[m] > 0 else 0.0, "train_fall_since_best": t_fall,
               "gap_at_best": gap_then, "gap_at_end": gap_now}
    lowest = f"Validation loss was lowest at epoch {c.ep(b)} ({fmt(c.v[b])})"
    grew = f"The gap between validation and training loss grew from {fmt(gap_then)} to {fmt(gap_now)}."
    memorised = c.ts[last] <= MEMORISED * c.scale  # nothing left to fall: the training set is learnt by heart
    if last - m >= OVERFIT_MIN_EPOCHS_AFTER and rise > SIGNIFICANCE * c.noise_v and rise >= OVERFIT_MIN_RISE * c.vs[m]:
        if t_fall >= TRAIN_KEEPS_FALLING:
            train = f"while training loss kept falling ({fmt(c.ts[b])} → {fmt(c.ts[last])})"
        elif memorised:
            train = f"while training loss stayed close to zero ({fmt(c.ts[last])})"
        else:
            train = f"while training loss stayed about the same ({fmt(c.ts[b])} → {fmt(c.ts[last])})"
        evidence = [f"{lowest} and rose to {fmt(c.vs[last])} by epoch {c.ep(last)} {train}.", grew]
        # In the first epochs noise is hard to measure: ask for twice the rise.
        needed = OVERFIT_RISE * c.vs[m] * (2 if early(c) else 1)
        early_noise = early(c) and rise <= 2 * SIGNIFICANCE * c.noise_v
        weak = rise < needed or early_noise or not (t_fall >= TRAIN_KEEPS_FALLING or memorised)
        return Finding("overfitting", "rising", evidence + _accuracy_evidence(c, b), numbers, weak=weak)
    # Overfitting that has begun: validation loss levelled off while training
    # loss still falls, and the gap is already large.
    gap_rel = gap_now / c.vs[last] if c.vs[last] > 0 else 0.0
    if (c.trend_v == STOPPED and c.trend_t == FALLING and gap_rel >= LARGE_GAP and gap_now >= GAP_OF_SCALE * c.scale
            and c.drop_t - c.drop_v >= ONSET_GAP_GROWTH * gap_now):
        evidence = [
            f"Validation loss levelled off at about {fmt(c.level_v)} over the last {c.tail} epochs "
            f"({c.ep(c.start)}–{c.ep(last)}; lowest at epoch {c.ep(b)}, {fmt(c.v[b])}), while training loss kept "
            f"falling ({fmt(c.ts[c.start])} → {fmt(c.ts[last])}).",
            f"The gap between validation and training loss grew from {fmt(c.vs[c.start] - c.ts[c.start])} to "
            f"{fmt(gap_now)}.",
        ]
        return Finding("overfitting", "onset", evidence + _accuracy_evidence(c, b), numbers)
    return None


def _accuracy_evidence(c: Curves, row: int) -> list[str]:
    acc = c.metrics.get("val_accuracy")
    if acc is None or not math.isfinite(acc[row]) or not math.isfinite(acc[-1]):
        return []
    return [f"Validation accuracy was {fmt(acc[row])} at epoch {c.ep(row)} and {fmt(acc[-1])} "
            f"at epoch {c.ep(c.last)}."]


def _not_finished(c: Curves) -> Finding | None:
    if not (c.learning or early(c)):
        return None
    start, last = c.start, c.last
    numbers = {"val_recent_fall_of_level": c.drop_v / c.vs[last] if c.vs[last] > 0 else 0.0}
    span = f"Over the last {c.tail} epochs ({c.ep(start)}–{c.ep(last)})"
    if not c.learning:
        first, now = fmt_pair(c.ts[0], c.ts[last])
        moving = "is still going down, if slowly" if c.drop_t > DOUBT * c.drop_sd_t else "has hardly moved yet"
        return Finding("not_finished", "early", [
            f"Only {c.n} epochs: training loss {moving} ({first} at epoch {c.ep(0)}, {now} at epoch {c.ep(last)}).",
            "A network often stays close to where it started for its first epochs before it takes off; "
            "a few more epochs will tell whether it learns.",
        ], numbers)
    if c.trend_v == FALLING:
        where = (f"Validation loss is lowest at the end (epoch {c.ep(c.best)}, {fmt(c.v[c.best])})."
                 if c.best >= start else
                 f"Validation loss was lowest at epoch {c.ep(c.best)} ({fmt(c.v[c.best])}), and is still falling "
                 "on average.")
        return Finding("not_finished", "falling", [
            f"{span} validation loss still fell from {fmt(c.vs[start])} to {fmt(c.vs[last])} and training loss "
            f"from {fmt(c.ts[start])} to {fmt(c.ts[last])}.", where], numbers)
    return Finding("not_finished", "maybe_falling", [
        f"{span} training loss went from {fmt(c.ts[start])} to {fmt(c.ts[last])}; it has not settled yet.",
        f"Validation loss (now about {fmt(c.level_v)}) jumps too much to tell yet whether it has stopped falling.",
    ], numbers)


def _unrepresentative_validation(c: Curves) -> Finding | None:
    evidence, kinds = [], []
    # A noise measured on few epochs is uncertain (about 1.2 / sqrt(epochs) of
    # itself): ask that much more before calling a short curve noisy.
    needed = VAL_NOISE * (1 + 1.2 / math.sqrt(max(c.n - 2, 1)))
    noisy = c.noise_v >= NOISE_RATIO * c.noise_t and jitter(c.v[-c.tail:]) >= VAL_NOISE_OF_SCALE * c.scale
    if c.noise_rel_v >= needed and noisy:
        kinds.append("noisy")
        evidence.append(f"Validation loss jumps by about ±{pct(c.noise_rel_v)} from one epoch to the next; "
                        f"training loss by about ±{pct(c.noise_rel_t)}.")
    below = (c.level_t - c.level_v) / c.level_t if c.level_t > 0 else 0.0
    margin = VAL_BETTER_MARGIN + DROPOUT_MARGIN * c.dropout
    if below >= margin:
        kinds.append("better")
        text = (f"Over the last {c.tail} epochs ({c.ep(c.start)}–{c.ep(c.last)}) validation loss "
                f"({fmt(c.level_v)}) stayed below training loss ({fmt(c.level_t)}), by {pct(below)}.")
        if c.dropout > 0:
            text += (f" Dropout ({pct(c.dropout)}) is active only while training and raises the training loss "
                     "a little, but not this much.")
        evidence.append(text)
    if not kinds:
        return None
    return Finding("unrepresentative_validation", "+".join(kinds), evidence, {"val_below_train": below})


def _unrepresentative_training(c: Curves) -> Finding | None:
    gap = c.level_v - c.level_t
    gap_rel = gap / c.level_v if c.level_v > 0 else 0.0
    if c.learning or gap_rel < LARGE_GAP or gap < GAP_OF_SCALE * c.scale:
        return None
    start, last = c.start, c.last
    times = f": validation loss is {fmt(c.level_v / c.level_t)} times the training loss" if c.level_t > 0 else ""
    return Finding("unrepresentative_training", "gap", [
        f"Over the last {c.tail} epochs ({c.ep(start)}–{c.ep(last)}) both losses settled, training at "
        f"{fmt(c.level_t)} and validation at {fmt(c.level_v)}{times}.",
        f"The gap was {fmt(c.vs[start] - c.ts[start])} at epoch {c.ep(start)} and "
        f"{fmt(c.vs[last] - c.ts[last])} at epoch {c.ep(last)}: it does not close.",
    ], {"gap": gap})


def good_fit(c: Curves) -> Finding:
    gap = c.level_v - c.level_t
    evidence = [
        f"Validation loss levelled off over the last {c.tail} epochs ({c.ep(c.start)}–{c.ep(c.last)}) at "
        f"{fmt(c.level_v)}; training loss is at {fmt(c.level_t)}.",
        f"The gap between them is {'small' if abs(gap) < SMALL_GAP * c.level_v else 'moderate'} ({fmt(gap)}, "
        f"{pct(abs(gap) / c.level_v)} of the validation loss)." if c.level_v > 0 else f"The gap is {fmt(gap)}.",
        f"Validation loss was lowest at epoch {c.ep(c.best)} ({fmt(c.v[c.best])}): the best checkpoint is from "
        "that epoch.",
    ]
    kind = "small_gap" if abs(gap) < SMALL_GAP * c.level_v else "moderate_gap"
    return Finding("good_fit", kind, evidence + _accuracy_evidence(c, c.best))


RULES = {
    "underfitting": _underfitting,
    "overfitting": _overfitting,
    "not_finished": _not_finished,
    "unrepresentative_validation": _unrepresentative_validation,
    "unrepresentative_training": _unrepresentative_training,
}


def loss_not_a_number(train: np.ndarray, val: np.ndarray) -> Finding | None:
    """NaN or infinite training loss (or infinite validation loss): the training diverged."""
    bad_train = ~np.isfinite(train)
    bad = bad_train | np.isinf(val)
    if not bad.any():
        return None
    i = int(np.argmax(bad))
    what = "Training loss" if bad_train[i] else "Validation loss"
    value = train[i] if bad_train[i] else val[i]
    how = "became infinite" if np.isinf(value) else "became NaN (not a number)"
    evidence = [f"{what} {how} at epoch {i + 1}."]
    if i > 0 and math.isfinite(train[i - 1]):
        evidence.append(f"Training loss was {fmt(train[i - 1])} at epoch {i}, its last finite value.")
    return Finding("diverged", "diverged", evidence, {"diverged_epoch": i + 1})


def loss_exploded(train: np.ndarray, settings: Settings | None) -> Finding | None:
    """A finite training loss that grew to many times a blind guess's (or its own lowest): diverged too."""
    chance = chance_loss(settings)
    found = curve_cases.exploded(train, chance)
    if found is None:
        return None
    n = len(train)
    evidence = [f"Training loss was {fmt(found['first'])} at epoch 1, {fmt(found['peak'])} at its highest "
                f"(epoch {found['peak_epoch']}) and {fmt(found['last'])} at epoch {n}."]
    if found["versus"] == "guess":
        evidence.append(f"Over the last epochs it is {_times(found['times'])} {guess_words(settings)}: instead of "
                        "falling, the loss blew up.")
    else:
        evidence.append(f"Over the last epochs it is {_times(found['times'])} its lowest value "
                        f"({fmt(found['reference'])}): instead of falling, the loss blew up.")
    return Finding("diverged", "exploded", evidence, {"loss_first": found["first"], "loss_last": found["last"],
                                                      "loss_times_reference": found["times"]})


def _times(x: float) -> str:
    return f"{x:.0f} times" if x < 1e6 else f"{x:.1e} times"
