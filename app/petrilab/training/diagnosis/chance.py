"""The loss of a blind guess that ignores the image, when the task tells it, and that guess in words."""

from __future__ import annotations

import math

from petrilab.settings import Settings
from petrilab.tasks import TASKS
from petrilab.training.diagnosis.words import fmt


# Regression learns standardised values (mean 0, spread 1 over the training images): a network that
# ignores the image and always answers the mean makes errors that are the standardised values themselves,
# roughly a standard normal Z. Its loss is then E[Z²] = 1 (mse), E|Z| = √(2/π) ≈ 0.80 (mae), and for
# Keras' Huber loss (quadratic up to 1, linear beyond) E[Z²/2; |Z| ≤ 1] + E[|Z| − 1/2; |Z| > 1] ≈ 0.42.
REGRESSION_LOSSES = ("mse", "mae", "huber")


def _standard_normal_loss(loss: str) -> float:
    if loss == "mse":
        return 1.0
    if loss == "mae":
        return math.sqrt(2 / math.pi)
    inside = math.erf(1 / math.sqrt(2))  # P(|Z| <= 1)
    density = math.exp(-0.5) / math.sqrt(2 * math.pi)  # the normal density at 1
    return 0.5 * (inside - 2 * density) + (2 * density - 0.5 * (1 - inside))


def chance_loss(settings: Settings | None) -> float | None:
    """The loss of a guess that ignores the image, when the task tells it: classification with known classes
    (the classes' frequencies), regression on standardised values (their mean)."""
    if settings is None:
        return None
    guess = TASKS[settings.task.kind].chance
    if guess == "mean":
        loss = "mse" if settings.training.loss == "auto" else settings.training.loss
        return _standard_normal_loss(loss) if loss in REGRESSION_LOSSES else None
    if guess != "classes":
        return None
    n = len(settings.data.classes)
    if n < 2:
        return None
    if n == 2:
        return math.log(2)  # one sigmoid output, binary cross-entropy (or a 2-way softmax: same value)
    if settings.training.loss == "binary_crossentropy":
        p = 1.0 / n  # one sigmoid per class, each guessing its class frequency
        return -(p * math.log(p) + (1 - p) * math.log(1 - p))
    return math.log(n)


def guess_words(settings: Settings | None) -> str:
    """What the blind guess of `chance_loss` is, in the users' words."""
    chance = chance_loss(settings)
    if settings is not None and TASKS[settings.task.kind].chance == "mean":
        loss = "mse" if settings.training.loss == "auto" else settings.training.loss
        return (f"the loss of always answering the training images' mean value, whatever the image "
                f"({fmt(chance)} with {loss} on standardised values)")
    return f"the loss of a blind guess that ignores the image ({fmt(chance)} for this number of classes)"
