"""Segmentation losses and the IoU / Dice curves, as the workshop taught them.

The network's output is per pixel: one sigmoid channel P(foreground) for two
classes, or one softmax channel per class. The targets have the same shape
(0/1, or one-hot). Every loss treats the single sigmoid channel as the pair
[background, foreground], so each formula is written once.

Losses (training.loss):
- crossentropy: binary or categorical cross-entropy, per pixel;
- weighted_crossentropy: the same, each pixel weighted by its true class's
  weight (rare classes count more; weights from the pixel frequencies);
- dice: 1 − Dice of the foreground classes (2|X∩Y| / (|X|+|Y|), on probabilities);
- crossentropy_dice: the two added — cross-entropy's steady gradients and
  Dice's indifference to how much background there is;
- focal: cross-entropy that down-weights the pixels already right, (1 − p)^γ.

Metrics: IoU (TP / (TP + FP + FN)) and Dice counted over every pixel of the
epoch, after deciding each pixel's class (p > 0.5, or the most probable).
All are registered Keras objects, so model.keras loads with them.
"""

from __future__ import annotations

import re

import keras
import numpy as np
from keras import ops

from petrilab.errors import UserError

PACKAGE = "petrilab"
_EPS = 1e-7
_SMOOTH = 1.0  # Dice smoothing: an empty target with an empty prediction is a perfect score, not 0/0
KINDS = ("crossentropy", "weighted_crossentropy", "dice", "crossentropy_dice", "focal")
MAX_CLASS_WEIGHT = 100.0


def _pairs(y_true, y_pred):
    """float32 targets and probabilities with at least two channels (a sigmoid's as [1 − p, p])."""
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    if y_pred.shape[-1] == 1:
        y_true = ops.concatenate([1.0 - y_true, y_true], axis=-1)
        y_pred = ops.concatenate([1.0 - y_pred, y_pred], axis=-1)
    return y_true, ops.clip(y_pred, _EPS, 1.0 - _EPS)


def _crossentropy(y_true, y_pred, weights, gamma: float = 0.0):
    per_class = -y_true * ops.log(y_pred)
    if gamma:
        per_class = per_class * ops.power(1.0 - y_pred, gamma)
    if weights is not None:
        per_class = per_class * ops.convert_to_tensor(weights, dtype="float32")
    return ops.mean(ops.sum(per_class, axis=-1))


def _dice_loss(y_true, y_pred):
    """1 − mean Dice of the foreground classes, pooled over the batch."""
    axes = tuple(range(len(y_pred.shape) - 1))
    t, p = y_true[..., 1:], y_pred[..., 1:]
    overlap = ops.sum(t * p, axis=axes)
    total = ops.sum(t, axis=axes) + ops.sum(p, axis=axes)
    return 1.0 - ops.mean((2.0 * overlap + _SMOOTH) / (total + _SMOOTH))


@keras.saving.register_keras_serializable(package=PACKAGE)
class SegmentationLoss(keras.losses.Loss):
    """One of the KINDS; class_weights (one per class, background first) for the weighted kinds."""

    def __init__(self, kind: str = "crossentropy_dice", class_weights=None, gamma: float = 2.0,
                 name: str | None = None, **kwargs):
        if kind not in KINDS:
            raise ValueError(f"unknown segmentation loss {kind!r}; use one of {KINDS}")
        super().__init__(name=name or kind, **kwargs)
        self.kind = kind
        self.class_weights = [float(w) for w in class_weights] if class_weights is not None else None
        self.gamma = float(gamma)

    def call(self, y_true, y_pred):
        y_true, y_pred = _pairs(y_true, y_pred)
        weights = self.class_weights if self.kind == "weighted_crossentropy" else None
        if self.kind in ("crossentropy", "weighted_crossentropy"):
            return _crossentropy(y_true, y_pred, weights)
        if self.kind == "focal":
            return _crossentropy(y_true, y_pred, None, gamma=self.gamma)
        if self.kind == "dice":
            return _dice_loss(y_true, y_pred)
        return _crossentropy(y_true, y_pred, None) + _dice_loss(y_true, y_pred)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "class_weights": self.class_weights, "gamma": self.gamma}


