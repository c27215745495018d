"""The settings PetriLab chooses itself before training, when they say "auto".

- training.learning_rate = "auto": the range test (lr_finder.py);
- augmentation.geometric = "auto": the probe (geometry_probe.py) — for regression, only for the columns
  data.target_kinds does not name.

Both run on at most SAMPLE_IMAGES training images without flips or turns, on the model about to be
trained; its initial weights are put back and a fresh optimiser compiled after each, so training starts
exactly as it would have. The run's settings.toml records what was chosen (a value the user set is never
touched) and lists the keys in training.decided_automatically; each choice is a `decided` event.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from petrilab.tasks import TASKS, kinds

SAMPLE_IMAGES = 2000
FINE_TUNING_DIVISOR = 10
GEOMETRIC_FLAGS = ("flip_horizontal", "flip_vertical", "rotate_90")
# the tasks whose flips and turns a probe (or each value's kind) decides; the others keep their answer
PROBED_TASKS = kinds(lambda t: t.geometry in ("probe", "targets"))


def _subsample(samples: list, seed: int) -> list:
    if len(samples) <= SAMPLE_IMAGES:
        return list(samples)
    rng = np.random.default_rng(seed)
    return [samples[i] for i in sorted(rng.choice(len(samples), SAMPLE_IMAGES, replace=False))]


def geometry_question(settings) -> tuple[str, list[str]]:
    """("probe" | "known" | "none", the regression columns without a kind) — what is left to decide."""
    aug = settings.augmentation
    if settings.task.kind not in PROBED_TASKS or aug.geometric == "no":
        return "none", []
    if not any(getattr(aug, f) for f in GEOMETRIC_FLAGS) and aug.rotation == 0 and aug.zoom == 0:
        return "none", []  # nothing geometric is asked for
    if TASKS[settings.task.kind].geometry == "probe":
        return ("probe", []) if aug.geometric == "auto" else ("none", [])
    unknown = [c for c in settings.data.target_columns if c not in settings.data.target_kinds]
    if aug.geometric == "yes" or not unknown:
        return "known", unknown
    return "probe", unknown


def choose(model, recipe, settings, train: list, validation: list, prep, fit_options: dict,
           recompile: Callable[[], None]) -> list[dict]:
    """Fill in the "auto" settings in `settings` (the run's copy); return the `decided` events' fields."""
    from petrilab.training import geometry_probe, lr_finder

    decided: list[dict] = []
    question, unknown = geometry_question(settings)
    lr_auto = isinstance(settings.training.learning_rate, str)
    if not lr_auto and question != "probe":
        _known_kinds(settings, question, unknown, decided)
        return decided
    plain = settings.copy()
    plain.augmentation.geometric = "no"
    sample = _subsample(train, settings.training.seed)
    if lr_auto:
        data = recipe.inputs(sample, prep, plain, training=True)
        try:
            choice = lr_finder.find_learning_rate(model, data, settings.training.optimizer,
                                                  class_weight=fit_options.get("class_weight"),
                                                  seed=settings.training.seed)
        except Exception as exc:  # noqa: BLE001 - memory: the training's own retry halves the batch next
            if not _too_big(exc):
                raise
            usual = lr_finder.FALLBACK.get(settings.training.optimizer, 1e-3)
            choice = lr_finder.RateChoice(usual, f"A batch did not fit in memory during the learning-rate test: "
                                          f"PetriLab uses the usual rate for {settings.training.optimizer}, "
                                          f"{usual:g}.", [], [])
        if settings.model.start_from:  # fine-tuning: small steps keep what the trained network knows
            choice.learning_rate = float(f"{choice.learning_rate / FINE_TUNING_DIVISOR:.2g}")
            choice.message += (f" The network starts from a trained model, so it takes a tenth of that: "
                               f"{choice.learning_rate:g}.")
        settings.training.learning_rate = choice.learning_rate
        _record(settings, "training.learning_rate")
        recompile()
        decided.append(choice.to_event())
    if question == "probe":
        initial = model.get_weights()
        try:
            decision = geometry_probe.decide(model, recipe, settings, sample, validation, prep, fit_options,
                                             unknown)
        except Exception as exc:  # noqa: BLE001 - memory: no flips (never a wrong label), said in the event
            if not _too_big(exc):
                raise
            decision = geometry_probe.memory_fallback()
        finally:
            model.set_weights(initial)
            recompile()
        settings.augmentation.geometric = decision.geometric
        _record(settings, "augmentation.geometric")
        if decision.target_kinds:
            settings.data.target_kinds = {**settings.data.target_kinds, **decision.target_kinds}
            _record(settings, "data.target_kinds")
        decided.append(decision.to_event())
    else:
        _known_kinds(settings, question, unknown, decided)
    return decided


def _known_kinds(settings, question: str, unknown: list[str], decided: list[dict]) -> None:
    """Regression whose kinds are all known (or geometric = "yes"): say what the flips will do."""
    if question != "known":
        return
    kinds = {**{c: "invariant" for c in unknown}, **settings.data.target_kinds}
    if unknown:
        settings.data.target_kinds = kinds
        _record(settings, "data.target_kinds")
    others = [c for c in settings.data.target_columns if kinds.get(c) == "other"]
    if others:
        settings.augmentation.geometric = "no"
        _record(settings, "augmentation.geometric")
        decided.append({"key": "augmentation.geometric", "value": "no", "target_kinds": kinds,
                        "message": f"'{others[0]}' is marked 'other' in data.target_kinds: nobody knows what a "
                                   "flip or a turn does to it, so training uses no flips or turns."})
    elif settings.augmentation.geometric == "auto":
        settings.augmentation.geometric = "yes"
        _record(settings, "augmentation.geometric")
        decided.append({"key": "augmentation.geometric", "value": "yes", "target_kinds": kinds,
                        "message": "Every value's kind is known (data.target_kinds): training uses flips and "
                                   "turns, and moves positions and angles with the image."})


def _too_big(exc: BaseException) -> bool:
    """Out of memory, also when TensorFlow wraps it inside a graph function's error."""
    from petrilab.training.memory import is_out_of_memory

    return is_out_of_memory(exc) or "ResourceExhausted" in f"{type(exc).__name__} {exc}"


def _record(settings, key: str) -> None:
    if key not in settings.training.decided_automatically:
        settings.training.decided_automatically.append(key)
