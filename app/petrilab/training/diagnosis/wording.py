"""The `Diagnosis` the user reads, made from the verdict's findings: its title, its summary in a few
sentences, its numbers and its advice."""

from __future__ import annotations

from typing import TYPE_CHECKING

from petrilab.settings import Settings
from petrilab.training.diagnosis import evidence
from petrilab.training.diagnosis.advice import advise
from petrilab.training.diagnosis.curves import Curves, smoothing_window
from petrilab.training.diagnosis.results import Diagnosis, jsonable
from petrilab.training.diagnosis.rules import Finding
from petrilab.training.diagnosis.thresholds import MIN_EPOCHS_TO_JUDGE, TITLES, TOO_EARLY

if TYPE_CHECKING:
    from petrilab.training.diagnosis.verdict import Analysis


def too_early_diagnosis(n_seen: int) -> Diagnosis:
    return Diagnosis(
        verdict=TOO_EARLY, title=TITLES[TOO_EARLY],
        summary=f"The verdict needs at least {MIN_EPOCHS_TO_JUDGE} epochs; {n_seen} done so far.",
        evidence=[], numbers={"epochs": n_seen}, advice=[], epochs_seen=n_seen, final=False)


def build_diagnosis(analysis: Analysis, n_seen: int, final: bool, settings: Settings | None) -> Diagnosis:
    finding, c = analysis.findings[0], analysis.curves
    secondary = analysis.secondary()
    numbers: dict = {"epochs": n_seen}
    if c is not None:
        numbers.update({
            "epochs_analysed": c.n, "best_val_epoch": c.ep(c.best), "best_val_loss": float(c.v[c.best]),
            "final_train_loss": float(c.ts[c.last]), "final_val_loss": float(c.vs[c.last]),
            "train_level": c.level_t, "val_level": c.level_v,
            "train_tail_fall": c.drop_t / c.progress_t if c.progress_t > 0 else 0.0,
            "val_tail_fall": c.drop_v / c.progress_v if c.progress_v > 0 else 0.0,
            "train_trend": c.trend_t, "val_trend": c.trend_v,
            "train_noise": c.noise_rel_t, "val_noise": c.noise_rel_v,
            "gap_relative": (c.level_v - c.level_t) / c.level_v if c.level_v > 0 else 0.0,
            "chance_loss": c.chance, "smoothing_window": smoothing_window(c.n), "tail_epochs": c.tail,
        })
    numbers.update(finding.numbers)
    numbers["case"] = finding.kind
    title = TITLES[finding.verdict]
    if finding.kind == "stuck":
        title = "Underfitting: learning nothing"
    elif finding.kind == "unstable":
        title = "Underfitting: training is unstable"
    return Diagnosis(
        verdict=finding.verdict, title=title, summary=_summary(finding, c),
        evidence=list(finding.evidence), numbers=jsonable(numbers),
        advice=advise(finding, settings, c, n_seen, secondary), epochs_seen=n_seen, final=final,
        secondary=secondary)


def _summary(f: Finding, c: Curves | None) -> str:
    text = evidence.summary(f, c)
    if text is not None:
        return text
    if f.kind == "diverged":
        return ("Training diverged: the loss is no longer a number, so the network cannot learn. "
                "The learning rate is most likely too high.")
    if f.kind == "exploded":
        return ("Training diverged: the loss grew instead of falling, to far more than a network that knows nothing "
                "costs, so the model learns nothing. The learning rate is most likely too high.")
    if f.kind == "stuck":
        return ("Learning nothing: the model always answers the average. Its loss is exactly that of answering the "
                "training images' mean value whatever the image, and more epochs will not change it.")
    if f.kind == "unstable":
        return ("The training loss goes up again instead of settling: the steps are too large to learn "
                "steadily. The learning rate is most likely too high.")
    if f.verdict == "underfitting" and c is not None and c.regression and f.kind in ("chance", "high"):
        return ("The network does not learn enough: its loss stays close to that of always answering the mean "
                "value, so it has not learnt how the values change from image to image. The model is too small, "
                "or it cannot learn (learning rate, or the images do not show the values).")
    if f.verdict == "underfitting":
        return ("The network does not learn enough: training loss stays flat or high. The model is too small, "
                "or it cannot learn (learning rate, or the images do not show what separates the classes).")
    if f.verdict == "overfitting":
        best = f" at epoch {c.ep(c.best)}" if c is not None else ""
        if f.kind == "onset":
            return ("The network starts to learn the training images by heart: validation loss stopped improving "
                    "while training loss keeps falling.")
        return (f"The network learns the training images by heart: validation loss reached its minimum{best}, "
                "then rose while training loss kept falling.")
    if f.kind in ("few", "early"):
        return "Only a few epochs so far: train longer to see where the curves go."
    if f.kind == "maybe_falling":
        return ("Training loss is still falling, and validation loss may be too (its noise hides it): "
                "train longer.")
    if f.verdict == "not_finished":
        return "Both losses are still falling at the end: train longer."
    if f.verdict == "unrepresentative_validation":
        why = {"noisy": "its loss is noisy", "better": "its loss is lower than the training loss",
               "noisy+better": "its loss is noisy and lower than the training loss"}[f.kind]
        return (f"The validation set does not represent the data well: {why}. There are probably too few, "
                "or too easy, validation images.")
    if f.verdict == "unrepresentative_training":
        return ("Both losses settled, but with a large gap that does not close: the training images do not "
                "cover what the validation images contain.")
    if f.kind == "moderate_gap":
        return ("Both losses fell to a stable point, with a moderate gap between them: the model fits well, "
                "though it does a little better on the training images.")
    return "Both losses fell to a stable point with a small gap: the model fits well."
