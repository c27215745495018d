"""training.learning_rate = "auto": a short learning-rate range test before training.

The network takes one step per batch while the learning rate rises exponentially from 1e-6 to 1 (at most
RANGE_STEPS steps); the loss, smoothed, first falls, then blows up. The rate chosen is the one where the
smoothed loss fell fastest, but at least LOWEST_MARGIN times below the one where it was lowest (there the
steps are already nearly too large to keep learning, and a noisy dip must not pick that edge), and never
outside the optimiser's sensible band.
The initial weights are put back afterwards and the caller compiles a fresh optimiser, so the real
training starts exactly where it would have without the test.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

RANGE_STEPS = 100  # "a few hundred steps at most": 100 is enough for a smooth curve on four decades
LOWEST, HIGHEST = 1e-6, 1.0
SMOOTHING = 0.9  # exponential moving average of the loss (bias-corrected), as fastai's finder does
BLOWN_UP = 4.0  # the test ends when the smoothed loss is this many times its lowest
# the band a chosen rate stays in, per optimiser: adaptive ones want smaller steps than plain SGD
BAND = {"adam": (1e-5, 3e-3), "rmsprop": (1e-5, 3e-3), "sgd": (1e-4, 0.3), "momentum": (1e-4, 0.1)}
FALLBACK = {"adam": 1e-3, "rmsprop": 1e-3, "sgd": 1e-2, "momentum": 1e-2}
LOWEST_MARGIN = 3.0
# a smoothed loss that never fell by 10 % tells nothing (small regression sets wander by a few % at the tiniest
# rates, where nothing is learnt yet): keep the optimiser's usual rate
MIN_FALL = 0.10
STEEPEST_WITHIN = 100.0  # the steepest fall is looked for within two decades below the lowest loss, not in the
# noise of the first steps (seen: a count's test "falling fastest" at 7e-6 while its loss was lowest at 7e-3)


@dataclass
class RateChoice:
    learning_rate: float
    message: str  # in plain words, for the `decided` event
    rates: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)  # smoothed, one per rate tried
    lowest_at: float | None = None
    steepest_at: float | None = None
    seconds: float = 0.0

    def to_event(self) -> dict:
        return {"key": "training.learning_rate", "value": self.learning_rate, "message": self.message,
                "tried": [[float(f"{r:.3g}"), float(f"{v:.5g}")] for r, v in zip(self.rates, self.losses)],
                "lowest_loss_at": self.lowest_at, "steepest_fall_at": self.steepest_at,
                "seconds": round(self.seconds, 2)}


def batches(data: dict, seed: int):
    """Endless (x, y, sample_weight) batches from what model.fit gets (arrays or a PyDataset)."""
    rng = np.random.default_rng(seed)
    if data["y"] is not None:
        x, y, size = data["x"], data["y"], int(data["batch_size"])
        while True:
            order = rng.permutation(len(x))
            for start in range(0, len(x), size):
                chosen = np.sort(order[start:start + size])
                yield x[chosen], y[chosen], None
    dataset = data["x"]
    while True:
        for i in range(len(dataset)):
            batch = dataset[i]
            yield batch[0], batch[1], batch[2] if len(batch) > 2 else None
        dataset.on_epoch_end()


def find_learning_rate(model, data: dict, optimizer: str, class_weight=None, seed: int = 0,
                       steps: int = RANGE_STEPS) -> RateChoice:
    """Run the range test on `model` (compiled) with the training batches `data`; the weights are restored."""
    started = time.monotonic()
    initial = model.get_weights()
    rates = LOWEST * (HIGHEST / LOWEST) ** (np.arange(steps) / max(steps - 1, 1))
    tried, smoothed = [], []
    average, best = 0.0, math.inf
    source = batches(data, seed)
    try:
        for i, rate in enumerate(rates):
            model.optimizer.learning_rate.assign(float(rate))
            x, y, weights = next(source)
            logs = model.train_on_batch(x, y, sample_weight=weights, class_weight=class_weight, return_dict=True)
            loss = float(logs["loss"])
            if not math.isfinite(loss):
                break
            average = SMOOTHING * average + (1 - SMOOTHING) * loss
            value = average / (1 - SMOOTHING ** (i + 1))
            tried.append(float(rate))
            smoothed.append(value)
            best = min(best, value)
            if i > 10 and value > BLOWN_UP * best:
                break
    finally:
        model.set_weights(initial)
    choice = choose(tried, smoothed, optimizer)
    choice.seconds = time.monotonic() - started
    return choice


def choose(rates: list[float], losses: list[float], optimizer: str) -> RateChoice:
    """The rate from the test's curve (see the module's docstring)."""
    low, high = BAND.get(optimizer, BAND["adam"])
    usual = FALLBACK.get(optimizer, 1e-3)
    if len(losses) < 10:
        return RateChoice(usual, f"The learning-rate test stopped after {len(losses)} steps (the loss was no "
                          f"longer a number): PetriLab uses the usual rate for {optimizer}, {usual:g}.",
                          rates, losses)
    values = np.asarray(losses)
    lowest = int(np.argmin(values))
    if values[lowest] > (1 - MIN_FALL) * values[0] or lowest == 0:
        return RateChoice(usual, f"The loss hardly fell during the learning-rate test, so it cannot tell a rate: "
                          f"PetriLab uses the usual rate for {optimizer}, {usual:g}.", rates, losses)
    log_rates = np.log10(rates)
    first = int(np.searchsorted(rates, rates[lowest] / STEEPEST_WITHIN))
    if lowest - first >= 2:
        slopes = np.gradient(values[first:lowest + 1], log_rates[first:lowest + 1])
        steepest = first + int(np.argmin(slopes))
    else:
        steepest = lowest
    rate = min(rates[steepest], rates[lowest] / LOWEST_MARGIN)
    chosen = float(f"{float(np.clip(rate, low, high)):.2g}")
    message = (f"A short learning-rate test ({len(losses)} steps, rate rising from {rates[0]:g} to "
               f"{rates[-1]:.2g}) found the loss lowest at a rate of {rates[lowest]:.2g} and falling fastest at "
               f"{rates[steepest]:.2g}: training uses {chosen:g}.")
    return RateChoice(chosen, message, rates, losses, float(rates[lowest]), float(rates[steepest]))