@keras.saving.register_keras_serializable(package=PACKAGE)
class SegmentationScore(keras.metrics.Metric):
    """IoU or Dice over all pixels seen since the last reset, averaged over `groups`.

    A group is a list of output classes counted as one (e.g. interior + boundary
    = object); for a single sigmoid channel, class 1 is p > 0.5.
    """

    def __init__(self, groups=((1,),), channels: int = 1, score: str = "iou", name: str = "iou", **kwargs):
        super().__init__(name=name, **kwargs)
        if score not in ("iou", "dice"):
            raise ValueError(f"score must be 'iou' or 'dice', not {score!r}")
        self.groups = [[int(c) for c in g] for g in groups]
        self.channels = int(channels)
        self.score = score
        n_classes = max(2, self.channels)
        membership = np.zeros((n_classes, len(self.groups)), dtype="float32")
        for j, group in enumerate(self.groups):
            membership[group, j] = 1.0
        self._membership = membership
        self.tp = self.add_variable(shape=(len(self.groups),), initializer="zeros", name="tp")
        self.fp = self.add_variable(shape=(len(self.groups),), initializer="zeros", name="fp")
        self.fn = self.add_variable(shape=(len(self.groups),), initializer="zeros", name="fn")

    def _hard(self, y):
        y = ops.cast(y, "float32")
        if self.channels == 1:
            foreground = ops.cast(y > 0.5, "float32")
            y = ops.concatenate([1.0 - foreground, foreground], axis=-1)
        else:
            y = ops.one_hot(ops.argmax(y, axis=-1), self.channels, dtype="float32")
        return ops.matmul(ops.reshape(y, (-1, max(2, self.channels))), ops.convert_to_tensor(self._membership))

    def update_state(self, y_true, y_pred, sample_weight=None):
        t, p = self._hard(y_true), self._hard(y_pred)
        self.tp.assign_add(ops.sum(t * p, axis=0))
        self.fp.assign_add(ops.sum((1.0 - t) * p, axis=0))
        self.fn.assign_add(ops.sum(t * (1.0 - p), axis=0))

    def result(self):
        if self.score == "iou":
            per_group = (self.tp + _EPS) / (self.tp + self.fp + self.fn + _EPS)
        else:
            per_group = (2.0 * self.tp + _EPS) / (2.0 * self.tp + self.fp + self.fn + _EPS)
        return ops.mean(per_group)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "channels": self.channels, "score": self.score}


# ---------------------------------------------------------------- choosing from the settings


def class_weights_from_pixels(pixels_per_class: list[int]) -> list[float]:
    """'Balanced' weights n / (K × count_k): each class weighs as much in total; capped for classes almost absent."""
    counts = np.asarray(pixels_per_class, dtype=np.float64)
    n, k = counts.sum(), len(counts)
    weights = np.where(counts > 0, n / (k * np.maximum(counts, 1)), 1.0)
    return [float(w) for w in np.clip(weights, 1.0 / MAX_CLASS_WEIGHT, MAX_CLASS_WEIGHT)]


def make_loss(name: str, class_weights: list[float] | None = None) -> SegmentationLoss:
    """The loss for training.loss ('auto' is cross-entropy + Dice)."""
    if name in ("auto", "crossentropy_dice"):
        return SegmentationLoss("crossentropy_dice")
    if name in ("binary_crossentropy", "categorical_crossentropy"):
        return SegmentationLoss("crossentropy")
    if name == "weighted_crossentropy":
        if class_weights is None:
            raise ValueError("weighted cross-entropy needs the class weights")
        return SegmentationLoss("weighted_crossentropy", class_weights=class_weights)
    if name in ("dice", "focal"):
        return SegmentationLoss(name)
    raise UserError(f"The loss '{name}' is for numbers, not for masks.",
                    fix="For segmentation choose cross-entropy + Dice (the default), Dice, cross-entropy, "
                        "weighted cross-entropy or focal loss in 'training.loss'.")


def metric_name(score: str, class_name: str) -> str:
    """'iou_nucleus': a per-class curve's name, safe as a CSV column and a Keras log key."""
    return f"{score}_{re.sub(r'[^0-9A-Za-z]+', '_', class_name).strip('_').lower() or 'class'}"


def make_metrics(classes: list[str], channels: int, groups: list[list[int]] | None = None) -> list:
    """IoU and Dice of the foreground (the mean over its classes), then IoU per class when there are several.

    `groups` overrides what counts as foreground classes (e.g. instance interior + boundary as one object).
    """
    foreground = groups if groups is not None else [[c] for c in range(1, max(2, channels))]
    metrics = [SegmentationScore(foreground, channels, "iou", name="iou"),
               SegmentationScore(foreground, channels, "dice", name="dice")]
    if len(foreground) > 1:
        metrics += [SegmentationScore([g], channels, "iou", name=metric_name("iou", classes[g[0]]))
                    for g in foreground]
    return metrics
