"""One piece of advice each, with the settings change one click applies, computed from the current value
(or from a usual one when the settings are not known)."""

from __future__ import annotations

import math

from petrilab.settings import RANGES, Settings
from petrilab.training.diagnosis import curve_cases
from petrilab.training.diagnosis.results import Advice
from petrilab.training.diagnosis.thresholds import DROPOUT_MAX, DROPOUT_START, L2_MAX, L2_START, MIN_ADVISED_EPOCHS
from petrilab.training.diagnosis.words import fmt, pct


def lower_learning_rate(s: Settings | None, why: str) -> Advice:
    if s is None or isinstance(s.training.learning_rate, str):  # "auto": not chosen yet
        return Advice(f"{why}: lower the learning rate, for example to 0.0001.",
                      {"training.learning_rate": 1e-4}, page="train")
    lowest = RANGES["training.learning_rate"][0]
    lr = s.training.learning_rate
    new = max(_nice(curve_cases.lower_learning_rate(lr)), lowest)
    if new >= lr:
        return Advice(f"{why}, although the learning rate is already as low as it can be: check the images and "
                      "the labels.", page="data")
    how = "ten times," if math.isclose(new * 10, lr, rel_tol=0.05) else "to the usual value for Adam,"
    return Advice(f"{why}: lower the learning rate {how} from {fmt(lr)} to {fmt(new)}.",
                  {"training.learning_rate": new}, page="train")


def raise_learning_rate(s: Settings | None) -> Advice | None:
    if s is None or isinstance(s.training.learning_rate, str):
        return Advice("If the training loss falls very slowly, try a higher learning rate (for example 0.003).",
                      {"training.learning_rate": 0.003}, page="train")
    lr = s.training.learning_rate
    if lr >= 0.01:
        return None
    new = _nice(lr * 3)
    return Advice(f"Try a higher learning rate: {fmt(new)} instead of {fmt(lr)}, so each step learns more.",
                  {"training.learning_rate": new}, page="train")


def auto_learning_rate(why: str) -> Advice:
    return Advice(f"{why}: let PetriLab choose the rate (learning rate \"auto\": a short range test at the "
                  "start of training picks it for your images).", {"training.learning_rate": "auto"}, page="train")


def add_batch_norm(s: Settings | None, why: str) -> Advice | None:
    if s is not None and s.model.batch_norm:
        return None
    return Advice(f"Add batch normalisation: it {why}.", {"model.batch_norm": True}, page="model")


def raise_epochs(s: Settings | None, n_seen: int, text: str) -> Advice:
    current = s.training.epochs if s is not None else n_seen
    new = min(max(2 * current, 2 * n_seen, MIN_ADVISED_EPOCHS), most_epochs())
    return Advice(f"{text}: {new} instead of {current}.", {"training.epochs": new}, page="train")


def most_epochs() -> int:
    return int(RANGES["training.epochs"][1])


def add_augmentation(s: Settings | None, text: str) -> Advice | None:
    target = {"augmentation.flip_horizontal": True, "augmentation.flip_vertical": True,
              "augmentation.rotate_90": True, "augmentation.rotation": 90.0,
              "augmentation.brightness": 0.1, "augmentation.contrast": 0.1}
    if s is not None:
        a = s.augmentation
        current = {"augmentation.flip_horizontal": a.flip_horizontal, "augmentation.flip_vertical": a.flip_vertical,
                   "augmentation.rotate_90": a.rotate_90, "augmentation.rotation": a.rotation,
                   "augmentation.brightness": a.brightness, "augmentation.contrast": a.contrast}
        target = {k: v for k, v in target.items() if current[k] < v}
        if not target:
            return None
    parts = []
    if any(k.endswith("flip_horizontal") or k.endswith("flip_vertical") for k in target):
        parts.append("flips")
    if "augmentation.rotate_90" in target or "augmentation.rotation" in target:
        parts.append("rotations")
    if "augmentation.brightness" in target or "augmentation.contrast" in target:
        parts.append("brightness and contrast changes")
    listed = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return Advice(f"{text}: {listed}.", target, page="model")


def add_dropout(s: Settings | None) -> Advice | None:
    current = s.model.dropout if s is not None else 0.0
    if current >= DROPOUT_MAX:
        return None
    new = DROPOUT_START if current < 0.2 else round(min(DROPOUT_MAX, current + 0.1), 2)
    now = f" (now {pct(current)})" if s is not None else ""
    return Advice(f"Add dropout: {pct(new)} of the neurons are switched off at random at each step{now}, so the "
                  "network cannot rely on a few of them.", {"model.dropout": new}, page="model")


def add_l2(s: Settings | None) -> Advice | None:
    current = s.model.l2 if s is not None else 0.0
    if current >= L2_MAX:
        return None
    new = L2_START if current <= 0 else _nice(min(L2_MAX, current * 10))
    return Advice(f"Add L2 weight regularisation ({fmt(new)}): it keeps the weights small.", {"model.l2": new},
                  page="model")


def smaller_model(s: Settings | None) -> Advice | None:
    text = "Use a smaller network: fewer parameters leave less room to learn the training images by heart"
    if s is None:
        return Advice(text + " (model page).", page="model")
    m = s.model
    if m.architecture == "transfer":
        if m.fine_tune_layers > 0:
            return Advice("Retrain fewer layers of the pretrained network (keep its base frozen).",
                          {"model.fine_tune_layers": 0}, page="model")
        return None
    key = "model.dense_layers" if m.architecture == "dense" else "model.filters"
    now = m.dense_layers if m.architecture == "dense" else m.filters
    new = [max(2, n // 2) for n in now]
    changes = {key: new} if new != now else {}
    if m.architecture != "dense" and m.head_units:
        head = [max(2, n // 2) for n in m.head_units]
        if head != m.head_units:
            changes["model.head_units"] = head
    if not changes:
        return None
    return Advice(f"{text}: {_describe_sizes(now)} → {_describe_sizes(new)}.", changes, page="model")


def bigger_model(s: Settings | None) -> Advice:
    text = "Use a bigger network: more filters or neurons can learn more"
    if s is None:
        return Advice(text + " (model page).", page="model")
    m = s.model
    if m.architecture == "transfer":
        if m.fine_tune_layers == 0:
            return Advice("Retrain the last layers of the pretrained network too (fine-tuning), so it adapts to "
                          "your images.", {"model.fine_tune_layers": 20}, page="model")
        return Advice(text + " (model page).", page="model")
    key = "model.dense_layers" if m.architecture == "dense" else "model.filters"
    now = m.dense_layers if m.architecture == "dense" else m.filters
    new = [min(8192, n * 2) for n in now]
    if new == now:  # already the largest the settings allow
        return Advice(text + ": try transfer learning, or check that the images show what separates the classes.",
                      page="model")
    return Advice(f"{text}: {_describe_sizes(now)} → {_describe_sizes(new)}.", {key: new}, page="model")


def try_transfer(s: Settings | None, why: str) -> Advice | None:
    if s is not None and s.model.architecture == "dense":
        return None  # a dense network is for small non-image inputs; a pretrained ConvNet is a bigger step
    return Advice(f"Try transfer learning: {why[0].lower()}{why[1:]}.", {"model.architecture": "transfer"},
                  page="model")


def _describe_sizes(sizes: list[int]) -> str:
    return "/".join(str(n) for n in sizes)


def _nice(x: float) -> float:
    """A learning rate with one significant digit (0.0001, 0.003), as people write them."""
    return float(f"{x:.1g}")
