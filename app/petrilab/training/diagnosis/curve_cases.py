"""Two readings of the loss curves that the six verdicts missed (used by the rules, rules.py).

- **Exploded**: the loss grew to many times what a network that knows nothing
  costs, while staying a finite number. A learning rate of 10 takes a
  classifier's loss from 0.69 to 10^10 with the accuracy at chance; read as
  "still falling at the end", that was called "not finished: train longer".
- **Stuck at the average**: a regression whose losses sit at exactly what
  "always answer the mean value" costs (1.0 for MSE on standardised values),
  flat but for tiny decreases. It learns nothing, even in its first epochs,
  where a slow start would otherwise be given the benefit of the doubt.

Pure numpy on the raw per-epoch losses; the words are built by rules.py.
"""

from __future__ import annotations

import numpy as np

from petrilab.settings_warnings import HIGH_LEARNING_RATE, USUAL_LEARNING_RATE

# A training loss at least 10 times that of a blind guess (or, when the task does not tell that loss, 10 times
# the lowest it reached, and above where it started) has blown up: a network that knows nothing costs 1×, and
# even a confidently wrong classifier stays below 16 (Keras clips probabilities at 1e-7).
EXPLODED = 10.0
# Judged on the median of the last few epochs, so one wild batch-average epoch is not enough...
EXPLODED_EPOCHS = 3
# ...unless it was wild indeed (1000 times the guess's) and the loss never came back below the guess's: a
# network knocked dead by a huge step, then sitting at chance, has diverged too (seen: 7e6, then about 2).
EXPLODED_PEAK = 1000.0

# "Stuck at the average": over the tail the training loss sits within 3 % of the average's loss and was never
# below 97 % of it (not even the training images are learnt), and the validation loss moves by less than 1 % of
# it. The validation loss's own level is not asked: "always the training mean" costs var(val) / var(train) plus
# the squared shift of the means on a small validation set, easily 0.8 or 1.2 instead of 1.
STUCK_BAND = 0.03
STUCK_MOVE = 0.01
STUCK_MIN_EPOCHS = 4


def exploded(train: np.ndarray, chance: float | None) -> dict | None:
    """{"first", "last", "level", "peak", "peak_epoch", "times", "reference", "versus"} when the training loss
    blew up (`times` = its level over the last epochs ÷ `reference`, the guess's loss or its lowest), else None.

    `train` holds finite values only (non-finite losses are the other divergence, read before this).
    """
    n = len(train)
    if n == 0:
        return None
    level = float(np.median(train[-min(EXPLODED_EPOCHS, n):]))
    if chance:
        reference, versus = float(chance), "guess"
    else:
        lowest = float(np.min(train))
        if n < 2 or level < train[0] or lowest <= 0:
            return None  # without the guess's loss, only a loss that rose from where it started tells
        reference, versus = lowest, "lowest"
    peak = int(np.argmax(train))
    knocked_dead = chance and train[peak] >= EXPLODED_PEAK * reference and level >= 0.9 * reference
    if level < EXPLODED * reference and not knocked_dead:
        return None
    times = max(level, float(train[peak])) / reference if knocked_dead else level / reference
    return {"first": float(train[0]), "last": float(train[-1]), "level": level, "peak": float(train[peak]),
            "peak_epoch": peak + 1, "times": times, "reference": reference, "versus": versus}


def stuck_at_average(train: np.ndarray, val: np.ndarray, tail: int, chance: float | None) -> dict | None:
    """{"level_t", "level_v", "start_v", "end_v", "move"} when the training loss sits at the average's loss and the
    validation loss is flat (over the last `tail` epochs), else None."""
    if not chance or len(val) < STUCK_MIN_EPOCHS:
        return None
    t, v = train[-tail:], val[-tail:]
    level_t, level_v = float(np.median(t)), float(np.median(v))
    near = abs(level_t - chance) <= STUCK_BAND * chance and float(np.min(train)) >= (1 - STUCK_BAND) * chance
    move = float(np.max(v) - np.min(v))
    if not (near and move <= STUCK_MOVE * chance):
        return None
    return {"level_t": level_t, "level_v": level_v, "start_v": float(v[0]), "end_v": float(v[-1]),
            "move": move / chance}


def lower_learning_rate(lr: float) -> float:
    """The learning rate to advise after a divergence: ten times lower, or the usual value after a slip above 1."""
    return USUAL_LEARNING_RATE if lr > HIGH_LEARNING_RATE else lr / 10
